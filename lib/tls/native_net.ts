// net.Server's and net.Socket's behaviour on the native connection path
// (native/native_listener_net.cc): the server's keepAlive / keepAliveInitialDelay / noDelay
// at accept, maxConnections and 'drop', getConnections(), the 'connection' event, and a
// connection's setNoDelay / setKeepAlive / bytesRead / bytesWritten.
//
// 'connection' differs from node:tls in what it hands over: there is no net.Socket on this
// path, so listeners get a NativeTcpSocket — the accepted TCP connection's addresses, its
// TCP options (setNoDelay / setKeepAlive set them on the connection; the flags node:net
// keeps under kSetNoDelay / kSetKeepAlive / kSetKeepAliveInitialDelay are kept the same
// way), destroy() (closes the connection, TLS included) and 'close'. It does not read or
// write: the TLS connection does, as node:tls's TLSSocket reads the TCP handle whatever the
// net.Socket's paused state (pause() / resume() / isPaused() are that state only).
import { lookup } from 'dns';
import { EventEmitter } from 'events';
import { isIP } from 'net';
import { constants as osConstants } from 'os';
import { codedError, ErrorCode } from '../common/coded_error';
import type { NativeAddresses, NativeListenerHandle, NativeTcpState } from '../openssl/native_listener';
import type { TlsServerOptions } from './tls_server';
import { debug } from './debug';

/** the fields node:net keeps for what it set on a socket's TCP handle (same names) */
export const kSetNoDelay = Symbol('kSetNoDelay');
export const kSetKeepAlive = Symbol('kSetKeepAlive');
export const kSetKeepAliveInitialDelay = Symbol('kSetKeepAliveInitialDelay');

/** the server options of this area, as the native listener takes them */
export interface NativeNetOptions {
  noDelay: boolean;
  keepAlive: boolean;
  /** seconds (node:net keeps the delay in seconds: ~~(ms / 1000)) */
  keepAliveInitialDelay: number;
  pauseOnConnect: boolean;
  allowHalfOpen: boolean;
  removeUnclean: boolean;
}

/** the options already checked by TlsServer's constructor */
export function nativeNetOptions(o: TlsServerOptions): NativeNetOptions {
  return {
    noDelay: o.noDelay === true,
    keepAlive: o.keepAlive === true,
    keepAliveInitialDelay: Math.trunc((o.keepAliveInitialDelay ?? 0) / 1000),
    pauseOnConnect: o.pauseOnConnect === true,
    allowHalfOpen: o.allowHalfOpen === true,
    removeUnclean: o.sessionOnUncleanClose === 'remove',
  };
}

/** net.Socket's setKeepAlive(enable, initialDelay ms) arguments, checked as node:net does */
function keepAliveArgs(enable: unknown, initialDelay: unknown): [boolean, number] {
  const delay = initialDelay === undefined ? 0 : Number(initialDelay);
  if (!Number.isFinite(delay) || delay < 0) throw new RangeError('setKeepAlive(enable, initialDelay): initialDelay must be a non-negative number of ms');
  return [Boolean(enable), Math.trunc(delay / 1000)];
}

/** a connection's TCP options and plaintext counters (NativeTlsSocket's net.Socket surface) */
export class NativeSocketNet {
  bytesRead = 0;
  bytesWritten = 0;
  readonly allowHalfOpen: boolean;
  [kSetNoDelay]: boolean;
  [kSetKeepAlive]: boolean;
  [kSetKeepAliveInitialDelay]: number;

  constructor(o: NativeNetOptions) {
    this.allowHalfOpen = o.allowHalfOpen;
    this[kSetNoDelay] = o.noDelay;
    this[kSetKeepAlive] = o.keepAlive;
    this[kSetKeepAliveInitialDelay] = o.keepAlive ? o.keepAliveInitialDelay : 0;
  }

  #addresses: NativeAddresses | undefined;

  /** both ends of connection `id`, asked once (they stay known after the close) */
  addresses(listener: NativeListenerHandle, id: number): NativeAddresses | undefined {
    this.#addresses ??= listener.addresses(id);
    return this.#addresses;
  }

