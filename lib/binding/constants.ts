// OpenSSL 1.0.2's constants, as the rest of lib/ uses them: one copy, here. Their
// values are those of the headers the addon is compiled against (test/10.library checks
// each against the binding).

/** `SSL_SESSION.ssl_version` per protocol name (`SSL_get_version`'s spelling): part of the cache key. */
export const PROTOCOL_VERSIONS = Object.freeze({
  SSLv3: 0x0300,
  TLSv1: 0x0301,
  'TLSv1.1': 0x0302,
  'TLSv1.2': 0x0303,
  'DTLSv0.9': 0x0100, // DTLS1_BAD_VER (pre-RFC OpenSSL DTLS)
  DTLSv1: 0xfeff,
  'DTLSv1.2': 0xfefd,
} as const);

/** Protocol names as `SSL_get_version` spells them. */
export type Protocol = keyof typeof PROTOCOL_VERSIONS;

/** The TLS versions this build negotiates (no-ssl2 no-ssl3), lowest first. */
export const TLS_PROTOCOLS = Object.freeze(['TLSv1', 'TLSv1.1', 'TLSv1.2'] as const);
export type TlsProtocol = (typeof TLS_PROTOCOLS)[number];

/** SSL_CTX_set_session_cache_mode flags of OpenSSL 1.0.2 (`SSL_SESS_CACHE_*`). */
export const SessionCacheMode = Object.freeze({
  OFF: 0x0,
  CLIENT: 0x1,
  SERVER: 0x2,
  BOTH: 0x3,
  NO_AUTO_CLEAR: 0x80,
  NO_INTERNAL_LOOKUP: 0x100,
  NO_INTERNAL_STORE: 0x200,
  NO_INTERNAL: 0x300,
} as const);

/** every bit 1.0.2 defines for the cache mode */
export const ALL_SESSION_CACHE_MODE_BITS = SessionCacheMode.BOTH | SessionCacheMode.NO_AUTO_CLEAR | SessionCacheMode.NO_INTERNAL;

/** `SSL_OP_*` options the package sets */
export const SslOption = Object.freeze({
  NO_TICKET: 0x00004000,
  NO_TLSv1: 0x04000000,
  NO_TLSv1_1: 0x10000000,
  NO_TLSv1_2: 0x08000000,
} as const);

/** the `SSL_OP_NO_*` bit of each TLS version */
export const NO_PROTOCOL_OPTION: Readonly<Record<TlsProtocol, number>> = Object.freeze({
  TLSv1: SslOption.NO_TLSv1,
  'TLSv1.1': SslOption.NO_TLSv1_1,
  'TLSv1.2': SslOption.NO_TLSv1_2,
});

/** `SSL_VERIFY_*` */
export const SslVerify = Object.freeze({ NONE: 0x00, PEER: 0x01, FAIL_IF_NO_PEER_CERT: 0x02 } as const);

/** What the native event queue records (SslContextHandle), also its event-mask bits. */
export const SessionEventKind = Object.freeze({ NEW_SESSION: 1, REMOVE_SESSION: 2 } as const);
/** flag on a REMOVE_SESSION event's kind: SSL_CTX_add_session evicted the session (native/session_event_queue.h) */
export const SESSION_EVENT_EVICTED = 0x100;

/** `SSL_MAX_SSL_SESSION_ID_LENGTH`, `SSL_MAX_SID_CTX_LENGTH`, `SSL_MAX_MASTER_KEY_LENGTH` */
export const MAX_SESSION_ID_LENGTH = 32;
export const MAX_SID_CTX_LENGTH = 32;
export const MAX_MASTER_KEY_LENGTH = 48;
