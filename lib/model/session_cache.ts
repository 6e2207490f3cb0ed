/**
 * The `SessionCache` contract: one OpenSSL 1.0.2h server `SSL_CTX` and its internal
 * session cache, driven through C-shaped, deterministic operations.
 *
 * Two implementations are meant to exist: the pure-TypeScript reference model
 * (`CacheModel`, lib/model/cache_model.ts) and an adapter over the real library
 * (`OpenSSLCache`, lib/conformance/openssl_cache.ts). A differential tester drives both with
 * the same operation sequence and compares every return value, every `stats()` snapshot
 * and every `takeEvents()` batch.
 *
 * ## The context
 * A server context (`SSLv23_server_method`; `role: 'client'` makes it a client context,
 * `SSLv23_client_method`) whose cache mode, cache size and default session timeout start
 * at OpenSSL's own defaults unless options say otherwise. It is configured with
 * `SSL_OP_NO_TICKET`, a session-id context (`options.idContext`, default
 * `DEFAULT_ID_CONTEXT`), `SSL_VERIFY_PEER` when `options.verifyPeer` (the client of
 * `handshake` has no certificate and is accepted without one), a remove-session callback
 * and a new-session callback that keeps the reference it is given (returns 1). A
 * get-session callback is installed only for a `handshake` that asks for one
 * (`HandshakeOptions.callback`); there is no `generate_session_id` other than the one
 * that hands out `HandshakeOptions.id`.
 *
 * ## Handshakes (server role): what the cache does
 * `ssl_get_prev_session` (ssl_sess.c) when the client sends a non-empty id: unless
 * NO_INTERNAL_LOOKUP, the internal lookup (a miss counts `misses`); if that found nothing
 * and a get callback is installed, the callback (`cbHits` when it returns a session,
 * which is then added to the cache unless NO_INTERNAL_STORE, with any evictions that
 * causes). A session found either way is then checked: a different session-id context
 * is a full handshake with NO counter moved (a miss that `misses` does not see); a
 * server with `verifyPeer` and an EMPTY id context fails the handshake
 * (`SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED`, `ERR_HANDSHAKE_FAILED`); an expired session
 * (`timeout < now - time`) counts `timeouts`, is removed from the cache (a `'remove'`
 * event) and the handshake is full; otherwise `hits` and the session is resumed.
 * `ssl_update_cache(s, SSL_SESS_CACHE_SERVER)` after a handshake: a session with an
 * empty id is never stored; a full handshake's session is added when the mode has
 * SERVER (without adding when NO_INTERNAL_STORE) and then handed to the new-session
 * callback (`'new'` event, one reference); the automatic flush `flush(now)` runs inside
 * the handshake that takes `acceptGood` to 256, 512, … when the mode has SERVER and not
 * NO_AUTO_CLEAR. `accept` counts every handshake, `acceptGood` completed ones.
 *
 * ## Handshakes (client role)
 * The context connects to a peer server that never resumes and never caches
 * (`SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL`) and gives its new session
 * `HandshakeOptions.id`. The offered session is the client's `SSL_set_session`; the
 * peer answers with a new id, so the client makes a new session (`time` = `now`,
 * `timeout` from this context, its id context) and `ssl_update_cache(s,
 * SSL_SESS_CACHE_CLIENT)` stores it when the mode has CLIENT (same rules as above,
 * `connectGood` instead of `acceptGood` for the flush). `connect` counts every handshake,
 * `connectGood` completed ones; the cache is never consulted for a lookup. An `id` equal
 * to the offered session's id makes the client take the answer for a resumption and
 * abort (`ERR_HANDSHAKE_FAILED`, only `connect` moved).
 *
 * ## Handles
 * Sessions are named by handles that the IMPLEMENTATION allocates: 1, 2, 3, … in the
 * order in which session objects become visible to the caller (`createSession`, and the
 * new session of a full `handshake`), never reused. A handle names one `SSL_SESSION`
 * object: every reference the caller holds to that object carries the same handle.
 * Because both implementations allocate in the same order, their handles are directly
 * comparable. A handshake that fails allocates no handle.
 *
 * ## References
 * The caller owns a number of references per handle. It gains one from `createSession`,
 * `get`, each entry of `sessions()`, each event from `takeEvents()` and the `session` of
 * a `handshake` result; it loses one with `freeSession`. Every operation that takes a
 * handle requires the caller to hold at least one reference to it; otherwise it throws
 * an `Error` whose `code` is `ERR_SSL_FREED` (the object may be truly freed, or still
 * alive in the cache only — either way the caller may not touch it). An unknown handle
 * throws with code `ERR_INVALID_HANDLE`.
 *
 * `references(h)` is the object's OpenSSL reference count (`SSL_SESSION.references`)
 * between operations: 1 if it is in the cache, plus one per reference the caller holds,
 * plus one per recorded event not yet taken that names it. Nothing else may hold a
 * reference between operations (the handshake's connections are freed, after a clean
 * `SSL_shutdown`, before `handshake` returns).
 *
 * ## Time
 * There is no clock. Every time is an explicit argument (seconds, OpenSSL's `long`):
 * `createSession({ time })`, `flush(t)`, `handshake({ now })`. All numbers must be safe
 * integers; OpenSSL's `long` overflow is out of scope.
 *
 * ## Session ids
 * 0–32 bytes (`SSL_MAX_SSL_SESSION_ID_LENGTH`); longer ids throw `RangeError`. The
 * 1.0.2h lookup hash reads the first 4 bytes of the fixed 32-byte id array whatever the
 * length, so the bytes after the id matter. `createSession` and `get` zero them (as
 * `SSL_SESSION_new` and a zeroed lookup key do). A handshake in a mode without
 * `SSL_SESS_CACHE_SERVER` generates an id and then sets its length to 0: the bytes stay
 * and keep deciding the session's hash bucket (and so the order of a later flush, and
 * that `get` of the empty id does not find it). The handshake path of 1.0.2h builds its
 * lookup key on the stack without zeroing it, so offering a session whose id is 1–3
 * bytes long, or giving a new session a 1–3-byte id, is not deterministic in the real
 * library: the differential tester must not do it.
 */

