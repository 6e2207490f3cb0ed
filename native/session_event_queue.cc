#include "session_event_queue.h"

#include <openssl/err.h>

#include <cstring>

#include "openssl_error.h"
#include "ssl_session_handle.h"

SessionEventQueue::~SessionEventQueue() {
  for (const Event& e : events_)
    if (e.session != nullptr) SSL_SESSION_free(e.session);
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

void SessionEventQueue::RecordNew(SSL_SESSION* s, bool keep, bool der) {
  Event e{kNewSession, keep ? s : nullptr};
  if (der) {
    e.hasDer = true;
    e.offset = bytes_.size();
    e.idLength = s->session_id_length;
    e.timeout = s->timeout;
    int len = i2d_SSL_SESSION(s, nullptr);
    e.derLength = len > 0 ? len : -1;
    bytes_.resize(e.offset + e.idLength + (len > 0 ? static_cast<size_t>(len) : 0));
    std::memcpy(bytes_.data() + e.offset, s->session_id, e.idLength);
    if (len > 0) {
      unsigned char* p = bytes_.data() + e.offset + e.idLength;
      if (i2d_SSL_SESSION(s, &p) != len) e.derLength = -1;
    }
    ERR_clear_error();  // a failed i2d is reported as der: undefined, not through the queue
  }
  events_.push_back(e);
  Publish(events_.size());
}

Napi::Value SessionEventQueue::Take(Napi::Env env) {
  std::vector<Event> taken;
  taken.swap(events_);
  std::vector<unsigned char> bytes;
  bytes.swap(bytes_);
  Publish(0);
  Napi::Array out = Napi::Array::New(env, taken.size());
  // the two keys are made once per call and each event gets both in one
  // napi_define_properties (a flush can hand over thousands of events)
  Napi::String typeKey = Napi::String::New(env, "type");
  Napi::String sessionKey = Napi::String::New(env, "session");
  Napi::String idKey, derKey, timeoutKey;  // made on the first DER event only
  for (size_t i = 0; i < taken.size(); i++) {
    const Event& t = taken[i];
    Napi::Value h = t.session != nullptr ? SslSessionHandle::Adopt(env, t.session) : env.Undefined();
    if (env.IsExceptionPending()) {
      for (size_t j = i + 1; j < taken.size(); j++)
        if (taken[j].session != nullptr) SSL_SESSION_free(taken[j].session);
      return env.Undefined();
    }
    Napi::Object event = Napi::Object::New(env);
    napi_property_descriptor fields[] = {
        {nullptr, typeKey, nullptr, nullptr, nullptr, Napi::Number::New(env, t.type), napi_default_jsproperty, nullptr},
        {nullptr, sessionKey, nullptr, nullptr, nullptr, h, napi_default_jsproperty, nullptr},
        {}, {}, {},
    };
    size_t n = 2;
    if (t.hasDer) {
      if (idKey.IsEmpty()) {
        idKey = Napi::String::New(env, "id");
        derKey = Napi::String::New(env, "der");
        timeoutKey = Napi::String::New(env, "timeout");
      }
      const unsigned char* base = bytes.data() + t.offset;
      Napi::Value id = Napi::Buffer<unsigned char>::Copy(env, base, t.idLength);
      Napi::Value der = t.derLength > 0 ? Napi::Value(Napi::Buffer<unsigned char>::Copy(env, base + t.idLength, static_cast<size_t>(t.derLength)))
                                        : env.Undefined();
      if (env.IsExceptionPending() || id.IsEmpty() || der.IsEmpty()) {
        for (size_t j = i + 1; j < taken.size(); j++)
          if (taken[j].session != nullptr) SSL_SESSION_free(taken[j].session);
        return env.Undefined();
      }
      fields[n++] = {nullptr, idKey, nullptr, nullptr, nullptr, id, napi_default_jsproperty, nullptr};
      fields[n++] = {nullptr, derKey, nullptr, nullptr, nullptr, der, napi_default_jsproperty, nullptr};
      fields[n++] = {nullptr, timeoutKey, nullptr, nullptr, nullptr, Napi::Number::New(env, static_cast<double>(t.timeout)),
                     napi_default_jsproperty, nullptr};
    }
    napi_define_properties(env, event, n, fields);
    out.Set(static_cast<uint32_t>(i), event);
  }
  return out;
}

void SessionEventQueue::Discard() {
  for (const Event& e : events_)
    if (e.session != nullptr) SSL_SESSION_free(e.session);
  events_.clear();
  bytes_.clear();
  Publish(0);
}
