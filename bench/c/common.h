/* Shared setup for the C baselines: the same OpenSSL 1.0.2h static libraries and the
 * same process-wide initialisation the addon performs (locking callbacks included, so
 * CRYPTO_w_lock costs the same pthread mutex here as inside Node). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t *bench_locks;

static inline void bench_lock_cb(int mode, int n, const char *f, int l) {
  (void)f;
  (void)l;
  if (mode & CRYPTO_LOCK)
    pthread_mutex_lock(&bench_locks[n]);
  else
    pthread_mutex_unlock(&bench_locks[n]);
}

static void bench_thread_id(CRYPTO_THREADID *id) { CRYPTO_THREADID_set_numeric(id, (unsigned long)pthread_self()); }

static inline void bench_init(void) {
  int n = CRYPTO_num_locks(), i;
  bench_locks = malloc(sizeof(pthread_mutex_t) * n);
  for (i = 0; i < n; i++) pthread_mutex_init(&bench_locks[i], NULL);
  CRYPTO_THREADID_set_callback(bench_thread_id);
  CRYPTO_set_locking_callback(bench_lock_cb);
  SSL_library_init();
  SSL_load_error_strings();
  ERR_load_crypto_strings();
  OpenSSL_add_all_algorithms();
}

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void bench_die(const char *what) {
  fprintf(stderr, "%s failed\n", what);
  ERR_print_errors_fp(stderr);
  exit(1);
}

/* a server-cache-shaped session: TLS 1.2, a 32-byte random id */
static inline SSL_SESSION *bench_session(void) {
  SSL_SESSION *s = SSL_SESSION_new();
  if (!s) bench_die("SSL_SESSION_new");
  s->ssl_version = TLS1_2_VERSION;
  s->session_id_length = 32;
  RAND_bytes(s->session_id, 32);
  return s;
}

static inline unsigned char *bench_read_file(const char *path, long *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf;
  if (!f) bench_die(path);
  fseek(f, 0, SEEK_END);
  *len = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc(*len + 1);
  if (fread(buf, 1, *len, f) != (size_t)*len) bench_die("fread");
  buf[*len] = 0;
  fclose(f);
  return buf;
}
#endif
