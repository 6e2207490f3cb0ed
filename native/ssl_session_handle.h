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

 private:
  static Napi::Value JS_create(const Napi::CallbackInfo& info);
  static Napi::Value JS_fromDER(const Napi::CallbackInfo& info);
  static Napi::Value JS_fromPEM(const Napi::CallbackInfo& info);

  Napi::Value JS_toDER(const Napi::CallbackInfo& info);
  Napi::Value JS_toPEM(const Napi::CallbackInfo& info);
  Napi::Value JS_toText(const Napi::CallbackInfo& info);
  Napi::Value JS_id(const Napi::CallbackInfo& info);
  Napi::Value JS_idContext(const Napi::CallbackInfo& info);
  Napi::Value JS_setIdContext(const Napi::CallbackInfo& info);
  Napi::Value JS_time(const Napi::CallbackInfo& info);
  Napi::Value JS_setTime(const Napi::CallbackInfo& info);
  Napi::Value JS_timeout(const Napi::CallbackInfo& info);
  Napi::Value JS_setTimeout(const Napi::CallbackInfo& info);
  Napi::Value JS_version(const Napi::CallbackInfo& info);
  Napi::Value JS_cipher(const Napi::CallbackInfo& info);
  Napi::Value JS_notResumable(const Napi::CallbackInfo& info);
  Napi::Value JS_references(const Napi::CallbackInfo& info);
  Napi::Value JS_same(const Napi::CallbackInfo& info);
  Napi::Value JS_serial(const Napi::CallbackInfo& info);
  Napi::Value JS_free(const Napi::CallbackInfo& info);
  Napi::Value JS_freed(const Napi::CallbackInfo& info);

  bool Live(Napi::Env env);  // throws ERR_SSL_FREED when the reference was dropped

  SSL_SESSION* session_ = nullptr;
};
