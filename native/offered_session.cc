#include "offered_session.h"

#include <openssl/crypto.h>

#include "openssl_locks.h"
#include "openssl_pointers.h"
#include "openssl_runtime.h"

// OpenSSL 1.0.2's own session copy (ssl_locl.h; linked statically, not in its headers).
extern "C" SSL_SESSION* ssl_session_dup(SSL_SESSION* src, int ticket);
extern "C" void ssl_sess_cert_free(struct sess_cert_st* sc);

namespace offered_session {

bool NeedsCopy(SSL_SESSION* s) {
  if (s->session_id_length == 0) return true;
  // linked into some context's list (1.0.2 links every cached session, the list ends in a
  // sentinel, so next is never NULL while cached)
  ReadLock held(CRYPTO_LOCK_SSL_CTX);
  return s->next != nullptr || s->prev != nullptr;
}

int Offer(SSL* ssl, SSL_SESSION* s) {
  if (!NeedsCopy(s)) return SSL_set_session(ssl, s);
  // 1.0.2h's ssl_session_dup(src, 1) fails on a session without a ticket or with an empty
  // one (BUF_memdup of NULL / malloc(0)): ask for the ticket only when it has bytes (an
  // empty ticket is no ticket to ssl3_client_hello's "EAP-FAST" test either way).
  SslSessionPointer copy(ssl_session_dup(s, s->tlsext_tick != nullptr && s->tlsext_ticklen > 0 ? 1 : 0));
  if (!copy) return 0;
  // the SESS_CERT (peer chain, temporary keys) would be shared and written in place by a
  // full handshake; resumption does not need it
  if (copy->sess_cert != nullptr) {
    ssl_sess_cert_free(copy->sess_cert);
    copy->sess_cert = nullptr;
  }
  // the serial names one native object: the copy is another one
  SSL_SESSION_set_ex_data(copy.get(), openssl_runtime::SessionIndex(), nullptr);
  return SSL_set_session(ssl, copy.get());  // takes its own reference; ours goes with `copy`
}

}  // namespace offered_session
