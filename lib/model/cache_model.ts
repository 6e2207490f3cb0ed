/**
 * CacheModel: a pure-TypeScript model of one OpenSSL 1.0.2h server SSL_CTX's internal
 * session cache (ssl/ssl_sess.c, ssl/ssl_lib.c, crypto/lhash/lhash.c), implementing the
 * SessionCache contract of lib/model/session_cache.ts. Deterministic: no clock, no randomness.
 *
 * Structure, as in OpenSSL:
 * - `table`: the `lhash` keyed by (ssl_version, id length, id bytes), hashed on the first
 *   four id bytes; modelled bucket by bucket because flush visits it in bucket order.
 * - `list`: the doubly linked list (newest at the head, evictions from the tail; lookups
 *   never move entries). A Set in insertion order stands in for it: its last entry is
 *   `session_cache_head`, its first `session_cache_tail`.
 * - one cache reference per cached session, shared by the hash and the list.
 */

import { LinearHash } from './model_lhash';
import {
  CreateSessionOptions,
  DEFAULT_CONTEXT_TIMEOUT,
  ERR_HANDSHAKE_FAILED,
  ERR_INVALID_HANDLE,
  ERR_SESSION_ID_CONFLICT,
  ERR_SESSION_ID_EMPTY,
  ERR_SSL_FREED,
  HANDSHAKE_PROTOCOLS,
  HandshakeOptions,
  HandshakeResult,
  METHOD_DEFAULT_TIMEOUT,
  Protocol,
  SSL_SESS_CACHE_NO_AUTO_CLEAR,
  SSL_SESS_CACHE_NO_INTERNAL_LOOKUP,
  SSL_SESS_CACHE_NO_INTERNAL_STORE,
  SSL_SESS_CACHE_CLIENT,
  SSL_SESS_CACHE_SERVER,
  SessionCache,
  SessionCacheOptions,
  SessionCacheStats,
  SessionEvent,
  SessionHandle,
} from './session_cache';
import { checkCacheOptions, checkId, checkIdContext, checkInteger, codedError, generatedId, versionOf } from './contract_checks';

/** What the hash and comparison functions look at. */
interface SessionKey {
  version: number;
  /** session_id[0 .. session_id_length) */
  id: Buffer;
  /**
   * ssl_session_hash (1.0.2h): the first four bytes of the 32-byte session_id ARRAY,
   * little-endian, whatever session_id_length says. Zero-padded ids hash on their
   * bytes then zeros; a handshake session whose id the server truncated to length 0
   * keeps the bytes it was generated with.
   */
  hash: number;
}

/** What subclasses (planted-bug tests) see of a session object. */
export interface ModelSession {
  readonly handle: SessionHandle;
  readonly idContext: Buffer;
  time: number;
  timeout: number;
}

/** One SSL_SESSION object. */
interface SessionRecord extends SessionKey, ModelSession {
  /** sid_ctx */
  readonly idContext: Buffer;
  readonly handle: SessionHandle;
  readonly protocol: Protocol;
  time: number;
  timeout: number;
  notResumable: boolean;
  /** SSL_SESSION.references */
  references: number;
  /** how many of those references the caller owns */
  callerRefs: number;
  /** in this context's hash and list (owning the cache reference) */
  cached: boolean;
}

interface RecordedEvent {
  type: 'new' | 'remove';
  record: SessionRecord;
}

type Counters = Omit<SessionCacheStats, 'number'>;

/** The hash of a session_id array holding `bytes` followed by zeros. */
function hashOfIdArray(bytes: Buffer): number {
  const byte = (i: number): number => (i < bytes.length ? bytes[i] : 0);
  return byte(0) + byte(1) * 0x100 + byte(2) * 0x10000 + byte(3) * 0x1000000;
}

function sessionHash(key: SessionKey): number {
  return key.hash;
}

/**
 * A lookup key whose bytes after the id are zero: the binding's zeroed key for `get`,
 * and (for ids of 4+ bytes, where the rest of the array does not matter) the stack keys
 * of ssl_get_prev_session and SSL_has_matching_session_id.
 */
function probe(version: number, id: Buffer): SessionKey {
  return { version, id, hash: hashOfIdArray(id) };
}

