import * as net from 'net';
import { codedError } from '../common/coded_error';
import { SessionCacheMode } from '../binding/constants';
import { isSessionStore, SessionStore } from '../stores/session_store';
import { RemoveReason, SslContext, SslContextOptions } from '../cache/ssl_context';
import { kInternalOn, kRetainEvents } from '../cache/internal';
import { SslSession } from '../cache/ssl_session';
import { ClientHelloInfo } from './client_hello_parser';
import { TLSSocket } from './tls_socket';
import { integer, optionsObject, toBuffer } from '../common/validate';
import { alpnWire, AlpnProtocols } from './alpn';
import { debug } from './debug';

/** node:tls's SNICallback: answer with the context for `servername` (undefined: the default) */
export type SNICallback = (servername: string, callback: (err: Error | null, ctx?: SslContext) => void) => void;

export interface TlsServerOptions extends SslContextOptions {
  /** use this context (shared across servers) instead of making one from the options */
  context?: SslContext;
  /** application-controlled session store; the context then runs with tickets off and
   * NO_INTERNAL_STORE, and resumption is decided by what the store hands back */
  sessionStore?: SessionStore;
  /** longest wait for the store per handshake, ms (default 1000) */
  sessionStoreTimeout?: number;
  /** a handshake that takes longer is aborted, ms (default 30000; 0 = never) */
  handshakeTimeout?: number;
  /** node:net's pauseOnConnect: the TCP socket of each 'connection' starts paused, and the
   * handshake starts when it is resumed (socket.resume()) */
  pauseOnConnect?: boolean;
  /** ask clients for a certificate (verified against `ca`; default false) */
  requestCert?: boolean;
  /** with requestCert: refuse clients without a valid certificate (default true) */
  rejectUnauthorized?: boolean;
  /** ALPN protocols the server accepts, in the server's list; the client's order decides */
  ALPNProtocols?: AlpnProtocols;
  /** per-name contexts: called once the ClientHello has been read, before OpenSSL sees it */
  SNICallback?: SNICallback;
  /** node:net's allowHalfOpen for the TLSSockets: after the peer's close_notify (or FIN)
   * the writable side stays open until end() (default false: it ends after 'end') */
  allowHalfOpen?: boolean;
}

/** default session id context: servers sharing a store must agree on it */
const DEFAULT_SESSION_ID_CONTEXT = 'openssl-session-cache';

/** the protocols a session id may be cached under in a server context */
const SESSION_PROTOCOLS = ['TLSv1.2', 'TLSv1.1', 'TLSv1', 'SSLv3'];

/**
 * A net.Server whose connections are TLSSockets run by OpenSSL 1.0.2. Events:
 * 'secureConnection' (socket), 'tlsClientError' (err, socket), 'sessionStoreError' (err),
 * 'sessionStored' (id) once the store accepted a new session, 'sessionRevoked' (id) once a
 * revocation heard from the store (store.subscribe) was applied to the local cache, plus
 * net.Server's own.
 */
export class TlsServer extends net.Server {
  readonly context: SslContext;
  readonly sessionStore: SessionStore | undefined;
  readonly sessionStoreTimeout: number;
  readonly handshakeTimeout: number;
  readonly #ownsContext: boolean;
  readonly #allowHalfOpen: boolean;
  /** set while this server removes sessions itself: the 'removeSession' listener then
   * leaves the store alone (a remote revocation, or revoke() deleting on its own) */
  #skipStoreDelete = false;
  #unsubscribe: (() => void) | undefined;
  /** prefetches in flight per id (hex), and the ids revoked while one was in flight */
  readonly #inflight = new Map<string, number>();
  readonly #revokedInFlight = new Set<string>();
  readonly #requestCert: boolean;
  readonly #rejectUnauthorized: boolean;
  readonly #alpn: Buffer | undefined;
  readonly #sniCallback: SNICallback | undefined;

