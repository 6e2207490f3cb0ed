#include "native_listener.h"

#include "native_listener_conn.h"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "arguments.h"
#include "cipher_table.h"
#include "error_codes.h"
#include "openssl_error.h"
#include "openssl_pointers.h"
#include "openssl_runtime.h"
#include "ssl_context_handle.h"
#include "tls_connection.h"
#include "ticket_keys.h"

namespace {
constexpr size_t kReadSize = 64 * 1024;
constexpr size_t kPlainChunk = 16 * 1024;
constexpr size_t kPlainLimit = 256 * 1024;  // plaintext per data event

// one write: the request and its bytes in one block
struct WriteReq {
  uv_write_t req;
  size_t length;
  char data[1];
};
}  // namespace


Napi::Function NativeListener::Define(Napi::Env env) {
  return DefineClass(env, "NativeListener",
                     {
                         InstanceMethod<&NativeListener::JS_listen>("listen"),
                         InstanceMethod<&NativeListener::JS_address>("address"),
                         InstanceMethod<&NativeListener::JS_close>("close"),
                         InstanceMethod<&NativeListener::JS_write>("write"),
                         InstanceMethod<&NativeListener::JS_end>("end"),
                         InstanceMethod<&NativeListener::JS_destroy>("destroy"),
                         InstanceMethod<&NativeListener::JS_readStop>("readStop"),
                         InstanceMethod<&NativeListener::JS_readStart>("readStart"),
                         InstanceMethod<&NativeListener::JS_info>("info"),
                         InstanceMethod<&NativeListener::JS_connections>("connections"),
                         InstanceMethod<&NativeListener::JS_ref>("ref"),
                         InstanceMethod<&NativeListener::JS_proceed>("proceed"),
                         InstanceMethod<&NativeListener::JS_storeHooks>("storeHooks"),
                         InstanceMethod<&NativeListener::JS_release>("release"),
                         InstanceMethod<&NativeListener::JS_query>("query"),
                         InstanceMethod<&NativeListener::JS_localAddress>("localAddress"),
                         InstanceMethod<&NativeListener::JS_setNet>("setNet"),
                         InstanceMethod<&NativeListener::JS_tcp>("tcp"),
                         InstanceMethod<&NativeListener::JS_tcpState>("tcpState"),
                         InstanceMethod<&NativeListener::JS_addresses>("addresses"),
                         InstanceMethod<&NativeListener::JS_coalesce>("coalesce"),
                         InstanceMethod<&NativeListener::JS_pipe>("pipe"),
                         InstanceMethod<&NativeListener::JS_refuse>("refuse"),
                         InstanceMethod<&NativeListener::JS_peer>("peer"),
                         InstanceMethod<&NativeListener::JS_refuseTicket>("refuseTicket"),
                         InstanceMethod<&NativeListener::JS_ticketInfo>("ticketInfo"),
                         InstanceMethod<&NativeListener::JS_observe>("observe"),
                         InstanceMethod<&NativeListener::JS_screenHellos>("screenHellos"),
                         StaticMethod<&NativeListener::JS_screenHello>("screenHello"),
                     });
}

// new NativeListener(contextHandle, onEvent, { noDelay, handshakeTimeout })
NativeListener::NativeListener(const Napi::CallbackInfo& info) : ObjectWrap(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  SslContextHandle* ctx = SslContextHandle::FromValue(env, info[0]);
  if (ctx == nullptr) return;
  if (!info[1].IsFunction()) {
    openssl_error::ThrowType(env, "NativeListener: onEvent must be a function");
    return;
  }
  if (napi_get_uv_event_loop(env, &loop_) != napi_ok || loop_ == nullptr) {
    openssl_error::ThrowCoded(env, error_codes::kNativePath, "no libuv loop for this environment");
    return;
  }
  ctx_ = ctx->ctx();
  contextRef_ = Napi::Persistent(info[0].As<Napi::Object>());
  onEvent_ = Napi::Persistent(info[1].As<Napi::Function>());
  async_ = new Napi::AsyncContext(env, "NativeTlsListener");
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    noDelay_ = o.Get("noDelay").ToBoolean().Value();
    Napi::Value t = o.Get("handshakeTimeout");
    if (t.IsNumber() && t.As<Napi::Number>().DoubleValue() > 0) handshakeTimeout_ = static_cast<uint64_t>(t.As<Napi::Number>().DoubleValue());
    Napi::Value a = o.Get("alpn");
    if (a.IsBuffer()) {
      Napi::Buffer<unsigned char> b = a.As<Napi::Buffer<unsigned char>>();
      alpn_.assign(b.Data(), b.Data() + b.Length());
    }
    helloToJs_ = o.Get("hello").ToBoolean().Value();
    Napi::Value v = o.Get("minVersion");
    if (v.IsNumber()) minVersion_ = v.As<Napi::Number>().Uint32Value();
    ConfigurePeerVerify(o);
    ConfigureNet(o);
  }
  // the SSL_CTX serves this listener only (the native path's server owns its context)
  if (!alpn_.empty()) SSL_CTX_set_alpn_select_cb(ctx_, OnAlpnSelect, nullptr);
  if (helloToJs_) SSL_CTX_set_tlsext_servername_callback(ctx_, OnServername);
  readBuffer_.resize(kReadSize);
  plainBuffer_.resize(kPlainChunk);
  if (napi_add_env_cleanup_hook(env, Cleanup, this) == napi_ok) cleanupHook_ = true;
}

