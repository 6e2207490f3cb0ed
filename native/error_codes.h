// Every `code` native code puts on an error it throws or makes, in one table: the code
// text is written here only (native code names the constant), and the table is exported to
// JS as `errorCodes` (test/97 checks each one is a member of lib's ErrorCode registry and
// documented in docs/api.md). Codes OpenSSL's queue yields (ERR_OSSL_*, ERR_SSL_*) are
// derived in lib/common/openssl_error.ts and are not listed here.
#pragma once
#include <napi.h>

// X(constant, code)
#define NATIVE_ERROR_CODES(X)                                     \
  X(kSslFreed, "ERR_SSL_FREED")                                   \
  X(kSslNoApplicationProtocol, "ERR_SSL_NO_APPLICATION_PROTOCOL") \
  X(kSessionInOtherContext, "ERR_SESSION_IN_OTHER_CONTEXT")       \
  X(kSessionIdEmpty, "ERR_SESSION_ID_EMPTY")                      \
  X(kSessionDecode, "ERR_SESSION_DECODE")                         \
  X(kSessionNotEncodable, "ERR_SESSION_NOT_ENCODABLE")            \
  X(kPassphraseRequired, "ERR_PASSPHRASE_REQUIRED")               \
  X(kBadCertificate, "ERR_BAD_CERTIFICATE")                       \
  X(kBadKey, "ERR_BAD_KEY")                                       \
  X(kBadCiphers, "ERR_BAD_CIPHERS")                               \
  X(kBadCrl, "ERR_BAD_CRL")                                       \
  X(kBadDhparam, "ERR_BAD_DHPARAM")                               \
  X(kBadPfx, "ERR_BAD_PFX")                                       \
  X(kCryptoOperationFailed, "ERR_CRYPTO_OPERATION_FAILED")        \
  X(kTlsHandshake, "ERR_TLS_HANDSHAKE")                           \
  X(kTlsFailed, "ERR_TLS_FAILED")                                 \
  X(kTlsReentrant, "ERR_TLS_REENTRANT")                           \
  X(kTlsRenegotiationDisabled, "ERR_TLS_RENEGOTIATION_DISABLED")  \
  X(kOpensslFailed, "ERR_OPENSSL_FAILED")                         \
  X(kNativePath, "ERR_NATIVE_PATH")                               \
  X(kServerAlreadyListen, "ERR_SERVER_ALREADY_LISTEN")            \
  X(kTlsHandshakeTimeout, "ERR_TLS_HANDSHAKE_TIMEOUT")            \
  X(kConnectionReset, "ECONNRESET")

namespace error_codes {

#define ERROR_CODE_CONSTANT(name, code) inline constexpr const char name[] = code;
NATIVE_ERROR_CODES(ERROR_CODE_CONSTANT)
#undef ERROR_CODE_CONSTANT

// A frozen array of every code of the table, in table order (the addon's `errorCodes`).
inline Napi::Array Make(Napi::Env env) {
#define ERROR_CODE_TEXT(name, code) code,
  static const char* const kAll[] = {NATIVE_ERROR_CODES(ERROR_CODE_TEXT)};
#undef ERROR_CODE_TEXT
  Napi::Array out = Napi::Array::New(env, sizeof kAll / sizeof kAll[0]);
  uint32_t i = 0;
  for (const char* code : kAll) out.Set(i++, Napi::String::New(env, code));
  out.Freeze();
  return out;
}

}  // namespace error_codes
