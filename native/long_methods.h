// Table-driven JS methods that read or set one `long` of an OpenSSL object (the
// SSL_CTX_get/set_* and SSL_SESSION_get/set_* pairs): a table row names the JS method,
// its argument (if any) and the OpenSSL call; one handle method runs every row, so the
// "check live, check the number, call, box the long" block exists once.
#pragma once
#include <napi.h>

#include <cstddef>
#include <vector>

#include "arguments.h"

namespace long_methods {

// How the JS number becomes the C argument (as each OpenSSL call always took it).
enum class Conversion { kInt64, kUint32, kInt32 };

template <typename Object>
struct Method {
  const char* name;             // the JS method
  const char* argument;         // nullptr: no argument; else its name in "<argument> must be a number"
  long (*call)(Object*, long);  // the OpenSSL call; getters ignore the long
  Conversion conversion;
  bool returnsValue;            // false: the JS method returns undefined
};

// Runs the row `info.Data()` points at on `target`, which the caller found live.
template <typename Object>
Napi::Value Call(const Napi::CallbackInfo& info, Object* target) {
  const Method<Object>& m = *static_cast<const Method<Object>*>(info.Data());
  long argument = 0;
  if (m.argument != nullptr) {
    REQUIRE_ARGUMENT(info, 0, kNumber, m.argument);
    Napi::Number n = info[0].As<Napi::Number>();
    argument = m.conversion == Conversion::kUint32  ? static_cast<long>(n.Uint32Value())
               : m.conversion == Conversion::kInt32 ? static_cast<long>(n.Int32Value())
                                                    : static_cast<long>(n.Int64Value());
  }
  long r = m.call(target, argument);
  return m.returnsValue ? Napi::Value(Napi::Number::New(info.Env(), static_cast<double>(r))) : info.Env().Undefined();
}

// One InstanceMethod per row, each running `callback` with its row as data.
template <typename Handle, typename Object, size_t N>
void Define(std::vector<Napi::ClassPropertyDescriptor<Handle>>* properties,
            typename Napi::InstanceWrap<Handle>::InstanceMethodCallback callback, const Method<Object> (&table)[N]) {
  for (const Method<Object>& m : table) {
    properties->push_back(
        Napi::InstanceWrap<Handle>::InstanceMethod(m.name, callback, napi_default, const_cast<Method<Object>*>(&m)));
  }
}

}  // namespace long_methods