/** ssl_session_cmp == 0: same ssl_version, same id length, same id bytes. */
function sameKey(stored: SessionKey, other: SessionKey): boolean {
  return stored.version === other.version && stored.id.equals(other.id);
}





export class CacheModel implements SessionCache {
  private readonly table = new LinearHash<SessionRecord, SessionKey>(sessionHash, sameKey);
  private readonly list = new Set<SessionRecord>();
  private readonly records = new Map<SessionHandle, SessionRecord>();
  private events: RecordedEvent[] = [];
  private nextHandle = 1;
  private readonly role: 'server' | 'client';
  private readonly idContext: Buffer;
  private readonly verifyPeer: boolean;
  private mode: number;
  private cacheSize: number;
  private timeout: number;
  private readonly counters: Counters = {
    connect: 0,
    connectGood: 0,
    connectRenegotiate: 0,
    accept: 0,
    acceptGood: 0,
    acceptRenegotiate: 0,
    hits: 0,
    cbHits: 0,
    misses: 0,
    timeouts: 0,
    cacheFull: 0,
  };

  /** SSL_CTX_new(SSLv23_server_method()) followed by the optional settings. */
  constructor(options: SessionCacheOptions = {}) {
    const o = checkCacheOptions(options);
    this.mode = o.mode;
    this.cacheSize = o.cacheSize;
    this.timeout = o.timeout;
    this.role = o.role;
    this.idContext = o.idContext;
    this.verifyPeer = o.verifyPeer;
  }

  // ---- sessions ---------------------------------------------------------------------

  createSession(options: CreateSessionOptions): SessionHandle {
    const protocol = options.protocol ?? 'TLSv1.2';
    const version = versionOf(protocol);
    checkId('id', options.id);
    checkInteger('time', options.time);
    checkInteger('timeout', options.timeout);
    if (options.idContext !== undefined) checkIdContext('idContext', options.idContext);
    const id = Buffer.from(options.id);
    const idContext = Buffer.from(options.idContext ?? this.idContext);
    const record = this.newRecord(protocol, version, id, hashOfIdArray(id), options.time, options.timeout, idContext);
    record.callerRefs = 1;
    return record.handle;
  }

  freeSession(h: SessionHandle): void {
    const record = this.held(h);
    record.callerRefs--;
    this.release(record);
  }

  references(h: SessionHandle): number {
    return this.held(h).references;
  }

  resumable(h: SessionHandle): boolean {
    return !this.held(h).notResumable;
  }

  getSessionId(h: SessionHandle): Buffer {
    return Buffer.from(this.held(h).id);
  }

  getSessionProtocol(h: SessionHandle): Protocol {
    return this.held(h).protocol;
  }

  getSessionTime(h: SessionHandle): number {
    return this.held(h).time;
  }

  setSessionTime(h: SessionHandle, time: number): void {
    const record = this.held(h);
    checkInteger('time', time);
    record.time = time;
  }

  getSessionTimeout(h: SessionHandle): number {
    return this.held(h).timeout;
  }

  setSessionTimeout(h: SessionHandle, timeout: number): void {
    const record = this.held(h);
    checkInteger('timeout', timeout);
    record.timeout = timeout;
  }

  // ---- the cache --------------------------------------------------------------------

  add(h: SessionHandle): 0 | 1 {
    const record = this.held(h);
    if (record.id.length === 0) {
      throw codedError(ERR_SESSION_ID_EMPTY, 'the session has an empty id: OpenSSL 1.0.2 could neither find, remove nor evict it');
    }
    return this.addSession(record);
  }

  remove(h: SessionHandle): 0 | 1 {
    return this.removeSession(this.held(h));
  }

  flush(t: number): void {
    checkInteger('t', t);
    this.flushSessions(t);
  }

  get(id: Buffer, protocol: Protocol = 'TLSv1.2'): SessionHandle | undefined {
    const version = versionOf(protocol);
    checkId('id', id);
    const found = this.table.retrieve(probe(version, id));
    if (found === null) return undefined;
    return this.giveNewReference(found);
  }

  sessions(): SessionHandle[] {
    return [...this.list].reverse().map((record) => this.giveNewReference(record));
  }

  count(): number {
    return this.table.count;
  }

