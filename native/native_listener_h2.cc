// The flush point (a prepare handle: the loop is about to wait for I/O), and what waits for
// it: the coalesced sends below, and a piped connection's answer (native_listener_pipe.cc).
//
// Coalesced sends for the connections node:http2 runs on over the NativeTlsSocket
// (createHttp2SecureServer on the native connection path where no socketpair can be made;
// elsewhere the session runs on a native stream handle, native_listener_pipe.cc, whose
// sends need no coalescing: bench/NOTES.md).
//
// node:http2 runs a session over a stream without a native handle (a NativeTlsSocket)
// through its own wrapper, which reports each write complete on setImmediate; the session
// writes what it has at that moment and holds what follows until then. One response is so
// written in several loop turns (headers and the first data, then the next data, then the
// end of the stream), and each write was one send: three TCP segments and three wake-ups
// of the client where node:http2 over node:tls makes the same three. For a coalesced
// connection, JS writes are encrypted at once (SSL_write, in order) and the ciphertext is
// sent from a prepare handle when the loop is about to wait for I/O (uv_backend_timeout is
// not 0), or after kMaxDeferredTurns turns that all had more to run, so nothing waits on a
// loop that never idles. Not deferred: a write when the socket already has a queue (the
// Duplex's backpressure sees the queue as before) or when kMaxDeferredBytes are waiting.
// A connection that ends sends what waits before its close_notify (End flushes the BIO); one
// that JS destroys sends it first too (JS_destroy), as a net.Socket would have.
#include <openssl/bio.h>

#include "native_listener.h"
#include "openssl_error.h"
#include "openssl_pointers.h"

namespace {
constexpr size_t kMaxDeferredBytes = 64 * 1024;
constexpr uint32_t kMaxDeferredTurns = 16;
}  // namespace

// coalesce(id): this connection's writes wait for the loop's flush point
Napi::Value NativeListener::JS_coalesce(const Napi::CallbackInfo& info) {
  Conn* c = Find(info);
  if (c != nullptr) coalesced_.emplace(info[0].As<Napi::Number>().Uint32Value(), false);
  return info.Env().Undefined();
}

bool NativeListener::Defer(uint32_t id, size_t pending, size_t queued) {
  if (coalesced_.empty() || queued > 0 || pending == 0 || pending >= kMaxDeferredBytes) return false;
  auto entry = coalesced_.find(id);
  if (entry == coalesced_.end()) return false;
  if (!ArmFlushPoint()) return false;
  // one entry per connection and flush point: a connection already waiting is in the list
  if (!entry->second) {
    entry->second = true;
    deferred_.push_back(id);
  }
  return true;
}

bool NativeListener::ArmFlushPoint() {
  if (flushPoint_ == nullptr) {
    flushPoint_ = static_cast<uv_prepare_t*>(malloc(sizeof(uv_prepare_t)));
    if (flushPoint_ == nullptr) return false;
    if (uv_prepare_init(loop_, flushPoint_) != 0) {
      free(flushPoint_);
      flushPoint_ = nullptr;
      return false;
    }
    flushPoint_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(flushPoint_));  // the connection's TCP handle keeps the loop alive
  }
  if (deferred_.empty() && heldPipes_.empty()) {
    deferredTurns_ = 0;
    uv_prepare_start(flushPoint_, OnFlushPoint);
  }
  return true;
}

void NativeListener::OnFlushPoint(uv_prepare_t* handle) {
  NativeListener* self = static_cast<NativeListener*>(handle->data);
  if (self == nullptr) return;
  // the loop has more to run before it waits (immediates, due timers, closing handles)
  if (uv_backend_timeout(self->loop_) == 0 && ++self->deferredTurns_ < kMaxDeferredTurns) return;
  uv_prepare_stop(handle);
  std::vector<uint32_t> ids;
  ids.swap(self->deferred_);
  std::vector<uint32_t> held;
  held.swap(self->heldPipes_);
  Napi::HandleScope scope(self->env_);
  ErrorQueueGuard guard;
  for (uint32_t id : ids) {
    auto entry = self->coalesced_.find(id);
    if (entry != self->coalesced_.end()) entry->second = false;
    auto it = self->conns_.find(id);
    if (it != self->conns_.end()) self->Flush(it->second);  // a gone or closing connection sends nothing
  }
  for (uint32_t id : held) {
    auto it = self->conns_.find(id);
    if (it != self->conns_.end()) self->SendHeld(it->second);
  }
}

void NativeListener::StopCoalescing() {
  for (uint32_t id : deferred_) {
    auto entry = coalesced_.find(id);
    if (entry != coalesced_.end()) entry->second = false;
  }
  deferred_.clear();
  heldPipes_.clear();  // called with no connection left (MaybeClosed, Cleanup): nothing waits
  if (flushPoint_ == nullptr) return;
  uv_prepare_stop(flushPoint_);
  flushPoint_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(flushPoint_), [](uv_handle_t* h) { free(h); });
  flushPoint_ = nullptr;
}
