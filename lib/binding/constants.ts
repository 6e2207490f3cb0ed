// OpenSSL 1.0.2's constants, as the rest of lib/ uses them: one copy, taken from the
// addon (native/binding_constants.cc: the values of the headers it is compiled against),
// with their literal types declared once in native.ts (NativeConstants).
import { native } from './native';

const c = native.constants;

/** `SSL_SESSION.ssl_version` per protocol name (`SSL_get_version`'s spelling): part of the cache key. */
export const PROTOCOL_VERSIONS = c.PROTOCOL_VERSIONS;

/** Protocol names as `SSL_get_version` spells them. */
export type Protocol = keyof typeof PROTOCOL_VERSIONS;

/** The TLS versions this build negotiates (no-ssl2 no-ssl3), lowest first. */
export const TLS_PROTOCOLS = Object.freeze(['TLSv1', 'TLSv1.1', 'TLSv1.2'] as const);
export type TlsProtocol = (typeof TLS_PROTOCOLS)[number];

/** SSL_CTX_set_session_cache_mode flags of OpenSSL 1.0.2 (`SSL_SESS_CACHE_*`). */
export const SessionCacheMode = Object.freeze({
  OFF: c.SSL_SESS_CACHE_OFF,
  CLIENT: c.SSL_SESS_CACHE_CLIENT,
  SERVER: c.SSL_SESS_CACHE_SERVER,
  BOTH: c.SSL_SESS_CACHE_BOTH,
  NO_AUTO_CLEAR: c.SSL_SESS_CACHE_NO_AUTO_CLEAR,
  NO_INTERNAL_LOOKUP: c.SSL_SESS_CACHE_NO_INTERNAL_LOOKUP,
  NO_INTERNAL_STORE: c.SSL_SESS_CACHE_NO_INTERNAL_STORE,
  NO_INTERNAL: c.SSL_SESS_CACHE_NO_INTERNAL,
} as const);

/** every bit 1.0.2 defines for the cache mode */
export const ALL_SESSION_CACHE_MODE_BITS = SessionCacheMode.BOTH | SessionCacheMode.NO_AUTO_CLEAR | SessionCacheMode.NO_INTERNAL;

/** `SSL_OP_*` options the package sets */
export const SslOption = Object.freeze({
  NO_TICKET: c.SSL_OP_NO_TICKET,
  NO_TLSv1: c.SSL_OP_NO_TLSv1,
  NO_TLSv1_1: c.SSL_OP_NO_TLSv1_1,
  NO_TLSv1_2: c.SSL_OP_NO_TLSv1_2,
  CIPHER_SERVER_PREFERENCE: c.SSL_OP_CIPHER_SERVER_PREFERENCE,
} as const);

/**
 * The `SSL_OP_*` bits of OpenSSL 1.0.2 that mean in it what node's `crypto.constants` of the
 * same name mean (SSL_OP_ALL's workarounds, NO_SSLv3/TLSv1*, NO_TICKET, NO_COMPRESSION,
 * CIPHER_SERVER_PREFERENCE, the renegotiation and legacy bits, ...): what `secureOptions`
 * may carry.
 */
export const SECURE_OPTIONS_MASK =
  (c.SSL_OP_ALL |
    c.SSL_OP_NO_SSLv3 |
    c.SSL_OP_NO_TLSv1 |
    c.SSL_OP_NO_TLSv1_1 |
    c.SSL_OP_NO_TLSv1_2 |
    c.SSL_OP_NO_TICKET |
    c.SSL_OP_NO_COMPRESSION |
    c.SSL_OP_CIPHER_SERVER_PREFERENCE |
    c.SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION |
    c.SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION |
    c.SSL_OP_LEGACY_SERVER_CONNECT |
    c.SSL_OP_TLS_ROLLBACK_BUG |
    c.SSL_OP_CRYPTOPRO_TLSEXT_BUG |
    c.SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS |
    c.SSL_OP_CISCO_ANYCONNECT |
    c.SSL_OP_COOKIE_EXCHANGE |
    c.SSL_OP_NO_QUERY_MTU |
    c.SSL_OP_SINGLE_DH_USE |
    c.SSL_OP_SINGLE_ECDH_USE) >>>
  0;

/** the `SSL_OP_NO_*` bit of each TLS version */
export const NO_PROTOCOL_OPTION: Readonly<Record<TlsProtocol, number>> = Object.freeze({
  TLSv1: SslOption.NO_TLSv1,
  'TLSv1.1': SslOption.NO_TLSv1_1,
  'TLSv1.2': SslOption.NO_TLSv1_2,
});

/** `SSL_VERIFY_*` */
export const SslVerify = Object.freeze({
  NONE: c.SSL_VERIFY_NONE,
  PEER: c.SSL_VERIFY_PEER,
  FAIL_IF_NO_PEER_CERT: c.SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
} as const);

/**
 * What the native event queue records (SslContextHandle), also its event-mask bits.
 * NEW_SESSION_DER is a mask bit only: new-session events then carry the session's id, DER
 * and timeout (serialized in OpenSSL's callback), with no handle unless NEW_SESSION is set too.
 */
export const SessionEventKind = Object.freeze({
  NEW_SESSION: c.EVENT_NEW_SESSION,
  REMOVE_SESSION: c.EVENT_REMOVE_SESSION,
  NEW_SESSION_DER: c.EVENT_NEW_SESSION_DER,
} as const);

/** flags of a TlsConnection cycle result (native/tls_connection.h) */
export const TlsConnectionFlag = Object.freeze({
  HANDSHAKE_DONE: c.CYCLE_HANDSHAKE_DONE,
  PEER_CLOSED: c.CYCLE_PEER_CLOSED,
  FAILED: c.CYCLE_FAILED,
  MORE_PLAINTEXT: c.CYCLE_MORE_PLAINTEXT,
  WANTS_MORE_INPUT: c.CYCLE_WANTS_MORE_INPUT,
  RENEGOTIATION: c.CYCLE_RENEGOTIATION,
} as const);
/** flag on a REMOVE_SESSION event's kind: SSL_CTX_add_session evicted the session (native/session_event_queue.h) */
export const SESSION_EVENT_EVICTED = c.EVENT_EVICTED;

/** What SslContextHandle's addSlot / addDER return instead of SSL_CTX_add_session's 0 / 1 (native/ssl_context_handle.h) */
export const AddRefusal = Object.freeze({
  /** the session sits in another context's cache (1.0.2 would corrupt both lists) */
  IN_OTHER_CONTEXT: c.ADD_IN_OTHER_CONTEXT,
  /** addDER: the DER's session has another id */
  OTHER_ID: c.ADD_OTHER_ID,
  /** addDER: not a session fromDER accepts */
  UNDECODABLE: c.ADD_UNDECODABLE,
} as const);

/** `SSL_MAX_SSL_SESSION_ID_LENGTH`, `SSL_MAX_SID_CTX_LENGTH`, `SSL_MAX_MASTER_KEY_LENGTH` */
export const MAX_SESSION_ID_LENGTH = c.SSL_MAX_SSL_SESSION_ID_LENGTH;
export const MAX_SID_CTX_LENGTH = c.SSL_MAX_SID_CTX_LENGTH;
export const MAX_MASTER_KEY_LENGTH = c.SSL_MAX_MASTER_KEY_LENGTH;
