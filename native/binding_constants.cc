#include "binding_constants.h"

#include <openssl/ssl.h>  // includes tls1.h and dtls1.h in the order they need

#include "session_event_queue.h"
#include "ssl_context_handle.h"
#include "tls_connection.h"

namespace binding_constants {

namespace {
struct Constant {
  const char* name;
  double value;
};

#define CONSTANT(name) \
  { #name, static_cast<double>(name) }

const Constant kConstants[] = {
    CONSTANT(SSL3_VERSION),
    CONSTANT(TLS1_VERSION),
    CONSTANT(TLS1_1_VERSION),
    CONSTANT(TLS1_2_VERSION),
    CONSTANT(DTLS1_VERSION),
    CONSTANT(DTLS1_2_VERSION),
    CONSTANT(DTLS1_BAD_VER),
    CONSTANT(SSL_OP_NO_TICKET),
    CONSTANT(SSL_OP_NO_TLSv1),
    CONSTANT(SSL_OP_NO_TLSv1_1),
    CONSTANT(SSL_OP_NO_TLSv1_2),
    CONSTANT(SSL_OP_CIPHER_SERVER_PREFERENCE),
    CONSTANT(SSL_OP_ALL),
    CONSTANT(SSL_OP_NO_SSLv3),
    CONSTANT(SSL_OP_NO_COMPRESSION),
    CONSTANT(SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION),
    CONSTANT(SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION),
    CONSTANT(SSL_OP_LEGACY_SERVER_CONNECT),
    CONSTANT(SSL_OP_TLS_ROLLBACK_BUG),
    CONSTANT(SSL_OP_CRYPTOPRO_TLSEXT_BUG),
    CONSTANT(SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS),
    CONSTANT(SSL_OP_CISCO_ANYCONNECT),
    CONSTANT(SSL_OP_COOKIE_EXCHANGE),
    CONSTANT(SSL_OP_NO_QUERY_MTU),
    CONSTANT(SSL_OP_SINGLE_DH_USE),
    CONSTANT(SSL_OP_SINGLE_ECDH_USE),
    CONSTANT(SSL_VERIFY_NONE),
    CONSTANT(SSL_VERIFY_PEER),
    CONSTANT(SSL_VERIFY_FAIL_IF_NO_PEER_CERT),
    CONSTANT(SSL_SESS_CACHE_OFF),
    CONSTANT(SSL_SESS_CACHE_CLIENT),
    CONSTANT(SSL_SESS_CACHE_SERVER),
    CONSTANT(SSL_SESS_CACHE_BOTH),
    CONSTANT(SSL_SESS_CACHE_NO_AUTO_CLEAR),
    CONSTANT(SSL_SESS_CACHE_NO_INTERNAL_LOOKUP),
    CONSTANT(SSL_SESS_CACHE_NO_INTERNAL_STORE),
    CONSTANT(SSL_SESS_CACHE_NO_INTERNAL),
    CONSTANT(SSL_MAX_SSL_SESSION_ID_LENGTH),
    CONSTANT(SSL_MAX_SID_CTX_LENGTH),
    CONSTANT(SSL_MAX_MASTER_KEY_LENGTH),
    {"EVENT_NEW_SESSION", SessionEventQueue::kNewSession},
    {"EVENT_REMOVE_SESSION", SessionEventQueue::kRemoveSession},
    {"EVENT_NEW_SESSION_DER", SessionEventQueue::kNewSessionDer},
    {"EVENT_EVICTED", SessionEventQueue::kEvicted},
    {"ADD_IN_OTHER_CONTEXT", SslContextHandle::kAddInOtherContext},
    {"ADD_OTHER_ID", SslContextHandle::kAddOtherId},
    {"ADD_UNDECODABLE", SslContextHandle::kAddUndecodable},
    {"CYCLE_HANDSHAKE_DONE", TlsConnection::kHandshakeDone},
    {"CYCLE_PEER_CLOSED", TlsConnection::kPeerClosed},
    {"CYCLE_FAILED", TlsConnection::kFailed},
    {"CYCLE_MORE_PLAINTEXT", TlsConnection::kMorePlaintext},
    {"CYCLE_WANTS_MORE_INPUT", TlsConnection::kWantsMoreInput},
    {"CYCLE_RENEGOTIATION", TlsConnection::kRenegotiation},
};

#undef CONSTANT

// Protocol names as node:tls spells them, in this order (lib lists them in messages).
const Constant kProtocolVersions[] = {
    {"SSLv3", SSL3_VERSION},   {"TLSv1", TLS1_VERSION},       {"TLSv1.1", TLS1_1_VERSION}, {"TLSv1.2", TLS1_2_VERSION},
    {"DTLSv1", DTLS1_VERSION}, {"DTLSv1.2", DTLS1_2_VERSION}, {"DTLSv0.9", DTLS1_BAD_VER},  // pre-RFC OpenSSL DTLS
};

template <size_t N>
Napi::Object ObjectOf(Napi::Env env, const Constant (&table)[N]) {
  Napi::Object o = Napi::Object::New(env);
  for (const Constant& c : table) o.Set(c.name, Napi::Number::New(env, c.value));
  return o;
}
}  // namespace

Napi::Object Make(Napi::Env env) {
  Napi::Object versions = ObjectOf(env, kProtocolVersions);
  versions.Freeze();
  Napi::Object o = ObjectOf(env, kConstants);
  o.Set("PROTOCOL_VERSIONS", versions);
  o.Freeze();
  return o;
}

}  // namespace binding_constants
