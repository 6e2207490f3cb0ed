// PEM pass phrases without a terminal.
//
// Every PEM_read_bio_* call in 1.0.2 that gets a NULL password callback falls back to
// PEM_def_callback, which prompts "Enter PEM pass phrase:" and reads the terminal (or
// stdin) synchronously: a PEM with "Proc-Type: 4,ENCRYPTED" (or an encrypted PKCS#8 key)
// would block the event loop indefinitely. Native code never passes NULL: it passes
// PemPassword's callback, which answers with the pass phrase the caller gave (options
// .passphrase, as node:tls) or fails at once, and remembers that it was asked so the
// error can say why.
#pragma once
#include <napi.h>

#include <string>

class PemPassword {
 public:
  PemPassword() = default;  // no pass phrase: an encrypted PEM fails at once
  PemPassword(std::string passphrase, bool given) : passphrase_(std::move(passphrase)), given_(given) {}
  ~PemPassword();  // wipes the copy of the pass phrase
  PemPassword(const PemPassword&) = delete;
  PemPassword& operator=(const PemPassword&) = delete;

  // pem_password_cb: the pass phrase, or -1 (no pass phrase / too long for OpenSSL's buffer)
  static int Callback(char* buf, int size, int rwflag, void* self);
  void* data() { return this; }

  bool asked() const { return asked_; }
  bool given() const { return given_; }

  // After a failed PEM read: throws the error for `what`, naming the pass phrase when
  // OpenSSL asked for one (ERR_PASSPHRASE_REQUIRED without one, `badCode` with a wrong
  // one), else OpenSSL's own error with `badCode`.
  // `remedy` completes "no passphrase was given (...)".
  void ThrowFailure(Napi::Env env, const char* what, const char* badCode, const char* remedy = "pass options.passphrase") const;

 private:
  std::string passphrase_;
  bool given_ = false;
  bool asked_ = false;
};
