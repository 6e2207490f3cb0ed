// SslContextHandle, part 1: construction, lifetime, slots and the cache calls; see
// ssl_context_handle.h for the other parts.
#include "ssl_context_handle.h"

#include <openssl/crypto.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "addon_data.h"
#include "arguments.h"
#include "long_methods.h"
#include "openssl_error.h"
#include "openssl_locks.h"
#include "openssl_pointers.h"
#include "openssl_runtime.h"
#include "session_codec.h"
#include "slot_table.h"
#include "tagged_handle.h"
#include "ssl_session_handle.h"
#include "error_codes.h"

namespace {

thread_local SlotTable<SslContextHandle> contextSlots;

// The list sentinel 1.0.2 uses for both ends of ctx's session list.
SSL_SESSION* TailSentinel(SSL_CTX* ctx) { return reinterpret_cast<SSL_SESSION*>(&ctx->session_cache_tail); }

bool SlotArg(Napi::Env env, napi_value v, uint32_t* out) {
  if (napi_get_value_uint32(env, v, out) == napi_ok) return true;
  openssl_error::ThrowType(env, "expected a slot number");
  return false;
}

using long_methods::Conversion;
// The cache's getters and setters: one row each instead of one method each.
const long_methods::Method<SSL_CTX> kCacheMethods[] = {
    {"count", nullptr, [](SSL_CTX* c, long) { return SSL_CTX_sess_number(c); }, Conversion::kInt64, true},
    {"flush", "time",
     [](SSL_CTX* c, long t) {
       SSL_CTX_flush_sessions(c, t);
       return 0L;
     },
     Conversion::kInt64, false},
    {"mode", nullptr, [](SSL_CTX* c, long) { return SSL_CTX_get_session_cache_mode(c); }, Conversion::kInt64, true},
    {"setMode", "mode", [](SSL_CTX* c, long m) { return SSL_CTX_set_session_cache_mode(c, m); }, Conversion::kInt64, true},
    {"cacheSize", nullptr, [](SSL_CTX* c, long) { return SSL_CTX_sess_get_cache_size(c); }, Conversion::kInt64, true},
    {"setCacheSize", "size", [](SSL_CTX* c, long n) { return SSL_CTX_sess_set_cache_size(c, n); }, Conversion::kInt64, true},
    {"timeout", nullptr, [](SSL_CTX* c, long) { return SSL_CTX_get_timeout(c); }, Conversion::kInt64, true},
    {"setTimeout", "timeout", [](SSL_CTX* c, long t) { return SSL_CTX_set_timeout(c, t); }, Conversion::kInt64, true},
};

}  // namespace

SslContextHandle* SslContextHandle::FromSlot(Napi::Env env, uint32_t slot) {
  SslContextHandle* h = contextSlots.Find(env, slot, "expected an SslContext");
  return h != nullptr && h->Live(env) ? h : nullptr;
}

Napi::Function SslContextHandle::Define(Napi::Env env) {
  std::vector<PropertyDescriptor> properties = {
      StaticMethod<&SslContextHandle::JS_addSlot>("addSlot"),
      StaticMethod<&SslContextHandle::JS_removeSlot>("removeSlot"),
      StaticMethod<&SslContextHandle::JS_addMany>("addMany"),
      StaticMethod<&SslContextHandle::JS_removeMany>("removeMany"),
      InstanceMethod<&SslContextHandle::JS_addDER>("addDER"),
      InstanceMethod<&SslContextHandle::JS_removeId>("removeId"),
      InstanceMethod<&SslContextHandle::JS_get>("get"),
      InstanceMethod<&SslContextHandle::JS_list>("list"),
      InstanceMethod<&SslContextHandle::JS_stats>("stats"),
      InstanceMethod<&SslContextHandle::JS_free>("free"),
      InstanceMethod<&SslContextHandle::JS_freed>("freed"),
  };
  long_methods::Define(&properties, &SslContextHandle::JS_longMethod, kCacheMethods);
  DefineConfigMethods(&properties);
  DefineCallbackMethods(&properties);
  DefineTicketMethods(&properties);
  DefineIdentityMethods(&properties);
  return DefineClass(env, "SslContextHandle", properties);
}

