/**
 * OpenSSLCache: the `SessionCache` contract (lib/model/session_cache.ts) implemented over the
 * real OpenSSL 1.0.2h of this package — one server `SslContext` (SSL_OP_NO_TICKET, a
 * fixed session-id context) and one client `SslContext` with the same session-id context
 * for `handshake`.
 *
 * Bookkeeping:
 * - handles are allocated the first time a native `SSL_SESSION` (named by
 *   `SslSession.serial`) becomes visible: `createSession`, the new session of a full
 *   handshake (first seen in its 'newSession' event, or in the result when no event
 *   fires);
 * - the adapter keeps one JS `SslSession` per reference the caller owns, and one per
 *   recorded event not yet taken, so the native `SSL_SESSION.references` is exactly the
 *   count the contract describes; nothing else is left holding a wrapper (lookups made
 *   for the adapter's own checks are freed at once);
 * - events are collected from the context's listeners in the order the facade emits
 *   them (OpenSSL's order);
 * - `handshake` pins the addon's `time(NULL)` to `now` and unpins it afterwards.
 *
 * Arguments are checked before OpenSSL is touched, including the contract's RangeError
 * cases. Limits of the binding (documented, not modelled): ids of `createSession` must be
 * 1–32 bytes (`SslSession.create`), `get` needs a 1–32-byte id (the native lookup refuses
 * the empty id), and times, timeouts, cache sizes, modes and `flush` times must lie in
 * the ranges the facade accepts (non-negative; modes with defined bits only).
 */

import { MAX_MASTER_KEY_LENGTH } from '../binding/constants';
import { handshake as runHandshake } from '../openssl/handshake';
import { OpenSSLError } from '../common/openssl_error';
import { setOpenSSLClock } from '../openssl/openssl_clock';
import { generateSelfSigned } from '../openssl/self_signed';
import {
  CreateSessionOptions,
  ERR_HANDSHAKE_FAILED,
  ERR_INVALID_HANDLE,
  ERR_SESSION_ID_CONFLICT,
  ERR_SSL_FREED,
  HANDSHAKE_PROTOCOLS,
  HandshakeOptions,
  HandshakeResult,
  Protocol,
  SSL_SESS_CACHE_NO_INTERNAL,
  SSL_SESS_CACHE_NO_INTERNAL_LOOKUP,
  SSL_SESS_CACHE_SERVER,
  SessionCache,
  SessionCacheOptions,
  SessionCacheStats,
  SessionEvent,
  SessionHandle,
} from '../model/session_cache';
import { checkCacheOptions, checkId, checkIdContext, checkInteger, codedError, generatedId, protocolOfName, protocolOfVersion, versionOf } from '../model/contract_checks';
import { kRetain } from '../openssl/internal';
import { SslContext } from '../openssl/ssl_context';
import { SslSession } from '../openssl/ssl_session';

/** A cipher every handshake protocol (TLSv1 … TLSv1.2) offers and an RSA server accepts. */
const CREATED_SESSION_CIPHER = 'AES128-SHA';
/** Any 48 bytes: a resumption uses the cached object's key on both ends. */
const CREATED_SESSION_MASTER_KEY = Buffer.alloc(MAX_MASTER_KEY_LENGTH, 0x5a);

export interface OpenSSLCacheOptions extends SessionCacheOptions {
  /** the server's certificate and key (PEM); default a shared 1024-bit self-signed pair */
  pki?: { cert: string; key: string };
}

interface Entry {
  readonly handle: SessionHandle;
  /** one wrapper per reference the caller owns */
  readonly wrappers: SslSession[];
}

interface PendingEvent {
  type: 'new' | 'remove';
  session: SslSession;
}

let sharedPki: { cert: string; key: string } | undefined;

/** A 1024-bit self-signed certificate made once per process (handshakes stay fast). */
function defaultPki(): { cert: string; key: string } {
  if (sharedPki === undefined) sharedPki = generateSelfSigned({ commonName: 'localhost', days: 3650, bits: 1024 });
  return sharedPki;
}