  setCacheSize(size: number): number {
    checkInteger('size', size);
    const old = this.cacheSize;
    this.cacheSize = size;
    return old;
  }

  getCacheSize(): number {
    return this.cacheSize;
  }

  setTimeout(timeout: number): number {
    checkInteger('timeout', timeout);
    const old = this.timeout;
    this.timeout = timeout;
    return old;
  }

  getTimeout(): number {
    return this.timeout;
  }

  setCacheMode(mode: number): number {
    checkInteger('mode', mode);
    const old = this.mode;
    this.mode = mode;
    return old;
  }

  getCacheMode(): number {
    return this.mode;
  }

  stats(): SessionCacheStats {
    return { number: this.table.count, ...this.counters };
  }

  takeEvents(): SessionEvent[] {
    const taken = this.events;
    this.events = [];
    return taken.map(({ type, record }) => {
      record.callerRefs++; // the event's reference becomes the caller's
      return { type, session: record.handle };
    });
  }

  // ---- handshakes -------------------------------------------------------------------

  handshake(options: HandshakeOptions): HandshakeResult {
    const { now } = options;
    checkInteger('now', now);
    if (options.id !== undefined) checkId('id', options.id, 1);
    const offered = options.offered === undefined ? undefined : this.held(options.offered);
    const callback = this.callbackOf(options, offered);
    // SSL_set_session on the client switches it to the session's method: it speaks that
    // version only, and the server negotiates it.
    const protocol: Protocol = offered?.protocol ?? 'TLSv1.2';
    if (!HANDSHAKE_PROTOCOLS.includes(protocol)) throw new RangeError(`a handshake cannot negotiate ${protocol}`);
    const version = versionOf(protocol);
    // ssl3_client_hello: the client sends the id only of a resumable session with an id.
    const sentId = offered !== undefined && !offered.notResumable ? offered.id : Buffer.alloc(0);
    if (this.role === 'client') return this.connect(offered, protocol, version, options.id, sentId, now);
    this.refuseForeignResumption(offered, version, sentId, now);

    // ssl23_accept / ssl3_accept, SSL_ST_BEFORE
    this.counters.accept++;

    // ssl3_get_client_hello -> ssl_get_prev_session, else ssl_get_new_session
    let session = this.getPrevSession(version, sentId, callback, now);
    const hit = session !== null;
    if (session === null) session = this.getNewSession(protocol, version, options.id, sentId, now);

    // ssl3_accept, SSL_ST_OK
    this.updateCache(session, hit, SSL_SESS_CACHE_SERVER, now);
    this.counters.acceptGood++;

    // SSL_get1_session (+1 for the caller), then SSL_free of the connection (-1).
    session.callerRefs++;
    return { resumed: hit, session: session.handle };
  }

  /** The session a get callback returns for this handshake: undefined = no callback installed. */
  private callbackOf(options: HandshakeOptions, offered: SessionRecord | undefined): SessionRecord | null | undefined {
    if (options.callback === undefined) return undefined;
    if (this.role === 'client') throw new RangeError('a get-session callback is a server setting (role: client)');
    if (options.callback === null) return null;
    const answer = this.held(options.callback);
    if (answer !== offered) {
      throw new RangeError(`the get callback must return the offered session; resuming another object is outside the SessionCache contract`);
    }
    return answer;
  }

  /**
   * Client role: ssl23_connect / ssl3_connect against a peer server that never resumes
   * and gives its new session `wanted` (or a fresh id).
   */
  private connect(
    offered: SessionRecord | undefined,
    protocol: Protocol,
    version: number,
    wanted: Buffer | undefined,
    sentId: Buffer,
    now: number,
  ): HandshakeResult {
    this.counters.connect++;
    const id = wanted === undefined ? this.freshId(version, sentId, false) : Buffer.from(wanted);
    if (sentId.length > 0 && id.equals(sentId)) {
      // ssl3_get_server_hello: the echoed id makes the client expect a resumption; the
      // fatal alert it then sends (ssl3_send_alert) removes the SSL's session from the
      // cache. This package never hands OpenSSL a cached session to offer: it offers a
      // private copy (SECURITY.md, "Native and cache paths", item 1), so the alert removes the copy and
      // the cache is unchanged (bare 1.0.2 would remove the offered session itself).
      throw codedError(ERR_HANDSHAKE_FAILED, `the peer sent back the offered session id ${id.toString('hex')}`);
    }
    // ssl_get_new_session(s, 0): without an offered session in ssl23_client_hello, where
    // the method is still SSLv23's (default timeout 300); else in ssl3 code, after
    // SSL_set_session switched the method to the session's version (7200).
    const methodTimeout = offered === undefined ? DEFAULT_CONTEXT_TIMEOUT : METHOD_DEFAULT_TIMEOUT;
    const timeout = this.timeout === 0 ? methodTimeout : this.timeout;
    const session = this.newRecord(protocol, version, id, hashOfIdArray(id), now, timeout, this.idContext);
    this.updateCache(session, false, SSL_SESS_CACHE_CLIENT, now);
    this.counters.connectGood++;
    session.callerRefs++;
    return { resumed: false, session: session.handle };
  }