SslContextHandle* SslContextHandle::FromValue(Napi::Env env, Napi::Value v) {
  SslContextHandle* h = tagged_handle::Unwrap<SslContextHandle>(env, v, &AddonData::Of(env)->contextTag, "expected an SslContext");
  return h != nullptr && h->Live(env) ? h : nullptr;
}

// new SslContextHandle(kind): 0 server, 1 client, 2 both (SSLv23 methods)
SslContextHandle::SslContextHandle(const Napi::CallbackInfo& info) : ObjectWrap(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  ErrorQueueGuard guard;
  int kind = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  // new SslContextHandle(kind, state): state is lib's Uint32Array over a SharedArrayBuffer
  if (!events_.AttachState(env, info.Length() > 1 ? info[1] : env.Undefined())) return;
  const SSL_METHOD* method = kind == 1 ? SSLv23_client_method() : kind == 2 ? SSLv23_method() : SSLv23_server_method();
  ctx_ = SSL_CTX_new(method);
  if (ctx_ == nullptr) {
    openssl_error::Throw(env, "SSL_CTX_new");
    return;
  }
  SSL_CTX_set_ex_data(ctx_, openssl_runtime::ContextIndex(), this);
  // the remove callback: installed by setEventMask while removals are recorded
  SSL_CTX_sess_set_new_cb(ctx_, OnNew);
  SSL_CTX_set_ecdh_auto(ctx_, 1);
  napi_type_tag_object(env, info.This(), &AddonData::Of(env)->contextTag);
  slot_ = contextSlots.Take(this);
  napi_value n;
  napi_create_uint32(env, slot_, &n);
  napi_property_descriptor p = {"slot", nullptr, nullptr, nullptr, nullptr, n, napi_default, nullptr};
  napi_define_properties(env, info.This(), 1, &p);
}

SslContextHandle::~SslContextHandle() {
  contextSlots.Release(slot_, this);
  // Safety net for environment teardown; lib/ normally frees through FinalizationRegistry.
  events_.SetMask(0);
  FreeContext();
  events_.Discard();
}

bool SslContextHandle::Live(Napi::Env env) {
  if (ctx_ != nullptr) return true;
  openssl_error::ThrowCoded(env, error_codes::kSslFreed, "SslContext has been freed");
  return false;
}

void SslContextHandle::FreeContext() {
  if (ctx_ == nullptr) return;
  SSL_CTX* c = ctx_;
  ctx_ = nullptr;
  // Live connections (SSL_new) hold references too; then this free only drops ours and
  // the flush happens when the last connection goes, possibly after this handle is
  // gone: detach the back pointer so those callbacks find no handle.
  int refs;
  {
    ReadLock held(CRYPTO_LOCK_SSL_CTX);
    refs = c->references;
  }
  if (refs > 1) SSL_CTX_set_ex_data(c, openssl_runtime::ContextIndex(), nullptr);
  SSL_CTX_free(c);  // flushes the cache: remove callbacks record events (mask permitting)
  // no callback reaches this handle any more (detached above, or the SSL_CTX is gone)
  ticketKeys_.Wipe();
}

int SslContextHandle::Add(SSL_SESSION* s) {
  // A session object belongs to one JS environment, i.e. one thread, so its list links
  // can be read without the lock; only a linked session needs the (locked) hash check.
  if (s->next != nullptr) {
    bool foreign;
    {
      ReadLock held(CRYPTO_LOCK_SSL_CTX);
      foreign = lh_SSL_SESSION_retrieve(ctx_->sessions, s) != s;
    }
    if (foreign) return kAddInOtherContext;
  }
  return SSL_CTX_add_session(ctx_, s);
}

