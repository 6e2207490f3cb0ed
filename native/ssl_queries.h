// What node:tls's TLSSocket asks of a connection (getPeerCertificate, getCipher,
// getFinished, exportKeyingMaterial, the verify result, the key log line, ...), as free
// functions of an SSL*: one implementation for both connection paths, the TlsConnection of
// a TLSSocket (tls_connection*.cc) and a native listener's connection (native_listener*.cc),
// both reaching JS through Query(). None calls into JS; each takes the error queue's guard.
#pragma once
#include <napi.h>
#include <openssl/ssl.h>

namespace ssl_queries {

// the verify callback of a server that asks for a client certificate: the chain is checked
// to the end (the result stays in SSL_get_verify_result) and lib decides afterwards with
// node:tls's error codes (lib/tls/peer_certificate.ts)
int AcceptAnyCertificate(int ok, X509_STORE_CTX* store);

// node:tls-shaped certificate object of the peer's certificate, undefined without one
Napi::Value PeerCertificate(Napi::Env env, SSL* ssl);
// SSL_get_peer_cert_chain as certificate objects (a server's does not carry the client's leaf)
Napi::Value PeerCertificateChain(Napi::Env env, SSL* ssl);
// SSL_get_verify_result (X509_V_OK = 0)
Napi::Value VerifyResult(Napi::Env env, SSL* ssl);
// "CLIENT_RANDOM <client random> <master secret>" (NSS key log format), or undefined
Napi::Value KeylogLine(Napi::Env env, SSL* ssl);
// { name, standardName, version } of the current cipher, or undefined
Napi::Value CipherDetails(Napi::Env env, SSL* ssl);
// client: the server's ephemeral key ({ type: 'ECDH', name, size } | { type: 'DH', size }), or undefined
Napi::Value EphemeralKeyInfo(Napi::Env env, SSL* ssl);
// SSL_get0_alpn_selected, or undefined
Napi::Value AlpnProtocol(Napi::Env env, SSL* ssl);

// query(name, ...args) of TlsConnection and of NativeListener (whose connection id comes
// first): `info[first]` is the query's name, its arguments follow. Names: the functions
// above (peerCertificate, peerCertificateChain, verifyResult, keylogLine, cipher,
// ephemeralKeyInfo, alpnProtocol) and certificate, finished, peerFinished, tlsTicket,
// sharedSigalgs, exportKeyingMaterial(length, label[, context]), protocol, reused, session
// (an SslSessionHandle of SSL_get1_session once the handshake finished). Throws TypeError
// for an unknown name or a wrong argument, OpenSSLError when OpenSSL fails.
Napi::Value Query(const Napi::CallbackInfo& info, size_t first, SSL* ssl);

}  // namespace ssl_queries
