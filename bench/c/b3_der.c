/* B3 baseline: i2d_SSL_SESSION (length, then into a fresh buffer) and d2i_SSL_SESSION
 * (with the trailing-bytes check, then free) of the same DER the JS side uses.
 * Usage: b3_der to|from session.der duration_ms */
#include "common.h"

int main(int argc, char **argv) {
  int to = argc > 1 && strcmp(argv[1], "to") == 0;
  long len, i, ops = 0;
  unsigned char *der;
  const unsigned char *p;
  SSL_SESSION *s;
  double duration = (argc > 3 ? atof(argv[3]) : 500) / 1000.0, t0, t1;
  bench_init();
  der = bench_read_file(argc > 2 ? argv[2] : "session.der", &len);
  p = der;
  s = d2i_SSL_SESSION(NULL, &p, len);
  if (!s) bench_die("d2i_SSL_SESSION");
  t0 = bench_now();
  do {
    for (i = 0; i < 256; i++) {
      if (to) {
        int n = i2d_SSL_SESSION(s, NULL);
        unsigned char *out = malloc(n), *q = out;
        if (n <= 0 || i2d_SSL_SESSION(s, &q) != n) bench_die("i2d_SSL_SESSION");
        free(out);
      } else {
        const unsigned char *q = der;
        SSL_SESSION *t = d2i_SSL_SESSION(NULL, &q, len);
        if (!t || q != der + len) bench_die("d2i_SSL_SESSION");
        SSL_SESSION_free(t);
      }
    }
    ops += 256;
    t1 = bench_now();
  } while (t1 - t0 < duration);
  printf("{\"ops\":%ld,\"seconds\":%.6f,\"perSec\":%.1f}\n", ops, t1 - t0, ops / (t1 - t0));
  SSL_SESSION_free(s);
  return 0;
}
