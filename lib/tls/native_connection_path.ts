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
import { NativeObservation, NativeTicketHooks } from './native_observe';

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
  pauseOnConnect: { allowed: [false], why: 'there is no net.Socket to pause' },
  keepAlive: { allowed: [false], why: 'SO_KEEPALIVE is not set natively yet' },
  keepAliveInitialDelay: { allowed: [0], why: 'SO_KEEPALIVE is not set natively yet' },
  allowHalfOpen: { allowed: [false], why: 'a NativeTlsSocket ends its side after the peer\'s end' },
  sessionOnUncleanClose: { allowed: ['keep'], why: 'a native connection always keeps its session' },
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
  tickets?: NativeTicketHooks,
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
  const path = new NativeConnectionPath(server, server.context, o.noDelay === true, server.handshakeTimeout, alpnWire(o.ALPNProtocols, 'options.ALPNProtocols'), o.SNICallback ? sni : undefined);
  path.observation = new NativeObservation(server, server.context, tickets);
  return path;
}

interface ListenArgs {
  port: number;
  host: string | undefined;
  backlog: number;
  callback: (() => void) | undefined;
}

function listenArgs(args: unknown[]): ListenArgs {
  const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
  let port: unknown;
  let host: unknown;
  let backlog: unknown;
  if (args[0] !== null && typeof args[0] === 'object') {
    const o = args[0] as Record<string, unknown>;
    if (o.path !== undefined) throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, "listen({ path }) is not supported with connectionPath: 'native' (TCP only)");
    for (const k of ['exclusive', 'ipv6Only', 'signal', 'readableAll', 'writableAll', 'reusePort']) {
      if (o[k] !== undefined) throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, `listen({ ${k} }) is not supported with connectionPath: 'native'`);
    }
    ({ port, host, backlog } = o);
  } else {
    [port, host, backlog] = args;
    if (typeof host === 'number') [host, backlog] = [undefined, host];
  }
  if (typeof port === 'string' && /^\d+$/.test(port)) port = Number(port);
  if (port === undefined || port === null) port = 0;
  if (typeof port !== 'number' || !Number.isInteger(port)) throw new TypeError('listen(): the port must be an integer (TCP only with connectionPath: \'native\')');
  if (port < 0 || port > 65535) throw new RangeError(`listen(): port must be 0..65535, got ${port}`);
  if (host !== undefined && host !== null && typeof host !== 'string') throw new TypeError('listen(): host must be a string');
  if (backlog !== undefined && (typeof backlog !== 'number' || !Number.isInteger(backlog) || backlog < 0)) throw new TypeError('listen(): backlog must be a non-negative integer');
  return { port, host: (host as string | null | undefined) ?? undefined, backlog: (backlog as number | undefined) ?? 511, callback };
}

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** a TlsServer's native listener and the NativeTlsSockets of its connections */
export class NativeConnectionPath {
  readonly #server: TlsServer;
  readonly #context: SslContext;
  readonly #noDelay: boolean;
  readonly #handshakeTimeout: number;
  readonly #alpn: Buffer | undefined;
  readonly #sni: ((servername: string) => Promise<SslContext | undefined>) | undefined;
  #listener: NativeListenerHandle | undefined;
  #listening = false;
  #ref = true;
  readonly #sockets = new Map<number, NativeTlsSocket>();
  /** tickets and observability (lib/tls/native_observe.ts) */
  observation: NativeObservation | undefined;

  constructor(
    server: TlsServer,
    context: SslContext,
    noDelay: boolean,
    handshakeTimeout: number,
    alpn: Buffer | undefined,
    sni: ((servername: string) => Promise<SslContext | undefined>) | undefined,
  ) {
    this.#server = server;
    this.#alpn = alpn;
    this.#sni = sni;
    this.#context = context;
    this.#noDelay = noDelay;
    this.#handshakeTimeout = handshakeTimeout;
  }

  get listening(): boolean {
    return this.#listening;
  }