  /**
   * Refuses (RangeError, nothing changed) a handshake the server would resume from a
   * cached object other than the one the client offers: its outcome depends on master
   * keys, which are outside the contract.
   */
  private refuseForeignResumption(offered: SessionRecord | undefined, version: number, sentId: Buffer, now: number): void {
    if (offered === undefined || sentId.length === 0 || this.mode & SSL_SESS_CACHE_NO_INTERNAL_LOOKUP) return;
    const cached = this.table.retrieve(probe(version, sentId));
    if (cached !== null && cached !== offered && this.idContextMatches(cached) && !this.expiredAt(cached, now)) {
      throw new RangeError(
        `session ${offered.handle} is offered but session ${cached.handle} has its key in the cache; ` +
          'resuming from another object is outside the SessionCache contract',
      );
    }
  }

  /**
   * ssl_get_prev_session for a server without tickets: the session to resume, with a
   * reference the connection owns, or null for a full handshake; throws the fatal case.
   */
  private getPrevSession(version: number, id: Buffer, callback: SessionRecord | null | undefined, now: number): SessionRecord | null {
    if (id.length === 0) return null; // try_session_cache = 0: nothing to look up, no miss
    let found: SessionRecord | null = null;
    if (!(this.mode & SSL_SESS_CACHE_NO_INTERNAL_LOOKUP)) {
      found = this.table.retrieve(probe(version, id));
      if (found === null) this.counters.misses++;
      else found.references++; // the connection's reference
    }
    if (found === null && callback !== undefined && callback !== null) {
      found = callback;
      this.counters.cbHits++;
      found.references++; // *copy = 1
      if (!(this.mode & SSL_SESS_CACHE_NO_INTERNAL_STORE)) this.addSession(found);
    }
    if (found === null) return null;
    if (!this.idContextMatches(found)) {
      this.release(found); // "treat like cache miss", without counting one
      return null;
    }
    if (this.verifyPeer && this.idContext.length === 0) {
      this.release(found);
      throw codedError(ERR_HANDSHAKE_FAILED, 'SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED: a server verifying peers needs a session id context');
    }
    if (this.expiredAt(found, now)) {
      this.expireAtLookup(found);
      this.release(found);
      return null;
    }
    this.counters.hits++;
    return found;
  }

  /** `ret->sid_ctx` equals the server's `s->sid_ctx` (length and bytes). */
  protected idContextMatches(session: ModelSession): boolean {
    return session.idContext.equals(this.idContext);
  }

  /** `ret->timeout < time(NULL) - ret->time`. */
  protected expiredAt(session: ModelSession, now: number): boolean {
    return session.timeout < now - session.time;
  }

  /** An expired session found by the lookup (or the callback): counted and removed. */
  protected expireAtLookup(session: ModelSession): void {
    this.counters.timeouts++;
    this.removeSession(session as SessionRecord);
  }

