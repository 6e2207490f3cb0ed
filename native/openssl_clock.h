// The wall clock OpenSSL 1.0.2 reads with time(NULL) (session times, expiry, auto-flush).
//
// The addon defines a hidden time() that the statically linked OpenSSL binds to (the
// libraries are resolved inside the addon; nothing outside it sees this symbol). It
// returns the real time unless a conformance run has pinned it, so that runs comparing
// OpenSSL with a model are deterministic. Pinning affects only this addon's OpenSSL.
#pragma once
#include <napi.h>

namespace openssl_clock {
// setClock(seconds | undefined): pin OpenSSL's time(NULL) to `seconds`, or unpin.
Napi::Value JS_setClock(const Napi::CallbackInfo& info);
}  // namespace openssl_clock