  /** net.Socket#setNoDelay on connection `id` (node sets it only when it changes) */
  setNoDelay(listener: NativeListenerHandle, id: number, noDelay: unknown): void {
    const on = noDelay === undefined ? true : Boolean(noDelay);
    if (this[kSetNoDelay] === on) return;
    if (listener.tcp(id, on)) this[kSetNoDelay] = on;
  }

  /** net.Socket#setKeepAlive on connection `id` */
  setKeepAlive(listener: NativeListenerHandle, id: number, enable: unknown, initialDelay: unknown): void {
    const [on, delay] = keepAliveArgs(enable, initialDelay);
    if (this[kSetKeepAlive] === on && (!on || this[kSetKeepAliveInitialDelay] === delay)) return;
    if (listener.tcp(id, undefined, on, delay)) {
      this[kSetKeepAlive] = on;
      this[kSetKeepAliveInitialDelay] = delay;
    }
  }
}

/**
 * What net.Server's 'connection' listeners get on the native path: the accepted TCP
 * connection (see the top of this file for how it differs from a net.Socket).
 */
export class NativeTcpSocket extends EventEmitter {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly localFamily: string | undefined;
  readonly #listener: NativeListenerHandle;
  readonly #id: number;
  readonly #net: NativeSocketNet;
  #paused: boolean;
  #destroyed = false;
  #closed = false;

  /** @internal made by the server's native path */
  constructor(listener: NativeListenerHandle, id: number, addresses: NativeAddresses, net: NativeSocketNet, paused: boolean) {
    super();
    this.#listener = listener;
    this.#id = id;
    this.#net = net;
    this.#paused = paused;
    ({
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      remoteFamily: this.remoteFamily,
      localAddress: this.localAddress,
      localPort: this.localPort,
      localFamily: this.localFamily,
    } = addresses);
    // node:net's flags, read through to the connection's (shared with its NativeTlsSocket)
    for (const k of [kSetNoDelay, kSetKeepAlive, kSetKeepAliveInitialDelay] as const) {
      Object.defineProperty(this, k, { get: () => net[k], enumerable: false });
    }
  }

  get destroyed(): boolean {
    return this.#destroyed || this.#closed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** the kernel's TCP options of the connection (getsockopt); undefined once it is closed */
  get tcpState(): NativeTcpState | undefined {
    return this.#closed ? undefined : this.#listener.tcpState(this.#id);
  }

  setNoDelay(noDelay?: boolean): this {
    if (!this.destroyed) this.#net.setNoDelay(this.#listener, this.#id, noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    if (!this.destroyed) this.#net.setKeepAlive(this.#listener, this.#id, enable, initialDelay);
    return this;
  }

  isPaused(): boolean {
    return this.#paused;
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    this.#paused = false;
    return this;
  }

  /** closes the connection at once (its TLS connection too); 'close' follows */
  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.#destroyed = true;
    if (error) process.nextTick(() => this.emit('error', error));
    this.#listener.destroy(this.#id);
    return this;
  }

  /** the connection's end: destroy() (the TLS connection sends its close_notify when it ends itself) */
  destroySoon(): void {
    this.destroy();
  }

  /** net.Socket's ref() / unref(): accepted connections stay referenced on this path */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** @internal the native connection is closed */
  closedNatively(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close', false);
  }
}

/** net.Server's maxConnections as the native listener takes it: node:net compares the
 * connection count with any value that is not null or undefined (`count >= max`) */
export function maxConnectionsLimit(v: unknown): number {
  if (v === undefined || v === null) return -1;
  const n = Number(v);
  // a value no count reaches (NaN, a string that is no number) never drops; a negative one always does
  if (Number.isNaN(n)) return -1;
  return n < 0 ? 0 : Math.min(Math.ceil(n), 2 ** 31 - 1);
}

/** a NativeTlsSocket's own 'error' listener (the node path's TLSSocket has the server's) */
export function netErrorAfterSecure(err: Error): void {
  if (debug.enabled) debug('native socket error %s', err?.message);
}

/** listen()'s arguments on the native path */
export interface NativeListenArgs {
  port: number;
  host: string | undefined;
  backlog: number;
  signal: AbortSignal | undefined;
  callback: (() => void) | undefined;
}

