// SslContextHandle, part 3: OpenSSL's new / remove / get / generate-session-id callbacks
// and the JS side of the events they record (see ssl_context_handle.h).
//
// Rules every callback here keeps: the new and remove callbacks only record (1.0.2 may
// hold CRYPTO_LOCK_SSL_CTX; no JS runs under it); the get callback is the one that calls
// JS, and no exception leaves it: a JS throw is kept and surfaced after the OpenSSL call.
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>

#include "arguments.h"
#include "openssl_error.h"
#include "openssl_locks.h"
#include "openssl_runtime.h"
#include "ssl_context_handle.h"
#include "ssl_session_handle.h"
#include "error_codes.h"

void SslContextHandle::DefineCallbackMethods(std::vector<PropertyDescriptor>* properties) {
  properties->insert(properties->end(), {
                                            InstanceMethod<&SslContextHandle::JS_setNextSessionId>("setNextSessionId"),
                                            InstanceMethod<&SslContextHandle::JS_setGetCallback>("setGetCallback"),
                                            InstanceMethod<&SslContextHandle::JS_setEventMask>("setEventMask"),
                                            InstanceMethod<&SslContextHandle::JS_takeEvents>("takeEvents"),
                                            InstanceMethod<&SslContextHandle::JS_discardEvents>("discardEvents"),
                                            InstanceMethod<&SslContextHandle::JS_takeCallbackError>("takeCallbackError"),
                                        });
}

SslContextHandle* SslContextHandle::From(SSL_CTX* ctx) {
  return static_cast<SslContextHandle*>(SSL_CTX_get_ex_data(ctx, openssl_runtime::ContextIndex()));
}

// Which removal this is, told apart at callback time (1.0.2 gives the callback no reason):
// SSL_CTX_flush_sessions (an explicit flush, SSL_CTX_free, a handshake's automatic flush)
// holds the write lock with the hash's down_load set to 0; SSL_CTX_add_session's eviction
// holds the write lock otherwise; SSL_CTX_remove_session (explicit, a handshake that
// found the session expired, SSL_free of an unshut connection) releases the lock before
// calling back. Evictions are recorded as kRemoveSession | kEvicted, so an eviction caused
// by a handshake's own insert is reported as 'evict', not 'handshake'.
void SslContextHandle::OnRemove(SSL_CTX* ctx, SSL_SESSION* s) {
  SslContextHandle* self = From(ctx);
  if (self == nullptr || !self->events_.Wants(SessionEventQueue::kRemoveSession)) return;
  bool flushing = ctx->sessions != nullptr && CHECKED_LHASH_OF(SSL_SESSION, ctx->sessions)->down_load == 0;
  bool evicted = !flushing && openssl_runtime::HoldsContextWriteLock();
  CRYPTO_add(&s->references, 1, CRYPTO_LOCK_SSL_SESSION);
  self->events_.Record(evicted ? static_cast<SessionEventQueue::Type>(SessionEventQueue::kRemoveSession |
                                                                      SessionEventQueue::kEvicted)
                               : SessionEventQueue::kRemoveSession,
                       s);
}

// Records the session for the consumers the mask names: the session (a reference kept) for
// SslSession listeners, its DER (serialized here, no JS) for the store path.
int SslContextHandle::OnNew(SSL* ssl, SSL_SESSION* s) {
  SslContextHandle* self = From(ssl->session_ctx);
  if (self == nullptr) return 0;
  bool keep = self->events_.Wants(SessionEventQueue::kNewSession);
  bool der = self->events_.Wants(SessionEventQueue::kNewSessionDer);
  if (!keep && !der) return 0;  // library frees its +1
  self->events_.RecordNew(s, keep, der);
  return keep ? 1 : 0;  // the queue keeps the library's +1 only for a handle
}

void SslContextHandle::KeepCallbackError(Napi::Value error) {
  if (!callbackError_.IsEmpty()) return;
  // boxed: a reference to a primitive (a thrown 'str', 42, null) cannot be made on every
  // Node version, and any thrown value must survive unchanged
  Napi::Object box = Napi::Object::New(error.Env());
  box.Set("value", error);
  callbackError_ = Napi::Reference<Napi::Value>::New(box, 1);
}

