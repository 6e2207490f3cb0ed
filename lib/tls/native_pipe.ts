// A native connection's plaintext as a net.Socket on a native stream handle
// (native/native_listener_pipe.cc): node:http2 consumes a socket whose handle is a libuv
// stream in C++, where a JS Duplex (NativeTlsSocket) needs its JS stream wrapper (every read
// and write between JS and C++, a write complete a loop turn later). The native listener
// makes an AF_UNIX socketpair and pumps between its end and the TLS connection; JS opens the
// other end as a net.Socket (a Pipe handle) and shows on it the TLS socket's surface, as
// node:http2 shows a node:tls socket's (remote address of the TCP peer, certificate, cipher,
// resumption, setNoDelay / setKeepAlive on the TCP connection).
//
// Lifetimes: the NativeTlsSocket stays the connection (its queries, 'close', destroy()
// closing everything). The pipe socket's end (or destroy()) ends the TLS connection cleanly
// (close_notify, then FIN); the peer's close_notify or FIN is the pipe socket's 'end'; the
// connection's close closes the native end (the pipe socket reads what was written, then its
// end), and an error that closed it destroys the pipe socket with that error.
import { closeSync } from 'fs';
import * as net from 'net';
import { toError } from '../common/to_error';
import { NativeTlsSocket, nativePlaintextPipe } from './native_connection_path';

/** the TLS socket surface that node:http2 shows on `session.socket` / `req.socket` */
export const TLS_PROPERTIES = ['encrypted', 'alpnProtocol', 'authorized', 'authorizationError', 'servername', 'remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort', 'localFamily'];
export const TLS_METHODS = ['getPeerCertificate', 'getCertificate', 'getCipher', 'getProtocol', 'getSession', 'getSslSession', 'isSessionReused', 'getTLSTicket', 'getFinished', 'getPeerFinished', 'getEphemeralKeyInfo', 'getSharedSigalgs', 'exportKeyingMaterial'];

/** TLS_PROPERTIES' value on a TLS socket (else its TCP socket's) */
function surfaceValue(tls: object, name: string): unknown {
  const source = tls as Record<string, unknown>;
  // a TLSSocket's TCP socket (a NativeTlsSocket has none: the properties are its own)
  const v = name in source ? source[name] : ((tls as { socket?: unknown }).socket as Record<string, unknown> | undefined)?.[name];
  return name === 'servername' ? (v ?? false) : v;
}

/** defines TLS_PROPERTIES (read from `tls`, else its TCP socket) and TLS_METHODS (bound to `tls`) on `target` */
export function showTlsSurface(target: object, tls: object): void {
  for (const name of TLS_PROPERTIES) Object.defineProperty(target, name, { get: () => surfaceValue(tls, name), configurable: true });
  for (const name of TLS_METHODS) {
    const f = (tls as Record<string, unknown>)[name];
    if (typeof f === 'function') Object.defineProperty(target, name, { value: f.bind(tls), configurable: true, writable: true });
  }
}

const kTls = Symbol('tls');

/** the net.Socket over the JS end of a connection's socketpair, with its NativeTlsSocket's surface */
export class PlaintextSocket extends net.Socket {
  readonly [kTls]: NativeTlsSocket;

  constructor(fd: number, tls: NativeTlsSocket) {
    super({ fd, readable: true, writable: true });
    this[kTls] = tls;
  }

  /** TCP_NODELAY on the TCP connection, not the pipe */
  override setNoDelay(noDelay?: boolean): this {
    this[kTls].setNoDelay(noDelay);
    return this;
  }

  /** SO_KEEPALIVE on the TCP connection, not the pipe */
  override setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this[kTls].setKeepAlive(enable, initialDelay);
    return this;
  }
}
// the TLS surface, once on the prototype (over net.Socket's own remoteAddress, ... of the pipe)
for (const name of TLS_PROPERTIES) {
  Object.defineProperty(PlaintextSocket.prototype, name, {
    get(this: PlaintextSocket) {
      return surfaceValue(this[kTls], name);
    },
    configurable: true,
  });
}
for (const name of TLS_METHODS) {
  Object.defineProperty(PlaintextSocket.prototype, name, {
    value(this: PlaintextSocket, ...args: unknown[]) {
      const f = (this[kTls] as unknown as Record<string, unknown>)[name];
      return typeof f === 'function' ? (f as (...a: unknown[]) => unknown).apply(this[kTls], args) : undefined;
    },
    configurable: true,
    writable: true,
  });
}

/**
 * The socket that carries `tls`'s plaintext from now on: undefined when the connection
 * cannot have one (it stays the Duplex), null when opening the socket failed (`tls` is
 * destroyed with the error).
 */
export function plaintextSocket(tls: NativeTlsSocket): PlaintextSocket | null | undefined {
  const fd = nativePlaintextPipe(tls);
  if (fd < 0) return undefined;
  let socket: PlaintextSocket;
  try {
    socket = new PlaintextSocket(fd, tls);
  } catch (e) {
    closeSync(fd);
    tls.destroy(toError(e));
    return null;
  }
  // the plaintext the TLS socket counts is the pipe's now
  Object.defineProperty(tls, 'bytesRead', { get: () => socket.bytesRead, configurable: true });
  Object.defineProperty(tls, 'bytesWritten', { get: () => socket.bytesWritten, configurable: true });
  tls.once('close', () => {
    const err = tls.errored;
    if (err && !socket.destroyed) socket.destroy(err);
  });
  return socket;
}
