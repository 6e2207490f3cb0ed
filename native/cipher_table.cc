#include "cipher_table.h"

#include <cstring>
#include <mutex>
#include <string>

namespace {
std::once_flag once;
STACK_OF(SSL_CIPHER)* all = nullptr;  // owned by `holder`, kept for the process lifetime
SSL_CTX* holder = nullptr;

void Load() {
  holder = SSL_CTX_new(SSLv23_method());
  if (holder == nullptr) return;
  if (SSL_CTX_set_cipher_list(holder, "ALL:COMPLEMENTOFALL") == 1) all = holder->cipher_list;  // 1.0.2 has no SSL_CTX_get_ciphers
}
}  // namespace

namespace cipher_table {
const SSL_CIPHER* Find(const char* name) {
  std::call_once(once, Load);
  if (all == nullptr) return nullptr;
  for (int i = 0; i < sk_SSL_CIPHER_num(all); i++) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(all, i);
    if (std::strcmp(SSL_CIPHER_get_name(c), name) == 0) return c;
  }
  return nullptr;
}

const SSL_CIPHER* FindById(unsigned long cipherId) {
  if ((cipherId & 0xff000000UL) != 0x03000000UL) return nullptr;
  const unsigned char wire[2] = {static_cast<unsigned char>((cipherId >> 8) & 0xff), static_cast<unsigned char>(cipherId & 0xff)};
  return TLSv1_2_method()->get_cipher_by_char(wire);  // ssl3_get_cipher_by_char: the SSLv3/TLS table
}
}  // namespace cipher_table

// 1.0.2's private cipher bits (ssl/ssl_locl.h), needed to name a suite the IANA way
namespace {
constexpr unsigned long kRSA = 0x00000001L, kDHr = 0x00000002L, kDHd = 0x00000004L, kEDH = 0x00000008L, kECDHr = 0x00000020L,
                        kECDHe = 0x00000040L, kEECDH = 0x00000080L, kPSK = 0x00000100L, kSRP = 0x00000400L;
constexpr unsigned long aRSA = 0x00000001L, aDSS = 0x00000002L, aNULL = 0x00000004L, aECDSA = 0x00000040L, aPSK = 0x00000080L;
constexpr unsigned long eDES = 0x1, e3DES = 0x2, eRC4 = 0x4, eRC2 = 0x8, eIDEA = 0x10, eNULL = 0x20, eAES128 = 0x40, eAES256 = 0x80,
                        eCAMELLIA128 = 0x100, eCAMELLIA256 = 0x200, eSEED = 0x800, eAES128GCM = 0x1000, eAES256GCM = 0x2000;
constexpr unsigned long mMD5 = 0x1, mSHA1 = 0x2, mSHA256 = 0x10, mSHA384 = 0x20, mAEAD = 0x40;
constexpr unsigned long kSslTls12 = 0x00000004L;            // SSL_TLSV1_2
constexpr unsigned long kHandshakeMacSha384 = 0x00000100L;  // SSL_HANDSHAKE_MAC_SHA384 in algorithm2

}  // namespace

namespace cipher_table {
std::string StandardName(const SSL_CIPHER* c) {
  std::string kx;
  unsigned long k = c->algorithm_mkey, a = c->algorithm_auth;
  std::string auth = (a & aRSA) ? "RSA" : (a & aDSS) ? "DSS" : (a & aECDSA) ? "ECDSA" : (a & aNULL) ? "anon" : (a & aPSK) ? "PSK" : "";
  if (k & kRSA) {
    kx = "RSA";
    if (auth == "RSA") auth.clear();
  } else if (k & kEDH) {
    kx = auth == "anon" ? "DH" : "DHE";
  } else if (k & kEECDH) {
    kx = auth == "anon" ? "ECDH" : "ECDHE";
  } else if (k & (kECDHr | kECDHe)) {
    kx = "ECDH";  // static ECDH: the certificate's signer names the suite
    auth = (k & kECDHr) ? "RSA" : "ECDSA";
  } else if (k & (kDHr | kDHd)) {
    kx = "DH";
    auth = (k & kDHr) ? "RSA" : "DSS";
  } else if (k & kPSK) {
    kx = "PSK";
    if (auth == "PSK") auth.clear();
  } else if (k & kSRP) {
    kx = "SRP_SHA";
    if (auth == "anon" || auth == "PSK") auth.clear();
  } else {
    return "";
  }
  unsigned long e = c->algorithm_enc, m = c->algorithm_mac;
  const char* enc = (e & eAES128GCM)     ? "AES_128_GCM"
                    : (e & eAES256GCM)   ? "AES_256_GCM"
                    : (e & eAES128)      ? "AES_128_CBC"
                    : (e & eAES256)      ? "AES_256_CBC"
                    : (e & e3DES)        ? "3DES_EDE_CBC"
                    : (e & eDES)         ? "DES_CBC"
                    : (e & eRC4)         ? "RC4_128"
                    : (e & eRC2)         ? "RC2_CBC_40"
                    : (e & eIDEA)        ? "IDEA_CBC"
                    : (e & eCAMELLIA128) ? "CAMELLIA_128_CBC"
                    : (e & eCAMELLIA256) ? "CAMELLIA_256_CBC"
                    : (e & eSEED)        ? "SEED_CBC"
                    : (e & eNULL)        ? "NULL"
                                         : nullptr;
  const char* mac = (m & mAEAD) ? ((c->algorithm2 & kHandshakeMacSha384) ? "SHA384" : "SHA256")
                    : (m & mSHA384) ? "SHA384"
                    : (m & mSHA256) ? "SHA256"
                    : (m & mSHA1)   ? "SHA"
                    : (m & mMD5)    ? "MD5"
                                    : nullptr;
  if (enc == nullptr || mac == nullptr) return "";
  std::string name = "TLS_" + kx;
  if (!auth.empty()) name += "_" + auth;
  return name + "_WITH_" + enc + "_" + mac;
}

const char* Version(const SSL_CIPHER* c) {
  // 1.0.2 files TLS 1.0 and SSLv3 suites under one bit; elliptic-curve suites are TLS-only
  return (c->algorithm_ssl & kSslTls12) ? "TLSv1.2" : (c->algorithm_mkey & (kEECDH | kECDHr | kECDHe)) ? "TLSv1" : "SSLv3";
}
}  // namespace cipher_table
