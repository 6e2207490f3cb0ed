// SslContextHandle: one JS object owning one SSL_CTX, its callbacks and event queue.
// Teardown order and what a destructor may touch: see ssl_session_handle.h. Here: a context
// constructed while its env stops has no state buffer (state_ stays NULL, every write checks
// it); ~SslContextHandle clears eventMask_ before SSL_CTX_free, so the remove callbacks of
// that final flush record nothing, and detaches the ex_data back pointer when live SSLs keep
// the SSL_CTX, so their later callbacks find no handle.
#pragma once
#include <napi.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <vector>

class SslContextHandle : public Napi::ObjectWrap<SslContextHandle> {
 public:
  enum EventType : uint32_t { kNewSession = 1, kRemoveSession = 2 };

  static Napi::Function Define(Napi::Env env);
  // The handle behind `v`, or nullptr after throwing TypeError / ERR_SSL_FREED.
  static SslContextHandle* FromValue(Napi::Env env, Napi::Value v);
  // The handle whose `slot` property is `slot` (see SslSessionHandle::FromSlot), or
  // nullptr after throwing TypeError / ERR_SSL_FREED.
  static SslContextHandle* FromSlot(Napi::Env env, uint32_t slot);

  explicit SslContextHandle(const Napi::CallbackInfo& info);
  ~SslContextHandle() override;

  SSL_CTX* ctx() const { return ctx_; }
  // A JS exception thrown by the get callback during the last OpenSSL call, if any;
  // callers that drive handshakes rethrow it once OpenSSL has returned.
  Napi::Value TakeCallbackError(Napi::Env env);

 private:
  struct Event {
    EventType type;
    SSL_SESSION* session;  // one reference, owned by the queue until taken
  };

  static void OnRemove(SSL_CTX* ctx, SSL_SESSION* s);
  static int OnNew(SSL* ssl, SSL_SESSION* s);
  static SSL_SESSION* OnGet(SSL* ssl, unsigned char* id, int len, int* copy);
  static SslContextHandle* From(SSL_CTX* ctx);
  static int OnGenerateSessionId(const SSL* ssl, unsigned char* id, unsigned int* len);

  // Static fast paths taking slots: addSlot(ctx, session), removeSlot(ctx, session),
  // addMany(ctx, Uint32Array of session slots), removeMany(ctx, Uint32Array).
  static Napi::Value JS_addSlot(const Napi::CallbackInfo& info);
  static Napi::Value JS_removeSlot(const Napi::CallbackInfo& info);
  static Napi::Value JS_addMany(const Napi::CallbackInfo& info);
  static Napi::Value JS_removeMany(const Napi::CallbackInfo& info);
  int Add(SSL_SESSION* s);  // SSL_CTX_add_session, or -2 for a session in another cache

  Napi::Value JS_flush(const Napi::CallbackInfo& info);
  Napi::Value JS_get(const Napi::CallbackInfo& info);
  Napi::Value JS_list(const Napi::CallbackInfo& info);
  Napi::Value JS_count(const Napi::CallbackInfo& info);
  Napi::Value JS_stats(const Napi::CallbackInfo& info);
  Napi::Value JS_setMode(const Napi::CallbackInfo& info);
  Napi::Value JS_mode(const Napi::CallbackInfo& info);
  Napi::Value JS_setCacheSize(const Napi::CallbackInfo& info);
  Napi::Value JS_cacheSize(const Napi::CallbackInfo& info);
  Napi::Value JS_setTimeout(const Napi::CallbackInfo& info);
  Napi::Value JS_timeout(const Napi::CallbackInfo& info);
  Napi::Value JS_setSessionIdContext(const Napi::CallbackInfo& info);
  Napi::Value JS_setOptions(const Napi::CallbackInfo& info);
  Napi::Value JS_clearOptions(const Napi::CallbackInfo& info);
  Napi::Value JS_useCertificate(const Napi::CallbackInfo& info);
  Napi::Value JS_usePrivateKey(const Napi::CallbackInfo& info);
  Napi::Value JS_setCipherList(const Napi::CallbackInfo& info);
  Napi::Value JS_addCaCertificates(const Napi::CallbackInfo& info);
  Napi::Value JS_setVerify(const Napi::CallbackInfo& info);
  Napi::Value JS_setNextSessionId(const Napi::CallbackInfo& info);
  Napi::Value JS_setGetCallback(const Napi::CallbackInfo& info);
  Napi::Value JS_setEventMask(const Napi::CallbackInfo& info);
  Napi::Value JS_takeEvents(const Napi::CallbackInfo& info);
  Napi::Value JS_discardEvents(const Napi::CallbackInfo& info);
  Napi::Value JS_takeCallbackError(const Napi::CallbackInfo& info);
  Napi::Value JS_stateBuffer(const Napi::CallbackInfo& info);
  Napi::Value JS_free(const Napi::CallbackInfo& info);
  Napi::Value JS_freed(const Napi::CallbackInfo& info);

  bool Live(Napi::Env env);
  void Record(EventType type, SSL_SESSION* s);
  void DiscardEvents();
  void FreeContext();

  SSL_CTX* ctx_ = nullptr;
  uint32_t slot_ = UINT32_MAX;
  Napi::Env env_;
  uint32_t eventMask_ = 0;
  std::vector<Event> events_;
  Napi::Reference<Napi::ArrayBuffer> stateRef_;
  uint32_t* state_ = nullptr;  // state_[0]: queued events, readable from JS without a call
  Napi::FunctionReference getCallback_;
  Napi::Reference<Napi::Value> callbackError_;
  std::vector<unsigned char> nextSessionId_;  // the id the next new session gets (conformance runs)
};
