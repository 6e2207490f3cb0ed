import * as net from 'net';
import * as tls from 'tls';
import { isSessionStore, SessionStore } from '../stores/session_store';
import { SslContext, SslContextOptions, TICKET_KEY_LENGTH, TicketKeyStats } from '../openssl/ssl_context';
import { SessionResumption, SessionStoreStats } from './session_resumption';
import { SessionOnUncleanClose, sessionOnUncleanCloseOption } from './socket_options';
import { TLSSocket } from './tls_socket';
import { checkSessionId, integer, optionsObject, toBuffer, toBufferOrString } from '../common/validate';
import type { EventListener, ListenerEvents } from '../common/typed_events';
import { codedError, ErrorCode } from '../common/coded_error';
import { alpnWire, AlpnProtocols } from './alpn';
import { debug } from './debug';
import { defaultSessionIdContext, SessionIdContextPolicy } from './session_id_context';
import { observeConnection } from './observe';
import { checkServerOptions, contextOptionsOf } from './server_options';
import { checkOptionNames, OptionTable } from '../common/option_names';
import { CONTEXT_OPTIONS } from '../openssl/context_options';

import { ConnectionPath, NativeConnectionPath, nativeConnectionPath } from './native_connection_path';
import type { HelloGateSetup } from './hello_gate';

/** @internal on an options object: more option names a wrapper (createHttpsServer, ...) handles itself */
export const kWrapperOptions = Symbol('wrapperOptions');

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
  /** lookups (store.get / 'resumeSession') in flight at once; a ClientHello over the
   * limit gets a full handshake without one (default 64) */
  sessionStoreConcurrency?: number;
  /** ids remembered as misses, so that a repeated id costs no second lookup (default 10000; 0 = off) */
  sessionStoreNegativeCacheSize?: number;
  /** how long a miss is remembered, ms (default 1000; 0 = off) */
  sessionStoreNegativeCacheTtl?: number;
  /** node:tls: the session-ticket key, 48 bytes (key name | HMAC secret | AES key); turns
   * tickets on */
  ticketKeys?: Buffer;
  /** how many replaced ticket keys still decrypt after setTicketKeys (default 0, node:tls) */
  previousTicketKeys?: number;
  /** node:net's pauseOnConnect: 'connection' listeners get the TCP socket paused; as with
   * node:tls the handshake runs anyway (the socket is resumed once they have run) */
  pauseOnConnect?: boolean;
  /** node:net: TCP_NODELAY on each accepted TCP socket (default false as node:tls; the
   * HTTPS and HTTP/2 servers default to true as node:https) */
  noDelay?: boolean;
  /** node:net: SO_KEEPALIVE on each accepted TCP socket (default false) */
  keepAlive?: boolean;
  /** node:net: the delay before the first keep-alive probe, ms (default 0: the system's) */
  keepAliveInitialDelay?: number;
  /** ask clients for a certificate (verified against `ca`; default false) */
  requestCert?: boolean;
  /** with requestCert: refuse clients without a valid certificate (default true) */
  rejectUnauthorized?: boolean;
  /** ALPN protocols the server accepts, most preferred first: the server's order decides (node:tls); a client offering none of them is refused (no_application_protocol) */
  ALPNProtocols?: AlpnProtocols;
  /** per-name contexts: called once the ClientHello has been read, before OpenSSL sees it */
  SNICallback?: SNICallback;
  /** node:net's allowHalfOpen for the TLSSockets: after the peer's close_notify (or FIN)
   * the writable side stays open until end() (default false: it ends after 'end') */
  allowHalfOpen?: boolean;
  /** the session of an accepted connection that ends without close_notify (a client that
   * just closes or resets TCP): 'keep' it resumable (default) or 'remove' it as 1.0.2's
   * SSL_free does — see SessionOnUncleanClose */
  sessionOnUncleanClose?: SessionOnUncleanClose;
  /** which path runs the connections: 'native' (the default: accept, handshake, reads,
   * writes and close natively on Node's loop, a NativeTlsSocket per secure connection) or
   * 'node' (a net.Socket and a TLSSocket per connection, kept one release). Without it,
   * OPENSSL_SESSION_CACHE_CONNECTION_PATH names the path; with neither, a listen() the native
   * listener cannot serve (a Unix socket, a handle, a cluster worker) runs on the node path */
  connectionPath?: ConnectionPath;
}

