// The ClientHello hand-off of the native listener: the whole hello is held back and handed
// to JS (kHello), where the server's one ClientHello gate runs (lib/tls/hello_gate.ts, the
// same as on the Node-socket path): node:tls's refusals (refuse(): the alert goes out, the
// connection closes), the revoked-ticket check (refuseTicket(), native_listener_tickets.cc) and the context for the
// server name (proceed(id, context), in native_listener.cc).
#include <openssl/bio.h>

#include <cstring>

#include "error_codes.h"
#include "native_listener.h"
#include "native_listener_conn.h"
#include "openssl_error.h"
#include "openssl_pointers.h"
#include "openssl_runtime.h"

namespace {
// as lib/tls/client_hello_parser.ts's CLIENT_HELLO_PARSE_LIMIT: the gate's parser gives up there too
constexpr size_t kHelloLimit = 64 * 1024;

// the bytes of a ClientHello's handshake message gathered from its records: 1 whole,
// 0 more needed, -1 not a TLS handshake record stream (OpenSSL decides then)
int GatherHello(const unsigned char* p, size_t n, std::vector<unsigned char>* msg) {
  size_t off = 0;
  msg->clear();
  while (off + 5 <= n) {
    if (p[off] != 22 || p[off + 1] != 3) return -1;
    size_t len = (static_cast<size_t>(p[off + 3]) << 8) | p[off + 4];
    if (len == 0 || len > 16384 + 2048) return -1;
    if (off + 5 + len > n) return 0;
    msg->insert(msg->end(), p + off + 5, p + off + 5 + len);
    off += 5 + len;
    if (msg->size() >= 4) {
      if ((*msg)[0] != 1) return -1;
      size_t body = (static_cast<size_t>((*msg)[1]) << 16) | (static_cast<size_t>((*msg)[2]) << 8) | (*msg)[3];
      if (msg->size() >= 4 + body) {
        msg->resize(4 + body);
        return 1;
      }
    }
  }
  return n > 0 && p[0] != 22 ? -1 : 0;
}

uint16_t U16(const unsigned char* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// RFC 8701 GREASE values (0x?a?a) carry no version
bool Grease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

// Whether none of lib/tls/hello_policy.ts's rules can refuse the ClientHello message `m`
// (`n` bytes: the 4-byte handshake header, then the body) on a server whose lowest protocol
// is `minVersion` and whose ALPN list (wire format, empty: none) is `alpn`. The rules and
// their answers stay in lib; this only recognises, conservatively, a hello they cannot act
// on: anything not framed exactly (lengths that do not add up, an extension twice, an empty
// ALPN name) is "not ordinary" and goes to the gate, which decides as before.
bool OrdinaryHello(const unsigned char* m, size_t n, unsigned minVersion, const unsigned char* alpn, size_t alpnLength) {
  if (n < 4 || m[0] != 1) return false;
  size_t body = (static_cast<size_t>(m[1]) << 16) | (static_cast<size_t>(m[2]) << 8) | m[3];
  if (4 + body != n) return false;
  size_t p = 4;
  if (p + 2 + 32 + 1 > n || m[p] != 3) return false;
  unsigned version = U16(m + p);
  p += 2 + 32;
  size_t idLength = m[p];
  if (idLength > 32) return false;
  p += 1 + idLength;
  if (p + 2 > n) return false;
  p += 2 + U16(m + p);  // cipher suites
  if (p + 1 > n) return false;
  p += 1 + m[p];  // compression methods
  if (p > n) return false;
  const unsigned char* versions = nullptr;  // supported_versions: the list after its length byte
  size_t versionsLength = 0;
  const unsigned char* names = nullptr;  // ALPN: the names after the list's length
  size_t namesLength = 0;
  bool hasAlpn = false;
  if (p < n) {
    if (p + 2 > n || p + 2 + U16(m + p) != n) return false;
    p += 2;
    while (p < n) {
      if (p + 4 > n) return false;
      unsigned type = U16(m + p);
      size_t len = U16(m + p + 2);
      p += 4;
      if (p + len > n) return false;
      const unsigned char* d = m + p;
      if (type == 43) {  // supported_versions
        if (versions != nullptr || len < 1 || 1 + static_cast<size_t>(d[0]) != len || d[0] % 2 != 0) return false;
        versions = d + 1;
        versionsLength = d[0];
      } else if (type == 16) {  // application_layer_protocol_negotiation
        if (hasAlpn || len < 2 || 2 + static_cast<size_t>(U16(d)) != len) return false;
        hasAlpn = true;
        names = d + 2;
        namesLength = len - 2;
        for (size_t q = 0; q < namesLength; q += 1 + names[q]) {
          if (names[q] == 0 || q + 1 + names[q] > namesLength) return false;
        }
      }
      p += len;
    }
  }
  // TLS 1.3 and nothing below it; every version below the server's lowest
  if (versions != nullptr) {
    bool any = false, below12 = false, allBelowMin = true;
    for (size_t q = 0; q < versionsLength; q += 2) {
      uint16_t v = U16(versions + q);
      if (Grease(v)) continue;
      any = true;
      if (v <= 0x0303) below12 = true;
      if (v >= minVersion) allBelowMin = false;
    }
    if (any && !below12) return false;
    if (version < minVersion && allBelowMin) return false;
  } else if (version < minVersion) {
    return false;
  }
  // ALPN offered with no protocol in common with the server's
  if (alpnLength > 0 && hasAlpn && namesLength > 0) {
    bool common = false;
    for (size_t q = 0; q < namesLength && !common; q += 1 + names[q]) {
      for (size_t o = 0; o < alpnLength && !common; o += 1 + alpn[o]) {
        common = names[q] == alpn[o] && o + 1 + alpn[o] <= alpnLength && std::memcmp(names + q + 1, alpn + o + 1, names[q]) == 0;
      }
    }
    if (!common) return false;
  }
  return true;
}

}  // namespace

// screenHellos(on): with `on`, a ClientHello none of the gate's rules can act on
// (OrdinaryHello) goes to OpenSSL without kHello. lib turns it on while the server has no
// SNI contexts and no revoked tickets (lib/tls/native_connection_path.ts); a store's
// prefetch (storeHooks) still gets every hello.
Napi::Value NativeListener::JS_screenHellos(const Napi::CallbackInfo& info) {
  screenHellos_ = info.Length() > 0 && info[0].ToBoolean().Value();
  return info.Env().Undefined();
}

// NativeListener.screenHello(message, minVersion, alpn): OrdinaryHello over a ClientHello
// handshake message (the screen's test: lib's rules must never refuse a hello it passes)
Napi::Value NativeListener::JS_screenHello(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsBuffer()) {
    openssl_error::ThrowType(env, "screenHello(message, minVersion, alpn): message and alpn must be Buffers, minVersion a number");
    return env.Undefined();
  }
  Napi::Buffer<unsigned char> m = info[0].As<Napi::Buffer<unsigned char>>();
  Napi::Buffer<unsigned char> a = info[2].As<Napi::Buffer<unsigned char>>();
  return Napi::Boolean::New(env, OrdinaryHello(m.Data(), m.Length(), info[1].As<Napi::Number>().Uint32Value(), a.Data(), a.Length()));
}