NativeListener::~NativeListener() {
  if (cleanupHook_) napi_remove_env_cleanup_hook(env_, Cleanup, this);
  // only reached with nothing open (Hold keeps the object alive otherwise) or at teardown
  // after Cleanup detached every handle from this object
  delete async_;
}

// environment teardown: close every handle; their callbacks free memory only
void NativeListener::Cleanup(void* arg) {
  NativeListener* self = static_cast<NativeListener*>(arg);
  self->cleanupHook_ = false;
  for (auto& [id, c] : self->conns_) {
    c->owner = nullptr;
    c->stream = false;
    c->closeError.Reset();  // while the environment can still delete references
    self->ClosePipe(c);
    if (!c->closing) {
      c->closing = true;
      uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), OnConnClosed);
    }
  }
  self->conns_.clear();
  self->StopSweep();
  if (self->listener_ != nullptr && !self->listenerClosing_) {
    self->listenerClosing_ = true;
    self->listener_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(self->listener_), OnListenerClosed);
  }
  self->listener_ = nullptr;
  if (self->oldListener_ != nullptr) self->oldListener_->data = nullptr;
  self->oldListener_ = nullptr;
}

void NativeListener::Hold() {
  if (refs_++ == 0) Ref();
}

void NativeListener::Release() {
  if (refs_ > 0 && --refs_ == 0) Unref();
}

void NativeListener::Emit(std::initializer_list<napi_value> args, Napi::Value* result) {
  Napi::Env env = env_;
  napi_value recv = Value();
  Napi::Value r = onEvent_.MakeCallback(recv, args, *async_);
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
    return;
  }
  if (result != nullptr) *result = r;
}

// listen(host, port, backlog) -> the bound port; throws Error with code (uv's name)
Napi::Value NativeListener::JS_listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_ARGUMENTS(info, "listen(host: string, port: number, backlog: number)", K::kString, K::kNumber, K::kNumber);
  // a listener whose handle is closing may listen again (net.Server's listen() after close())
  if ((listener_ != nullptr && !listenerClosing_) || ctx_ == nullptr) {
    openssl_error::ThrowCoded(env, error_codes::kServerAlreadyListen, "the native listener is already listening");
    return env.Undefined();
  }
  std::string host = info[0].As<Napi::String>().Utf8Value();
  int port = info[1].As<Napi::Number>().Int32Value();
  int backlog = info[2].As<Napi::Number>().Int32Value();
  sockaddr_storage addr;
  int r = host.find(':') != std::string::npos ? uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr))
                                              : uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  uv_tcp_t* t = static_cast<uv_tcp_t*>(malloc(sizeof(uv_tcp_t)));
  if (r == 0) r = uv_tcp_init(loop_, t);
  else {
    free(t);
    t = nullptr;
  }
  if (r == 0) {
    t->data = this;
    r = uv_tcp_bind(t, reinterpret_cast<sockaddr*>(&addr), 0);
    if (r == 0) r = uv_listen(reinterpret_cast<uv_stream_t*>(t), backlog, OnConnection);
    if (r != 0) {
      t->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) { free(h); });
      t = nullptr;
    }
  }
  if (r != 0) {
    std::string m = std::string("listen ") + uv_err_name(r) + ": " + uv_strerror(r) + " " + host + ":" + std::to_string(port);  // net.Server's message
    openssl_error::ThrowCoded(env, uv_err_name(r), m.c_str());
    return env.Undefined();
  }
  if (listener_ != nullptr) oldListener_ = listener_;  // closing: its callback only releases
  listener_ = t;
  listening_ = true;
  if (unref_) uv_unref(reinterpret_cast<uv_handle_t*>(t));
  if (handshakeTimeout_ > 0 && sweep_ == nullptr) {
    sweep_ = static_cast<uv_timer_t*>(malloc(sizeof(uv_timer_t)));
    if (sweep_ != nullptr && uv_timer_init(loop_, sweep_) == 0) {
      sweep_->data = this;
      uint64_t every = handshakeTimeout_ < 1000 ? handshakeTimeout_ : 1000;
      uv_timer_start(sweep_, OnSweep, every, every);
      uv_unref(reinterpret_cast<uv_handle_t*>(sweep_));  // keeps no process alive
    } else {
      free(sweep_);
      sweep_ = nullptr;
    }
  }
  listenerClosing_ = false;
  closedReported_ = false;
  Hold();
  return JS_address(info);
}

