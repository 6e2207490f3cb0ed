// HTTPS and HTTP/2 over OpenSSL 1.0.2: node:http and node:http2 servers fed with our
// TLSSockets (NativeTlsSockets on the native connection path). ALPN picks the protocol: 'h2' goes to an http2 server (on the
// native path over a native stream handle, lib/tls/native_pipe.ts; else Node wraps our stream; the session is then shown as
// the TLS session it is), 'http/1.1' or no ALPN to an
// http server. The server users hold is the TlsServer that listens; it is also what
// https.Server / http2.Http2SecureServer are to frameworks:
//  - node:http's options (headersTimeout, requestTimeout, keepAliveTimeout, maxHeaderSize,
//    …) configure the inner http server, and its properties (timeout, headersTimeout, …)
//    and methods (setTimeout, closeAllConnections, closeIdleConnections) are the outer
//    server's, read and written through;
//  - the inner servers' events ('request', 'upgrade', 'clientError', 'checkContinue',
//    'session', 'sessionError', 'timeout', …) are emitted on the outer server, and node's
//    own decisions that depend on listeners (no 'upgrade' listener: the socket is
//    destroyed; no 'clientError' listener: a 400) count the outer server's listeners;
//  - the outer server's 'listening' is the inner http server's 'listening': node:http
//    starts its connection tracking then (headersTimeout / requestTimeout checks, the
//    idle/active lists that closeIdleConnections uses), and close() closes idle
//    keep-alive connections first, as https.Server does (Node ≥ 19).
import * as http from 'http';
import * as http2 from 'http2';
import type * as net from 'net';
import type * as stream from 'stream';
import type { EventListener } from '../common/typed_events';
import type { TlsServerEvents } from './tls_server';
import { createServer, TlsServer, TlsServerOptions } from './tls_server';
import { coalesceNativeWrites, NativeTlsSocket } from './native_connection_path';
import { PlaintextSocket, plaintextSocket, showTlsSurface } from './native_pipe';
import type { TLSSocket } from './tls_socket';
import { debug } from './debug';

/** node:http's per-server options (http.ServerOptions) that the HTTPS servers take */
const HTTP_OPTIONS = [
  'IncomingMessage',
  'ServerResponse',
  'requestTimeout',
  'headersTimeout',
  'keepAliveTimeout',
  'connectionsCheckingInterval',
  'maxHeaderSize',
  'insecureHTTPParser',
  'requireHostHeader',
  'joinDuplicateHeaders',
  'rejectNonStandardBodyWrites',
  'uniqueHeaders',
] as const;

/** node:http's server options, as http.createServer takes them */
export interface HttpServerOptions {
  IncomingMessage?: http.ServerOptions['IncomingMessage'];
  ServerResponse?: http.ServerOptions['ServerResponse'];
  requestTimeout?: number;
  headersTimeout?: number;
  keepAliveTimeout?: number;
  connectionsCheckingInterval?: number;
  maxHeaderSize?: number;
  insecureHTTPParser?: boolean;
  requireHostHeader?: boolean;
  joinDuplicateHeaders?: boolean;
  rejectNonStandardBodyWrites?: boolean;
  uniqueHeaders?: http.ServerOptions['uniqueHeaders'];
}

/** createHttpsServer's options: node:tls's (TlsServerOptions) and node:http's */
export interface HttpsServerOptions extends TlsServerOptions, HttpServerOptions {}

/** node:http's server properties, read and written through to the inner http server */
const HTTP_PROPERTIES = [
  'timeout',
  'keepAliveTimeout',
  'headersTimeout',
  'requestTimeout',
  'maxHeadersCount',
  'maxRequestsPerSocket',
  'maxHeaderSize',
  'insecureHTTPParser',
  'requireHostHeader',
  'joinDuplicateHeaders',
  'rejectNonStandardBodyWrites',
  'connectionsCheckingInterval',
  'httpAllowHalfOpen',
] as const;

/** the events node:http emits on its server, emitted on the outer server */
const HTTP_EVENTS = ['request', 'upgrade', 'connect', 'clientError', 'checkContinue', 'checkExpectation', 'dropRequest', 'timeout'];

/** node:http's timeouts and connection management (both servers) */
export interface HttpConnectionSurface {
  /** socket inactivity timeout, ms (0: none) */
  timeout: number;
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  setTimeout(msecs?: number, callback?: (socket: net.Socket) => void): this;
  setTimeout(callback: (socket: net.Socket) => void): this;
  /** destroys every HTTP/1.1 connection */
  closeAllConnections(): void;
  /** destroys the HTTP/1.1 connections that are not sending a request or waiting for a response */
  closeIdleConnections(): void;
}