  constructor(secureConnectionListener?: (socket: TLSSocket) => void);
  constructor(options: TlsServerOptions, secureConnectionListener?: (socket: TLSSocket) => void);
  constructor(optionsOrListener?: TlsServerOptions | ((socket: TLSSocket) => void), listener?: (socket: TLSSocket) => void) {
    const options = typeof optionsOrListener === 'function' || optionsOrListener === undefined ? {} : optionsOrListener;
    const secureConnectionListener = typeof optionsOrListener === 'function' ? optionsOrListener : listener;
    const pauseOnConnect = (options as TlsServerOptions | null)?.pauseOnConnect;
    if (pauseOnConnect !== undefined && typeof pauseOnConnect !== 'boolean') throw new TypeError('options.pauseOnConnect must be a boolean');
    // the TCP sockets are always half-open capable: the TLSSocket decides when to send FIN
    super({ pauseOnConnect: pauseOnConnect === true, allowHalfOpen: true });
    const o = optionsObject(options, 'options') as TlsServerOptions;
    if (o.requestCert !== undefined && typeof o.requestCert !== 'boolean') throw new TypeError('options.requestCert must be a boolean');
    if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== 'boolean') {
      throw new TypeError('options.rejectUnauthorized must be a boolean');
    }
    if (o.SNICallback !== undefined && typeof o.SNICallback !== 'function') throw new TypeError('options.SNICallback must be a function');
    this.#requestCert = o.requestCert === true;
    this.#rejectUnauthorized = o.rejectUnauthorized !== false;
    this.#alpn = alpnWire(o.ALPNProtocols, 'options.ALPNProtocols');
    this.#sniCallback = o.SNICallback;
    if (secureConnectionListener !== undefined && typeof secureConnectionListener !== 'function') {
      throw new TypeError('secureConnectionListener must be a function');
    }
    // a server without a certificate could only fail every handshake ("no shared cipher")
    if (o.context === undefined && o.SNICallback === undefined && (o.cert === undefined || o.key === undefined)) {
      throw codedError('ERR_TLS_NO_CERTIFICATE', 'a TLS server needs options.cert and options.key (or options.context, or an SNICallback)');
    }
    if (o.sessionStore !== undefined && !isSessionStore(o.sessionStore)) {
      throw new TypeError('options.sessionStore must implement get(id), set(id, der, ttl), delete(id)');
    }
    this.sessionStore = o.sessionStore;
    this.sessionStoreTimeout = integer(o.sessionStoreTimeout ?? 1000, 'options.sessionStoreTimeout', 1, 2 ** 31 - 1);
    this.handshakeTimeout = integer(o.handshakeTimeout ?? 30000, 'options.handshakeTimeout', 0, 2 ** 31 - 1);
    if (o.allowHalfOpen !== undefined && typeof o.allowHalfOpen !== 'boolean') throw new TypeError('options.allowHalfOpen must be a boolean');
    this.#allowHalfOpen = o.allowHalfOpen === true;
    if (o.context !== undefined) {
      if (!(o.context instanceof SslContext)) throw new TypeError('options.context must be an SslContext');
      this.context = o.context;
      this.#ownsContext = false;
    } else {
      this.context = new SslContext({
        ...o,
        role: 'server',
        // the product is about the id cache: tickets would bypass it
        noTicket: o.noTicket ?? true,
        sessionIdContext: o.sessionIdContext ?? DEFAULT_SESSION_ID_CONTEXT,
      });
      this.#ownsContext = true;
    }
    if (this.sessionStore) this.#attachStore(this.sessionStore);
    if (secureConnectionListener) this.on('secureConnection', secureConnectionListener);
    this.on('connection', (socket: net.Socket) => this.#onConnection(socket));
    this.on('close', () => {
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
      if (this.#ownsContext && !this.context.freed) this.context.free();
    });
  }

  #attachStore(store: SessionStore): void {
    const ctx = this.context;
    ctx.sessionCacheMode = (ctx.sessionCacheMode & ~SessionCacheMode.NO_INTERNAL_LOOKUP) | SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL_STORE;
    ctx.setTicketsEnabled(false);
    ctx[kRetainEvents]();
    // the store's bookkeeping is the package's own consumer: it runs before, and whatever,
    // the user's listeners do
    ctx[kInternalOn]('newSession', (s: SslSession) => {
      const id = s.id;
      let der: Buffer;
      try {
        der = s.toDER();
      } catch (e) {
        this.emit('sessionStoreError', e);
        return;
      }
      this.#withTimeout(store.set(id, der, s.timeout), 'set').then(
        () => this.emit('sessionStored', id),
        (e) => this.emit('sessionStoreError', e),
      );
    });
    ctx[kInternalOn]('removeSession', (s: SslSession, reason: RemoveReason) => {
      // revocation and expiry reach the store; local eviction, flush and free do not
      if (reason !== 'remove' && reason !== 'handshake') return;
      if (this.#skipStoreDelete) return;
      this.#withTimeout(store.delete(s.id), 'delete').catch((e) => this.emit('sessionStoreError', e));
    });
    if (typeof store.subscribe === 'function') {
      this.#unsubscribe = store.subscribe((id: Buffer) => this.#onRevoked(id));
    }
  }

  // a revocation heard from the store: drop the id locally, never back to the store
  #onRevoked(id: Buffer): void {
    if (!Buffer.isBuffer(id) || id.length < 1 || id.length > 32) return;
    const hex = id.toString('hex');
    if (this.#inflight.has(hex)) this.#revokedInFlight.add(hex);
    if (this.context.freed) return;
    try {
      this.#removeLocal(id);
    } catch (e) {
      this.emit('sessionStoreError', e);
      return;
    }
    this.emit('sessionRevoked', id);
  }

