// The native listener's connection (native/native_listener.h), shared by the files that
// define NativeListener's members (native_listener.cc, native_listener_hello.cc).
#pragma once
#include <napi.h>
#include <openssl/ssl.h>
#include <uv.h>

#include <cstdint>
#include <vector>

#include "native_listener.h"

struct PlainPipe;

struct NativeListener::Conn {
  uv_tcp_t tcp;  // first: the handle's address is the Conn's
  NativeListener* owner = nullptr;
  uint32_t id = 0;
  SSL* ssl = nullptr;
  BIO* in = nullptr;   // owned by ssl
  BIO* out = nullptr;  // owned by ssl
  bool secure = false;
  bool stream = false;      // JS asked for data / end / close
  bool reading = true;
  bool peerEnded = false;
  bool ending = false;      // End() ran: close_notify sent, FIN queued
  bool closing = false;     // uv_close called
  bool wantDrain = false;
  bool renegotiation = false;  // OnInfo saw a handshake start after the first one
  bool helloChecked = false;   // CheckHello decided (or the hello is not handed to JS)
  std::vector<char> hello;     // ciphertext held back until the ClientHello is whole
  bool awaitingHello = false;  // kHello emitted: the hello waits for proceed()
  bool holding = false;        // kStep held the handshake's last flight until release()
  SSL_CTX* sniContext = nullptr;  // proceed()'s context (a reference of ours)
  bool observed = false;          // kObservedHello was emitted
  uint64_t acceptedAt = 0;  // uv_now, ms
  Napi::Reference<Napi::Value> closeError;
  struct PlainPipe* pipe = nullptr;  // pipe(id): the plaintext's socketpair end (native_listener_pipe.cc)
  bool netEvents = false;  // kClose follows for a connection JS does not stream too (native_listener_net.cc)
};

// sets `addressKey`, `portKey` (and `familyKey` unless null) of `o` from a socket address
void SetSocketAddress(Napi::Object o, const sockaddr_storage& addr, const char* addressKey, const char* portKey, const char* familyKey);
