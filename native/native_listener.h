// NativeListener: a TCP listener on Node's own libuv loop whose connections never become
// Node sockets. Accept, reads, the TLS handshake (SSL_accept over two memory BIOs on the
// SSL_CTX of an SslContextHandle), writes and close run here; JS hears of a connection
// once when it becomes secure (or fails) and, only if it asked for the stream then, of
// its plaintext, its end and its close (lib/tls/native_connection_path.ts).
//
// Threading and JS: everything runs on the loop thread of the environment that made the
// listener. libuv callbacks open a handle scope before any OpenSSL call (the context's get
// callback may run JS) and reach JS through one napi_make_callback per event, never while
// OpenSSL runs.
//
// Ownership: the JS object keeps itself referenced while its listener or any connection is
// open (ObjectWrap::Ref); each connection is a heap Conn freed in its uv_close callback.
// An environment cleanup hook closes what is still open when the environment stops.
#pragma once
#include <napi.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>

#include <uv.h>

#if (OPENSSL_VERSION_NUMBER >> 12) != 0x10002
#error "native_listener must be compiled against OpenSSL 1.0.2 headers only"
#endif

#include <cstdint>
#include <unordered_map>
#include <vector>

class NativeListener : public Napi::ObjectWrap<NativeListener> {
 public:
  // the first argument of the JS event callback
  enum Event : uint32_t {
    kSecure = 1,   // (id, reused): returns true to receive the connection's stream events
    kFailed = 2,   // (id, error): the handshake failed or the peer left before it finished
    kData = 3,     // (id, Buffer): plaintext (stream connections)
    kEnd = 4,      // (id): close_notify or FIN from the peer (stream connections)
    kClose = 5,    // (id, error|undefined): the connection is closed (stream connections)
    kDrain = 6,    // (id): the write queue a write() reported emptied (stream connections)
    kClosed = 7,   // (): the listener is closed and no connection is left
    kError = 8,    // (error): accept failed
    kHello = 9,    // (id, Buffer): the whole ClientHello, held until proceed(id[, context])
    // native_listener_store.cc
    kStep = 20,    // (id): a full handshake finished, its last flight not sent: returns true to hold it until release(id)
    // native_listener_queries.cc (30-39)
    kVerifyPeer = 30,  // (id): handshake done, nothing of its last flight sent: returns the error that refuses the client, or undefined
    // net.Server's surface (native_listener_net.cc)
    kConnection = 60,  // (id, addresses): accepted (only while JS asked, setNet({ connection }))
    kDrop = 61,        // (addresses): refused over maxConnections, closed at once
    // native_listener_tickets.cc (observability and tickets)
    kObservedHello = 40,  // (id, Buffer): observe(true): the whole ClientHello, before OpenSSL reads it
    kObservedGone = 41,   // (id): an observed connection closed before it became secure
  };

  static Napi::Function Define(Napi::Env env);
  explicit NativeListener(const Napi::CallbackInfo& info);
  ~NativeListener() override;

  struct Conn;

 private:
  friend class TlsConnection;  // one servername / ALPN callback per SSL_CTX serves both kinds of connection
  Napi::Value JS_listen(const Napi::CallbackInfo& info);
  Napi::Value JS_address(const Napi::CallbackInfo& info);
  Napi::Value JS_close(const Napi::CallbackInfo& info);
  Napi::Value JS_write(const Napi::CallbackInfo& info);
  Napi::Value JS_end(const Napi::CallbackInfo& info);
  Napi::Value JS_destroy(const Napi::CallbackInfo& info);
  Napi::Value JS_readStop(const Napi::CallbackInfo& info);
  Napi::Value JS_readStart(const Napi::CallbackInfo& info);
  Napi::Value JS_info(const Napi::CallbackInfo& info);
  Napi::Value JS_connections(const Napi::CallbackInfo& info);
  Napi::Value JS_ref(const Napi::CallbackInfo& info);
  Napi::Value JS_query(const Napi::CallbackInfo& info);    // query(id, name, ...args): ssl_queries::Query, undefined for a gone connection
  Napi::Value JS_localAddress(const Napi::CallbackInfo& info);  // localAddress(id): { address, family, port } | undefined
  Napi::Value JS_coalesce(const Napi::CallbackInfo& info);  // coalesce(id): native_listener_h2.cc
  Napi::Value JS_pipe(const Napi::CallbackInfo& info);      // pipe(id): native_listener_pipe.cc
  Napi::Value JS_refuseTicket(const Napi::CallbackInfo& info);  // native_listener_tickets.cc
  Napi::Value JS_ticketInfo(const Napi::CallbackInfo& info);    // native_listener_tickets.cc
  Napi::Value JS_observe(const Napi::CallbackInfo& info);       // native_listener_tickets.cc
  SSL* SslOf(const Napi::CallbackInfo& info);  // the open connection info[0] names, or nullptr
  Napi::Value JS_proceed(const Napi::CallbackInfo& info);  // proceed(id[, contextHandle]): OpenSSL reads the held ClientHello  // ref(on): the listener keeps the loop alive or not
  // native_listener_store.cc: the session store's and node:tls session events' hooks
  Napi::Value JS_storeHooks(const Napi::CallbackInfo& info);  // storeHooks(hello, holdSteps)
  Napi::Value JS_release(const Napi::CallbackInfo& info);     // release(id): the held step goes on
  bool HoldStep(uint32_t id);  // kStep: whether JS holds the step
  // native_listener_hello.cc: refuse(id, alert), peer(id)
  Napi::Value JS_refuse(const Napi::CallbackInfo& info);
  Napi::Value JS_peer(const Napi::CallbackInfo& info);
  Napi::Value JS_screenHellos(const Napi::CallbackInfo& info);  // screenHellos(on)
  static Napi::Value JS_screenHello(const Napi::CallbackInfo& info);  // NativeListener.screenHello(message, minVersion, alpn)

