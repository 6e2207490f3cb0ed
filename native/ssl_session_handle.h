// SslSessionHandle: one JS object owning exactly one reference to an SSL_SESSION.
//
// Ownership: lib/ owns the native reference. SslSession registers the handle with the
// FinalizationRegistry of lib/openssl/lifetimes.ts and drops the reference through free()
// (called by SslSession.free() or by the registry once the SslSession is collected).
// The C++ destructor is the safety net for environment teardown (worker exit, process
// exit) when free() never ran: it gives back the slot and drops the reference if the
// handle still holds it. Nothing else frees session_.
//
// Teardown of an environment (a worker ending or being terminated), in this order; the
// handles of native/ rely on it:
//  1. worker.terminate() (another thread) makes the env stop: from then on every Node-API
//     call that needs JS (creating a Buffer, ArrayBuffer, object, handle) fails and returns
//     an empty value, with nothing thrown (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS), while
//     the native call already running goes on until it returns to JS. So native code never
//     uses the memory of a value it created without checking IsEmpty() first (toDER once
//     wrote a session through the NULL Data() of such a Buffer: a SIGSEGV when a busy worker
//     was terminated).
//  2. JS stops at its next interrupt check; no JS of this env runs again.
//  3. On the env's own thread, Node-API finalizes every wrapped object (these destructors,
//     ~SslContextHandle, ~TlsConnection; in no defined order), then deletes AddonData.
//     A destructor may touch: its own OpenSSL objects, and this thread's slot table (still
//     alive: thread_local storage goes only when the thread exits, after the env). It must
//     not touch AddonData or call into JS; the OpenSSL callbacks its frees trigger reach a
//     context handle only through the SSL_CTX back pointer, cleared before that handle goes.
//  4. The isolate is disposed, then the thread exits and its thread_local tables go.
#pragma once
#include <napi.h>
#include <openssl/ssl.h>

// The identity key of a session: its address as a number (native/session_identity.cc).
double SessionKey(const SSL_SESSION* s);

class SslSessionHandle : public Napi::ObjectWrap<SslSessionHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  // Wraps `s`, taking over one reference the caller already holds.
  static Napi::Value Adopt(Napi::Env env, SSL_SESSION* s);
  // The handle behind `v`, or nullptr after throwing TypeError (wrong object) or
  // ERR_SSL_FREED (freed handle).
  static SslSessionHandle* FromValue(Napi::Env env, Napi::Value v);

  explicit SslSessionHandle(const Napi::CallbackInfo& info);
  ~SslSessionHandle() override;

  SSL_SESSION* session() const { return session_; }

  // Fast path for hot calls (bench B1, see slot_table.h): every handle gets a slot,
  // readable from JS as handle.slot(). nullptr after throwing TypeError (no such
  // handle) or ERR_SSL_FREED.
  static SslSessionHandle* FromSlot(Napi::Env env, uint32_t slot);
  static SslSessionHandle* AtSlot(uint32_t slot);  // no checks beyond the table, no throw
  // FromSlot for each of slots[0..n), the sessions into out[0..n); false after the first
  // throw (the batch calls: one table access for the whole batch).
  static bool SessionsOfSlots(Napi::Env env, const uint32_t* slots, size_t n, SSL_SESSION** out);
  uint32_t slot() const { return slot_; }

 private:
  static Napi::Value JS_create(const Napi::CallbackInfo& info);
  static Napi::Value JS_fromDER(const Napi::CallbackInfo& info);
  static Napi::Value JS_fromPEM(const Napi::CallbackInfo& info);
  static Napi::Value JS_slotOf(const Napi::CallbackInfo& info);
  static Napi::Value JS_keyOf(const Napi::CallbackInfo& info);  // session_identity.cc

  Napi::Value JS_toDER(const Napi::CallbackInfo& info);
  Napi::Value JS_toDERInto(const Napi::CallbackInfo& info);
  int EncodedLength(Napi::Env env);  // i2d length, or 0 with an error thrown
  Napi::Value JS_toPEM(const Napi::CallbackInfo& info);
  Napi::Value JS_toText(const Napi::CallbackInfo& info);
  Napi::Value JS_id(const Napi::CallbackInfo& info);
  Napi::Value JS_idContext(const Napi::CallbackInfo& info);
  Napi::Value JS_setIdContext(const Napi::CallbackInfo& info);
  Napi::Value JS_longMethod(const Napi::CallbackInfo& info);  // the rows of kLongMethods
  Napi::Value JS_version(const Napi::CallbackInfo& info);
  Napi::Value JS_cipher(const Napi::CallbackInfo& info);
  Napi::Value JS_notResumable(const Napi::CallbackInfo& info);
  Napi::Value JS_references(const Napi::CallbackInfo& info);
  Napi::Value JS_same(const Napi::CallbackInfo& info);
  Napi::Value JS_serial(const Napi::CallbackInfo& info);
  Napi::Value JS_slot(const Napi::CallbackInfo& info);
  Napi::Value JS_free(const Napi::CallbackInfo& info);
  Napi::Value JS_freed(const Napi::CallbackInfo& info);
  Napi::Value JS_retain(const Napi::CallbackInfo& info);  // session_identity.cc

  bool Live(Napi::Env env);  // throws ERR_SSL_FREED when the reference was dropped

  SSL_SESSION* session_ = nullptr;
  uint32_t slot_ = UINT32_MAX;
};