/**
 * net.Server#listen's forms the native path serves: (port[, host][, backlog][, cb]) and
 * ({ port, host, backlog, signal, exclusive }). The native listener binds TCP in its own
 * process: a pipe or Unix socket (`path`, `readableAll`, `writableAll`), a handle or fd to
 * adopt, `ipv6Only` and `reusePort` are refused (ERR_TLS_OPTION_NOT_SUPPORTED); `exclusive`
 * is accepted as true only (it never shares a handle through cluster's primary).
 */
export function nativeListenArgs(args: unknown[]): NativeListenArgs {
  const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
  let port: unknown;
  let host: unknown;
  let backlog: unknown;
  let signal: unknown;
  const refuse = (what: string, why: string) => codedError(ErrorCode.OPTION_NOT_SUPPORTED, `listen(${what}) is not supported with connectionPath: 'native': ${why}`);
  if (args[0] !== null && typeof args[0] === 'object') {
    const o = args[0] as Record<string, unknown>;
    if (o.path !== undefined) throw refuse('{ path }', 'the native listener is TCP only');
    if (o.fd !== undefined || o.handle !== undefined || o._handle !== undefined) throw refuse('a handle or fd', 'the native listener binds its own TCP socket');
    for (const k of ['ipv6Only', 'readableAll', 'writableAll', 'reusePort']) {
      if (o[k] !== undefined && o[k] !== false) throw refuse(`{ ${k} }`, 'the native listener does not set it');
    }
    if (o.exclusive !== undefined && o.exclusive !== true) throw refuse('{ exclusive: false }', 'the native listener never shares its handle through cluster (it is always exclusive)');
    ({ port, host, backlog, signal } = o);
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('listen(): options.signal must be an AbortSignal');
  } else {
    [port, host, backlog] = args;
    if (typeof host === 'number') [host, backlog] = [undefined, host];
  }
  if (typeof port === 'string' && /^\d+$/.test(port)) port = Number(port);
  if (typeof port === 'string') throw refuse(`'${port}'`, 'a pipe name; the native listener is TCP only');
  if (port === undefined || port === null) port = 0;
  if (typeof port !== 'number' || !Number.isInteger(port)) throw new TypeError("listen(): the port must be an integer (TCP only with connectionPath: 'native')");
  if (port < 0 || port > 65535) throw new RangeError(`listen(): port must be 0..65535, got ${port}`);
  if (host !== undefined && host !== null && typeof host !== 'string') throw new TypeError('listen(): host must be a string');
  if (backlog !== undefined && (typeof backlog !== 'number' || !Number.isInteger(backlog) || backlog < 0)) throw new TypeError('listen(): backlog must be a non-negative integer');
  return { port, host: (host as string | null | undefined) || undefined, backlog: (backlog as number | undefined) ?? 511, signal: signal as AbortSignal | undefined, callback };
}

/** the address to bind for `host`: an IP or none at once, a name through dns.lookup (as net.Server) */
export function lookupListenHost(host: string | undefined, callback: (err: Error | null, address: string | undefined) => void): void {
  if (host === undefined || isIP(host) !== 0) {
    callback(null, host);
    return;
  }
  lookup(host, (err, address) => callback(err, err ? undefined : address));
}

/** listen({ signal }): the signal's abort closes the server (net.Server's rule: already aborted closes it after listening) */
export function abortCloses(server: EventEmitter & { close(): unknown }, signal: AbortSignal): void {
  const onAbort = () => server.close();
  if (signal.aborted) {
    server.once('listening', onAbort);
    return;
  }
  signal.addEventListener('abort', onAbort, { once: true });
  server.once('close', () => signal.removeEventListener('abort', onAbort));
}

/** a failed bind as net.Server reports it: syscall 'listen', the address and port, errno */
export function listenError(err: Error, host: string | undefined, port: number): Error {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (typeof e.code !== 'string' || !e.code.startsWith('E')) return err;
  const errno = (osConstants.errno as Record<string, number | undefined>)[e.code];
  if (errno !== undefined) e.errno = -errno;
  e.syscall = 'listen';
  if (host !== undefined) e.address = host;
  e.port = port;
  return e;
}
