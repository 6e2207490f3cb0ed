/* The time() that the statically linked OpenSSL 1.0.2 binds to (see openssl_clock.h).
 * Hidden: nothing outside the addon can see or bind to it. Kept free of <time.h>, whose
 * default-visibility declaration of time() would export this definition. */
#include <stdint.h>
#include <sys/types.h>
#include <bits/types/struct_timespec.h>
#include <bits/types/clockid_t.h>

extern int clock_gettime(clockid_t clk, struct timespec *ts);

#define UNPINNED INT64_MIN
#define CLOCK_REALTIME_ID 0

__attribute__((visibility("hidden"))) int64_t openssl_clock_pinned = UNPINNED;

__attribute__((visibility("hidden"))) time_t time(time_t *out) {
  int64_t p = __atomic_load_n(&openssl_clock_pinned, __ATOMIC_RELAXED);
  time_t now;
  if (p != UNPINNED) {
    now = (time_t)p;
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_ID, &ts);
    now = ts.tv_sec;
  }
  if (out) *out = now;
  return now;
}
