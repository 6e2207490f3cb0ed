// Identity keys (one SslSession per native SSL_SESSION per thread; lib/openssl/identity.ts).
//
// lib/ keeps a table from a session's key to the live SslSession around it. The key is
// the SSL_SESSION's address as a number. Keys only ever go *out* to JS: no native method
// accepts a key back, so a key cannot be turned into a handle (or forged into one). A
// lookup that needs a handle after lib saw the key repeats the lookup natively (get()
// after findSlot(), listSome() after listKeys(), with no OpenSSL call in between).
// An address names one session while lib's table has an entry for it: the entry's
// handle holds a reference until free() or the finalizer, which drop the entry first.
//
//   SslSessionHandle.keyOf(handle)             the key of a handle's SSL_SESSION
//   SslSessionHandle#retain()                  a new handle with one more reference
//   SslContextHandle.findSlot(ctx, id, v)      key of the cached session, no reference taken
//   SslContextHandle#listKeys()                Float64Array of the cached keys, list order
//   SslContextHandle#listSome(mask)            like list(), a handle only where mask[i] != 0
#include <openssl/crypto.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "arguments.h"
#include "openssl_error.h"
#include "openssl_locks.h"
#include "ssl_context_handle.h"
#include "ssl_session_handle.h"

namespace {
SSL_SESSION* ListEnd(SSL_CTX* ctx) { return reinterpret_cast<SSL_SESSION*>(&ctx->session_cache_tail); }
}  // namespace

double SessionKey(const SSL_SESSION* s) { return static_cast<double>(reinterpret_cast<uintptr_t>(s)); }

// keyOf(handle) -> the key of a real, live handle (type tag checked natively, as slotOf):
// TypeError for an object posing as a handle, so a forged SslSession cannot enter the
// identity table under another session's key.
Napi::Value SslSessionHandle::JS_keyOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SslSessionHandle* h = info.Length() > 0 ? FromValue(env, info[0]) : nullptr;
  if (h == nullptr) {
    if (!env.IsExceptionPending()) openssl_error::ThrowType(env, "expected an SslSession");
    return env.Undefined();
  }
  return Napi::Number::New(env, SessionKey(h->session_));
}

// retain() -> a new handle owning one more reference to the same SSL_SESSION (the model
// adapter's extra caller references; lib/model/openssl_cache.ts).
Napi::Value SslSessionHandle::JS_retain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  CRYPTO_add(&session_->references, 1, CRYPTO_LOCK_SSL_SESSION);
  return Adopt(env, session_);  // Adopt drops the reference itself when it fails
}

void SslContextHandle::DefineIdentityMethods(std::vector<PropertyDescriptor>* properties) {
  properties->insert(properties->end(), {
                                            StaticMethod<&SslContextHandle::JS_findSlot>("findSlot"),
                                            InstanceMethod<&SslContextHandle::JS_listKeys>("listKeys"),
                                            InstanceMethod<&SslContextHandle::JS_listSome>("listSome"),
                                        });
}

// findSlot(ctxSlot, id, version) -> key | undefined: the lookup of get() without taking a
// reference or making a handle (the slot path: no unwrap of a context object).
Napi::Value SslContextHandle::JS_findSlot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot = 0;
  if (info.Length() < 1 || napi_get_value_uint32(env, info[0], &slot) != napi_ok) {
    openssl_error::ThrowType(env, "expected a slot number");
    return env.Undefined();
  }
  SslContextHandle* ctx = FromSlot(env, slot);
  if (ctx == nullptr) return env.Undefined();
  if (info.Length() < 3 || !info[1].IsBuffer() || !info[2].IsNumber()) {
    openssl_error::ThrowType(env, "findSlot(ctx: number, id: Buffer, version: number)");
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> id = info[1].As<Napi::Buffer<uint8_t>>();
  REQUIRE_BYTE_LENGTH(env, id.Length(), 1, SSL_MAX_SSL_SESSION_ID_LENGTH, "id");
  SSL_SESSION* s = ctx->Find(id.Data(), id.Length(), info[2].As<Napi::Number>().Int32Value(), false);
  if (s == nullptr) return env.Undefined();
  return Napi::Number::New(env, SessionKey(s));
}

// listKeys() -> Float64Array: the keys of the cached sessions, newest first.
Napi::Value SslContextHandle::JS_listKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  std::vector<double> keys;
  {
    ReadLock held(CRYPTO_LOCK_SSL_CTX);
    keys.reserve(lh_SSL_SESSION_num_items(ctx_->sessions));
    SSL_SESSION* end = ListEnd(ctx_);
    for (SSL_SESSION* s = ctx_->session_cache_head; s != nullptr && s != end; s = s->next) keys.push_back(SessionKey(s));
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, keys.size());
  if (out.IsEmpty() || env.IsExceptionPending()) return env.Undefined();
  if (!keys.empty()) std::memcpy(out.Data(), keys.data(), keys.size() * sizeof(double));
  return out;
}

// listSome(mask: Uint8Array) -> an array as long as the list: a new handle (one new
// reference) at i where mask[i] != 0, undefined elsewhere. lib calls it right after
// listKeys() with no OpenSSL call in between, so positions name the same sessions.
Napi::Value SslContextHandle::JS_listSome(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    openssl_error::ThrowType(env, "mask must be a Uint8Array");
    return env.Undefined();
  }
  Napi::Uint8Array mask = info[0].As<Napi::Uint8Array>();
  size_t maskLength = mask.ElementLength();
  const uint8_t* m = mask.Data();
  std::vector<SSL_SESSION*> found;
  size_t n = 0;
  {
    ReadLock held(CRYPTO_LOCK_SSL_CTX);
    SSL_SESSION* end = ListEnd(ctx_);
    for (SSL_SESSION* s = ctx_->session_cache_head; s != nullptr && s != end; s = s->next, n++) {
      if (n < maskLength && m != nullptr && m[n] != 0) {
        CRYPTO_add(&s->references, 1, CRYPTO_LOCK_SSL_SESSION);
        found.push_back(s);
      } else {
        found.push_back(nullptr);
      }
    }
  }
  Napi::Array out = Napi::Array::New(env, found.size());
  for (size_t i = 0; i < found.size(); i++) {
    if (found[i] == nullptr) continue;
    Napi::Value h = SslSessionHandle::Adopt(env, found[i]);
    if (out.IsEmpty() || env.IsExceptionPending() || h.IsUndefined()) {
      for (size_t j = i + 1; j < found.size(); j++)
        if (found[j] != nullptr) SSL_SESSION_free(found[j]);
      return env.Undefined();
    }
    out.Set(static_cast<uint32_t>(i), h);
  }
  return out;
}
