// The HTTPS and HTTP/2 servers are what node:https's and node:http2's are to the code that
// holds them: node:http's timeouts enforced (a half-sent request gets 408), connection
// management (closeIdleConnections, closeAllConnections, close() ending idle keep-alive
// connections), the constructor's HTTP options and the properties they set, every
// http.Server event on the server, listening again after close(); HTTP/2 sessions shown
// as TLS sessions (encrypted, 'h2', the TLS socket's methods) and node's 403 to a client
// without ALPN. Each scenario runs against node's server first, then ours.
import { once } from 'events';
import * as http from 'http';
import * as http2 from 'http2';
import * as https from 'https';
import * as net from 'net';
import * as tls from 'tls';
import { certs, listen, close, next, closed, readAll } from './helpers/sockets';
import { pki } from './helpers/pki';
import { clientTls, get, h2connect, h2get, servers, HttpServers } from './helpers/http_servers';

const { cert, key } = certs();
const open: { destroy(): unknown }[] = [];
const listening: net.Server[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  for (const s of listening.splice(0)) await close(s);
});

/** HTTPS, and HTTP/2 with allowHTTP1 serving the same HTTP/1.1 requests */
const kinds = (make: HttpServers) =>
  [
    ['https', (o: Record<string, unknown>, h?: http.RequestListener) => make.https(o, h)],
    ['http2 + allowHTTP1', (o: Record<string, unknown>, h?: http.RequestListener) => make.http2({ allowHTTP1: true, ...o }, h)],
  ] as [string, (o: Record<string, unknown>, h?: http.RequestListener) => net.Server & Partial<http.Server> & { connectionsCheckingInterval?: number }][];

async function start<S extends net.Server>(server: S): Promise<[S, number]> {
  listening.push(server);
  server.on('connection', (s: net.Socket) => open.push(s));
  return [server, await listen(server)];
}

/** what a stream sends until `pattern` matches it (or it ends) */
function readUntil(s: NodeJS.ReadableStream, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = () => {
      s.off('data', onData);
      resolve(text);
    };
    const onData = (c: Buffer) => {
      text += c.toString();
      if (pattern.test(text)) done();
    };
    s.on('data', onData);
    s.once('end', done);
  });
}

/** a raw TLS connection (HTTP/1.1 by ALPN) to write requests by hand */
async function raw(port: number, alpn: string[] = ['http/1.1']): Promise<tls.TLSSocket> {
  const s = tls.connect({ port, host: '127.0.0.1', ...clientTls(), ALPNProtocols: alpn });
  open.push(s);
  await once(s, 'secureConnect');
  return s;
}

