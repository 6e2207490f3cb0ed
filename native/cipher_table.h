// Lookup of OpenSSL 1.0.2 SSL_CIPHER objects by name (for SslSession.create).
#pragma once
#include <openssl/ssl.h>

#include <string>

namespace cipher_table {
// The library's own cipher object for `name` (e.g. "ECDHE-RSA-AES128-GCM-SHA256"), or
// nullptr when this build has no such cipher. Thread-safe.
const SSL_CIPHER* Find(const char* name);
// The library's cipher object for a decoded session's `cipher_id` (0x0300XXXX: an SSLv3/TLS
// suite), or nullptr when 1.0.2 does not know the suite. d2i_SSL_SESSION records only the
// id; OpenSSL itself resolves it (ssl_get_cipher_by_char) in ssl_get_prev_session.
const SSL_CIPHER* FindById(unsigned long cipherId);
// The suite's IANA name, TLS_<kx>_<auth>_WITH_<enc>_<mac>, from its algorithm bits; "" when
// unknown (both connection paths name the negotiated cipher with it)
std::string StandardName(const SSL_CIPHER* c);
// The protocol version that introduced the suite, as node:tls names it: TLSv1.2, TLSv1, SSLv3
const char* Version(const SSL_CIPHER* c);
}  // namespace cipher_table