/** node:http's server surface (what http.Server has beyond net.Server) */
export interface HttpServerSurface extends HttpConnectionSurface {
  maxHeadersCount: number | null;
  maxRequestsPerSocket: number | null;
}

/** The events of an HttpsServer: node:tls's, and node:http's server events */
export interface HttpsServerEvents extends TlsServerEvents {
  request: [req: http.IncomingMessage, res: http.ServerResponse];
  upgrade: [req: http.IncomingMessage, socket: stream.Duplex, head: Buffer];
  connect: [req: http.IncomingMessage, socket: stream.Duplex, head: Buffer];
  clientError: [err: Error, socket: stream.Duplex];
  checkContinue: [req: http.IncomingMessage, res: http.ServerResponse];
  checkExpectation: [req: http.IncomingMessage, res: http.ServerResponse];
  dropRequest: [req: http.IncomingMessage, socket: stream.Duplex];
  timeout: [socket: stream.Duplex];
}

/** The events of an Http2SecureServer: node:tls's, node:http2's and (allowHTTP1) node:http's */
export interface Http2SecureServerEvents extends TlsServerEvents {
  request: [req: http2.Http2ServerRequest, res: http2.Http2ServerResponse];
  stream: [stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]];
  session: [session: http2.ServerHttp2Session];
  sessionError: [err: Error, session: http2.ServerHttp2Session];
  checkContinue: [req: http2.Http2ServerRequest, res: http2.Http2ServerResponse];
  /** a connection that negotiated neither h2 nor (allowHTTP1) http/1.1 */
  unknownProtocol: [socket: TLSSocket];
  /** a session (or, allowHTTP1, an HTTP/1.1 socket) timed out */
  timeout: [session?: http2.ServerHttp2Session | stream.Duplex];
  clientError: [err: Error, socket: stream.Duplex];
  upgrade: [req: http.IncomingMessage, socket: stream.Duplex, head: Buffer];
  connect: [req: http.IncomingMessage, socket: stream.Duplex, head: Buffer];
  checkExpectation: [req: http.IncomingMessage, res: http.ServerResponse];
  dropRequest: [req: http.IncomingMessage, socket: stream.Duplex];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- node's own server types take any event with any listener
type AnyListener = (...args: any[]) => void;

// Each server has on/once/… over its events map and, as node's http.Server / Http2SecureServer,
// any other event name (so that it is one wherever an http.Server is expected).
/* eslint-disable @typescript-eslint/no-explicit-any */
export interface HttpsServer extends TlsServer, HttpServerSurface {
  /** the node:http server that parses the requests */
  readonly http: http.Server;
  on<K extends keyof HttpsServerEvents>(event: K, listener: EventListener<HttpsServerEvents, K>): this;
  on(event: string | symbol, listener: AnyListener): this;
  once<K extends keyof HttpsServerEvents>(event: K, listener: EventListener<HttpsServerEvents, K>): this;
  once(event: string | symbol, listener: AnyListener): this;
  off<K extends keyof HttpsServerEvents>(event: K, listener: EventListener<HttpsServerEvents, K>): this;
  off(event: string | symbol, listener: AnyListener): this;
  addListener<K extends keyof HttpsServerEvents>(event: K, listener: EventListener<HttpsServerEvents, K>): this;
  addListener(event: string | symbol, listener: AnyListener): this;
  removeListener<K extends keyof HttpsServerEvents>(event: K, listener: EventListener<HttpsServerEvents, K>): this;
  removeListener(event: string | symbol, listener: AnyListener): this;
  prependListener<K extends keyof HttpsServerEvents>(event: K, listener: EventListener<HttpsServerEvents, K>): this;
  prependListener(event: string | symbol, listener: AnyListener): this;
  prependOnceListener<K extends keyof HttpsServerEvents>(event: K, listener: EventListener<HttpsServerEvents, K>): this;
  prependOnceListener(event: string | symbol, listener: AnyListener): this;
  emit<K extends keyof HttpsServerEvents>(event: K, ...args: HttpsServerEvents[K]): boolean;
  emit(event: string | symbol, ...args: any[]): boolean;
  listenerCount(event: string | symbol, listener?: AnyListener): number;
}

/**
 * node:http2's secure server. maxHeadersCount and maxRequestsPerSocket (allowHTTP1) are on
 * `server.http`: without them the type is not an http.Server, so that frameworks (Fastify's
 * serverFactory) type its requests as node:http2's.
 */
