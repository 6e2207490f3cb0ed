#include "ssl_context_handle.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "addon_data.h"
#include "openssl_error.h"
#include "openssl_runtime.h"
#include "ssl_session_handle.h"

namespace {

bool NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() > i && info[i].IsNumber()) return true;
  std::string m = std::string(name) + " must be a number";
  openssl_error::ThrowType(info.Env(), m.c_str());
  return false;
}

// The list sentinel 1.0.2 uses for both ends of ctx's session list.
SSL_SESSION* TailSentinel(SSL_CTX* ctx) { return reinterpret_cast<SSL_SESSION*>(&ctx->session_cache_tail); }

// The PEM text of argument 0 (string or Buffer) as a read-only memory BIO.
// ok() is false after a TypeError was thrown for anything else.
class PemInput {
 public:
  PemInput(const Napi::CallbackInfo& info, const char* what) {
    if (info.Length() < 1 || !(info[0].IsString() || info[0].IsBuffer())) {
      std::string m = std::string(what) + " must be a PEM string or Buffer";
      openssl_error::ThrowType(info.Env(), m.c_str());
      return;
    }
    if (info[0].IsString()) {
      text_ = info[0].As<Napi::String>().Utf8Value();
    } else {
      Napi::Buffer<char> b = info[0].As<Napi::Buffer<char>>();
      text_.assign(b.Data(), b.Length());
    }
    bio_ = BIO_new_mem_buf(const_cast<char*>(text_.data()), static_cast<int>(text_.size()));
    checked_ = true;
  }
  ~PemInput() {
    if (bio_) BIO_free(bio_);
  }
  PemInput(const PemInput&) = delete;
  PemInput& operator=(const PemInput&) = delete;
  bool ok() const { return checked_; }
  BIO* bio() const { return bio_; }  // nullptr if OpenSSL could not allocate it

 private:
  std::string text_;
  BIO* bio_ = nullptr;
  bool checked_ = false;
};

// Slot table of this thread's live context handle objects (see SslSessionHandle).
thread_local std::vector<SslContextHandle*> contextSlots;
thread_local std::vector<uint32_t> freeContextSlots;

bool SlotArg(Napi::Env env, napi_value v, uint32_t* out) {
  if (napi_get_value_uint32(env, v, out) == napi_ok) return true;
  openssl_error::ThrowType(env, "expected a slot number");
  return false;
}

}  // namespace

SslContextHandle* SslContextHandle::FromSlot(Napi::Env env, uint32_t slot) {
  SslContextHandle* h = slot < contextSlots.size() ? contextSlots[slot] : nullptr;
  if (h == nullptr || h->Env() != env) {
    openssl_error::ThrowType(env, "expected an SslContext");
    return nullptr;
  }
  if (!h->Live(env)) return nullptr;
  return h;
}

