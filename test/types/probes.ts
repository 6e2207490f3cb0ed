// Type probes against the published declarations (dist/*.d.ts): the line after each
// expect-error directive is a mistake the types must reject (tsc fails with TS2578, an
// unused directive, if it compiles), and the rest are correct uses whose types are
// inferred without annotations. Compiled by test/05.types.test.ts with test/types/tsconfig.json; never run.
import * as http from 'http';
import * as http2 from 'http2';
import * as https from 'https';
import * as tls from 'tls';
import express from 'express';
import Fastify from 'fastify';
import { WebSocketServer } from 'ws';
import {
  connect,
  createHttp2SecureServer,
  createHttpsServer,
  createServer,
  ErrorCode,
  generateSelfSigned,
  handshake,
  raw,
  SessionCacheMode,
  SslContext,
  SslSession,
} from 'openssl-session-cache';
import type { ErrorCodeValue, Protocol, RemoveReason, TlsProtocol, UnknownProtocol } from 'openssl-session-cache';
import { RedisSessionStore } from 'openssl-session-cache/redis';
import { CacheModel } from 'openssl-session-cache/model';
import { CATALOGUE } from 'openssl-session-cache/conformance';

/** compiles only when `value`'s type is exactly T */
function exactly<T>() {
  return <V>(value: V & (Equal<T, V> extends true ? unknown : never)): V => value;
}
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

