// Fastify 5 (and Express 5) over the servers, as a new user runs them: serverFactory returns node's
// https.createServer / http2.createSecureServer, then ours (createHttpsServer /
// createHttp2SecureServer), and the same app must behave the same — routes, a WebSocket
// upgrade (@fastify/websocket, ws client), a custom clientErrorHandler, close() with an
// idle keep-alive connection, forceCloseConnections: 'idle', and under HTTP/2 request.ip
// and request.protocol.
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as tls from 'tls';
import express from 'express';
import Fastify, { FastifyInstance } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import WebSocket from 'ws';
import { certs, closed, readAll } from './helpers/sockets';
import { clientTls, get, h2connect, h2get, servers, socketFlag, HttpServers } from './helpers/http_servers';

const { cert, key } = certs();
const open: { destroy(): unknown }[] = [];
const apps: FastifyInstance<any, any, any, any>[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  for (const a of apps.splice(0)) await a.close();
});

/** an HTTPS app on the factory's server: a route, a WebSocket echo, a custom clientErrorHandler */
async function httpsApp(make: HttpServers, options: Record<string, unknown> = {}, serverOptions: Record<string, unknown> = {}) {
  const clientErrors: string[] = [];
  const app = Fastify({
    serverFactory: (handler) => make.https({ cert, key, ...serverOptions }, handler) as unknown as http.Server,
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: net.Socket) => {
      clientErrors.push(err.code ?? err.message);
      socket.end('HTTP/1.1 400 Custom Handler\r\nConnection: close\r\n\r\n');
    },
    ...options,
  });
  apps.push(app);
  await app.register(fastifyWebsocket);
  app.get('/hello/:name', async (req) => ({ hello: (req.params as { name: string }).name, protocol: req.protocol, ip: req.ip }));
  app.register(async (scope) => {
    scope.get('/ws', { websocket: true }, (socket) => {
      socket.on('message', (m) => socket.send(`echo ${String(m)}`));
    });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as net.AddressInfo).port, clientErrors };
}

describe.each(servers)('%s', (_name, make) => {
  test('routes answer over HTTPS; request.protocol https, request.ip the peer', async () => {
    const { port } = await httpsApp(make);
    const r = await get(port, '/hello/world', { agent: false });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ hello: 'world', protocol: 'https', ip: '127.0.0.1' });
  });

  test('a WebSocket upgrade on a @fastify/websocket route gets 101 and echoes', async () => {
    const { port } = await httpsApp(make);
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ...clientTls() });
    open.push({ destroy: () => ws.terminate() });
    const upgraded = new Promise<number>((resolve, reject) => {
      ws.on('upgrade', (res) => resolve(res.statusCode!));
      ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.on('error', reject);
    });
    expect(await upgraded).toBe(101);
    const answer = new Promise<string>((resolve) => ws.once('message', (m: Buffer) => resolve(m.toString())));
    ws.send('ping');
    expect(await answer).toBe('echo ping');
    ws.close();
  });

  test('the custom clientErrorHandler answers a malformed request', async () => {
    const { port, clientErrors } = await httpsApp(make);
    const s = tls.connect({ port, host: '127.0.0.1', ...clientTls() });
    open.push(s);
    s.on('secureConnect', () => s.write('GARBAGE\x01\x02 / HTTP/1.1\r\n\r\n'));
    expect((await readAll(s)).toString()).toMatch(/^HTTP\/1\.1 400 Custom Handler\r\n/);
    expect(clientErrors).toEqual(['HPE_INVALID_METHOD']);
  });

  test.each([{}, { forceCloseConnections: 'idle' }])('close() (%j) with an idle keep-alive connection resolves and closes that connection', async (options) => {
    const { app, port } = await httpsApp(make, options, { keepAliveTimeout: 600_000 });
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    open.push(agent);
    const r = await get(port, '/hello/idle', { agent });
    expect(r.status).toBe(200);
    // the server's keepAliveTimeout (10 minutes) is in force: only close() can end this connection now
    expect(r.res.headers['keep-alive']).toBe('timeout=600');
    const idleClosed = closed(r.socket);
    apps.splice(apps.indexOf(app), 1);
    await app.close();
    await idleClosed;
    expect(r.socket.destroyed).toBe(true);
  });

  test('http2: true + https: routes over h2, request.ip 127.0.0.1, request.protocol https', async () => {
    const app = Fastify({
      http2: true,
      https: { cert, key },
      serverFactory: (handler) => make.http2({ cert, key }, handler),
    });
    apps.push(app);
    app.get('/who', async (req) => ({ ip: req.ip, protocol: req.protocol, version: req.raw.httpVersion }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const session = h2connect((app.server.address() as net.AddressInfo).port);
    open.push(session);
    const r = await h2get(session, '/who');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ip: '127.0.0.1', protocol: 'https', version: '2.0' });
    session.close();
  });
});

describe.each(servers)('%s + Express 5', (_name, make) => {
  test('keep-alive requests through Express on one connection with TCP_NODELAY; res.json, 404', async () => {
    const app = express();
    app.get('/json/:n', (req, res) => {
      res.json({ n: Number(req.params.n), secure: req.secure, ip: req.ip });
    });
    const server = make.https({ cert, key }, app);
    const tcp: net.Socket[] = [];
    server.on('connection', (s: net.Socket) => {
      tcp.push(s);
      open.push(s);
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as net.AddressInfo).port;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    open.push(agent);
    try {
      for (let n = 0; n < 3; n++) {
        const r = await get(port, `/json/${n}`, { agent });
        expect(JSON.parse(r.body)).toEqual({ n, secure: true, ip: '127.0.0.1' });
      }
      expect((await get(port, '/missing', { agent })).status).toBe(404);
      expect(tcp).toHaveLength(1);
      expect(socketFlag(tcp[0], 'kSetNoDelay')).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