Napi::Function SslContextHandle::Define(Napi::Env env) {
  return DefineClass(
      env, "SslContextHandle",
      {
          StaticMethod<&SslContextHandle::JS_addSlot>("addSlot"),
          StaticMethod<&SslContextHandle::JS_removeSlot>("removeSlot"),
          StaticMethod<&SslContextHandle::JS_addMany>("addMany"),
          StaticMethod<&SslContextHandle::JS_removeMany>("removeMany"),
          InstanceMethod<&SslContextHandle::JS_flush>("flush"),
          InstanceMethod<&SslContextHandle::JS_get>("get"),
          InstanceMethod<&SslContextHandle::JS_list>("list"),
          InstanceMethod<&SslContextHandle::JS_count>("count"),
          InstanceMethod<&SslContextHandle::JS_stats>("stats"),
          InstanceMethod<&SslContextHandle::JS_setMode>("setMode"),
          InstanceMethod<&SslContextHandle::JS_mode>("mode"),
          InstanceMethod<&SslContextHandle::JS_setCacheSize>("setCacheSize"),
          InstanceMethod<&SslContextHandle::JS_cacheSize>("cacheSize"),
          InstanceMethod<&SslContextHandle::JS_setTimeout>("setTimeout"),
          InstanceMethod<&SslContextHandle::JS_timeout>("timeout"),
          InstanceMethod<&SslContextHandle::JS_setSessionIdContext>("setSessionIdContext"),
          InstanceMethod<&SslContextHandle::JS_setOptions>("setOptions"),
          InstanceMethod<&SslContextHandle::JS_clearOptions>("clearOptions"),
          InstanceMethod<&SslContextHandle::JS_useCertificate>("useCertificate"),
          InstanceMethod<&SslContextHandle::JS_usePrivateKey>("usePrivateKey"),
          InstanceMethod<&SslContextHandle::JS_setCipherList>("setCipherList"),
          InstanceMethod<&SslContextHandle::JS_addCaCertificates>("addCaCertificates"),
          InstanceMethod<&SslContextHandle::JS_setVerify>("setVerify"),
          InstanceMethod<&SslContextHandle::JS_setNextSessionId>("setNextSessionId"),
          InstanceMethod<&SslContextHandle::JS_setGetCallback>("setGetCallback"),
          InstanceMethod<&SslContextHandle::JS_setEventMask>("setEventMask"),
          InstanceMethod<&SslContextHandle::JS_takeEvents>("takeEvents"),
          InstanceMethod<&SslContextHandle::JS_discardEvents>("discardEvents"),
          InstanceMethod<&SslContextHandle::JS_takeCallbackError>("takeCallbackError"),
          InstanceMethod<&SslContextHandle::JS_stateBuffer>("stateBuffer"),
          InstanceMethod<&SslContextHandle::JS_free>("free"),
          InstanceMethod<&SslContextHandle::JS_freed>("freed"),
      });
}

SslContextHandle* SslContextHandle::FromValue(Napi::Env env, Napi::Value v) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(env, v, &AddonData::Of(env)->contextTag, &ok);
  if (!ok) {
    openssl_error::ThrowType(env, "expected an SslContext");
    return nullptr;
  }
  SslContextHandle* h = ObjectWrap<SslContextHandle>::Unwrap(v.As<Napi::Object>());
  if (h == nullptr || !h->Live(env)) return nullptr;
  return h;
}

// new SslContextHandle(kind): 0 server, 1 client, 2 both (SSLv23 methods)
SslContextHandle::SslContextHandle(const Napi::CallbackInfo& info) : ObjectWrap(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  ErrorQueueGuard guard;
  int kind = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  const SSL_METHOD* method = kind == 1 ? SSLv23_client_method() : kind == 2 ? SSLv23_method() : SSLv23_server_method();
  ctx_ = SSL_CTX_new(method);
  if (ctx_ == nullptr) {
    openssl_error::Throw(env, "SSL_CTX_new");
    return;
  }
  SSL_CTX_set_ex_data(ctx_, openssl_runtime::ContextIndex(), this);
  SSL_CTX_sess_set_remove_cb(ctx_, OnRemove);
  SSL_CTX_sess_set_new_cb(ctx_, OnNew);
  SSL_CTX_set_ecdh_auto(ctx_, 1);
  Napi::ArrayBuffer state = Napi::ArrayBuffer::New(env, sizeof(uint32_t) * 2);
  if (state.IsEmpty()) return;  // the environment is stopping (see the header); state_ stays NULL
  state_ = static_cast<uint32_t*>(state.Data());
  state_[0] = 0;
  state_[1] = 0;
  stateRef_ = Napi::Persistent(state);
  napi_type_tag_object(env, info.This(), &AddonData::Of(env)->contextTag);
  if (!freeContextSlots.empty()) {
    slot_ = freeContextSlots.back();
    freeContextSlots.pop_back();
    contextSlots[slot_] = this;
  } else {
    slot_ = static_cast<uint32_t>(contextSlots.size());
    contextSlots.push_back(this);
  }
  napi_value n;
  napi_create_uint32(env, slot_, &n);
  napi_property_descriptor p = {"slot", nullptr, nullptr, nullptr, nullptr, n, napi_default, nullptr};
  napi_define_properties(env, info.This(), 1, &p);
}

SslContextHandle::~SslContextHandle() {
  if (slot_ < contextSlots.size() && contextSlots[slot_] == this) {
    contextSlots[slot_] = nullptr;
    freeContextSlots.push_back(slot_);
  }
  // Safety net for environment teardown; lib/ normally frees through FinalizationRegistry.
  eventMask_ = 0;
  FreeContext();
  DiscardEvents();
}

