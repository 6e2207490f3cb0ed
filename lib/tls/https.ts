// HTTPS and HTTP/2 over OpenSSL 1.0.2: node:http and node:http2 servers fed with our
// TLSSockets. ALPN picks the protocol: 'h2' goes to an http2 server (plaintext mode: the
// TLS is ours, Node wraps our stream), 'http/1.1' or no ALPN to an http server. The
// servers are shaped like https.createServer / http2.createSecureServer: a TlsServer that
// listens and emits 'request' (req, res) — plus 'stream' for HTTP/2.
import * as http from 'http';
import * as http2 from 'http2';
import * as net from 'net';
import type { EventListener } from '../common/typed_events';
import type { TlsServerEvents } from './tls_server';
import { createServer, TlsServer, TlsServerOptions } from './tls_server';
import type { TLSSocket } from './tls_socket';
import { debug } from './debug';

export interface HttpsServer extends TlsServer {
  /** the node:http server that parses the requests */
  readonly http: http.Server;
  on(event: 'request', listener: http.RequestListener): this;
  on<K extends keyof TlsServerEvents>(event: K, listener: EventListener<TlsServerEvents, K>): this;
}

export interface Http2SecureServer extends TlsServer {
  /** the node:http2 server that runs the HTTP/2 sessions */
  readonly http2: http2.Http2Server;
  /** the node:http server for HTTP/1.1 clients (allowHTTP1) */
  readonly http: http.Server;
  on(event: 'request', listener: Handler): this;
  on(event: 'stream', listener: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number) => void): this;
  on(event: 'session', listener: (session: http2.ServerHttp2Session) => void): this;
  on<K extends keyof TlsServerEvents>(event: K, listener: EventListener<TlsServerEvents, K>): this;
}

export interface Http2SecureServerOptions extends TlsServerOptions {
  /** serve clients that do not negotiate h2 over HTTP/1.1 (default false, as node:http2) */
  allowHTTP1?: boolean;
  /** settings etc. for node:http2's server */
  http2Options?: http2.ServerOptions;
}

type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

/** https.createServer over our TLS: createHttpsServer(options[, requestListener]) */
export function createHttpsServer(options: TlsServerOptions, requestListener?: http.RequestListener): HttpsServer {
  const server = createServer({ ALPNProtocols: ['http/1.1'], ...options }) as HttpsServer;
  const h1 = http.createServer();
  Object.defineProperty(server, 'http', { value: h1, enumerable: true });
  h1.on('request', (req, res) => (server as net.Server).emit('request', req, res));
  if (requestListener) (server as net.Server).on('request', requestListener);
  server.on('secureConnection', (socket: TLSSocket) => h1.emit('connection', socket));
  server.on('close', () => h1.close());
  return server;
}

/** http2.createSecureServer over our TLS: createHttp2SecureServer(options[, onRequest]) */
export function createHttp2SecureServer(options: Http2SecureServerOptions, onRequest?: Handler): Http2SecureServer {
  const allowHTTP1 = options.allowHTTP1 === true;
  const { allowHTTP1: _a, http2Options, ...tlsOptions } = options;
  const server = createServer({ ALPNProtocols: allowHTTP1 ? ['h2', 'http/1.1'] : ['h2'], ...tlsOptions }) as Http2SecureServer;
  const h2 = http2.createServer(http2Options ?? {});
  const h1 = http.createServer();
  Object.defineProperty(server, 'http2', { value: h2, enumerable: true });
  Object.defineProperty(server, 'http', { value: h1, enumerable: true });
  h2.on('request', (req, res) => (server as net.Server).emit('request', req, res));
  h2.on('stream', (stream, headers, flags) => (server as net.Server).emit('stream', stream, headers, flags));
  h2.on('session', (session) => (server as net.Server).emit('session', session));
  h1.on('request', (req, res) => (server as net.Server).emit('request', req, res));
  if (onRequest) (server as net.Server).on('request', onRequest);
  server.on('secureConnection', (socket: TLSSocket) => {
    debug('ALPN %s', socket.alpnProtocol);
    if (socket.alpnProtocol === 'h2') h2.emit('connection', closeCleanly(socket));
    else if (allowHTTP1) h1.emit('connection', socket);
    else if (!server.emit('unknownProtocol', socket)) socket.destroy();
  });
  server.on('close', () => {
    h2.close();
    h1.close();
  });
  return server;
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