// address() -> { address, family, port } | null
Napi::Value NativeListener::JS_address(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (listener_ == nullptr || listenerClosing_) return env.Null();
  return SocketName(env, listener_);
}

// close(): stops accepting; kClosed once the listener and every connection are closed
Napi::Value NativeListener::JS_close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (listener_ == nullptr || listenerClosing_) return Napi::Boolean::New(env, false);
  listenerClosing_ = true;
  listening_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(listener_), OnListenerClosed);
  return Napi::Boolean::New(env, true);
}

void NativeListener::OnListenerClosed(uv_handle_t* handle) {
  NativeListener* self = static_cast<NativeListener*>(handle->data);
  uv_tcp_t* closed = reinterpret_cast<uv_tcp_t*>(handle);
  bool current = self != nullptr && self->listener_ == closed;
  if (self != nullptr && self->oldListener_ == closed) self->oldListener_ = nullptr;
  free(handle);
  if (self == nullptr) return;  // environment teardown
  if (current) {
    self->listener_ = nullptr;
    self->listenerClosing_ = false;
  }
  Napi::HandleScope scope(self->env_);
  self->MaybeClosed();
  self->Release();
}

void NativeListener::StopSweep() {
  StopCoalescing();
  if (sweep_ == nullptr) return;
  uv_timer_stop(sweep_);
  uv_close(reinterpret_cast<uv_handle_t*>(sweep_), [](uv_handle_t* h) { free(h); });
  sweep_ = nullptr;
}

// connections whose handshake is older than handshakeTimeout fail (node:tls's
// ERR_TLS_HANDSHAKE_TIMEOUT); the deadline is checked at the timer's period (at most 1 s late)
void NativeListener::OnSweep(uv_timer_t* timer) {
  NativeListener* self = static_cast<NativeListener*>(timer->data);
  uint64_t now = uv_now(self->loop_);
  std::vector<uint32_t> late;
  for (auto& [id, c] : self->conns_) {
    if (!c->secure && !c->closing && !c->ending && now - c->acceptedAt >= self->handshakeTimeout_) late.push_back(id);
  }
  if (late.empty()) return;
  Napi::HandleScope scope(self->env_);
  std::string m = "TLS handshake timed out after " + std::to_string(self->handshakeTimeout_) + " ms";
  for (uint32_t id : late) {
    auto it = self->conns_.find(id);
    if (it == self->conns_.end() || it->second->closing) continue;
    Conn* c = it->second;
    Napi::Value e = openssl_error::MakeCoded(self->env_, error_codes::kTlsHandshakeTimeout, m.c_str());
    self->Emit({Napi::Number::New(self->env_, kFailed), Napi::Number::New(self->env_, id), e});
    if (!c->closing) self->Destroy(c, self->env_.Undefined());
  }
}

void NativeListener::MaybeClosed() {
  if (listener_ != nullptr || listening_ || !conns_.empty() || closedReported_) return;
  StopSweep();
  closedReported_ = true;
  Emit({Napi::Number::New(env_, kClosed)});
}

void NativeListener::OnConnection(uv_stream_t* server, int status) {
  NativeListener* self = static_cast<NativeListener*>(server->data);
  if (self == nullptr) return;
  if (status < 0) {
    Napi::HandleScope scope(self->env_);
    Napi::Value e = openssl_error::MakeCoded(self->env_, uv_err_name(status), uv_strerror(status));
    self->Emit({Napi::Number::New(self->env_, kError), e});
    return;
  }
  self->Accept();
}

void NativeListener::Accept() {
  Conn* c = new Conn();
  c->owner = this;
  if (uv_tcp_init(loop_, &c->tcp) != 0) {
    delete c;
    return;
  }
  c->tcp.data = c;
  c->closing = false;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_), reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    c->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    return;
  }
  ErrorQueueGuard guard;
  c->ssl = SSL_new(ctx_);
  BioPointer in = NewMemoryBio();
  BioPointer out = NewMemoryBio();
  if (c->ssl == nullptr || !in || !out) {
    if (c->ssl != nullptr) SSL_free(c->ssl);
    c->ssl = nullptr;
    c->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    return;
  }
  BIO_set_mem_eof_return(in.get(), -1);
  BIO_set_mem_eof_return(out.get(), -1);
  c->in = in.release();
  c->out = out.release();
  SSL_set_bio(c->ssl, c->in, c->out);
  SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_accept_state(c->ssl);
  SSL_set_ex_data(c->ssl, openssl_runtime::ListenerConnectionIndex(), c);
  SSL_set_info_callback(c->ssl, OnInfo);
  SetPeerVerify(c->ssl);
  c->helloChecked = !helloToJs_ && !observe_;
  if ((SSL_get_options(c->ssl) & SSL_OP_NO_TICKET) == 0) ticket_note::WatchIssued(c->ssl);
  if (noDelay_) uv_tcp_nodelay(&c->tcp, 1);
  c->acceptedAt = uv_now(loop_);
  c->id = nextId_++;
  if (nextId_ == 0) nextId_ = 1;
  conns_[c->id] = c;
  Hold();
  if (!AcceptNet(c, &c->tcp, c->id, &c->netEvents)) return;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead);
}

