// The native listener's hooks for session stores and node:tls's session events
// (lib/tls/native_store.ts): the ClientHello hand-off turned on for the store prefetch
// (the store's answer is added to the context before OpenSSL reads the hello, as on the
// Node-socket path), and the hold of a full handshake's last flight while 'newSession'
// listeners have not called back.
#include "native_listener.h"

// storeHooks(hello, holdSteps): with `hello`, every ClientHello is handed to JS (kHello) before
// OpenSSL reads it (only turned on: an SNICallback may need it too); with `holdSteps`, each
// full handshake reports kStep before its last flight is sent. Applies to connections
// accepted from now on (holdSteps: to handshakes that finish from now on).
Napi::Value NativeListener::JS_storeHooks(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].ToBoolean().Value()) helloToJs_ = storeHello_ = true;
  holdSteps_ = info.Length() > 1 && info[1].ToBoolean().Value();
  return info.Env().Undefined();
}

// kStep (id): JS settles the handshake's session events; true holds the step until release(id)
bool NativeListener::HoldStep(uint32_t id) {
  Napi::Value held;
  Emit({Napi::Number::New(env_, kStep), Napi::Number::New(env_, id)}, &held);
  return !held.IsEmpty() && held.ToBoolean().Value();
}

// release(id): the held last flight goes out, then kSecure; nothing for a connection that is
// gone (closed, timed out) or not held
Napi::Value NativeListener::JS_release(const Napi::CallbackInfo& info) {
  Conn* c = Find(info);
  if (c != nullptr) ResumeStep(c);
  return info.Env().Undefined();
}
