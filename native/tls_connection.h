// TlsConnection: one SSL over two memory BIOs, pumped from JS (Node's TLSWrap is the
// model): ciphertext from the socket goes in, plaintext and ciphertext come out.
//
// Ownership: lib/ owns the native reference. Unlike sessions and contexts it is not
// registered with the FinalizationRegistry of lib/openssl/lifetimes.ts: the one TLSSocket
// (lib/tls/tls_socket.ts) that made it frees it through free() when the socket is destroyed.
// The members are the safety net for a connection collected unfreed and for environment
// teardown: ssl_ (SslPointer) SSL_frees (both BIOs with it) and the references release the
// context handles they kept alive.
#pragma once
#include <napi.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "openssl_pointers.h"

class TlsConnection : public Napi::ObjectWrap<TlsConnection> {
 public:
  // flags returned by cycle()/write()/shutdown()
  enum Flag : uint32_t {
    kHandshakeDone = 1,     // the handshake completed during this call
    kPeerClosed = 2,        // close_notify received
    kFailed = 4,            // fatal error; the error object is returned too
    kMorePlaintext = 8,     // the read limit was hit; call cycle() again
    kWantsMoreInput = 16,   // the handshake needs more bytes from the peer
    kRenegotiation = 32,    // with kFailed: the peer started a renegotiation (refused)
  };

  static Napi::Function Define(Napi::Env env);
  explicit TlsConnection(const Napi::CallbackInfo& info);
  ~TlsConnection() override;

  // node:tls-shaped certificate object of `cert` (also used for each chain element)
  static Napi::Object CertificateObject(Napi::Env env, X509* cert);

 private:
  friend class NativeListener;  // one servername / ALPN callback per SSL_CTX serves both kinds of connection
  Napi::Value JS_cycle(const Napi::CallbackInfo& info);
  Napi::Value JS_write(const Napi::CallbackInfo& info);
  Napi::Value JS_shutdown(const Napi::CallbackInfo& info);
  Napi::Value JS_info(const Napi::CallbackInfo& info);
  Napi::Value JS_free(const Napi::CallbackInfo& info);

  // tls_connection_features.cc: ALPN, SNI context switch, server verify mode, and query()
  // (the TLSSocket queries of ssl_queries.h, shared with the native listener). OpenSSL's
  // callbacks there answer from state recorded before the handshake and never call into JS.
  static void DefineFeatureMethods(std::vector<PropertyDescriptor>* properties);
  static TlsConnection* From(const SSL* ssl);
  // reads alpnProtocols / verifyMode / sni from the constructor options; false after throwing
  bool ConfigureFeatures(Napi::Env env, Napi::Object opts);
  static int OnServername(SSL* ssl, int* alert, void* arg);
  static int OnAlpnSelect(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                          void* arg);
  // info callback: a handshake that starts after the first one finished is a renegotiation
  // (either side's); it is recorded here and the pump fails the connection (lib's policy)
  static void OnInfo(const SSL* ssl, int where, int ret);
  Napi::Value JS_setSniContext(const Napi::CallbackInfo& info);
  Napi::Value JS_contextSwitched(const Napi::CallbackInfo& info);
  Napi::Value JS_refuseTicket(const Napi::CallbackInfo& info);
  Napi::Value JS_query(const Napi::CallbackInfo& info);  // ssl_queries::Query

  // Sets a flag for its scope (the re-entrancy guard: OpenSSL may call into JS during
  // SSL_do_handshake / SSL_read / SSL_write, and that JS must not re-enter this connection).
  class ReentryGuard {
   public:
    explicit ReentryGuard(bool* flag) : flag_(flag) { *flag_ = true; }
    ~ReentryGuard() { *flag_ = false; }
    ReentryGuard(const ReentryGuard&) = delete;
    ReentryGuard& operator=(const ReentryGuard&) = delete;

   private:
    bool* flag_;
  };
  // how the OpenSSL part of cycle() ended
  enum class Pumped { kRead, kWantsMoreInput, kHandshakeFailed, kReadFailed, kRenegotiation };
  Pumped Pump(uint32_t* flags, size_t* used);

  // { flags, out: ciphertext | undefined, clear: plaintext | undefined, error | undefined }
  Napi::Value Result(Napi::Env env, uint32_t flags, const char* clear, size_t clearLength, Napi::Value error);
  Napi::Value Fail(Napi::Env env, uint32_t flags, const char* what);
  bool Live(Napi::Env env);
  void Release();    // free(): the SSL, its BIOs and the context references, now
  void DetachSsl();  // clears the SSL's back pointer to this connection

  SslPointer ssl_;
  BIO* encIn_ = nullptr;   // owned by ssl_
  BIO* encOut_ = nullptr;  // owned by ssl_
  bool server_ = false;
  bool handshakeDone_ = false;
  bool renegotiation_ = false;  // a later handshake started (see OnInfo)
  bool busy_ = false;           // set by ReentryGuard while OpenSSL runs (it may call into JS)
  Napi::ObjectReference contextRef_;  // keeps the context handle alive while we live
  std::vector<char> readBuffer_;      // plaintext of one cycle(), reused across calls
  std::vector<unsigned char> alpn_;   // our ALPN list, wire format (both sides)
  Napi::ObjectReference sniContextRef_;  // the context the servername callback switches to
  SSL_CTX* sniContext_ = nullptr;
  bool contextSwitched_ = false;
};