void NativeListener::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  Conn* c = static_cast<Conn*>(handle->data);
  if (c->owner == nullptr) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(c->owner->readBuffer_.data(), static_cast<unsigned int>(kReadSize));
}

void NativeListener::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  Conn* c = static_cast<Conn*>(stream->data);
  NativeListener* self = c->owner;
  if (self == nullptr || c->closing || nread == 0) return;
  Napi::HandleScope scope(self->env_);
  if (nread < 0) {
    uv_read_stop(stream);
    c->reading = false;
    if (nread == UV_EOF) {
      c->peerEnded = true;
      if (!c->secure) {
        // node:tls: 'tlsClientError' ECONNRESET for a peer gone before the handshake ended
        Napi::Value e = openssl_error::MakeCoded(self->env_, error_codes::kConnectionReset, "Client network socket disconnected before secure TLS connection was established");
        self->Emit({Napi::Number::New(self->env_, kFailed), Napi::Number::New(self->env_, c->id), e});
        if (!c->closing) self->Destroy(c, self->env_.Undefined());
      } else if (c->ending) {
        // our FIN went first: both sides done ('end' first for a half-open reader)
        if (c->stream) self->PeerEnded(c);
        if (!c->closing) self->Destroy(c, self->env_.Undefined());
      } else if (c->stream) {
        self->PeerEnded(c);
      } else {
        self->End(c);
      }
      return;
    }
    int status = static_cast<int>(nread);
    if (!c->secure) {
      Napi::Value e = openssl_error::MakeCoded(self->env_, uv_err_name(status), uv_strerror(status));
      self->Emit({Napi::Number::New(self->env_, kFailed), Napi::Number::New(self->env_, c->id), e});
    }
    if (!c->closing) self->Destroy(c, c->secure ? self->TransportError(c, status) : self->env_.Undefined());
    return;
  }
  ErrorQueueGuard guard;
  const char* data = buf->base;
  size_t length = static_cast<size_t>(nread);
  if (c->awaitingHello) {
    c->hello.insert(c->hello.end(), data, data + length);
    return;
  }
  if (!c->helloChecked) {
    c->hello.insert(c->hello.end(), data, data + length);
    if (!self->CheckHello(c, c->hello.data(), c->hello.size())) return;
    if (!c->helloChecked) return;  // not whole yet
    data = c->hello.data();
    length = c->hello.size();
  }
  int written = BIO_write(c->in, data, static_cast<int>(length));
  if (!c->hello.empty()) std::vector<char>().swap(c->hello);
  if (written != static_cast<int>(length)) {
    self->Fail(c, "BIO_write", error_codes::kTlsFailed);
    return;
  }
  self->Advance(c);
}

void NativeListener::Advance(Conn* c) {
  if (c->holding) return;  // what arrives meanwhile waits in the input BIO
  if (!c->secure) {
    int r = SSL_do_handshake(c->ssl);
    if (r != 1) {
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        Flush(c);
        return;
      }
      Fail(c, "TLS handshake", error_codes::kTlsFailed);
      return;
    }
    // a refused client certificate: the connection closes before the last flight goes out
    if (verifyPeerInJs_ && PeerRefused(c->id)) {
      if (!c->closing) Destroy(c, env_.Undefined());
      return;
    }
    // a session was made: its 'newSession' listeners may hold the last flight (node:tls)
    if (holdSteps_ && SSL_session_reused(c->ssl) != 1) {
      c->holding = true;
      bool held = HoldStep(c->id);
      if (held || c->closing || !c->holding) return;  // held, gone, or released already
      c->holding = false;
    }
    if (!Secured(c)) return;
  }
  ReadPlain(c);
}

bool NativeListener::Secured(Conn* c) {
  c->secure = true;
  if (!Flush(c)) return false;
  Napi::Value wants;
  Emit({Napi::Number::New(env_, kSecure), Napi::Number::New(env_, c->id), Napi::Boolean::New(env_, SSL_session_reused(c->ssl) == 1)},
       &wants);
  if (c->closing) return false;  // JS destroyed it
  // a socket ended in the listener (end() runs _final at once) still streams: its reads
  // (allowHalfOpen), 'end' and 'close' are JS's
  c->stream = !wants.IsEmpty() && wants.ToBoolean().Value();
  return true;
}