  static void OnConnection(uv_stream_t* server, int status);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnShutdown(uv_shutdown_t* req, int status);
  static void OnConnClosed(uv_handle_t* handle);
  static void OnListenerClosed(uv_handle_t* handle);
  static void Cleanup(void* arg);
  // SSL_CB_HANDSHAKE_START after the first handshake: the client renegotiates (recorded only)
  static void OnInfo(const SSL* ssl, int where, int ret);
  // the servername callback: switches to the context proceed() gave (SNICallback's answer)
  static int OnServername(SSL* ssl, int* alert, void* arg);
  // ALPN: the first of the listener's protocols the client also lists (the server's order)
  static int OnAlpnSelect(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen, void* arg);
  // the handshake deadline: one repeating timer per listener, not one per connection
  static void OnSweep(uv_timer_t* timer);
  void StopSweep();

  Conn* Find(const Napi::CallbackInfo& info);
  static SSL* SslOf(Conn* c);
  // { address, family, port } of a TCP handle's own end (uv_tcp_getsockname), null when unknown
  static Napi::Value SocketName(Napi::Env env, const uv_tcp_t* tcp);
  static Napi::Object AddressObject(Napi::Env env, const sockaddr_storage& addr);  // { address, family, port }
  // native_listener_queries.cc: the client certificate (requestCert) and the queries
  void ConfigurePeerVerify(Napi::Object options);  // verifyMode, verifyPeer
  void SetPeerVerify(SSL* ssl);                    // at accept
  bool PeerRefused(uint32_t id);                   // kVerifyPeer when JS decides (rejectUnauthorized)
  void Accept();
  void Advance(Conn* c);     // handshake or reads, after new ciphertext arrived
  bool Secured(Conn* c);     // the handshake's last flight out, kSecure; false when the connection is gone
  void ResumeStep(Conn* c);  // a step HoldStep held goes on
  void ReadPlain(Conn* c);   // SSL_read until it wants more; data / end events
  void Renegotiation(Conn* c, size_t used);
  // the ClientHello is held back until whole, then handed to JS (kHello); false while it waits
  bool CheckHello(Conn* c, const char* data, size_t length);
  bool Flush(Conn* c);       // ciphertext out; false after the connection failed
  bool Encrypt(Conn* c, const char* data, size_t length);  // SSL_write of all; false after it failed (destroyed)
  void ReadStart(Conn* c);   // TCP reads go on (and what waits in OpenSSL is read)
  // native_listener_pipe.cc: a connection's plaintext over a socketpair (pipe(id))
  void Plaintext(Conn* c, const char* data, size_t length);  // kData, or into the pipe
  void PeerEnded(Conn* c);   // kEnd, or the pipe's write side shut
  void ClosePipe(Conn* c);   // the connection closes: so does its pipe end
  void PipeSent(Conn* c);    // a TCP send finished: pipe reads go on below the send limit
  void SendFromPipe(Conn* c);  // what the pipe gave is sent; pipe reads stop over the send limit
  static void OnPipeRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  void Fail(Conn* c, const char* what, const char* code);
  void End(Conn* c);         // close_notify, FIN once written, then close
  void Destroy(Conn* c, Napi::Value error);
  Napi::Value TransportError(Conn* c, int status);
  void TransportFailed(Conn* c, int status);  // a send failed: kFailed before the handshake ended, else Destroy with TransportError
  void Emit(std::initializer_list<napi_value> args, Napi::Value* result = nullptr);
  void MaybeClosed();