namespace {
// Refuses (RangeError ERR_SESSION_ID_EMPTY) a session with an empty id: 1.0.2 caches it
// but can never find it, remove it (remove_session_lock skips empty ids) nor evict it
// (the eviction loop stops at the first session it cannot remove, so one such session at
// the tail switches eviction off for good).
bool Addable(Napi::Env env, SSL_SESSION* s) {
  if (s->session_id_length != 0) return true;
  openssl_error::ThrowRangeCoded(env, error_codes::kSessionIdEmpty,
                                 "the session has an empty id: OpenSSL 1.0.2 could neither find, remove nor evict it");
  return false;
}

// (ctxSlot, sessionSlot) of the single-session fast paths, resolved without unwrapping
// either object; false after throwing TypeError / ERR_SSL_FREED.
bool SlotPair(const Napi::CallbackInfo& info, SslContextHandle** ctx, SSL_SESSION** session) {
  Napi::Env env = info.Env();
  uint32_t c, s;
  if (!SlotArg(env, info[0], &c) || !SlotArg(env, info[1], &s)) return false;
  *ctx = SslContextHandle::FromSlot(env, c);
  if (*ctx == nullptr) return false;
  SslSessionHandle* h = SslSessionHandle::FromSlot(env, s);
  if (h == nullptr) return false;
  *session = h->session();
  return true;
}

// (ctxSlot, sessionSlot) resolved, then `op(ctx, session)`'s int; undefined after a throw.
template <typename Op>
Napi::Value WithSlotPair(const Napi::CallbackInfo& info, Op op) {
  SslContextHandle* ctx;
  SSL_SESSION* s;
  if (!SlotPair(info, &ctx, &s)) return info.Env().Undefined();
  napi_value out;
  napi_create_int32(info.Env(), op(ctx, s), &out);
  return Napi::Value(info.Env(), out);
}
}  // namespace

// addSlot(ctxSlot, sessionSlot) -> SSL_CTX_add_session's int, or kAddInOtherContext when the
// session sits in another context's cache (1.0.2 would corrupt both lists; lib throws
// ERR_SESSION_IN_OTHER_CONTEXT).
Napi::Value SslContextHandle::JS_addSlot(const Napi::CallbackInfo& info) {
  SslContextHandle* ctx;
  SSL_SESSION* s;
  if (!SlotPair(info, &ctx, &s)) return info.Env().Undefined();
  if (!Addable(info.Env(), s)) return info.Env().Undefined();
  napi_value out;
  napi_create_int32(info.Env(), ctx->Add(s), &out);
  return Napi::Value(info.Env(), out);
}

// addDER(id, der) -> SSL_CTX_add_session's int for the session `der` encodes, added only
// when its id is `id` (1 to 32 bytes); no SslSessionHandle is made. `der` goes through
// session_codec::Decode, the decoder of SslSessionHandle.fromDER, so it is refused exactly
// when fromDER would throw: then kAddUndecodable (the exception fromDER would throw is
// dropped: the caller only needs "not a session"), and kAddOtherId when the decoded id
// differs from `id`
// (nothing added either way). The cache takes its own reference; ours is freed here.
Napi::Value SslContextHandle::JS_addDER(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENTS(info, "addDER(id: Buffer, der: Buffer)", K::kBuffer, K::kBuffer);
  Napi::Buffer<uint8_t> id = info[0].As<Napi::Buffer<uint8_t>>();
  Napi::Buffer<uint8_t> der = info[1].As<Napi::Buffer<uint8_t>>();
  REQUIRE_BYTE_LENGTH(env, id.Length(), 1, SSL_MAX_SSL_SESSION_ID_LENGTH, "id");
  ErrorQueueGuard guard;
  SslSessionPointer s(session_codec::Decode(env, der.Data(), der.Length()));
  if (!s) {
    env.GetAndClearPendingException();
    return Napi::Number::New(env, kAddUndecodable);
  }
  // id.Length() >= 1, so an empty-id session (which Addable refuses) never matches
  if (s->session_id_length != id.Length() || std::memcmp(s->session_id, id.Data(), id.Length()) != 0) {
    return Napi::Number::New(env, kAddOtherId);
  }
  return Napi::Number::New(env, Add(s.get()));  // a fresh session is in no cache: never kAddInOtherContext
}

// removeId(id, version) -> SSL_CTX_remove_session's int for the cached session with this id
// and protocol, 0 when none is cached. The lookup takes a reference under the lock (so the
// session outlives the remove callback's work), dropped here; no handle is made.
Napi::Value SslContextHandle::JS_removeId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENTS(info, "removeId(id: Buffer, version: number)", K::kBuffer, K::kNumber);
  Napi::Buffer<uint8_t> id = info[0].As<Napi::Buffer<uint8_t>>();
  REQUIRE_BYTE_LENGTH(env, id.Length(), 1, SSL_MAX_SSL_SESSION_ID_LENGTH, "id");
  SslSessionPointer s(Find(id.Data(), id.Length(), info[1].As<Napi::Number>().Int32Value(), true));
  if (!s) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, SSL_CTX_remove_session(ctx_, s.get()));
}

