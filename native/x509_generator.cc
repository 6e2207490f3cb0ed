#include "x509_generator.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>

#include "arguments.h"
#include "openssl_error.h"
#include "openssl_pointers.h"

namespace {

bool AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509ExtensionPointer ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, const_cast<char*>(value.c_str())));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;  // X509_add_ext copies it
}

bool LooksLikeIPv4(const std::string& s) {
  int dots = 0;
  for (char c : s) {
    if (c == '.') dots++;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

}  // namespace

namespace x509_generator {

Napi::Value JS_generateSelfSigned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_ARGUMENTS(info, "generateSelfSigned(commonName, days, bits)", K::kString, K::kNumber, K::kNumber);
  std::string cn = info[0].As<Napi::String>().Utf8Value();
  long days = static_cast<long>(info[1].As<Napi::Number>().Int64Value());
  int bits = info[2].As<Napi::Number>().Int32Value();
  ErrorQueueGuard guard;

  EvpPkeyPointer pkey(EVP_PKEY_new());
  RsaPointer rsa(RSA_new());
  BignumPointer e(BN_new());
  X509Pointer cert(X509_new());
  BioPointer certBio = NewMemoryBio();
  BioPointer keyBio = NewMemoryBio();
  bool ok = pkey && rsa && e && cert && certBio && keyBio && BN_set_word(e.get(), RSA_F4) == 1 &&
            RSA_generate_key_ex(rsa.get(), bits, e.get(), nullptr) == 1 && EVP_PKEY_assign_RSA(pkey.get(), rsa.get()) == 1;
  if (ok) rsa.release();  // owned by pkey now
  unsigned char serial[8];
  ok = ok && RAND_bytes(serial, sizeof serial) == 1;
  if (ok) {
    serial[0] &= 0x7f;  // positive
    BignumPointer sn(BN_bin2bn(serial, sizeof serial, nullptr));
    ok = sn && BN_to_ASN1_INTEGER(sn.get(), X509_get_serialNumber(cert.get())) != nullptr;
  }
  X509* c = cert.get();
  X509_NAME* name = ok ? X509_get_subject_name(c) : nullptr;
  ok = ok && X509_set_version(c, 2) == 1 && X509_gmtime_adj(X509_get_notBefore(c), -3600) != nullptr &&
       X509_gmtime_adj(X509_get_notAfter(c), days * 24 * 3600) != nullptr && X509_set_pubkey(c, pkey.get()) == 1 &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                  0) == 1 &&
       X509_set_issuer_name(c, name) == 1 && AddExtension(c, NID_basic_constraints, "critical,CA:TRUE") &&
       AddExtension(c, NID_subject_alt_name, (LooksLikeIPv4(cn) ? "IP:" : "DNS:") + cn + ",IP:127.0.0.1") &&
       AddExtension(c, NID_subject_key_identifier, "hash") && X509_sign(c, pkey.get(), EVP_sha256()) > 0 &&
       PEM_write_bio_X509(certBio.get(), c) == 1 &&
       PEM_write_bio_PrivateKey(keyBio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (!ok) {
    openssl_error::Throw(env, "generateSelfSigned");
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("cert", MemoryBioText(certBio.get()));
  out.Set("key", MemoryBioText(keyBio.get()));
  return out;
}

}  // namespace x509_generator