  /**
   * ssl_get_new_session(s, 1) plus ssl3_send_server_hello's truncation: a new session
   * owned by the connection (one reference), or a thrown failed handshake.
   */
  private getNewSession(
    protocol: Protocol,
    version: number,
    wanted: Buffer | undefined,
    sentId: Buffer,
    now: number,
  ): SessionRecord {
    const timeout = this.timeout === 0 ? METHOD_DEFAULT_TIMEOUT : this.timeout;
    const id = wanted === undefined ? this.freshId(version, sentId, true) : Buffer.from(wanted);
    if (this.table.retrieve(probe(version, id)) !== null) {
      // SSL_has_matching_session_id: SSL_R_SSL_SESSION_ID_CONFLICT, the server gives up
      throw codedError(ERR_SESSION_ID_CONFLICT, `session id ${id.toString('hex')} is already cached`);
    }
    // Without SSL_SESS_CACHE_SERVER the server hands out an empty (single-use) id.
    const sent = this.mode & SSL_SESS_CACHE_SERVER ? id : Buffer.alloc(0);
    if (sentId.length > 0 && sent.equals(sentId)) {
      // ssl3_get_server_hello: the client sees its own id echoed, takes the handshake
      // for a resumption and aborts; the server never reaches SSL_ST_OK. (If it reads
      // the client's alert it removes its session from the cache — this one is not in
      // it, so nothing changes.)
      throw codedError(ERR_HANDSHAKE_FAILED, `the server sent back the offered session id ${id.toString('hex')}`);
    }
    return this.newRecord(protocol, version, sent, hashOfIdArray(id), now, timeout, this.idContext);
  }

  /** ssl_update_cache(s, mode) with mode SSL_SESS_CACHE_SERVER or SSL_SESS_CACHE_CLIENT. */
  private updateCache(session: SessionRecord, hit: boolean, end: number, now: number): void {
    if (session.id.length === 0) return;
    const mode = this.mode;
    if (this.storesNewSessions(mode, end) && !hit && (mode & SSL_SESS_CACHE_NO_INTERNAL_STORE || this.addSession(session) === 1)) {
      session.references++; // handed to the new-session callback, which keeps it
      this.record('new', session);
    }
    // "auto flush every 255 connections": inside the handshake that will make
    // accept_good (connect_good) 256, 512, ... (the counter moves after this function).
    if (!(mode & SSL_SESS_CACHE_NO_AUTO_CLEAR) && (mode & end) === end) {
      const good = end === SSL_SESS_CACHE_CLIENT ? this.counters.connectGood : this.counters.acceptGood;
      if (this.autoFlushDue(good)) this.flushSessions(now);
    }
  }

  /** `(i & mode)` of ssl_update_cache: whether this end's bit is in the cache mode. */
  protected storesNewSessions(mode: number, end: number): boolean {
    return (mode & end) !== 0;
  }

  /** The good-handshake counter (before this handshake's increment) at which the automatic flush runs. */
  protected autoFlushDue(good: number): boolean {
    return (good & 0xff) === 0xff;
  }

  /**
   * A deterministic 32-byte id for the session about to get the next handle, neither
   * cached under `version` (when `avoidCached`) nor `avoid` (def_generate_session_id
   * retries). OpenSSLCache derives its ids the same way.
   */
  private freshId(version: number, avoid: Buffer, avoidCached: boolean): Buffer {
    for (let attempt = 0; ; attempt++) {
      const id = generatedId(this.nextHandle, attempt);
      if ((!avoidCached || this.table.retrieve(probe(version, id)) === null) && !id.equals(avoid)) return id;
    }
  }

  // ---- OpenSSL's cache functions ----------------------------------------------------

  /** SSL_CTX_add_session. */
  private addSession(c: SessionRecord): 0 | 1 {
    c.references++; // one reference for the hash and the list together
    let s = this.table.insert(c);
    if (s !== null && s !== c) {
      // the same key under another object: drop the old one quietly
      this.listRemove(s);
      s.cached = false;
      this.release(s);
      s = null;
    }
    if (s === null) {
      this.listAdd(c);
      c.cached = true;
      if (this.cacheSize > 0) {
        while (this.table.count > this.cacheSize) {
          const tail = this.list.values().next().value;
          if (tail === undefined || !this.removeSessionLocked(tail)) break;
          this.counters.cacheFull++;
        }
      }
      return 1;
    }
    c.references--; // already cached: take the increment back (never the last reference)
    return 0;
  }

  /** SSL_CTX_remove_session. */
  private removeSession(c: SessionRecord): 0 | 1 {
    return this.removeSessionLocked(c) ? 1 : 0;
  }