// removeSlot(ctxSlot, sessionSlot) -> SSL_CTX_remove_session's int
Napi::Value SslContextHandle::JS_removeSlot(const Napi::CallbackInfo& info) {
  return WithSlotPair(info, [](SslContextHandle* ctx, SSL_SESSION* s) { return SSL_CTX_remove_session(ctx->ctx(), s); });
}

namespace {
// The batch calls' session pointers: one buffer per thread, reused (its capacity stays), so
// a batch allocates nothing of its own. No JS runs during a batch call (OpenSSL's callbacks
// only record events), so no two calls use it at once.
thread_local std::vector<SSL_SESSION*> batchSessions;

// (ctxSlot, slots, count): the first `count` entries of a Uint32Array of session slots
// (count: all when omitted); every slot checked (live handle of this env, not freed)
// before OpenSSL sees any of them, so a bad entry changes nothing.
bool BatchArgs(const Napi::CallbackInfo& info, SslContextHandle** ctx, SSL_SESSION*** sessions, size_t* count) {
  Napi::Env env = info.Env();
  uint32_t c;
  if (!SlotArg(env, info[0], &c)) return false;
  *ctx = SslContextHandle::FromSlot(env, c);
  if (*ctx == nullptr) return false;
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    openssl_error::ThrowType(env, "expected a Uint32Array of session slots");
    return false;
  }
  Napi::Uint32Array a = info[1].As<Napi::Uint32Array>();
  size_t n = a.ElementLength();
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    uint32_t m;
    if (napi_get_value_uint32(env, info[2], &m) != napi_ok) {
      openssl_error::ThrowType(env, "expected a count");
      return false;
    }
    if (m > n) {
      openssl_error::ThrowRange(env, "count is beyond the slots");
      return false;
    }
    n = m;
  }
  std::vector<SSL_SESSION*>& out = batchSessions;
  if (out.size() < n) out.resize(n);
  *sessions = out.data();
  *count = n;
  return SslSessionHandle::SessionsOfSlots(env, a.Data(), n, out.data());
}
}  // namespace

// addMany(ctxSlot, slots[, count]) -> how many SSL_CTX_add_session calls returned 1, or -(i + 1)
// when sessions[i] sits in another context's cache (the ones before it were added).
Napi::Value SslContextHandle::JS_addMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SslContextHandle* ctx;
  SSL_SESSION** sessions;
  size_t n;
  if (!BatchArgs(info, &ctx, &sessions, &n)) return env.Undefined();
  for (size_t i = 0; i < n; i++) {
    if (!Addable(env, sessions[i])) return env.Undefined();  // before any is added
  }
  double added = 0;
  for (size_t i = 0; i < n; i++) {
    int r = ctx->Add(sessions[i]);
    if (r == kAddInOtherContext) return Napi::Number::New(env, -static_cast<double>(i + 1));
    if (r == 1) added++;
  }
  return Napi::Number::New(env, added);
}

// removeMany(ctxSlot, slots[, count]) -> how many SSL_CTX_remove_session calls returned 1.
Napi::Value SslContextHandle::JS_removeMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SslContextHandle* ctx;
  SSL_SESSION** sessions;
  size_t n;
  if (!BatchArgs(info, &ctx, &sessions, &n)) return env.Undefined();
  double removed = 0;
  for (size_t i = 0; i < n; i++) removed += SSL_CTX_remove_session(ctx->ctx_, sessions[i]) == 1 ? 1 : 0;
  return Napi::Number::New(env, removed);
}

