// How a TlsServer resumes sessions kept outside OpenSSL: the ClientHello prefetch (read
// the offered id, ask the sessionStore and then the 'resumeSession' listeners, add what
// comes back to the context before OpenSSL sees the hello), the write side (each new
// session → store.set and the 'newSession' listeners, the handshake held until their
// callbacks), revocations, and the bounds that keep a hostile client from turning each
// ClientHello into a store round trip.
//
// A store is the object form of the two events: store.get is a 'resumeSession' listener
// that is asked first, store.set a 'newSession' listener that does not hold the handshake.
import { EventEmitter } from 'events';
import { codedError, ErrorCode } from '../common/coded_error';
import type { Protocol } from '../binding/constants';
import { SessionCacheMode } from '../binding/constants';
import { SessionStore } from '../stores/session_store';
import { RemoveReason, SslContext } from '../openssl/ssl_context';
import { kAddSessionDER, kHasSession, kInternalOn, kNewSessionDER, kRemoveSessionId, kRetainEvents } from '../openssl/internal';
import { SslSession } from '../openssl/ssl_session';
import { ClientHelloInfo } from './client_hello_parser';
import { RevokedTickets } from './revoked_tickets';
import type { LookupResult } from '../common/diagnostics';
import { HandshakeObserver, lookupEnd, lookupStart, publishRevoked, publishStored, storeSetStart } from './observe';
import { applySessionPolicy } from './session_der_policy';
import { PeerLimiter } from './peer_limiter';

/** the protocols a session id may be cached under in a server context */
const SESSION_PROTOCOLS: readonly Protocol[] = ['TLSv1.2', 'TLSv1.1', 'TLSv1', 'SSLv3'];

/** TlsServer#sessionStoreStats: what the prefetch did (counters since the server was made) */
export interface SessionStoreStats {
  /** ClientHellos that offered a session id not in the local cache */
  lookups: number;
  /** store.get calls made */
  storeGets: number;
  /** 'resumeSession' listeners asked */
  resumeSessionCalls: number;
  /** lookups that added a session to the context */
  hits: number;
  /** lookups that found nothing (store and listeners) */
  misses: number;
  /** answers that were not a usable session for the offered id: unparsable DER (truncated,
   * another OpenSSL's format), a session for another id; each is also a miss */
  invalid: number;
  /** lookups not made because `sessionStoreConcurrency` store.get calls were outstanding */
  overLimit: number;
  /** lookups not made because the id missed recently (the negative cache) */
  negativeHits: number;
  /** lookups that failed (store error or timeout) */
  errors: number;
  /** store.get calls outstanding now (until the store answers, even past the timeout) */
  inFlight: number;
  /** times the local cache was dropped because the store's revocation feed reconnected */
  resyncs: number;
  /** lookups not made because the peer's address was over its share (in flight or rate) */
  peerLimited: number;
  /** store.get calls that had not settled after 10 × sessionStoreTimeout: their slot was taken back */
  reclaimed: number;
  /** sessions the store returned for another session id context (each also invalid and a miss) */
  otherContext: number;
  /** sessions the store returned whose lifetime was cut to the server's sessionTimeout */
  lifetimeCapped: number;
  /** answers refused because the id was revoked recently (each also a miss) */
  revokedRefused: number;
  /** times the store's revocation feed went down with an error (the store-fed cache stopped being trusted) */
  feedDowns: number;
  /** the revocation feed is down now: every lookup asks the store */
  feedDown: boolean;
  /** new sessions kept in the local cache because the store could not take them */
  fallbackKept: number;
}

/** @internal what the bridge needs from its server */
export interface SessionResumptionOptions {
  server: EventEmitter;
  context: SslContext;
  store: SessionStore | undefined;
  timeout: number;
  concurrency: number;
  negativeCacheSize: number;
  negativeCacheTtl: number;
  /** the server's session id context (sessions for another one are refused); undefined: not checked */
  sessionIdContext?: Buffer;
  /** store lookups in flight per peer address (default max(1, concurrency / 4)) */
  peerConcurrency?: number;
  /** store lookups per second per peer address (default 200, bursts of as many) */
  peerRate?: number;
  /** sessions made while the store is down, kept locally (default 1000; 0 = none) */
  fallbackSize?: number;
  /** longest life of such a session, seconds (default 300) */
  fallbackTtl?: number;
  now?: () => number;
  /** a ticket id was revoked (the native path's hello screen turns off: lib/tls/native_connection_path.ts) */
  ticketsRevoked?: () => void;
}