// with the hello hand-off on (options.hello): false while the hello waits for JS
bool NativeListener::CheckHello(Conn* c, const char* data, size_t length) {
  std::vector<unsigned char> msg;
  int r = GatherHello(reinterpret_cast<const unsigned char*>(data), length, &msg);
  // not whole yet; a hello larger than any real one goes on as it is (the gate's parser
  // gives up at the same size)
  if (r == 0 && length < kHelloLimit) return true;
  c->helloChecked = true;
  if (r == 1 && observe_) {
    // someone observes handshakes (native_listener_tickets.cc): the whole hello, first
    c->observed = true;
    Emit({Napi::Number::New(env_, kObservedHello), Napi::Number::New(env_, c->id), Napi::Buffer<char>::Copy(env_, c->hello.data(), c->hello.size())});
    if (c->closing) return false;
  }
  if (!helloToJs_) return true;
  if (r == 1 && screenHellos_ && !storeHello_ && OrdinaryHello(msg.data(), msg.size(), minVersion_, alpn_.data(), alpn_.size())) return true;
  // JS decides (lib/tls/hello_gate.ts); proceed() or refuse() answers. Bytes that are no
  // ClientHello go there too: the gate lets OpenSSL refuse them, as on the other path.
  c->awaitingHello = true;
  Napi::Buffer<char> b = Napi::Buffer<char>::Copy(env_, c->hello.data(), c->hello.size());
  Emit({Napi::Number::New(env_, kHello), Napi::Number::New(env_, c->id), b});
  return false;
}

// refuse(id, alert): the held ClientHello is refused (hello_policy.ts): `alert` goes out,
// then FIN and the close; JS reports the failure ('tlsClientError'). Nothing more is read.
Napi::Value NativeListener::JS_refuse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = Find(info);
  if (c == nullptr) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBuffer()) {
    openssl_error::ThrowType(env, "refuse(id, alert): alert must be a Buffer");
    return env.Undefined();
  }
  if (!c->awaitingHello) return env.Undefined();
  c->awaitingHello = false;
  std::vector<char>().swap(c->hello);
  if (c->reading) {
    c->reading = false;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  }
  Napi::Buffer<char> alert = info[1].As<Napi::Buffer<char>>();
  ErrorQueueGuard guard;
  if (alert.Length() > 0) BIO_write(c->out, alert.Data(), static_cast<int>(alert.Length()));
  if (Flush(c)) End(c);
  return env.Undefined();
}

void SetSocketAddress(Napi::Object o, const sockaddr_storage& addr, const char* addressKey, const char* portKey, const char* familyKey) {
  char name[64] = {0};
  if (addr.ss_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    uv_ip6_name(a, name, sizeof name);
    o.Set(portKey, ntohs(a->sin6_port));
    if (familyKey != nullptr) o.Set(familyKey, "IPv6");
  } else {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&addr);
    uv_ip4_name(a, name, sizeof name);
    o.Set(portKey, ntohs(a->sin_port));
    if (familyKey != nullptr) o.Set(familyKey, "IPv4");
  }
  o.Set(addressKey, name);
}

// peer(id) -> { remoteAddress, remotePort, remoteFamily, localAddress, localPort } | undefined:
// the addresses of a connection, also one that is failing (the 'tlsClientError' socket)
Napi::Value NativeListener::JS_peer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    openssl_error::ThrowType(env, "the connection id must be a number");
    return env.Undefined();
  }
  auto it = conns_.find(info[0].As<Napi::Number>().Uint32Value());
  if (it == conns_.end()) return env.Undefined();
  Conn* c = it->second;
  Napi::Object o = Napi::Object::New(env);
  sockaddr_storage addr;
  int len = sizeof addr;
  if (uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&addr), &len) == 0) SetSocketAddress(o, addr, "remoteAddress", "remotePort", "remoteFamily");
  len = sizeof addr;
  if (uv_tcp_getsockname(&c->tcp, reinterpret_cast<sockaddr*>(&addr), &len) == 0) SetSocketAddress(o, addr, "localAddress", "localPort", nullptr);
  return o;
}