  // net.Server / net.Socket surface (native_listener_net.cc)
  void ConfigureNet(Napi::Object options);  // keepAlive, keepAliveInitialDelay, sessionOnUncleanClose
  // after uv_accept: maxConnections, SO_KEEPALIVE, kConnection (then *netEvents: kClose too);
  // false when the connection was dropped or a 'connection' listener destroyed it
  bool AcceptNet(Conn* c, uv_tcp_t* tcp, uint32_t id, bool* netEvents);
  bool KeepsSession(Conn* c) const;  // at SSL_free: whether an unclean end keeps the session
  Napi::Value JS_setNet(const Napi::CallbackInfo& info);   // setNet({ maxConnections, connection })
  Napi::Value JS_tcp(const Napi::CallbackInfo& info);      // tcp(id, noDelay?, keepAlive?, delaySeconds?)
  Napi::Value JS_tcpState(const Napi::CallbackInfo& info); // tcpState(id): the kernel's options
  Napi::Value JS_addresses(const Napi::CallbackInfo& info); // addresses(id): both ends
  bool keepAlive_ = false;
  unsigned keepAliveDelay_ = 0;  // seconds
  bool removeUnclean_ = false;   // sessionOnUncleanClose: 'remove'
  int64_t maxConnections_ = -1;  // -1: no limit
  bool connectionEvents_ = false;
  uv_tcp_t* oldListener_ = nullptr;  // closing when listen() ran again (its close callback pending)

  Napi::Env env_;
  uv_loop_t* loop_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  Napi::ObjectReference contextRef_;  // keeps the context handle (and SSL_CTX) alive
  Napi::FunctionReference onEvent_;
  Napi::AsyncContext* async_ = nullptr;
  uv_tcp_t* listener_ = nullptr;  // heap: freed in its close callback
  bool listening_ = false;
  bool listenerClosing_ = false;
  bool closedReported_ = false;
  bool noDelay_ = false;
  bool unref_ = false;  // net.Server#unref(): the listener does not keep the loop alive
  uint64_t handshakeTimeout_ = 0;  // ms; 0: none
  std::vector<unsigned char> alpn_;  // wire format; empty: no ALPN
  bool observe_ = false;    // kObservedHello for each ClientHello (someone observes handshakes)
  bool helloToJs_ = false;  // kHello before OpenSSL reads the ClientHello (lib/tls/hello_gate.ts)
  bool screenHellos_ = false;  // screenHellos(true): a hello no rule of the gate can act on skips kHello
  bool storeHello_ = false;    // storeHooks(true): the store's prefetch wants every hello
  unsigned minVersion_ = 0x0301;  // the server's lowest protocol (wire form), for the screen
  bool holdSteps_ = false;  // kStep after a full handshake ('newSession' listeners)
  int verifyMode_ = SSL_VERIFY_NONE;  // SSL_set_verify of each connection (requestCert)
  bool verifyPeerInJs_ = false;       // kVerifyPeer before the last flight (rejectUnauthorized)
  uv_timer_t* sweep_ = nullptr;    // heap: freed in its close callback
  bool cleanupHook_ = false;
  uint32_t nextId_ = 1;
  std::unordered_map<uint32_t, Conn*> conns_;
  std::vector<char> readBuffer_;   // one read at a time on this thread
  std::vector<char> plainBuffer_;  // SSL_read target
  uint32_t refs_ = 0;
  void Hold();
  void Release();

  // Coalesced sends (native_listener_h2.cc): a connection node:http2 runs on writes each
  // frame batch in a later loop turn (its wrapper of a JS stream completes a write on
  // setImmediate), so a response went out in several sends. For such a connection JS
  // writes are encrypted at once and sent when the loop is about to wait for I/O.
  bool Defer(uint32_t id, size_t pending, size_t queued);  // JS_write: true when the send waits for that point
  bool Coalesced(uint32_t id) const { return !coalesced_.empty() && coalesced_.find(id) != coalesced_.end(); }
  void Forget(uint32_t id) { if (!coalesced_.empty()) coalesced_.erase(id); }
  static void OnFlushPoint(uv_prepare_t* handle);
  bool ArmFlushPoint();  // the prepare handle made and started; false when it cannot be
  void StopCoalescing();
  std::unordered_map<uint32_t, bool> coalesced_;  // id -> waiting for the flush point (in deferred_)
  std::vector<uint32_t> deferred_;
  // A piped connection's first output (native_listener_pipe.cc) while its JS end has not read
  // all the client's plaintext yet: node:http2 answers that input in this loop turn, so what it
  // wrote (a new session's SETTINGS) waits for the flush point and leaves with the answer (the
  // first response) in one TCP send, as node:http2 over node:tls sends them
  bool HoldForReply(Conn* c);  // OnPipeRead, after SSL_write: true when the send waits
  void SendHeld(Conn* c);      // the flush point: what the JS end wrote since, then the send
  std::vector<uint32_t> heldPipes_;
  uv_prepare_t* flushPoint_ = nullptr;  // heap: freed in its close callback
  uint32_t deferredTurns_ = 0;
};
