/* B4 baseline: in-process TLS 1.2 handshakes over a BIO pair, as native/handshake.cc does
 * them (SSL_new x2, BIO pair, drive both sides, take both sessions, clean shutdown, free),
 * ECDHE-RSA-AES128-GCM-SHA256, RSA 2048, tickets off.
 * Usage: b4_handshake full|resumed cert.pem key.pem duration_ms */
#include "common.h"
#include <openssl/bio.h>
#include <openssl/pem.h>

#define CIPHER "ECDHE-RSA-AES128-GCM-SHA256"

static int drive(SSL *ssl) { /* 1 done, 0 want, -1 failed */
  int r = SSL_do_handshake(ssl), e;
  if (r == 1) return 1;
  e = SSL_get_error(ssl, r);
  return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? 0 : -1;
}

static int handshake(SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *offer, SSL_SESSION **client_session, int *resumed) {
  SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
  BIO *cb = NULL, *sb = NULL;
  int cd = 0, sd = 0, round, ok = 1;
  SSL_SESSION *cs, *ss;
  if (!c || !s || BIO_new_bio_pair(&cb, 0, &sb, 0) != 1) bench_die("setup");
  SSL_set_bio(c, cb, cb);
  SSL_set_bio(s, sb, sb);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  if (offer && SSL_set_session(c, offer) != 1) bench_die("SSL_set_session");
  for (round = 0; round < 64 && !(cd && sd); round++) {
    if (!cd) {
      int r = drive(c);
      if (r < 0) { ok = 0; break; }
      cd = r;
    }
    if (!sd) {
      int r = drive(s);
      if (r < 0) { ok = 0; break; }
      sd = r;
    }
  }
  if (!ok || !(cd && sd)) bench_die("handshake");
  *resumed = SSL_session_reused(s);
  (void)SSL_get_version(s);
  (void)SSL_get_cipher_name(s);
  cs = SSL_get1_session(c);
  ss = SSL_get1_session(s);
  SSL_shutdown(c);
  SSL_shutdown(s);
  SSL_shutdown(c);
  SSL_free(c);
  SSL_free(s);
  if (client_session) *client_session = cs; else SSL_SESSION_free(cs);
  SSL_SESSION_free(ss);
  return 1;
}

int main(int argc, char **argv) {
  int resumed_mode = argc > 1 && strcmp(argv[1], "resumed") == 0;
  long len, ops = 0, reused = 0;
  unsigned char *pem;
  BIO *bio;
  X509 *cert;
  EVP_PKEY *key;
  SSL_CTX *sctx, *cctx;
  SSL_SESSION *offer = NULL;
  int r;
  double duration = (argc > 4 ? atof(argv[4]) : 1000) / 1000.0, t0, t1;
  bench_init();
  sctx = SSL_CTX_new(SSLv23_server_method());
  cctx = SSL_CTX_new(SSLv23_client_method());
  if (!sctx || !cctx) bench_die("SSL_CTX_new");
  pem = bench_read_file(argv[2], &len);
  bio = BIO_new_mem_buf(pem, (int)len);
  cert = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
  BIO_free(bio);
  pem = bench_read_file(argv[3], &len);
  bio = BIO_new_mem_buf(pem, (int)len);
  key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  BIO_free(bio);
  if (!cert || SSL_CTX_use_certificate(sctx, cert) != 1) bench_die("certificate");
  if (!key || SSL_CTX_use_PrivateKey(sctx, key) != 1 || SSL_CTX_check_private_key(sctx) != 1) bench_die("key");
  SSL_CTX_set_ecdh_auto(sctx, 1);
  SSL_CTX_set_ecdh_auto(cctx, 1);
  SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_options(cctx, SSL_OP_NO_TICKET);
  if (SSL_CTX_set_cipher_list(sctx, CIPHER) != 1 || SSL_CTX_set_cipher_list(cctx, CIPHER) != 1) bench_die("ciphers");
  handshake(cctx, sctx, NULL, &offer, &r); /* the session resumed handshakes offer */
  for (r = 0; r < 3; r++) { int x; handshake(cctx, sctx, resumed_mode ? offer : NULL, NULL, &x); } /* warm-up */
  t0 = bench_now();
  do {
    int i;
    for (i = 0; i < (resumed_mode ? 16 : 2); i++) {
      handshake(cctx, sctx, resumed_mode ? offer : NULL, NULL, &r);
      reused += r;
      ops++;
    }
    t1 = bench_now();
  } while (t1 - t0 < duration);
  if (reused != (resumed_mode ? ops : 0)) bench_die("resumption check");
  printf("{\"ops\":%ld,\"seconds\":%.6f,\"perSec\":%.1f}\n", ops, t1 - t0, ops / (t1 - t0));
  SSL_SESSION_free(offer);
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  return 0;
}
