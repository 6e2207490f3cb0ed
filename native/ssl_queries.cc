// ssl_queries.h: node:tls's TLSSocket queries as free functions of an SSL*, shared by the
// TlsConnection of a TLSSocket and the native listener's connections.
#include "ssl_queries.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <cstring>
#include <string>
#include <vector>

#include "arguments.h"
#include "cipher_table.h"
#include "openssl_error.h"
#include "openssl_pointers.h"
#include "ssl_session_handle.h"
#include "tls_connection.h"

namespace {
std::string Hex(const unsigned char* p, size_t n) {
  static const char digits[] = "0123456789ABCDEF";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; i++) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}
}  // namespace

namespace ssl_queries {

int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

Napi::Value PeerCertificate(Napi::Env env, SSL* ssl) {
  X509Pointer owned(SSL_get_peer_certificate(ssl));
  if (!owned) return env.Undefined();
  ErrorQueueGuard guard;
  return TlsConnection::CertificateObject(env, owned.get());
}

Napi::Value PeerCertificateChain(Napi::Env env, SSL* ssl) {
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  if (chain == nullptr) return env.Undefined();
  ErrorQueueGuard guard;
  Napi::Array out = Napi::Array::New(env);
  for (int i = 0; i < sk_X509_num(chain); i++) out.Set(static_cast<uint32_t>(i), TlsConnection::CertificateObject(env, sk_X509_value(chain, i)));
  return out;
}

Napi::Value VerifyResult(Napi::Env env, SSL* ssl) { return Napi::Number::New(env, static_cast<double>(SSL_get_verify_result(ssl))); }

Napi::Value KeylogLine(Napi::Env env, SSL* ssl) {
  SSL_SESSION* s = SSL_get_session(ssl);
  if (s == nullptr || s->master_key_length <= 0 || ssl->s3 == nullptr) return env.Undefined();
  std::string line = "CLIENT_RANDOM " + Hex(ssl->s3->client_random, SSL3_RANDOM_SIZE) + " " + Hex(s->master_key, static_cast<size_t>(s->master_key_length));
  return Napi::String::New(env, line);
}

// { standardName: IANA name ("" when unknown), version: lowest protocol of the suite
// ('TLSv1.2' | 'TLSv1' | 'SSLv3'), name: OpenSSL's name }
Napi::Value CipherDetails(Napi::Env env, SSL* ssl) {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
  if (c == nullptr) return env.Undefined();
  Napi::Object out = Napi::Object::New(env);
  out.Set("standardName", cipher_table::StandardName(c));
  out.Set("name", SSL_CIPHER_get_name(c));
  out.Set("version", cipher_table::Version(c));
  return out;
}

Napi::Value EphemeralKeyInfo(Napi::Env env, SSL* ssl) {
  EVP_PKEY* raw = nullptr;
  if (ssl->server || !SSL_get_server_tmp_key(ssl, &raw) || raw == nullptr) return env.Undefined();
  EvpPkeyPointer key(raw);  // SSL_get_server_tmp_key took a reference
  Napi::Object out = Napi::Object::New(env);
  int type = EVP_PKEY_id(key.get());
  if (type == EVP_PKEY_DH) {
    out.Set("type", "DH");
  } else if (type == EVP_PKEY_EC) {
    out.Set("type", "ECDH");
    EC_KEY* ec = EVP_PKEY_get1_EC_KEY(key.get());
    int nid = ec ? EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) : NID_undef;
    if (ec) EC_KEY_free(ec);
    const char* name = nid != NID_undef ? OBJ_nid2sn(nid) : nullptr;
    if (name) out.Set("name", name);
  } else {
    return env.Undefined();
  }
  out.Set("size", Napi::Number::New(env, EVP_PKEY_bits(key.get())));
  return out;
}

Napi::Value AlpnProtocol(Napi::Env env, SSL* ssl) {
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl, &p, &n);
  if (p == nullptr || n == 0) return env.Undefined();
  return Napi::String::New(env, reinterpret_cast<const char*>(p), n);
}

