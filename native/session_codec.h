// Decoding and printing SSL_SESSIONs without 1.0.2's silent surprises.
//
// d2i_SSL_SESSION (ssl_asn1.c) truncates a session id over 32 bytes, a master key over
// 48 and a key_arg over 8 without an error; it takes any `time` / `timeout` INTEGER a long
// holds (2^63−1 cannot be read back exactly as a JS number, nor written back);
// PEM_read_bio_SSL_SESSION prompts on the terminal for an encrypted PEM; SSL_SESSION_print
// fails with an empty error queue on an empty PSK identity / hint / SRP user name
// (BIO_printf of "" returns 0) or an empty ticket. These functions refuse or work around
// each, with a typed error.
#pragma once
#include <napi.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <string>

namespace session_codec {
// The largest time / timeout a session may carry: JS numbers are exact up to 2^53−1.
constexpr long kMaxSafeSeconds = 9007199254740991L;

// d2i_SSL_SESSION of exactly `der` (no trailing bytes), refusing what 1.0.2 would
// truncate (RangeError) and times outside [0, 2^53−1] (RangeError). nullptr after
// throwing.
SSL_SESSION* Decode(Napi::Env env, const unsigned char* der, size_t length);
// The same for "-----BEGIN SSL SESSION PARAMETERS-----" PEM text; an encrypted PEM
// fails at once (ERR_PASSPHRASE_REQUIRED), never prompts.
SSL_SESSION* DecodePem(Napi::Env env, const std::string& pem);
// SSL_SESSION_print; empty strings print as "" (quoted), an empty ticket as none.
// undefined after throwing.
Napi::Value Print(Napi::Env env, SSL_SESSION* s);
}  // namespace session_codec
