#include "pem_password.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>
#include <string>

#include "openssl_error.h"
#include "error_codes.h"

PemPassword::~PemPassword() {
  if (!passphrase_.empty()) OPENSSL_cleanse(&passphrase_[0], passphrase_.size());
}

int PemPassword::Callback(char* buf, int size, int /*rwflag*/, void* self) {
  PemPassword* p = static_cast<PemPassword*>(self);
  if (p == nullptr) return -1;
  p->asked_ = true;
  if (!p->given_ || size < 0 || p->passphrase_.size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, p->passphrase_.data(), p->passphrase_.size());
  return static_cast<int>(p->passphrase_.size());
}

void PemPassword::ThrowFailure(Napi::Env env, const char* what, const char* badCode, const char* remedy) const {
  if (asked_ && !given_) {
    std::string m = std::string(what) + ": the PEM is encrypted and no passphrase was given (" + remedy + ")";
    openssl_error::Throw(env, m.c_str(), error_codes::kPassphraseRequired);
    return;
  }
  if (asked_) {
    std::string m = std::string(what) + ": wrong passphrase or corrupt encrypted PEM";
    openssl_error::Throw(env, m.c_str(), badCode);
    return;
  }
  openssl_error::Throw(env, what, badCode);
}