bool SslContextHandle::Live(Napi::Env env) {
  if (ctx_ != nullptr) return true;
  openssl_error::ThrowCoded(env, "ERR_SSL_FREED", "SslContext has been freed");
  return false;
}

void SslContextHandle::FreeContext() {
  if (ctx_ == nullptr) return;
  SSL_CTX* c = ctx_;
  ctx_ = nullptr;
  // Live connections (SSL_new) hold references too; then this free only drops ours and
  // the flush happens when the last connection goes, possibly after this handle is
  // gone: detach the back pointer so those callbacks find no handle.
  CRYPTO_r_lock(CRYPTO_LOCK_SSL_CTX);
  int refs = c->references;
  CRYPTO_r_unlock(CRYPTO_LOCK_SSL_CTX);
  if (refs > 1) SSL_CTX_set_ex_data(c, openssl_runtime::ContextIndex(), nullptr);
  SSL_CTX_free(c);  // flushes the cache: remove callbacks record events (mask permitting)
}

SslContextHandle* SslContextHandle::From(SSL_CTX* ctx) {
  return static_cast<SslContextHandle*>(SSL_CTX_get_ex_data(ctx, openssl_runtime::ContextIndex()));
}

// Called by OpenSSL, possibly with CRYPTO_LOCK_SSL_CTX held: record only, no JS.
void SslContextHandle::Record(EventType type, SSL_SESSION* s) {
  events_.push_back({type, s});
  if (state_ != nullptr) state_[0] = static_cast<uint32_t>(events_.size());
}

void SslContextHandle::OnRemove(SSL_CTX* ctx, SSL_SESSION* s) {
  SslContextHandle* self = From(ctx);
  if (self == nullptr || !(self->eventMask_ & kRemoveSession)) return;
  CRYPTO_add(&s->references, 1, CRYPTO_LOCK_SSL_SESSION);
  self->Record(kRemoveSession, s);
}

int SslContextHandle::OnNew(SSL* ssl, SSL_SESSION* s) {
  SslContextHandle* self = From(ssl->session_ctx);
  if (self == nullptr || !(self->eventMask_ & kNewSession)) return 0;  // library frees its +1
  self->Record(kNewSession, s);
  return 1;  // the queue keeps the library's +1
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
    Napi::Error e = env.GetAndClearPendingException();
    if (self->callbackError_.IsEmpty()) self->callbackError_ = Napi::Reference<Napi::Value>::New(e.Value(), 1);
    return nullptr;
  }
  bool none = r.IsEmpty() || r.IsUndefined() || r.IsNull();
  if (self->ctx_ == nullptr) {
    // the callback freed its own context: OpenSSL still holds the SSL_CTX (through this
    // connection), but the handle is gone; answer "no session" and, if the callback did
    // offer one, say why it was not used
    if (none) return nullptr;
    Napi::Value e = openssl_error::MakeCoded(env, "ERR_SSL_FREED", "getSessionCallback freed its SslContext");
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    if (self->callbackError_.IsEmpty() && !e.IsUndefined()) self->callbackError_ = Napi::Reference<Napi::Value>::New(e, 1);
    return nullptr;
  }
  if (none) return nullptr;
  SslSessionHandle* h = SslSessionHandle::FromValue(env, r);
  if (h == nullptr) {
    Napi::Error e = env.GetAndClearPendingException();
    if (self->callbackError_.IsEmpty()) self->callbackError_ = Napi::Reference<Napi::Value>::New(e.Value(), 1);
    return nullptr;
  }
  SSL_SESSION* s = h->session();
  // Unless NO_INTERNAL_STORE, OpenSSL adds the answer to this cache: a session linked
  // into another context's list would corrupt both, so refuse it.
  CRYPTO_r_lock(CRYPTO_LOCK_SSL_CTX);
  bool foreign = s->next != nullptr && lh_SSL_SESSION_retrieve(ssl->session_ctx->sessions, s) != s;
  CRYPTO_r_unlock(CRYPTO_LOCK_SSL_CTX);
  if (foreign) {
    Napi::Value e = openssl_error::MakeCoded(env, "ERR_SESSION_IN_OTHER_CONTEXT",
                                             "getSessionCallback returned a session cached by another context");
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    if (self->callbackError_.IsEmpty() && !e.IsUndefined()) self->callbackError_ = Napi::Reference<Napi::Value>::New(e, 1);
    return nullptr;
  }
  *copy = 1;  // OpenSSL takes its own reference
  return s;
}

