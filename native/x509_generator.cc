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

// subjectAltName from (kind, value) pairs, built as GENERAL_NAME objects: never a config
// string, so no value can smuggle in another name (",DNS:...", "email:", "otherName:").
// kind 0: dNSName (IA5String), kind 1: iPAddress (a2i_IPADDRESS: IPv4 or IPv6 text).
// lib/ has validated every value; anything OpenSSL still refuses fails the call.
bool AddAltNames(X509* cert, Napi::Array list) {
  GeneralNamesPointer names(sk_GENERAL_NAME_new_null());
  if (!names) return false;
  for (uint32_t i = 0; i + 1 < list.Length(); i += 2) {
    int kind = list.Get(i).As<Napi::Number>().Int32Value();
    std::string value = list.Get(i + 1).As<Napi::String>().Utf8Value();
    GENERAL_NAME* g = GENERAL_NAME_new();
    if (g == nullptr) return false;
    if (kind == 0) {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr || ASN1_STRING_set(dns, value.data(), static_cast<int>(value.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(g);
        return false;
      }
      GENERAL_NAME_set0_value(g, GEN_DNS, dns);
    } else {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(value.c_str());
      if (ip == nullptr) {
        GENERAL_NAME_free(g);
        return false;
      }
      GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
    }
    if (sk_GENERAL_NAME_push(names.get(), g) == 0) {
      GENERAL_NAME_free(g);
      return false;
    }
  }
  if (sk_GENERAL_NAME_num(names.get()) == 0) return true;
  return X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

}  // namespace

namespace x509_generator {

Napi::Value JS_generateSelfSigned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_ARGUMENTS(info, "generateSelfSigned(commonName, days, bits, altNames)", K::kString, K::kNumber, K::kNumber, K::kObject);
  if (!info[3].IsArray()) {
    openssl_error::ThrowType(env, "altNames must be an array of [kind, value] pairs");
    return env.Undefined();
  }
  Napi::Array altNames = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < altNames.Length(); i++) {
    Napi::Value v = altNames.Get(i);
    if (i % 2 == 0 ? !v.IsNumber() : !v.IsString()) {
      openssl_error::ThrowType(env, "altNames must be a flat array of kind (number), value (string) pairs");
      return env.Undefined();
    }
  }
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
       AddAltNames(c, altNames) &&
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
