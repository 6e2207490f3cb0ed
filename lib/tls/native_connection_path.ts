// The native connection path of a TlsServer (the default; connectionPath: 'node' names the
// other): connections are accepted, read, handshaken, written and closed in native
// code on Node's own libuv loop (native/native_listener.h), on the server's SSL_CTX, so its
// session cache and native callbacks work as on the Node-socket path. JS hears of a
// connection with its whole ClientHello (the server's hello gate, native_hello.ts), then once
// when it becomes secure ('secureConnection', with a NativeTlsSocket) or fails
// ('tlsClientError'); a secure connection's plaintext then flows through the
// NativeTlsSocket (a Duplex: writes go to SSL_write natively, reads are pushed from
// SSL_read), which node:http accepts through its 'connection' event.
//
// No net.Socket and no TLSSocket exist per connection: what that removes and what it costs
// is measured in bench/NOTES.md ("Native connection path"). A listen() the native listener
// cannot serve moves a server that named no path to the node path (TlsServer#listen).
import cluster from 'cluster';
import { codedError, ErrorCode } from '../common/coded_error';
import { toError } from '../common/to_error';
import { NativeConnectionInfo, NativeListenerEvent, NativeListenerHandle, nativeQuerySource, openNativeListener, settleNativeHandshakes } from '../openssl/native_listener';
import { ClientCertificatePolicy, clientAuthorization, clientVerifyError, keylogLine, kLocalEndpoint, kTlsQueryState, LocalEndpoint, serverVerifyMode, TlsQueryState, TlsSocketQueries } from './native_queries';
import type { SslContext } from '../openssl/ssl_context';
import type { HelloGateSetup } from './hello_gate';
import { TLS_PROTOCOLS } from '../binding/constants';
import { kVersionRange } from '../openssl/internal';
import { NativeClientErrorSocket, NativeHelloGates } from './native_hello';
import { alpnWire } from './alpn';
import type { TlsServer, TlsServerOptions } from './tls_server';
import type { SessionResumption } from './session_resumption';
import { NativeSessionHooks } from './native_store';
import { abortCloses, listenError, lookupListenHost, maxConnectionsLimit, NativeListenArgs, nativeListenArgs, NativeNetOptions, nativeNetOptions, netErrorAfterSecure, NativeSocketNet, NativeTcpSocket } from './native_net';
import type { NativeAddresses } from '../openssl/native_listener';
import { NativeObservation } from './native_observe';

/** how a TlsServer's connections are run: natively ('native', the default where it can serve the server) or on Node sockets and TLSSockets ('node') */
export type ConnectionPath = 'node' | 'native';

/** the environment variable that names the path of servers whose options do not (for running an application or a test suite on one path without code changes) */
export const CONNECTION_PATH_ENV = 'OPENSSL_SESSION_CACHE_CONNECTION_PATH';

/** the environment's choice of path, undefined without one */
function environmentConnectionPath(): ConnectionPath | undefined {
  const v = process.env[CONNECTION_PATH_ENV];
  if (v === undefined || v === '') return undefined;
  if (v !== 'node' && v !== 'native') throw new TypeError(`${CONNECTION_PATH_ENV} must be 'node' or 'native', got ${JSON.stringify(v)}`);
  return v;
}

/**
 * The native path of `server`, or undefined for the node path. `o.connectionPath` (else the
 * environment's OPENSSL_SESSION_CACHE_CONNECTION_PATH) names a path (another value: a
 * TypeError). Without a name the server runs natively (`byDefault`: a listen() the native
 * listener cannot serve then moves the server to the node path).
 */
export function nativeConnectionPath(
  server: TlsServer,
  o: TlsServerOptions,
  hello: () => HelloGateSetup,
  resumption: SessionResumption,
): NativeConnectionPath | undefined {
  const named = o.connectionPath ?? environmentConnectionPath();
  if (named === 'node') return undefined;
  if (named !== undefined && named !== 'native') throw new TypeError("options.connectionPath must be 'node' or 'native'");
  const peer = { requestCert: o.requestCert === true, rejectUnauthorized: o.rejectUnauthorized !== false };
  const path = new NativeConnectionPath(server, server.context, nativeNetOptions(o), server.handshakeTimeout, alpnWire(o.ALPNProtocols, 'options.ALPNProtocols'), hello, peer);
  path.byDefault = named === undefined;
  path.store = new NativeSessionHooks(server, resumption, server.context);
  path.revokedTickets = () => resumption.hasRevokedTickets;
  path.observation = new NativeObservation(server, server.context, { ticketRenewed: (id, next) => resumption.ticketRenewed(id, next) });
  return path;
}

