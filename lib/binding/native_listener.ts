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
  /** (id, ClientHello bytes): held until proceed(id[, context]) (options.hello) */
  HELLO = 9,
  /** (id, ClientHello bytes): observe(true): each whole ClientHello, before OpenSSL reads it */
  OBSERVED_HELLO = 40,
  /** (id): a connection that had OBSERVED_HELLO closed before it became secure */
  OBSERVED_GONE = 41,
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
  /** HELLO before OpenSSL reads a ClientHello (the SNICallback decides the context first) */
  hello?: boolean;
}

export interface NativeConnectionInfo {
  reused: boolean;
  protocol: string;
  cipherName?: string;
  cipherVersion?: string;
  /** the cipher suite's IANA name */
  cipherStandardName?: string;
  servername?: string;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  /** the protocol ALPN selected */
  alpnProtocol?: string;
}

/** ticketInfo(id): what the connection's SSL did with tickets */
export interface NativeTicketInfo {
  /** the ticket key callback's answer to the offered ticket (absent when it decrypted none) */
  key?: 'current' | 'previous' | 'unknown' | 'refused';
  /** SHA-256 of the ticket the server sent (absent when none) */
  ticketId?: Buffer;
  /** the session's id (absent when empty) */
  sessionId?: Buffer;
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
  info(id: number): NativeConnectionInfo | undefined;
  /** connections open now */
  connections(): number;
  /** net.Server's ref() (true) / unref() (false) for the listener */
  ref(on: boolean): void;
  /** the ticket the connection's ClientHello offers is not decrypted (call before OpenSSL reads the hello): false when the connection is gone */
  refuseTicket(id: number): boolean;
  /** undefined when the connection is gone */
  ticketInfo(id: number): NativeTicketInfo | undefined;
  /** OBSERVED_HELLO for the connections accepted from now on (true) or not */
  observe(on: boolean): void;
}

interface WithListener {
  NativeListener: new (ctx: NativeContextHandle, onEvent: NativeListenerCallback, opts: NativeListenerOptions) => NativeListenerHandle;
}

/** a NativeListener over `ctx` */
/** `handshakeTimeout`: ms before a connection that is not secure fails (0: never) */
export function newNativeListener(ctx: NativeContextHandle, onEvent: NativeListenerCallback, opts: NativeListenerOptions): NativeListenerHandle {
  return new (native as unknown as WithListener).NativeListener(ctx, onEvent, opts);
}
