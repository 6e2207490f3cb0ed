// TlsConnection, part 2: what node:tls parity needs from the SSL (see tls_connection.h).
// ALPN (both sides), the SNI context switch, the server's verify mode, the verify result,
// the peer's chain, the NSS key log line and the cipher's IANA name. OpenSSL's callbacks
// here (servername, ALPN select, verify) answer from state recorded before the handshake
// began; none calls into JS.
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>

#include "arguments.h"
#include "cipher_table.h"
#include "openssl_error.h"
#include "openssl_pointers.h"
#include "openssl_runtime.h"
#include "ssl_context_handle.h"
#include "tls_connection.h"
#include "ticket_keys.h"
#include "tagged_handle.h"

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

void TlsConnection::DefineFeatureMethods(std::vector<PropertyDescriptor>* properties) {
  properties->insert(properties->end(), {
                                            InstanceMethod<&TlsConnection::JS_alpnProtocol>("alpnProtocol"),
                                            InstanceMethod<&TlsConnection::JS_ephemeralKeyInfo>("ephemeralKeyInfo"),
                                            InstanceMethod<&TlsConnection::JS_verifyResult>("verifyResult"),
                                            InstanceMethod<&TlsConnection::JS_peerCertificateChain>("peerCertificateChain"),
                                            InstanceMethod<&TlsConnection::JS_keylogLine>("keylogLine"),
                                            InstanceMethod<&TlsConnection::JS_cipherDetails>("cipherDetails"),
                                            InstanceMethod<&TlsConnection::JS_setSniContext>("setSniContext"),
                                            InstanceMethod<&TlsConnection::JS_contextSwitched>("contextSwitched"),
                                            InstanceMethod<&TlsConnection::JS_refuseTicket>("refuseTicket"),
                                        });
}

TlsConnection* TlsConnection::From(const SSL* ssl) {
  return static_cast<TlsConnection*>(SSL_get_ex_data(ssl, openssl_runtime::ConnectionIndex()));
}

// refuseTicket(): the ticket this connection's ClientHello offers is not decrypted (lib
// found it revoked before OpenSSL read the hello): the ticket key callback answers "unknown
// key", so OpenSSL runs a full handshake and issues a new ticket.
Napi::Value TlsConnection::JS_refuseTicket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ticket_note::Refuse(ssl_.get());
  return env.Undefined();
}

// opts.alpnProtocols: Buffer in wire format (length-prefixed names); opts.verifyMode:
// server side SSL_VERIFY_* bits, the certificate is then checked but never fails the
// handshake by itself (lib decides from verifyResult(), like node:tls); opts.sni: the
// server answers SNI through setSniContext().
bool TlsConnection::ConfigureFeatures(Napi::Env env, Napi::Object opts) {
  Napi::Value alpn = opts.Get("alpnProtocols");
  if (!alpn.IsUndefined()) {
    if (!alpn.IsBuffer()) {
      Napi::TypeError::New(env, "alpnProtocols must be a Buffer").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Buffer<unsigned char> b = alpn.As<Napi::Buffer<unsigned char>>();
    alpn_.assign(b.Data(), b.Data() + b.Length());
  }
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl_.get());
  if (server_) {
    Napi::Value mode = opts.Get("verifyMode");
    if (mode.IsNumber()) SSL_set_verify(ssl_.get(), mode.As<Napi::Number>().Int32Value(), AcceptAnyCertificate);
    if (!alpn_.empty()) SSL_CTX_set_alpn_select_cb(ctx, OnAlpnSelect, nullptr);
    if (opts.Get("sni").ToBoolean().Value()) SSL_CTX_set_tlsext_servername_callback(ctx, OnServername);
  } else if (!alpn_.empty()) {
    if (SSL_set_alpn_protos(ssl_.get(), alpn_.data(), static_cast<unsigned int>(alpn_.size())) != 0) {
      openssl_error::Throw(env, "SSL_set_alpn_protos");
      return false;
    }
  }
  return true;
}

// The certificate is checked (the result stays in SSL_get_verify_result) but the handshake
// goes on: lib rejects afterwards with Node's error code, as node:tls does.
int TlsConnection::AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

// SSL_CB_HANDSHAKE_START after the first handshake finished: the peer asked for a
// renegotiation (a client's ClientHello, or a server's HelloRequest that made our client
// start one) and OpenSSL already began it inside SSL_read. Only recorded: JS_cycle fails
// the connection before anything of that handshake goes out.
void TlsConnection::OnInfo(const SSL* ssl, int where, int) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) return;
  TlsConnection* self = From(ssl);
  if (self != nullptr && self->handshakeDone_) self->renegotiation_ = true;
}

