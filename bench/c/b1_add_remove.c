/* B1 baseline: SSL_CTX_add_session + SSL_CTX_remove_session pairs on a cache that already
 * holds N sessions (32-byte random ids). Usage: b1_add_remove N duration_ms [batch]
 * batch: the order addSessions/removeSessions produce (1024 adds, then 1024 removes). */
#include "common.h"

#define POOL 1024

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000;
  double duration = (argc > 2 ? atof(argv[2]) : 500) / 1000.0;
  SSL_SESSION *pool[POOL];
  SSL_CTX *ctx;
  long i, pairs = 0;
  double t0, t1;
  int batch = argc > 3 && strcmp(argv[3], "batch") == 0;
  bench_init();
  ctx = SSL_CTX_new(SSLv23_server_method());
  if (!ctx) bench_die("SSL_CTX_new");
  SSL_CTX_sess_set_cache_size(ctx, 0); /* unlimited, like the JS side */
  for (i = 0; i < n; i++) {
    SSL_SESSION *s = bench_session();
    SSL_CTX_add_session(ctx, s);
    SSL_SESSION_free(s); /* the cache keeps its reference */
  }
  for (i = 0; i < POOL; i++) pool[i] = bench_session();
  /* warm-up */
  for (i = 0; i < POOL; i++) {
    SSL_CTX_add_session(ctx, pool[i]);
    SSL_CTX_remove_session(ctx, pool[i]);
  }
  t0 = bench_now();
  do {
    if (batch) {
      for (i = 0; i < POOL; i++)
        if (SSL_CTX_add_session(ctx, pool[i]) != 1) bench_die("add");
      for (i = 0; i < POOL; i++)
        if (SSL_CTX_remove_session(ctx, pool[i]) != 1) bench_die("remove");
    } else {
      for (i = 0; i < POOL; i++) {
        if (SSL_CTX_add_session(ctx, pool[i]) != 1) bench_die("add");
        if (SSL_CTX_remove_session(ctx, pool[i]) != 1) bench_die("remove");
      }
    }
    pairs += POOL;
    t1 = bench_now();
  } while (t1 - t0 < duration);
  if (SSL_CTX_sess_number(ctx) != n) bench_die("cache size check");
  printf("{\"ops\":%ld,\"seconds\":%.6f,\"perSec\":%.1f}\n", pairs, t1 - t0, pairs / (t1 - t0));
  for (i = 0; i < POOL; i++) SSL_SESSION_free(pool[i]);
  SSL_CTX_free(ctx);
  return 0;
}