/** ids revoked recently, remembered this long at most (capped at the session timeout) */
const REVOKED_SIZE = 100000;

/**
 * @internal The server's resumption machinery; one per TlsServer. Events it emits on the
 * server: 'newSession' (id, der, callback), 'resumeSession' (id, callback) — node:tls's —
 * and 'sessionStoreError' (err), 'sessionStored' (id), 'sessionRevoked' (id),
 * 'sessionStoreResync' ().
 */
export class SessionResumption {
  readonly #server: EventEmitter;
  readonly #ctx: SslContext;
  readonly #store: SessionStore | undefined;
  readonly #timeout: number;
  readonly #concurrency: number;
  readonly #negativeSize: number;
  readonly #negativeTtl: number;
  readonly #now: () => number;
  /** set while this server removes sessions itself: the 'removeSession' listener then
   * leaves the store alone (a remote revocation, or revoke() deleting on its own) */
  #skipStoreDelete = false;
  #unsubscribe: (() => void) | undefined;
  /** prefetches in flight per id (hex), and the ids revoked while one was in flight */
  readonly #inflight = new Map<string, number>();
  readonly #revokedInFlight = new Set<string>();
  /** ids (hex) that missed recently → when that stops counting */
  readonly #negative = new Map<string, number>();
  /** the store's revocation feed is not listening: the local cache holds nothing trusted */
  #feedDown = false;
  /** ids (hex) revoked recently → until when (ms) a store answer for them is refused */
  readonly #revoked = new Map<string, number>();
  readonly #peers: PeerLimiter;
  #sidCtx: Buffer | undefined;
  readonly #fallbackSize: number;
  readonly #fallbackTtl: number;
  /** sessions made while the store was down, kept locally: id (hex) → DER (lifetime
   * capped), until (ms); bytes, not SslSession objects, which the application may free */
  readonly #fallback = new Map<string, { id: Buffer; der: Buffer; until: number }>();
  /** when the store last failed a set (ms; 0 = never) */
  #storeFailedAt = 0;
  /** the 'newSession' callbacks of the OpenSSL step being settled now */
  #stepPending: Promise<void>[] = [];
  #eventsAttached = false;
  /** revoked ids whose tickets are refused (lib/tls/revoked_tickets.ts) */
  readonly #revokedTickets: RevokedTickets;
  readonly #ticketsRevoked: (() => void) | undefined;
  /** ticket id (hex) → the ticket a resumption of it issued in its place (renewal) */
  readonly #renewedTickets = new Map<string, { next: Buffer; until: number }>();
  readonly stats: SessionStoreStats = {
    lookups: 0,
    storeGets: 0,
    resumeSessionCalls: 0,
    hits: 0,
    misses: 0,
    invalid: 0,
    overLimit: 0,
    negativeHits: 0,
    errors: 0,
    inFlight: 0,
    resyncs: 0,
    peerLimited: 0,
    reclaimed: 0,
    otherContext: 0,
    lifetimeCapped: 0,
    revokedRefused: 0,
    feedDowns: 0,
    feedDown: false,
    fallbackKept: 0,
  };

  /** the session id context store sessions must carry from now on (TlsServer#setSecureContext) */
  setSessionIdContext(sidCtx: Buffer): void {
    this.#sidCtx = sidCtx;
  }