import type { CacheStats } from '../common/cache_stats';
import { ErrorCode } from '../common/coded_error';

// OpenSSL 1.0.2's numbers the contract needs, written here so that the model loads and runs
// without the addon (test/98.pure_model checks they equal the addon's, lib/binding/constants).

/** `SSL_SESSION.ssl_version` per protocol name (`SSL_get_version`'s spelling): part of the cache key. */
export const PROTOCOL_VERSIONS = Object.freeze({
  SSLv3: 0x0300,
  TLSv1: 0x0301,
  'TLSv1.1': 0x0302,
  'TLSv1.2': 0x0303,
  DTLSv1: 0xfeff,
  'DTLSv1.2': 0xfefd,
  'DTLSv0.9': 0x0100,
} as const);

/** Protocol names as `SSL_get_version` spells them. */
export type Protocol = keyof typeof PROTOCOL_VERSIONS;

/** `SSL_MAX_SSL_SESSION_ID_LENGTH`. */
export const MAX_SESSION_ID_LENGTH = 32;

/** A session handle, allocated by the implementation (see the module comment). */
export type SessionHandle = number;

/** Protocols a `handshake` can negotiate (the protocol of the offered session, else TLSv1.2). */
export const HANDSHAKE_PROTOCOLS: readonly Protocol[] = Object.freeze(['TLSv1', 'TLSv1.1', 'TLSv1.2'] as const);

/** Cache mode bits (`SSL_SESS_CACHE_*`, ssl.h), the values of `SessionCacheMode`. */
export const SSL_SESS_CACHE_OFF = 0x0;
export const SSL_SESS_CACHE_CLIENT = 0x1;
export const SSL_SESS_CACHE_SERVER = 0x2;
export const SSL_SESS_CACHE_BOTH = 0x3;
export const SSL_SESS_CACHE_NO_AUTO_CLEAR = 0x80;
export const SSL_SESS_CACHE_NO_INTERNAL_LOOKUP = 0x100;
export const SSL_SESS_CACHE_NO_INTERNAL_STORE = 0x200;
export const SSL_SESS_CACHE_NO_INTERNAL = 0x300;

/** The session-id context of the context (and of created sessions) unless options say otherwise. */
export const DEFAULT_ID_CONTEXT: Buffer = Buffer.from('openssl-session-cache');
/** `SSL_MAX_SID_CTX_LENGTH`. */
export const MAX_ID_CONTEXT_LENGTH = 32;

/** `SSL_SESSION_CACHE_MAX_SIZE_DEFAULT`: the cache size of a new `SSL_CTX`. */
export const DEFAULT_CACHE_SIZE = 20480;
/** `ssl23_default_timeout()`: the session timeout of a new SSLv23 `SSL_CTX`. */
export const DEFAULT_CONTEXT_TIMEOUT = 300;
/**
 * `tls1_default_timeout()` (2 hours): what a handshake's new session gets when the
 * context timeout is 0 (`ssl_get_new_session` then asks the negotiated method).
 */
export const METHOD_DEFAULT_TIMEOUT = 7200;

