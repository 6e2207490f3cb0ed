// In-process TLS handshake between two SSL objects over a BIO pair.
#pragma once
#include <napi.h>

namespace handshake {
// handshake(clientCtx, serverCtx, session|undefined, serverName|undefined, shutdown)
//   -> { clientResumed, serverResumed, clientSession, serverSession, protocol, cipher }
Napi::Value JS_handshake(const Napi::CallbackInfo& info);
}  // namespace handshake
