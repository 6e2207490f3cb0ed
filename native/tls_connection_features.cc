// TlsConnection, part 2: what node:tls parity needs from the SSL (see tls_connection.h).
// ALPN (both sides), the SNI context switch, the server's verify mode, and query(): the
// TLSSocket queries (peer chain, verify result, key log line, cipher, ...) of ssl_queries.h,
// which the native listener's connections answer too. OpenSSL's callbacks here
// (servername, ALPN select) answer from state recorded before the handshake began; none
// calls into JS.
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>

#include "arguments.h"
#include "native_listener.h"
#include "openssl_error.h"
#include "openssl_pointers.h"
#include "openssl_runtime.h"
#include "ssl_context_handle.h"
#include "ssl_queries.h"
#include "tls_connection.h"
#include "ticket_keys.h"
#include "tagged_handle.h"


void TlsConnection::DefineFeatureMethods(std::vector<PropertyDescriptor>* properties) {
  properties->insert(properties->end(), {
                                            InstanceMethod<&TlsConnection::JS_setSniContext>("setSniContext"),
                                            InstanceMethod<&TlsConnection::JS_contextSwitched>("contextSwitched"),
                                            InstanceMethod<&TlsConnection::JS_refuseTicket>("refuseTicket"),
                                            InstanceMethod<&TlsConnection::JS_query>("query"),
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
    if (mode.IsNumber()) SSL_set_verify(ssl_.get(), mode.As<Napi::Number>().Int32Value(), ssl_queries::AcceptAnyCertificate);
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
                                void* arg) {
  TlsConnection* self = From(ssl);
  // a context shared with a native listener: its connections are answered there
  if (self == nullptr) return NativeListener::OnAlpnSelect(ssl, out, outlen, in, inlen, arg);
  if (self->alpn_.empty()) return SSL_TLSEXT_ERR_NOACK;
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
int TlsConnection::OnServername(SSL* ssl, int* alert, void* arg) {
  TlsConnection* self = From(ssl);
  // a context shared with a native listener: its connections are answered there
  if (self == nullptr) return NativeListener::OnServername(ssl, alert, arg);
  if (self->sniContext_ == nullptr) return SSL_TLSEXT_ERR_NOACK;
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

// query(name, ...args): ssl_queries::Query, the queries both connection paths answer alike
Napi::Value TlsConnection::JS_query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return ssl_queries::Query(info, 0, ssl_.get());
}
