// NativeListener, tickets and observability (see native_listener.h): what the server's JS
// asks of a native connection's SSL for session tickets and for its diagnostics. The facts
// come from ticket_note (ticket_keys.h), which the Node-socket path's TlsConnection uses too:
// the ticket key callback records them for whichever SSL it runs on.
//
// refuseTicket(id) — the ticket the connection's ClientHello offers is not decrypted (a
//   revoked id, decided by lib before OpenSSL reads the hello): a full handshake. false when
//   the connection is gone.
// ticketInfo(id) -> { key, ticketId, sessionId } | undefined — key: what the ticket key
//   callback answered ('current' | 'previous' | 'unknown' | 'refused', absent when it did not
//   decrypt); ticketId: SHA-256 of the ticket the server sent (absent when none); sessionId:
//   the session's id (absent when empty).
// observe(on) — kObservedHello with each whole ClientHello of connections accepted from now
//   on, before OpenSSL reads it (someone observes handshakes); off: nothing is held or copied.
#include <openssl/ssl.h>

#include "native_listener.h"
#include "ticket_keys.h"


Napi::Value NativeListener::JS_refuseTicket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SSL* ssl = SslOf(info);
  if (ssl == nullptr) return env.IsExceptionPending() ? env.Undefined() : Napi::Boolean::New(env, false);
  return Napi::Boolean::New(env, ticket_note::Refuse(ssl));
}

Napi::Value NativeListener::JS_ticketInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SSL* ssl = SslOf(info);
  if (ssl == nullptr) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  switch (ticket_note::WhatDecrypted(ssl)) {
    case ticket_note::Decrypted::kCurrent:
      o.Set("key", "current");
      break;
    case ticket_note::Decrypted::kPrevious:
      o.Set("key", "previous");
      break;
    case ticket_note::Decrypted::kUnknown:
      o.Set("key", "unknown");
      break;
    case ticket_note::Decrypted::kRefused:
      o.Set("key", "refused");
      break;
    case ticket_note::Decrypted::kNone:
      break;
  }
  const unsigned char* issued = ticket_note::IssuedId(ssl);
  if (issued != nullptr) o.Set("ticketId", Napi::Buffer<unsigned char>::Copy(env, issued, ticket_note::kIdLength));
  const SSL_SESSION* s = SSL_get_session(ssl);
  if (s != nullptr && s->session_id_length > 0) o.Set("sessionId", Napi::Buffer<unsigned char>::Copy(env, s->session_id, s->session_id_length));
  return o;
}

Napi::Value NativeListener::JS_observe(const Napi::CallbackInfo& info) {
  observe_ = info.Length() > 0 && info[0].ToBoolean().Value();
  return info.Env().Undefined();
}
