#include "ssl_session_handle.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "addon_data.h"
#include "arguments.h"
#include "cipher_table.h"
#include "error_codes.h"
#include "long_methods.h"
#include "openssl_error.h"
#include "openssl_locks.h"
#include "openssl_pointers.h"
#include "openssl_runtime.h"
#include "session_codec.h"
#include "slot_table.h"
#include "tagged_handle.h"

namespace {
thread_local SlotTable<SslSessionHandle> slots;

// What the batch calls need of a slot, next to each other in slot order: the session of
// the live handle there and its env (both null when the slot is empty or its handle freed).
// SessionsOfSlots reads these instead of following each slot to its handle object, which
// sits wherever malloc put it (one more cache line per element and batch).
struct SlotSession {
  SSL_SESSION* session = nullptr;
  napi_env env = nullptr;
};
thread_local std::vector<SlotSession> slotSessions;

void SetSlotSession(uint32_t slot, SSL_SESSION* s, napi_env env) {
  if (slot == UINT32_MAX) return;
  if (slotSessions.size() <= slot) slotSessions.resize(slot + 1);
  slotSessions[slot] = SlotSession{s, env};
}

using long_methods::Conversion;
const long_methods::Method<SSL_SESSION> kLongMethods[] = {
    {"time", nullptr, [](SSL_SESSION* s, long) { return SSL_SESSION_get_time(s); }, Conversion::kInt64, true},
    {"setTime", "time", [](SSL_SESSION* s, long t) { return SSL_SESSION_set_time(s, t); }, Conversion::kInt64, false},
    {"timeout", nullptr, [](SSL_SESSION* s, long) { return SSL_SESSION_get_timeout(s); }, Conversion::kInt64, true},
    {"setTimeout", "timeout", [](SSL_SESSION* s, long t) { return SSL_SESSION_set_timeout(s, t); }, Conversion::kInt64, false},
};
}  // namespace

SslSessionHandle* SslSessionHandle::AtSlot(uint32_t slot) { return slots.At(slot); }

SslSessionHandle* SslSessionHandle::FromSlot(Napi::Env env, uint32_t slot) {
  SslSessionHandle* h = slots.Find(env, slot, "expected an SslSession");
  return h != nullptr && h->Live(env) ? h : nullptr;
}

bool SslSessionHandle::SessionsOfSlots(Napi::Env env, const uint32_t* slot, size_t n, SSL_SESSION** out) {
  const std::vector<SlotSession>& live = slotSessions;  // each thread_local looked up once
  const SlotTable<SslSessionHandle>& table = slots;
  napi_env e = env;
  for (size_t i = 0; i < n; i++) {
    if (slot[i] < live.size() && live[slot[i]].env == e && live[slot[i]].session != nullptr) {
      out[i] = live[slot[i]].session;
      continue;
    }
    // not a live handle of this env: the table's checks, which throw the right error
    SslSessionHandle* h = table.Find(env, slot[i], "expected an SslSession");
    if (h == nullptr || !h->Live(env)) return false;
    out[i] = h->session_;
  }
  return true;
}

Napi::Function SslSessionHandle::Define(Napi::Env env) {
  std::vector<PropertyDescriptor> properties = {
          StaticMethod<&SslSessionHandle::JS_create>("create"),
          StaticMethod<&SslSessionHandle::JS_fromDER>("fromDER"),
          StaticMethod<&SslSessionHandle::JS_fromPEM>("fromPEM"),
          StaticMethod<&SslSessionHandle::JS_slotOf>("slotOf"),
          StaticMethod<&SslSessionHandle::JS_keyOf>("keyOf"),  // session_identity.cc
          InstanceMethod<&SslSessionHandle::JS_toDER>("toDER"),
          InstanceMethod<&SslSessionHandle::JS_toDERInto>("toDERInto"),
          InstanceMethod<&SslSessionHandle::JS_toPEM>("toPEM"),
          InstanceMethod<&SslSessionHandle::JS_toText>("toText"),
          InstanceMethod<&SslSessionHandle::JS_id>("id"),
          InstanceMethod<&SslSessionHandle::JS_idContext>("idContext"),
          InstanceMethod<&SslSessionHandle::JS_setIdContext>("setIdContext"),
          InstanceMethod<&SslSessionHandle::JS_version>("version"),
          InstanceMethod<&SslSessionHandle::JS_cipher>("cipher"),
          InstanceMethod<&SslSessionHandle::JS_notResumable>("notResumable"),
          InstanceMethod<&SslSessionHandle::JS_references>("references"),
          InstanceMethod<&SslSessionHandle::JS_same>("same"),
          InstanceMethod<&SslSessionHandle::JS_serial>("serial"),
          InstanceMethod<&SslSessionHandle::JS_slot>("slot"),
          InstanceMethod<&SslSessionHandle::JS_free>("free"),
          InstanceMethod<&SslSessionHandle::JS_freed>("freed"),
          InstanceMethod<&SslSessionHandle::JS_retain>("retain"),  // session_identity.cc
  };
  long_methods::Define(&properties, &SslSessionHandle::JS_longMethod, kLongMethods);
  return DefineClass(env, "SslSessionHandle", properties);
}