// The hash lookup of ssl_get_prev_session without its counters (id: 1 to 32 bytes, checked
// by the caller); with `reference`, the session comes with one reference taken under the lock.
SSL_SESSION* SslContextHandle::Find(const uint8_t* id, size_t length, int version, bool reference) {
  SSL_SESSION key;
  std::memset(&key, 0, sizeof key);  // 1.0.2h hashes the first 4 id bytes whatever the length
  key.ssl_version = version;
  key.session_id_length = static_cast<unsigned int>(length);
  std::memcpy(key.session_id, id, length);
  ReadLock held(CRYPTO_LOCK_SSL_CTX);
  SSL_SESSION* s = lh_SSL_SESSION_retrieve(ctx_->sessions, &key);
  if (s != nullptr && reference) CRYPTO_add(&s->references, 1, CRYPTO_LOCK_SSL_SESSION);
  return s;
}

// get(id, version): Find with a reference, as a new handle.
Napi::Value SslContextHandle::JS_get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENTS(info, "get(id: Buffer, version: number)", K::kBuffer, K::kNumber);
  Napi::Buffer<uint8_t> id = info[0].As<Napi::Buffer<uint8_t>>();
  REQUIRE_BYTE_LENGTH(env, id.Length(), 1, SSL_MAX_SSL_SESSION_ID_LENGTH, "id");
  SSL_SESSION* s = Find(id.Data(), id.Length(), info[1].As<Napi::Number>().Int32Value(), true);
  if (s == nullptr) return env.Undefined();
  return SslSessionHandle::Adopt(env, s);
}

// list(): the cache's own list, newest first, each entry with a new reference.
Napi::Value SslContextHandle::JS_list(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  std::vector<SSL_SESSION*> found;
  {
    ReadLock held(CRYPTO_LOCK_SSL_CTX);
    found.reserve(lh_SSL_SESSION_num_items(ctx_->sessions));
    SSL_SESSION* end = TailSentinel(ctx_);
    for (SSL_SESSION* s = ctx_->session_cache_head; s != nullptr && s != end; s = s->next) {
      CRYPTO_add(&s->references, 1, CRYPTO_LOCK_SSL_SESSION);
      found.push_back(s);
    }
  }
  Napi::Array out = Napi::Array::New(env, found.size());
  for (size_t i = 0; i < found.size(); i++) {
    Napi::Value h = SslSessionHandle::Adopt(env, found[i]);
    if (env.IsExceptionPending()) {
      for (size_t j = i + 1; j < found.size(); j++) SSL_SESSION_free(found[j]);
      return env.Undefined();
    }
    out.Set(static_cast<uint32_t>(i), h);
  }
  return out;
}

// stats() -> { number, connect, connectGood, ..., cacheFull }: the SSL_CTX_sess_* counters.
Napi::Value SslContextHandle::JS_stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  const struct {
    const char* name;
    long value;
  } counters[] = {
      {"number", SSL_CTX_sess_number(ctx_)},
      {"connect", SSL_CTX_sess_connect(ctx_)},
      {"connectGood", SSL_CTX_sess_connect_good(ctx_)},
      {"connectRenegotiate", SSL_CTX_sess_connect_renegotiate(ctx_)},
      {"accept", SSL_CTX_sess_accept(ctx_)},
      {"acceptGood", SSL_CTX_sess_accept_good(ctx_)},
      {"acceptRenegotiate", SSL_CTX_sess_accept_renegotiate(ctx_)},
      {"hits", SSL_CTX_sess_hits(ctx_)},
      {"cbHits", SSL_CTX_sess_cb_hits(ctx_)},
      {"misses", SSL_CTX_sess_misses(ctx_)},
      {"timeouts", SSL_CTX_sess_timeouts(ctx_)},
      {"cacheFull", SSL_CTX_sess_cache_full(ctx_)},
  };
  Napi::Object out = Napi::Object::New(env);
  for (const auto& c : counters) out.Set(c.name, Napi::Number::New(env, static_cast<double>(c.value)));
  return out;
}

// count(), flush(t), mode(), setMode(m), cacheSize(), setCacheSize(n), timeout(),
// setTimeout(t), and the config rows (ssl_context_config.cc)
Napi::Value SslContextHandle::JS_longMethod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return long_methods::Call(info, ctx_);
}

Napi::Value SslContextHandle::JS_free(const Napi::CallbackInfo& info) {
  FreeContext();
  getCallback_.Reset();
  return info.Env().Undefined();
}

Napi::Value SslContextHandle::JS_freed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ctx_ == nullptr);
}