Napi::Value SslContextHandle::TakeCallbackError(Napi::Env env) {
  if (callbackError_.IsEmpty()) return env.Undefined();
  Napi::Value v = callbackError_.Value();
  callbackError_.Reset();
  return v;
}

int SslContextHandle::Add(SSL_SESSION* s) {
  // A session object belongs to one JS environment, i.e. one thread, so its list links
  // can be read without the lock; only a linked session needs the (locked) hash check.
  if (s->next != nullptr) {
    CRYPTO_r_lock(CRYPTO_LOCK_SSL_CTX);
    bool foreign = lh_SSL_SESSION_retrieve(ctx_->sessions, s) != s;
    CRYPTO_r_unlock(CRYPTO_LOCK_SSL_CTX);
    if (foreign) return -2;
  }
  return SSL_CTX_add_session(ctx_, s);
}

namespace {
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

Napi::Value Int(Napi::Env env, int v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return Napi::Value(env, out);
}
}  // namespace

// addSlot(ctxSlot, sessionSlot) -> SSL_CTX_add_session's int, or -2 when the session sits
// in another context's cache (1.0.2 would corrupt both lists; lib throws
// ERR_SESSION_IN_OTHER_CONTEXT).
Napi::Value SslContextHandle::JS_addSlot(const Napi::CallbackInfo& info) {
  SslContextHandle* ctx;
  SSL_SESSION* s;
  if (!SlotPair(info, &ctx, &s)) return info.Env().Undefined();
  return Int(info.Env(), ctx->Add(s));
}

// removeSlot(ctxSlot, sessionSlot) -> SSL_CTX_remove_session's int
Napi::Value SslContextHandle::JS_removeSlot(const Napi::CallbackInfo& info) {
  SslContextHandle* ctx;
  SSL_SESSION* s;
  if (!SlotPair(info, &ctx, &s)) return info.Env().Undefined();
  return Int(info.Env(), SSL_CTX_remove_session(ctx->ctx(), s));
}

namespace {
// The Uint32Array of session slots a batch call names; every slot checked (live handle of
// this env, not freed) before OpenSSL sees any of them, so a bad entry changes nothing.
bool BatchArgs(const Napi::CallbackInfo& info, SslContextHandle** ctx, std::vector<SSL_SESSION*>* sessions) {
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
  const uint32_t* slot = a.Data();
  size_t n = a.ElementLength();
  sessions->resize(n);
  for (size_t i = 0; i < n; i++) {
    SslSessionHandle* h = SslSessionHandle::FromSlot(env, slot[i]);
    if (h == nullptr) return false;
    (*sessions)[i] = h->session();
  }
  return true;
}
}  // namespace

// addMany(ctxSlot, slots) -> how many SSL_CTX_add_session calls returned 1, or -(i + 1)
// when sessions[i] sits in another context's cache (the ones before it were added).
Napi::Value SslContextHandle::JS_addMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SslContextHandle* ctx;
  std::vector<SSL_SESSION*> sessions;
  if (!BatchArgs(info, &ctx, &sessions)) return env.Undefined();
  double added = 0;
  for (size_t i = 0; i < sessions.size(); i++) {
    int r = ctx->Add(sessions[i]);
    if (r == -2) return Napi::Number::New(env, -static_cast<double>(i + 1));
    if (r == 1) added++;
  }
  return Napi::Number::New(env, added);
}

// removeMany(ctxSlot, slots) -> how many SSL_CTX_remove_session calls returned 1.
Napi::Value SslContextHandle::JS_removeMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SslContextHandle* ctx;
  std::vector<SSL_SESSION*> sessions;
  if (!BatchArgs(info, &ctx, &sessions)) return env.Undefined();
  double removed = 0;
  for (SSL_SESSION* s : sessions) removed += SSL_CTX_remove_session(ctx->ctx_, s) == 1 ? 1 : 0;
  return Napi::Number::New(env, removed);
}