Napi::Value SslSessionHandle::Adopt(Napi::Env env, SSL_SESSION* s) {
  AddonData* d = AddonData::Of(env);
  d->adopting = s;
  Napi::Object o = d->sessionConstructor.New({});
  bool adopted = d->adopting == nullptr;  // the constructor took the reference
  d->adopting = nullptr;
  if (o.IsEmpty() || env.IsExceptionPending()) {
    // failed (e.g. the environment is shutting down): the reference is still ours
    if (!adopted) SSL_SESSION_free(s);
    return env.Undefined();
  }
  return o;
}

SslSessionHandle* SslSessionHandle::FromValue(Napi::Env env, Napi::Value v) {
  SslSessionHandle* h = tagged_handle::Unwrap<SslSessionHandle>(env, v, &AddonData::Of(env)->sessionTag, "expected an SslSession");
  return h != nullptr && h->Live(env) ? h : nullptr;
}

SslSessionHandle::SslSessionHandle(const Napi::CallbackInfo& info) : ObjectWrap(info) {
  AddonData* d = AddonData::Of(info.Env());
  if (d->adopting == nullptr) {
    openssl_error::ThrowType(info.Env(), "SslSessionHandle cannot be constructed from JavaScript");
    return;
  }
  session_ = static_cast<SSL_SESSION*>(d->adopting);
  d->adopting = nullptr;
  napi_type_tag_object(info.Env(), info.This(), &d->sessionTag);
  slot_ = slots.Take(this);
  SetSlotSession(slot_, session_, info.Env());
}

SslSessionHandle::~SslSessionHandle() {
  if (slots.At(slot_) == this) SetSlotSession(slot_, nullptr, nullptr);
  slots.Release(slot_, this);
  // Safety net for environment teardown; lib/ normally frees through FinalizationRegistry.
  if (session_ != nullptr) SSL_SESSION_free(session_);
}

bool SslSessionHandle::Live(Napi::Env env) {
  if (session_ != nullptr) return true;
  openssl_error::ThrowCoded(env, error_codes::kSslFreed, "SslSession has been freed");
  return false;
}

// create(id, version, idContext|null, time|null, timeout|null, masterKey|null, cipher|null)
Napi::Value SslSessionHandle::JS_create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ErrorQueueGuard guard;
  REQUIRE_ARGUMENT(info, 0, kBuffer, "id");
  REQUIRE_ARGUMENT(info, 1, kNumber, "protocol version");
  Napi::Buffer<uint8_t> id = info[0].As<Napi::Buffer<uint8_t>>();
  REQUIRE_BYTE_LENGTH(env, id.Length(), 1, SSL_MAX_SSL_SESSION_ID_LENGTH, "id");
  const SSL_CIPHER* cipher = nullptr;
  if (arguments::Given(info, 6, arguments::Kind::kString)) {
    std::string name = info[6].As<Napi::String>().Utf8Value();
    cipher = cipher_table::Find(name.c_str());
    if (cipher == nullptr) {
      std::string m = "unknown cipher: " + name;
      openssl_error::ThrowRange(env, m.c_str());
      return env.Undefined();
    }
  }
  bool haveIdContext = arguments::Given(info, 2, arguments::Kind::kBuffer);
  bool haveMasterKey = arguments::Given(info, 5, arguments::Kind::kBuffer);
  if (haveIdContext) REQUIRE_BYTE_LENGTH(env, info[2].As<Napi::Buffer<uint8_t>>().Length(), 0, SSL_MAX_SID_CTX_LENGTH, "idContext");
  if (haveMasterKey) REQUIRE_BYTE_LENGTH(env, info[5].As<Napi::Buffer<uint8_t>>().Length(), 0, SSL_MAX_MASTER_KEY_LENGTH, "masterKey");
  SSL_SESSION* s = SSL_SESSION_new();
  if (s == nullptr) {
    openssl_error::Throw(env, "SSL_SESSION_new");
    return env.Undefined();
  }
  s->ssl_version = info[1].As<Napi::Number>().Int32Value();
  s->session_id_length = static_cast<unsigned int>(id.Length());
  std::memcpy(s->session_id, id.Data(), id.Length());
  if (haveIdContext) {
    Napi::Buffer<uint8_t> c = info[2].As<Napi::Buffer<uint8_t>>();
    SSL_SESSION_set1_id_context(s, arguments::Bytes(c), static_cast<unsigned int>(c.Length()));
  }
  if (arguments::Given(info, 3, arguments::Kind::kNumber)) SSL_SESSION_set_time(s, info[3].As<Napi::Number>().Int64Value());
  if (arguments::Given(info, 4, arguments::Kind::kNumber)) SSL_SESSION_set_timeout(s, info[4].As<Napi::Number>().Int64Value());
  if (haveMasterKey) {
    Napi::Buffer<uint8_t> k = info[5].As<Napi::Buffer<uint8_t>>();
    s->master_key_length = static_cast<int>(k.Length());
    if (k.Length() > 0) std::memcpy(s->master_key, k.Data(), k.Length());
  }
  if (cipher != nullptr) {
    s->cipher = cipher;
    s->cipher_id = SSL_CIPHER_get_id(cipher);
  }
  return Adopt(env, s);
}

