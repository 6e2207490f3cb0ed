#include "openssl_error.h"

#include <openssl/err.h>

#include <string>

#include "addon_data.h"

namespace openssl_error {

void Throw(Napi::Env env, const char* what, const char* fallbackCode) {
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
    Napi::Error::New(env, message).ThrowAsJavaScriptException();
    return;
  }
  Napi::Object err = d->errorConstructor.New(
      {Napi::String::New(env, message), list, Napi::String::New(env, fallbackCode)});
  if (!env.IsExceptionPending()) Napi::Error(env, err).ThrowAsJavaScriptException();
}

void ThrowCoded(Napi::Env env, const char* code, const char* message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

void ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
}

void ThrowRange(Napi::Env env, const char* message) {
  Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
}

}  // namespace openssl_error

ErrorQueueGuard::ErrorQueueGuard() { ERR_clear_error(); }
ErrorQueueGuard::~ErrorQueueGuard() { ERR_clear_error(); }
