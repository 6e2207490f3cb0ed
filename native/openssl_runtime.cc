#include "openssl_runtime.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <pthread.h>

#include <mutex>

namespace {
std::once_flag once;
pthread_mutex_t* locks = nullptr;  // lives as long as the process: other threads may use it
int context_index = -1;
int session_index = -1;
int connection_index = -1;

// How many times this thread holds CRYPTO_LOCK_SSL_CTX for writing (see
// HoldsContextWriteLock): the remove callback runs under it only when SSL_CTX_add_session
// evicts (or a flush runs).
thread_local int contextWriteDepth = 0;

void LockingCallback(int mode, int n, const char*, int) {
  bool contextWrite = n == CRYPTO_LOCK_SSL_CTX && (mode & CRYPTO_WRITE);
  if (mode & CRYPTO_LOCK) {
    pthread_mutex_lock(&locks[n]);
    if (contextWrite) contextWriteDepth++;
  } else {
    if (contextWrite) contextWriteDepth--;
    pthread_mutex_unlock(&locks[n]);
  }
}

void ThreadIdCallback(CRYPTO_THREADID* id) {
  CRYPTO_THREADID_set_numeric(id, static_cast<unsigned long>(pthread_self()));
}

void Initialise() {
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
}
}  // namespace

namespace openssl_runtime {
void EnsureInitialised() { std::call_once(once, Initialise); }
int ContextIndex() { return context_index; }
int SessionIndex() { return session_index; }
int ConnectionIndex() { return connection_index; }
bool HoldsContextWriteLock() { return contextWriteDepth > 0; }
}  // namespace openssl_runtime