void NativeListener::ResumeStep(Conn* c) {
  if (!c->holding) return;
  c->holding = false;
  ErrorQueueGuard guard;
  if (Secured(c)) ReadPlain(c);
}

// SSL_CB_HANDSHAKE_START once the first handshake finished: a client's ClientHello inside
// SSL_read, which OpenSSL 1.0.2 already began to answer. Only recorded here (OpenSSL is
// running): ReadPlain fails the connection as soon as SSL_read returns.
void NativeListener::OnInfo(const SSL* ssl, int where, int) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) return;
  Conn* c = static_cast<Conn*>(SSL_get_ex_data(ssl, openssl_runtime::ListenerConnectionIndex()));
  if (c != nullptr && c->secure) c->renegotiation = true;
}

// The client renegotiates: the flight OpenSSL wrote for it is dropped (nothing of the second
// handshake goes out), the plaintext read before it is handed over, then the connection fails
// with ERR_TLS_RENEGOTIATION_DISABLED (the Node-socket path's rule, SECURITY.md)
void NativeListener::Renegotiation(Conn* c, size_t used) {
  (void)BIO_reset(c->out);
  ERR_clear_error();
  if (used > 0 && c->stream) {
    Plaintext(c, plainBuffer_.data(), used);
    if (c->closing) return;
  }
  Napi::Value e = openssl_error::MakeCoded(env_, error_codes::kTlsRenegotiationDisabled, "the client asked for a TLS renegotiation, which this server refuses");
  // a connection JS does not stream has nobody to tell but the server
  if (!c->stream) Emit({Napi::Number::New(env_, kFailed), Napi::Number::New(env_, c->id), e});
  if (!c->closing) Destroy(c, e);
}