namespace {
// the Finished message this side sent (peer: false) or received, undefined before one
Napi::Value Finished(Napi::Env env, SSL* ssl, bool peer) {
  char probe[1];
  size_t n = peer ? SSL_get_peer_finished(ssl, probe, sizeof probe) : SSL_get_finished(ssl, probe, sizeof probe);
  if (n == 0) return env.Undefined();
  Napi::Buffer<char> out = Napi::Buffer<char>::New(env, n);
  if (peer) SSL_get_peer_finished(ssl, out.Data(), n);
  else SSL_get_finished(ssl, out.Data(), n);
  return out;
}

// the certificate this side presented (SSL_get_certificate), undefined without one
Napi::Value Certificate(Napi::Env env, SSL* ssl) {
  X509* cert = SSL_get_certificate(ssl);
  if (cert == nullptr) return env.Undefined();
  ErrorQueueGuard guard;
  return TlsConnection::CertificateObject(env, cert);
}

// the session's ticket as the client holds it (a server's session carries none), or undefined
Napi::Value TlsTicket(Napi::Env env, SSL* ssl) {
  SSL_SESSION* s = SSL_get_session(ssl);
  if (s == nullptr || s->tlsext_tick == nullptr || s->tlsext_ticklen == 0) return env.Undefined();
  return Napi::Buffer<unsigned char>::Copy(env, s->tlsext_tick, s->tlsext_ticklen);
}

// node:tls's names of the shared signature algorithms: "RSA+SHA256", "ECDSA+SHA384", ...
Napi::Value SharedSigalgs(Napi::Env env, SSL* ssl) {
  Napi::Array out = Napi::Array::New(env);
  int n = SSL_get_shared_sigalgs(ssl, 0, nullptr, nullptr, nullptr, nullptr, nullptr);
  for (int i = 0; i < n; i++) {
    int sign = NID_undef, hash = NID_undef;
    SSL_get_shared_sigalgs(ssl, i, &sign, &hash, nullptr, nullptr, nullptr);
    std::string name;
    switch (sign) {
      case EVP_PKEY_RSA: name = "RSA"; break;
      case EVP_PKEY_DSA: name = "DSA"; break;
      case EVP_PKEY_EC: name = "ECDSA"; break;
      default: {
        const char* sn = sign != NID_undef ? OBJ_nid2sn(sign) : nullptr;
        name = sn ? sn : "UNDEF";
      }
    }
    const char* h = hash != NID_undef ? OBJ_nid2sn(hash) : nullptr;
    name += std::string("+") + (h ? h : "UNDEF");
    out.Set(static_cast<uint32_t>(i), name);
  }
  return out;
}

// exportKeyingMaterial(length, label[, context]): RFC 5705 (lib checked the arguments' ranges)
Napi::Value ExportKeyingMaterial(const Napi::CallbackInfo& info, size_t at, SSL* ssl) {
  Napi::Env env = info.Env();
  if (!arguments::Require(info, at, arguments::Kind::kNumber, "length") || !arguments::Require(info, at + 1, arguments::Kind::kString, "label")) {
    return env.Undefined();
  }
  double length = info[at].As<Napi::Number>().DoubleValue();
  if (!(length >= 1 && length <= 65536) || length != static_cast<double>(static_cast<size_t>(length))) {
    openssl_error::ThrowRange(env, "length must be an integer from 1 to 65536");
    return env.Undefined();
  }
  std::string label = info[at + 1].As<Napi::String>().Utf8Value();
  bool useContext = arguments::Given(info, at + 2, arguments::Kind::kBuffer);
  std::vector<unsigned char> context;
  if (useContext) {
    Napi::Buffer<unsigned char> b = info[at + 2].As<Napi::Buffer<unsigned char>>();
    context.assign(b.Data(), b.Data() + b.Length());
  }
  ErrorQueueGuard guard;
  Napi::Buffer<unsigned char> out = Napi::Buffer<unsigned char>::New(env, static_cast<size_t>(length));
  if (SSL_export_keying_material(ssl, out.Data(), out.Length(), label.data(), label.size(), context.empty() ? nullptr : context.data(), context.size(),
                                 useContext ? 1 : 0) != 1) {
    openssl_error::Throw(env, "SSL_export_keying_material");
    return env.Undefined();
  }
  return out;
}
}  // namespace

Napi::Value Query(const Napi::CallbackInfo& info, size_t first, SSL* ssl) {
  Napi::Env env = info.Env();
  if (!arguments::Require(info, first, arguments::Kind::kString, "the query's name")) return env.Undefined();
  std::string name = info[first].As<Napi::String>().Utf8Value();
  if (name == "peerCertificate") return PeerCertificate(env, ssl);
  if (name == "peerCertificateChain") return PeerCertificateChain(env, ssl);
  if (name == "verifyResult") return VerifyResult(env, ssl);
  if (name == "keylogLine") return KeylogLine(env, ssl);
  if (name == "cipher") return CipherDetails(env, ssl);
  if (name == "ephemeralKeyInfo") return EphemeralKeyInfo(env, ssl);
  if (name == "alpnProtocol") return AlpnProtocol(env, ssl);
  if (name == "certificate") return Certificate(env, ssl);
  if (name == "finished") return Finished(env, ssl, false);
  if (name == "peerFinished") return Finished(env, ssl, true);
  if (name == "tlsTicket") return TlsTicket(env, ssl);
  if (name == "sharedSigalgs") return SharedSigalgs(env, ssl);
  if (name == "exportKeyingMaterial") return ExportKeyingMaterial(info, first + 1, ssl);
  if (name == "protocol") return Napi::String::New(env, SSL_get_version(ssl));
  if (name == "reused") return Napi::Boolean::New(env, SSL_session_reused(ssl) == 1);
  if (name == "session") {
    if (!SSL_is_init_finished(ssl)) return env.Undefined();
    SSL_SESSION* s = SSL_get1_session(ssl);
    return s == nullptr ? env.Undefined() : SslSessionHandle::Adopt(env, s);
  }
  openssl_error::ThrowType(env, ("unknown TLS query: " + name).c_str());
  return env.Undefined();
}

}  // namespace ssl_queries