/** Error codes (`Error.code`) thrown by implementations. */
export const ERR_SSL_FREED = ErrorCode.FREED;
export const ERR_INVALID_HANDLE = ErrorCode.INVALID_HANDLE;
/** `SSL_R_SSL_SESSION_ID_CONFLICT`: the new session's id is already cached (handshake fails). */
export const ERR_SESSION_ID_CONFLICT = ErrorCode.SESSION_ID_CONFLICT;
/**
 * The client aborted the handshake: the server gave its new session the very id the
 * client offered, so the client took the full handshake for a resumption.
 */
export const ERR_HANDSHAKE_FAILED = ErrorCode.HANDSHAKE_FAILED;
/**
 * `add` of a session with an empty id (a server with its cache off hands those out): the
 * binding refuses it, because 1.0.2 would cache it where it can be neither found, removed
 * nor evicted.
 */
export const ERR_SESSION_ID_EMPTY = ErrorCode.SESSION_ID_EMPTY;

/** Context settings; each defaults to what `SSL_CTX_new(SSLv23_server_method())` sets. */
export interface SessionCacheOptions {
  /** `SSL_CTX_set_session_cache_mode`; default `SSL_SESS_CACHE_SERVER`. */
  mode?: number;
  /** `SSL_CTX_sess_set_cache_size`; default 20480. */
  cacheSize?: number;
  /** `SSL_CTX_set_timeout`; default 300. */
  timeout?: number;
  /** `'server'` (default) or `'client'`: which end of `handshake` this context is. */
  role?: 'server' | 'client';
  /** `SSL_CTX_set_session_id_context`, 0–32 bytes; default `DEFAULT_ID_CONTEXT`. */
  idContext?: Buffer;
  /** `SSL_CTX_set_verify(SSL_VERIFY_PEER)`; server role only (RangeError for a client); default false. */
  verifyPeer?: boolean;
}

export interface CreateSessionOptions {
  /** 0–32 bytes (adapters over `SslSession.create` accept 1–32 only). */
  id: Buffer;
  /** Default `'TLSv1.2'`. */
  protocol?: Protocol;
  /** `SSL_SESSION_set_time`. */
  time: number;
  /** `SSL_SESSION_set_timeout`. */
  timeout: number;
  /** `SSL_SESSION_set1_id_context`, 0–32 bytes; default the context's id context. */
  idContext?: Buffer;
}

/** `SSL_CTX_sess_*` counters: the type `SslContext#stats` has too. */
export type SessionCacheStats = CacheStats;

/**
 * A callback invocation, recorded in the order OpenSSL made it. `'new'`: the
 * new-session callback (which keeps the reference the library gave it). `'remove'`: the
 * remove-session callback (the recorder takes its own reference inside the callback).
 * Either way the event holds one reference until `takeEvents` hands it to the caller.
 */
export interface SessionEvent {
  type: 'new' | 'remove';
  session: SessionHandle;
}

export interface HandshakeOptions {
  /**
   * The session the client offers (`SSL_set_session` on the client). The client sends
   * its id only if the session is resumable and its id is non-empty; either way the
   * client speaks the session's protocol, which the server then negotiates.
   */
  offered?: SessionHandle;
  /** The server's `time(NULL)` for the whole handshake. */
  now: number;
  /**
   * The id a full handshake gives its new session (via `generate_session_id`), 1–32
   * bytes. Omitted: the implementation picks a fresh 32-byte id that is neither cached
   * nor the offered one.
   */
  id?: Buffer;
  /**
   * Server role only (RangeError for a client context): install a get-session callback
   * (`SSL_CTX_sess_set_get_cb`) for this handshake. `null`: it finds nothing. A handle:
   * it returns that session with `*copy = 1` (OpenSSL takes its own reference); it must
   * be the offered session (RangeError otherwise: resuming another object is outside
   * the contract). It is consulted only as `ssl_get_prev_session` consults it.
   */
  callback?: SessionHandle | null;
}

export interface HandshakeResult {
  /** `SSL_session_reused` on this context's end. */
  resumed: boolean;
  /** This end's session (`SSL_get1_session`: the server's, or the client's in client role): a new caller reference. */
  session: SessionHandle;
}

/**
 * One server `SSL_CTX`'s session cache. Each method names the OpenSSL 1.0.2h function it
 * mirrors; see docs/semantics.md for what those functions do; the module comment says
 * what a handshake does with the cache (docs/conformance.md has the same as tables).
 */
export interface SessionCache {
  // ---- sessions -------------------------------------------------------------------

  /**
   * `SSL_SESSION_new` + set id / protocol (`ssl_version`) / `SSL_SESSION_set_time` /
   * `SSL_SESSION_set_timeout`. The caller owns the single reference. Allocates the next
   * handle. Throws `RangeError` for an id longer than 32 bytes or an unknown protocol.
   */
  createSession(options: CreateSessionOptions): SessionHandle;

