// Per-environment state of the addon (one per main thread / worker thread).
#pragma once
#include <napi.h>

struct AddonData {
  Napi::FunctionReference sessionConstructor;
  Napi::FunctionReference contextConstructor;
  Napi::FunctionReference errorConstructor;  // lib's OpenSSLError, injected by setup()
  // Error classes of lib's realm (jest and vm contexts have their own), injected by setup()
  Napi::FunctionReference plainError;
  Napi::FunctionReference typeError;
  Napi::FunctionReference rangeError;
  napi_type_tag sessionTag;                  // random per load: rejects foreign objects
  napi_type_tag contextTag;
  void* adopting = nullptr;  // set only while C++ constructs a handle around a pointer

  static AddonData* Of(Napi::Env env) { return env.GetInstanceData<AddonData>(); }
};