export interface Http2SecureServer extends TlsServer, HttpConnectionSurface {
  /** the node:http2 server that runs the HTTP/2 sessions */
  readonly http2: http2.Http2Server;
  /** the node:http server for HTTP/1.1 clients (allowHTTP1) */
  readonly http: http.Server;
  /** node:http2: settings for the sessions made from now on */
  updateSettings(settings: http2.Settings): void;
  on<K extends keyof Http2SecureServerEvents>(event: K, listener: EventListener<Http2SecureServerEvents, K>): this;
  on(event: string | symbol, listener: AnyListener): this;
  once<K extends keyof Http2SecureServerEvents>(event: K, listener: EventListener<Http2SecureServerEvents, K>): this;
  once(event: string | symbol, listener: AnyListener): this;
  off<K extends keyof Http2SecureServerEvents>(event: K, listener: EventListener<Http2SecureServerEvents, K>): this;
  off(event: string | symbol, listener: AnyListener): this;
  addListener<K extends keyof Http2SecureServerEvents>(event: K, listener: EventListener<Http2SecureServerEvents, K>): this;
  addListener(event: string | symbol, listener: AnyListener): this;
  removeListener<K extends keyof Http2SecureServerEvents>(event: K, listener: EventListener<Http2SecureServerEvents, K>): this;
  removeListener(event: string | symbol, listener: AnyListener): this;
  prependListener<K extends keyof Http2SecureServerEvents>(event: K, listener: EventListener<Http2SecureServerEvents, K>): this;
  prependListener(event: string | symbol, listener: AnyListener): this;
  prependOnceListener<K extends keyof Http2SecureServerEvents>(event: K, listener: EventListener<Http2SecureServerEvents, K>): this;
  prependOnceListener(event: string | symbol, listener: AnyListener): this;
  emit<K extends keyof Http2SecureServerEvents>(event: K, ...args: Http2SecureServerEvents[K]): boolean;
  emit(event: string | symbol, ...args: any[]): boolean;
  listenerCount(event: string | symbol, listener?: AnyListener): number;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface Http2SecureServerOptions extends TlsServerOptions, HttpServerOptions {
  /** serve clients that do not negotiate h2 over HTTP/1.1 (default false, as node:http2) */
  allowHTTP1?: boolean;
  /** how long a connection that negotiated no usable protocol may stay after the 403, ms
   * (default 10000, node:http2) */
  unknownProtocolTimeout?: number;
  /** settings etc. for node:http2's server */
  http2Options?: http2.ServerOptions;
}

/** node:http2's request listener (an HTTP/1.1 request under allowHTTP1 gets node:http's objects) */
export type Http2RequestListener = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

/** splits node:http's options from the TLS ones; the TCP defaults are node:https's */
function splitOptions<O extends TlsServerOptions & HttpServerOptions>(options: O): [HttpServerOptions, Omit<O, keyof HttpServerOptions>] {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const httpOptions: Record<string, unknown> = {};
  const rest: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  for (const name of HTTP_OPTIONS) {
    if (name in rest) {
      if (rest[name] !== undefined) httpOptions[name] = rest[name];
      delete rest[name];
    }
  }
  return [httpOptions as HttpServerOptions, rest as Omit<O, keyof HttpServerOptions>];
}

/**
 * Makes `inner` (a node:http or node:http2 server that never listens) emit `events` on
 * `outer` and count `outer`'s listeners for them: node's decisions that depend on whether
 * anyone listens are the outer server's. The inner server is ours alone.
 */
function emitOnOuter(inner: net.Server, outer: net.Server, events: readonly string[], before?: (event: string, args: unknown[]) => void): void {
  const names = new Set<string | symbol>(events);
  const ownEmit = inner.emit.bind(inner);
  const ownCount = inner.listenerCount.bind(inner);
  inner.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (!names.has(event)) return ownEmit(event, ...args);
    before?.(event as string, args);
    return outer.emit(event, ...args);
  }) as net.Server['emit'];
  inner.listenerCount = ((event: string | symbol, listener?: (...a: unknown[]) => void) =>
    names.has(event) ? outer.listenerCount(event, listener) : ownCount(event, listener)) as net.Server['listenerCount'];
}