int NativeListener::OnAlpnSelect(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen, void* arg) {
  Conn* c = static_cast<Conn*>(SSL_get_ex_data(ssl, openssl_runtime::ListenerConnectionIndex()));
  // a context shared with Node-socket servers: their connections are answered there
  if (c == nullptr) return TlsConnection::From(ssl) != nullptr ? TlsConnection::OnAlpnSelect(ssl, out, outlen, in, inlen, arg) : SSL_TLSEXT_ERR_NOACK;
  if (c->owner == nullptr || c->owner->alpn_.empty()) return SSL_TLSEXT_ERR_NOACK;
  const std::vector<unsigned char>& ours = c->owner->alpn_;
  unsigned char* selected = nullptr;
  unsigned char selectedLength = 0;
  // the first list's order wins: ours
  if (SSL_select_next_proto(&selected, &selectedLength, ours.data(), static_cast<unsigned int>(ours.size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  *outlen = selectedLength;
  return SSL_TLSEXT_ERR_OK;
}

int NativeListener::OnServername(SSL* ssl, int* alert, void* arg) {
  Conn* c = static_cast<Conn*>(SSL_get_ex_data(ssl, openssl_runtime::ListenerConnectionIndex()));
  // a context shared with Node-socket servers: their connections are answered there
  if (c == nullptr) return TlsConnection::From(ssl) != nullptr ? TlsConnection::OnServername(ssl, alert, arg) : SSL_TLSEXT_ERR_NOACK;
  if (c->sniContext == nullptr) return SSL_TLSEXT_ERR_NOACK;
  if (SSL_get_SSL_CTX(ssl) != c->sniContext) {
    SSL_set_SSL_CTX(ssl, c->sniContext);
    // ALPN is chosen after this switch, through the new context's callback
    if (c->owner != nullptr && !c->owner->alpn_.empty()) SSL_CTX_set_alpn_select_cb(c->sniContext, OnAlpnSelect, nullptr);
  }
  return SSL_TLSEXT_ERR_OK;
}

// proceed(id[, contextHandle]): OpenSSL reads the held ClientHello; with a context, the
// servername callback switches to it
Napi::Value NativeListener::JS_proceed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = Find(info);
  if (c == nullptr || !c->awaitingHello) return env.Undefined();
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    SslContextHandle* h = SslContextHandle::FromValue(env, info[1]);
    if (h == nullptr) return env.Undefined();
    if (c->sniContext == nullptr && h->ctx() != ctx_) {
      CRYPTO_add(&h->ctx()->references, 1, CRYPTO_LOCK_SSL_CTX);
      c->sniContext = h->ctx();
    }
  }
  c->awaitingHello = false;
  ErrorQueueGuard guard;
  int written = BIO_write(c->in, c->hello.data(), static_cast<int>(c->hello.size()));
  bool ok = written == static_cast<int>(c->hello.size());
  std::vector<char>().swap(c->hello);
  if (!ok) {
    Fail(c, "BIO_write", error_codes::kTlsFailed);
    return env.Undefined();
  }
  Advance(c);
  return env.Undefined();
}

void NativeListener::ReadPlain(Conn* c) {
  size_t used = 0;
  bool peerClosed = false;
  for (;;) {
    if (used + kPlainChunk > plainBuffer_.size()) plainBuffer_.resize(used + kPlainChunk);
    int n = SSL_read(c->ssl, plainBuffer_.data() + used, static_cast<int>(kPlainChunk));
    if (c->renegotiation) {
      Renegotiation(c, used);
      return;
    }
    if (n > 0) {
      used += static_cast<size_t>(n);
      if (used >= kPlainLimit && c->stream) {
        Plaintext(c, plainBuffer_.data(), used);
        used = 0;
        if (c->closing || !c->reading) break;
      }
      continue;
    }
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
    if (e == SSL_ERROR_ZERO_RETURN) {
      peerClosed = true;
      break;
    }
    if (used > 0 && c->stream) {
      Plaintext(c, plainBuffer_.data(), used);
      if (c->closing) return;
    }
    Fail(c, "SSL_read", error_codes::kTlsFailed);
    return;
  }
  // the handshake may have produced output (a refused renegotiation's alert, ...)
  if (!Flush(c)) return;
  if (used > 0 && c->stream && !c->closing) {
    Plaintext(c, plainBuffer_.data(), used);
  }
  if (plainBuffer_.size() > 4 * kPlainChunk) std::vector<char>(kPlainChunk).swap(plainBuffer_);
  if (peerClosed && !c->closing) {
    c->peerEnded = true;
    if (c->ending) {
      // our close_notify went first: 'end' for a reader that kept reading (allowHalfOpen)
      if (c->stream) PeerEnded(c);
      if (!c->closing) Destroy(c, env_.Undefined());
    }
    else if (c->stream) PeerEnded(c);
    else End(c);
  }
}

bool NativeListener::Flush(Conn* c) {
  size_t pending = BIO_ctrl_pending(c->out);
  if (pending == 0 || c->closing) return !c->closing;
  WriteReq* w = static_cast<WriteReq*>(malloc(sizeof(WriteReq) + pending));
  if (w == nullptr) {
    Destroy(c, env_.Undefined());
    return false;
  }
  int n = BIO_read(c->out, w->data, static_cast<int>(pending));
  if (n <= 0) {
    free(w);
    return true;
  }
  uv_buf_t b = uv_buf_init(w->data, static_cast<unsigned int>(n));
  uv_stream_t* s = reinterpret_cast<uv_stream_t*>(&c->tcp);
  int done = uv_try_write(s, &b, 1);
  if (done == n) {
    free(w);
    return true;
  }
  if (done < 0 && done != UV_EAGAIN) {
    free(w);
    TransportFailed(c, done);
    return false;
  }
  if (done < 0) done = 0;
  b = uv_buf_init(w->data + done, static_cast<unsigned int>(n - done));
  w->length = static_cast<size_t>(n - done);
  w->req.data = c;
  int r = uv_write(&w->req, s, &b, 1, OnWrite);
  if (r != 0) {
    free(w);
    TransportFailed(c, r);
    return false;
  }
  return true;
}

void NativeListener::OnWrite(uv_write_t* req, int status) {
  Conn* c = static_cast<Conn*>(req->data);
  free(reinterpret_cast<WriteReq*>(req));
  NativeListener* self = c->owner;
  if (self == nullptr || c->closing) return;
  Napi::HandleScope scope(self->env_);
  if (status < 0) {
    self->TransportFailed(c, status);
    return;
  }
  if (c->pipe != nullptr) self->PipeSent(c);
  if (c->wantDrain && c->tcp.write_queue_size == 0) {
    c->wantDrain = false;
    if (c->stream) self->Emit({Napi::Number::New(self->env_, kDrain), Napi::Number::New(self->env_, c->id)});
  }
}

void NativeListener::Fail(Conn* c, const char* what, const char* code) {
  Napi::Value e = openssl_error::Make(env_, what, code);
  if (env_.IsExceptionPending()) env_.GetAndClearPendingException();
  // the alert OpenSSL wrote goes out before the close
  bool wasSecure = c->secure;
  Flush(c);
  if (c->closing) return;
  if (!wasSecure) {
    Emit({Napi::Number::New(env_, kFailed), Napi::Number::New(env_, c->id), e});
    if (!c->closing) End(c);
    return;
  }
  Destroy(c, e);
}

void NativeListener::End(Conn* c) {
  if (c->ending || c->closing) return;
  c->ending = true;
  if (c->secure) {
    ErrorQueueGuard guard;
    SSL_shutdown(c->ssl);  // close_notify
    if (!Flush(c)) return;
  }
  uv_shutdown_t* req = static_cast<uv_shutdown_t*>(malloc(sizeof(uv_shutdown_t)));
  if (req != nullptr) req->data = c;
  if (req == nullptr || uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&c->tcp), OnShutdown) != 0) {
    free(req);
    Destroy(c, env_.Undefined());
  }
}