/** a TlsServer's native listener and the NativeTlsSockets of its connections */
export class NativeConnectionPath {
  readonly #server: TlsServer;
  readonly #context: SslContext;
  readonly #net: NativeNetOptions;
  readonly #handshakeTimeout: number;
  readonly #alpn: Buffer | undefined;
  readonly #helloGates: NativeHelloGates;
  readonly #helloSetup: () => HelloGateSetup;
  /** the server remembers revoked ticket ids (the gate's refuseTicket may apply) */
  #revokedTickets: () => boolean = () => false;
  #listener: NativeListenerHandle | undefined;
  #listening = false;
  #ref = true;
  readonly #sockets = new Map<number, NativeTlsSocket>();
  /** @internal the session store and 'newSession' / 'resumeSession' (lib/tls/native_store.ts) */
  store: NativeSessionHooks | undefined;
  /** @internal no path was named: a listen() this path cannot serve moves the server to the node path (detach) */
  byDefault = false;
  #listenedOnce = false;
  #detached = false;
  /** requestCert / rejectUnauthorized: the client certificate (lib/tls/native_queries.ts) */
  readonly #peer: ClientCertificatePolicy;
  /** tickets and observability (lib/tls/native_observe.ts) */
  observation: NativeObservation | undefined;

  constructor(
    server: TlsServer,
    context: SslContext,
    net: NativeNetOptions,
    handshakeTimeout: number,
    alpn: Buffer | undefined,
    helloSetup: () => HelloGateSetup,
    peer: ClientCertificatePolicy = { requestCert: false, rejectUnauthorized: true },
  ) {
    this.#server = server;
    this.#peer = peer;
    this.#alpn = alpn;
    this.#helloGates = new NativeHelloGates(server, context, helloSetup);
    this.#helloSetup = helloSetup;
    this.#context = context;
    this.#net = net;
    this.#handshakeTimeout = handshakeTimeout;
    this.#netSurface();
  }

  get listening(): boolean {
    return this.#listening;
  }