  constructor(o: SessionResumptionOptions) {
    this.#server = o.server;
    this.#ctx = o.context;
    this.#store = o.store;
    this.#timeout = o.timeout;
    this.#concurrency = o.concurrency;
    this.#negativeSize = o.negativeCacheSize;
    this.#negativeTtl = o.negativeCacheTtl;
    this.#now = o.now ?? Date.now;
    this.#ticketsRevoked = o.ticketsRevoked;
    this.#revokedTickets = new RevokedTickets(100_000, this.#now);
    this.#sidCtx = o.sessionIdContext;
    this.#peers = new PeerLimiter(o.peerConcurrency ?? Math.max(1, Math.floor(o.concurrency / 4)), o.peerRate ?? 200, this.#now);
    this.#fallbackSize = o.fallbackSize ?? 1000;
    this.#fallbackTtl = o.fallbackTtl ?? 300;
    if (this.#store) this.#attachStore(this.#store);
    // node:tls's events: the application becomes the session cache once it listens
    if (this.#hasListeners()) this.#attachEvents();
    this.#server.on('newListener', (name: string | symbol) => {
      if (name === 'newSession' || name === 'resumeSession') this.#attachEvents();
    });
  }

  #hasListeners(): boolean {
    return this.#server.listenerCount('newSession') > 0 || this.#server.listenerCount('resumeSession') > 0;
  }

  /** whether a connection must read its ClientHello first */
  get wantsPrefetch(): boolean {
    return this.#store !== undefined || this.#server.listenerCount('resumeSession') > 0;
  }

  // With 'newSession' / 'resumeSession' listeners OpenSSL's internal store is switched off
  // (as node:tls runs its contexts): new sessions go to the listeners only.
  #attachEvents(): void {
    if (this.#eventsAttached || this.#ctx.freed) return;
    this.#eventsAttached = true;
    this.#noInternalStore();
    this.#ctx[kNewSessionDER]((id: Buffer, der: Buffer | undefined) => this.#onNewSessionEvent(id, der));
  }

  #noInternalStore(): void {
    const ctx = this.#ctx;
    ctx.sessionCacheMode = (ctx.sessionCacheMode & ~SessionCacheMode.NO_INTERNAL_LOOKUP) | SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL_STORE;
    ctx[kRetainEvents]();
  }

  #attachStore(store: SessionStore): void {
    this.#noInternalStore();
    // each new session arrives as bytes (serialized in OpenSSL's callback): no SslSession is made
    this.#ctx[kNewSessionDER]((id: Buffer, encoded: Buffer | undefined, timeout: number) => {
      this.#negative.delete(id.toString('hex'));
      const der = this.#derOf(encoded);
      if (!der) return;
      // the store was failing a moment ago: keep the session here too, so that it resumes
      // on this server while the store is down (bounded in number and time)
      if (this.#storeFailedAt !== 0 && this.#now() - this.#storeFailedAt < this.#fallbackTtl * 1000) this.#keepLocally(id, der);
      let set: Promise<void>;
      try {
        set = Promise.resolve(store.set(id, der, timeout));
      } catch (e) {
        set = Promise.reject(e);
      }
      const t = storeSetStart();
      this.#withTimeout(set, 'set').then(
        () => {
          this.#storeFailedAt = 0;
          publishStored(this.#server, id, t);
          this.#server.emit('sessionStored', id);
        },
        (e) => {
          this.#storeFailedAt = this.#now();
          this.#keepLocally(id, der);
          this.#server.emit('sessionStoreError', e);
        },
      );
    });
    this.#ctx[kInternalOn]('removeSession', (s: SslSession, reason: RemoveReason) => {
      // only expiry and the application's own removals (removeSession, revoke) reach the
      // store. A live session OpenSSL drops during a handshake ('handshake': a fatal alert,
      // e.g. a stranger offering the id with a cipher list that lacks its cipher) is
      // invalidated in this cache only: nobody who merely knows an id can delete it
      // fleet-wide. Local eviction, flush and free never reach the store either.
      if (reason !== 'remove' && !(reason === 'handshake' && expired(s))) return;
      if (this.#skipStoreDelete) return;
      this.#withTimeout(store.delete(s.id), 'delete').catch((e) => this.#server.emit('sessionStoreError', e));
    });
    if (typeof store.subscribe === 'function') {
      this.#unsubscribe = store.subscribe(
        (id: Buffer) => this.#onRevoked(id),
        () => this.#onResync(),
        (err?: Error) => this.#onFeedDown(err),
      );
    }
  }

  // A session the store could not take stays in this server's cache: at most fallbackSize
  // of them, each for fallbackTtl seconds at most. It was never in the store, so no other
  // server can resume it, and revoke() on this server removes it.
  #keepLocally(id: Buffer, der: Buffer): void {
    if (this.#fallbackSize === 0 || this.#ctx.freed) return;
    const hex = id.toString('hex');
    if (this.#fallback.has(hex) || this.#revoked.has(hex)) return;
    const now = this.#now();
    for (const [k, v] of this.#fallback) if (v.until <= now) this.#fallback.delete(k);
    if (this.#fallback.size >= this.#fallbackSize) return;
    const capped = applySessionPolicy(der, undefined, Math.floor(now / 1000), this.#fallbackTtl);
    if (!capped.ok) return;
    const entry = { id: Buffer.from(id), der: capped.der, until: now + this.#fallbackTtl * 1000 };
    if (!this.#addFallback(entry)) return;
    this.#fallback.set(hex, entry);
    this.stats.fallbackKept += 1;
  }

  #addFallback(f: { id: Buffer; der: Buffer }): boolean {
    const before = this.#skipStoreDelete;
    this.#skipStoreDelete = true;
    try {
      return this.#ctx[kAddSessionDER](f.id, f.der) === 'added';
    } catch (e) {
      this.#server.emit('sessionStoreError', e);
      return false;
    } finally {
      this.#skipStoreDelete = before;
    }
  }

  /** an own session kept while the store was down, still within its bound */
  #isFallback(hex: string): boolean {
    const f = this.#fallback.get(hex);
    if (!f) return false;
    if (f.until > this.#now()) return true;
    this.#fallback.delete(hex);
    return false;
  }

  // the store's revocation feed stopped listening: revocations are not heard from now on,
  // so what the local cache holds from the store is dropped and nothing is cached from the
  // store until the feed is back (each ClientHello asks the store, which has the deletes)
  #onFeedDown(err?: Error): void {
    const was = this.#feedDown;
    this.#feedDown = true;
    this.stats.feedDown = true;
    if (!was) {
      // not counted: the feed that is not listening yet when the server subscribes
      if (err) this.stats.feedDowns += 1;
      this.#dropStoreFed();
    }
    if (err) this.#server.emit('sessionStoreError', err);
  }

  /** drops every session of the local cache except the own ones kept while the store was down */
  #dropStoreFed(): boolean {
    if (this.#ctx.freed) return false;
    const before = this.#skipStoreDelete;
    this.#skipStoreDelete = true;
    try {
      this.#ctx.flushSessions(0);
      const now = this.#now();
      for (const [hex, f] of this.#fallback) {
        if (f.until > now) this.#addFallback(f);
        else this.#fallback.delete(hex);
      }
    } catch (e) {
      this.#server.emit('sessionStoreError', e);
      return false;
    } finally {
      this.#skipStoreDelete = before;
    }
    return true;
  }

  #rememberRevoked(hex: string): void {
    this.#revoked.delete(hex);
    this.#revoked.set(hex, this.#now() + Math.max(1, this.#ctx.freed ? 300 : this.#ctx.sessionTimeout) * 1000);
    while (this.#revoked.size > REVOKED_SIZE) this.#revoked.delete(this.#revoked.keys().next().value as string);
  }

  #isRevoked(hex: string): boolean {
    const until = this.#revoked.get(hex);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#revoked.delete(hex);
    return false;
  }

  /** a new session's DER for the store or 'newSession'; undefined (reported as
   * 'sessionStoreError') when OpenSSL could not encode it */
  #derOf(der: Buffer | undefined): Buffer | undefined {
    if (der === undefined) {
      this.#server.emit('sessionStoreError', codedError(ErrorCode.SESSION_NOT_ENCODABLE, 'i2d_SSL_SESSION: the new session cannot be encoded'));
    }
    return der;
  }

  // node:tls's 'newSession' (id, der, callback): the handshake's last flight and 'secure'
  // wait until every listener's callback ran (TLSSocket holds the step, see holdStep)
  #onNewSessionEvent(id: Buffer, encoded: Buffer | undefined): void {
    if (this.#server.listenerCount('newSession') === 0) return;
    const der = this.#derOf(encoded);
    if (!der) return;
    this.#stepPending.push(
      new Promise<void>((resolve, reject) => {
        let called = false;
        const done = () => {
          if (called) return;
          called = true;
          resolve();
        };
        try {
          if (!this.#server.emit('newSession', id, der, done)) done();
        } catch (e) {
          reject(e);
        }
      }),
    );
  }

  /** @internal after each OpenSSL step of a server connection: a promise holds the step */
  holdStep(): Promise<void> | undefined {
    if (this.#stepPending.length === 0) return undefined;
    const pending = this.#stepPending;
    this.#stepPending = [];
    return Promise.all(pending).then(() => undefined);
  }

  /** @internal revoked ticket ids are remembered (whether or not tickets are on now) */
  get hasRevokedTickets(): boolean {
    return this.#revokedTickets.size > 0;
  }

  /** @internal whether ClientHellos must be read to refuse revoked tickets */
  get revokesTickets(): boolean {
    return this.#revokedTickets.size > 0 && !this.#ctx.freed && this.#ctx.ticketsEnabled;
  }

  /** @internal the ClientHello offers a revoked id: its ticket (if any) must not resume */
  ticketRevoked(hello: ClientHelloInfo): boolean {
    return hello.sessionId !== undefined && this.#revokedTickets.has(hello.sessionId);
  }

  /** @internal a resumption of the ticket named `id` issued a new ticket named `next` (a
   * ticket under a previous key is renewed): revoking `id` revokes `next` too */
  ticketRenewed(id: Buffer, next: Buffer): void {
    if (id.length === 0 || id.equals(next) || this.#ctx.freed) return;
    this.#renewedTickets.delete(id.toString('hex'));
    this.#renewedTickets.set(id.toString('hex'), { next: Buffer.from(next), until: this.#now() + Math.max(1, this.#ctx.sessionTimeout) * 1000 });
    while (this.#renewedTickets.size > 100_000) this.#renewedTickets.delete(this.#renewedTickets.keys().next().value as string);
  }

  // a ticket session lives at most the session timeout. A ticket this server renewed from
  // the revoked one is revoked too, and (through store.delete) on every server that hears it
  #rememberRevokedTicket(id: Buffer): void {
    if (this.#ctx.freed || !this.#ctx.ticketsEnabled) return;
    const ttl = Math.max(1, this.#ctx.sessionTimeout) * 1000;
    this.#revokedTickets.add(Buffer.from(id), ttl);
    this.#ticketsRevoked?.();
    let hex = id.toString('hex');
    for (let hops = 0; hops < 16; hops++) {
      const renewed = this.#renewedTickets.get(hex);
      if (!renewed) return;
      this.#renewedTickets.delete(hex);
      if (renewed.until <= this.#now()) return;
      this.#revokedTickets.add(renewed.next, ttl);
      if (this.#store) this.#withTimeout(this.#store.delete(renewed.next), 'delete').catch((e) => this.#server.emit('sessionStoreError', e));
      hex = renewed.next.toString('hex');
    }
  }

  // a revocation heard from the store: drop the id locally, never back to the store
  #onRevoked(id: Buffer): void {
    if (!Buffer.isBuffer(id) || id.length < 1 || id.length > 32) return;
    this.#rememberRevokedTicket(id);
    const hex = id.toString('hex');
    if (this.#inflight.has(hex)) this.#revokedInFlight.add(hex);
    this.#rememberRevoked(hex);
    this.#fallback.delete(hex);
    if (this.#ctx.freed) return;
    try {
      this.#removeLocal(id);
    } catch (e) {
      this.#server.emit('sessionStoreError', e);
      return;
    }
    this.#server.emit('sessionRevoked', id);
    publishRevoked(this.#server, id, 'store');
  }

  // the store's revocation feed was interrupted and is back: revocations may have been
  // missed, so nothing the local cache holds from the store is trusted any more. With a
  // store the local cache holds only store-fed sessions (NO_INTERNAL_STORE): drop them all;
  // the next ClientHello for each asks the store again, which no longer has a revoked one.
  #onResync(): void {
    for (const hex of this.#inflight.keys()) this.#revokedInFlight.add(hex);
    this.#negative.clear();
    this.#feedDown = false;
    this.stats.feedDown = false;
    if (!this.#dropStoreFed()) return;
    this.stats.resyncs += 1;
    this.#server.emit('sessionStoreResync');
  }

  /** removes every cached session with this id from the context, without store.delete */
  #removeLocal(id: Buffer): number {
    const before = this.#skipStoreDelete;
    this.#skipStoreDelete = true;
    try {
      // by id natively: no SslSession is made to find or remove them
      return this.#ctx[kRemoveSessionId](id, SESSION_PROTOCOLS);
    } finally {
      this.#skipStoreDelete = before;
    }
  }

  async revoke(b: Buffer): Promise<void> {
    const hex = b.toString('hex');
    if (this.#inflight.has(hex)) this.#revokedInFlight.add(hex);
    this.#negative.delete(hex);
    this.#rememberRevokedTicket(b);
    this.#fallback.delete(hex);
    if (this.#store) this.#rememberRevoked(hex);
    if (!this.#ctx.freed) this.#removeLocal(b);
    publishRevoked(this.#server, b, 'local');
    if (this.#store) await this.#withTimeout(this.#store.delete(b), 'delete');
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  /** the server listens again after close(): subscribe again, and drop what the local cache
   * holds, since revocations sent while it was not subscribed were not heard */
  reopen(): void {
    const store = this.#store;
    if (!store || typeof store.subscribe !== 'function' || this.#unsubscribe) return;
    this.#onResync();
    this.#unsubscribe = store.subscribe(
      (id: Buffer) => this.#onRevoked(id),
      () => this.#onResync(),
    );
  }

  #withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(Object.assign(codedError(ErrorCode.SESSION_STORE_TIMEOUT, `session store ${what} took longer than ${this.#timeout} ms`), { reason: 'timeout' })),
        this.#timeout,
      );
      Promise.resolve(p).then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  // node:tls's 'resumeSession' (id, callback(err, der)): an error fails the connection
  #askListeners(id: Buffer): Promise<Buffer | undefined> {
    return new Promise<Buffer | undefined>((resolve, reject) => {
      let called = false;
      const cb = (err?: Error | null, data?: Buffer | null) => {
        if (called) return;
        called = true;
        if (err) reject(new ListenerError(err));
        else resolve(Buffer.isBuffer(data) || (data as unknown) instanceof Uint8Array ? Buffer.from(data as Uint8Array) : undefined);
      };
      this.stats.resumeSessionCalls += 1;
      try {
        if (!this.#server.emit('resumeSession', Buffer.from(id), cb)) cb(null, undefined);
      } catch (e) {
        reject(new ListenerError(e));
      }
    });
  }

  #negativeHit(hex: string): boolean {
    const until = this.#negative.get(hex);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#negative.delete(hex);
    return false;
  }

  #rememberMiss(hex: string): void {
    if (this.#negativeSize === 0 || this.#negativeTtl === 0) return;
    this.#negative.delete(hex);
    this.#negative.set(hex, this.#now() + this.#negativeTtl);
    while (this.#negative.size > this.#negativeSize) this.#negative.delete(this.#negative.keys().next().value as string);
  }

  /**
   * The ClientHello's session id is known: with a store, a locally cached id resumes as it
   * is (revocations reach the cache through subscribe); otherwise the store is asked, then
   * the 'resumeSession' listeners, and the answer is added to the context. Resolves when
   * the handshake may go on; rejects (the connection fails) only when a 'resumeSession'
   * listener passed an error, as node:tls does.
   */
  async prefetch(hello: ClientHelloInfo, live: () => boolean = () => true, observer?: HandshakeObserver, peer?: string): Promise<void> {
    try {
      const result = await this.#lookup(hello, live, peer);
      observer?.lookup(result);
    } catch (e) {
      // a 'resumeSession' listener's error fails the connection (node:tls); anything else
      // is the store's problem: a full handshake and 'sessionStoreError'
      if (e instanceof ListenerError) throw e.cause;
      this.#server.emit('sessionStoreError', e);
    }
  }

  /**
   * Whether prefetch(hello) would make no lookup and change nothing (no store and no
   * 'resumeSession' listener, no id offered, a ticket, or an id the local cache answers for):
   * the handshake may go on at once.
   */
  answersLocally(hello: ClientHelloInfo): boolean {
    const store = this.#store;
    const id = hello.sessionId;
    if ((!store && this.#server.listenerCount('resumeSession') === 0) || !id || this.#ctx.freed) return true;
    // node:tls does not ask for a session when the client offers a ticket
    if (hello.ticket && this.#ctx.ticketsEnabled) return true;
    // a lookup without an object (one made here could only be left to the GC); while the
    // revocation feed is down only this server's own sessions are trusted locally
    return store !== undefined && this.#ctx[kHasSession](id) && (!this.#feedDown || this.#isFallback(id.toString('hex')));
  }

  /** what the lookup found, undefined when none was made (a local hit, a ticket, no store) */
  async #lookup(hello: ClientHelloInfo, live: () => boolean, peer: string | undefined): Promise<LookupResult | undefined> {
    if (this.answersLocally(hello)) return;
    const store = this.#store;
    const id = hello.sessionId!;
    const listeners = this.#server.listenerCount('resumeSession') > 0;
    const hex = id.toString('hex');
    if (store) {
      // cached, but not trusted while the revocation feed is down
      if (this.#ctx[kHasSession](id)) this.#removeLocal(id);
    } else {
      // the listeners are the cache: what they answered last time is not trusted again
      this.#removeLocal(id);
    }
    this.stats.lookups += 1;
    const trace = lookupStart(this.#server, id);
    let result: LookupResult | undefined;
    try {
      result = await this.#ask(store, id, hex, listeners, live, peer);
    } catch (e) {
      lookupEnd(trace, undefined, e);
      throw e;
    }
    lookupEnd(trace, result);
    return result;
  }

  async #ask(store: SessionStore | undefined, id: Buffer, hex: string, listeners: boolean, live: () => boolean, peer: string | undefined): Promise<LookupResult> {
    // the negative cache spares the store; 'resumeSession' listeners are asked every time,
    // as node:tls asks them
    if (store && !listeners && this.#negativeHit(hex)) {
      this.stats.negativeHits += 1;
      return 'negative';
    }
    if (store && this.stats.inFlight >= this.#concurrency) {
      this.stats.overLimit += 1;
      return 'over-limit';
    }
    // one address gets its share of the slots and of the store's time, no more: strangers
    // offering random ids cannot take every slot from known clients
    const release = store ? this.#peers.take(peer) : undefined;
    if (store && !release) {
      this.stats.peerLimited += 1;
      return 'over-limit';
    }
    this.#inflight.set(hex, (this.#inflight.get(hex) ?? 0) + 1);
    let der: Buffer | undefined | null;
    let revoked: boolean;
    let failed: LookupResult | undefined;
    let fromStore = false;
    try {
      if (store) {
        // the slot is held until the store itself answered, not just until our timeout:
        // the limit bounds the calls outstanding at the store
        this.stats.inFlight += 1;
        this.stats.storeGets += 1;
        let get: Promise<Buffer | undefined | null>;
        try {
          get = Promise.resolve(store.get(Buffer.from(id)));
        } catch (e) {
          get = Promise.reject(e);
        }
        // a get that never settles is taken back after 10 × the timeout, so that lost
        // calls cannot disable lookups for good
        let held = true;
        const free = () => {
          if (!held) return;
          held = false;
          clearTimeout(reclaim);
          this.stats.inFlight -= 1;
          release!();
        };
        const reclaim = setTimeout(() => {
          if (!held) return;
          this.stats.reclaimed += 1;
          free();
          this.#server.emit(
            'sessionStoreError',
            codedError(ErrorCode.SESSION_STORE_RECLAIMED, `session store get did not settle within ${10 * this.#timeout} ms; its lookup slot was taken back`),
          );
        }, 10 * this.#timeout);
        reclaim.unref?.();
        get.then(free, free);
        try {
          der = await this.#withTimeout(get, 'get');
        } catch (e) {
          this.stats.errors += 1;
          failed = (e as { code?: unknown })?.code === ErrorCode.SESSION_STORE_TIMEOUT ? 'timeout' : 'error';
          this.#server.emit('sessionStoreError', e);
          der = undefined;
        }
      }
      fromStore = !!der;
      if (!der && listeners) der = await this.#askListeners(id);
    } finally {
      revoked = this.#revokedInFlight.has(hex);
      const n = (this.#inflight.get(hex) ?? 1) - 1;
      if (n > 0) this.#inflight.set(hex, n);
      else {
        this.#inflight.delete(hex);
        this.#revokedInFlight.delete(hex);
      }
    }
    // an answer for a connection that is gone (handshake timeout, peer closed) is dropped:
    // nothing waits for it, and a late 'resumeSession' answer must not fill the cache
    if (!live()) {
      this.stats.misses += 1;
      return failed ?? 'miss';
    }
    // revoked while the store answered: the answer may predate the delete; revoked
    // recently: a store restarted from an older snapshot may hand it back
    if (der && fromStore && !revoked && this.#isRevoked(hex)) {
      this.stats.revokedRefused += 1;
      revoked = true;
    }
    if (!der || revoked || this.#ctx.freed) {
      this.stats.misses += 1;
      if (!der && !revoked && !listeners) this.#rememberMiss(hex);
      return revoked ? 'revoked' : (failed ?? 'miss');
    }
    // what a store writer could change: the session id context, the lifetime
    if (fromStore && (Buffer.isBuffer(der) || (der as unknown) instanceof Uint8Array)) {
      const verdict = applySessionPolicy(Buffer.from(der.buffer, der.byteOffset, der.byteLength), this.#sidCtx, Math.floor(this.#now() / 1000), this.#ctx.sessionTimeout);
      if (!verdict.ok) {
        this.stats.invalid += 1;
        this.stats.misses += 1;
        if (verdict.why !== 'otherContext') return 'invalid';
        this.stats.otherContext += 1;
        return 'sid-ctx-mismatch';
      }
      if (verdict.der !== der && !verdict.der.equals(der)) this.stats.lifetimeCapped += 1;
      der = verdict.der;
    }
    if (this.addSessionDER(id, der)) {
      this.stats.hits += 1;
      return 'hit';
    }
    this.stats.invalid += 1;
    this.stats.misses += 1;
    return 'invalid';
  }

  /**
   * Adds the session `der` encodes to the context, for a client that offered `id`; false
   * (nothing added) when `der` is not a session 1.0.2 can read or is a session for another
   * id — a store must not be able to plant sessions under ids nobody offered.
   */
  addSessionDER(id: Buffer, der: Buffer): boolean {
    // bytes only: no SslSession is made (SslContext[kAddSessionDER] decodes with fromDER's
    // checks, compares the id and adds, in one native call)
    if (!Buffer.isBuffer(der) && !((der as unknown) instanceof Uint8Array)) return false;
    if (!Buffer.isBuffer(id) || id.length < 1 || id.length > 32) return false; // no session has such an id
    try {
      return this.#ctx[kAddSessionDER](id, der) === 'added';
    } catch (e) {
      // only after the add (a listener of its eviction events) or for a freed context
      this.#server.emit('sessionStoreError', e);
      return false;
    }
  }
}

/** an expired session (OpenSSL's rule: time + timeout has passed), found by a lookup */
function expired(s: SslSession): boolean {
  try {
    return s.time + s.timeout < Math.floor(Date.now() / 1000); // ssl_get_prev_session: timeout < now - time
  } catch {
    return false; // freed by a listener: nothing to judge
  }
}

/** what a 'resumeSession' listener passed or threw: it fails the connection */
class ListenerError {
  constructor(readonly cause: unknown) {}
}
