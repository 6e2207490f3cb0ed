#include "handshake.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

#include "openssl_error.h"
#include "ssl_context_handle.h"
#include "ssl_session_handle.h"

namespace {

// Owns the two connections; SSL_free runs when the call ends, after the optional
// clean shutdown (1.0.2 drops the session of an unshut, finished connection).
struct Pair {
  SSL* client = nullptr;
  SSL* server = nullptr;
  ~Pair() {
    if (client) SSL_free(client);
    if (server) SSL_free(server);
  }
};

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
  SslContextHandle* cctx = SslContextHandle::FromValue(env, info[0]);
  if (cctx == nullptr) return env.Undefined();
  SslContextHandle* sctx = SslContextHandle::FromValue(env, info[1]);
  if (sctx == nullptr) return env.Undefined();
  SslSessionHandle* offered = nullptr;
  if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {
    offered = SslSessionHandle::FromValue(env, info[2]);
    if (offered == nullptr) return env.Undefined();
  }
  std::string serverName;
  bool haveName = info.Length() > 3 && info[3].IsString();
  if (haveName) serverName = info[3].As<Napi::String>().Utf8Value();
  bool shutdown = !(info.Length() > 4 && info[4].IsBoolean() && !info[4].As<Napi::Boolean>().Value());

  ErrorQueueGuard guard;
  Pair pair;
  pair.client = SSL_new(cctx->ctx());
  pair.server = SSL_new(sctx->ctx());
  BIO* cbio = nullptr;
  BIO* sbio = nullptr;
  if (pair.client == nullptr || pair.server == nullptr || BIO_new_bio_pair(&cbio, 0, &sbio, 0) != 1) {
    openssl_error::Throw(env, "handshake setup");
    return env.Undefined();
  }
  SSL_set_bio(pair.client, cbio, cbio);
  SSL_set_bio(pair.server, sbio, sbio);
  SSL_set_connect_state(pair.client);
  SSL_set_accept_state(pair.server);
  if (haveName && SSL_set_tlsext_host_name(pair.client, serverName.c_str()) != 1) {
    openssl_error::Throw(env, "SSL_set_tlsext_host_name");
    return env.Undefined();
  }
  if (offered != nullptr && SSL_set_session(pair.client, offered->session()) != 1) {
    openssl_error::Throw(env, "SSL_set_session");
    return env.Undefined();
  }

  bool clientDone = false;
  bool serverDone = false;
  const char* failedSide = nullptr;
  for (int round = 0; round < 64 && !(clientDone && serverDone); round++) {
    if (!clientDone) {
      Step s = Drive(pair.client);
      if (s == Step::kFailed) {
        failedSide = "client";
        break;
      }
      clientDone = s == Step::kDone;
    }
    if (!serverDone) {
      Step s = Drive(pair.server);
      if (s == Step::kFailed) {
        failedSide = "server";
        break;
      }
      serverDone = s == Step::kDone;
    }
  }
  if (failedSide == nullptr && !(clientDone && serverDone)) failedSide = "handshake (no progress)";
  if (failedSide != nullptr) {
    // Take the failing side's queue now: every 1.0.2 handshake entry point starts with
    // ERR_clear_error(), so driving the peer first would erase the real reason.
    std::string what = std::string("TLS handshake failed on the ") + failedSide;
    Napi::Value error = openssl_error::Make(env, what.c_str(), "ERR_TLS_HANDSHAKE");
    if (env.IsExceptionPending()) return env.Undefined();
    // the peer may still have an alert to read; let it, so both sides record the failure
    SSL_do_handshake(failedSide[0] == 'c' ? pair.server : pair.client);
    ERR_clear_error();
    Napi::Error(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("clientResumed", Napi::Boolean::New(env, SSL_session_reused(pair.client) == 1));
  out.Set("serverResumed", Napi::Boolean::New(env, SSL_session_reused(pair.server) == 1));
  out.Set("protocol", Napi::String::New(env, SSL_get_version(pair.server)));
  out.Set("cipher", Napi::String::New(env, SSL_get_cipher_name(pair.server)));
  SSL_SESSION* cs = SSL_get1_session(pair.client);
  SSL_SESSION* ss = SSL_get1_session(pair.server);
  out.Set("clientSession", cs ? SslSessionHandle::Adopt(env, cs) : env.Undefined());
  out.Set("serverSession", ss ? SslSessionHandle::Adopt(env, ss) : env.Undefined());

  if (shutdown) {
    SSL_shutdown(pair.client);  // close_notify to the server
    SSL_shutdown(pair.server);  // reads it, answers with its own
    SSL_shutdown(pair.client);  // reads the answer
  }
  return out;
}

}  // namespace handshake
