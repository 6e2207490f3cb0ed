// NativeListener, client certificates and queries: the server's verify mode on each
// connection (requestCert), JS's decision on a client certificate before the handshake's
// last flight goes out (rejectUnauthorized), and query(id, name, ...args): the TLSSocket
// queries of ssl_queries.h over a connection found by its id.
#include <string>

#include "native_listener.h"
#include "ssl_queries.h"

// options.verifyMode: SSL_VERIFY_* bits; options.verifyPeer: JS decides on the certificate
// (kVerifyPeer) before the connection is secure
void NativeListener::ConfigurePeerVerify(Napi::Object o) {
  Napi::Value mode = o.Get("verifyMode");
  if (mode.IsNumber()) verifyMode_ = mode.As<Napi::Number>().Int32Value();
  verifyPeerInJs_ = o.Get("verifyPeer").ToBoolean().Value();
}

// as a TLSSocket's TlsConnection: the chain is checked to the end, lib decides; without
// requestCert the connection asks for no certificate whatever the context's own verify mode
// (a context with `ca` has SSL_VERIFY_PEER for its clients' use)
void NativeListener::SetPeerVerify(SSL* ssl) {
  SSL_set_verify(ssl, verifyMode_, ssl_queries::AcceptAnyCertificate);
}

// called once SSL_do_handshake finished, outside OpenSSL: JS answers the error that refuses
// the client (node:tls's code), or nothing. A refused connection loses its session, as a
// TLSSocket's does (SSL_free of a connection never accepted), and fails with that error
// (kFailed: JS delivers the removal first, then 'tlsClientError'). True when refused or gone.
bool NativeListener::PeerRefused(uint32_t id) {
  Napi::Value refused;
  Emit({Napi::Number::New(env_, kVerifyPeer), Napi::Number::New(env_, id)}, &refused);
  auto it = conns_.find(id);
  if (it == conns_.end()) return true;
  if (refused.IsEmpty() || refused.IsUndefined() || refused.IsNull()) return false;
  SSL* ssl = SslOf(it->second);
  if (SSL_get_session(ssl) != nullptr) SSL_CTX_remove_session(ssl->session_ctx, SSL_get_session(ssl));
  Emit({Napi::Number::New(env_, kFailed), Napi::Number::New(env_, id), refused});
  return true;
}

Napi::Value NativeListener::JS_query(const Napi::CallbackInfo& info) {
  Conn* c = Find(info);
  if (c == nullptr || SslOf(c) == nullptr) return info.Env().Undefined();
  return ssl_queries::Query(info, 1, SslOf(c));
}

Napi::Object NativeListener::AddressObject(Napi::Env env, const sockaddr_storage& addr) {
  char name[64] = {0};
  Napi::Object o = Napi::Object::New(env);
  if (addr.ss_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    uv_ip6_name(a, name, sizeof name);
    o.Set("port", ntohs(a->sin6_port));
    o.Set("family", "IPv6");
  } else {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&addr);
    uv_ip4_name(a, name, sizeof name);
    o.Set("port", ntohs(a->sin_port));
    o.Set("family", "IPv4");
  }
  o.Set("address", name);
  return o;
}

Napi::Value NativeListener::SocketName(Napi::Env env, const uv_tcp_t* tcp) {
  sockaddr_storage addr;
  int len = sizeof addr;
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return env.Null();
  return AddressObject(env, addr);
}

// localAddress(id): the connection's own end (the Conn starts with its uv_tcp_t)
Napi::Value NativeListener::JS_localAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = Find(info);
  if (c == nullptr) return env.Undefined();
  Napi::Value name = SocketName(env, reinterpret_cast<uv_tcp_t*>(c));
  return name.IsNull() ? env.Undefined() : name;
}