describe.each(servers)('%s', (_name, make) => {
  describe.each(kinds(make))('%s', (kind, create) => {
    // node:http2's allowHTTP1 serves HTTP/1.1 with node:http's fixed defaults: it takes none of
    // node:http's options and has no closeAllConnections (ours has them: a superset)
    const testHttps =
      kind === 'https' ? test : _name === 'ours' ? (title: string, fn: () => Promise<void>) => test(`${title} (ours only: node:http2 applies none of these)`, fn) : () => undefined;
    testHttps('a half-sent request (slowloris) gets 408 once headersTimeout passes, and the connection closes', async () => {
      const [, port] = await start(create({ cert, key, headersTimeout: 200, requestTimeout: 400, connectionsCheckingInterval: 50 }, (_q, r) => r.end()));
      const s = await raw(port);
      s.write('GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      const answer = (await readAll(s)).toString();
      expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      await closed(s);
    });

    testHttps("the constructor's HTTP options reach the server's properties; the defaults are node's", async () => {
      const fresh = create({ cert, key });
      const set = create({ cert, key, headersTimeout: 1000, requestTimeout: 2000, keepAliveTimeout: 300, maxHeaderSize: 4096, connectionsCheckingInterval: 100 });
      expect([fresh.timeout, fresh.headersTimeout, fresh.requestTimeout, fresh.connectionsCheckingInterval]).toEqual([0, 60000, 300000, 30000]);
      expect([set.headersTimeout, set.requestTimeout, set.connectionsCheckingInterval]).toEqual([1000, 2000, 100]);
      expect(() => create({ cert, key, headersTimeout: 3000, requestTimeout: 2000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      expect(() => create({ cert, key, headersTimeout: 'soon' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      fresh.setTimeout!(1234);
      expect(fresh.timeout).toBe(1234);
      fresh.timeout = 0;
      expect(fresh.timeout).toBe(0);
    });

    test('close() ends an idle keep-alive connection at once and calls back; the server then listens again and serves', async () => {
      const [server, port] = await start(create({ cert, key }, (_q, r) => r.end('ok')));
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      open.push(agent);
      const first = await get(port, '/', { agent });
      expect(first.body).toBe('ok');
      const clientClosed = closed(first.socket);
      await new Promise<void>((r, j) => server.close((e?: Error) => (e ? j(e) : r())));
      await clientClosed;
      const port2 = await listen(server);
      expect((await get(port2, '/again', { agent: false })).body).toBe('ok');
    });

    test('a listen() that fails (EADDRINUSE) leaves the server able to listen on another port and serve', async () => {
      const [, taken] = await start(create({ cert, key }, (_q, r) => r.end('first')));
      const server = create({ cert, key }, (_q, r) => r.end('second'));
      server.on('connection', (s: net.Socket) => open.push(s));
      server.listen(taken, '127.0.0.1');
      expect(await next<NodeJS.ErrnoException>(server, 'error')).toMatchObject({ code: 'EADDRINUSE' });
      listening.push(server);
      const port = await listen(server);
      expect((await get(port, '/', { agent: false })).body).toBe('second');
    });

    testHttps('closeIdleConnections() ends the idle connection, not the one waiting for its response; closeAllConnections() ends that one', async () => {
      let hold: http.ServerResponse | undefined;
      let resolveHold: () => void = () => undefined;
      const arrived = new Promise<void>((resolve) => (resolveHold = resolve));
      const [server, port] = await start(
        create({ cert, key }, (req, res) => {
          if (req.url === '/hold') {
            hold = res;
            resolveHold();
          } else res.end('ok');
        }),
      );
      const idleAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      open.push(idleAgent);
      const idle = await get(port, '/', { agent: idleAgent });
      const busyReq = https.request({ host: '127.0.0.1', port, path: '/hold', ...clientTls(), agent: false });
      const busyError = new Promise<Error>((resolve) => busyReq.on('error', resolve));
      busyReq.end();
      await arrived;
      const idleClosed = closed(idle.socket);
      server.closeIdleConnections!();
      await idleClosed;
      expect(hold!.writableEnded).toBe(false);
      expect(busyReq.destroyed).toBe(false);
      server.closeAllConnections!();
      expect((await busyError).message).toMatch(/socket hang up|ECONNRESET/);
    });

    testHttps('keepAliveTimeout: the server closes a keep-alive connection left idle', async () => {
      const [server, port] = await start(create({ cert, key, keepAliveTimeout: 1000 }, (_q, r) => r.end('ok')));
      expect(server.keepAliveTimeout).toBe(1000);
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      open.push(agent);
      const r = await get(port, '/', { agent });
      expect(r.res.headers['keep-alive']).toBe('timeout=1');
      await closed(r.socket);
    });

    test("setTimeout(ms, listener): a connection idle that long is the server's 'timeout' (socket)", async () => {
      const [server, port] = await start(create({ cert, key }, (_q, r) => r.end('ok')));
      const timedOut = new Promise<net.Socket>((resolve) => server.setTimeout!(100, resolve));
      const s = await raw(port);
      const socket = await timedOut;
      expect(socket.remotePort).toBe(s.localPort);
      socket.destroy();
      await closed(s);
    });

    testHttps('maxRequestsPerSocket: the last allowed response says Connection: close; maxHeadersCount drops extra headers; maxHeaderSize gets 431', async () => {
      const seen: number[] = [];
      const [server, port] = await start(
        create({ cert, key, maxHeaderSize: 2048 }, (req, res) => {
          seen.push(Object.keys(req.headers).length);
          res.end('ok');
        }),
      );
      server.maxRequestsPerSocket = 2;
      server.maxHeadersCount = 3;
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      open.push(agent);
      const one = await get(port, '/1', { agent });
      const two = await get(port, '/2', { agent });
      expect(one.res.headers.connection).toBe('keep-alive');
      expect(two.res.headers.connection).toBe('close');
      await get(port, '/3', { agent: false, headers: { host: 'localhost', a: '1', b: '2', c: '3', d: '4', e: '5' } });
      expect(seen.slice(2)).toEqual([3]);
      const big = await get(port, '/big', { agent: false, headers: { 'x-big': 'y'.repeat(4000) } });
      expect(big.status).toBe(431);
    });

    testHttps("pipelined requests over maxRequestsPerSocket: the extra one is 'dropRequest' (503); an unknown Expect is 'checkExpectation'", async () => {
      const [server, port] = await start(create({ cert, key }, (req, res) => res.end(`ok ${req.url}`)));
      server.maxRequestsPerSocket = 1;
      const dropped: string[] = [];
      server.on('dropRequest', (req: http.IncomingMessage, socket: net.Socket) => dropped.push(`${req.url} ${typeof socket.write}`));
      server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => res.writeHead(200).end(`expectation ${req.headers.expect}`));
      const s = await raw(port);
      s.write('GET /a HTTP/1.1\r\nHost: localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\n\r\n');
      const answer = await readUntil(s, /503 Service Unavailable\r\n[^]*\r\n\r\n/);
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*ok \/aHTTP\/1\.1 503 Service Unavailable\r\n/);
      expect(dropped).toEqual(['/b function']);
      const e = await raw(port);
      e.end('GET /e HTTP/1.1\r\nHost: localhost\r\nExpect: coffee\r\nConnection: close\r\n\r\n');
      expect((await readAll(e)).toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*expectation coffee\r\n/);
    });

    test("'clientError' reaches the server: its listener answers a malformed request", async () => {
      const [server, port] = await start(create({ cert, key }, (_q, r) => r.end('ok')));
      const errs: string[] = [];
      server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
        errs.push(err.code!);
        socket.end('HTTP/1.1 418 Teapot\r\nConnection: close\r\n\r\n');
      });
      const s = await raw(port);
      s.write('NOT HTTP AT ALL\r\n\r\n');
      expect((await readAll(s)).toString()).toMatch(/^HTTP\/1\.1 418 Teapot/);
      expect(errs).toEqual(['HPE_INVALID_METHOD']);
    });

    test("'upgrade', 'checkContinue', 'connect' reach the server with their arguments", async () => {
      const [server, port] = await start(create({ cert, key }, (_q, r) => r.end('ok')));
      server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\nX-Head: ${head.toString()}\r\n\r\n`);
      });
      server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => res.writeHead(417).end());
      server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => socket.end(`HTTP/1.1 200 Tunnel to ${req.url}\r\n\r\n`));
      const up = await raw(port);
      up.write('GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello');
      expect((await readAll(up)).toString()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\nUpgrade: websocket\r\n[^]*X-Head: hello/);
      const ex = await get(port, '/', { agent: false, method: 'POST', headers: { expect: '100-continue' } });
      expect(ex.status).toBe(417);
      const c = await raw(port);
      c.write('CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n');
      expect((await readAll(c)).toString()).toMatch(/^HTTP\/1\.1 200 Tunnel to example\.org:443/);
    });
  });

  describe('HTTP/2', () => {
    test("sessions are TLS sessions: encrypted, 'h2', originSet, and the TLS socket's properties on session.socket and req.socket", async () => {
      const seen: Record<string, unknown>[] = [];
      const server = make.http2({ cert, key }, (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
        const s = req.socket as unknown as tls.TLSSocket;
        const session = req.stream.session!;
        seen.push({
          encrypted: session.encrypted,
          alpn: session.alpnProtocol,
          origins: session.originSet,
          socketAlpn: (session.socket as tls.TLSSocket).alpnProtocol,
          reqEncrypted: s.encrypted,
          remote: s.remoteAddress,
          protocol: s.getProtocol(),
          cipher: s.getCipher().version,
          reused: s.isSessionReused(),
          cert: typeof s.getPeerCertificate(),
          servername: s.servername,
        });
        res.end('ok');
      });
      const [, port] = await start(server);
      const session = h2connect(port);
      open.push(session);
      expect(await h2get(session, '/')).toEqual({ status: 200, body: 'ok' });
      const localPort = (session.socket as tls.TLSSocket).localPort;
      expect(seen).toEqual([
        {
          encrypted: true,
          alpn: 'h2',
          origins: [`https://localhost:${localPort}`],
          socketAlpn: 'h2',
          reqEncrypted: true,
          remote: '127.0.0.1',
          protocol: 'TLSv1.2',
          cipher: 'TLSv1.2',
          reused: false,
          cert: 'object',
          servername: 'localhost',
        },
      ]);
    });

    test('mutual TLS over h2: the handler sees the client certificate and authorized', async () => {
      const p = pki();
      const seen: unknown[] = [];
      const server = make.http2({ cert: p.leaf, key: p.leafKey, ca: p.ca, requestCert: true }, (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
        const s = req.socket as unknown as tls.TLSSocket;
        seen.push([s.authorized, s.authorizationError ?? null, s.getPeerCertificate().subject.CN]);
        res.end('ok');
      });
      const [, port] = await start(server);
      const session = h2connect(port, { ca: p.ca, cert: p.leaf, key: p.leafKey });
      open.push(session);
      expect(await h2get(session, '/')).toEqual({ status: 200, body: 'ok' });
      expect(seen).toEqual([[true, null, 'localhost']]);
    });

    test("a client without ALPN gets node's 403 'Missing ALPN Protocol'; with an 'unknownProtocol' listener, the listener has the socket", async () => {
      const [server, port] = await start(make.http2({ cert, key }, (_q: unknown, r: http2.Http2ServerResponse) => r.end('ok')));
      const plain = await raw(port, []);
      plain.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
      expect((await readAll(plain)).toString()).toMatch(/^HTTP\/1\.0 403 Forbidden\r\n[^]*Missing ALPN Protocol, expected `h2` to be available/);
      const unknown = next<tls.TLSSocket>(server, 'unknownProtocol');
      const other = await raw(port, []);
      const socket = await unknown;
      expect(socket.alpnProtocol).toBe(false);
      socket.destroy();
      await closed(other);
    });

    test("server.setTimeout(ms, listener): an idle session is the server's 'timeout'", async () => {
      const [server, port] = await start(make.http2({ cert, key }, (_q: unknown, r: http2.Http2ServerResponse) => r.end('ok')));
      server.setTimeout(100);
      const timedOut = next<http2.ServerHttp2Session>(server, 'timeout');
      const session = h2connect(port);
      open.push(session);
      expect(await h2get(session, '/')).toEqual({ status: 200, body: 'ok' });
      const s = await timedOut;
      expect(s.encrypted).toBe(true);
      s.destroy();
    });
  });
});
