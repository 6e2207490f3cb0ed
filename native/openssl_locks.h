// Scoped holders of OpenSSL 1.0.2's global locks (CRYPTO_LOCK_SSL_CTX, CRYPTO_LOCK_SSL_SESSION):
// the lock is taken by the constructor and given back by the destructor, so no path out
// of a locked section (an early return included) leaves it held. Nothing inside a locked
// section may call into JS (docs/architecture.md, rule 3): keep the scopes to OpenSSL's
// own data, and build JS values after the scope ends.
#pragma once
#include <openssl/crypto.h>

namespace openssl_locks {

template <bool Write>
class Scoped {
 public:
  explicit Scoped(int lock) : lock_(lock) {
    if (Write)
      CRYPTO_w_lock(lock_);
    else
      CRYPTO_r_lock(lock_);
  }
  ~Scoped() {
    if (Write)
      CRYPTO_w_unlock(lock_);
    else
      CRYPTO_r_unlock(lock_);
  }
  Scoped(const Scoped&) = delete;
  Scoped& operator=(const Scoped&) = delete;

 private:
  int lock_;
};

}  // namespace openssl_locks

// CRYPTO_r_lock(lock) for the scope: `ReadLock held(CRYPTO_LOCK_SSL_CTX);`
using ReadLock = openssl_locks::Scoped<false>;
// CRYPTO_w_lock(lock) for the scope
using WriteLock = openssl_locks::Scoped<true>;
