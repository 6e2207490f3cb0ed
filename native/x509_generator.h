// Self-signed certificates made with OpenSSL 1.0.2's own RSA and X509 API.
#pragma once
#include <napi.h>

namespace x509_generator {
// generateSelfSigned(commonName, days, bits) -> { cert, key } (PEM)
Napi::Value JS_generateSelfSigned(const Napi::CallbackInfo& info);
}  // namespace x509_generator
