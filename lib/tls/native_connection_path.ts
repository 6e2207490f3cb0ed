// The native connection path of a TlsServer (createServer({ connectionPath: 'native' }),
// experimental): connections are accepted, read, handshaken, written and closed in native
// code on Node's own libuv loop (native/native_listener.h), on the server's SSL_CTX, so its
// session cache and native callbacks work as on the Node-socket path. JS hears of a
// connection once when it becomes secure ('secureConnection', with a NativeTlsSocket) or
// fails ('tlsClientError'); a secure connection's plaintext then flows through the
// NativeTlsSocket (a Duplex: writes go to SSL_write natively, reads are pushed from
// SSL_read), which node:http accepts through its 'connection' event.
//
// No net.Socket and no TLSSocket exist per connection: what that removes and what it costs
// is measured in bench/NOTES.md ("Native connection path"). What the path does not do yet is
// refused at construction or listen() (nativeConnectionPath below).
import { Duplex } from 'stream';
import { codedError, ErrorCode } from '../common/coded_error';
import { NativeConnectionInfo, NativeListenerEvent, NativeListenerHandle, openNativeListener, proceedNativeHello, settleNativeHandshakes } from '../openssl/native_listener';
import { ClientHelloParser } from './client_hello_parser';
import type { SslContext } from '../openssl/ssl_context';
import { alpnWire } from './alpn';
import type { TlsServer, TlsServerOptions } from './tls_server';
import { abortCloses, listenError, lookupListenHost, maxConnectionsLimit, NativeListenArgs, nativeListenArgs, NativeNetOptions, nativeNetOptions, netErrorAfterSecure, NativeSocketNet, NativeTcpSocket } from './native_net';
import type { NativeAddresses } from '../openssl/native_listener';

/** how a TlsServer's connections are run: Node sockets and TLSSockets ('node', the default) or natively ('native', experimental) */
export type ConnectionPath = 'node' | 'native';

/** the options the native path does not implement yet: their values it matches anyway, and why the rest is refused */
const NATIVE_REFUSED: Record<string, { allowed?: unknown[]; why: string }> = {
  sessionStore: { why: 'the store prefetch (ClientHello read before OpenSSL) runs on TLSSockets only' },
  sessionStoreTimeout: { why: 'there is no session store on this path' },
  sessionStoreConcurrency: { why: 'there is no session store on this path' },
  sessionStoreNegativeCacheSize: { why: 'there is no session store on this path' },
  sessionStoreNegativeCacheTtl: { why: 'there is no session store on this path' },
  requestCert: { allowed: [false], why: 'client certificates are checked on TLSSockets only' },
  rejectUnauthorized: { allowed: [true], why: 'client certificates are checked on TLSSockets only' },
  ticketKeys: { why: 'ticket renewal and revocation are tracked on TLSSockets only' },
  previousTicketKeys: { allowed: [0], why: 'ticket renewal and revocation are tracked on TLSSockets only' },
};

/** the environment variable that sets the default of `connectionPath` (for running an application or a test suite on the other path without code changes) */
export const CONNECTION_PATH_ENV = 'OPENSSL_SESSION_CACHE_CONNECTION_PATH';

/** the default of `connectionPath`: the environment's choice, else 'node' */
export function defaultConnectionPath(): ConnectionPath {
  const v = process.env[CONNECTION_PATH_ENV];
  if (v === undefined || v === '') return 'node';
  if (v !== 'node' && v !== 'native') throw new TypeError(`${CONNECTION_PATH_ENV} must be 'node' or 'native', got ${JSON.stringify(v)}`);
  return v;
}

/**
 * The native path of `server` when `o.connectionPath` (or, without it, the default) is
 * 'native' (undefined for 'node'). Throws TypeError for another value and
 * ERR_TLS_OPTION_NOT_SUPPORTED for an option the native path does not implement yet.
 */