// The one synchronous callback: OpenSSL needs the answer. Runs without OpenSSL's lock.
// No exception leaves it: a JS throw is kept and surfaced after the OpenSSL call.
SSL_SESSION* SslContextHandle::OnGet(SSL* ssl, unsigned char* id, int len, int* copy) {
  SslContextHandle* self = From(ssl->session_ctx);
  if (self == nullptr || self->getCallback_.IsEmpty()) return nullptr;
  Napi::Env env = self->env_;
  Napi::HandleScope scope(env);
  Napi::Value r = self->getCallback_.Call({Napi::Buffer<uint8_t>::Copy(env, id, static_cast<size_t>(len))});
  if (env.IsExceptionPending()) {
    self->KeepCallbackError(env.GetAndClearPendingException().Value());
    return nullptr;
  }
  bool none = r.IsEmpty() || r.IsUndefined() || r.IsNull();
  if (self->ctx_ == nullptr) {
    // the callback freed its own context: OpenSSL still holds the SSL_CTX (through this
    // connection), but the handle is gone; answer "no session" and, if the callback did
    // offer one, say why it was not used
    if (none) return nullptr;
    Napi::Value e = openssl_error::MakeCoded(env, error_codes::kSslFreed, "getSessionCallback freed its SslContext");
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    if (!e.IsUndefined()) self->KeepCallbackError(e);
    return nullptr;
  }
  if (none) return nullptr;
  SslSessionHandle* h = SslSessionHandle::FromValue(env, r);
  if (h == nullptr) {
    self->KeepCallbackError(env.GetAndClearPendingException().Value());
    return nullptr;
  }
  SSL_SESSION* s = h->session();
  // Unless NO_INTERNAL_STORE, OpenSSL adds the answer to this cache: a session linked
  // into another context's list would corrupt both, so refuse it.
  bool foreign;
  {
    ReadLock held(CRYPTO_LOCK_SSL_CTX);
    foreign = s->next != nullptr && lh_SSL_SESSION_retrieve(ssl->session_ctx->sessions, s) != s;
  }
  if (s->session_id_length == 0) {
    // OpenSSL would cache it where it can be neither found, removed nor evicted
    Napi::Value e = openssl_error::MakeCoded(env, error_codes::kSessionIdEmpty, "getSessionCallback returned a session with an empty id");
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    if (!e.IsUndefined()) self->KeepCallbackError(e);
    return nullptr;
  }
  if (foreign) {
    Napi::Value e = openssl_error::MakeCoded(env, error_codes::kSessionInOtherContext,
                                             "getSessionCallback returned a session cached by another context");
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    if (!e.IsUndefined()) self->KeepCallbackError(e);
    return nullptr;
  }
  *copy = 1;  // OpenSSL takes its own reference
  return s;
}

int SslContextHandle::OnGenerateSessionId(const SSL* ssl, unsigned char* id, unsigned int* len) {
  SslContextHandle* self = From(ssl->session_ctx);
  if (self == nullptr || self->nextSessionId_.empty() || self->nextSessionId_.size() > *len) {
    return RAND_pseudo_bytes(id, static_cast<int>(*len)) >= 0 ? 1 : 0;
  }
  std::memcpy(id, self->nextSessionId_.data(), self->nextSessionId_.size());
  *len = static_cast<unsigned int>(self->nextSessionId_.size());
  self->nextSessionId_.clear();
  SSL_CTX_set_generate_session_id(self->ctx_, nullptr);
  return 1;
}

Napi::Value SslContextHandle::TakeCallbackError(Napi::Env env) {
  if (callbackError_.IsEmpty()) return env.Undefined();
  Napi::Value v = callbackError_.Value().As<Napi::Object>().Get("value");
  callbackError_.Reset();
  return v;
}

Napi::Value SslContextHandle::JS_takeCallbackError(const Napi::CallbackInfo& info) {
  return TakeCallbackError(info.Env());
}

// setNextSessionId(id | undefined): the next session a handshake creates on this context
// gets `id` (SSL_CTX_set_generate_session_id, removed again once used).
Napi::Value SslContextHandle::JS_setNextSessionId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  if (arguments::Given(info, 0, arguments::Kind::kBuffer)) {
    Napi::Buffer<uint8_t> id = info[0].As<Napi::Buffer<uint8_t>>();
    REQUIRE_BYTE_LENGTH(env, id.Length(), 1, SSL_MAX_SSL_SESSION_ID_LENGTH, "id");
    nextSessionId_.assign(id.Data(), id.Data() + id.Length());
    SSL_CTX_set_generate_session_id(ctx_, OnGenerateSessionId);
  } else {
    nextSessionId_.clear();
    SSL_CTX_set_generate_session_id(ctx_, nullptr);
  }
  return env.Undefined();
}

// setGetCallback(fn | undefined)
Napi::Value SslContextHandle::JS_setGetCallback(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  if (arguments::Given(info, 0, arguments::Kind::kFunction)) {
    getCallback_ = Napi::Persistent(info[0].As<Napi::Function>());
    SSL_CTX_sess_set_get_cb(ctx_, OnGet);
  } else {
    getCallback_.Reset();
    SSL_CTX_sess_set_get_cb(ctx_, nullptr);
  }
  return env.Undefined();
}

// setEventMask(mask): which SessionEventQueue::Type events the callbacks record. The
// remove callback is installed only while removals are recorded: without it OpenSSL skips
// the call, where OnRemove would find its handle through the SSL_CTX's ex_data only to drop
// the event (~5–10 ns of every remove, bench B1).
Napi::Value SslContextHandle::JS_setEventMask(const Napi::CallbackInfo& info) {
  REQUIRE_ARGUMENT(info, 0, kNumber, "mask");
  events_.SetMask(info[0].As<Napi::Number>().Uint32Value());
  if (ctx_ != nullptr) SSL_CTX_sess_set_remove_cb(ctx_, events_.Wants(SessionEventQueue::kRemoveSession) ? OnRemove : nullptr);
  return info.Env().Undefined();
}

// takeEvents() -> [{ type, session, id?, der?, timeout? }, ...] in OpenSSL's order
// (SessionEventQueue::Take).
Napi::Value SslContextHandle::JS_takeEvents(const Napi::CallbackInfo& info) { return events_.Take(info.Env()); }

Napi::Value SslContextHandle::JS_discardEvents(const Napi::CallbackInfo& info) {
  events_.Discard();
  return info.Env().Undefined();
}
