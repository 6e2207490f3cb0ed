#include "openssl_clock.h"

#include <cstdint>

#include "arguments.h"

extern "C" int64_t openssl_clock_pinned;  // defined in openssl_clock_time.c

namespace openssl_clock {
Napi::Value JS_setClock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (arguments::Given(info, 0, arguments::Kind::kNumber)) {
    __atomic_store_n(&openssl_clock_pinned, info[0].As<Napi::Number>().Int64Value(), __ATOMIC_RELAXED);
  } else if (info.Length() == 0 || info[0].IsUndefined()) {
    __atomic_store_n(&openssl_clock_pinned, INT64_MIN, __ATOMIC_RELAXED);
  } else {
    // thrown in the addon's realm, as it always was (lib/ validates before calling)
    Napi::TypeError::New(env, "setClock(seconds | undefined)").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}
}  // namespace openssl_clock
