// SslContextHandle, part 2: configuration of the SSL_CTX (certificates, keys, ciphers,
// verification, options, session id context); see ssl_context_handle.h.
#include <openssl/err.h>
#include <openssl/dh.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include <string>

#include "arguments.h"
#include "long_methods.h"
#include "openssl_error.h"
#include "openssl_pointers.h"
#include "pem_password.h"
#include "ssl_context_handle.h"
#include "error_codes.h"

namespace {

using long_methods::Conversion;
const long_methods::Method<SSL_CTX> kConfigMethods[] = {
    {"setOptions", "options", [](SSL_CTX* c, long o) { return SSL_CTX_set_options(c, o); }, Conversion::kUint32, true},
    {"clearOptions", "options", [](SSL_CTX* c, long o) { return SSL_CTX_clear_options(c, o); }, Conversion::kUint32, true},
    // setVerify(mode): SSL_CTX_set_verify without a verify callback
    {"setVerify", "mode",
     [](SSL_CTX* c, long mode) {
       SSL_CTX_set_verify(c, static_cast<int>(mode), nullptr);
       return 0L;
     },
     Conversion::kInt32, false},
};

// The PEM text of argument 0 (string or Buffer) as a read-only memory BIO.
// ok() is false after a TypeError was thrown for anything else.
class PemInput {
 public:
  PemInput(const Napi::CallbackInfo& info, const char* what) {
    if (!arguments::Require(info, 0, arguments::Kind::kPem, what)) return;
    text_ = arguments::Text(info[0]);
    bio_ = ReadOnlyMemoryBio(text_);
    checked_ = true;
  }
  bool ok() const { return checked_; }
  BIO* bio() const { return bio_.get(); }  // nullptr if OpenSSL could not allocate it

 private:
  std::string text_;
  BioPointer bio_;
  bool checked_ = false;
};

}  // namespace

void SslContextHandle::DefineConfigMethods(std::vector<PropertyDescriptor>* properties) {
  properties->insert(properties->end(), {
                                            InstanceMethod<&SslContextHandle::JS_setSessionIdContext>("setSessionIdContext"),
                                            InstanceMethod<&SslContextHandle::JS_useCertificate>("useCertificate"),
                                            InstanceMethod<&SslContextHandle::JS_usePrivateKey>("usePrivateKey"),
                                            InstanceMethod<&SslContextHandle::JS_setCipherList>("setCipherList"),
                                            InstanceMethod<&SslContextHandle::JS_addCaCertificates>("addCaCertificates"),
                                            InstanceMethod<&SslContextHandle::JS_addCrl>("addCrl"),
                                            InstanceMethod<&SslContextHandle::JS_setCurves>("setCurves"),
                                            InstanceMethod<&SslContextHandle::JS_setDhParams>("setDhParams"),
                                            InstanceMethod<&SslContextHandle::JS_setSigalgs>("setSigalgs"),
                                            InstanceMethod<&SslContextHandle::JS_usePkcs12>("usePkcs12"),
                                        });
  long_methods::Define(properties, &SslContextHandle::JS_longMethod, kConfigMethods);
}

Napi::Value SslContextHandle::JS_setSessionIdContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENT(info, 0, kBuffer, "sessionIdContext");
  ErrorQueueGuard guard;
  Napi::Buffer<uint8_t> c = info[0].As<Napi::Buffer<uint8_t>>();
  if (SSL_CTX_set_session_id_context(ctx_, arguments::Bytes(c), static_cast<unsigned int>(c.Length())) != 1) {
    openssl_error::Throw(env, "SSL_CTX_set_session_id_context");
  }
  return env.Undefined();
}

// useCertificate(pem): the first certificate is the leaf, the rest its chain. An
// encrypted PEM fails at once (no terminal prompt).
Napi::Value SslContextHandle::JS_useCertificate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  PemInput pem(info, "cert");
  if (!pem.ok()) return env.Undefined();
  BIO* bio = pem.bio();
  PemPassword password;
  X509Pointer leaf(bio ? PEM_read_bio_X509_AUX(bio, nullptr, PemPassword::Callback, password.data()) : nullptr);
  if (!leaf) {
    password.ThrowFailure(env, "SSL_CTX_use_certificate", error_codes::kBadCertificate);
    return env.Undefined();
  }
  if (SSL_CTX_use_certificate(ctx_, leaf.get()) != 1) {
    openssl_error::Throw(env, "SSL_CTX_use_certificate", error_codes::kBadCertificate);
    return env.Undefined();
  }
  leaf.reset();  // SSL_CTX_use_certificate took its own reference
  SSL_CTX_clear_extra_chain_certs(ctx_);
  for (;;) {
    X509Pointer extra(PEM_read_bio_X509(bio, nullptr, PemPassword::Callback, password.data()));
    if (!extra || SSL_CTX_add_extra_chain_cert(ctx_, extra.get()) != 1) break;
    extra.release();  // owned by ctx_ now
  }
  if (password.asked()) {
    password.ThrowFailure(env, "SSL_CTX_add_extra_chain_cert", error_codes::kBadCertificate);
    return env.Undefined();
  }
  return env.Undefined();
}