/** node:http's properties and methods on the outer server, through to `h1` (and `h2`'s timeout) */
function httpSurface(server: TlsServer, h1: http.Server, h2?: http2.Http2Server): void {
  for (const name of HTTP_PROPERTIES) {
    Object.defineProperty(server, name, {
      get: () => (h1 as unknown as Record<string, unknown>)[name],
      set: (v: unknown) => {
        (h1 as unknown as Record<string, unknown>)[name] = v;
        if (name === 'timeout' && h2) (h2 as http2.Http2Server & { timeout: unknown }).timeout = v;
      },
      enumerable: true,
      configurable: true,
    });
  }
  const surface: Partial<HttpServerSurface> & ThisType<TlsServer & HttpServerSurface> = {
    setTimeout(this: TlsServer & HttpServerSurface, msecs?: number | ((socket: net.Socket) => void), callback?: (socket: net.Socket) => void) {
      if (typeof msecs === 'function') {
        callback = msecs;
        msecs = undefined;
      }
      this.timeout = msecs ?? 0;
      if (callback !== undefined) {
        if (typeof callback !== 'function') throw new TypeError('callback must be a function');
        (this as net.Server).on('timeout', callback);
      }
      return this;
    },
    closeAllConnections: () => h1.closeAllConnections(),
    closeIdleConnections: () => h1.closeIdleConnections(),
  };
  Object.assign(server, surface);
  // node:http tracks connections from its server's 'listening' on (setupConnectionsTracking)
  server.on('listening', () => h1.emit('listening'));
  // https.Server's close(): idle keep-alive connections first (Node ≥ 19), then the listener
  const close = server.close;
  server.close = function (this: TlsServer, callback?: (err?: Error) => void) {
    h1.close(); // node:http's pre-close: closeIdleConnections, the tracking timer stopped
    return close.call(this, callback);
  } as TlsServer['close'];
}

/** node:https / node:http2: a TLS failure is the server's 'clientError' when listened to */
function tlsErrorsAsClientErrors(server: TlsServer): void {
  server.on('tlsClientError', (err, socket) => {
    if (socket === undefined) return; // no TLS socket was made: nothing for an HTTP handler
    if (!(server as net.Server).emit('clientError', err, socket)) socket.destroy();
  });
}

/** https.createServer over our TLS: createHttpsServer(options[, requestListener]) */
export function createHttpsServer(options: HttpsServerOptions, requestListener?: http.RequestListener): HttpsServer {
  const [httpOptions, tlsOptions] = splitOptions(options);
  const h1 = http.createServer(httpOptions);
  const server = createServer({ ALPNProtocols: ['http/1.1'], noDelay: true, ...tlsOptions }) as HttpsServer;
  Object.defineProperty(server, 'http', { value: h1, enumerable: true });
  emitOnOuter(h1, server, HTTP_EVENTS);
  httpSurface(server, h1);
  tlsErrorsAsClientErrors(server);
  if (requestListener !== undefined) {
    if (typeof requestListener !== 'function') throw new TypeError('requestListener must be a function');
    server.on('request', requestListener);
  }
  server.on('secureConnection', (socket: TLSSocket) => {
    h1.emit('connection', socket);
    (socket as TLSSocket & { server?: net.Server }).server = server;
  });
  return server;
}

