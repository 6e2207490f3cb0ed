// Unwrapping a JS object into the native handle it wraps, only when it carries the handle
// class's type tag (AddonData: random per load), so a plain object, another class's
// handle or a handle of another addon copy never reaches C++ as this class. The models
// are better-sqlite3's UNWRAP-style macros; the code is this project's.
#pragma once
#include <napi.h>

#include "openssl_error.h"

namespace tagged_handle {

// The T behind `v` when `v` is an object tagged `tag`; nullptr after throwing TypeError
// `expected` otherwise. Whether the handle is still live is the caller's check.
template <typename T>
T* Unwrap(Napi::Env env, Napi::Value v, const napi_type_tag* tag, const char* expected) {
  bool tagged = false;
  if (!v.IsEmpty() && v.IsObject()) napi_check_object_type_tag(env, v, tag, &tagged);
  if (!tagged) {
    openssl_error::ThrowType(env, expected);
    return nullptr;
  }
  return Napi::ObjectWrap<T>::Unwrap(v.As<Napi::Object>());
}

}  // namespace tagged_handle

// `Type* var` = the live handle behind `value` (Type::FromValue: tag, unwrap, liveness);
// returns undefined from the calling JS method when FromValue threw.
#define UNWRAP_OR_RETURN(Type, var, env, value)    \
  Type* var = Type::FromValue((env), (value));     \
  if (var == nullptr) return (env).Undefined()