Napi::Value SslSessionHandle::JS_fromDER(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ErrorQueueGuard guard;
  REQUIRE_ARGUMENT(info, 0, kBuffer, "der");
  Napi::Buffer<uint8_t> der = info[0].As<Napi::Buffer<uint8_t>>();
  SSL_SESSION* s = session_codec::Decode(env, der.Data(), der.Length());
  if (s == nullptr) return env.Undefined();
  return Adopt(env, s);
}

Napi::Value SslSessionHandle::JS_fromPEM(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ErrorQueueGuard guard;
  REQUIRE_ARGUMENT(info, 0, kStringOrBuffer, "pem");
  SSL_SESSION* s = session_codec::DecodePem(env, arguments::Text(info[0]));
  if (s == nullptr) return env.Undefined();
  return Adopt(env, s);
}

// i2d_SSL_SESSION's length (with a NULL pp it only measures), or 0 with ERR_SESSION_NOT_ENCODABLE thrown
int SslSessionHandle::EncodedLength(Napi::Env env) {
  int len = i2d_SSL_SESSION(session_, nullptr);
  if (len <= 0) {
    openssl_error::Throw(env, session_->cipher == nullptr ? "i2d_SSL_SESSION: the session has no cipher"
                                                          : "i2d_SSL_SESSION",
                         error_codes::kSessionNotEncodable);
    return 0;
  }
  return len;
}

Napi::Value SslSessionHandle::JS_toDER(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  // length first: i2d_SSL_SESSION with a NULL *pp would write through NULL
  int len = EncodedLength(env);
  if (len == 0) return env.Undefined();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(len));
  // empty while the environment stops (worker.terminate()): Data() would be NULL, and
  // 1.0.2's i2d_SSL_SESSION writes through a NULL *pp
  if (out.IsEmpty()) return env.Undefined();
  unsigned char* p = out.Data();
  int written = i2d_SSL_SESSION(session_, &p);
  if (written != len) {
    openssl_error::Throw(env, "i2d_SSL_SESSION", error_codes::kSessionNotEncodable);
    return env.Undefined();
  }
  return out;
}

// toDERInto(target: Buffer, offset: number) -> bytes written, or -(bytes needed) when they
// do not fit after `offset` (nothing written; lib turns it into a RangeError): i2d into the
// caller's memory, no Buffer made. lib checks offset; it is checked again here.
Napi::Value SslSessionHandle::JS_toDERInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENTS(info, "toDERInto(target: Buffer, offset: number)", K::kBuffer, K::kNumber);
  Napi::Buffer<uint8_t> target = info[0].As<Napi::Buffer<uint8_t>>();
  double offset = info[1].As<Napi::Number>().DoubleValue();
  if (!(offset >= 0) || offset > static_cast<double>(target.Length()) || offset != static_cast<double>(static_cast<size_t>(offset))) {
    openssl_error::ThrowRange(env, "offset must be an integer from 0 to the target's length");
    return env.Undefined();
  }
  ErrorQueueGuard guard;
  int len = EncodedLength(env);
  if (len == 0) return env.Undefined();
  size_t room = target.Length() - static_cast<size_t>(offset);
  if (static_cast<size_t>(len) > room) return Napi::Number::New(env, -len);
  unsigned char* p = target.Data() + static_cast<size_t>(offset);
  if (i2d_SSL_SESSION(session_, &p) != len) {
    openssl_error::Throw(env, "i2d_SSL_SESSION", error_codes::kSessionNotEncodable);
    return env.Undefined();
  }
  return Napi::Number::New(env, len);
}

