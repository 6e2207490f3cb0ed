#include "handshake.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

#include "arguments.h"
#include "openssl_error.h"
#include "offered_session.h"
#include "openssl_pointers.h"
#include "ssl_context_handle.h"
#include "ssl_session_handle.h"
#include "tagged_handle.h"
#include "error_codes.h"

namespace {

enum class Step { kDone, kWant, kFailed };

Step Drive(SSL* ssl) {
  int r = SSL_do_handshake(ssl);
  if (r == 1) return Step::kDone;
  int e = SSL_get_error(ssl, r);
  return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? Step::kWant : Step::kFailed;
}

}  // namespace

namespace handshake {

Napi::Value JS_handshake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UNWRAP_OR_RETURN(SslContextHandle, cctx, env, info[0]);
  UNWRAP_OR_RETURN(SslContextHandle, sctx, env, info[1]);
  SslSessionHandle* offered = nullptr;
  if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {  // optional, but never ignored
    offered = SslSessionHandle::FromValue(env, info[2]);
    if (offered == nullptr) return env.Undefined();
  }
  std::string serverName;
  bool haveName = arguments::Given(info, 3, arguments::Kind::kString);
  if (haveName) serverName = info[3].As<Napi::String>().Utf8Value();
  bool shutdown = !(arguments::Given(info, 4, arguments::Kind::kBoolean) && !info[4].As<Napi::Boolean>().Value());
  // lib holds the one listed object around the offered handle: when the client ends up
  // with the offered SSL_SESSION itself (a resumption that needed no copy), no second
  // handle is made for it
  bool offerListed = arguments::Given(info, 5, arguments::Kind::kBoolean) && info[5].As<Napi::Boolean>().Value();

  ErrorQueueGuard guard;
  // SSL_free runs when the call ends, after the optional clean shutdown (1.0.2 drops
  // the session of an unshut, finished connection).
  SslPointer clientOwner(SSL_new(cctx->ctx()));
  SslPointer serverOwner(SSL_new(sctx->ctx()));
  SSL* client = clientOwner.get();
  SSL* server = serverOwner.get();
  BIO* cbio = nullptr;
  BIO* sbio = nullptr;
  if (client == nullptr || server == nullptr || BIO_new_bio_pair(&cbio, 0, &sbio, 0) != 1) {
    openssl_error::Throw(env, "handshake setup");
    return env.Undefined();
  }
  SSL_set_bio(client, cbio, cbio);
  SSL_set_bio(server, sbio, sbio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  if (haveName && SSL_set_tlsext_host_name(client, serverName.c_str()) != 1) {
    openssl_error::Throw(env, "SSL_set_tlsext_host_name");
    return env.Undefined();
  }
  if (offered != nullptr && offered_session::Offer(client, offered->session()) != 1) {
    openssl_error::Throw(env, "SSL_set_session");
    return env.Undefined();
  }

  // client and server take turns until both are done, one fails, or nothing moves
  SSL* const sides[] = {client, server};
  const char* const sideNames[] = {"client", "server"};
  bool done[] = {false, false};
  const char* failedSide = nullptr;
  for (int round = 0; round < 64 && failedSide == nullptr && !(done[0] && done[1]); round++) {
    for (int i = 0; i < 2 && failedSide == nullptr; i++) {
      if (done[i]) continue;
      Step s = Drive(sides[i]);
      if (s == Step::kFailed) failedSide = sideNames[i];
      else done[i] = s == Step::kDone;
    }
  }
  if (failedSide == nullptr && !(done[0] && done[1])) failedSide = "handshake (no progress)";
  if (failedSide != nullptr) {
    // Take the failing side's queue now: every 1.0.2 handshake entry point starts with
    // ERR_clear_error(), so driving the peer first would erase the real reason.
    std::string what = std::string("TLS handshake failed on the ") + failedSide;
    Napi::Value error = openssl_error::Make(env, what.c_str(), error_codes::kTlsHandshake);
    if (env.IsExceptionPending()) return env.Undefined();
    // the peer may still have an alert to read; let it, so both sides record the failure
    SSL_do_handshake(failedSide[0] == 'c' ? server : client);
    ERR_clear_error();
    Napi::Error(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("clientResumed", Napi::Boolean::New(env, SSL_session_reused(client) == 1));
  out.Set("serverResumed", Napi::Boolean::New(env, SSL_session_reused(server) == 1));
  out.Set("protocol", Napi::String::New(env, SSL_get_version(server)));
  out.Set("cipher", Napi::String::New(env, SSL_get_cipher_name(server)));
  SSL_SESSION* cs = SSL_get1_session(client);
  SSL_SESSION* ss = SSL_get1_session(server);
  if (cs != nullptr && offerListed && offered != nullptr && cs == offered->session()) {
    SSL_SESSION_free(cs);  // the offered handle's own reference stays
    out.Set("clientIsOffer", Napi::Boolean::New(env, true));
  } else {
    out.Set("clientSession", cs ? SslSessionHandle::Adopt(env, cs) : env.Undefined());
  }
  out.Set("serverSession", ss ? SslSessionHandle::Adopt(env, ss) : env.Undefined());

  if (shutdown) {
    SSL_shutdown(client);  // close_notify to the server
    SSL_shutdown(server);  // reads it, answers with its own
    SSL_shutdown(client);  // reads the answer
  }
  return out;
}

}  // namespace handshake