  /** removes every cached session with this id from the context, without store.delete */
  #removeLocal(id: Buffer): number {
    let n = 0;
    const before = this.#skipStoreDelete;
    this.#skipStoreDelete = true;
    try {
      for (const protocol of SESSION_PROTOCOLS) {
        const s = this.context.getSession(id, protocol);
        if (!s) continue;
        try {
          if (this.context.removeSession(s)) n += 1;
        } finally {
          s.free();
        }
      }
    } finally {
      this.#skipStoreDelete = before;
    }
    return n;
  }

  /**
   * Revokes a session fleet-wide: removes it from this server's cache and deletes it from
   * the store (whose subscribers, e.g. the other servers on a RedisSessionStore, drop it
   * too). Rejects when the store did not confirm the delete within sessionStoreTimeout.
   */
  async revoke(id: Buffer): Promise<void> {
    const b = Buffer.from(toBuffer(id as unknown, 'id'));
    if (b.length < 1 || b.length > 32) throw new RangeError(`id must be 1 to 32 bytes, got ${b.length}`);
    const hex = b.toString('hex');
    if (this.#inflight.has(hex)) this.#revokedInFlight.add(hex);
    if (!this.context.freed) this.#removeLocal(b);
    if (this.sessionStore) await this.#withTimeout(this.sessionStore.delete(b), 'delete');
  }

  #withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(codedError('ERR_SESSION_STORE_TIMEOUT', `session store ${what} took longer than ${this.sessionStoreTimeout} ms`)),
        this.sessionStoreTimeout,
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

  // the ClientHello's session id is known: fetch it from the store unless cached
  async #prefetch(hello: ClientHelloInfo): Promise<void> {
    const store = this.sessionStore;
    const id = hello.sessionId;
    if (!store || !id || this.context.freed) return;
    try {
      const cached = this.context.getSession(id);
      if (cached) {
        cached.free();
        return;
      }
      const hex = id.toString('hex');
      this.#inflight.set(hex, (this.#inflight.get(hex) ?? 0) + 1);
      let der: Buffer | undefined | null;
      let revoked: boolean;
      try {
        der = await this.#withTimeout(store.get(id), 'get');
      } finally {
        revoked = this.#revokedInFlight.has(hex);
        const n = (this.#inflight.get(hex) ?? 1) - 1;
        if (n > 0) this.#inflight.set(hex, n);
        else {
          this.#inflight.delete(hex);
          this.#revokedInFlight.delete(hex);
        }
      }
      // revoked while the store answered: the answer may predate the delete
      if (!der || revoked || this.context.freed) return;
      const session = SslSession.fromDER(der);
      try {
        this.context.addSession(session);
      } finally {
        session.free(); // the cache holds its own reference
      }
    } catch (e) {
      this.emit('sessionStoreError', e);
    }
  }

  // SNICallback as a promise; a context that is not an SslContext fails the connection
  #resolveSni(servername: string): Promise<SslContext | undefined> {
    return new Promise<SslContext | undefined>((resolve, reject) => {
      let answered = false;
      try {
        this.#sniCallback!(servername, (err, ctx) => {
          if (answered) return;
          answered = true;
          if (err) reject(err);
          else if (ctx === undefined || ctx === null) resolve(undefined);
          else if (ctx instanceof SslContext) resolve(ctx);
          else reject(new TypeError('SNICallback must answer with an SslContext or undefined'));
        });
      } catch (e) {
        answered = true;
        reject(e);
      }
    });
  }

  /** a failed listen() (EADDRINUSE, ...) frees the context this server made: listening again throws ERR_SSL_FREED */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && !this.listening && this.#ownsContext && !this.context.freed) {
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
      this.context.free();
    }
    return super.emit(event, ...args);
  }

  override listen(...args: unknown[]): this {
    if (this.context.freed) throw codedError('ERR_SSL_FREED', "this server's SslContext has been freed (after a failed listen or close)");
    return super.listen(...(args as Parameters<net.Server['listen']>));
  }

  #onConnection(socket: net.Socket): void {
    if (this.context.freed) {
      socket.destroy();
      return;
    }
    let tls: TLSSocket;
    try {
      tls = new TLSSocket({
        socket,
        isServer: true,
        context: this.context,
        handshakeTimeout: this.handshakeTimeout,
        allowHalfOpen: this.#allowHalfOpen,
        prefetch: this.sessionStore ? (hello) => this.#prefetch(hello) : undefined,
        requestCert: this.#requestCert,
        rejectUnauthorized: this.#rejectUnauthorized,
        alpnProtocols: this.#alpn,
        sni: this.#sniCallback ? (name) => this.#resolveSni(name) : undefined,
        onKeylog: this.listenerCount('keylog') > 0 ? (line) => this.emit('keylog', line, tls) : undefined,
      });
    } catch (e) {
      socket.destroy();
      this.emit('tlsClientError', e, undefined);
      return;
    }
    let secure = false;
    tls.on('error', (err) => {
      debug('tlsClientError %s', (err as Error)?.message);
      if (!secure) this.emit('tlsClientError', err, tls);
    });
    tls.once('secure', () => {
      secure = true;
      this.emit('secureConnection', tls);
    });
  }
}

/** node:tls-style factory: createServer([options][, secureConnectionListener]). */
export function createServer(secureConnectionListener?: (socket: TLSSocket) => void): TlsServer;
export function createServer(options: TlsServerOptions, secureConnectionListener?: (socket: TLSSocket) => void): TlsServer;
export function createServer(a?: TlsServerOptions | ((socket: TLSSocket) => void), b?: (socket: TLSSocket) => void): TlsServer {
  return typeof a === 'function' || a === undefined ? new TlsServer(a) : new TlsServer(a, b);
}