Napi::Value SslContextHandle::JS_flush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env) || !NumberArg(info, 0, "time")) return env.Undefined();
  SSL_CTX_flush_sessions(ctx_, static_cast<long>(info[0].As<Napi::Number>().Int64Value()));
  return env.Undefined();
}

// get(id, version): the hash lookup of ssl_get_prev_session without its counters.
Napi::Value SslContextHandle::JS_get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsNumber()) {
    openssl_error::ThrowType(env, "get(id: Buffer, version: number)");
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> id = info[0].As<Napi::Buffer<uint8_t>>();
  if (id.Length() < 1 || id.Length() > SSL_MAX_SSL_SESSION_ID_LENGTH) {
    openssl_error::ThrowRange(env, "id must be 1 to 32 bytes");
    return env.Undefined();
  }
  SSL_SESSION key;
  std::memset(&key, 0, sizeof key);  // 1.0.2h hashes the first 4 id bytes whatever the length
  key.ssl_version = info[1].As<Napi::Number>().Int32Value();
  key.session_id_length = static_cast<unsigned int>(id.Length());
  std::memcpy(key.session_id, id.Data(), id.Length());
  CRYPTO_r_lock(CRYPTO_LOCK_SSL_CTX);
  SSL_SESSION* s = lh_SSL_SESSION_retrieve(ctx_->sessions, &key);
  if (s != nullptr) CRYPTO_add(&s->references, 1, CRYPTO_LOCK_SSL_SESSION);
  CRYPTO_r_unlock(CRYPTO_LOCK_SSL_CTX);
  if (s == nullptr) return env.Undefined();
  return SslSessionHandle::Adopt(env, s);
}

// list(): the cache's own list, newest first, each entry with a new reference.
Napi::Value SslContextHandle::JS_list(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  std::vector<SSL_SESSION*> found;
  CRYPTO_r_lock(CRYPTO_LOCK_SSL_CTX);
  found.reserve(lh_SSL_SESSION_num_items(ctx_->sessions));
  SSL_SESSION* end = TailSentinel(ctx_);
  for (SSL_SESSION* s = ctx_->session_cache_head; s != nullptr && s != end; s = s->next) {
    CRYPTO_add(&s->references, 1, CRYPTO_LOCK_SSL_SESSION);
    found.push_back(s);
  }
  CRYPTO_r_unlock(CRYPTO_LOCK_SSL_CTX);
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

Napi::Value SslContextHandle::JS_count(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(SSL_CTX_sess_number(ctx_)));
}

// stats(): the SSL_CTX_sess_* counters in API order.
Napi::Value SslContextHandle::JS_stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  const long values[] = {
      SSL_CTX_sess_number(ctx_),       SSL_CTX_sess_connect(ctx_),       SSL_CTX_sess_connect_good(ctx_),
      SSL_CTX_sess_connect_renegotiate(ctx_), SSL_CTX_sess_accept(ctx_), SSL_CTX_sess_accept_good(ctx_),
      SSL_CTX_sess_accept_renegotiate(ctx_),  SSL_CTX_sess_hits(ctx_),   SSL_CTX_sess_cb_hits(ctx_),
      SSL_CTX_sess_misses(ctx_),       SSL_CTX_sess_timeouts(ctx_),      SSL_CTX_sess_cache_full(ctx_),
  };
  Napi::Array out = Napi::Array::New(env, 12);
  for (uint32_t i = 0; i < 12; i++) out.Set(i, Napi::Number::New(env, static_cast<double>(values[i])));
  return out;
}

Napi::Value SslContextHandle::JS_setMode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env) || !NumberArg(info, 0, "mode")) return env.Undefined();
  return Napi::Number::New(env, SSL_CTX_set_session_cache_mode(ctx_, info[0].As<Napi::Number>().Int64Value()));
}

Napi::Value SslContextHandle::JS_mode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return Napi::Number::New(env, SSL_CTX_get_session_cache_mode(ctx_));
}

Napi::Value SslContextHandle::JS_setCacheSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env) || !NumberArg(info, 0, "size")) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(SSL_CTX_sess_set_cache_size(ctx_, info[0].As<Napi::Number>().Int64Value())));
}

