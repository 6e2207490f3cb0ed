// Lookup of OpenSSL 1.0.2 SSL_CIPHER objects by name (for SslSession.create).
#pragma once
#include <openssl/ssl.h>

namespace cipher_table {
// The library's own cipher object for `name` (e.g. "ECDHE-RSA-AES128-GCM-SHA256"), or
// nullptr when this build has no such cipher. Thread-safe.
const SSL_CIPHER* Find(const char* name);
}  // namespace cipher_table
