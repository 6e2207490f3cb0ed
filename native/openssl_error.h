// Turning OpenSSL's error queue into the JS OpenSSLError (class injected from lib/).
#pragma once
#include <napi.h>
#include "error_codes.h"

namespace openssl_error {
// Drains the calling thread's error queue into a new OpenSSLError and throws it.
// `what` names the failed operation; the first queued reason completes the message.
void Throw(Napi::Env env, const char* what, const char* fallbackCode = error_codes::kOpensslFailed);
// The same OpenSSLError, made but not thrown (undefined if making it threw).
Napi::Value Make(Napi::Env env, const char* what, const char* fallbackCode = error_codes::kOpensslFailed);
// Throws Error with a `code` property (ERR_SSL_FREED, ERR_SESSION_IN_OTHER_CONTEXT, ...).
void ThrowCoded(Napi::Env env, const char* code, const char* message);
// Makes (without throwing) an Error with a `code` property, from lib's realm if known.
Napi::Value MakeCoded(Napi::Env env, const char* code, const char* message);
void ThrowType(Napi::Env env, const char* message);
void ThrowRange(Napi::Env env, const char* message);
// RangeError with a `code` property (ERR_SESSION_ID_EMPTY, ...).
void ThrowRangeCoded(Napi::Env env, const char* code, const char* message);
}  // namespace openssl_error

// Clears the thread's OpenSSL error queue when the scope ends, so nothing a call left
// behind is blamed on the next one.
class ErrorQueueGuard {
 public:
  ErrorQueueGuard();
  ~ErrorQueueGuard();
  ErrorQueueGuard(const ErrorQueueGuard&) = delete;
  ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
};
