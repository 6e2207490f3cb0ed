#include "session_event_queue.h"

#include "ssl_session_handle.h"

SessionEventQueue::~SessionEventQueue() {
  for (const Event& e : events_) SSL_SESSION_free(e.session);
}

bool SessionEventQueue::CreateState(Napi::Env env) {
  Napi::ArrayBuffer state = Napi::ArrayBuffer::New(env, sizeof(uint32_t) * 2);
  if (state.IsEmpty()) return false;  // the environment is stopping: state_ stays NULL (every write checks it)
  state_ = static_cast<uint32_t*>(state.Data());
  state_[0] = 0;
  state_[1] = 0;
  stateRef_ = Napi::Persistent(state);
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