  /** `SSL_SESSION_free`: drops one of the caller's references. */
  freeSession(h: SessionHandle): void;

  /** `SSL_SESSION.references` (see the module comment). */
  references(h: SessionHandle): number;

  /** `!SSL_SESSION.not_resumable`. */
  resumable(h: SessionHandle): boolean;

  /** `SSL_SESSION_get_id` (a copy). */
  getSessionId(h: SessionHandle): Buffer;

  /** `SSL_SESSION.ssl_version`, as a name. */
  getSessionProtocol(h: SessionHandle): Protocol;

  /** `SSL_SESSION_get_time`. */
  getSessionTime(h: SessionHandle): number;

  /** `SSL_SESSION_set_time`. Allowed on a cached session (nothing moves). */
  setSessionTime(h: SessionHandle, time: number): void;

  /** `SSL_SESSION_get_timeout`. */
  getSessionTimeout(h: SessionHandle): number;

  /** `SSL_SESSION_set_timeout`. Allowed on a cached session (nothing moves). */
  setSessionTimeout(h: SessionHandle, timeout: number): void;

  // ---- the cache ------------------------------------------------------------------

  /**
   * `SSL_CTX_add_session`: 1 or 0, unchanged. May record `'remove'` events (evictions).
   * A session with an empty id throws ERR_SESSION_ID_EMPTY (nothing changes).
   */
  add(h: SessionHandle): 0 | 1;

  /** `SSL_CTX_remove_session`: 1 or 0, unchanged. May record one `'remove'` event. */
  remove(h: SessionHandle): 0 | 1;

  /** `SSL_CTX_flush_sessions(ctx, t)`. Records `'remove'` events in OpenSSL's order. */
  flush(t: number): void;

  /**
   * `lh_SSL_SESSION_retrieve` with a zeroed key of `protocol` (default `'TLSv1.2'`) and
   * `id`: the cached session, as a new caller reference (+1), or undefined. No counter
   * changes, no reordering.
   */
  get(id: Buffer, protocol?: Protocol): SessionHandle | undefined;

  /** The cache's list from `session_cache_head` (newest first); each a new caller reference. */
  sessions(): SessionHandle[];

  /** `SSL_CTX_sess_number`. */
  count(): number;

  /** `SSL_CTX_sess_set_cache_size`: returns the old size. Evicts nothing by itself. */
  setCacheSize(size: number): number;

  /** `SSL_CTX_sess_get_cache_size`. */
  getCacheSize(): number;

  /** `SSL_CTX_set_timeout`: the timeout of sessions made by later handshakes; returns the old one. */
  setTimeout(timeout: number): number;

  /** `SSL_CTX_get_timeout`. */
  getTimeout(): number;

  /** `SSL_CTX_set_session_cache_mode`: returns the old mode. */
  setCacheMode(mode: number): number;

  /** `SSL_CTX_get_session_cache_mode`. */
  getCacheMode(): number;

  /** The `SSL_CTX_sess_*` counters. */
  stats(): SessionCacheStats;

  /** The callback invocations recorded since the last call, oldest first (references move to the caller). */
  takeEvents(): SessionEvent[];

  // ---- handshakes -----------------------------------------------------------------

  /**
   * One complete TLS handshake against this context as server (`SSL_accept` through
   * `ssl3_accept`'s `SSL_ST_OK`: `ssl_get_prev_session`, `ssl_get_new_session`,
   * `ssl_update_cache`), with a fresh client and a clean shutdown of both ends.
   *
   * Outside the contract, so throws `RangeError` with nothing changed: an offered
   * session whose protocol is not one of `HANDSHAKE_PROTOCOLS`; an offered session that
   * the server would resume from a DIFFERENT cached object with the same key (whether
   * that handshake succeeds depends on the two objects' master keys, which this
   * interface does not model).
   *
   * Failed handshakes (the resumption attempt's effects — accept, hits/misses/timeouts,
   * an expiry removal and its event — remain; accept_good does not move; no handle is
   * allocated): code `ERR_SESSION_ID_CONFLICT` if `id` is already cached under the
   * negotiated protocol (the server refuses it); code `ERR_HANDSHAKE_FAILED` if the
   * server sends the client back the id it offered in a full handshake (the client
   * then expects a resumption and aborts; the server never completes), or if a server
   * with `verifyPeer` and an empty id context finds the offered session (see the
   * module comment), or in client role if `id` is the offered session's id.
   */
  handshake(options: HandshakeOptions): HandshakeResult;
}