void NativeListener::OnShutdown(uv_shutdown_t* req, int status) {
  Conn* c = static_cast<Conn*>(req->data);
  free(req);
  if (c->closing) return;
  NativeListener* self = c->owner;
  if (self == nullptr) return;
  // the FIN is out: closing now also ends reading (node's allowHalfOpen: false); a stream
  // connection whose peer has not ended yet waits for it (its 'end' closes it)
  if (c->peerEnded || !c->stream || status < 0) {
    Napi::HandleScope scope(self->env_);
    self->Destroy(c, self->env_.Undefined());
  }
}

void NativeListener::Destroy(Conn* c, Napi::Value error) {
  if (c->closing) return;
  c->closing = true;
  ClosePipe(c);
  if (c->stream && !error.IsEmpty() && !error.IsUndefined()) c->closeError = Napi::Persistent(error);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), OnConnClosed);
}

void NativeListener::OnConnClosed(uv_handle_t* handle) {
  Conn* c = static_cast<Conn*>(handle->data);
  if (c->sniContext != nullptr) {
    SSL_CTX_free(c->sniContext);
    c->sniContext = nullptr;
  }
  if (c->ssl != nullptr) {
    // a finished handshake keeps its session whichever way the transport ended (what
    // s_server and nginx do before SSL_free; sessionOnUncleanClose 'keep')
    if (c->secure && (c->owner == nullptr || c->owner->KeepsSession(c))) SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    ErrorQueueGuard guard;
    SSL_free(c->ssl);
    c->ssl = nullptr;
  }
  NativeListener* self = c->owner;
  if (self == nullptr) {
    delete c;
    return;
  }
  self->conns_.erase(c->id);
  self->Forget(c->id);
  {
    Napi::HandleScope scope(self->env_);
    if (c->observed && !c->secure) self->Emit({Napi::Number::New(self->env_, kObservedGone), Napi::Number::New(self->env_, c->id)});
    if (c->stream || c->netEvents) {
      Napi::Value e = c->closeError.IsEmpty() ? self->env_.Undefined() : c->closeError.Value();
      self->Emit({Napi::Number::New(self->env_, kClose), Napi::Number::New(self->env_, c->id), e});
    }
    if (!c->closeError.IsEmpty()) c->closeError.Reset();
    delete c;
    self->MaybeClosed();
  }
  self->Release();
}

// the error a stream connection's socket reports for a transport failure; none for a
// connection JS does not stream, or one that already ended its side (the close_notify after
// the peer's FIN or reset fails with EPIPE/ECONNRESET there: expected, and an Error with a
// stack per connection was a tenth of a resumed handshake's CPU)
// a send failed: before the handshake ended that fails the connection ('tlsClientError', as
// a peer reset while OpenSSL answered a ClientHello the prefetch held); after it, the
// socket's error (TransportError)
void NativeListener::TransportFailed(Conn* c, int status) {
  if (c->closing) return;
  if (!c->secure) {
    Napi::Value e = openssl_error::MakeCoded(env_, uv_err_name(status), uv_strerror(status));
    Emit({Napi::Number::New(env_, kFailed), Napi::Number::New(env_, c->id), e});
    if (!c->closing) Destroy(c, env_.Undefined());
    return;
  }
  Destroy(c, TransportError(c, status));
}

Napi::Value NativeListener::TransportError(Conn* c, int status) {
  if (!c->stream || c->ending) return env_.Undefined();
  return openssl_error::MakeCoded(env_, uv_err_name(status), uv_strerror(status));
}

SSL* NativeListener::SslOf(Conn* c) { return c->ssl; }
SSL* NativeListener::SslOf(const Napi::CallbackInfo& info) {
  Conn* c = Find(info);
  return c == nullptr ? nullptr : c->ssl;
}

NativeListener::Conn* NativeListener::Find(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    openssl_error::ThrowType(info.Env(), "the connection id must be a number");
    return nullptr;
  }
  auto it = conns_.find(info[0].As<Napi::Number>().Uint32Value());
  if (it == conns_.end() || it->second->closing) return nullptr;
  return it->second;
}

// write(id, data) -> bytes still queued on the socket, or -1 when the connection is gone
Napi::Value NativeListener::JS_write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = Find(info);
  if (c == nullptr) return env.IsExceptionPending() ? env.Undefined() : Napi::Number::New(env, -1);
  if (info.Length() < 2 || !info[1].IsBuffer()) {
    openssl_error::ThrowType(env, "write(id, data): data must be a Buffer");
    return env.Undefined();
  }
  if (!c->secure || c->ending) return Napi::Number::New(env, -1);
  Napi::Buffer<char> data = info[1].As<Napi::Buffer<char>>();
  ErrorQueueGuard guard;
  if (!Encrypt(c, data.Data(), data.Length())) return Napi::Number::New(env, -1);
  if (Defer(c->id, BIO_ctrl_pending(c->out), c->tcp.write_queue_size)) return Napi::Number::New(env, 0);
  if (!Flush(c)) return Napi::Number::New(env, -1);
  size_t queued = c->tcp.write_queue_size;
  if (queued > 0) c->wantDrain = true;
  return Napi::Number::New(env, static_cast<double>(queued));
}

