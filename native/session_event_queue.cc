#include "session_event_queue.h"

#include "openssl_error.h"
#include "ssl_session_handle.h"

SessionEventQueue::~SessionEventQueue() {
  for (const Event& e : events_) SSL_SESSION_free(e.session);
}

bool SessionEventQueue::AttachState(Napi::Env env, Napi::Value state) {
  bool isTyped = false;
  if (!state.IsEmpty()) napi_is_typedarray(env, state, &isTyped);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  size_t offset = 0;
  bool plainArrayBuffer = true;
  if (isTyped && napi_get_typedarray_info(env, state, &type, &length, &data, &buffer, &offset) == napi_ok &&
      type == napi_uint32_array && length >= 1 && data != nullptr) {
    // a typed array over an ArrayBuffer could be detached by a transfer: only a
    // SharedArrayBuffer (the one backing napi_is_arraybuffer rejects) is accepted
    napi_is_arraybuffer(env, buffer, &plainArrayBuffer);
  }
  if (!isTyped || plainArrayBuffer || data == nullptr || type != napi_uint32_array || length < 1) {
    openssl_error::ThrowType(env, "state must be a Uint32Array over a SharedArrayBuffer");
    return false;
  }
  stateRef_ = Napi::Reference<Napi::Value>::New(state, 1);
  state_ = static_cast<uint32_t*>(data);
  Publish(events_.size());
  return true;
}

void SessionEventQueue::Record(Type type, SSL_SESSION* s) {
  events_.push_back({type, s});
  Publish(events_.size());
}

Napi::Value SessionEventQueue::Take(Napi::Env env) {
  std::vector<Event> taken;
  taken.swap(events_);
  Publish(0);
  Napi::Array out = Napi::Array::New(env, taken.size());
  // the two keys are made once per call and each event gets both in one
  // napi_define_properties (a flush can hand over thousands of events)
  Napi::String typeKey = Napi::String::New(env, "type");
  Napi::String sessionKey = Napi::String::New(env, "session");
  for (size_t i = 0; i < taken.size(); i++) {
    Napi::Value h = SslSessionHandle::Adopt(env, taken[i].session);
    if (env.IsExceptionPending()) {
      for (size_t j = i + 1; j < taken.size(); j++) SSL_SESSION_free(taken[j].session);
      return env.Undefined();
    }
    Napi::Object event = Napi::Object::New(env);
    const napi_property_descriptor fields[] = {
        {nullptr, typeKey, nullptr, nullptr, nullptr, Napi::Number::New(env, taken[i].type), napi_default_jsproperty, nullptr},
        {nullptr, sessionKey, nullptr, nullptr, nullptr, h, napi_default_jsproperty, nullptr},
    };
    napi_define_properties(env, event, 2, fields);
    out.Set(static_cast<uint32_t>(i), event);
  }
  return out;
}

void SessionEventQueue::Discard() {
  for (const Event& e : events_) SSL_SESSION_free(e.session);
  events_.clear();
  Publish(0);
}
