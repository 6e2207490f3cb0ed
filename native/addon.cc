// Module entry: per-environment state, the handle classes, and library facts.
#include <napi.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>

#include "addon_data.h"
#include "arguments.h"
#include "binding_constants.h"
#include "error_codes.h"
#include "handshake.h"
#include "openssl_clock.h"
#include "x509_generator.h"
#include "openssl_runtime.h"
#include "ssl_context_handle.h"
#include "ssl_session_handle.h"
#include "tls_connection.h"
#include "native_listener.h"

#if (OPENSSL_VERSION_NUMBER >> 12) != 0x10002
#error "openssl-session-cache must be compiled against OpenSSL 1.0.2 headers only"
#endif

namespace {

void RandomTag(napi_type_tag* tag) {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(tag), sizeof *tag) != 1) {
    // fall back to the address of the per-env data: still unique per load
    tag->lower = reinterpret_cast<uintptr_t>(tag);
    tag->upper = 0x6f70656e73736c31ULL;
  }
}

// setup({ OpenSSLError }): lib/ hands over the error class native code throws.
Napi::Value JS_setup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_ARGUMENTS(info, "setup(options)", K::kObject);
  Napi::Value ctor = info[0].As<Napi::Object>().Get("OpenSSLError");
  if (!ctor.IsFunction()) {
    Napi::TypeError::New(env, "setup: OpenSSLError must be a class").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  AddonData* d = AddonData::Of(env);
  d->errorConstructor = Napi::Persistent(ctor.As<Napi::Function>());
  Napi::Object o = info[0].As<Napi::Object>();
  auto keep = [&](const char* name, Napi::FunctionReference& slot) {
    Napi::Value v = o.Get(name);
    if (v.IsFunction()) slot = Napi::Persistent(v.As<Napi::Function>());
  };
  keep("Error", d->plainError);
  keep("TypeError", d->typeError);
  keep("RangeError", d->rangeError);
  return env.Undefined();
}

// errorQueueDepth(): entries left on this thread's OpenSSL error queue (tests use it).
Napi::Value JS_errorQueueDepth(const Napi::CallbackInfo& info) {
  // ERR_peek_error_line_data does not consume; count by walking a copy is not possible,
  // so report 1 when anything is queued and 0 when the queue is empty.
  return Napi::Number::New(info.Env(), ERR_peek_error() != 0 ? 1 : 0);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  openssl_runtime::EnsureInitialised();
  AddonData* data = new AddonData();
  RandomTag(&data->sessionTag);
  RandomTag(&data->contextTag);
  env.SetInstanceData<AddonData>(data);

  Napi::Function session = SslSessionHandle::Define(env);
  Napi::Function context = SslContextHandle::Define(env);
  data->sessionConstructor = Napi::Persistent(session);
  data->contextConstructor = Napi::Persistent(context);

  exports.Set("SslSessionHandle", session);
  exports.Set("SslContextHandle", context);
  exports.Set("TlsConnection", TlsConnection::Define(env));
  exports.Set("NativeListener", NativeListener::Define(env));
  exports.Set("setup", Napi::Function::New<JS_setup>(env, "setup"));
  exports.Set("errorQueueDepth", Napi::Function::New<JS_errorQueueDepth>(env, "errorQueueDepth"));
  exports.Set("handshake", Napi::Function::New<handshake::JS_handshake>(env, "handshake"));
  exports.Set("generateSelfSigned", Napi::Function::New<x509_generator::JS_generateSelfSigned>(env, "generateSelfSigned"));
  exports.Set("setClock", Napi::Function::New<openssl_clock::JS_setClock>(env, "setClock"));
  exports.Set("constants", binding_constants::Make(env));
  exports.Set("errorCodes", error_codes::Make(env));
  exports.Set("version", Napi::String::New(env, SSLeay_version(SSLEAY_VERSION)));
  exports.Set("versionNumber", Napi::Number::New(env, static_cast<double>(SSLeay())));
  exports.Set("headerVersionNumber", Napi::Number::New(env, static_cast<double>(OPENSSL_VERSION_NUMBER)));
  return exports;
}

}  // namespace

NODE_API_MODULE(openssl_session_cache, Init)
