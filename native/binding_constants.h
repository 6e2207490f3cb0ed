// The `constants` object of the binding: the OpenSSL 1.0.2 numbers and the addon's own
// flags and return codes that lib/ needs, taken from the headers the addon is compiled
// against instead of being retyped in TypeScript (lib/binding/native.ts types each key,
// lib/binding/constants.ts names them for the rest of lib/).
#pragma once
#include <napi.h>

namespace binding_constants {
// A frozen object: protocol versions (flat and by node:tls name), SSL_OP_*, SSL_VERIFY_*,
// SSL_SESS_CACHE_*, SSL_MAX_*_LENGTH, EVENT_* (SessionEventQueue types, mask bits and the
// eviction flag), ADD_* (SslContextHandle's add refusals) and CYCLE_* (TlsConnection flags).
Napi::Object Make(Napi::Env env);
}  // namespace binding_constants
