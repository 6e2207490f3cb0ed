#include "session_event_queue.h"

#include "ssl_session_handle.h"

SessionEventQueue::~SessionEventQueue() {
  for (const Event& e : events_) SSL_SESSION_free(e.session);
}

void SessionEventQueue::CreateState(Napi::Env env) {
  Napi::ArrayBuffer state = Napi::ArrayBuffer::New(env, sizeof(uint32_t) * 2);
  state_ = static_cast<uint32_t*>(state.Data());
  state_[0] = 0;
  state_[1] = 0;
  stateRef_ = Napi::Persistent(state);
}

void SessionEventQueue::Record(Type type, SSL_SESSION* s) {
  events_.push_back({type, s});
  Publish(events_.size());
}

Napi::Value SessionEventQueue::Take(Napi::Env env) {
  std::vector<Event> taken;
  taken.swap(events_);
  Publish(0);
  Napi::Array out = Napi::Array::New(env, taken.size() * 2);
  for (size_t i = 0; i < taken.size(); i++) {
    Napi::Value h = SslSessionHandle::Adopt(env, taken[i].session);
    if (env.IsExceptionPending()) {
      for (size_t j = i + 1; j < taken.size(); j++) SSL_SESSION_free(taken[j].session);
      return env.Undefined();
    }
    out.Set(static_cast<uint32_t>(2 * i), Napi::Number::New(env, taken[i].type));
    out.Set(static_cast<uint32_t>(2 * i + 1), h);
  }
  return out;
}

void SessionEventQueue::Discard() {
  for (const Event& e : events_) SSL_SESSION_free(e.session);
  events_.clear();
  Publish(0);
}
