// The addon's NativeListener (native/native_listener.h): a TCP listener on Node's libuv
// loop whose connections are accepted, handshaken (on an SslContextHandle's SSL_CTX), read,
// written and closed natively. Typed here, apart from native.ts, as the experimental
// connection path's own surface.
import { native, NativeContextHandle, TlsQueryAnswers } from './native';

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
  /** (id): a full handshake finished, its last flight not sent yet: return true to hold it until release(id) (storeHooks' holdSteps) */
  STEP = 20,
  /** (id): handshake done, its last flight not sent (options.verifyPeer): return the Error that refuses the client (then FAILED with it), or undefined */
  VERIFY_PEER = 30,
  /** (id, NativeAddresses): accepted, while setNet({ connection: true }) (net.Server's 'connection') */
  CONNECTION = 60,
  /** (0, NativeAddresses): refused over maxConnections (net.Server's 'drop') */
  DROP = 61,
  /** (id, ClientHello bytes): observe(true): each whole ClientHello, before OpenSSL reads it */
  OBSERVED_HELLO = 40,
  /** (id): a connection that had OBSERVED_HELLO closed before it became secure */
  OBSERVED_GONE = 41,
}

export type NativeListenerCallback = (event: NativeListenerEvent, id: number, arg: unknown) => boolean | Error | undefined;

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
  /** the server's lowest protocol as a wire version (0x0301 = TLSv1), for screenHellos */
  minVersion?: number;
  /** SSL_VERIFY_* bits set on each connection (requestCert) */
  verifyMode?: number;
  /** VERIFY_PEER before a connection becomes secure (requestCert with rejectUnauthorized) */
  verifyPeer?: boolean;
  /** net.Server's keepAlive / keepAliveInitialDelay (seconds) at accept */
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** sessionOnUncleanClose: 'remove' (1.0.2's SSL_free rule) */
  removeUnclean?: boolean;
}

/** both ends of a TCP connection (net.Server's 'drop' data) */
export interface NativeAddresses {
  localAddress?: string;
  localPort?: number;
  localFamily?: string;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
}

/** a connection's TCP options as the kernel has them */
export interface NativeTcpState {
  noDelay: boolean;
  keepAlive: boolean;
  /** seconds before the first keep-alive probe (TCP_KEEPIDLE) */
  keepAliveDelay?: number;
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
  /** the cipher suite's IANA name */
  cipherStandardName?: string;
  servername?: string;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  /** the protocol ALPN selected */
  alpnProtocol?: string;
}

/** query(id, name, ...args): native/ssl_queries.h over the connection `id` */
export type NativeListenerQuery = <K extends keyof TlsQueryAnswers>(id: number, name: K, ...args: unknown[]) => TlsQueryAnswers[K] | undefined;
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
  /** after HELLO: `alert` goes out instead of a handshake, then the connection closes */
  refuse(id: number, alert: Buffer): void;
  /** the addresses of a connection (also one that is failing) */
  peer(id: number): NativePeerAddress | undefined;
  info(id: number): NativeConnectionInfo | undefined;
  /** HELLO for every ClientHello from now on (`hello`, only turned on); STEP after each full handshake (`holdSteps`) */
  storeHooks(hello: boolean, holdSteps: boolean): void;
  /** a step STEP held goes on: its last flight out, then SECURE (nothing for a gone connection) */
  release(id: number): void;
  /** a TLSSocket query of the connection (native/ssl_queries.h), undefined when it is gone */
  query: NativeListenerQuery;
  /** the connection's own end, undefined when it is gone */
  localAddress(id: number): NativeListenerAddress | undefined;
  /** the connection's writes are sent when the loop is about to wait for I/O (a connection node:http2 runs on) */
  coalesce(id: number): void;
  /** the connection's plaintext goes over a socketpair from now on: the fd of JS's end (JS owns it), -1 when it cannot (gone, not secure, ending, piped already, no socketpair) */
  pipe(id: number): number;
  /** connections open now */
  connections(): number;
  /** net.Server's ref() (true) / unref() (false) for the listener */
  ref(on: boolean): void;
  /** net.Server's maxConnections (negative or undefined: none); connection: report accepts (CONNECTION) */
  setNet(options: { maxConnections?: number; connection?: boolean }): void;
  /** net.Socket's setNoDelay / setKeepAlive on one connection (undefined leaves that one); false when gone */
  tcp(id: number, noDelay: boolean | undefined, keepAlive?: boolean, delaySeconds?: number): boolean;
  /** the kernel's TCP options of a connection (getsockopt); undefined when gone */
  tcpState(id: number): NativeTcpState | undefined;
  /** both ends' addresses of a connection; undefined when gone */
  addresses(id: number): NativeAddresses | undefined;
  /** the ticket the connection's ClientHello offers is not decrypted (call before OpenSSL reads the hello): false when the connection is gone */
  refuseTicket(id: number): boolean;
  /** undefined when the connection is gone */
  ticketInfo(id: number): NativeTicketInfo | undefined;
  /** OBSERVED_HELLO for the connections accepted from now on (true) or not */
  observe(on: boolean): void;
  /** with `on`, a ClientHello none of hello_policy.ts's rules can refuse goes to OpenSSL without HELLO (unless storeHooks asked for every hello) */
  screenHellos(on: boolean): void;
}

/**
 * The listener's hello screen over one ClientHello handshake message (4-byte header, then the
 * body): true when none of hello_policy.ts's rules can refuse it on a server whose lowest
 * protocol is `minVersion` (wire form) and whose ALPN list is `alpn` (wire form, empty: none).
 */
export function screenHello(message: Buffer, minVersion: number, alpn: Buffer): boolean {
  return (native as unknown as { NativeListener: { screenHello(m: Buffer, v: number, a: Buffer): boolean } }).NativeListener.screenHello(message, minVersion, alpn);
}

interface WithListener {
  NativeListener: new (ctx: NativeContextHandle, onEvent: NativeListenerCallback, opts: NativeListenerOptions) => NativeListenerHandle;
}

/** a NativeListener over `ctx` */
/** `handshakeTimeout`: ms before a connection that is not secure fails (0: never) */
export function newNativeListener(ctx: NativeContextHandle, onEvent: NativeListenerCallback, opts: NativeListenerOptions): NativeListenerHandle {
  return new (native as unknown as WithListener).NativeListener(ctx, onEvent, opts);
}
