import { EventEmitter } from 'events';
import { native, NativeContextHandle, NativeSessionHandle } from '../binding/native';
import {
  ALL_SESSION_CACHE_MODE_BITS,
  MAX_SESSION_ID_LENGTH,
  MAX_SID_CTX_LENGTH,
  NO_PROTOCOL_OPTION,
  SESSION_EVENT_EVICTED,
  SessionEventKind,
  SslOption,
  SslVerify,
  TLS_PROTOCOLS,
  TlsProtocol,
} from '../binding/constants';
import type { Protocol } from '../binding/constants';
import { protocolNumber } from '../binding/protocol_version';
import type { CacheStats } from '../common/cache_stats';
import { noteTicketKeysSet } from '../common/diagnostics';
import type { EventListener, ListenerEvents } from '../common/typed_events';
import { codedError, ErrorCode } from '../common/coded_error';
import { checkLength, integer, INT_MAX, LONG_MAX, optionsObject, toBuffer, toBufferOrString } from '../common/validate';
import { checkOptionNames } from '../common/option_names';
import { checkDhBits, CONTEXT_OPTIONS, curveList, pem, pemList, pfxList, protocolRange, secureOptionBits, sigalgsList } from './context_options';
import { kAddSessionDER, kFromHandle, kHandle, kHasSession, kInternalOn, kLive, kRetainEvents, kSettle, kVersionRange } from './internal';
import { own, disown } from './lifetimes';
import type { Failure } from './openssl_call';
import { kSlot, SslSession } from './ssl_session';

const ROLES = { server: 0, client: 1, both: 2 } as const;

export type SslContextRole = keyof typeof ROLES;

export interface SslContextOptions {
  /** SSLv23 server / client / generic method; default 'server' */
  role?: SslContextRole;
  /** SessionCacheMode flags; default OpenSSL's SERVER */
  sessionCacheMode?: number;
  /** SSL_CTX_sess_set_cache_size; default 20480, 0 = unlimited */
  sessionCacheSize?: number;
  /** SSL_CTX_set_timeout, seconds; default 300 */
  sessionTimeout?: number;
  /** SSL_CTX_set_session_id_context, at most 32 bytes */
  sessionIdContext?: Buffer | string;
  /** SslOption.NO_TICKET: no session tickets, so servers cache sessions by id */
  noTicket?: boolean;
  /** PEM certificate (leaf first, then chain) */
  cert?: string | Buffer;
  /** PEM private key */
  key?: string | Buffer;
  /** pass phrase of an encrypted `key` (as node:tls); without it an encrypted PEM fails at once */
  passphrase?: string | Buffer;
  /** OpenSSL cipher list */
  ciphers?: string;
  /** trusted CA certificates (PEM, or an array of PEMs); given → the peer's certificate is verified (SSL_VERIFY_PEER) */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** lowest protocol allowed: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' (SSL_OP_NO_* below it) */
  minVersion?: TlsProtocol;
  /** highest protocol allowed (SSL_OP_NO_* above it). JavaScript callers may pass node's
   * default 'TLSv1.3': it means TLSv1.2, the highest 1.0.2 has (the type says there is none) */
  maxVersion?: TlsProtocol;
  /** node:tls: certificate revocation lists (PEM, or an array of PEMs); given → every
   * certificate of a verified chain is checked (X509_V_FLAG_CRL_CHECK | CRL_CHECK_ALL) */
  crl?: string | Buffer | readonly (string | Buffer)[];
  /** node:tls: the server's cipher order wins (SSL_OP_CIPHER_SERVER_PREFERENCE) */
  honorCipherOrder?: boolean;
  /** node:tls: 'auto' (default), one curve name or a ':'-list ('P-256:P-384'); no X25519 in 1.0.2 */
  ecdhCurve?: string;
  /** node:tls: PEM DH parameters (at least 1024 bits), enabling DHE suites */
  dhparam?: string | Buffer;
  /** node:tls: SSL_OP_* bits (crypto.constants) 1.0.2 defines with the same meaning */
  secureOptions?: number;
  /** node:tls: signature algorithms, 1.0.2's form ('RSA+SHA256:ECDSA+SHA256') */
  sigalgs?: string;
  /** node:tls: PKCS#12 certificate and key (decrypted with `passphrase`), or several */
  pfx?: string | Buffer | readonly (string | Buffer | { buf: string | Buffer; passphrase?: string | Buffer })[];
  /** node:tls: an OpenSSL method name ('TLSv1_2_method', 'TLS_method', ...) as a protocol range */
  secureProtocol?: string;
}