/** http2.createSecureServer over our TLS: createHttp2SecureServer(options[, onRequest]) */
export function createHttp2SecureServer(options: Http2SecureServerOptions, onRequest?: Http2RequestListener): Http2SecureServer {
  const [httpOptions, rest] = splitOptions(options);
  const { allowHTTP1, http2Options, unknownProtocolTimeout, ...tlsOptions } = rest;
  if (allowHTTP1 !== undefined && typeof allowHTTP1 !== 'boolean') throw new TypeError('options.allowHTTP1 must be a boolean');
  if (unknownProtocolTimeout !== undefined && (!Number.isInteger(unknownProtocolTimeout) || unknownProtocolTimeout < 0 || unknownProtocolTimeout > 2 ** 32 - 1)) {
    throw new RangeError('options.unknownProtocolTimeout must be an integer from 0 to 4294967295');
  }
  const h2 = http2.createServer(http2Options ?? {});
  const h1 = http.createServer(httpOptions);
  // TCP_NODELAY from accept on (node:http2 sets it on the socket a session runs on; on the
  // native path the server's option is where it is set)
  const server = createServer({ ALPNProtocols: allowHTTP1 ? ['h2', 'http/1.1'] : ['h2'], noDelay: true, ...tlsOptions }) as Http2SecureServer;
  Object.defineProperty(server, 'http2', { value: h2, enumerable: true });
  Object.defineProperty(server, 'http', { value: h1, enumerable: true });
  let connecting: TLSSocket | undefined;
  emitOnOuter(h2, server, ['session', 'sessionError', 'timeout', 'checkContinue', 'request'], (event, args) => {
    if (event === 'session' && connecting) presentAsTls(args[0] as http2.ServerHttp2Session, connecting);
  });
  // node:http2 sets up its compatibility API (a request and response per stream) on its
  // first 'request' listener: the outer server's first one sets it up, as node's does, so
  // that a server of 'stream' listeners only has no response object answering its streams
  const compat = (event: string | symbol) => {
    if (event !== 'request') return;
    server.off('newListener', compat);
    h2.on('request', () => undefined).removeAllListeners('request');
  };
  server.on('newListener', compat);
  h2.on('stream', (...args: unknown[]) => (server as net.Server).emit('stream', ...args));
  emitOnOuter(h1, server, HTTP_EVENTS);
  httpSurface(server, h1, h2);
  server.updateSettings = (settings: http2.Settings) => h2.updateSettings(settings);
  tlsErrorsAsClientErrors(server);
  if (onRequest !== undefined) {
    if (typeof onRequest !== 'function') throw new TypeError('onRequest must be a function');
    server.on('request', onRequest);
  }
  const lingerMs = unknownProtocolTimeout ?? 10000;
  server.on('secureConnection', (socket: TLSSocket) => {
    debug('ALPN %s', socket.alpnProtocol);
    (socket as TLSSocket & { server?: net.Server }).server = server;
    if (socket.alpnProtocol === 'h2') {
      socket.setNoDelay(true); // node:http2's session does this to the socket it runs on
      // on the native path the session runs on a native stream handle (lib/tls/native_pipe.ts)
      const plain = (socket as unknown) instanceof NativeTlsSocket ? plaintextSocket(socket as unknown as NativeTlsSocket) : undefined;
      if (plain === null) return;
      if (plain) (plain as net.Socket & { server?: net.Server }).server = server;
      // node:http2 writes a response across loop turns on the Duplex: on the native path they go out in one send
      else if ((socket as unknown) instanceof NativeTlsSocket) coalesceNativeWrites(socket as unknown as NativeTlsSocket);
      connecting = socket;
      try {
        h2.emit('connection', plain ?? closeCleanly(socket));
      } finally {
        connecting = undefined;
      }
    } else if (allowHTTP1 === true) {
      h1.emit('connection', socket);
      (socket as TLSSocket & { server?: net.Server }).server = server;
    } else if (!(server as net.Server).emit('unknownProtocol', socket)) {
      // node:http2's answer to a client without h2: a 403 it might understand, then close
      const timer = setTimeout(() => socket.destroy(), lingerMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
      socket.end(
        'HTTP/1.0 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n' +
          'Missing ALPN Protocol, expected `h2` to be available.\n' +
          'If this is a HTTP request: The server was not configured with the `allowHTTP1` option or a listener for the `unknownProtocol` event.\n',
      );
    }
  });
  return server;
}

/**
 * node:http2 runs a session over a socket without a native stream handle (ours) through its
 * own wrapper, and then takes the session for plaintext ('h2c', encrypted false) with none of
 * the TLS socket's properties. This shows the session as node:http2 shows one over
 * node:tls — encrypted, alpnProtocol 'h2', originSet, and session.socket / req.socket with
 * the TLS socket's properties and methods (peer address, certificate, cipher, resumption).
 * node keeps those fields under symbols; when a Node version names them differently, the
 * session stays as node made it.
 */
function presentAsTls(session: http2.ServerHttp2Session, tls: TLSSocket): void {
  const symbols = Object.getOwnPropertySymbols(session);
  const find = (name: string) => symbols.find((s) => s.description === name);
  const kEncrypted = find('encrypted');
  const kAlpn = find('alpnProtocol');
  const kSocket = find('socket');
  if (!kEncrypted || !kAlpn || !kSocket) return;
  const fields = session as unknown as Record<symbol, unknown>;
  const wrapper = fields[kSocket] as Record<string, unknown> | undefined;
  if (!wrapper || typeof wrapper !== 'object') return;
  fields[kEncrypted] = true;
  fields[kAlpn] = tls.alpnProtocol;
  // node runs the session on our socket itself, or on the native path's PlaintextSocket: they have them
  if ((wrapper as unknown) === tls || wrapper instanceof PlaintextSocket) return;
  showTlsSurface(wrapper, tls);
}

/**
 * node:http2 ends a session by destroying its socket, without an error. A TLS connection
 * freed without close_notify loses its session in OpenSSL 1.0.2 (SSL_free's rule), so such
 * a destroy() ends the connection cleanly first: close_notify, then FIN.
 */
function closeCleanly(socket: TLSSocket): TLSSocket {
  const destroy = socket.destroy.bind(socket);
  socket.destroy = ((err?: Error) => {
    if (err || socket.destroyed || socket.writableEnded) return destroy(err);
    socket.end();
    return socket;
  }) as TLSSocket['destroy'];
  return socket;
}
