// The addon's NativeListener (native/native_listener.h): a TCP listener on Node's libuv
// loop whose connections are accepted, handshaken (on an SslContextHandle's SSL_CTX), read,
// written and closed natively. Typed here, apart from native.ts, as the experimental
// connection path's own surface.
import { native, NativeContextHandle } from './native';

/** the first argument of the event callback (NativeListener::Event) */
export enum NativeListenerEvent {
  /** (id, reused): return true to receive the connection's data / end / close / drain */
  SECURE = 1,
  /** (id, error): the handshake failed, or the peer left before it finished */
  FAILED = 2,
  /** (id, plaintext) */
  DATA = 3,
  /** (id): close_notify or FIN from the peer */
  END = 4,
  /** (id, error | undefined) */
  CLOSE = 5,
  /** (id): the socket's write queue emptied after write() reported bytes queued */
  DRAIN = 6,
  /** (): the listener and every connection are closed */
  CLOSED = 7,
  /** (error): accepting failed */
  ERROR = 8,
  /** (id, ClientHello bytes, or what arrived when they are none): held until proceed(id[, context]) or refuse(id, alert) (options.hello) */
  HELLO = 9,
}

export type NativeListenerCallback = (event: NativeListenerEvent, id: number, arg: unknown) => boolean | undefined;

export interface NativeListenerAddress {
  address: string;
  family: string;
  port: number;
}

export interface NativeListenerOptions {
  noDelay: boolean;
  handshakeTimeout: number;
  /** the server's ALPN protocols, wire format, most preferred first */
  alpn?: Buffer;
  /** HELLO before OpenSSL reads a ClientHello (lib/tls/hello_gate.ts decides first) */
  hello?: boolean;
}

export interface NativePeerAddress {
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  localAddress?: string;
  localPort?: number;
}

export interface NativeConnectionInfo {
  reused: boolean;
  protocol: string;
  cipherName?: string;
  cipherVersion?: string;
  servername?: string;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  /** the protocol ALPN selected */
  alpnProtocol?: string;
}

export interface NativeListenerHandle {
  /** binds and listens; the bound address (throws an Error whose code is libuv's name) */
  listen(host: string, port: number, backlog: number): NativeListenerAddress;
  address(): NativeListenerAddress | null;
  /** stops accepting: false when not listening; CLOSED follows once nothing is open */
  close(): boolean;
  /** SSL_write + send: the bytes still queued on the socket, -1 when the connection is gone */
  write(id: number, data: Buffer): number;
  /** close_notify, then FIN once queued writes are out */
  end(id: number): void;
  destroy(id: number): void;
  readStop(id: number): void;
  readStart(id: number): void;
  /** OpenSSL reads the held ClientHello; with a context handle, the servername callback switches to it */
  proceed(id: number, context?: unknown): void;
  /** after HELLO: `alert` goes out instead of a handshake, then the connection closes */
  refuse(id: number, alert: Buffer): void;
  /** after HELLO: the ticket the held ClientHello offers is not decrypted */
  refuseTicket(id: number): void;
  /** the addresses of a connection (also one that is failing) */
  peer(id: number): NativePeerAddress | undefined;
  info(id: number): NativeConnectionInfo | undefined;
  /** connections open now */
  connections(): number;
  /** net.Server's ref() (true) / unref() (false) for the listener */
  ref(on: boolean): void;
}

interface WithListener {
  NativeListener: new (ctx: NativeContextHandle, onEvent: NativeListenerCallback, opts: NativeListenerOptions) => NativeListenerHandle;
}

/** a NativeListener over `ctx` */
/** `handshakeTimeout`: ms before a connection that is not secure fails (0: never) */
export function newNativeListener(ctx: NativeContextHandle, onEvent: NativeListenerCallback, opts: NativeListenerOptions): NativeListenerHandle {
  return new (native as unknown as WithListener).NativeListener(ctx, onEvent, opts);
}