/** The events of a TlsServer (node:tls's names) and their listeners' arguments. */
export interface TlsServerEvents extends ListenerEvents {
  /** a TLS handshake completed */
  secureConnection: [socket: TLSSocket];
  /** a connection failed before its handshake completed (socket undefined when none was made) */
  tlsClientError: [err: Error, socket: TLSSocket | undefined];
  /** the session store failed, timed out (ERR_SESSION_STORE_TIMEOUT) or returned a bad session */
  sessionStoreError: [err: Error];
  /** the store accepted a new session (its id) */
  sessionStored: [id: Buffer];
  /** a revocation heard from the store was applied to the local cache (its id) */
  sessionRevoked: [id: Buffer];
  /** the local cache was dropped once the store's revocation feed was listening (first time or again) */
  sessionStoreResync: [];
  /** node:tls: a full handshake made a session with an id; the handshake waits for callback() */
  newSession: [id: Buffer, data: Buffer, callback: () => void];
  /** node:tls: a ClientHello offers this id; the handshake waits for callback(err, data) */
  resumeSession: [id: Buffer, callback: (err: Error | null, data?: Buffer | null) => void];
  /** NSS key log line of a connection (with a listener when the connection arrived) */
  keylog: [line: Buffer, socket: TLSSocket];
  /** net.Server: a TCP connection arrived */
  connection: [socket: net.Socket];
  /** net.Server: listening (no argument; the optional one lets a promise's resolve listen:
   * `await new Promise((r) => server.once('listening', r))`) */
  listening: [none?: undefined];
  /** net.Server: closed (the server may listen again; no argument, as 'listening') */
  close: [none?: undefined];
  /** net.Server: a server error */
  error: [err: Error];
  /** net.Server: a connection was dropped over maxConnections */
  drop: [data?: net.DropArgument];
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- types only (lib/common/typed_events.ts)
export interface TlsServer {
  on<K extends keyof TlsServerEvents>(event: K, listener: EventListener<TlsServerEvents, K>): this;
  once<K extends keyof TlsServerEvents>(event: K, listener: EventListener<TlsServerEvents, K>): this;
  off<K extends keyof TlsServerEvents>(event: K, listener: EventListener<TlsServerEvents, K>): this;
  addListener<K extends keyof TlsServerEvents>(event: K, listener: EventListener<TlsServerEvents, K>): this;
  removeListener<K extends keyof TlsServerEvents>(event: K, listener: EventListener<TlsServerEvents, K>): this;
  prependListener<K extends keyof TlsServerEvents>(event: K, listener: EventListener<TlsServerEvents, K>): this;
  prependOnceListener<K extends keyof TlsServerEvents>(event: K, listener: EventListener<TlsServerEvents, K>): this;
  emit<K extends keyof TlsServerEvents>(event: K, ...args: TlsServerEvents[K]): boolean;
  listenerCount<K extends keyof TlsServerEvents>(event: K): number;
}

/** node:tls's default cipher list without its TLS 1.3 suites (TLS_*), which 1.0.2 lacks */
const NODE_DEFAULT_CIPHERS = tls.DEFAULT_CIPHERS.split(':')
  .filter((c) => c.length > 0 && !c.startsWith('TLS_'))
  .join(':');

/**
 * A net.Server whose connections are TLSSockets run by OpenSSL 1.0.2. Events:
 * 'secureConnection' (socket), 'tlsClientError' (err, socket), 'sessionStoreError' (err),
 * 'sessionStored' (id) once the store accepted a new session, 'sessionRevoked' (id) once a
 * revocation heard from the store (store.subscribe) was applied to the local cache,
 * 'sessionStoreResync' () once the local cache was dropped after the store's revocation feed
 * reconnected, node:tls's 'newSession' (id, der, callback) and 'resumeSession' (id,
 * callback) (see lib/tls/session_resumption.ts), plus net.Server's own.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class TlsServer extends net.Server {
  readonly context: SslContext;
  readonly sessionStore: SessionStore | undefined;
  readonly sessionStoreTimeout: number;
  readonly handshakeTimeout: number;
  readonly #allowHalfOpen: boolean;
  readonly #sessionOnUncleanClose: SessionOnUncleanClose;
  /** how many replaced ticket keys still decrypt (0: node:tls's behaviour) */
  readonly previousTicketKeys: number;
  readonly #resumption: SessionResumption;
  readonly #requestCert: boolean;
  readonly #rejectUnauthorized: boolean;
  readonly #alpn: Buffer | undefined;
  readonly #sniCallback: SNICallback | undefined;
  readonly #pauseOnConnect: boolean;
  /** addContext(): server-name patterns (node:tls's wildcard form) and their contexts, last added first */
  readonly #namedContexts: { pattern: RegExp; context: SslContext }[] = [];
  /** setSecureContext(): the certificate context of new handshakes (server.context keeps the cache) */
  #certificateContext: SslContext | undefined;
  /** what the default session id context depends on besides the certificate options */
  readonly #acceptance: { requestCert: boolean; rejectUnauthorized: boolean };
  /** the session id context is the caller's (options.sessionIdContext or options.context) */
  readonly #ownSessionIdContext: boolean;
  #native: NativeConnectionPath | undefined;