Napi::Value SslSessionHandle::JS_toPEM(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  if (i2d_SSL_SESSION(session_, nullptr) <= 0) {
    openssl_error::Throw(env, "PEM_write_bio_SSL_SESSION: the session cannot be encoded", error_codes::kSessionNotEncodable);
    return env.Undefined();
  }
  BioPointer bio = NewMemoryBio();
  if (!bio || PEM_write_bio_SSL_SESSION(bio.get(), session_) != 1) {
    openssl_error::Throw(env, "PEM_write_bio_SSL_SESSION", error_codes::kSessionNotEncodable);
    return env.Undefined();
  }
  return Napi::String::New(env, MemoryBioText(bio.get()));
}

Napi::Value SslSessionHandle::JS_toText(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  ErrorQueueGuard guard;
  return session_codec::Print(env, session_);
}

Napi::Value SslSessionHandle::JS_id(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return Napi::Buffer<uint8_t>::Copy(env, session_->session_id, session_->session_id_length);
}

Napi::Value SslSessionHandle::JS_idContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return Napi::Buffer<uint8_t>::Copy(env, session_->sid_ctx, session_->sid_ctx_length);
}

Napi::Value SslSessionHandle::JS_setIdContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  REQUIRE_ARGUMENT(info, 0, kBuffer, "idContext");
  ErrorQueueGuard guard;
  Napi::Buffer<uint8_t> c = info[0].As<Napi::Buffer<uint8_t>>();
  REQUIRE_BYTE_LENGTH(env, c.Length(), 0, SSL_MAX_SID_CTX_LENGTH, "idContext");
  SSL_SESSION_set1_id_context(session_, arguments::Bytes(c), static_cast<unsigned int>(c.Length()));
  return env.Undefined();
}

// time() / setTime(t) / timeout() / setTimeout(t)
Napi::Value SslSessionHandle::JS_longMethod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return long_methods::Call(info, session_);
}

Napi::Value SslSessionHandle::JS_version(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return Napi::Number::New(env, session_->ssl_version);
}

Napi::Value SslSessionHandle::JS_cipher(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  if (session_->cipher == nullptr) return env.Undefined();
  return Napi::String::New(env, SSL_CIPHER_get_name(session_->cipher));
}

Napi::Value SslSessionHandle::JS_notResumable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  return Napi::Boolean::New(env, session_->not_resumable != 0);
}

Napi::Value SslSessionHandle::JS_references(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  int n;
  {
    ReadLock held(CRYPTO_LOCK_SSL_SESSION);
    n = session_->references;
  }
  return Napi::Number::New(env, n);
}

Napi::Value SslSessionHandle::JS_same(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  SslSessionHandle* other = info.Length() > 0 ? FromValue(env, info[0]) : nullptr;
  if (other == nullptr) {
    if (!env.IsExceptionPending()) openssl_error::ThrowType(env, "expected an SslSession");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, other->session_ == session_);
}

// serial(): a process-wide number naming the native SSL_SESSION object (assigned on first
// use, kept in its ex_data), so JS can tell objects apart without seeing addresses.
Napi::Value SslSessionHandle::JS_serial(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Live(env)) return env.Undefined();
  static std::atomic<uintptr_t> next{1};
  int idx = openssl_runtime::SessionIndex();
  uintptr_t n;
  {
    WriteLock held(CRYPTO_LOCK_SSL_SESSION);
    n = reinterpret_cast<uintptr_t>(SSL_SESSION_get_ex_data(session_, idx));
    if (n == 0) {
      n = next.fetch_add(1);
      SSL_SESSION_set_ex_data(session_, idx, reinterpret_cast<void*>(n));
    }
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// slotOf(handle): the slot of a real, live handle (type tag checked: a JS object posing
// as a handle, e.g. behind a forged SslSession, gets TypeError, never another's slot).
Napi::Value SslSessionHandle::JS_slotOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SslSessionHandle* h = info.Length() > 0 ? FromValue(env, info[0]) : nullptr;
  if (h == nullptr) {
    if (!env.IsExceptionPending()) openssl_error::ThrowType(env, "expected an SslSession");
    return env.Undefined();
  }
  return Napi::Number::New(env, h->slot_);
}

// slot(): this handle's number for the slot fast paths (asked once per object by lib/;
// a property set in the constructor would cost every handle creation ~0.5 µs).
Napi::Value SslSessionHandle::JS_slot(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), slot_);
}

Napi::Value SslSessionHandle::JS_free(const Napi::CallbackInfo& info) {
  if (session_ != nullptr) {
    SSL_SESSION* s = session_;
    session_ = nullptr;
    if (slots.At(slot_) == this) SetSlotSession(slot_, nullptr, nullptr);
    SSL_SESSION_free(s);
  }
  return info.Env().Undefined();
}

Napi::Value SslSessionHandle::JS_freed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), session_ == nullptr);
}
