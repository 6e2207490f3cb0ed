// Self-signed certificates made with OpenSSL 1.0.2's own RSA and X509 API.
#pragma once
#include <napi.h>

namespace x509_generator {
// generateSelfSigned(commonName, days, bits, altNames) -> { cert, key } (PEM); altNames is
// a flat [kind, value, ...] list (0 = DNS name, 1 = IP address) validated by lib/
Napi::Value JS_generateSelfSigned(const Napi::CallbackInfo& info);
}  // namespace x509_generator
