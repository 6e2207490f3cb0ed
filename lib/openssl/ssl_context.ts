// SslContext: one OpenSSL 1.0.2 SSL_CTX and its session cache. The class is the public
// face; its concerns live beside it in lib/openssl/:
//   context_setup.ts    the options of new SslContext(): checked, converted, applied
//   context_events.ts   the event engine ('newSession' / 'removeSession', the package's consumers)
//   context_batches.ts  the slot arguments of the cache calls and the batch buffer
//   context_tickets.ts  session-ticket keys
import { EventEmitter } from 'events';
import { native, NativeContextHandle, NativeSessionHandle } from '../binding/native';
import { AddRefusal, MAX_SESSION_ID_LENGTH, MAX_SID_CTX_LENGTH, SslOption, TlsProtocol } from '../binding/constants';
import type { Protocol } from '../binding/constants';
import { protocolNumber } from '../binding/protocol_version';
import type { CacheStats } from '../common/cache_stats';
import type { EventListener } from '../common/typed_events';
import { checkLength, integer, INT_MAX, LONG_MAX, toBuffer, toBufferOrString } from '../common/validate';
import { batchLength, giveSlots, inOtherContext, sessionSlot, takeSlots } from './context_batches';
import { ContextEvents, NewSessionDERConsumer, RemoveReason, SslContextEvents } from './context_events';
import { applyContext, checkMode, prepareContext, ROLES, SslContextOptions, SslContextRole } from './context_setup';
import { previousTicketKeys, setTicketKeys, TICKET_KEY_LENGTH, TicketKeyStats } from './context_tickets';
import {
  kAddSessionDER,
  kFromHandle,
  kHandle,
  kHasSession,
  kInternalOn,
  kLive,
  kNewSessionDER,
  kRemoveSessionId,
  kRetainEvents,
  kSettle,
  kVersionRange,
} from './internal';
import { own, disown } from './lifetimes';
import type { Failure } from './openssl_call';
import { SslSession } from './ssl_session';

export { checkMode, TICKET_KEY_LENGTH };
export type { NewSessionDERConsumer, RemoveReason, SslContextEvents, SslContextOptions, SslContextRole, TicketKeyStats };

/** The `SSL_CTX_sess_*` counters. */
export type SslContextStats = CacheStats;

export type GetSessionCallback = (id: Buffer) => SslSession | undefined;

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- types only: typed on/once/emit (lib/common/typed_events.ts)
export interface SslContext {
  on<K extends keyof SslContextEvents>(event: K, listener: EventListener<SslContextEvents, K>): this;
  once<K extends keyof SslContextEvents>(event: K, listener: EventListener<SslContextEvents, K>): this;
  off<K extends keyof SslContextEvents>(event: K, listener: EventListener<SslContextEvents, K>): this;
  addListener<K extends keyof SslContextEvents>(event: K, listener: EventListener<SslContextEvents, K>): this;
  removeListener<K extends keyof SslContextEvents>(event: K, listener: EventListener<SslContextEvents, K>): this;
  prependListener<K extends keyof SslContextEvents>(event: K, listener: EventListener<SslContextEvents, K>): this;
  prependOnceListener<K extends keyof SslContextEvents>(event: K, listener: EventListener<SslContextEvents, K>): this;
  emit<K extends keyof SslContextEvents>(event: K, ...args: SslContextEvents[K]): boolean;
  listenerCount<K extends keyof SslContextEvents>(event: K): number;
}