export function nativeConnectionPath(
  server: TlsServer,
  o: TlsServerOptions,
  sni: (servername: string) => Promise<SslContext | undefined>,
): NativeConnectionPath | undefined {
  const p = o.connectionPath ?? defaultConnectionPath();
  if (p === 'node') return undefined;
  if (p !== 'native') throw new TypeError("options.connectionPath must be 'node' or 'native'");
  for (const [name, rule] of Object.entries(NATIVE_REFUSED)) {
    const v = (o as Record<string, unknown>)[name];
    if (v === undefined || rule.allowed?.includes(v)) continue;
    throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, `options.${name} is not supported with connectionPath: 'native' yet: ${rule.why}`);
  }
  if (o.SNICallback !== undefined && o.context !== undefined) {
    // the servername callback is one per SSL_CTX: a context other servers share would answer for both paths
    throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, "options.SNICallback with a shared options.context is not supported with connectionPath: 'native'");
  }
  if (o.ALPNProtocols !== undefined && o.context !== undefined) {
    // ALPN selection is one callback per SSL_CTX: a context other servers share would answer for both paths
    throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, "options.ALPNProtocols with a shared options.context is not supported with connectionPath: 'native'");
  }
  return new NativeConnectionPath(server, server.context, nativeNetOptions(o), server.handshakeTimeout, alpnWire(o.ALPNProtocols, 'options.ALPNProtocols'), o.SNICallback ? sni : undefined);
}

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** a TlsServer's native listener and the NativeTlsSockets of its connections */
export class NativeConnectionPath {
  readonly #server: TlsServer;
  readonly #context: SslContext;
  readonly #net: NativeNetOptions;
  readonly #handshakeTimeout: number;
  readonly #alpn: Buffer | undefined;
  readonly #sni: ((servername: string) => Promise<SslContext | undefined>) | undefined;
  #listener: NativeListenerHandle | undefined;
  #listening = false;
  #ref = true;
  readonly #sockets = new Map<number, NativeTlsSocket>();

  constructor(
    server: TlsServer,
    context: SslContext,
    net: NativeNetOptions,
    handshakeTimeout: number,
    alpn: Buffer | undefined,
    sni: ((servername: string) => Promise<SslContext | undefined>) | undefined,
  ) {
    this.#server = server;
    this.#alpn = alpn;
    this.#sni = sni;
    this.#context = context;
    this.#net = net;
    this.#handshakeTimeout = handshakeTimeout;
    this.#netSurface();
  }

  get listening(): boolean {
    return this.#listening;
  }

  listen(args: unknown[]): void {
    const a = nativeListenArgs(args);
    if (this.#listening || this.#binding) throw codedError(ErrorCode.SERVER_ALREADY_LISTEN, 'Listen method has been called more than once without closing.');
    if (this.#server.listenerCount('resumeSession') > 0 || this.#server.listenerCount('newSession') > 0) {
      throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, "'newSession' / 'resumeSession' listeners are not supported with connectionPath: 'native' yet");
    }
    // a listener closed whose connections are still open listens again (net.Server's rule: 'close' waits for them and the next close())
    const l =
      this.#listener ??
      openNativeListener(this.#context, (event, id, arg) => this.#onEvent(event, id, arg), { noDelay: this.#net.noDelay, keepAlive: this.#net.keepAlive, keepAliveInitialDelay: this.#net.keepAliveInitialDelay, removeUnclean: this.#net.removeUnclean, handshakeTimeout: this.#handshakeTimeout, alpn: this.#alpn, hello: this.#sni !== undefined });
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
      if (event === 'connection') this.#listener?.setNet({ connection: true });
    });
    server.on('removeListener', (event: string | symbol) => {
      if (event === 'connection') this.#listener?.setNet({ connection: server.listenerCount('connection') > 0 });
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

  // the SNICallback's context for the ClientHello's server name, then OpenSSL reads the hello;
  // a callback that fails fails the connection ('tlsClientError' with its error)
  #hello(id: number, bytes: Buffer): void {
    const listener = this.#listener;
    if (!listener) return;
    const servername = new ClientHelloParser({ extensions: true }).push(bytes)?.servername;
    if (servername === undefined || !this.#sni) {
      proceedNativeHello(listener, id, undefined);
      return;
    }
    this.#sni(servername).then(
      (ctx) => proceedNativeHello(listener, id, ctx),
      (e: unknown) => {
        listener.destroy(id);
        this.#server.emit('tlsClientError', toError(e), undefined);
      },
    );
  }