function hasReason(error: OpenSSLError, reason: string): boolean {
  return error.opensslErrors.some((e) => e.reason === reason);
}

export class OpenSSLCache implements SessionCache {
  /** the context whose cache this is (a server context, or a client one in client role) */
  private readonly server: SslContext;
  /** the other end of `handshake`: a client, or in client role a server that never resumes */
  private readonly client: SslContext;
  private readonly role: 'server' | 'client';
  private readonly idContext: Buffer;
  private readonly entries = new Map<SessionHandle, Entry>();
  private readonly bySerial = new Map<number, Entry>();
  private pending: PendingEvent[] = [];
  private nextHandle = 1;
  private generatedIds = 0;
  private disposed = false;

  constructor(options: OpenSSLCacheOptions = {}) {
    const o = checkCacheOptions(options);
    this.role = o.role;
    this.idContext = o.idContext;
    const pki = options.pki ?? defaultPki();
    const cache = {
      noTicket: true,
      sessionIdContext: o.idContext,
      sessionCacheMode: o.mode,
      sessionCacheSize: o.cacheSize,
      sessionTimeout: o.timeout,
    };
    // the server requests a certificate (SSL_VERIFY_PEER); the client sends none and is accepted
    const verify = o.verifyPeer ? { ca: pki.cert } : {};
    this.server =
      o.role === 'server' ? new SslContext({ cert: pki.cert, key: pki.key, ...verify, ...cache }) : new SslContext({ role: 'client', ...cache });
    try {
      this.client =
        o.role === 'server'
          ? // ssl3_get_server_hello refuses a resumption whose session has another id context than the client
            new SslContext({ role: 'client', sessionIdContext: o.idContext })
          : new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionCacheMode: SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL });
    } catch (e) {
      this.server.free();
      throw e;
    }
    this.server.on('newSession', (session: SslSession) => this.recordEvent('new', session));
    this.server.on('removeSession', (session: SslSession) => this.recordEvent('remove', session));
  }

  // ---- sessions ---------------------------------------------------------------------

  createSession(options: CreateSessionOptions): SessionHandle {
    this.live();
    const protocol = options.protocol ?? 'TLSv1.2';
    versionOf(protocol); // RangeError for a protocol 1.0.2 has no number for
    checkId('id', options.id, 0);
    checkInteger('time', options.time);
    checkInteger('timeout', options.timeout);
    if (options.idContext !== undefined) checkIdContext('idContext', options.idContext);
    if (options.id.length === 0) throw new RangeError('this adapter (SslSession.create) needs an id of 1-32 bytes');
    const session = SslSession.create({
      id: options.id,
      protocol,
      idContext: options.idContext ?? this.idContext,
      time: options.time,
      timeout: options.timeout,
      masterKey: CREATED_SESSION_MASTER_KEY,
      cipher: CREATED_SESSION_CIPHER,
    });
    return this.adopt(session).handle;
  }

  freeSession(h: SessionHandle): void {
    const entry = this.held(h);
    const wrapper = entry.wrappers.pop() as SslSession;
    wrapper.free();
  }

  references(h: SessionHandle): number {
    return this.wrapperOf(h).references;
  }

  resumable(h: SessionHandle): boolean {
    return this.wrapperOf(h).resumable;
  }

  getSessionId(h: SessionHandle): Buffer {
    return Buffer.from(this.wrapperOf(h).id);
  }

  getSessionProtocol(h: SessionHandle): Protocol {
    return protocolOfName(this.wrapperOf(h).protocol);
  }

  getSessionTime(h: SessionHandle): number {
    return this.wrapperOf(h).time;
  }

  setSessionTime(h: SessionHandle, time: number): void {
    const wrapper = this.wrapperOf(h);
    checkInteger('time', time);
    wrapper.time = time;
  }

  getSessionTimeout(h: SessionHandle): number {
    return this.wrapperOf(h).timeout;
  }

  setSessionTimeout(h: SessionHandle, timeout: number): void {
    const wrapper = this.wrapperOf(h);
    checkInteger('timeout', timeout);
    wrapper.timeout = timeout;
  }

  // ---- the cache --------------------------------------------------------------------

  add(h: SessionHandle): 0 | 1 {
    return this.server.rawAdd(this.wrapperOf(h)) === 1 ? 1 : 0;
  }

  remove(h: SessionHandle): 0 | 1 {
    return this.server.rawRemove(this.wrapperOf(h)) === 1 ? 1 : 0;
  }

  flush(t: number): void {
    this.live();
    checkInteger('t', t);
    this.server.flushSessions(t);
  }

  get(id: Buffer, protocol: Protocol = 'TLSv1.2'): SessionHandle | undefined {
    this.live();
    const version = versionOf(protocol);
    checkId('id', id, 0);
    if (id.length === 0) throw new RangeError('the binding cannot look up the empty id (its get needs 1-32 bytes)');
    const found = this.lookup(id, version);
    return found === undefined ? undefined : this.adopt(found).handle;
  }

  sessions(): SessionHandle[] {
    this.live();
    return this.server.sessions().map((session) => this.adopt(session).handle);
  }

  count(): number {
    this.live();
    return this.server.sessionCount;
  }

  setCacheSize(size: number): number {
    this.live();
    checkInteger('size', size);
    const old = this.server.sessionCacheSize;
    this.server.sessionCacheSize = size;
    return old;
  }

  getCacheSize(): number {
    this.live();
    return this.server.sessionCacheSize;
  }

  setTimeout(timeout: number): number {
    this.live();
    checkInteger('timeout', timeout);
    const old = this.server.sessionTimeout;
    this.server.sessionTimeout = timeout;
    return old;
  }

  getTimeout(): number {
    this.live();
    return this.server.sessionTimeout;
  }

  setCacheMode(mode: number): number {
    this.live();
    checkInteger('mode', mode);
    const old = this.server.sessionCacheMode;
    this.server.sessionCacheMode = mode;
    return old;
  }

  getCacheMode(): number {
    this.live();
    return this.server.sessionCacheMode;
  }

  stats(): SessionCacheStats {
    this.live();
    const s = this.server.stats;
    return {
      number: s.number,
      connect: s.connect,
      connectGood: s.connectGood,
      connectRenegotiate: s.connectRenegotiate,
      accept: s.accept,
      acceptGood: s.acceptGood,
      acceptRenegotiate: s.acceptRenegotiate,
      hits: s.hits,
      cbHits: s.cbHits,
      misses: s.misses,
      timeouts: s.timeouts,
      cacheFull: s.cacheFull,
    };
  }

  takeEvents(): SessionEvent[] {
    this.live();
    const taken = this.pending;
    this.pending = [];
    return taken.map(({ type, session }) => {
      const entry = this.entryFor(session);
      entry.wrappers.push(session); // the event's reference becomes the caller's
      return { type, session: entry.handle };
    });
  }

  // ---- handshakes -------------------------------------------------------------------

  handshake(options: HandshakeOptions): HandshakeResult {
    this.live();
    const { now } = options;
    checkInteger('now', now);
    if (options.id !== undefined) checkId('id', options.id, 1);
    const offered = options.offered === undefined ? undefined : this.wrapperOf(options.offered);
    const callback = this.callbackOf(options, offered);
    const protocol: Protocol = offered === undefined ? 'TLSv1.2' : protocolOfName(offered.protocol);
    if (!HANDSHAKE_PROTOCOLS.includes(protocol)) throw new RangeError(`a handshake cannot negotiate ${protocol}`);
    const version = versionOf(protocol);
    if (now < 0) throw new RangeError('now must be a non-negative time for the OpenSSL clock');

    // What the client will send: the id of a resumable session (ssl3_client_hello).
    const sentId = offered !== undefined && offered.resumable ? offered.id : Buffer.alloc(0);
    if (this.role === 'server') this.checkResumption(offered, version, sentId, now);
    // A full handshake gets the caller's id, or one chosen like CacheModel chooses it (so
    // that the two implementations agree on ids even when the caller leaves them open);
    // a resumption never asks for it.
    const newId = options.id ?? this.freshId(version, sentId);
    // the context that makes the new session: this one, or the peer server in client role
    const issuer = this.role === 'server' ? this.server : this.client;

    let result: ReturnType<typeof runHandshake>;
    setOpenSSLClock(now);
    try {
      issuer.setNextSessionId(Buffer.from(newId));
      if (callback !== undefined) this.server.getSessionCallback = () => callback ?? undefined;
      result =
        this.role === 'server'
          ? runHandshake(this.client, this.server, offered === undefined ? {} : { session: offered })
          : runHandshake(this.server, this.client, offered === undefined ? {} : { session: offered });
    } catch (e) {
      if (e instanceof OpenSSLError) {
        if (this.role === 'server' && (hasReason(e, 'ssl session id conflict') || this.conflictAfterFailure(e, newId, version))) {
          throw Object.assign(codedError(ERR_SESSION_ID_CONFLICT, `session id ${newId.toString('hex')} is already cached`), {
            cause: e,
          });
        }
        throw Object.assign(codedError(ERR_HANDSHAKE_FAILED, `the handshake failed: ${e.message}`), { cause: e });
      }
      throw e;
    } finally {
      try {
        issuer.setNextSessionId(undefined);
        if (callback !== undefined) this.server.getSessionCallback = undefined;
      } finally {
        setOpenSSLClock(undefined);
      }
    }
    const mine = this.role === 'server' ? result.serverSession : result.clientSession;
    const other = this.role === 'server' ? result.clientSession : result.serverSession;
    // a resumption in process can give both sides the same SSL_SESSION: then one object
    // (identity) with one reference, which is the caller's
    if (other !== mine) this.release(other);
    const entry = this.adopt(mine);
    return { resumed: this.role === 'server' ? result.serverResumed : result.clientResumed, session: entry.handle };
  }

  /** The session the get callback returns (null: nothing), or undefined when none is installed. */
  private callbackOf(options: HandshakeOptions, offered: SslSession | undefined): SslSession | null | undefined {
    if (options.callback === undefined) return undefined;
    if (this.role === 'client') throw new RangeError('a get-session callback is a server setting (role: client)');
    if (options.callback === null) return null;
    const answer = this.wrapperOf(options.callback);
    if (offered === undefined || answer.serial !== offered.serial) {
      throw new RangeError(`the get callback must return the offered session; resuming another object is outside the SessionCache contract`);
    }
    return answer;
  }

  // ---- teardown ---------------------------------------------------------------------

  /**
   * Frees everything: the contexts (their caches; no events are recorded any more), the
   * references the caller still holds and those of events not taken. Idempotent; every
   * other method throws afterwards.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.server.removeAllListeners();
    this.server.free();
    this.client.free();
    for (const entry of this.entries.values()) {
      for (const w of entry.wrappers.splice(0)) w.free();
    }
    for (const { session } of this.pending.splice(0)) session.free();
  }

  /** Same as `dispose()`. */
  free(): void {
    this.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- internals --------------------------------------------------------------------

  private live(): void {
    if (this.disposed) throw codedError(ERR_SSL_FREED, 'this OpenSSLCache has been disposed');
  }

  private recordEvent(type: 'new' | 'remove', session: SslSession): void {
    // allocate the handle now: a handshake's new session becomes visible in its event
    this.entryFor(session);
    this.pending.push({ type, session: this.claim(session) });
  }

  /** Whether `session` (this very object) is one this adapter holds for a caller or an event. */
  private holds(session: SslSession): boolean {
    const entry = this.bySerial.get(session.serial);
    return (entry !== undefined && entry.wrappers.includes(session)) || this.pending.some((p) => p.session === session);
  }

  /**
   * The library returns the thread's one live SslSession of a native session (identity):
   * when this adapter already holds that object, the reference the call stood for was not
   * taken, so the caller's new reference is a private object with one more reference.
   * The contract counts one native reference per caller reference.
   */
  private claim(session: SslSession): SslSession {
    return this.holds(session) ? SslSession[kRetain](session) : session;
  }

  /** Drops a looked-up object unless it is one this adapter holds. */
  private release(session: SslSession): void {
    if (!this.holds(session)) session.free();
  }

  /** The entry of a wrapper's native object, allocating the next handle on first sight. */
  private entryFor(session: SslSession): Entry {
    const serial = session.serial;
    let entry = this.bySerial.get(serial);
    if (entry === undefined) {
      entry = { handle: this.nextHandle++, wrappers: [] };
      this.bySerial.set(serial, entry);
      this.entries.set(entry.handle, entry);
    }
    return entry;
  }

  /** Takes a wrapper standing for one new reference as a caller reference. */
  private adopt(session: SslSession): Entry {
    const entry = this.entryFor(session);
    entry.wrappers.push(this.claim(session));
    return entry;
  }

  private held(h: SessionHandle): Entry {
    this.live();
    const entry = this.entries.get(h);
    if (entry === undefined) throw codedError(ERR_INVALID_HANDLE, `no session has handle ${String(h)}`);
    if (entry.wrappers.length === 0) throw codedError(ERR_SSL_FREED, `the caller holds no reference to session ${h}`);
    return entry;
  }

  private wrapperOf(h: SessionHandle): SslSession {
    return this.held(h).wrappers[0];
  }

  /** lh_SSL_SESSION_retrieve with a zeroed key (a new reference, or undefined). */
  private lookup(id: Buffer, version: number): SslSession | undefined {
    return this.server.getSession(Buffer.from(id), protocolOfVersion(version));
  }

  /**
   * Whether the server will resume `offered`; throws the contract's RangeError (nothing
   * touched) when it would resume from a different cached object with the same key.
   */
  private checkResumption(offered: SslSession | undefined, version: number, sentId: Buffer, now: number): void {
    if (offered === undefined || sentId.length === 0) return;
    if (this.server.sessionCacheMode & SSL_SESS_CACHE_NO_INTERNAL_LOOKUP) return;
    const cached = this.lookup(sentId, version);
    if (cached === undefined) return;
    try {
      const expired = cached.timeout < now - cached.time;
      if (expired || !cached.idContext.equals(this.idContext)) return;
      if (cached.serial !== offered.serial) {
        const handle = this.bySerial.get(cached.serial)?.handle;
        throw new RangeError(
          `session ${this.bySerial.get(offered.serial)?.handle} is offered but session ${handle} has its key in the cache; ` +
            'resuming from another object is outside the SessionCache contract',
        );
      }
    } finally {
      this.release(cached);
    }
  }

  /**
   * Whether a failed handshake was the server's SSL_R_SSL_SESSION_ID_CONFLICT although
   * the error queue does not say so. The binding's handshake driver lets the peer run
   * once more after a failure, and the client's ssl3_connect starts with
   * ERR_clear_error(), so a server-side failure can arrive with an empty queue. The
   * state decides then: a conflict leaves the conflicting session cached under the new
   * id, while the other failure (the offered id sent back) needs that key to be free
   * when the id was checked, and nothing is cached after that in a failed handshake.
   */
  private conflictAfterFailure(error: OpenSSLError, newId: Buffer | undefined, version: number): boolean {
    if (error.opensslErrors.some((x) => x.reason !== null) || newId === undefined) return false;
    const cached = this.lookup(newId, version);
    if (cached === undefined) return false;
    this.release(cached);
    return true;
  }

  /** A 32-byte id that is neither cached under `version` nor `avoid`, derived from the next handle (generatedId). */
  private freshId(version: number, avoid: Buffer): Buffer {
    for (let attempt = 0; ; attempt++) {
      const id = generatedId(this.nextHandle, attempt);
      if (id.equals(avoid)) continue;
      if (this.role === 'client') return id;
      const cached = this.lookup(id, version);
      if (cached === undefined) return id;
      this.release(cached);
    }
  }
}