// SSL_write of all of `data` (the records wait in the output BIO); false after a failure destroyed the connection
bool NativeListener::Encrypt(Conn* c, const char* data, size_t length) {
  size_t off = 0;
  while (off < length) {
    int n = SSL_write(c->ssl, data + off, static_cast<int>(length - off));
    if (n <= 0) {
      Napi::Value e = openssl_error::Make(env_, "SSL_write", error_codes::kTlsFailed);
      if (env_.IsExceptionPending()) env_.GetAndClearPendingException();
      Destroy(c, e);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

// end(id): close_notify, then FIN once the queued writes are out
Napi::Value NativeListener::JS_end(const Napi::CallbackInfo& info) {
  Conn* c = Find(info);
  if (c != nullptr) End(c);
  return info.Env().Undefined();
}

// destroy(id): closes at once (queued writes are dropped)
Napi::Value NativeListener::JS_destroy(const Napi::CallbackInfo& info) {
  Conn* c = Find(info);
  // what was written goes out first, as a net.Socket's would have (a coalesced or piped connection's wait)
  if (c != nullptr && (Coalesced(c->id) || c->pipe != nullptr)) Flush(c);
  if (c != nullptr && !c->closing) Destroy(c, info.Env().Undefined());
  return info.Env().Undefined();
}

Napi::Value NativeListener::JS_readStop(const Napi::CallbackInfo& info) {
  Conn* c = Find(info);
  if (c != nullptr && c->reading) {
    c->reading = false;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  }
  return info.Env().Undefined();
}

Napi::Value NativeListener::JS_readStart(const Napi::CallbackInfo& info) {
  Conn* c = Find(info);
  if (c != nullptr) ReadStart(c);
  return info.Env().Undefined();
}

// TCP reads go on; what arrived before they stopped and was not decrypted yet is read now
void NativeListener::ReadStart(Conn* c) {
  if (!c->reading && !c->peerEnded && !c->closing) {
    c->reading = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead);
    // what arrived before the stop and was not decrypted yet: the socket may bring no more
    if (c->secure && (BIO_ctrl_pending(c->in) > 0 || SSL_pending(c->ssl) > 0)) {
      ErrorQueueGuard guard;
      ReadPlain(c);
    }
  }
}

// info(id) -> { reused, protocol, cipherName, cipherVersion, servername, remoteAddress,
//   remotePort } | undefined
Napi::Value NativeListener::JS_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = Find(info);
  if (c == nullptr || c->ssl == nullptr) return env.Undefined();
  auto text = [&](const char* s) { return s ? Napi::Value(Napi::String::New(env, s)) : env.Undefined(); };
  const SSL_CIPHER* cipher = SSL_get_current_cipher(c->ssl);
  Napi::Object o = Napi::Object::New(env);
  o.Set("reused", Napi::Boolean::New(env, SSL_session_reused(c->ssl) == 1));
  o.Set("protocol", Napi::String::New(env, SSL_get_version(c->ssl)));
  o.Set("cipherName", text(cipher ? SSL_CIPHER_get_name(cipher) : nullptr));
  o.Set("cipherVersion", text(cipher ? SSL_CIPHER_get_version(cipher) : nullptr));
  if (cipher != nullptr) o.Set("cipherStandardName", cipher_table::StandardName(cipher));
  o.Set("servername", text(SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name)));
  const unsigned char* alpn = nullptr;
  unsigned int alpnLength = 0;
  SSL_get0_alpn_selected(c->ssl, &alpn, &alpnLength);
  if (alpnLength > 0) o.Set("alpnProtocol", Napi::String::New(env, reinterpret_cast<const char*>(alpn), alpnLength));
  sockaddr_storage addr;
  int len = sizeof addr;
  if (uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&addr), &len) == 0) SetSocketAddress(o, addr, "remoteAddress", "remotePort", "remoteFamily");
  return o;
}

Napi::Value NativeListener::JS_connections(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(conns_.size()));
}

// ref(on): net.Server's ref() / unref() for the listener (connections stay referenced, as
// net's accepted sockets do); kept for a later listen()
Napi::Value NativeListener::JS_ref(const Napi::CallbackInfo& info) {
  unref_ = !(info.Length() > 0 && info[0].ToBoolean().Value());
  if (listener_ != nullptr && !listenerClosing_) {
    if (unref_) uv_unref(reinterpret_cast<uv_handle_t*>(listener_));
    else uv_ref(reinterpret_cast<uv_handle_t*>(listener_));
  }
  return info.Env().Undefined();
}