/** The `SSL_CTX_sess_*` counters. */
export type SslContextStats = CacheStats;

/**
 * Why OpenSSL removed a session (second argument of 'removeSession'):
 * 'remove' removeSession()/raw remove; 'evict' an add pushed the cache over its size
 * (whatever call made the add: also a handshake's own insert);
 * 'flush' flushSessions(); 'free' the context was freed; 'handshake' a handshake found
 * it expired, or a connection that ended without a clean shutdown dropped it.
 */
export type RemoveReason = 'remove' | 'evict' | 'flush' | 'free' | 'handshake';

export type GetSessionCallback = (id: Buffer) => SslSession | undefined;

/** The events of an SslContext and their listeners' arguments. */
export interface SslContextEvents extends ListenerEvents {
  /** a handshake made a new session (mode SERVER/CLIENT, id not empty); `session` is the thread's one object of it (may be shared) */
  newSession: [session: SslSession];
  /** OpenSSL removed `session` from the cache, for `reason` */
  removeSession: [session: SslSession, reason: RemoveReason];
}

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
  readonly #state: Uint32Array;
  readonly #slot: number;
  #getSessionCallback: GetSessionCallback | undefined;
  #internalMask = 0;
  #delivering = false;
  /**
   * queued events: [type, handle, reason] triples. The handle (holding the event's
   * reference) becomes an SslSession only when its event is delivered: an earlier listener
   * may have freed the thread's object of that session (identity), and then this event gets
   * a new one instead of a freed one.
   */
  #pending: (number | NativeSessionHandle | RemoveReason)[] = [];
  /** the package's own consumers (stores, revocation): served first, never by emit() */
  readonly #internal: { newSession: ((s: SslSession) => void)[]; removeSession: ((s: SslSession, r: RemoveReason) => void)[] } = {
    newSession: [],
    removeSession: [],
  };
  #versionRange: [TlsProtocol, TlsProtocol] = [TLS_PROTOCOLS[0], TLS_PROTOCOLS[TLS_PROTOCOLS.length - 1]];

  constructor(options?: SslContextOptions) {
    super();
    const o = optionsObject(options, 'options');
    checkOptionNames(o, [CONTEXT_OPTIONS], 'options', 'new SslContext()');
    const role = o.role ?? 'server';
    if (typeof role !== 'string' || !(role in ROLES)) {
      throw new (typeof role === 'string' ? RangeError : TypeError)(`options.role must be 'server', 'client' or 'both'`);
    }
    // validate everything before creating anything native
    const mode = o.sessionCacheMode === undefined ? undefined : checkMode(o.sessionCacheMode, 'options.sessionCacheMode');
    const size = o.sessionCacheSize === undefined ? undefined : integer(o.sessionCacheSize, 'options.sessionCacheSize', 0, LONG_MAX);
    const timeout = o.sessionTimeout === undefined ? undefined : integer(o.sessionTimeout, 'options.sessionTimeout', 0, INT_MAX);
    const sidCtx =
      o.sessionIdContext === undefined
        ? undefined
        : checkLength(toBufferOrString(o.sessionIdContext, 'options.sessionIdContext'), 0, MAX_SID_CTX_LENGTH, 'options.sessionIdContext');
    if (o.noTicket !== undefined && typeof o.noTicket !== 'boolean') throw new TypeError('options.noTicket must be a boolean');
    const cert = o.cert === undefined ? undefined : pem(o.cert, 'options.cert');
    const key = o.key === undefined ? undefined : pem(o.key, 'options.key');
    const passphrase = o.passphrase === undefined ? undefined : pem(o.passphrase, 'options.passphrase', 'a string or Buffer');
    if (o.ciphers !== undefined && typeof o.ciphers !== 'string') throw new TypeError('options.ciphers must be a string');
    const ca = o.ca === undefined ? undefined : pemList(o.ca, 'options.ca');
    const crl = o.crl === undefined || o.crl === null ? undefined : pemList(o.crl, 'options.crl');
    if (o.honorCipherOrder !== undefined && typeof o.honorCipherOrder !== 'boolean') throw new TypeError('options.honorCipherOrder must be a boolean');
    const curves = curveList(o.ecdhCurve);
    const dhparam = o.dhparam === undefined || o.dhparam === null ? undefined : dhParams(o.dhparam);
    const secureOptions = o.secureOptions === undefined ? 0 : secureOptionBits(o.secureOptions);
    const sigalgs = sigalgsList(o.sigalgs);
    const pfx = o.pfx === undefined || o.pfx === null ? undefined : pfxList(o.pfx, passphrase);
    const [lo, hi] = protocolRange(o.minVersion, o.maxVersion, o.secureProtocol);
    const noVersions = versionBits(lo, hi);
    this.#versionRange = [TLS_PROTOCOLS[lo], TLS_PROTOCOLS[hi]];

    // the pending-event count native code publishes: a SharedArrayBuffer cannot be
    // transferred or detached, so native memory stays valid whatever user code does
    this.#state = new Uint32Array(new SharedArrayBuffer(4));
    const h = new native.SslContextHandle(ROLES[role as SslContextRole], this.#state);
    this[kHandle] = h;
    this.#slot = h.slot;
    own(this, h);
    try {
      if (mode !== undefined) h.setMode(mode);
      if (size !== undefined) h.setCacheSize(size);
      if (timeout !== undefined) h.setTimeout(timeout);
      if (sidCtx !== undefined) h.setSessionIdContext(sidCtx);
      if (o.noTicket) h.setOptions(SslOption.NO_TICKET);
      if (cert !== undefined) h.useCertificate(cert);
      if (key !== undefined) h.usePrivateKey(key, passphrase);
      if (pfx !== undefined) for (const p of pfx) h.usePkcs12(p.der, p.passphrase);
      if (o.ciphers !== undefined) h.setCipherList(o.ciphers as string);
      if (noVersions !== 0) h.setOptions(noVersions);
      if (o.honorCipherOrder === true) h.setOptions(SslOption.CIPHER_SERVER_PREFERENCE);
      if (secureOptions !== 0) h.setOptions(secureOptions);
      if (curves !== undefined) h.setCurves(curves);
      if (dhparam !== undefined) checkDhBits(h.setDhParams(dhparam));
      if (sigalgs !== undefined) h.setSigalgs(sigalgs);
      if (ca !== undefined) {
        h.addCaCertificates(ca);
        h.setVerify(SslVerify.PEER);
      }
      if (crl !== undefined) h.addCrl(crl);
    } catch (e) {
      this.free();
      throw e;
    }
    this.on('newListener', (name: string | symbol) => this.#updateMask(name, 1));
    this.on('removeListener', (name: string | symbol) => this.#updateMask(name, 0));
  }

  #updateMask(name: string | symbol, adding: number): void {
    if (name !== 'newSession' && name !== 'removeSession' && name !== '') return;
    const h = this[kHandle];
    if (h.freed()) return;
    const n = (event: 'newSession' | 'removeSession') => this.listenerCount(event) + (event === name ? adding : 0);
    const mask =
      this.#internalMask |
      (this.#internal.newSession.length > 0 ? SessionEventKind.NEW_SESSION : 0) |
      (this.#internal.removeSession.length > 0 ? SessionEventKind.REMOVE_SESSION : 0) |
      (n('newSession') > 0 ? SessionEventKind.NEW_SESSION : 0) |
      (n('removeSession') > 0 ? SessionEventKind.REMOVE_SESSION : 0);
    h.setEventMask(mask);
  }

  /** @internal parts of the package that consume events without listeners (stores) */
  [kRetainEvents](): void {
    this.#internalMask = SessionEventKind.NEW_SESSION | SessionEventKind.REMOVE_SESSION;
    this.#updateMask('', 0);
  }

  /** @internal see internal.ts */
  [kInternalOn](event: 'newSession' | 'removeSession', fn: (s: SslSession, reason: RemoveReason) => void): () => void {
    const list = this.#internal[event] as ((s: SslSession, r: RemoveReason) => void)[];
    list.push(fn);
    this.#updateMask('', 0);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
      this.#updateMask('', 0);
    };
  }

  /** @internal the protocol range of the options this context was made with */
  get [kVersionRange](): readonly [TlsProtocol, TlsProtocol] {
    return this.#versionRange;
  }

  /**
   * One event to the package's own consumers, then to each user listener on its own: a
   * listener that throws does not keep the others (or the package) from seeing the event.
   * Returns the first thrown value, boxed.
   */
  #deliver(event: 'newSession' | 'removeSession', session: SslSession, reason: RemoveReason): Failure | undefined {
    let failure: Failure | undefined;
    for (const fn of [...this.#internal[event]]) {
      try {
        (fn as (s: SslSession, r: RemoveReason) => void)(session, reason);
      } catch (error) {
        failure ??= { error };
      }
    }
    // rawListeners: once() wrappers remove themselves when called, as emit() would
    for (const fn of this.rawListeners(event) as ((...a: unknown[]) => void)[]) {
      try {
        if (event === 'newSession') fn.call(this, session);
        else fn.call(this, session, reason);
      } catch (error) {
        failure ??= { error };
      }
    }
    return failure;
  }

  /**
   * @internal After an OpenSSL call: takes the exception the get callback threw during it
   * and delivers the events OpenSSL recorded, tagged with the reason of the call. Returns
   * the first failure (the callback's exception first: it is the cause of what followed),
   * or undefined. Used through callOpenSSL() (openssl_call.ts) and #afterCall().
   */
  [kSettle](reason: RemoveReason): Failure | undefined {
    const h = this[kHandle];
    const thrown = h.takeCallbackError(); // kept even if the callback freed the context
    let failure: Failure | undefined = thrown === undefined ? undefined : { error: thrown, fromCallback: true };
    // a context freed during the call (by a callback) has no listeners left to reach;
    // free() itself delivers its own 'free' events
    if (this.#state[0] === 0 || (reason !== 'free' && h.freed())) return failure;
    // Take the events now, tagged with the reason of the call that caused them. A call
    // made by a listener (re-entrant) only queues: the outer loop below emits everything
    // in the order OpenSSL produced it.
    for (const e of h.takeEvents()) {
      // an eviction is 'evict' whatever call caused it (a handshake's own insert too)
      const why: RemoveReason = e.type & SESSION_EVENT_EVICTED ? 'evict' : reason;
      this.#pending.push(e.type & ~SESSION_EVENT_EVICTED, e.session, why);
    }
    if (this.#delivering) return failure;
    this.#delivering = true;
    const q = this.#pending;
    let i = 0;
    try {
      for (; i < q.length; i += 3) {
        const session = SslSession[kFromHandle](q[i + 1] as NativeSessionHandle);
        q[i + 1] = 0; // taken (its reference is the session's now)
        const f = this.#deliver(q[i] === SessionEventKind.NEW_SESSION ? 'newSession' : 'removeSession', session, q[i + 2] as RemoveReason);
        failure ??= f;
      }
    } finally {
      // only after an unexpected throw: the references of events nobody will see
      for (; i < q.length; i += 3) if (q[i + 1] !== 0) (q[i + 1] as NativeSessionHandle).free();
      this.#pending = [];
      this.#delivering = false;
    }
    return failure;
  }

  /** the cache calls' fast path: nothing to do unless OpenSSL recorded events */
  #afterCall(reason: RemoveReason): void {
    if (this.#state[0] === 0) return;
    const failure = this[kSettle](reason);
    if (failure) throw failure.error;
  }

  /** @internal SSL_CTX_add_session's integer; refuses sessions cached elsewhere */
  rawAdd(session: SslSession): number {
    const r = addSlot(this.#slot, sessionSlot(session));
    if (r === -2) throw inOtherContext();
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
    if (r === ADD_DER_OTHER_ID) return 'otherId';
    if (r === ADD_DER_UNDECODABLE) return 'undecodable';
    this.#afterCall('evict');
    return 'added';
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
    const h = this[kHandle];
    const all = [current, ...(Array.isArray(previous) ? previous : toArrayError())].map((k, i) => {
      const b = toBuffer(k as unknown, i === 0 ? 'keys' : `previous[${i - 1}]`);
      if (b.length !== TICKET_KEY_LENGTH) throw new RangeError(`${i === 0 ? 'keys' : `previous[${i - 1}]`} must be ${TICKET_KEY_LENGTH} bytes, got ${b.length}`);
      return b;
    });
    const joined = Buffer.concat(all);
    try {
      h.setTicketKeys(joined);
      noteTicketKeysSet(this);
    } finally {
      joined.fill(0); // the native side holds its own copy
    }
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
    const all = this[kHandle].getTicketKeys();
    const out: Buffer[] = [];
    for (let o = TICKET_KEY_LENGTH; o < all.length; o += TICKET_KEY_LENGTH) out.push(Buffer.from(all.subarray(o, o + TICKET_KEY_LENGTH)));
    return out;
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

/** a session cache mode: an integer made of OpenSSL 1.0.2's SSL_SESS_CACHE_* bits only (else RangeError) */
export function checkMode(mode: unknown, what: string): number {
  const m = integer(mode, what, 0, 0xffff);
  if ((m & ~ALL_SESSION_CACHE_MODE_BITS) !== 0) {
    throw new RangeError(`${what} has bits OpenSSL 1.0.2 does not define: 0x${(m & ~ALL_SESSION_CACHE_MODE_BITS).toString(16)}`);
  }
  return m;
}

/** the SSL_OP_NO_* bits outside TLS_PROTOCOLS[lo..hi] */
function versionBits(lo: number, hi: number): number {
  let bits = 0;
  TLS_PROTOCOLS.forEach((name, i) => {
    if (i < lo || i > hi) bits |= NO_PROTOCOL_OPTION[name];
  });
  return bits;
}

/** dhparam: PEM DH parameters ('auto' needs SSL_CTX_set_dh_auto, which 1.0.2 lacks) */
function dhParams(v: unknown): string | Buffer {
  if (v === 'auto') {
    throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, "options.dhparam 'auto' is not supported: OpenSSL 1.0.2 has no built-in DH parameters; pass PEM parameters");
  }
  return pem(v, 'options.dhparam');
}

const { addSlot, removeSlot, addMany, removeMany, findSlot } = native.SslContextHandle;
const TLS12 = protocolNumber('TLSv1.2');
/** SslContextHandle#addDER's refusals (native/ssl_context_handle.cc) */
const ADD_DER_OTHER_ID = -3;
const ADD_DER_UNDECODABLE = -4;

function inOtherContext(): Error {
  return codedError(
    ErrorCode.SESSION_IN_OTHER_CONTEXT,
    'the session is cached by another SslContext; OpenSSL 1.0.2 would corrupt both caches. ' +
      'Add a copy instead: SslSession.fromDER(session.toDER())',
  );
}

/**
 * The batch calls' slot buffer, reused: a new 4 KiB typed array per call cost more than the
 * native loop saves (its backing store is a large malloc, which makes glibc consolidate the
 * small blocks OpenSSL's hash just freed, and it is external memory for the GC to track).
 * Taken while in use, so a call made while filling it (an index getter on the array) gets
 * its own; given back after the native call (not after a throw: the next call makes one).
 */
let spareSlots: Uint32Array | undefined;
const SPARE_SLOTS_MAX = 65536;

function batchLength(sessions: readonly SslSession[]): number {
  if (!Array.isArray(sessions)) throw new TypeError('sessions must be an array of SslSession');
  return sessions.length;
}

/** the first `n` sessions' slots in the first `n` entries of a buffer */
function takeSlots(sessions: readonly SslSession[], n: number): Uint32Array {
  let slots = spareSlots;
  spareSlots = undefined;
  if (slots === undefined || slots.length < n) slots = new Uint32Array(Math.max(n, 1024));
  for (let i = 0; i < n; i++) slots[i] = sessionSlot(sessions[i]);
  return slots;
}

function giveSlots(slots: Uint32Array): void {
  if (slots.length <= SPARE_SLOTS_MAX) spareSlots = slots;
}

function sessionSlot(s: SslSession): number {
  if (!(s instanceof SslSession)) throw new TypeError('session must be an SslSession');
  return s[kSlot]();
}

/** bytes of one session-ticket key: name (16) | HMAC secret (16) | AES key (16) */
export const TICKET_KEY_LENGTH = 48;

/** SslContext#ticketKeyStats */
export interface TicketKeyStats {
  issued: number;
  current: number;
  previous: number;
  unknownKey: number;
  /** tickets not decrypted because the server revoked their session (TlsServer#revoke): full handshakes */
  revoked: number;
}

function toArrayError(): never {
  throw new TypeError('previous must be an array of Buffers');
}
