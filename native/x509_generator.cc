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

#include "openssl_error.h"

namespace {

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data ? data : "", n > 0 ? static_cast<size_t>(n) : 0);
}

bool AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, const_cast<char*>(value.c_str()));
  if (ext == nullptr) return false;
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1;
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
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
    openssl_error::ThrowType(env, "generateSelfSigned(commonName, days, bits)");
    return env.Undefined();
  }
  std::string cn = info[0].As<Napi::String>().Utf8Value();
  long days = static_cast<long>(info[1].As<Napi::Number>().Int64Value());
  int bits = info[2].As<Napi::Number>().Int32Value();
  ErrorQueueGuard guard;

  EVP_PKEY* pkey = EVP_PKEY_new();
  RSA* rsa = RSA_new();
  BIGNUM* e = BN_new();
  X509* cert = X509_new();
  BIO* certBio = BIO_new(BIO_s_mem());
  BIO* keyBio = BIO_new(BIO_s_mem());
  bool ok = pkey && rsa && e && cert && certBio && keyBio && BN_set_word(e, RSA_F4) == 1 &&
            RSA_generate_key_ex(rsa, bits, e, nullptr) == 1 && EVP_PKEY_assign_RSA(pkey, rsa) == 1;
  if (ok) rsa = nullptr;  // owned by pkey now
  unsigned char serial[8];
  ok = ok && RAND_bytes(serial, sizeof serial) == 1;
  if (ok) {
    serial[0] &= 0x7f;  // positive
    BIGNUM* sn = BN_bin2bn(serial, sizeof serial, nullptr);
    ok = sn && BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(cert)) != nullptr;
    if (sn) BN_free(sn);
  }
  X509_NAME* name = ok ? X509_get_subject_name(cert) : nullptr;
  ok = ok && X509_set_version(cert, 2) == 1 && X509_gmtime_adj(X509_get_notBefore(cert), -3600) != nullptr &&
       X509_gmtime_adj(X509_get_notAfter(cert), days * 24 * 3600) != nullptr && X509_set_pubkey(cert, pkey) == 1 &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                  0) == 1 &&
       X509_set_issuer_name(cert, name) == 1 && AddExtension(cert, NID_basic_constraints, "critical,CA:TRUE") &&
       AddExtension(cert, NID_subject_alt_name, (LooksLikeIPv4(cn) ? "IP:" : "DNS:") + cn + ",IP:127.0.0.1") &&
       AddExtension(cert, NID_subject_key_identifier, "hash") && X509_sign(cert, pkey, EVP_sha256()) > 0 &&
       PEM_write_bio_X509(certBio, cert) == 1 &&
       PEM_write_bio_PrivateKey(keyBio, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  Napi::Value result = env.Undefined();
  if (ok) {
    Napi::Object out = Napi::Object::New(env);
    out.Set("cert", BioString(certBio));
    out.Set("key", BioString(keyBio));
    result = out;
  } else {
    openssl_error::Throw(env, "generateSelfSigned");
  }
  if (rsa) RSA_free(rsa);
  if (e) BN_free(e);
  if (pkey) EVP_PKEY_free(pkey);
  if (cert) X509_free(cert);
  if (certBio) BIO_free(certBio);
  if (keyBio) BIO_free(keyBio);
  return result;
}

}  // namespace x509_generator