Napi::Value SslContextHandle::JS_cacheSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(SSL_CTX_sess_get_cache_size(ctx_)));
}

Napi::Value SslContextHandle::JS_setTimeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env) || !NumberArg(info, 0, "timeout")) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(SSL_CTX_set_timeout(ctx_, info[0].As<Napi::Number>().Int64Value())));
}

Napi::Value SslContextHandle::JS_timeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(SSL_CTX_get_timeout(ctx_)));
}

Napi::Value SslContextHandle::JS_setSessionIdContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    openssl_error::ThrowType(env, "sessionIdContext must be a Buffer");
    return env.Undefined();
  }
  ErrorQueueGuard guard;
  Napi::Buffer<uint8_t> c = info[0].As<Napi::Buffer<uint8_t>>();
  static const unsigned char none = 0;  // an empty Buffer's Data() may be NULL
  if (SSL_CTX_set_session_id_context(ctx_, c.Length() ? c.Data() : &none, static_cast<unsigned int>(c.Length())) != 1) {
    openssl_error::Throw(env, "SSL_CTX_set_session_id_context");
  }
  return env.Undefined();
}

Napi::Value SslContextHandle::JS_setOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env) || !NumberArg(info, 0, "options")) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(SSL_CTX_set_options(ctx_, info[0].As<Napi::Number>().Uint32Value())));
}

Napi::Value SslContextHandle::JS_clearOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env) || !NumberArg(info, 0, "options")) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(SSL_CTX_clear_options(ctx_, info[0].As<Napi::Number>().Uint32Value())));
}

// useCertificate(pem): the first certificate is the leaf, the rest its chain.
Napi::Value SslContextHandle::JS_useCertificate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  PemInput pem(info, "cert");
  if (!pem.ok()) return env.Undefined();
  BIO* bio = pem.bio();
  X509* leaf = bio ? PEM_read_bio_X509_AUX(bio, nullptr, nullptr, nullptr) : nullptr;
  if (leaf == nullptr || SSL_CTX_use_certificate(ctx_, leaf) != 1) {
    if (leaf) X509_free(leaf);
    openssl_error::Throw(env, "SSL_CTX_use_certificate", "ERR_BAD_CERTIFICATE");
    return env.Undefined();
  }
  X509_free(leaf);
  SSL_CTX_clear_extra_chain_certs(ctx_);
  X509* extra;
  while ((extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) != nullptr) {
    if (SSL_CTX_add_extra_chain_cert(ctx_, extra) != 1) {
      X509_free(extra);
      break;
    }
  }
  return env.Undefined();
}

Napi::Value SslContextHandle::JS_usePrivateKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  PemInput pem(info, "key");
  if (!pem.ok()) return env.Undefined();
  EVP_PKEY* key = pem.bio() ? PEM_read_bio_PrivateKey(pem.bio(), nullptr, nullptr, nullptr) : nullptr;
  if (key == nullptr || SSL_CTX_use_PrivateKey(ctx_, key) != 1) {
    if (key) EVP_PKEY_free(key);
    openssl_error::Throw(env, "SSL_CTX_use_PrivateKey", "ERR_BAD_KEY");
    return env.Undefined();
  }
  EVP_PKEY_free(key);
  if (SSL_CTX_check_private_key(ctx_) != 1) openssl_error::Throw(env, "SSL_CTX_check_private_key", "ERR_BAD_KEY");
  return env.Undefined();
}

Napi::Value SslContextHandle::JS_setCipherList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsString()) {
    openssl_error::ThrowType(env, "ciphers must be a string");
    return env.Undefined();
  }
  ErrorQueueGuard guard;
  std::string list = info[0].As<Napi::String>().Utf8Value();
  if (SSL_CTX_set_cipher_list(ctx_, list.c_str()) != 1) openssl_error::Throw(env, "SSL_CTX_set_cipher_list", "ERR_BAD_CIPHERS");
  return env.Undefined();
}