  #onEvent(event: NativeListenerEvent, id: number, arg: unknown): boolean {
    const server = this.#server;
    switch (event) {
      case NativeListenerEvent.SECURE: {
        // the handshake's events and a get callback's exception, before 'secureConnection'
        const failure = settleNativeHandshakes(this.#context);
        if (failure) {
          this.#listener?.destroy(id);
          server.emit('tlsClientError', toError(failure.error), undefined);
          return false;
        }
        // nobody to hand the connection to: it stays native (read, discarded, closed)
        if (server.listenerCount('secureConnection') === 0) return false;
        const socket = new NativeTlsSocket(this.#listener!, id, arg === true, this.#netOf(id));
        this.#sockets.set(id, socket);
        // as the node path's TLSSocket: an error after the handshake closes the socket, and
        // is the socket's listeners' to hear, never an uncaught one
        socket.on('error', netErrorAfterSecure);
        server.emit('secureConnection', socket as never);
        return true;
      }
      case NativeListenerEvent.HELLO:
        this.#hello(id, arg as Buffer);
        return false;
      case NativeListenerEvent.FAILED:
        settleNativeHandshakes(this.#context);
        server.emit('tlsClientError', toError(arg), undefined);
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

/**
 * A secure connection of the native path: a Duplex of plaintext (writes are SSL_write and
 * sent natively; reads are what native SSL_read pushed), with the TLSSocket queries a server
 * needs (isSessionReused, getProtocol, getCipher, remoteAddress, setTimeout for node:http).
 */
export class NativeTlsSocket extends Duplex {
  readonly encrypted = true;
  /** servers of the native path do not ask for client certificates */
  readonly authorized = false;
  readonly authorizationError = null;
  readonly #listener: NativeListenerHandle;
  readonly #id: number;
  readonly #reused: boolean;
  #info: NativeConnectionInfo | undefined;
  #closed = false;
  #readStopped = false;
  #drainCallback: ((err?: Error | null) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** @internal made by the server's native path */
  constructor(listener: NativeListenerHandle, id: number, reused: boolean, net: NativeSocketNet) {
    super({ allowHalfOpen: net.allowHalfOpen });
    this.#net = net;
    this.#listener = listener;
    this.#id = id;
    this.#reused = reused;
  }

  #details(): NativeConnectionInfo | undefined {
    if (this.#info === undefined && !this.#closed) this.#info = this.#listener.info(this.#id);
    return this.#info;
  }

  isSessionReused(): boolean {
    return this.#reused;
  }

  getProtocol(): string | null {
    return this.#details()?.protocol ?? null;
  }

  getCipher(): { name: string; version: string } | undefined {
    const d = this.#details();
    return d?.cipherName ? { name: d.cipherName, version: d.cipherVersion ?? '' } : undefined;
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

  get localAddress(): string | undefined {
    return this.#net.addresses(this.#listener, this.#id)?.localAddress;
  }

  get localPort(): number | undefined {
    return this.#net.addresses(this.#listener, this.#id)?.localPort;
  }

  get localFamily(): string | undefined {
    return this.#net.addresses(this.#listener, this.#id)?.localFamily;
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

  /** @internal the native connection is closed */
  [kClosed](err: Error | undefined): void {
    this.#closed = true;
    this.destroy(err);
  }
}
