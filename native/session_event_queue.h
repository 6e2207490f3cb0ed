// SessionEventQueue: the new / remove session events one SslContextHandle's OpenSSL
// callbacks recorded, kept until lib/ takes them after the OpenSSL call has returned.
//
// A new-session event carries what its consumers asked for (the mask): the session itself
// (kNewSession: the queue keeps a reference, handed to JS as a handle), its DER
// (kNewSessionDer: i2d_SSL_SESSION inside the callback, with the id and timeout, for the
// session stores and node:tls's 'newSession'), or both. A DER-only event keeps no reference,
// so no handle and no SslSession are made for it.
//
// OpenSSL 1.0.2 runs the remove callback with CRYPTO_LOCK_SSL_CTX held, so recording
// must not run JS: Record() only appends. A small Uint32Array shared with lib/ holds the
// number of queued events (state[0]), so JS learns "nothing to take" without a call.
// Its memory is a SharedArrayBuffer that lib/ creates and native code keeps referenced:
// unlike an ArrayBuffer it can be neither transferred nor detached, so the pointer native
// code writes through stays valid whatever user code does with any object it can reach.
#pragma once
#include <napi.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <vector>

class SessionEventQueue {
 public:
  // also the bits of the mask (setEventMask) and the `type` lib/ receives
  enum Type : uint32_t {
    kNewSession = 1,
    kRemoveSession = 2,
    kNewSessionDer = 4,  // mask bit only: new-session events carry { id, der, timeout }
    kEvicted = 0x100,    // flag on a kRemoveSession event: SSL_CTX_add_session evicted it
  };

  SessionEventQueue() = default;
  ~SessionEventQueue();  // drops the references of events never taken
  SessionEventQueue(const SessionEventQueue&) = delete;
  SessionEventQueue& operator=(const SessionEventQueue&) = delete;

  // Takes the Uint32Array (length >= 1) over a SharedArrayBuffer that lib/ passed, once,
  // when the context exists; false after throwing TypeError for anything else.
  bool AttachState(Napi::Env env, Napi::Value state);

  void SetMask(uint32_t mask) { mask_ = mask; }
  bool Wants(Type type) const { return (mask_ & type) != 0; }

  // Called from OpenSSL callbacks, possibly under its lock: no JS. Takes over one
  // reference to `s`.
  void Record(Type type, SSL_SESSION* s);
  // The new callback's event (no JS): the reference to `s` is taken over when `keep`
  // (kNewSession wanted), else the caller keeps it; with `der` (kNewSessionDer wanted) the
  // session is serialized now, its id and timeout copied.
  void RecordNew(SSL_SESSION* s, bool keep, bool der);
  // [{ type, session, id?, der?, timeout? }, ...] in OpenSSL's order: `session` a new
  // SslSessionHandle holding the queue's reference (undefined for a DER-only event); a
  // new-session event recorded with DER has `id`, `der` (undefined when i2d_SSL_SESSION
  // failed) and `timeout`. Undefined after an exception.
  Napi::Value Take(Napi::Env env);
  // Drops every queued event and its reference.
  void Discard();

 private:
  struct Event {
    Type type;
    SSL_SESSION* session;  // one reference, owned by the queue until taken; may be null
    // with DER: id then DER in bytes_ from `offset`; derLength -1 when i2d failed
    size_t offset = 0;
    unsigned idLength = 0;
    int derLength = 0;
    long timeout = 0;
    bool hasDer = false;
  };

  void Publish(size_t n) {
    if (state_ != nullptr) state_[0] = static_cast<uint32_t>(n);
  }

  uint32_t mask_ = 0;
  std::vector<Event> events_;
  std::vector<unsigned char> bytes_;  // the ids and DER of the queued events, reused
  Napi::Reference<Napi::Value> stateRef_;  // keeps the SharedArrayBuffer alive
  uint32_t* state_ = nullptr;  // state_[0]: queued events, readable from JS without a call
};
