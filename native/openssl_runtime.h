// Process-wide OpenSSL 1.0.2 state, initialised exactly once for all threads.
#pragma once

namespace openssl_runtime {
// Library init, error strings, pthread locking and THREADID callbacks. Idempotent and
// thread-safe: worker threads share the one library.
void EnsureInitialised();
// ex_data index under which an SSL_CTX points back to its SslContextHandle.
int ContextIndex();
// ex_data index holding an SSL_SESSION's serial number (SslSessionHandle::serial).
int SessionIndex();
// ex_data index under which an SSL points back to its TlsConnection.
int ConnectionIndex();
// ex_data index under which an SSL of a NativeListener points back to its connection.
int ListenerConnectionIndex();
// Whether the calling thread holds CRYPTO_LOCK_SSL_CTX for writing right now (tracked by
// the locking callback).
bool HoldsContextWriteLock();
}  // namespace openssl_runtime
