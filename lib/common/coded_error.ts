/**
 * The registry of error codes: every code this package puts on `Error.code` — its own, the
 * node codes it uses where node:tls would, and the few it gives OpenSSL failures itself —
 * besides the codes derived from OpenSSL's error queue (`ERR_SSL_<REASON>`,
 * `ERR_OSSL_<LIB>_<REASON>`, see OpenSSLError) and the X.509 verification codes
 * (lib/tls/cert_errors.ts). Native code throws some of them by name (native/); lib throws
 * them through codedError(). The key is the name in this object, the value is what
 * `err.code` holds: `err.code === ErrorCode.FREED` (`'ERR_SSL_FREED'`). docs/api.md
 * lists each one; test/99.error_registry checks both directions.
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
  /** TlsServer#addContext with an empty server name (node:tls's code) */
  TLS_REQUIRED_SERVER_NAME: 'ERR_TLS_REQUIRED_SERVER_NAME',
  /** a client TLSSocket negotiated a protocol outside its minVersion..maxVersion (an offered session) */
  TLS_PROTOCOL_VERSION: 'ERR_TLS_PROTOCOL_VERSION',
  /** a TLSSocket's peer started a renegotiation, which both sides refuse (node:tls's code) */
  TLS_RENEGOTIATION_DISABLED: 'ERR_TLS_RENEGOTIATION_DISABLED',
  /** (node's code) exportKeyingMaterial() on a socket whose handshake has not finished, or that is closed */
  TLS_INVALID_STATE: 'ERR_TLS_INVALID_STATE',
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
  /** OpenSSLError of an encrypted PEM read without a passphrase (OpenSSL queued no reason) */
  PASSPHRASE_REQUIRED: 'ERR_PASSPHRASE_REQUIRED',
  /** OpenSSLError of a wrong or missing passphrase: node's code for 1.0.2's "bad decrypt" / "bad password read" */
  BAD_DECRYPT: 'ERR_OSSL_BAD_DECRYPT',
  /** OpenSSLError: bytes that are not TLS (1.0.2's "unknown protocol"), node's code */
  WRONG_VERSION_NUMBER: 'ERR_SSL_WRONG_VERSION_NUMBER',
  /** OpenSSLError of new SslContext: crl, dhparam, pfx that do not load (OpenSSL queued no reason) */
  BAD_CRL: 'ERR_BAD_CRL',
  BAD_DHPARAM: 'ERR_BAD_DHPARAM',
  BAD_PFX: 'ERR_BAD_PFX',
  /** (node's code) ecdhCurve or sigalgs that OpenSSL 1.0.2 does not accept */
  CRYPTO_OPERATION_FAILED: 'ERR_CRYPTO_OPERATION_FAILED',
  /** TypeError (node's code): minVersion / maxVersion not a protocol name */
  TLS_INVALID_PROTOCOL_VERSION: 'ERR_TLS_INVALID_PROTOCOL_VERSION',
  /** TypeError (node's code): secureProtocol not a method 1.0.2 has */
  TLS_INVALID_PROTOCOL_METHOD: 'ERR_TLS_INVALID_PROTOCOL_METHOD',
  /** TypeError (node's code): dhparam under 1024 bits */
  INVALID_ARG_VALUE: 'ERR_INVALID_ARG_VALUE',
  /** a server refused the ClientHello: only TLS 1.3, or only versions below minVersion (node's code) */
  SSL_UNSUPPORTED_PROTOCOL: 'ERR_SSL_UNSUPPORTED_PROTOCOL',
  /** a server refused the ClientHello: no ALPN protocol in common (node's code) */
  SSL_NO_APPLICATION_PROTOCOL: 'ERR_SSL_NO_APPLICATION_PROTOCOL',
  /** (node's code) the peer closed the connection before the TLS handshake completed */
  CONNECTION_RESET: 'ECONNRESET',
  /** (node's code) a write pending when the TLSSocket was destroyed */
  STREAM_DESTROYED: 'ERR_STREAM_DESTROYED',
  /** (node's code) a write to a connection whose peer already closed it (connectionPath 'native') */
  BROKEN_PIPE: 'EPIPE',
  /** (node's code) listen() on a server that is already listening (connectionPath 'native') */
  SERVER_ALREADY_LISTEN: 'ERR_SERVER_ALREADY_LISTEN',
  /** (node's code) close() on a server that is not listening (connectionPath 'native') */
  SERVER_NOT_RUNNING: 'ERR_SERVER_NOT_RUNNING',
  /** the native connection path could not start (no libuv loop for the environment) */
  NATIVE_PATH: 'ERR_NATIVE_PATH',
  /** RangeError: addSession / a get callback's session with an empty id (1.0.2 could neither find nor remove it) */
  SESSION_ID_EMPTY: 'ERR_SESSION_ID_EMPTY',
  /** RangeError of the session DER rewriting (toOpenSSL102 / toOpenSSL3): not an SSL_SESSION encoding */
  SESSION_DER: 'ERR_SESSION_DER',
  /** RangeError of toOpenSSL102: a TLS 1.3 session, which 1.0.2 cannot import or resume */
  SESSION_TLS13: 'ERR_SESSION_TLS13',
  /** RangeError of toOpenSSL102: a session that used the extended master secret (RFC 7627) */
  SESSION_EXTMS: 'ERR_SESSION_EXTMS',
  /** the SessionCache contract: no session has that handle */
  INVALID_HANDLE: 'ERR_INVALID_HANDLE',
  /** the SessionCache contract: a handshake's new session id is already cached */
  SESSION_ID_CONFLICT: 'ERR_SESSION_ID_CONFLICT',
  /** the SessionCache contract: the handshake failed */
  HANDSHAKE_FAILED: 'ERR_HANDSHAKE_FAILED',
  /** a conformance shim did not answer in time */
  SHIM_TIMEOUT: 'ERR_SHIM_TIMEOUT',
  /** a conformance shim exited (or is not running) */
  SHIM_EXITED: 'ERR_SHIM_EXITED',
  /** a conformance shim answered something that is not the protocol */
  SHIM_PROTOCOL: 'ERR_SHIM_PROTOCOL',
  /** the package found no addon to load (AddonNotFoundError) */
  NO_ADDON: 'ERR_OPENSSL_SESSION_CACHE_NO_ADDON',
} as const;

/** one of the values of ErrorCode */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** an Error class codedError() can make */
type ErrorClass = new (message: string) => Error;

/** An error of the registry: `Base` (Error, TypeError, RangeError) with `code`. */
export function codedError<C extends ErrorClass = ErrorConstructor>(code: ErrorCodeValue, message: string, Base?: C): InstanceType<C> & { code: ErrorCodeValue } {
  const e = new (Base ?? Error)(message) as InstanceType<C> & { code: ErrorCodeValue };
  e.code = code;
  return e;
}

/**
 * An Error whose code is not this package's: an X.509 verification code as node:tls names
 * it (lib/tls/cert_errors.ts), or the code a conformance shim reported.
 */
export function foreignCodedError(code: string, message: string): Error & { code: string } {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  return e;
}