export function probes(): void {
  const { cert, key } = generateSelfSigned({ commonName: 'localhost' });
  const ctx = new SslContext({ cert, key, noTicket: true, minVersion: 'TLSv1.2', sessionCacheMode: SessionCacheMode.SERVER });
  const client = new SslContext({ role: 'client' });

  // ---- SslContext events ------------------------------------------------------------
  ctx.on('newSession', (session) => exactly<SslSession>()(session).free());
  ctx.once('removeSession', (session, reason) => {
    exactly<SslSession>()(session);
    exactly<RemoveReason>()(reason);
  });
  // @ts-expect-error: misspelt event name
  ctx.on('newSesion', () => undefined);
  // @ts-expect-error: 'newSession' carries an SslSession, not a string
  ctx.on('newSession', (session: string) => session);
  // @ts-expect-error: the reason is a RemoveReason string, not a number
  ctx.on('removeSession', (_session: SslSession, reason: number) => reason);
  // @ts-expect-error: emit checks its arguments
  ctx.emit('newSession', 'not a session');

  // ---- closed sets: protocols, roles, modes -------------------------------------------
  // @ts-expect-error: OpenSSL 1.0.2 has no TLS 1.3
  new SslContext({ maxVersion: 'TLSv1.3' });
  // @ts-expect-error: a role is 'server' | 'client' | 'both'
  new SslContext({ role: 'proxy' });
  // @ts-expect-error: not a protocol name
  SslSession.create({ id: Buffer.alloc(32), protocol: 'TLS1.2' });
  // @ts-expect-error: getSession's protocol is a Protocol
  ctx.getSession(Buffer.alloc(32), 'tls1.2');
  // @ts-expect-error: the cache mode is a number of SessionCacheMode bits
  ctx.sessionCacheMode = 'server';
  // @ts-expect-error: raw takes OpenSSL's integers
  raw.SSL_CTX_set_timeout(ctx, '300');
  // @ts-expect-error: idContext is a Buffer or a string
  SslSession.create({ id: Buffer.alloc(32) }).idContext = 42;
  // @ts-expect-error: ErrorCode is read-only
  ErrorCode.FREED = 'ERR_OTHER';

  // correct: inferred without annotations
  const r = handshake(client, ctx);
  exactly<TlsProtocol>()(r.protocol);
  exactly<Protocol | UnknownProtocol>()(r.serverSession.protocol);
  // @ts-expect-error: a negotiated protocol is never TLSv1.3 here
  const _tls13: 'TLSv1.3' = r.protocol;
  ctx.setNextSessionId();
  ctx.setNextSessionId(Buffer.alloc(32, 1));
  r.serverSession.idContext = 'my-app';
  r.serverSession.idContext = Buffer.from('my-app');
  exactly<'ERR_SSL_FREED'>()(ErrorCode.FREED);
  const code: ErrorCodeValue = ErrorCode.SESSION_STORE_TIMEOUT;
  void code;

  // ---- TlsServer / TLSSocket ------------------------------------------------------------
  const server = createServer({ cert, key, minVersion: 'TLSv1.2' }, (socket) => {
    exactly<TlsProtocol | null>()(socket.getProtocol());
    socket.on('data', (chunk) => exactly<Buffer>()(chunk));
  });
  server.on('secureConnection', (socket) => socket.end());
  server.on('tlsClientError', (err, socket) => {
    exactly<Error>()(err);
    socket?.destroy();
  });
  server.on('sessionStoreError', (err) => exactly<Error>()(err));
  server.on('listening', () => server.address());
  void (async () => {
    await new Promise((r) => server.once('listening', r));
    await new Promise<void>((r) => server.once('close', r));
  })();
  server.on('connection', (socket) => socket.remoteAddress);
  // @ts-expect-error: 'secureConnection' hands a TLSSocket, not a Buffer
  server.on('secureConnection', (socket: Buffer) => socket);
  // @ts-expect-error: misspelt node:tls event
  server.on('secureConection', () => undefined);
  // @ts-expect-error: 'listening' has no arguments to take
  server.on('listening', (port: number) => port);

  const socket = connect({ port: 8443, host: '127.0.0.1', maxVersion: 'TLSv1.2', rejectUnauthorized: false });
  socket.on('session', (der) => SslSession.fromDER(der).free());
  socket.on('secureConnect', () => socket.isSessionReused());
  socket.on('close', (hadError) => exactly<boolean>()(hadError));
  // @ts-expect-error: 'secureConnect' has no arguments
  socket.on('secureConnect', (x: number) => x);
  // @ts-expect-error: no TLS 1.3 for connect() either
  connect({ port: 8443, minVersion: 'TLSv1.3' });
  // @ts-expect-error: 'session' carries DER (a Buffer)
  socket.on('session', (s: SslSession) => s);

  // ---- HTTPS / HTTP/2 servers: what node's are to frameworks --------------------------------
  const web = createHttpsServer({ cert, key, headersTimeout: 5000, requestTimeout: 10000, keepAliveTimeout: 1000 }, (req, res) => {
    exactly<http.IncomingMessage>()(req);
    res.end();
  });
  web.once('request', (req, res) => {
    exactly<http.IncomingMessage>()(req);
    exactly<http.ServerResponse>()(res);
  });
  web.on('upgrade', (req, socket, head) => {
    exactly<Buffer>()(head);
    socket.destroy();
  });
  web.on('clientError', (err, socket) => socket.end(err.message));
  web.on('secureConnection', (socket) => socket.isSessionReused());
  void (async () => {
    web.listen(0);
    await new Promise((r) => web.once('listening', r));
  })();
  web.headersTimeout = 2000;
  web.closeIdleConnections();
  web.closeAllConnections();
  exactly<number | null>()(web.maxHeadersCount);
  web.setTimeout(1000, (socket) => socket.destroy()).close();
  const asHttp: http.Server = web;
  void asHttp;
  void new WebSocketServer({ server: web });
  const expressApp = express();
  createHttpsServer({ cert, key }, expressApp).listen(0);
  // @ts-expect-error: node:http's option has its type
  createHttpsServer({ cert, key, headersTimeout: '5s' });

  const h2 = createHttp2SecureServer({ cert, key, allowHTTP1: true }, (req, res) => {
    exactly<http2.Http2ServerRequest>()(req);
    res.end();
  });
  h2.on('unknownProtocol', (socket) => socket.destroy());
  h2.on('session', (session) => exactly<http2.ServerHttp2Session>()(session));
  h2.on('stream', (stream, headers) => stream.respond({ ':status': 200, 'x-path': headers[':path'] }));
  h2.on('sessionError', (err) => exactly<Error>()(err));
  h2.updateSettings({ maxConcurrentStreams: 10 });
  const asHttp2: http2.Http2Server = h2;
  void asHttp2;

  // Fastify 5's serverFactory takes them as it takes https.createServer / http2.createSecureServer
  const app = Fastify({ serverFactory: (handler) => createHttpsServer({ cert, key }, handler) });
  void app;
  const app2 = Fastify({ http2: true, serverFactory: (handler) => createHttp2SecureServer({ cert, key, allowHTTP1: true }, handler) });
  void app2;
  // with `https` options Fastify's raw server is http2.Http2SecureServer (addContext, setSecureContext, ...)
  const asSecure: http2.Http2SecureServer = createHttp2SecureServer({ cert, key, allowHTTP1: true });
  void asSecure;
  const asHttps: https.Server = createHttpsServer({ cert, key });
  void asHttps;
  const app3 = Fastify({ http2: true, https: { allowHTTP1: true }, serverFactory: (handler) => createHttp2SecureServer({ cert, key, allowHTTP1: true }, handler) });
  void app3;
  const app4 = Fastify({ https: {}, serverFactory: (handler) => createHttpsServer({ cert, key }, handler) });
  void app4;
  const tlsServer = createHttpsServer({ cert, key });
  tlsServer.addContext('*.example.com', { cert, key });
  tlsServer.setSecureContext({ cert, key });
  void tls;

  // ---- RedisSessionStore ------------------------------------------------------------------
  const store = new RedisSessionStore({ redis: 'redis://127.0.0.1:6379' });
  store.on('revoked', (id) => exactly<Buffer>()(id));
  store.on('connectionError', (err) => exactly<Error>()(err));
  // @ts-expect-error: a revoked id is a Buffer
  store.on('revoked', (id: string) => id);
  // @ts-expect-error: not an event of the store
  store.on('message', () => undefined);

  // ---- the other entry points -----------------------------------------------------------------
  const model = new CacheModel();
  exactly<0 | 1>()(model.add(model.createSession({ id: Buffer.alloc(32), time: 0, timeout: 300 })));
  void CATALOGUE.length;
}
