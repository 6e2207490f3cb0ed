// OfferSession: SSL_set_session for a session a JS caller offers to a client handshake
// (handshake() and TlsConnection), without ever handing OpenSSL an object it may corrupt.
//
// What OpenSSL 1.0.2 does to the SSL_SESSION given to SSL_set_session (s3_clnt.c,
// t1_lib.c, ssl_sess.c):
//   - non-empty id, not resumed: ssl_get_new_session replaces it; the object is untouched.
//   - non-empty id, resumed: only rewrites fields with the values they have (cipher,
//     cipher_id, key_arg_length); a renewed ticket makes a copy (ssl_session_dup).
//   - EMPTY id with a ticket (ssl3_client_hello keeps such a session "for EAP-FAST"): the
//     ServerHello's id, the new master key, cipher, peer certificate, SESS_CERT and a new
//     ticket are written INTO the object, and a CLIENT-mode context then caches it
//     (ssl_update_cache). If the object sits in a cache it ends up under the wrong hash
//     key (unremovable, dangling after free, freed twice) or in two caches at once.
// So a session that has an empty id, or that is linked into any context's cache, is
// offered as a private copy (OpenSSL's own ssl_session_dup, ticket included, without the
// shared SESS_CERT and without the copied serial): whatever the handshake writes goes
// into an object nobody else holds. Any other session is offered as itself (1.0.2's
// semantics: a resumed handshake's session is the offered object).
#pragma once
#include <openssl/ssl.h>

namespace offered_session {
// SSL_set_session(ssl, s or a private copy of s). 1 on success, 0 with OpenSSL's error
// queue set (SSL_set_session's failure, or ssl_session_dup's malloc failure).
int Offer(SSL* ssl, SSL_SESSION* s);
// Whether Offer() would hand OpenSSL a copy of `s` rather than `s` itself.
bool NeedsCopy(SSL_SESSION* s);
}  // namespace offered_session
