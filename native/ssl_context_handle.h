// SslContextHandle: one JS object owning one SSL_CTX, its callbacks and event queue.
//
// Ownership: lib/ owns the native reference. SslContext registers the handle with the
// FinalizationRegistry of lib/openssl/lifetimes.ts and drops the SSL_CTX through free() (called
// by SslContext.free() or by the registry once the SslContext is collected); the handle
// object itself only lives as long as JS references it. The C++ destructor is the safety
// net for environment teardown (worker exit, process exit) when free() never ran: it
// gives back the slot, frees the SSL_CTX with events muted and drops queued events.
//
// The code is split by concern:
//   ssl_context_handle.cc     construction, lifetime, slots, cache calls (add/remove/
//                             get/list/flush/stats, the cache getters and setters)
//   ssl_context_config.cc     certificates, keys, ciphers, verify, options, id context
//   ssl_context_callbacks.cc  OpenSSL's new / remove / get / generate-id callbacks and
//                             the JS side of the events they record
//   ssl_context_tickets.cc    session-ticket keys and the ticket key callback
//   session_event_queue.*     the event queue itself
//
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

#include "session_event_queue.h"
#include "ticket_keys.h"

class SslContextHandle : public Napi::ObjectWrap<SslContextHandle> {
 public:
  // What addSlot / addDER return besides SSL_CTX_add_session's own 0 / 1 (exported to lib
  // as constants.ADD_*, native/binding_constants.cc)
  enum AddResult : int {
    kAddInOtherContext = -2,  // the session sits in another context's cache: not added
    kAddOtherId = -3,         // addDER: the DER's session has another id: not added
    kAddUndecodable = -4,     // addDER: not a session fromDER accepts: not added
  };

  static Napi::Function Define(Napi::Env env);
  // The handle behind `v`, or nullptr after throwing TypeError / ERR_SSL_FREED.
  static SslContextHandle* FromValue(Napi::Env env, Napi::Value v);
  // The handle whose `slot` property is `slot` (see slot_table.h), or nullptr after
  // throwing TypeError / ERR_SSL_FREED.
  static SslContextHandle* FromSlot(Napi::Env env, uint32_t slot);

  explicit SslContextHandle(const Napi::CallbackInfo& info);
  ~SslContextHandle() override;

  SSL_CTX* ctx() const { return ctx_; }
  // A JS exception thrown by the get callback during the last OpenSSL call, if any;
  // callers that drive handshakes rethrow it once OpenSSL has returned.
  Napi::Value TakeCallbackError(Napi::Env env);

 private:
  // ssl_context_handle.cc ------------------------------------------------------------
  // Static fast paths taking slots: addSlot(ctx, session), removeSlot(ctx, session),
  // addMany(ctx, Uint32Array of session slots), removeMany(ctx, Uint32Array).
  static Napi::Value JS_addSlot(const Napi::CallbackInfo& info);
  static Napi::Value JS_removeSlot(const Napi::CallbackInfo& info);
  static Napi::Value JS_addMany(const Napi::CallbackInfo& info);
  static Napi::Value JS_removeMany(const Napi::CallbackInfo& info);
  int Add(SSL_SESSION* s);  // SSL_CTX_add_session, or kAddInOtherContext
  // the cached session with this id and protocol (a reference taken when asked), or nullptr
  SSL_SESSION* Find(const uint8_t* id, size_t length, int version, bool reference);
  // addDER(id, der): a store's bytes into the cache without a session handle
  Napi::Value JS_addDER(const Napi::CallbackInfo& info);
  // removeId(id, version): SSL_CTX_remove_session of the cached session with this id and
  // protocol, found and removed without a session handle
  Napi::Value JS_removeId(const Napi::CallbackInfo& info);