/**
 * An OpenSSL 1.0.2 SSL_CTX and its internal session cache.
 *
 * Events 'newSession' and 'removeSession' carry the thread's SslSession of the session
 * (the live one if there is one, else a new one: lib/openssl/identity.ts). OpenSSL's
 * callbacks only record them (1.0.2 runs the remove callback with its global
 * CRYPTO_LOCK_SSL_CTX held); they are emitted after the OpenSSL call has returned and
 * before the method that made it returns, in the order OpenSSL produced them.
 * If a listener throws, the remaining events are still delivered and the first error is
 * rethrown afterwards; the cache is already consistent by then.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class SslContext extends EventEmitter {
  /** @internal */
  [kHandle]: NativeContextHandle;
  readonly #events: ContextEvents;
  readonly #slot: number;
  #getSessionCallback: GetSessionCallback | undefined;
  readonly #versionRange: readonly [TlsProtocol, TlsProtocol];

  constructor(options?: SslContextOptions) {
    super();
    // validate everything before creating anything native
    const p = prepareContext(options);
    this.#versionRange = p.versionRange;
    this.#events = new ContextEvents(this);
    const h = new native.SslContextHandle(ROLES[p.role], this.#events.state);
    this[kHandle] = h;
    this.#events.attach(h);
    this.#slot = h.slot;
    own(this, h);
    try {
      applyContext(h, p);
    } catch (e) {
      this.free();
      throw e;
    }
    this.#events.watchListeners();
  }

  /** @internal parts of the package that consume removals without listeners (stores) */
  [kRetainEvents](): void {
    this.#events.retain();
  }

  /** @internal see internal.ts */
  [kInternalOn](event: 'newSession' | 'removeSession', fn: (s: SslSession, reason: RemoveReason) => void): () => void {
    return this.#events.internalOn(event, fn);
  }

  /** @internal see internal.ts: new sessions as bytes, serialized natively, no SslSession made */
  [kNewSessionDER](fn: NewSessionDERConsumer): () => void {
    return this.#events.internalOn('newSessionDER', fn);
  }

  /** @internal the protocol range of the options this context was made with */
  get [kVersionRange](): readonly [TlsProtocol, TlsProtocol] {
    return this.#versionRange;
  }

  /**
   * @internal After an OpenSSL call: takes the exception the get callback threw during it
   * and delivers the events OpenSSL recorded, tagged with the reason of the call. Returns
   * the first failure (the callback's exception first: it is the cause of what followed),
   * or undefined. Used through callOpenSSL() (openssl_call.ts) and #afterCall().
   */
  [kSettle](reason: RemoveReason): Failure | undefined {
    return this.#events.settle(reason);
  }

  /** the cache calls' fast path: nothing to do unless OpenSSL recorded events */
  #afterCall(reason: RemoveReason): void {
    if (this.#events.state[0] === 0) return;
    const failure = this[kSettle](reason);
    if (failure) throw failure.error;
  }

  /** @internal SSL_CTX_add_session's integer; refuses sessions cached elsewhere */
  rawAdd(session: SslSession): number {
    const r = addSlot(this.#slot, sessionSlot(session));
    if (r === AddRefusal.IN_OTHER_CONTEXT) throw inOtherContext();
    this.#afterCall('evict');
    return r;
  }

  /** @internal SSL_CTX_remove_session's integer */
  rawRemove(session: SslSession): number {
    const r = removeSlot(this.#slot, sessionSlot(session));
    this.#afterCall('remove');
    return r;
  }

  /**
   * addSession for each session in order, in one native call: the number added (true
   * results). Every element is checked first (TypeError / ERR_SSL_FREED before any is
   * added). Eviction events are delivered once the batch is done. A session cached by
   * another context stops the batch there (the ones before it stay added) and throws
   * ERR_SESSION_IN_OTHER_CONTEXT after the events.
   */
  addSessions(sessions: readonly SslSession[]): number {
    const n = batchLength(sessions);
    const slots = takeSlots(sessions, n);
    const r = addMany(this.#slot, slots, n);
    giveSlots(slots);
    this.#afterCall('evict');
    if (r < 0) throw inOtherContext();
    return r;
  }

  /**
   * @internal The session `der` encodes, added when its id equals `id` — what
   * `SslSession.fromDER(der)`, an id check, `addSession` and `free()` do, without making an
   * SslSession: the bytes go through fromDER's own native decoder, so they are refused
   * exactly when fromDER would throw. 'added' (SSL_CTX_add_session ran), 'otherId' or
   * 'undecodable' (nothing added, no event). Eviction events are delivered as addSession
   * delivers them, and a listener's failure is thrown after the add, as addSession throws it.
   */
  [kAddSessionDER](id: Buffer, der: Buffer): 'added' | 'otherId' | 'undecodable' {
    const b = checkLength(toBuffer(id, 'id'), 1, MAX_SESSION_ID_LENGTH, 'id');
    const r = this[kHandle].addDER(b, toBuffer(der, 'der'));
    if (r === AddRefusal.OTHER_ID) return 'otherId';
    if (r === AddRefusal.UNDECODABLE) return 'undecodable';
    this.#afterCall('evict');
    return 'added';
  }

  /**
   * @internal removeSession of the cached session with this id, under each protocol in
   * order, without an SslSession (the native lookup and SSL_CTX_remove_session in one call
   * per protocol): how many were removed. Events are delivered after each, as removeSession
   * delivers them.
   */
  [kRemoveSessionId](id: Buffer, protocols: readonly Protocol[]): number {
    const b = checkLength(toBuffer(id, 'id'), 1, MAX_SESSION_ID_LENGTH, 'id');
    const h = this[kHandle];
    let n = 0;
    for (const protocol of protocols) {
      if (h.removeId(b, protocolNumber(protocol)) === 1) n += 1;
      this.#afterCall('remove');
    }
    return n;
  }

  /** removeSession for each session in order, in one native call: the number removed. */
  removeSessions(sessions: readonly SslSession[]): number {
    const n = batchLength(sessions);
    const slots = takeSlots(sessions, n);
    const r = removeMany(this.#slot, slots, n);
    giveSlots(slots);
    this.#afterCall('remove');
    return r;
  }

  /**
   * SSL_CTX_add_session: true when added (1), false when this very object is already
   * cached (0). A session with an empty id is refused (RangeError, code
   * ERR_SESSION_ID_EMPTY): 1.0.2 could neither find, remove nor evict it. A cached session with the same id and protocol is replaced (no event).
   * May evict the oldest sessions when the cache is over its size ('removeSession').
   */
  addSession(session: SslSession): boolean {
    return this.rawAdd(session) === 1;
  }

  /** SSL_CTX_remove_session: true when this very object was cached and is now removed. */
  removeSession(session: SslSession): boolean {
    return this.rawRemove(session) === 1;
  }

  /**
   * SSL_CTX_flush_sessions: removes every session with time + timeout < t; time 0
   * removes all. Default: now.
   */
  flushSessions(time?: number): void {
    const t = time === undefined ? Math.floor(Date.now() / 1000) : integer(time, 'time', 0, LONG_MAX);
    this[kHandle].flush(t);
    this.#afterCall('flush');
  }

  /**
   * The cached session with this id and protocol (hash lookup, no counters), or undefined:
   * the thread's live SslSession of that native session when there is one (no new
   * reference), else a new object with its own reference.
   */
  getSession(id: Buffer, protocol: Protocol = 'TLSv1.2'): SslSession | undefined {
    // the common case first (a Buffer id, the default protocol): the same checks, fewer calls
    const b = Buffer.isBuffer(id) && id.length >= 1 && id.length <= MAX_SESSION_ID_LENGTH ? id : checkLength(toBuffer(id, 'id'), 1, MAX_SESSION_ID_LENGTH, 'id');
    const v = protocol === 'TLSv1.2' ? TLS12 : protocolNumber(protocol);
    const key = findSlot(this.#slot, b, v);
    if (key === undefined) return undefined;
    const live = SslSession[kLive](key);
    if (live !== undefined) return live;
    // no OpenSSL call since findSlot: the native lookup finds the same session again
    const h = this[kHandle].get(b, v);
    return h === undefined ? undefined : SslSession[kFromHandle](h);
  }

  /** @internal whether a session with this id and protocol is cached (getSession's lookup, no object) */
  [kHasSession](id: Buffer, protocol: Protocol = 'TLSv1.2'): boolean {
    const b = checkLength(toBuffer(id, 'id'), 1, MAX_SESSION_ID_LENGTH, 'id');
    return findSlot(this.#slot, b, protocolNumber(protocol)) !== undefined;
  }

  /**
   * The cached sessions in OpenSSL's list order, newest first: the live SslSession of each
   * where the thread has one, new objects (each with its own reference) for the others.
   */
  sessions(): SslSession[] {
    const h = this[kHandle];
    const keys = h.listKeys();
    const out = new Array<SslSession>(keys.length);
    let missing: Uint8Array | undefined;
    for (let i = 0; i < keys.length; i++) {
      const live = SslSession[kLive](keys[i]);
      if (live !== undefined) out[i] = live;
      else (missing ??= new Uint8Array(keys.length))[i] = 1;
    }
    if (missing !== undefined) {
      // no OpenSSL call since listKeys(): the positions name the same sessions
      const made = h.listSome(missing);
      for (let i = 0; i < keys.length; i++) {
        if (missing[i] === 1) out[i] = SslSession[kFromHandle](made[i] as NativeSessionHandle);
      }
    }
    return out;
  }

  /** SSL_CTX_sess_number */
  get sessionCount(): number {
    return this[kHandle].count();
  }

  get sessionCacheMode(): number {
    return this[kHandle].mode();
  }

  set sessionCacheMode(mode: number) {
    this[kHandle].setMode(checkMode(mode, 'sessionCacheMode'));
  }

  /** SSL_CTX_sess_get_cache_size / set_cache_size (0 = unlimited; shrinking evicts on the next add) */
  get sessionCacheSize(): number {
    return this[kHandle].cacheSize();
  }

  set sessionCacheSize(size: number) {
    this[kHandle].setCacheSize(integer(size, 'sessionCacheSize', 0, LONG_MAX));
  }

  /** SSL_CTX_get_timeout / set_timeout: the lifetime given to new sessions, seconds */
  get sessionTimeout(): number {
    return this[kHandle].timeout();
  }

  set sessionTimeout(seconds: number) {
    this[kHandle].setTimeout(integer(seconds, 'sessionTimeout', 0, INT_MAX));
  }

  /**
   * The next session a handshake creates on this context gets `id`
   * (SSL_CTX_set_generate_session_id, dropped once used); undefined cancels. For
   * conformance runs that must name sessions deterministically.
   */
  setNextSessionId(id?: Buffer): void {
    this[kHandle].setNextSessionId(id === undefined ? undefined : checkLength(toBuffer(id, 'id'), 1, MAX_SESSION_ID_LENGTH, 'id'));
  }

  /** whether session tickets are used (SslOption.NO_TICKET is not set) */
  get ticketsEnabled(): boolean {
    return (this[kHandle].setOptions(0) & SslOption.NO_TICKET) === 0;
  }

  /** SslOption.NO_TICKET cleared (true) or set (false): whether session tickets are used */
  setTicketsEnabled(enabled: boolean): void {
    if (typeof enabled !== 'boolean') throw new TypeError('enabled must be a boolean');
    if (enabled) this[kHandle].clearOptions(SslOption.NO_TICKET);
    else this[kHandle].setOptions(SslOption.NO_TICKET);
  }

  /**
   * Session-ticket keys (SSL_CTX_set_tlsext_ticket_key_cb): `current` (48 bytes: key name,
   * HMAC-SHA256 secret, AES-128 key — node:tls's layout) encrypts new tickets; each of
   * `previous` still decrypts, and a ticket made under one is accepted and re-issued under
   * `current`. Tickets under any other key fall back to a full handshake. The callback
   * answers inside the handshake from the keys held natively; no JS runs there.
   */
  setTicketKeys(current: Buffer, previous: readonly Buffer[] = []): void {
    setTicketKeys(this[kHandle], this, current, previous);
  }

  /**
   * Turns tickets off (SslOption.NO_TICKET) and wipes the ticket keys held natively
   * (OPENSSL_cleanse): every ticket offered then gets a full handshake. setTicketKeys and
   * setTicketsEnabled(true) turn them on again.
   */
  clearTicketKeys(): void {
    const h = this[kHandle];
    h.setOptions(SslOption.NO_TICKET);
    h.setTicketKeys(Buffer.alloc(0));
  }

  /** The current ticket key (48 bytes): OpenSSL's own random key until setTicketKeys. */
  getTicketKeys(): Buffer {
    return this[kHandle].getTicketKeys().subarray(0, TICKET_KEY_LENGTH);
  }

  /** The previous keys that still decrypt, newest first (copies). */
  getPreviousTicketKeys(): Buffer[] {
    return previousTicketKeys(this[kHandle]);
  }

  /**
   * Counters of the ticket key callback: tickets `issued` (encrypted under the current
   * key), tickets whose key name matched the `current` key or a `previous` one (accepted
   * and re-issued), and tickets under an `unknownKey` (full handshake). All 0 until
   * setTicketKeys installs the callback.
   */
  get ticketKeyStats(): TicketKeyStats {
    const { issued, current, previous, unknownKey, revoked } = this[kHandle].ticketKeyStats();
    return { issued, current, previous, unknownKey, revoked };
  }

  /** SSL_CTX_set_session_id_context */
  setSessionIdContext(ctx: Buffer | string): void {
    this[kHandle].setSessionIdContext(checkLength(toBufferOrString(ctx, 'sessionIdContext'), 0, MAX_SID_CTX_LENGTH, 'sessionIdContext'));
  }

  /** SSL_CTX_sess_* counters */
  get stats(): SslContextStats {
    return this[kHandle].stats();
  }

  /**
   * SSL_CTX_sess_set_get_cb: called synchronously during a handshake when the internal
   * lookup found nothing (or NO_INTERNAL_LOOKUP is set). Return a session to resume it.
   * A throw inside it counts as "no session" and is rethrown after the OpenSSL call.
   */
  get getSessionCallback(): GetSessionCallback | undefined {
    return this.#getSessionCallback;
  }

  set getSessionCallback(fn: GetSessionCallback | undefined) {
    if (fn !== undefined && typeof fn !== 'function') throw new TypeError('getSessionCallback must be a function or undefined');
    const h = this[kHandle];
    if (h.freed()) h.count(); // throws ERR_SSL_FREED
    this.#getSessionCallback = fn;
    if (fn === undefined) {
      h.setGetCallback(undefined);
      return;
    }
    h.setGetCallback((id: Buffer) => {
      const s = fn(id);
      if (s === undefined || s === null) return undefined;
      if (!(s instanceof SslSession)) throw new TypeError('getSessionCallback must return an SslSession or undefined');
      return s[kHandle];
    });
  }

  get freed(): boolean {
    return this[kHandle].freed();
  }

  /** SSL_CTX_free: flushes the cache ('removeSession' per cached session). Idempotent. */
  free(): void {
    const h = this[kHandle];
    if (h.freed()) return;
    disown(this);
    this.#getSessionCallback = undefined;
    h.free();
    this.#afterCall('free');
  }

  [Symbol.dispose](): void {
    this.free();
  }
}


const { addSlot, removeSlot, addMany, removeMany, findSlot } = native.SslContextHandle;
const TLS12 = protocolNumber('TLSv1.2');