// addCaCertificates(pem): every certificate in the PEM becomes a trust anchor.
Napi::Value SslContextHandle::JS_addCaCertificates(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  PemInput pem(info, "ca");
  if (!pem.ok()) return env.Undefined();
  BIO* bio = pem.bio();
  X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
  int added = 0;
  X509* cert;
  while (bio && (cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) != nullptr) {
    X509_STORE_add_cert(store, cert);  // duplicates are harmless
    X509_free(cert);
    added++;
  }
  if (added == 0) {
    openssl_error::Throw(env, "PEM_read_bio_X509 (ca)", "ERR_BAD_CERTIFICATE");
    return env.Undefined();
  }
  ERR_clear_error();  // the end of the PEM input leaves a "no start line" entry
  return Napi::Number::New(env, added);
}

// setVerify(mode, host|undefined): SSL_CTX_set_verify, and X509_VERIFY_PARAM_set1_host.
Napi::Value SslContextHandle::JS_setVerify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env) || !NumberArg(info, 0, "mode")) return env.Undefined();
  SSL_CTX_set_verify(ctx_, info[0].As<Napi::Number>().Int32Value(), nullptr);
  return env.Undefined();
}

// setNextSessionId(id | undefined): the next session a handshake creates on this context
// gets `id` (SSL_CTX_set_generate_session_id, removed again once used).
Napi::Value SslContextHandle::JS_setNextSessionId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  if (info.Length() > 0 && info[0].IsBuffer()) {
    Napi::Buffer<uint8_t> id = info[0].As<Napi::Buffer<uint8_t>>();
    if (id.Length() < 1 || id.Length() > SSL_MAX_SSL_SESSION_ID_LENGTH) {
      openssl_error::ThrowRange(env, "id must be 1 to 32 bytes");
      return env.Undefined();
    }
    nextSessionId_.assign(id.Data(), id.Data() + id.Length());
    SSL_CTX_set_generate_session_id(ctx_, OnGenerateSessionId);
  } else {
    nextSessionId_.clear();
    SSL_CTX_set_generate_session_id(ctx_, nullptr);
  }
  return env.Undefined();
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

Napi::Value SslContextHandle::JS_setGetCallback(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  if (info.Length() > 0 && info[0].IsFunction()) {
    getCallback_ = Napi::Persistent(info[0].As<Napi::Function>());
    SSL_CTX_sess_set_get_cb(ctx_, OnGet);
  } else {
    getCallback_.Reset();
    SSL_CTX_sess_set_get_cb(ctx_, nullptr);
  }
  return env.Undefined();
}

Napi::Value SslContextHandle::JS_setEventMask(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!NumberArg(info, 0, "mask")) return env.Undefined();
  eventMask_ = info[0].As<Napi::Number>().Uint32Value();
  return env.Undefined();
}

// takeEvents() -> [type, sessionHandle, type, sessionHandle, ...] in OpenSSL's order.
Napi::Value SslContextHandle::JS_takeEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<Event> taken;
  taken.swap(events_);
  if (state_ != nullptr) state_[0] = 0;
  Napi::Array out = Napi::Array::New(env, taken.size() * 2);
  for (size_t i = 0; i < taken.size(); i++) {
    Napi::Value h = SslSessionHandle::Adopt(env, taken[i].session);
    if (env.IsExceptionPending()) {
      for (size_t j = i + 1; j < taken.size(); j++) SSL_SESSION_free(taken[j].session);
      return env.Undefined();
    }
    out.Set(static_cast<uint32_t>(2 * i), Napi::Number::New(env, taken[i].type));
    out.Set(static_cast<uint32_t>(2 * i + 1), h);
  }
  return out;
}

void SslContextHandle::DiscardEvents() {
  for (const Event& e : events_) SSL_SESSION_free(e.session);
  events_.clear();
  if (state_ != nullptr) state_[0] = 0;
}

Napi::Value SslContextHandle::JS_discardEvents(const Napi::CallbackInfo& info) {
  DiscardEvents();
  return info.Env().Undefined();
}

Napi::Value SslContextHandle::JS_takeCallbackError(const Napi::CallbackInfo& info) {
  return TakeCallbackError(info.Env());
}

Napi::Value SslContextHandle::JS_stateBuffer(const Napi::CallbackInfo& info) { return stateRef_.Value(); }

Napi::Value SslContextHandle::JS_free(const Napi::CallbackInfo& info) {
  FreeContext();
  getCallback_.Reset();
  return info.Env().Undefined();
}

Napi::Value SslContextHandle::JS_freed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ctx_ == nullptr);
}