  listen(args: unknown[]): void {
    const exclusive = args[0] !== null && typeof args[0] === 'object' && (args[0] as { exclusive?: unknown }).exclusive === true;
    const a = nativeListenArgs(args);
    if (this.#listening || this.#binding) throw codedError(ErrorCode.SERVER_ALREADY_LISTEN, 'Listen method has been called more than once without closing.');
    if (cluster.isWorker && !exclusive) {
      throw codedError(
        ErrorCode.OPTION_NOT_SUPPORTED,
        "listen() in a node:cluster worker is not supported with connectionPath: 'native': the workers share the primary's listening socket and the native listener binds its own (listen({ exclusive: true }) binds the worker's own port)",
      );
    }
    this.#listenedOnce = true;
    // a listener closed whose connections are still open listens again (net.Server's rule: 'close' waits for them and the next close())
    let l = this.#listener;
    if (!l) {
      l = openNativeListener(this.#context, (event, id, arg) => this.#onEvent(event, id, arg), {
        noDelay: this.#net.noDelay,
        keepAlive: this.#net.keepAlive,
        keepAliveInitialDelay: this.#net.keepAliveInitialDelay,
        removeUnclean: this.#net.removeUnclean,
        handshakeTimeout: this.#handshakeTimeout,
        alpn: this.#alpn,
        hello: true,
        // the lowest protocol as a wire version, for the hello screen (helloSetupChanged)
        minVersion: 0x0301 + TLS_PROTOCOLS.indexOf(this.#context[kVersionRange][0]),
        verifyMode: serverVerifyMode(this.#peer.requestCert, this.#peer.rejectUnauthorized),
        verifyPeer: this.#peer.requestCert && this.#peer.rejectUnauthorized,
      });
      this.store?.attach(l);
      this.#screenHellos(l);
    }
    if (a.callback) this.#server.once('listening', a.callback);
    if (a.signal) abortCloses(this.#server, a.signal);
    this.#binding = true;
    lookupListenHost(a.host, (err, host) => {
      this.#binding = false;
      if (err) {
        this.#server.emit('error', err);
        return;
      }
      this.#bind(l, host, a);
    });
  }

  #binding = false;

  #bind(l: NativeListenerHandle, host: string | undefined, a: NativeListenArgs): void {
    try {
      try {
        l.listen(host ?? '::', a.port, a.backlog);
      } catch (e) {
        // no IPv6 here: the IPv4 any address, as net.Server does
        if (host !== undefined) throw e;
        l.listen('0.0.0.0', a.port, a.backlog);
      }
    } catch (e) {
      process.nextTick(() => this.#server.emit('error', listenError(toError(e), host, a.port)));
      return;
    }
    if (!this.#ref) l.ref(false);
    l.setNet({ maxConnections: this.#maxConnections, connection: this.#server.listenerCount('connection') > 0 });
    this.#listener = l;
    this.#listening = true;
    this.observation?.bind(l);
    process.nextTick(() => this.#server.emit('listening'));
  }

  address(): { address: string; family: string; port: number } | null {
    return this.#listening && this.#listener ? this.#listener.address() : null;
  }

  /** net.Server's ref() / unref(): whether the listener keeps the process alive */
  ref(on: boolean): void {
    this.#ref = on;
    this.#listener?.ref(on);
  }

  /** stops accepting; 'close' once every connection has closed (net.Server's rule) */
  close(callback?: (err?: Error) => void): void {
    if (!this.#listener || !this.#listening) {
      if (callback) process.nextTick(() => callback(codedError(ErrorCode.SERVER_NOT_RUNNING, 'Server is not running.')));
      return;
    }
    if (callback) this.#server.once('close', callback);
    this.#listening = false;
    this.#listener.close();
  }

  // ---- net.Server's surface (lib/tls/native_net.ts)
  #maxConnections = -1;
  /** the 'connection' objects of open connections and the TCP state their NativeTlsSocket shares */
  readonly #tcp = new Map<number, { socket: NativeTcpSocket; net: NativeSocketNet }>();

  /** @internal listen() ran here at least once (a server that listened natively stays native) */
  get listenedOnce(): boolean {
    return this.#listenedOnce;
  }

  /** @internal the server goes back to net.Server's own accept (a default native path that cannot serve its listen()): its native surface is undone */
  detach(): void {
    this.#detached = true;
    const server = this.#server as { maxConnections?: number };
    const max = server.maxConnections;
    delete server.maxConnections;
    if (max !== undefined) server.maxConnections = max;
  }

  // maxConnections (a property, read at each accept natively) and 'connection' reported
  // natively only while the server has listeners for it
  #netSurface(): void {
    const server = this.#server;
    let max: unknown;
    Object.defineProperty(server, 'maxConnections', {
      get: () => max,
      set: (v: unknown) => {
        max = v;
        this.#maxConnections = maxConnectionsLimit(v);
        this.#listener?.setNet({ maxConnections: this.#maxConnections });
      },
      enumerable: true,
      configurable: true,
    });
    server.on('newListener', (event: string | symbol) => {
      if (event === 'connection' && !this.#detached) this.#listener?.setNet({ connection: true });
    });
    server.on('removeListener', (event: string | symbol) => {
      if (event === 'connection' && !this.#detached) this.#listener?.setNet({ connection: server.listenerCount('connection') > 0 });
    });
  }

  /** net.Server#getConnections: the connections open now (accepted, TLS or not) */
  getConnections(callback: (err: Error | null, count: number) => void): void {
    const n = this.#listener?.connections() ?? 0;
    process.nextTick(() => callback(null, n));
  }

  #netOf(id: number): NativeSocketNet {
    return this.#tcp.get(id)?.net ?? new NativeSocketNet(this.#net);
  }

  #connection(id: number, addresses: NativeAddresses): void {
    const listener = this.#listener;
    if (!listener) return;
    const net = new NativeSocketNet(this.#net);
    const tcp = new NativeTcpSocket(listener, id, addresses, net, this.#net.pauseOnConnect);
    this.#tcp.set(id, { socket: tcp, net });
    this.#server.emit('connection', tcp as never);
    // node:tls reads the handshake whatever the net.Socket's paused state (TlsServer's node path)
    if (this.#net.pauseOnConnect) process.nextTick(() => tcp.resume());
  }

  #closedTcp(id: number): void {
    const tcp = this.#tcp.get(id);
    if (!tcp) return;
    this.#tcp.delete(id);
    tcp.socket.closedNatively();
  }

  /** @internal whether the server remembers revoked ticket ids (see helloSetupChanged) */
  set revokedTickets(f: () => boolean) {
    this.#revokedTickets = f;
  }

  /**
   * @internal The server's SNI contexts or revoked tickets changed: while it has neither, a
   * ClientHello that none of node:tls's refusals (hello_policy.ts) can apply to goes to
   * OpenSSL without the gate (the listener's screen, native_listener_hello.cc); a store's
   * prefetch still sees every hello. The gate's answer for such a hello would be "proceed
   * on server.context", so skipping it saves a call into JS per connection, nothing else.
   */
  helloSetupChanged(): void {
    if (this.#listener) this.#screenHellos(this.#listener);
  }

  #screenHellos(l: NativeListenerHandle): void {
    const setup = this.#helloSetup();
    l.screenHellos(setup.sni === undefined && !this.#revokedTickets());
  }

  // a ClientHello the screen did not pass goes through the server's gate before OpenSSL reads
  // it (native_hello.ts), with the store prefetch of this connection (native_store.ts)
  #hello(id: number, bytes: Buffer): void {
    const listener = this.#listener;
    if (!listener) return;
    const store = this.store;
    this.#helloGates.hello(listener, id, bytes, store ? (hello, live) => store.prefetch(listener, id, hello, live, this.observation?.observer(id)) : undefined);
  }

  // 'tlsClientError' with the failing connection's addresses (the listener closes it)
  #clientError(id: number, err: Error): void {
    this.#helloGates.gone(id);
    this.observation?.failed(id, err, () => this.#closedSocket(id));
    const socket = this.#listener ? new NativeClientErrorSocket(this.#listener, id) : undefined;
    this.#server.emit('tlsClientError', err, socket as never);
  }

  // requestCert with rejectUnauthorized: a client whose certificate does not verify never
  // becomes secure; node:tls's error, as the node path reports it (FAILED follows with it)
  #refusePeer(id: number): Error | undefined {
    const listener = this.#listener;
    return listener ? clientVerifyError(nativeQuerySource(listener, id), this.#peer) : undefined;
  }

  // the socket of a connection that failed before it became secure, for the messages that
  // name one (already closed: its queries answer as for a closed socket)
  #closedSocket(id: number): NativeTlsSocket {
    const s = new NativeTlsSocket(this.#listener!, id, this.#context, this.#netOf(id));
    s[kClosed](undefined);
    return s;
  }

  #onEvent(event: NativeListenerEvent, id: number, arg: unknown): boolean | Error | undefined {
    const server = this.#server;
    switch (event) {
      case NativeListenerEvent.SECURE: {
        const switched = this.#helloGates.secure(id);
        // the handshake's events and a get callback's exception, before 'secureConnection'
        const failure = settleNativeHandshakes(this.#context);
        if (failure) {
          const socket = this.#listener ? new NativeClientErrorSocket(this.#listener, id) : undefined;
          this.#listener?.destroy(id);
          this.observation?.failed(id, toError(failure.error), () => this.#closedSocket(id));
          server.emit('tlsClientError', toError(failure.error), socket as never);
          return false;
        }
        const streamed = server.listenerCount('secureConnection') > 0;
        // nobody to hand the connection to: it stays native (read, discarded, closed)
        if (!streamed && server.listenerCount('keylog') === 0 && !this.observation?.wantsSocket(id)) return false;
        const socket = new NativeTlsSocket(this.#listener!, id, this.#context, this.#netOf(id), this.#peer);
        // as the node path's TLSSocket: an error after the handshake closes the socket, and
        // is the socket's listeners' to hear, never an uncaught one
        socket.on('error', netErrorAfterSecure);
        this.observation?.secure(id, socket);
        // node:tls's 'keylog' (line, socket) comes before 'secureConnection'
        const line = server.listenerCount('keylog') > 0 && this.#listener ? keylogLine(nativeQuerySource(this.#listener, id)) : undefined;
        if (line) server.emit('keylog', line, socket as never);
        if (!streamed || socket.destroyed || this.#listener === undefined) return false;
        socket.sniContextSwitched = switched;
        this.#sockets.set(id, socket);
        server.emit('secureConnection', socket as never);
        return true;
      }
      case NativeListenerEvent.VERIFY_PEER:
        return this.#refusePeer(id);
      case NativeListenerEvent.HELLO:
        this.#hello(id, arg as Buffer);
        return false;
      case NativeListenerEvent.STEP:
        return this.#listener !== undefined && this.store !== undefined && this.store.step(this.#listener, id);
      case NativeListenerEvent.FAILED:
        this.store?.failed(id);
        settleNativeHandshakes(this.#context);
        this.#clientError(id, toError(arg));
        return false;
      case NativeListenerEvent.OBSERVED_HELLO:
        this.observation?.hello(id, arg as Buffer);
        return false;
      case NativeListenerEvent.OBSERVED_GONE:
        this.observation?.gone(id, () => this.#closedSocket(id));
        return false;
      case NativeListenerEvent.DATA:
        this.#sockets.get(id)?.[kPushData](arg as Buffer);
        return false;
      case NativeListenerEvent.END:
        this.#sockets.get(id)?.[kPushData](null);
        return false;
      case NativeListenerEvent.DRAIN:
        this.#sockets.get(id)?.[kDrained]();
        return false;
      case NativeListenerEvent.CLOSE: {
        const s = this.#sockets.get(id);
        this.#sockets.delete(id);
        this.#closedTcp(id);
        // sessionOnUncleanClose 'remove': SSL_free's removal reaches the context's listeners now
        if (this.#net.removeUnclean) settleNativeHandshakes(this.#context);
        s?.[kClosed](arg instanceof Error ? arg : undefined);
        return false;
      }
      case NativeListenerEvent.CLOSED:
        this.observation?.bind(undefined);
        this.#listener = undefined;
        this.#listening = false;
        server.emit('close');
        return false;
      case NativeListenerEvent.ERROR:
        server.emit('error', toError(arg));
        return false;
      case NativeListenerEvent.CONNECTION:
        this.#connection(id, arg as NativeAddresses);
        return false;
      case NativeListenerEvent.DROP:
        server.emit('drop', arg as never);
        return false;
      default:
        return false;
    }
  }
}

const kPushData = Symbol('pushData');

const kDrained = Symbol('drained');
const kClosed = Symbol('closed');
const kFailedConnection = Symbol('failedConnection');
const kCoalesce = Symbol('coalesce');

const kPipe = Symbol('pipe');

/** the connection's plaintext goes over a socketpair (native/native_listener_pipe.cc): the fd of JS's end, -1 when it cannot (lib/tls/native_pipe.ts) */
export function nativePlaintextPipe(socket: NativeTlsSocket): number {
  return socket[kPipe]();
}

/** node:http2 runs its session on `socket`: its writes are sent when the loop is about to wait (native/native_listener_h2.cc) */
export function coalesceNativeWrites(socket: NativeTlsSocket): void {
  socket[kCoalesce]();
}

/**
 * A secure connection of the native path: a Duplex of plaintext (writes are SSL_write and
 * sent natively; reads are what native SSL_read pushed), with the TLSSocket's queries (the
 * same implementation as TLSSocket's, lib/tls/native_queries.ts), its client-certificate
 * verdict (authorized, authorizationError), remoteAddress and setTimeout for node:http.
 */
export class NativeTlsSocket extends TlsSocketQueries {
  readonly encrypted = true;
  /** the connection runs on the context for its server name (SNICallback, addContext, setSecureContext), not the server's */
  sniContextSwitched = false;
  readonly #listener: NativeListenerHandle;
  readonly #id: number;
  /** with tickets on: the id a client will offer with the ticket this connection issued
   * (SHA-256 of the ticket), for server.revoke(); undefined when none was issued */
  ticketId: Buffer | undefined;
  #info: NativeConnectionInfo | undefined;
  #closed = false;
  #readStopped = false;
  #drainCallback: ((err?: Error | null) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** @internal made by the server's native path */
  constructor(listener: NativeListenerHandle, id: number, context: SslContext, net: NativeSocketNet, peer: ClientCertificatePolicy = { requestCert: false, rejectUnauthorized: true }) {
    super({ allowHalfOpen: net.allowHalfOpen });
    this.context = context;
    this.#net = net;
    this.#listener = listener;
    this.#id = id;
    ({ authorized: this.authorized, authorizationError: this.authorizationError } = clientAuthorization(nativeQuerySource(listener, id), peer));
  }

  // ---- client certificates and the TLSSocket queries (lib/tls/native_queries.ts)
  /** the server's context, whose cache and events the connection used (TLSSocket's `context`) */
  readonly context: SslContext;
  /** the client's certificate verified (requestCert), as node:tls */
  readonly authorized: boolean;
  /** why it did not (node:tls's code), null when it did or none was asked for */
  readonly authorizationError: string | null;

  /** @internal the queries read the native connection while it is open */
  protected [kTlsQueryState](): TlsQueryState | undefined {
    return this.#closed ? undefined : { source: nativeQuerySource(this.#listener, this.#id), secure: true, isServer: true };
  }

  /** @internal */
  protected [kLocalEndpoint](): LocalEndpoint | undefined {
    if (this.#local === undefined && !this.#closed) this.#local = this.#listener.localAddress(this.#id);
    return this.#local;
  }
  #local: LocalEndpoint | undefined;

  /** @internal the socket of a connection that failed its handshake: closed, its peer's address kept */
  [kFailedConnection](): this {
    this.#details();
    this.#closed = true;
    this.destroy();
    return this;
  }
  // ---- end of client certificates and queries

  #details(): NativeConnectionInfo | undefined {
    if (this.#info === undefined && !this.#closed) this.#info = this.#listener.info(this.#id);
    return this.#info;
  }

  get remoteAddress(): string | undefined {
    return this.#details()?.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.#details()?.remotePort;
  }

  get remoteFamily(): string | undefined {
    return this.#details()?.remoteFamily;
  }

  /** the protocol ALPN selected, false without one (node:tls) */
  get alpnProtocol(): string | false {
    return this.#details()?.alpnProtocol ?? false;
  }

  get servername(): string | false {
    return this.#details()?.servername ?? false;
  }

  /** net.Socket's inactivity timeout: 'timeout' after `ms` without reads or writes (0: off) */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== 'number' || !(ms >= 0)) throw new TypeError('setTimeout(ms): ms must be a non-negative number');
    if (callback) this.once('timeout', callback);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = ms > 0 && !this.#closed ? setTimeout(() => this.emit('timeout'), ms).unref() : undefined;
    return this;
  }

  // ---- net.Socket's surface (lib/tls/native_net.ts)
  readonly #net: NativeSocketNet;

  /** net.Socket#setNoDelay: TCP_NODELAY on this connection */
  setNoDelay(noDelay?: boolean): this {
    if (!this.#closed) this.#net.setNoDelay(this.#listener, this.#id, noDelay);
    return this;
  }

  /** net.Socket#setKeepAlive: SO_KEEPALIVE (and the first probe's delay, ms) on this connection */
  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    if (!this.#closed) this.#net.setKeepAlive(this.#listener, this.#id, enable, initialDelay);
    return this;
  }

  /** plaintext bytes received (node's TLSSocket counts what it pushed) */
  get bytesRead(): number {
    return this.#net.bytesRead;
  }

  /** plaintext bytes handed to SSL_write */
  get bytesWritten(): number {
    return this.#net.bytesWritten;
  }

  override _read(): void {
    if (this.#readStopped && !this.#closed) {
      this.#readStopped = false;
      this.#listener.readStart(this.#id);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#timer?.refresh();
    const queued = this.#closed ? -1 : this.#listener.write(this.#id, chunk);
    if (queued >= 0) this.#net.bytesWritten += chunk.length;
    if (queued < 0) {
      callback(codedError(ErrorCode.BROKEN_PIPE, 'This socket has been ended by the other party'));
      return;
    }
    if (queued > this.writableHighWaterMark) this.#drainCallback = callback;
    else callback();
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    // one SSL_write: one record for what node:http corks together
    this._write(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), 'binary', callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (!this.#closed) this.#listener.end(this.#id);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#closed) {
      this.#closed = true;
      this.#listener.destroy(this.#id);
    }
    const cb = this.#drainCallback;
    this.#drainCallback = undefined;
    cb?.(err ?? codedError(ErrorCode.BROKEN_PIPE, 'This socket has been destroyed'));
    callback(err);
  }

  /** @internal */
  [kPushData](data: Buffer | null): void {
    this.#timer?.refresh();
    if (data) this.#net.bytesRead += data.length;
    // a flowing stream with nothing buffered hands a chunk straight to its 'data' listeners
    // (node:http's parser): what push() would do, without its per-chunk read-more tick
    if (data !== null && this.readableFlowing === true && this.readableLength === 0 && this.readableEncoding === null && !this.destroyed) {
      this.emit('data', data);
      return;
    }
    if (!this.push(data) && data !== null && !this.#readStopped) {
      this.#readStopped = true;
      this.#listener.readStop(this.#id);
    }
  }

  /** @internal */
  [kDrained](): void {
    const cb = this.#drainCallback;
    this.#drainCallback = undefined;
    cb?.();
  }

  /** @internal */
  [kCoalesce](): void {
    if (!this.#closed) this.#listener.coalesce(this.#id);
  }

  /** @internal */
  [kPipe](): number {
    return this.#closed ? -1 : this.#listener.pipe(this.#id);
  }

  /** @internal the native connection is closed */
  [kClosed](err: Error | undefined): void {
    this.#closed = true;
    this.destroy(err);
  }
}