// ALPN on the server: the first of our protocols that the client also lists (the server's
// preference order, as node:tls). No overlap: no ALPN here (1.0.2 ignores a fatal answer;
// lib refuses such a ClientHello before OpenSSL reads it, lib/tls/hello_policy.ts).
int TlsConnection::OnAlpnSelect(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                                void*) {
  TlsConnection* self = From(ssl);
  if (self == nullptr || self->alpn_.empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  unsigned char selectedLength = 0;
  // the first list's order wins
  int r = SSL_select_next_proto(&selected, &selectedLength, self->alpn_.data(), static_cast<unsigned int>(self->alpn_.size()), in, inlen);
  if (r != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  *outlen = selectedLength;
  return SSL_TLSEXT_ERR_OK;
}

// The servername callback: switches to the context lib chose from the parsed ClientHello
// (setSniContext) before OpenSSL reads further. OpenSSL 1.0.2 has already looked the
// session up in the original context (ssl_get_prev_session runs before the extensions).
int TlsConnection::OnServername(SSL* ssl, int*, void*) {
  TlsConnection* self = From(ssl);
  if (self == nullptr || self->sniContext_ == nullptr) return SSL_TLSEXT_ERR_NOACK;
  if (SSL_get_SSL_CTX(ssl) != self->sniContext_) {
    SSL_set_SSL_CTX(ssl, self->sniContext_);
    self->contextSwitched_ = true;
    // ALPN is chosen after this switch, through the new context's callback
    if (!self->alpn_.empty()) SSL_CTX_set_alpn_select_cb(self->sniContext_, OnAlpnSelect, nullptr);
  }
  return SSL_TLSEXT_ERR_OK;
}

// setSniContext(contextHandle): the context the servername callback switches to
Napi::Value TlsConnection::JS_setSniContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  UNWRAP_OR_RETURN(SslContextHandle, ctx, env, info[0]);
  sniContextRef_ = Napi::Persistent(info[0].As<Napi::Object>());
  sniContext_ = ctx->ctx();
  return env.Undefined();
}

Napi::Value TlsConnection::JS_contextSwitched(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return Napi::Boolean::New(env, contextSwitched_);
}

Napi::Value TlsConnection::JS_alpnProtocol(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl_.get(), &p, &n);
  if (p == nullptr || n == 0) return env.Undefined();
  return Napi::String::New(env, reinterpret_cast<const char*>(p), n);
}

// SSL_get_verify_result (X509_V_OK = 0; the X509_V_ERR_* number otherwise)
Napi::Value TlsConnection::JS_verifyResult(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(SSL_get_verify_result(ssl_.get())));
}

// SSL_get_peer_cert_chain as certificate objects (a client's chain starts with the leaf;
// a server's does not carry the client's leaf), or undefined
Napi::Value TlsConnection::JS_peerCertificateChain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_.get());
  if (chain == nullptr) return env.Undefined();
  ErrorQueueGuard guard;
  Napi::Array out = Napi::Array::New(env);
  for (int i = 0; i < sk_X509_num(chain); i++) out.Set(static_cast<uint32_t>(i), CertificateObject(env, sk_X509_value(chain, i)));
  return out;
}

// "CLIENT_RANDOM <client random> <master secret>" (NSS key log format), or undefined
// before a session with a master key exists
Napi::Value TlsConnection::JS_keylogLine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  SSL_SESSION* s = SSL_get_session(ssl_.get());
  if (s == nullptr || s->master_key_length <= 0 || ssl_->s3 == nullptr) return env.Undefined();
  std::string line = "CLIENT_RANDOM " + Hex(ssl_->s3->client_random, SSL3_RANDOM_SIZE) + " " +
                     Hex(s->master_key, static_cast<size_t>(s->master_key_length));
  return Napi::String::New(env, line);
}

// { standardName: IANA name ("" when unknown), version: lowest protocol of the suite
// ('TLSv1.2' | 'TLSv1' | 'SSLv3'), name: OpenSSL's name } of the current cipher, or undefined
Napi::Value TlsConnection::JS_cipherDetails(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_.get());
  if (c == nullptr) return env.Undefined();
  Napi::Object out = Napi::Object::New(env);
  out.Set("standardName", cipher_table::StandardName(c));
  out.Set("name", SSL_CIPHER_get_name(c));
  out.Set("version", cipher_table::Version(c));
  return out;
}

// ephemeralKeyInfo() (client): the server's ephemeral key, SSL_get_server_tmp_key:
// { type: 'ECDH', name, size } or { type: 'DH', size }; undefined without one.
Napi::Value TlsConnection::JS_ephemeralKeyInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  EVP_PKEY* raw = nullptr;
  if (server_ || !SSL_get_server_tmp_key(ssl_.get(), &raw) || raw == nullptr) return env.Undefined();
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