  constructor(secureConnectionListener?: (socket: TLSSocket) => void);
  constructor(options: TlsServerOptions, secureConnectionListener?: (socket: TLSSocket) => void);
  constructor(optionsOrListener?: TlsServerOptions | ((socket: TLSSocket) => void), listener?: (socket: TLSSocket) => void) {
    const options = typeof optionsOrListener === 'function' || optionsOrListener === undefined ? {} : optionsOrListener;
    const secureConnectionListener = typeof optionsOrListener === 'function' ? optionsOrListener : listener;
    const pauseOnConnect = (options as TlsServerOptions | null)?.pauseOnConnect;
    if (pauseOnConnect !== undefined && typeof pauseOnConnect !== 'boolean') throw new TypeError('options.pauseOnConnect must be a boolean');
    const tcp = tcpOptions(options as TlsServerOptions | null);
    // the TCP sockets are always half-open capable: the TLSSocket decides when to send FIN
    super({ pauseOnConnect: pauseOnConnect === true, allowHalfOpen: true, ...tcp });
    this.#pauseOnConnect = pauseOnConnect === true;
    const o = optionsObject(options, 'options') as TlsServerOptions;
    checkServerOptions(o as Record<string, unknown>, (o as { [kWrapperOptions]?: OptionTable })[kWrapperOptions], 'createServer()');
    if (o.requestCert !== undefined && typeof o.requestCert !== 'boolean') throw new TypeError('options.requestCert must be a boolean');
    if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== 'boolean') {
      throw new TypeError('options.rejectUnauthorized must be a boolean');
    }
    if (o.SNICallback !== undefined && typeof o.SNICallback !== 'function') throw new TypeError('options.SNICallback must be a function');
    this.#requestCert = o.requestCert === true;
    this.#rejectUnauthorized = o.rejectUnauthorized !== false;
    this.#alpn = alpnWire(o.ALPNProtocols, 'options.ALPNProtocols');
    this.#sniCallback = o.SNICallback;
    this.#acceptance = { requestCert: this.#requestCert, rejectUnauthorized: this.#rejectUnauthorized };
    this.#ownSessionIdContext = o.context !== undefined || o.sessionIdContext !== undefined;
    if (secureConnectionListener !== undefined && typeof secureConnectionListener !== 'function') {
      throw new TypeError('secureConnectionListener must be a function');
    }
    // a server without a certificate could only fail every handshake ("no shared cipher")
    if (o.context === undefined && o.SNICallback === undefined && (o.cert === undefined || o.key === undefined) && o.pfx === undefined) {
      throw codedError(ErrorCode.TLS_NO_CERTIFICATE, 'a TLS server needs options.cert and options.key (or options.pfx, options.context, or an SNICallback)');
    }
    if (o.sessionStore !== undefined && !isSessionStore(o.sessionStore)) {
      throw new TypeError('options.sessionStore must implement get(id), set(id, der, ttl), delete(id)');
    }
    this.sessionStore = o.sessionStore;
    this.sessionStoreTimeout = integer(o.sessionStoreTimeout ?? 1000, 'options.sessionStoreTimeout', 1, 2 ** 31 - 1);
    this.handshakeTimeout = integer(o.handshakeTimeout ?? 30000, 'options.handshakeTimeout', 0, 2 ** 31 - 1);
    if (o.allowHalfOpen !== undefined && typeof o.allowHalfOpen !== 'boolean') throw new TypeError('options.allowHalfOpen must be a boolean');
    this.#allowHalfOpen = o.allowHalfOpen === true;
    this.#sessionOnUncleanClose = sessionOnUncleanCloseOption(o.sessionOnUncleanClose, 'options.sessionOnUncleanClose');
    // the session id context of a context made here (a caller's context may have any)
    let sessionIdContext: Buffer | undefined;
    if (o.context !== undefined) {
      if (!(o.context instanceof SslContext)) throw new TypeError('options.context must be an SslContext');
      // the context is already made: its own options would be ignored
      const ignored = Object.keys(contextOptionsOf(o as Record<string, unknown>));
      if (ignored.length > 0) {
        throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, `options.${ignored.join(', options.')} cannot be combined with options.context (set them on the SslContext)`);
      }
      this.context = o.context;
    } else {
      sessionIdContext =
        o.sessionIdContext !== undefined ? Buffer.from(toBufferOrString(o.sessionIdContext, 'options.sessionIdContext')) : defaultSessionIdContext(o as SessionIdContextPolicy);
      this.context = new SslContext({
        ...contextOptionsOf(o as Record<string, unknown>),
        role: 'server',
        // node:tls's servers prefer their own cipher order unless told otherwise
        honorCipherOrder: o.honorCipherOrder ?? true,
        // and node:tls's default cipher list (its TLS 1.3 suites left out)
        ciphers: o.ciphers ?? NODE_DEFAULT_CIPHERS,
        // the product is about the id cache: tickets would bypass it (on with ticketKeys)
        noTicket: o.noTicket ?? o.ticketKeys === undefined,
        // servers sharing a store resume each other's sessions only under the same
        // client-acceptance policy and certificate (lib/tls/session_id_context.ts)
        sessionIdContext,
      });
    }
    this.previousTicketKeys = integer(o.previousTicketKeys ?? 0, 'options.previousTicketKeys', 0, 64);
    if (o.ticketKeys !== undefined) {
      const k = toBuffer(o.ticketKeys as unknown, 'options.ticketKeys');
      if (k.length !== TICKET_KEY_LENGTH) throw new RangeError(`options.ticketKeys must be ${TICKET_KEY_LENGTH} bytes, got ${k.length}`);
      this.context.setTicketKeys(Buffer.from(k));
    }
    // a store resumes by id: tickets stay off unless asked for (noTicket: false, ticketKeys)
    if (this.sessionStore && o.noTicket !== false && o.ticketKeys === undefined) this.context.setTicketsEnabled(false);
    this.#resumption = new SessionResumption({
      server: this,
      context: this.context,
      store: this.sessionStore,
      timeout: this.sessionStoreTimeout,
      concurrency: integer(o.sessionStoreConcurrency ?? 64, 'options.sessionStoreConcurrency', 1, 2 ** 31 - 1),
      negativeCacheSize: integer(o.sessionStoreNegativeCacheSize ?? 10000, 'options.sessionStoreNegativeCacheSize', 0, 2 ** 31 - 1),
      negativeCacheTtl: integer(o.sessionStoreNegativeCacheTtl ?? 1000, 'options.sessionStoreNegativeCacheTtl', 0, 2 ** 31 - 1),
      // a context of the caller's may have any session id context: not checked then
      sessionIdContext,
      ticketsRevoked: () => this.#native?.helloSetupChanged(),
    });
    // the native path runs the same ClientHello gate, with the store prefetch of each connection
    this.#native = nativeConnectionPath(this, o, () => ({ ...this.#helloSetup(), alpnWire: this.#alpn }), this.#resumption);
    // net.Server's `listening` getter reads its own handle, which the native path has not
    const native = this.#native;
    if (native) Object.defineProperty(this, 'listening', { get: () => native.listening, configurable: true });
    if (secureConnectionListener) this.on('secureConnection', secureConnectionListener);
    // the native path's 'connection' is its listeners' alone (lib/tls/native_net.ts)
    if (!native) this.on('connection', (socket: net.Socket) => this.#onConnection(socket));
    // the context outlives close() and a failed listen(), as https.Server's secure context
    // does: the server may listen again (its sessions still resume); a server that is
    // dropped frees it when collected (or at once with server.context.free())
    this.on('close', () => this.#resumption.close());
  }

  /**
   * Revokes a session fleet-wide: removes it from this server's cache and deletes it from
   * the store (whose subscribers, e.g. the other servers on a RedisSessionStore, drop it
   * too). With tickets on, the id is also remembered (for the session timeout) and a
   * ClientHello that offers it with a ticket gets a full handshake, here and on every
   * server subscribed to the store (lib/tls/revoked_tickets.ts: OpenSSL clients send the
   * id the server reported with their ticket). Rejects when the store did not confirm the
   * delete within sessionStoreTimeout.
   */
  async revoke(id: Buffer): Promise<void> {
    const b = Buffer.from(toBuffer(id as unknown, 'id'));
    checkSessionId(b, 'id');
    await this.#resumption.revoke(b);
  }

  /** what the ClientHello prefetch did: lookups, store gets, hits, misses, bounds hit */
  get sessionStoreStats(): SessionStoreStats {
    return { ...this.#resumption.stats };
  }

  /** node:tls: the current session-ticket key, 48 bytes (name | HMAC secret | AES key) */
  getTicketKeys(): ReturnType<tls.Server['getTicketKeys']> {
    // a Buffer of its own (never over a SharedArrayBuffer), the type node:tls declares
    return this.context.getTicketKeys() as ReturnType<tls.Server['getTicketKeys']>;
  }

  /**
   * node:tls: replaces the session-ticket key (48 bytes). With `previousTicketKeys: N` the
   * replaced key and up to N-1 older ones still decrypt (those tickets resume and are
   * re-issued under the new key); older ones fall back to a full handshake.
   */
  setTicketKeys(keys: Buffer): void {
    const b = toBuffer(keys as unknown, 'keys');
    if (b.length !== TICKET_KEY_LENGTH) throw new RangeError(`keys must be ${TICKET_KEY_LENGTH} bytes, got ${b.length}`);
    const previous = this.previousTicketKeys > 0 ? [this.context.getTicketKeys(), ...this.context.getPreviousTicketKeys()] : [];
    this.context.setTicketKeys(Buffer.from(b), previous.slice(0, this.previousTicketKeys));
  }

  /** the ticket key callback's counters (tickets issued, accepted under the current or a previous key, unknown key) */
  get ticketKeyStats(): TicketKeyStats {
    return this.context.ticketKeyStats;
  }

  /**
   * node:tls: the context for ClientHellos whose server name matches `hostname` (`*` matches
   * one label, as in node:tls; the last added match wins). `context` is an SslContext or
   * createSecureContext-style options (cert, key, ca, ...). Unused when the server has an
   * SNICallback, as in node:tls. The session cache stays the server's (`server.context`):
   * OpenSSL 1.0.2 looks sessions up before it switches to the name's context.
   */
  addContext(hostname: string, context: SslContext | SslContextOptions | tls.SecureContextOptions | tls.SecureContext): void {
    if (typeof hostname !== 'string') throw new TypeError('hostname must be a string');
    refuseNodeSecureContext(context, 'context');
    if (hostname === '') throw codedError(ErrorCode.TLS_REQUIRED_SERVER_NAME, 'addContext() needs a server name');
    const escaped = hostname.replace(/([.^$+?\-\\[\]{}()|])/g, '\\$1').replace(/\*/g, '[^.]*');
    const ctx = context instanceof SslContext ? context : this.#contextFromOptions(context, 'context', this.context.sessionTimeout);
    this.#namedContexts.unshift({ pattern: new RegExp(`^${escaped}$`), context: ctx });
    this.#native?.helloSetupChanged();
  }

  /**
   * node:tls: replaces the certificate, key, trust and cipher settings of new handshakes;
   * existing connections keep theirs. `options` are createSecureContext-style options.
   * The session cache, the store and the ticket keys stay the server's; the default session
   * id context follows the new certificate and trust (lib/tls/session_id_context.ts), so
   * sessions made under the old ones are no longer resumed — as with node:tls, whose new
   * context starts an empty cache. `ticketKeys` in `options` replaces the ticket keys.
   */
  setSecureContext(options: (SslContextOptions & { ticketKeys?: Buffer }) | tls.SecureContextOptions): void {
    refuseNodeSecureContext(options, 'options');
    const o = optionsObject(options, 'options') as SslContextOptions & { ticketKeys?: Buffer };
    const { ticketKeys, ...rest } = o;
    const ctx = this.#contextFromOptions(rest, 'options', this.context.sessionTimeout);
    if (!this.#ownSessionIdContext) {
      const sid = rest.sessionIdContext !== undefined ? Buffer.from(toBufferOrString(rest.sessionIdContext, 'options.sessionIdContext')) : defaultSessionIdContext({ ...(rest as SessionIdContextPolicy), ...this.#acceptance });
      this.context.setSessionIdContext(sid);
      this.#resumption.setSessionIdContext(sid);
    }
    if (ticketKeys !== undefined) this.setTicketKeys(ticketKeys);
    this.#certificateContext = ctx;
    this.#native?.helloSetupChanged();
  }

  // a context from createSecureContext-style options, with createServer's defaults
  #contextFromOptions(options: unknown, name: string, sessionTimeout: number): SslContext {
    const o = optionsObject(options, name) as Record<string, unknown>;
    checkOptionNames(o, [CONTEXT_OPTIONS], name, 'TlsServer');
    for (const own of ['role', 'sessionCacheMode', 'sessionCacheSize', 'noTicket']) {
      if (o[own] !== undefined) throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, `${name}.${own} belongs to the server's session context (server.context), not a certificate context`);
    }
    if (o.cert === undefined && o.pfx === undefined) throw codedError(ErrorCode.TLS_NO_CERTIFICATE, `${name} needs cert and key (or pfx)`);
    return new SslContext({
      ...(o as SslContextOptions),
      role: 'server',
      honorCipherOrder: (o.honorCipherOrder as boolean | undefined) ?? true,
      ciphers: (o.ciphers as string | undefined) ?? NODE_DEFAULT_CIPHERS,
      sessionTimeout: (o.sessionTimeout as number | undefined) ?? sessionTimeout,
    });
  }

  // the ClientHello gate's revoked-ticket check and context choice for one connection, on
  // either path (lib/tls/hello_gate.ts)
  #helloSetup(): Pick<HelloGateSetup, 'refuseTicket' | 'sni' | 'sniWithoutName'> {
    return {
      refuseTicket: this.#resumption.revokesTickets ? (hello) => this.#resumption.ticketRevoked(hello) : undefined,
      sni: this.#sniCallback || this.#namedContexts.length > 0 || this.#certificateContext ? (name) => this.#contextFor(name) : undefined,
      sniWithoutName: this.#certificateContext !== undefined,
    };
  }

  // the context of a ClientHello: the SNICallback's answer, else addContext()'s match, else
  // setSecureContext()'s context (undefined: server.context)
  async #contextFor(servername: string | undefined): Promise<SslContext | undefined> {
    if (servername !== undefined) {
      if (this.#sniCallback) {
        const ctx = await this.#resolveSni(servername);
        if (ctx) return ctx;
      } else {
        for (const named of this.#namedContexts) if (named.pattern.test(servername)) return named.context;
      }
    }
    return this.#certificateContext;
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

  override listen(...args: unknown[]): this {
    if (this.context.freed) throw codedError(ErrorCode.FREED, "this server's SslContext has been freed");
    this.#resumption.reopen();
    const native = this.#native;
    if (native) {
      if (!native.byDefault || native.listenedOnce) {
        native.listen(args);
        return this;
      }
      // no path named: what the native listener cannot serve (a pipe, a handle, a cluster
      // worker's shared port) runs on the node path
      try {
        native.listen([...args]);
        return this;
      } catch (e) {
        if ((e as { code?: unknown }).code !== ErrorCode.OPTION_NOT_SUPPORTED) throw e;
        this.#useNodePath(native);
      }
    }
    return super.listen(...(args as Parameters<net.Server['listen']>));
  }

  /** which path runs this server's connections: 'native' (the native listener) or 'node' (net.Socket and TLSSocket) */
  get connectionPath(): ConnectionPath {
    return this.#native ? 'native' : 'node';
  }

  #useNodePath(native: NativeConnectionPath): void {
    native.detach();
    this.#native = undefined;
    delete (this as { listening?: boolean }).listening; // net.Server's own getter again
    this.prependListener('connection', (socket: net.Socket) => this.#onConnection(socket));
  }

  override close(callback?: (err?: Error) => void): this {
    if (!this.#native) return super.close(callback);
    this.#native.close(callback);
    return this;
  }

  override ref(): this {
    if (!this.#native) return super.ref();
    this.#native.ref(true);
    return this;
  }

  override unref(): this {
    if (!this.#native) return super.unref();
    this.#native.ref(false);
    return this;
  }

  override getConnections(callback: (error: Error | null, count: number) => void): this {
    if (!this.#native) return super.getConnections(callback);
    this.#native.getConnections(callback);
    return this;
  }

  override address(): net.AddressInfo | string | null {
    return this.#native ? this.#native.address() : super.address();
  }

  #onConnection(socket: net.Socket): void {
    if (this.context.freed) {
      socket.destroy();
      return;
    }
    let tls: TLSSocket;
    const obs = observeConnection(this, this.context);
    try {
      tls = new TLSSocket({
        socket,
        isServer: true,
        context: this.context,
        handshakeTimeout: this.handshakeTimeout,
        allowHalfOpen: this.#allowHalfOpen,
        sessionOnUncleanClose: this.#sessionOnUncleanClose,
        prefetch: this.#resumption.wantsPrefetch ? (hello, live) => (obs?.hello(hello), this.#resumption.prefetch(hello, live, obs, socket.remoteAddress)) : obs && ((hello) => obs.hello(hello)),
        observer: obs,
        holdStep: () => this.#resumption.holdStep(),
        ...this.#helloSetup(),
        requestCert: this.#requestCert,
        rejectUnauthorized: this.#rejectUnauthorized,
        alpnProtocols: this.#alpn,
        onKeylog: this.listenerCount('keylog') > 0 ? (line) => this.emit('keylog', line, tls) : undefined,
      });
    } catch (e) {
      socket.destroy();
      this.emit('tlsClientError', e as Error, undefined);
      return;
    }
    obs?.attach(tls);
    // node:tls reads the handshake from the handle whatever the net.Socket's paused state:
    // 'connection' listeners (ours runs first) see it paused, then the handshake goes on
    if (this.#pauseOnConnect) process.nextTick(() => socket.resume());
    let secure = false;
    tls.on('error', (err) => {
      if (debug.enabled) debug('tlsClientError %s', (err as Error)?.message);
      if (!secure) this.emit('tlsClientError', err, tls);
    });
    tls.once('secure', () => {
      secure = true;
      // a resumed ticket renewed (a previous key): the new ticket answers for the old id too
      if (tls.ticketId && tls.isSessionReused()) {
        const id = tls.getSslSession()?.id;
        if (id) this.#resumption.ticketRenewed(id, tls.ticketId);
      }
      this.emit('secureConnection', tls);
    });
  }
}

/** node:tls's SecureContext objects hold Node's OpenSSL 3 context: never usable here */
function refuseNodeSecureContext(v: unknown, name: string): void {
  if (v !== null && typeof v === 'object' && !(v instanceof SslContext) && (v as { constructor?: { name?: string } }).constructor?.name === 'SecureContext') {
    throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, `${name} is a node:tls SecureContext, which belongs to Node's OpenSSL; pass an SslContext or createSecureContext-style options`);
  }
}

/** node:net's per-connection TCP options, checked */
function tcpOptions(o: TlsServerOptions | null): { noDelay: boolean; keepAlive: boolean; keepAliveInitialDelay: number } {
  for (const name of ['noDelay', 'keepAlive'] as const) {
    if (o?.[name] !== undefined && typeof o[name] !== 'boolean') throw new TypeError(`options.${name} must be a boolean`);
  }
  return {
    noDelay: o?.noDelay === true,
    keepAlive: o?.keepAlive === true,
    keepAliveInitialDelay: integer(o?.keepAliveInitialDelay ?? 0, 'options.keepAliveInitialDelay', 0, 2 ** 31 - 1),
  };
}

/** node:tls-style factory: createServer([options][, secureConnectionListener]). */
export function createServer(secureConnectionListener?: (socket: TLSSocket) => void): TlsServer;
export function createServer(options: TlsServerOptions, secureConnectionListener?: (socket: TLSSocket) => void): TlsServer;
export function createServer(a?: TlsServerOptions | ((socket: TLSSocket) => void), b?: (socket: TLSSocket) => void): TlsServer {
  return typeof a === 'function' || a === undefined ? new TlsServer(a) : new TlsServer(a, b);
}