  Napi::Value JS_get(const Napi::CallbackInfo& info);
  Napi::Value JS_list(const Napi::CallbackInfo& info);
  Napi::Value JS_stats(const Napi::CallbackInfo& info);
  // the rows of a long_methods table: count, flush, (set)mode, (set)cacheSize,
  // (set)timeout here; setOptions, clearOptions, setVerify in ssl_context_config.cc
  Napi::Value JS_longMethod(const Napi::CallbackInfo& info);
  Napi::Value JS_free(const Napi::CallbackInfo& info);
  Napi::Value JS_freed(const Napi::CallbackInfo& info);

  bool Live(Napi::Env env);
  void FreeContext();

  // ssl_context_config.cc -------------------------------------------------------------
  static void DefineConfigMethods(std::vector<PropertyDescriptor>* properties);
  Napi::Value JS_setSessionIdContext(const Napi::CallbackInfo& info);
  Napi::Value JS_useCertificate(const Napi::CallbackInfo& info);
  Napi::Value JS_usePrivateKey(const Napi::CallbackInfo& info);
  Napi::Value JS_setCipherList(const Napi::CallbackInfo& info);
  Napi::Value JS_addCaCertificates(const Napi::CallbackInfo& info);
  Napi::Value JS_addCrl(const Napi::CallbackInfo& info);
  Napi::Value JS_setCurves(const Napi::CallbackInfo& info);
  Napi::Value JS_setDhParams(const Napi::CallbackInfo& info);
  Napi::Value JS_setSigalgs(const Napi::CallbackInfo& info);
  Napi::Value JS_usePkcs12(const Napi::CallbackInfo& info);

  // session_identity.cc (identity keys) ----------------------------------------------
  static void DefineIdentityMethods(std::vector<PropertyDescriptor>* properties);
  static Napi::Value JS_findSlot(const Napi::CallbackInfo& info);  // findSlot(ctxSlot, id, version)
  Napi::Value JS_listKeys(const Napi::CallbackInfo& info);
  Napi::Value JS_listSome(const Napi::CallbackInfo& info);

  // ssl_context_callbacks.cc ----------------------------------------------------------
  static void DefineCallbackMethods(std::vector<PropertyDescriptor>* properties);
  static SslContextHandle* From(SSL_CTX* ctx);
  static void OnRemove(SSL_CTX* ctx, SSL_SESSION* s);
  static int OnNew(SSL* ssl, SSL_SESSION* s);
  static SSL_SESSION* OnGet(SSL* ssl, unsigned char* id, int len, int* copy);
  static int OnGenerateSessionId(const SSL* ssl, unsigned char* id, unsigned int* len);
  void KeepCallbackError(Napi::Value error);  // the first one of an OpenSSL call wins
  Napi::Value JS_setNextSessionId(const Napi::CallbackInfo& info);
  Napi::Value JS_setGetCallback(const Napi::CallbackInfo& info);
  Napi::Value JS_setEventMask(const Napi::CallbackInfo& info);
  Napi::Value JS_takeEvents(const Napi::CallbackInfo& info);
  Napi::Value JS_discardEvents(const Napi::CallbackInfo& info);
  Napi::Value JS_takeCallbackError(const Napi::CallbackInfo& info);

  // ssl_context_tickets.cc ------------------------------------------------------------
  static void DefineTicketMethods(std::vector<PropertyDescriptor>* properties);
  static int OnTicketKey(SSL* s, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, int enc);
  Napi::Value JS_setTicketKeys(const Napi::CallbackInfo& info);
  Napi::Value JS_getTicketKeys(const Napi::CallbackInfo& info);
  Napi::Value JS_ticketKeyStats(const Napi::CallbackInfo& info);

  SSL_CTX* ctx_ = nullptr;
  uint32_t slot_ = UINT32_MAX;
  Napi::Env env_;
  SessionEventQueue events_;
  Napi::FunctionReference getCallback_;
  Napi::Reference<Napi::Value> callbackError_;
  TicketKeys ticketKeys_;  // empty until setTicketKeys installs the ticket key callback
  std::vector<unsigned char> nextSessionId_;  // the id the next new session gets (conformance runs)
};
