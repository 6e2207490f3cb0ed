#include "openssl_error.h"

#include <openssl/err.h>

#include <string>

#include "addon_data.h"

namespace openssl_error {

Napi::Value Make(Napi::Env env, const char* what, const char* fallbackCode) {
  Napi::Array list = Napi::Array::New(env);
  std::string first;
  unsigned long code;
  const char* file;
  int line;
  const char* data;
  int flags;
  uint32_t i = 0;
  while ((code = ERR_get_error_line_data(&file, &line, &data, &flags)) != 0) {
    Napi::Object e = Napi::Object::New(env);
    const char* lib = ERR_lib_error_string(code);
    const char* fn = ERR_func_error_string(code);
    const char* reason = ERR_reason_error_string(code);
    e.Set("library", lib ? Napi::Value(Napi::String::New(env, lib)) : env.Null());
    e.Set("function", fn ? Napi::Value(Napi::String::New(env, fn)) : env.Null());
    e.Set("reason", reason ? Napi::Value(Napi::String::New(env, reason)) : env.Null());
    e.Set("code", Napi::Number::New(env, static_cast<double>(code)));
    if ((flags & ERR_TXT_STRING) && data && *data) e.Set("data", Napi::String::New(env, data));
    list.Set(i++, e);
    if (first.empty() && reason) first = reason;
  }
  std::string message = what;
  if (!first.empty())
    message += ": " + first;
  else if (message.find(": ") == std::string::npos)
    message += " failed";
  AddonData* d = AddonData::Of(env);
  if (d == nullptr || d->errorConstructor.IsEmpty()) {
    Napi::Error e = Napi::Error::New(env, message);
    e.Set("code", Napi::String::New(env, fallbackCode));
    e.Set("opensslErrors", list);
    return e.Value();
  }
  Napi::Object err = d->errorConstructor.New(
      {Napi::String::New(env, message), list, Napi::String::New(env, fallbackCode)});
  if (env.IsExceptionPending()) return env.Undefined();
  return err;
}

void Throw(Napi::Env env, const char* what, const char* fallbackCode) {
  Napi::Value e = Make(env, what, fallbackCode);
  if (!env.IsExceptionPending()) Napi::Error(env, e).ThrowAsJavaScriptException();
}

namespace {
// Throws `new cls(message)` from lib's realm when setup() provided the class, else the
// addon realm's own error.
void ThrowOf(Napi::Env env, Napi::FunctionReference& cls, napi_status (*fallback)(napi_env, const char*, const char*),
             const char* code, const char* message) {
  if (!cls.IsEmpty()) {
    Napi::Object e = cls.New({Napi::String::New(env, message)});
    if (env.IsExceptionPending()) return;
    if (code != nullptr) e.Set("code", Napi::String::New(env, code));
    Napi::Error(env, e).ThrowAsJavaScriptException();
    return;
  }
  fallback(env, code, message);
}
}  // namespace

Napi::Value MakeCoded(Napi::Env env, const char* code, const char* message) {
  AddonData* d = AddonData::Of(env);
  Napi::Object e = !d->plainError.IsEmpty() ? d->plainError.New({Napi::String::New(env, message)})
                                            : Napi::Error::New(env, message).Value();
  if (env.IsExceptionPending()) return env.Undefined();
  e.Set("code", Napi::String::New(env, code));
  return e;
}

void ThrowCoded(Napi::Env env, const char* code, const char* message) {
  ThrowOf(env, AddonData::Of(env)->plainError, napi_throw_error, code, message);
}

void ThrowType(Napi::Env env, const char* message) {
  ThrowOf(env, AddonData::Of(env)->typeError, napi_throw_type_error, nullptr, message);
}

void ThrowRange(Napi::Env env, const char* message) {
  ThrowOf(env, AddonData::Of(env)->rangeError, napi_throw_range_error, nullptr, message);
}

void ThrowRangeCoded(Napi::Env env, const char* code, const char* message) {
  ThrowOf(env, AddonData::Of(env)->rangeError, napi_throw_range_error, code, message);
}

}  // namespace openssl_error

ErrorQueueGuard::ErrorQueueGuard() { ERR_clear_error(); }
ErrorQueueGuard::~ErrorQueueGuard() { ERR_clear_error(); }
