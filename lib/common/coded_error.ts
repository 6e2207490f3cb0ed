/**
 * Error codes this package sets on `Error.code` besides the `ERR_OSSL_*` codes derived from
 * OpenSSL's error queue (see OpenSSLError). The key is the name in this object, the value
 * is what `err.code` holds: `err.code === ErrorCode.FREED` (`'ERR_SSL_FREED'`).
 */
export const ErrorCode = {
  /** a method was called on an SslContext or SslSession after free() (also: write to a closed TLSSocket) */
  FREED: 'ERR_SSL_FREED',
  /** addSession of a session that another context's cache holds (1.0.2 would corrupt both) */
  SESSION_IN_OTHER_CONTEXT: 'ERR_SESSION_IN_OTHER_CONTEXT',
  /** OpenSSLError of SslSession.fromDER/fromPEM when OpenSSL queued no reason (e.g. trailing bytes) */
  SESSION_DECODE: 'ERR_SESSION_DECODE',
  /** SslSession.fromDER/fromPEM of a session written by OpenSSL 1.1/3 (fields 1.0.2 does not know) */
  SESSION_FROM_NEWER_OPENSSL: 'ERR_SESSION_FROM_NEWER_OPENSSL',
  /** OpenSSLError of toDER/toPEM when OpenSSL queued no reason (a session without a cipher) */
  SESSION_NOT_ENCODABLE: 'ERR_SESSION_NOT_ENCODABLE',
  /** OpenSSLError of new SslContext when the certificate (or ca) does not load */
  BAD_CERTIFICATE: 'ERR_BAD_CERTIFICATE',
  /** OpenSSLError of new SslContext when the key does not load or match the certificate */
  BAD_KEY: 'ERR_BAD_KEY',
  /** OpenSSLError of new SslContext / setCipherList when no cipher of the list is known */
  BAD_CIPHERS: 'ERR_BAD_CIPHERS',
  /** OpenSSLError of handshake() when OpenSSL queued no reason */
  TLS_HANDSHAKE: 'ERR_TLS_HANDSHAKE',
  /** a TLSSocket's OpenSSL connection failed without a reason in the queue */
  TLS_FAILED: 'ERR_TLS_FAILED',
  /** a TLSSocket's connection was used from inside its own OpenSSL call (a listener re-entered it) */
  TLS_REENTRANT: 'ERR_TLS_REENTRANT',
  /** a client TLSSocket with rejectUnauthorized: the peer certificate did not verify */
  TLS_CERT_VERIFY: 'ERR_TLS_CERT_VERIFY',
  /** createServer without a certificate and key (nor a context or SNICallback) */
  TLS_NO_CERTIFICATE: 'ERR_TLS_NO_CERTIFICATE',
  /** a client TLSSocket negotiated a protocol outside its minVersion..maxVersion (an offered session) */
  TLS_PROTOCOL_VERSION: 'ERR_TLS_PROTOCOL_VERSION',
  /** a TLSSocket's peer started a renegotiation, which both sides refuse (node:tls's code) */
  TLS_RENEGOTIATION_DISABLED: 'ERR_TLS_RENEGOTIATION_DISABLED',
  /** a TLSSocket's handshake took longer than handshakeTimeout */
  TLS_HANDSHAKE_TIMEOUT: 'ERR_TLS_HANDSHAKE_TIMEOUT',
  /** a TlsServer's session store did not answer within sessionStoreTimeout */
  SESSION_STORE_TIMEOUT: 'ERR_SESSION_STORE_TIMEOUT',
  /** the session store cannot be reached (no connection, connection lost or reset) */
  SESSION_STORE_UNREACHABLE: 'ERR_SESSION_STORE_UNREACHABLE',
  /** the session store answered with a refusal (Redis NOPERM, READONLY, OOM, an ACL without a command) */
  SESSION_STORE_REFUSED: 'ERR_SESSION_STORE_REFUSED',
  /** the session store refused the credentials (Redis NOAUTH, WRONGPASS) */
  SESSION_STORE_AUTH: 'ERR_SESSION_STORE_AUTH',
  /** a store.get that never settled: its lookup slot was taken back */
  SESSION_STORE_RECLAIMED: 'ERR_SESSION_STORE_RECLAIMED',
  /** ClusterSessionStore.primary() outside the primary, or new ClusterSessionStore() outside a worker */
  CLUSTER_STORE_ROLE: 'ERR_CLUSTER_STORE_ROLE',
  /** new RedisSessionStore without the optional peer dependency ioredis installed */
  IOREDIS_MISSING: 'ERR_IOREDIS_MISSING',
  /** a TicketKeySource failed to answer a claim (the value vanished between SET NX and GET) */
  TICKET_KEY_SOURCE: 'ERR_TICKET_KEY_SOURCE',
  /** a sealed ticket key from the source did not open under the key-encryption key (wrong key or tampered) */
  TICKET_KEY_UNSEAL: 'ERR_TICKET_KEY_UNSEAL',
  /** registerMetrics without the optional peer dependency prom-client installed */
  PROM_CLIENT_MISSING: 'ERR_PROM_CLIENT_MISSING',
  /** TypeError: an option name that new SslContext / createServer do not know (a typo) */
  UNKNOWN_OPTION: 'ERR_TLS_UNKNOWN_OPTION',
  /** a node:tls option (or option value) that OpenSSL 1.0.2 or this package cannot honour */
  OPTION_NOT_SUPPORTED: 'ERR_TLS_OPTION_NOT_SUPPORTED',
  /** OpenSSLError with an empty error queue and no more specific code */
  OPENSSL_FAILED: 'ERR_OPENSSL_FAILED',
  // the other codes native code sets (native/error_codes.h; test/97 keeps both lists equal)
  /** RangeError: addSession (or a get callback's result) of a session with an empty id, which 1.0.2 could neither find, remove nor evict */
  SESSION_ID_EMPTY: 'ERR_SESSION_ID_EMPTY',
  /** OpenSSLError of an encrypted PEM read without a passphrase (OpenSSL queued no reason) */
  PASSPHRASE_REQUIRED: 'ERR_PASSPHRASE_REQUIRED',
  /** OpenSSLError of new SslContext when `crl` does not load (OpenSSL queued no reason) */
  BAD_CRL: 'ERR_BAD_CRL',
  /** OpenSSLError of new SslContext when `dhparam` does not load (OpenSSL queued no reason) */
  BAD_DHPARAM: 'ERR_BAD_DHPARAM',
  /** OpenSSLError of new SslContext when `pfx` does not load (OpenSSL queued no reason) */
  BAD_PFX: 'ERR_BAD_PFX',
  /** node's code: `ecdhCurve` or `sigalgs` that OpenSSL does not accept */
  CRYPTO_OPERATION_FAILED: 'ERR_CRYPTO_OPERATION_FAILED',
} as const;

/** one of the values of ErrorCode */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export function codedError(code: string, message: string): Error & { code: string } {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  return e;
}
