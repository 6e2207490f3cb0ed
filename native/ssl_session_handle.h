// SslSessionHandle: one JS object owning exactly one reference to an SSL_SESSION.
#pragma once
#include <napi.h>
#include <openssl/ssl.h>

class SslSessionHandle : public Napi::ObjectWrap<SslSessionHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  // Wraps `s`, taking over one reference the caller already holds.
  static Napi::Value Adopt(Napi::Env env, SSL_SESSION* s);
  // The handle behind `v`, or nullptr after throwing TypeError (wrong object) or
  // ERR_SSL_FREED (freed handle).
  static SslSessionHandle* FromValue(Napi::Env env, Napi::Value v);

  explicit SslSessionHandle(const Napi::CallbackInfo& info);
  ~SslSessionHandle() override;

  SSL_SESSION* session() const { return session_; }

  // Fast path for hot calls (bench B1): every handle gets a small number, its "slot",
  // readable from JS as handle.slot(). A slot names a live handle object of
  // this thread, so native code finds the handle with a bounds-checked table read instead
  // of napi_check_object_type_tag + napi_unwrap (two private-property lookups, ~55 ns
  // each). A slot is released only when its handle object is garbage-collected.
  // nullptr after throwing TypeError (no such handle) or ERR_SSL_FREED.
  static SslSessionHandle* FromSlot(Napi::Env env, uint32_t slot);
  static SslSessionHandle* AtSlot(uint32_t slot);  // no checks beyond the table, no throw
  uint32_t slot() const { return slot_; }

 private:
  static Napi::Value JS_create(const Napi::CallbackInfo& info);
  static Napi::Value JS_fromDER(const Napi::CallbackInfo& info);
  static Napi::Value JS_fromPEM(const Napi::CallbackInfo& info);
  static Napi::Value JS_slotOf(const Napi::CallbackInfo& info);

  Napi::Value JS_toDER(const Napi::CallbackInfo& info);
  Napi::Value JS_toPEM(const Napi::CallbackInfo& info);
  Napi::Value JS_toText(const Napi::CallbackInfo& info);
  Napi::Value JS_id(const Napi::CallbackInfo& info);
  Napi::Value JS_idContext(const Napi::CallbackInfo& info);
  Napi::Value JS_setIdContext(const Napi::CallbackInfo& info);
  Napi::Value JS_longMethod(const Napi::CallbackInfo& info);  // the rows of kLongMethods
  Napi::Value JS_version(const Napi::CallbackInfo& info);
  Napi::Value JS_cipher(const Napi::CallbackInfo& info);
  Napi::Value JS_notResumable(const Napi::CallbackInfo& info);
  Napi::Value JS_references(const Napi::CallbackInfo& info);
  Napi::Value JS_same(const Napi::CallbackInfo& info);
  Napi::Value JS_serial(const Napi::CallbackInfo& info);
  Napi::Value JS_slot(const Napi::CallbackInfo& info);
  Napi::Value JS_free(const Napi::CallbackInfo& info);
  Napi::Value JS_freed(const Napi::CallbackInfo& info);

  bool Live(Napi::Env env);  // throws ERR_SSL_FREED when the reference was dropped

  SSL_SESSION* session_ = nullptr;
  uint32_t slot_ = UINT32_MAX;
};
