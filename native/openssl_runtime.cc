#include "openssl_runtime.h"

#include "openssl_memory.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <pthread.h>

#include <atomic>
#include <mutex>

namespace {
std::once_flag once;
pthread_mutex_t* locks = nullptr;  // lives as long as the process: other threads may use it
int context_index = -1;
int session_index = -1;
int connection_index = -1;
int listener_connection_index = -1;

// The thread that holds CRYPTO_LOCK_SSL_CTX for writing (see HoldsContextWriteLock): the
// remove callback runs under it only when SSL_CTX_add_session evicts (or a flush runs).
// Set by the holder after locking, reset to pthread_t{} (no thread) before unlocking; the
// lock is a plain mutex, so one holder at a time, and a thread always reads its own last
// write or a later one, so it never sees itself as owner after it let go. Not a
// thread_local: in a dlopen-ed addon each thread_local access is a __tls_get_addr call, and
// this runs on every lock of every cache call (bench B1).
std::atomic<pthread_t> contextWriteOwner{};

void LockingCallback(int mode, int n, const char*, int) {
  bool contextWrite = n == CRYPTO_LOCK_SSL_CTX && (mode & CRYPTO_WRITE);
  if (mode & CRYPTO_LOCK) {
    pthread_mutex_lock(&locks[n]);
    if (contextWrite) contextWriteOwner.store(pthread_self(), std::memory_order_relaxed);
  } else {
    if (contextWrite) contextWriteOwner.store(pthread_t{}, std::memory_order_relaxed);
    pthread_mutex_unlock(&locks[n]);
  }
}

void ThreadIdCallback(CRYPTO_THREADID* id) {
  CRYPTO_THREADID_set_numeric(id, static_cast<unsigned long>(pthread_self()));
}

void Initialise() {
  openssl_memory::Install();  // before any OpenSSL call allocates
  int n = CRYPTO_num_locks();
  locks = new pthread_mutex_t[n];
  for (int i = 0; i < n; i++) pthread_mutex_init(&locks[i], nullptr);
  CRYPTO_THREADID_set_callback(ThreadIdCallback);
  CRYPTO_set_locking_callback(LockingCallback);
  SSL_library_init();
  SSL_load_error_strings();
  ERR_load_crypto_strings();
  OpenSSL_add_all_algorithms();
  context_index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  session_index = SSL_SESSION_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  connection_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  listener_connection_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
}
}  // namespace

namespace openssl_runtime {
void EnsureInitialised() { std::call_once(once, Initialise); }
int ContextIndex() { return context_index; }
int SessionIndex() { return session_index; }
int ConnectionIndex() { return connection_index; }
int ListenerConnectionIndex() { return listener_connection_index; }
bool HoldsContextWriteLock() {
  return pthread_equal(contextWriteOwner.load(std::memory_order_relaxed), pthread_self()) != 0;
}
}  // namespace openssl_runtime
