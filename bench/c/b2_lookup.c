/* B2 baseline: on a cache of N sessions, (a) lookups by id exactly as the addon's get():
 * zeroed key, version + id copied in, lh_SSL_SESSION_retrieve under the read lock, one
 * reference taken and later dropped; (b) the list walk of sessions(): every entry
 * referenced under the lock, then released. Usage: b2_lookup get|list N duration_ms */
#include "common.h"

int main(int argc, char **argv) {
  int list = argc > 1 && strcmp(argv[1], "list") == 0;
  long n = argc > 2 ? atol(argv[2]) : 20000;
  double duration = (argc > 3 ? atof(argv[3]) : 500) / 1000.0;
  unsigned char (*ids)[32];
  SSL_SESSION **found;
  SSL_CTX *ctx;
  long i, ops = 0, entries = 0;
  double t0, t1;
  bench_init();
  ctx = SSL_CTX_new(SSLv23_server_method());
  if (!ctx) bench_die("SSL_CTX_new");
  SSL_CTX_sess_set_cache_size(ctx, 0);
  ids = malloc(32 * n);
  found = malloc(sizeof(SSL_SESSION *) * n);
  for (i = 0; i < n; i++) {
    SSL_SESSION *s = bench_session();
    memcpy(ids[i], s->session_id, 32);
    SSL_CTX_add_session(ctx, s);
    SSL_SESSION_free(s);
  }
  t0 = bench_now();
  do {
    if (!list) {
      for (i = 0; i < 1024; i++) {
        SSL_SESSION key, *s;
        memset(&key, 0, sizeof key);
        key.ssl_version = TLS1_2_VERSION;
        key.session_id_length = 32;
        memcpy(key.session_id, ids[(ops + i) % n], 32);
        CRYPTO_r_lock(CRYPTO_LOCK_SSL_CTX);
        s = lh_SSL_SESSION_retrieve(ctx->sessions, &key);
        if (s) CRYPTO_add(&s->references, 1, CRYPTO_LOCK_SSL_SESSION);
        CRYPTO_r_unlock(CRYPTO_LOCK_SSL_CTX);
        if (!s) bench_die("lookup");
        SSL_SESSION_free(s);
      }
      ops += 1024;
      entries += 1024;
    } else {
      SSL_SESSION *s, *end = (SSL_SESSION *)&ctx->session_cache_tail;
      long k = 0;
      CRYPTO_r_lock(CRYPTO_LOCK_SSL_CTX);
      for (s = ctx->session_cache_head; s != NULL && s != end; s = s->next) {
        CRYPTO_add(&s->references, 1, CRYPTO_LOCK_SSL_SESSION);
        found[k++] = s;
      }
      CRYPTO_r_unlock(CRYPTO_LOCK_SSL_CTX);
      if (k != n) bench_die("list");
      for (i = 0; i < k; i++) SSL_SESSION_free(found[i]);
      ops += 1;
      entries += k;
    }
    t1 = bench_now();
  } while (t1 - t0 < duration);
  printf("{\"ops\":%ld,\"entries\":%ld,\"seconds\":%.6f,\"perSec\":%.1f,\"entriesPerSec\":%.1f}\n", ops, entries, t1 - t0,
         ops / (t1 - t0), entries / (t1 - t0));
  SSL_CTX_free(ctx);
  return 0;
}
