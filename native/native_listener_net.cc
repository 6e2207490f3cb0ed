// The native listener's net.Server / net.Socket surface: SO_KEEPALIVE and TCP_NODELAY per
// connection (the server's keepAlive / keepAliveInitialDelay at accept, a socket's
// setNoDelay / setKeepAlive later), maxConnections (a connection over it is closed at once
// and reported as kDrop, net.Server's 'drop'), the accept event behind net.Server's
// 'connection', and what SSL_free does to the session of a connection that ended without
// close_notify (sessionOnUncleanClose). JS reaches it through setNet / tcp / tcpState.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "native_listener.h"
#include "openssl_error.h"

namespace {
// { <prefix>Address, <prefix>Port, <prefix>Family } of `addr` on `o`
void SetAddress(Napi::Object o, const char* prefix, const sockaddr_storage& addr) {
  std::string p(prefix);
  char name[64] = {0};
  if (addr.ss_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    uv_ip6_name(a, name, sizeof name);
    o.Set(p + "Port", ntohs(a->sin6_port));
    o.Set(p + "Family", "IPv6");
  } else if (addr.ss_family == AF_INET) {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&addr);
    uv_ip4_name(a, name, sizeof name);
    o.Set(p + "Port", ntohs(a->sin_port));
    o.Set(p + "Family", "IPv4");
  } else {
    return;
  }
  o.Set(p + "Address", name);
}

// net.Server's 'drop' / 'connection' data: both ends' addresses
Napi::Object Addresses(Napi::Env env, uv_tcp_t* tcp) {
  Napi::Object o = Napi::Object::New(env);
  sockaddr_storage addr;
  int len = sizeof addr;
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&addr), &len) == 0) SetAddress(o, "local", addr);
  len = sizeof addr;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) == 0) SetAddress(o, "remote", addr);
  return o;
}

// the connection's TCP handle: the Conn begins with it (native_listener.cc)
uv_tcp_t* TcpOf(NativeListener::Conn* c) {
  return reinterpret_cast<uv_tcp_t*>(c);
}
}  // namespace

void NativeListener::ConfigureNet(Napi::Object o) {
  keepAlive_ = o.Get("keepAlive").ToBoolean().Value();
  Napi::Value d = o.Get("keepAliveInitialDelay");  // seconds, as node:net keeps it
  if (d.IsNumber() && d.As<Napi::Number>().DoubleValue() > 0) keepAliveDelay_ = d.As<Napi::Number>().Uint32Value();
  removeUnclean_ = o.Get("removeUnclean").ToBoolean().Value();
}

// libuv wants a first-probe delay of at least 1 s on most systems; node passes its 0
// ("the system's") through and keeps SO_KEEPALIVE on whatever the delay call answers
static void KeepAlive(uv_tcp_t* tcp, bool on, unsigned delay) {
  if (uv_tcp_keepalive(tcp, on ? 1 : 0, delay) != 0 && on && delay == 0) {
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(tcp), &fd) == 0) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  }
}

bool NativeListener::AcceptNet(Conn* c, uv_tcp_t* tcp, uint32_t id, bool* netEvents) {
  if (maxConnections_ >= 0 && static_cast<int64_t>(conns_.size()) - 1 >= maxConnections_) {
    Napi::HandleScope scope(env_);
    Napi::Object data = Addresses(env_, tcp);
    Destroy(c, env_.Undefined());
    Emit({Napi::Number::New(env_, kDrop), Napi::Number::New(env_, 0), data});
    return false;
  }
  if (keepAlive_) KeepAlive(tcp, true, keepAliveDelay_);
  // sessionOnUncleanClose 'remove': SSL_free may remove a session at any close, whose
  // 'removeSession' JS delivers on kClose
  if (removeUnclean_) *netEvents = true;
  if (!connectionEvents_) return true;
  Napi::HandleScope scope(env_);
  *netEvents = true;
  Napi::Object data = Addresses(env_, tcp);
  Emit({Napi::Number::New(env_, kConnection), Napi::Number::New(env_, id), data});
  // a 'connection' listener may have destroyed it (closing: its memory stays until the close
  // callback, which runs after this one returned)
  return !uv_is_closing(reinterpret_cast<uv_handle_t*>(tcp));
}

// setNet({ maxConnections, connection }): net.Server's maxConnections (a negative number or
// undefined: none) and whether accepts are reported (a 'connection' listener exists)
Napi::Value NativeListener::JS_setNet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    openssl_error::ThrowType(env, "setNet(options): options must be an object");
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value m = o.Get("maxConnections");
  if (m.IsNumber()) {
    double v = m.As<Napi::Number>().DoubleValue();
    maxConnections_ = v >= 0 ? static_cast<int64_t>(v) : -1;
  } else if (o.Has("maxConnections")) {
    maxConnections_ = -1;
  }
  Napi::Value e = o.Get("connection");
  if (!e.IsUndefined()) connectionEvents_ = e.ToBoolean().Value();
  return env.Undefined();
}

// tcp(id, noDelay?, keepAlive?, delaySeconds?): net.Socket's setNoDelay / setKeepAlive on one
// connection (undefined leaves that option); false when the connection is gone or libuv refused
Napi::Value NativeListener::JS_tcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = Find(info);
  if (c == nullptr) return env.IsExceptionPending() ? env.Undefined() : Napi::Boolean::New(env, false);
  uv_tcp_t* tcp = TcpOf(c);
  bool ok = true;
  if (info.Length() > 1 && !info[1].IsUndefined()) ok = uv_tcp_nodelay(tcp, info[1].ToBoolean().Value() ? 1 : 0) == 0 && ok;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    unsigned delay = info.Length() > 3 && info[3].IsNumber() && info[3].As<Napi::Number>().DoubleValue() > 0 ? info[3].As<Napi::Number>().Uint32Value() : 0;
    KeepAlive(tcp, info[2].ToBoolean().Value(), delay);
  }
  return Napi::Boolean::New(env, ok);
}

// tcpState(id) -> { noDelay, keepAlive, keepAliveDelay } as the kernel has them (getsockopt),
// undefined when the connection is gone
Napi::Value NativeListener::JS_tcpState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = Find(info);
  uv_os_fd_t fd;
  if (c == nullptr || uv_fileno(reinterpret_cast<uv_handle_t*>(TcpOf(c)), &fd) != 0) return env.Undefined();
  int noDelay = 0, keepAlive = 0, idle = 0;
  socklen_t len = sizeof(int);
  getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &noDelay, &len);
  len = sizeof(int);
  getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepAlive, &len);
  Napi::Object o = Napi::Object::New(env);
  o.Set("noDelay", Napi::Boolean::New(env, noDelay != 0));
  o.Set("keepAlive", Napi::Boolean::New(env, keepAlive != 0));
#ifdef TCP_KEEPIDLE
  len = sizeof(int);
  if (getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &len) == 0) o.Set("keepAliveDelay", idle);
#endif
  return o;
}

// addresses(id) -> { localAddress, localPort, localFamily, remoteAddress, remotePort,
// remoteFamily } | undefined when the connection is gone
Napi::Value NativeListener::JS_addresses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = Find(info);
  if (c == nullptr) return env.Undefined();
  return Addresses(env, TcpOf(c));
}

// sessionOnUncleanClose: 'keep' marks a finished handshake shut down before SSL_free (the
// session stays whatever the transport did); 'remove' leaves 1.0.2's rule (SSL_free drops the
// session of a connection that sent no close_notify)
bool NativeListener::KeepsSession(Conn*) const {
  return !removeUnclean_;
}