  listen(args: unknown[]): void {
    const a = listenArgs(args);
    if (this.#listener) throw codedError(ErrorCode.SERVER_ALREADY_LISTEN, 'Listen method has been called more than once without closing.');
    if (this.#server.listenerCount('resumeSession') > 0 || this.#server.listenerCount('newSession') > 0) {
      throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, "'newSession' / 'resumeSession' listeners are not supported with connectionPath: 'native' yet");
    }
    const l = openNativeListener(this.#context, (event, id, arg) => this.#onEvent(event, id, arg), { noDelay: this.#noDelay, handshakeTimeout: this.#handshakeTimeout, alpn: this.#alpn, hello: this.#sni !== undefined });
    if (a.callback) this.#server.once('listening', a.callback);
    try {
      try {
        l.listen(a.host ?? '::', a.port, a.backlog);
      } catch (e) {
        // no IPv6 here: the IPv4 any address, as net.Server does
        if (a.host !== undefined) throw e;
        l.listen('0.0.0.0', a.port, a.backlog);
      }
    } catch (e) {
      process.nextTick(() => this.#server.emit('error', toError(e)));
      return;
    }
    if (!this.#ref) l.ref(false);
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

  // the socket of a connection that failed before it became secure, for the messages that
  // name one (already closed: its queries answer as for a closed socket)
  #closedSocket(id: number): NativeTlsSocket {
    const s = new NativeTlsSocket(this.#listener!, id, false);
    s[kClosed](undefined);
    return s;
  }

  #onEvent(event: NativeListenerEvent, id: number, arg: unknown): boolean {
    const server = this.#server;
    switch (event) {
      case NativeListenerEvent.SECURE: {
        // the handshake's events and a get callback's exception, before 'secureConnection'
        const failure = settleNativeHandshakes(this.#context);
        if (failure) {
          this.#listener?.destroy(id);
          this.observation?.failed(id, toError(failure.error), () => this.#closedSocket(id));
          server.emit('tlsClientError', toError(failure.error), undefined);
          return false;
        }
        const streamed = server.listenerCount('secureConnection') > 0;
        // nobody to hand the connection to: it stays native (read, discarded, closed)
        if (!streamed && !this.observation?.wantsSocket(id)) return false;
        const socket = new NativeTlsSocket(this.#listener!, id, arg === true);
        this.observation?.secure(id, socket);
        if (!streamed || this.#listener === undefined) return false;
        this.#sockets.set(id, socket);
        server.emit('secureConnection', socket as never);
        return true;
      }
      case NativeListenerEvent.HELLO:
        this.#hello(id, arg as Buffer);
        return false;
      case NativeListenerEvent.FAILED:
        settleNativeHandshakes(this.#context);
        this.observation?.failed(id, toError(arg), () => this.#closedSocket(id));
        server.emit('tlsClientError', toError(arg), undefined);
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
  /** with tickets on: the id a client will offer with the ticket this connection issued
   * (SHA-256 of the ticket), for server.revoke(); undefined when none was issued */
  ticketId: Buffer | undefined;
  #info: NativeConnectionInfo | undefined;
  #closed = false;
  #readStopped = false;
  #drainCallback: ((err?: Error | null) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** @internal made by the server's native path */
  constructor(listener: NativeListenerHandle, id: number, reused: boolean) {
    super({ allowHalfOpen: false });
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

  getCipher(): { name: string; standardName: string; version: string } | undefined {
    const d = this.#details();
    return d?.cipherName ? { name: d.cipherName, standardName: d.cipherStandardName || d.cipherName, version: d.cipherVersion ?? '' } : undefined;
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

  /** TCP_NODELAY is the server's noDelay option on this path: per-socket calls change nothing */
  setNoDelay(): this {
    return this;
  }

  /** SO_KEEPALIVE is not set on this path (the server refuses keepAlive) */
  setKeepAlive(): this {
    return this;
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