// usePrivateKey(pem, passphrase?): an encrypted key (Proc-Type: 4,ENCRYPTED or PKCS#8)
// is decrypted with `passphrase`; without one it fails at once (no terminal prompt).
Napi::Value SslContextHandle::JS_usePrivateKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  PemInput pem(info, "key");
  if (!pem.ok()) return env.Undefined();
  bool havePassphrase = arguments::Given(info, 1, arguments::Kind::kStringOrBuffer);
  PemPassword password(havePassphrase ? arguments::Text(info[1]) : std::string(), havePassphrase);
  EvpPkeyPointer key(pem.bio() ? PEM_read_bio_PrivateKey(pem.bio(), nullptr, PemPassword::Callback, password.data()) : nullptr);
  if (!key) {
    password.ThrowFailure(env, "SSL_CTX_use_PrivateKey", error_codes::kBadKey);
    return env.Undefined();
  }
  if (SSL_CTX_use_PrivateKey(ctx_, key.get()) != 1) {
    openssl_error::Throw(env, "SSL_CTX_use_PrivateKey", error_codes::kBadKey);
    return env.Undefined();
  }
  key.reset();  // SSL_CTX_use_PrivateKey took its own reference
  if (SSL_CTX_check_private_key(ctx_) != 1) openssl_error::Throw(env, "SSL_CTX_check_private_key", error_codes::kBadKey);
  return env.Undefined();
}

Napi::Value SslContextHandle::JS_setCipherList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENT(info, 0, kString, "ciphers");
  ErrorQueueGuard guard;
  std::string list = info[0].As<Napi::String>().Utf8Value();
  if (SSL_CTX_set_cipher_list(ctx_, list.c_str()) != 1) openssl_error::Throw(env, "SSL_CTX_set_cipher_list", error_codes::kBadCiphers);
  return env.Undefined();
}

// addCaCertificates(pem): every certificate in the PEM becomes a trust anchor.
Napi::Value SslContextHandle::JS_addCaCertificates(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  PemInput pem(info, "ca");
  if (!pem.ok()) return env.Undefined();
  BIO* bio = pem.bio();
  X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
  PemPassword password;  // an encrypted PEM fails at once (no terminal prompt)
  int added = 0;
  while (bio) {
    X509Pointer cert(PEM_read_bio_X509(bio, nullptr, PemPassword::Callback, password.data()));
    if (!cert) break;
    X509_STORE_add_cert(store, cert.get());  // takes its own reference; duplicates are harmless
    added++;
  }
  if (password.asked()) {
    password.ThrowFailure(env, "PEM_read_bio_X509 (ca)", error_codes::kBadCertificate);
    return env.Undefined();
  }
  if (added == 0) {
    openssl_error::Throw(env, "PEM_read_bio_X509 (ca)", error_codes::kBadCertificate);
    return env.Undefined();
  }
  ERR_clear_error();  // the end of the PEM input leaves a "no start line" entry
  return Napi::Number::New(env, added);
}

// addCrl(pem): every CRL in the PEM goes into the certificate store, and the store checks
// revocation of every certificate of a chain (X509_V_FLAG_CRL_CHECK | CRL_CHECK_ALL, as
// node:tls sets them). Returns how many CRLs were added.
Napi::Value SslContextHandle::JS_addCrl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  PemInput pem(info, "crl");
  if (!pem.ok()) return env.Undefined();
  X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
  PemPassword password;  // an encrypted PEM fails at once (no terminal prompt)
  int added = 0;
  while (pem.bio()) {
    std::unique_ptr<X509_CRL, openssl_pointers::Deleter<X509_CRL, X509_CRL_free>> crl(
        PEM_read_bio_X509_CRL(pem.bio(), nullptr, PemPassword::Callback, password.data()));
    if (!crl) break;
    X509_STORE_add_crl(store, crl.get());  // takes its own reference; duplicates are harmless
    added++;
  }
  if (added == 0) {
    openssl_error::Throw(env, "PEM_read_bio_X509_CRL (crl)", error_codes::kBadCrl);
    return env.Undefined();
  }
  ERR_clear_error();  // the end of the PEM input leaves a "no start line" entry
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  return Napi::Number::New(env, added);
}