  /** remove_session_lock: the locking differs between callers, the effects do not. */
  private removeSessionLocked(c: SessionRecord): boolean {
    if (c.id.length === 0) return false;
    if (this.table.retrieve(c) !== c) return false;
    this.table.delete(c);
    this.listRemove(c);
    this.dropFromCache(c);
    return true;
  }

  /** SSL_CTX_flush_sessions: lh_doall_arg with down_load forced to 0 during the walk. */
  private flushSessions(t: number): void {
    const saved = this.table.downLoad;
    this.table.downLoad = 0;
    this.table.doall((s) => {
      if (t === 0 || t > s.time + s.timeout) {
        this.table.delete(s);
        this.listRemove(s);
        this.dropFromCache(s);
      }
    });
    this.table.downLoad = saved;
  }

  /** The tail shared by remove and flush: not_resumable, remove callback, free the cache's reference. */
  private dropFromCache(s: SessionRecord): void {
    s.cached = false;
    s.notResumable = true;
    s.references++; // the remove callback's recorder takes its own reference ...
    this.record('remove', s);
    this.release(s); // ... before the cache's is freed
  }

  /** SSL_SESSION_list_add: at the head. */
  private listAdd(s: SessionRecord): void {
    this.list.delete(s);
    this.list.add(s);
  }

  /** SSL_SESSION_list_remove. */
  private listRemove(s: SessionRecord): void {
    this.list.delete(s);
  }

  // ---- references and handles -------------------------------------------------------

  private newRecord(
    protocol: Protocol,
    version: number,
    id: Buffer,
    hash: number,
    time: number,
    timeout: number,
    idContext: Buffer,
  ): SessionRecord {
    const record: SessionRecord = {
      handle: this.nextHandle++,
      idContext,
      protocol,
      version,
      id,
      hash,
      time,
      timeout,
      notResumable: false,
      references: 1,
      callerRefs: 0,
      cached: false,
    };
    this.records.set(record.handle, record);
    return record;
  }

  private record(type: 'new' | 'remove', record: SessionRecord): void {
    this.events.push({ type, record });
  }

  /** A +1 reference handed to the caller. */
  private giveNewReference(record: SessionRecord): SessionHandle {
    record.references++;
    record.callerRefs++;
    return record.handle;
  }

  /** SSL_SESSION_free of one reference (whose owner has already been accounted for). */
  private release(record: SessionRecord): void {
    record.references--;
    if (record.references < 0) throw new Error(`internal error: session ${record.handle} freed too often`);
  }

  /** The record behind a handle the caller holds a reference to. */
  private held(h: SessionHandle): SessionRecord {
    const record = this.records.get(h);
    if (record === undefined) throw codedError(ERR_INVALID_HANDLE, `no session has handle ${String(h)}`);
    if (record.callerRefs > 0) return record;
    if (record.references === 0) throw codedError(ERR_SSL_FREED, `session ${h} has been freed`);
    throw codedError(ERR_SSL_FREED, `the caller holds no reference to session ${h} (it is still alive in the cache)`);
  }

  // ---- diagnostics (not part of SessionCache) ---------------------------------------

  /**
   * Throws if the model's bookkeeping is inconsistent: every live session's reference
   * count must equal cache + caller + pending-event references, and the hash and the
   * list must hold the same sessions.
   */
  checkInvariants(): void {
    const pending = new Map<SessionRecord, number>();
    for (const { record } of this.events) pending.set(record, (pending.get(record) ?? 0) + 1);
    for (const record of this.records.values()) {
      const expected = (record.cached ? 1 : 0) + record.callerRefs + (pending.get(record) ?? 0);
      if (record.references !== expected) {
        throw new Error(`session ${record.handle}: references ${record.references}, expected ${expected}`);
      }
      if (record.cached !== this.list.has(record)) throw new Error(`session ${record.handle}: cached flag disagrees with the list`);
      if (record.cached && this.table.retrieve(record) !== record) throw new Error(`session ${record.handle}: listed but not hashed`);
    }
    if (this.list.size !== this.table.count) throw new Error(`list has ${this.list.size} sessions, hash ${this.table.count}`);
  }

  /** The cached sessions in the order a flush would visit them (lhash bucket order); no references given. */
  flushOrder(): SessionHandle[] {
    return this.table.order().map((record) => record.handle);
  }
}