// setCurves(list): SSL_CTX_set1_curves_list (names such as "P-256:P-384" or
// "prime256v1"); the ECDHE curve is then the first of this list the client supports.
Napi::Value SslContextHandle::JS_setCurves(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENT(info, 0, kString, "curves");
  ErrorQueueGuard guard;
  std::string list = info[0].As<Napi::String>().Utf8Value();
  if (SSL_CTX_set1_curves_list(ctx_, const_cast<char*>(list.c_str())) != 1) {
    openssl_error::Throw(env, "SSL_CTX_set1_curves_list", error_codes::kCryptoOperationFailed);
  }
  return env.Undefined();
}

// setDhParams(pem): SSL_CTX_set_tmp_dh with the PEM's DH parameters (enables DHE suites).
// Returns the prime's size in bits.
Napi::Value SslContextHandle::JS_setDhParams(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  PemInput pem(info, "dhparam");
  if (!pem.ok()) return env.Undefined();
  PemPassword password;
  std::unique_ptr<DH, openssl_pointers::Deleter<DH, DH_free>> dh(
      pem.bio() ? PEM_read_bio_DHparams(pem.bio(), nullptr, PemPassword::Callback, password.data()) : nullptr);
  if (!dh) {
    openssl_error::Throw(env, "PEM_read_bio_DHparams (dhparam)", error_codes::kBadDhparam);
    return env.Undefined();
  }
  int bits = BN_num_bits(dh->p);
  if (SSL_CTX_set_tmp_dh(ctx_, dh.get()) != 1) {  // copies the parameters
    openssl_error::Throw(env, "SSL_CTX_set_tmp_dh", error_codes::kBadDhparam);
    return env.Undefined();
  }
  return Napi::Number::New(env, bits);
}

// setSigalgs(list): SSL_CTX_set1_sigalgs_list ("RSA+SHA256:ECDSA+SHA256" form).
Napi::Value SslContextHandle::JS_setSigalgs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENT(info, 0, kString, "sigalgs");
  ErrorQueueGuard guard;
  std::string list = info[0].As<Napi::String>().Utf8Value();
  if (SSL_CTX_set1_sigalgs_list(ctx_, const_cast<char*>(list.c_str())) != 1) {
    openssl_error::Throw(env, "SSL_CTX_set1_sigalgs_list", error_codes::kCryptoOperationFailed);
  }
  return env.Undefined();
}

// usePkcs12(der, passphrase?): PKCS12_parse; the certificate and key become the context's
// (checked against each other), the other certificates its chain and trust anchors (as
// node:tls's loadPKCS12).
Napi::Value SslContextHandle::JS_usePkcs12(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENT(info, 0, kBuffer, "pfx");
  ErrorQueueGuard guard;
  Napi::Buffer<uint8_t> der = info[0].As<Napi::Buffer<uint8_t>>();
  bool havePassphrase = arguments::Given(info, 1, arguments::Kind::kStringOrBuffer);
  std::string pass = havePassphrase ? arguments::Text(info[1]) : std::string();
  const unsigned char* p = arguments::Bytes(der);
  std::unique_ptr<PKCS12, openssl_pointers::Deleter<PKCS12, PKCS12_free>> p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.Length())));
  if (!p12) {
    openssl_error::Throw(env, "d2i_PKCS12 (pfx)", error_codes::kBadPfx);
    return env.Undefined();
  }
  EVP_PKEY* rawKey = nullptr;
  X509* rawCert = nullptr;
  STACK_OF(X509)* rawCa = nullptr;
  int parsed = PKCS12_parse(p12.get(), havePassphrase ? pass.c_str() : nullptr, &rawKey, &rawCert, &rawCa);
  if (!pass.empty()) OPENSSL_cleanse(&pass[0], pass.size());
  EvpPkeyPointer key(rawKey);
  X509Pointer cert(rawCert);
  struct CaFree {
    void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
  };
  std::unique_ptr<STACK_OF(X509), CaFree> ca(rawCa);
  if (parsed != 1 || !cert || !key) {
    openssl_error::Throw(env, "PKCS12_parse (pfx)", error_codes::kBadPfx);
    return env.Undefined();
  }
  if (SSL_CTX_use_certificate(ctx_, cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx_, key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx_) != 1) {
    openssl_error::Throw(env, "SSL_CTX_use_certificate (pfx)", error_codes::kBadPfx);
    return env.Undefined();
  }
  SSL_CTX_clear_extra_chain_certs(ctx_);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
  while (ca && sk_X509_num(ca.get()) > 0) {
    X509Pointer extra(sk_X509_shift(ca.get()));
    X509_STORE_add_cert(store, extra.get());  // takes its own reference
    if (SSL_CTX_add_extra_chain_cert(ctx_, extra.get()) == 1) extra.release();  // owned by ctx_ now
  }
  return env.Undefined();
}
