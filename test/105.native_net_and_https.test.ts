// net.Server / net.Socket behaviour and the HTTP/1.1 server on the native connection path,
// each scenario run against node:tls / node:https first and then against our native path,
// with the same assertions: keep-alive probes and TCP_NODELAY (on ours also read back from
// the kernel with getsockopt), a paused connection holding the peer back, slowloris and
// keep-alive timeouts, maxConnections and 'drop', 'connection', getConnections, byte
// counters, a pending write's callback on destroy(), half-open connections, listening again
// after close() while a connection is open, and listen()'s forms.
import { createHash } from 'crypto';
import { once } from 'events';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as tls from 'tls';
import { createHttpsServer, createServer, NativeTcpSocket } from '../lib';
import { certs, closed, listen, next, readAll } from './helpers/sockets';
import { clientTls, get, socketFlag } from './helpers/http_servers';

const { cert, key } = certs();

const open = new Set<{ destroy(): unknown }>();
const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of open) s.destroy();
  open.clear();
  for (const s of servers.splice(0)) if (s.listening) await new Promise<void>((r) => s.close(() => r()));
});

/** a TLS server of each kind, made from the same options */
const tlsServers: [string, (o: Record<string, unknown>) => net.Server][] = [
  ['node:tls', (o) => tls.createServer({ cert, key, ...o })],
  ['native', (o) => createServer({ cert, key, ...o, connectionPath: 'native' }) as unknown as net.Server],
];

/** an HTTPS server of each kind */
const httpsServers: [string, (o: Record<string, unknown>, h: http.RequestListener) => net.Server][] = [
  ['node:https', (o, h) => https.createServer({ cert, key, ...o }, h)],
  ['native', (o, h) => createHttpsServer({ cert, key, ...o, connectionPath: 'native' } as never, h) as unknown as net.Server],
];

function keep<S extends net.Server>(server: S): S {
  servers.push(server);
  server.on('connection', (s: { destroy(): unknown }) => open.add(s));
  server.on('secureConnection', (s: tls.TLSSocket) => {
    open.add(s);
    s.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  return server;
}

function client(port: number, opts: tls.ConnectionOptions = {}): tls.TLSSocket {
  const c = tls.connect({ host: '127.0.0.1', port, ...clientTls(), ...opts });
  open.add(c);
  c.on('error', () => {});
  return c;
}

/** a listening server of the kind, a client connected to it and the server's side of the connection */
async function connected(server: net.Server): Promise<{ server: net.Server; c: tls.TLSSocket; s: tls.TLSSocket }> {
  keep(server);
  const secure = next<tls.TLSSocket>(server, 'secureConnection');
  const c = client(await listen(server));
  await once(c, 'secureConnect');
  return { server, c, s: await secure };
}

/** polls a condition until it holds (an observable state, not a duration) */
async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

describe.each(tlsServers)('%s', (kind, make) => {
  const native = kind === 'native';

  test("a server socket's reads: setEncoding gives strings (a character split across records arrives whole), pause() keeps chunks in order until resume(), a 'readable' reader reads them", async () => {
    const { c, s } = await connected(make({}));
    const euro = Buffer.from('€'); // 3 bytes in UTF-8
    // strings: 'a' and the character's first byte, then (after the server saw 'a') the rest
    s.setEncoding('utf8');
    const text: unknown[] = [];
    s.on('data', (d: unknown) => text.push(d));
    c.write(Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]));
    await until('the server read the first character', () => text.join('') === 'a');
    c.write(euro.subarray(1));
    await until('the server read the split character', () => text.join('') === 'a€');
    expect(text.every((d) => typeof d === 'string')).toBe(true);
    // pause(): what arrives meanwhile is buffered (bytesRead counts it), then delivered in order
    s.removeAllListeners('data');
    s.setEncoding('latin1');
    s.pause();
    c.write('one,');
    await until('the paused socket buffered one', () => s.readableLength === 4);
    c.write('two,');
    await until('the paused socket buffered two', () => s.readableLength === 8);
    expect(s.isPaused()).toBe(true);
    const after: string[] = [];
    s.on('data', (d: string) => after.push(d));
    s.resume();
    c.write('three');
    await until('the resumed socket read three', () => after.join('') === 'one,two,three');
    // a 'readable' reader: the socket is no longer flowing, read() returns what arrived
    s.removeAllListeners('data');
    const chunks: string[] = [];
    s.on('readable', () => {
      let d: string | null;
      while ((d = s.read() as string | null) !== null) chunks.push(d);
    });
    c.write('four');
    await until("the 'readable' reader read four", () => chunks.join('') === 'four');
    expect(s.readableFlowing).toBe(false);
  });

  test("keepAlive / keepAliveInitialDelay / noDelay: the accepted connection's flags (and, natively, the kernel's)", async () => {
    const server = keep(make({ keepAlive: true, keepAliveInitialDelay: 2000, noDelay: true }));
    const port = await listen(server);
    const accepted = next<net.Socket | NativeTcpSocket>(server, 'connection');
    const c = client(port);
    await once(c, 'secureConnect');
    const s = await accepted;
    expect([socketFlag(s, 'kSetNoDelay'), socketFlag(s, 'kSetKeepAlive'), socketFlag(s, 'kSetKeepAliveInitialDelay')]).toEqual([true, true, 2]);
    expect(s.remotePort).toBe(c.localPort);
    expect(s.remoteAddress).toBe('127.0.0.1');
    if (native) expect((s as NativeTcpSocket).tcpState).toEqual({ noDelay: true, keepAlive: true, keepAliveDelay: 2 });
  });

  test('setKeepAlive / setNoDelay on the secure socket change that connection', async () => {
    const server = keep(make({}));
    const port = await listen(server);
    const accepted = next<net.Socket | NativeTcpSocket>(server, 'connection');
    const secure = next<tls.TLSSocket>(server, 'secureConnection');
    const c = client(port);
    await once(c, 'secureConnect');
    const [tcp, s] = [await accepted, await secure];
    expect([socketFlag(tcp, 'kSetNoDelay'), socketFlag(tcp, 'kSetKeepAlive')]).toEqual([false, false]);
    s.setNoDelay(true);
    s.setKeepAlive(true, 5000);
    if (native) {
      expect((tcp as NativeTcpSocket).tcpState).toEqual({ noDelay: true, keepAlive: true, keepAliveDelay: 5 });
      expect([socketFlag(tcp, 'kSetNoDelay'), socketFlag(tcp, 'kSetKeepAlive'), socketFlag(tcp, 'kSetKeepAliveInitialDelay')]).toEqual([true, true, 5]);
      s.setKeepAlive(false);
      s.setNoDelay(false);
      expect((tcp as NativeTcpSocket).tcpState).toMatchObject({ noDelay: false, keepAlive: false });
    } else {
      // node's TLSSocket keeps the flags on itself and sets them on the shared TCP handle
      expect([socketFlag(s, 'kSetNoDelay'), socketFlag(s, 'kSetKeepAlive'), socketFlag(s, 'kSetKeepAliveInitialDelay')]).toEqual([true, true, 5]);
    }
  });

  test('pauseOnConnect: the connection arrives paused and the handshake runs anyway', async () => {
    const server = keep(make({ pauseOnConnect: true }));
    const port = await listen(server);
    const paused = new Promise<boolean>((r) => server.once('connection', (s: net.Socket) => r(s.isPaused())));
    const c = client(port);
    expect(await paused).toBe(true);
    await once(c, 'secureConnect');
  });

  test('a paused secure socket holds the writer back; resumed, everything arrives; bytesRead / bytesWritten count the plaintext', async () => {
    const total = 16 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + (i >> 12)) & 0xff;
    const { c, s } = await connected(make({}));
    s.write('hello');
    expect((await once(c, 'data'))[0].toString()).toBe('hello');
    s.pause();
    const want = createHash('sha256');
    for (let i = 0; i < total / chunk.length; i++) {
      c.write(chunk);
      want.update(chunk);
    }
    c.end();
    // the reader's buffer is full and the writer still holds most of what it wrote
    await until('the paused reader buffered up to its mark', () => s.readableLength >= s.readableHighWaterMark);
    expect(s.isPaused()).toBe(true);
    expect(c.writableLength).toBeGreaterThan(0);
    expect(s.bytesRead).toBeLessThan(total);
    const got = createHash('sha256');
    s.on('data', (d: Buffer) => got.update(d));
    s.resume();
    await once(s, 'end');
    expect(got.digest('hex')).toBe(want.digest('hex'));
    expect(s.bytesRead).toBe(total);
    expect(s.bytesWritten).toBe(5);
  });

  test("maxConnections: a connection over it is 'drop'ped with its addresses; getConnections counts the open ones", async () => {
    const server = keep(make({}));
    server.maxConnections = 1;
    const port = await listen(server);
    const first = client(port);
    await once(first, 'secureConnect');
    const dropped = next<net.DropArgument>(server, 'drop');
    const second = client(port);
    const d = await dropped;
    expect(d).toMatchObject({ localAddress: '127.0.0.1', localPort: port, remoteAddress: '127.0.0.1', remoteFamily: 'IPv4' });
    await closed(second);
    expect(second.authorized).toBe(false);
    const count = await new Promise<number>((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n))));
    expect(count).toBe(1);
  });

  test("'connection' socket's destroy() closes the connection; the server's close() waits for it", async () => {
    const server = keep(make({}));
    const accepted = next<net.Socket | NativeTcpSocket>(server, 'connection');
    const port = await listen(server);
    const c = client(port);
    await once(c, 'secureConnect');
    const tcp = await accepted;
    let serverClosed = false;
    const closing = new Promise<void>((r) => server.close(() => ((serverClosed = true), r())));
    expect(serverClosed).toBe(false);
    const tcpClosed = closed(tcp as net.Socket);
    tcp.destroy();
    await Promise.all([closed(c), tcpClosed, closing]);
    expect(tcp.destroyed).toBe(true);
  });

  test('destroy() calls back a write the peer did not take (node:tls once it encrypted it, ours with an error: its bytes never left)', async () => {
    const { c, s } = await connected(make({}));
    c.pause();
    const big = Buffer.alloc(64 * 1024 * 1024, 1);
    const called = new Promise<Error | null | undefined>((r) => s.write(big, (e) => r(e)));
    s.destroy();
    const result = await called;
    if (native) expect(result).toBeInstanceOf(Error);
    else expect(result === null || result instanceof Error).toBe(true);
  });

  test('allowHalfOpen: the server writes after the client ended, then ends', async () => {
    const server = keep(make({ allowHalfOpen: true }));
    server.on('secureConnection', (s: tls.TLSSocket) => {
      s.resume();
      s.on('end', () => s.end('after your end'));
    });
    const port = await listen(server);
    const c = client(port, { allowHalfOpen: true } as tls.ConnectionOptions);
    await once(c, 'secureConnect');
    c.end();
    expect((await readAll(c)).toString()).toBe('after your end');
  });

  test('close() with a connection open, then listen() again: the old connection keeps working, new ones are served, and close waits for both', async () => {
    const server = keep(make({}));
    server.on('secureConnection', (s: tls.TLSSocket) => s.pipe(s));
    const port = await listen(server);
    const old = client(port);
    await once(old, 'secureConnect');
    let closedOnce = false;
    server.close(() => (closedOnce = true));
    const port2 = await listen(server);
    const fresh = client(port2);
    await once(fresh, 'secureConnect');
    old.write('still here');
    expect((await once(old, 'data'))[0].toString()).toBe('still here');
    expect(closedOnce).toBe(false);
    const done = new Promise<void>((r) => server.close(() => r()));
    old.end();
    fresh.end();
    await done;
    expect(closedOnce).toBe(true);
  });

  test('a listen() on a taken port is an EADDRINUSE error as net.Server reports it, and the server listens elsewhere afterwards', async () => {
    const first = keep(make({}));
    const taken = await listen(first);
    const server = keep(make({}));
    server.listen(taken, '127.0.0.1');
    const err = await next<NodeJS.ErrnoException & { address?: string; port?: number }>(server, 'error');
    expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'listen', address: '127.0.0.1', port: taken, message: `listen EADDRINUSE: address already in use 127.0.0.1:${taken}` });
    expect(typeof err.errno).toBe('number');
    expect(server.listening).toBe(false);
    expect(await listen(server)).not.toBe(taken);
  });

  test("listen({ host: 'localhost', signal }): the name is looked up; the signal's abort closes the server", async () => {
    const server = keep(make({}));
    const ac = new AbortController();
    server.listen({ port: 0, host: 'localhost', signal: ac.signal });
    await once(server, 'listening');
    const { address } = server.address() as net.AddressInfo;
    expect(['127.0.0.1', '::1']).toContain(address);
    const closing = once(server, 'close');
    ac.abort();
    await closing;
    expect(server.listening).toBe(false);
  });
});

test('the native path refuses the listen() forms it cannot serve, with a reason', () => {
  const s = createServer({ cert, key, connectionPath: 'native' });
  const refused = expect.objectContaining({ code: 'ERR_TLS_OPTION_NOT_SUPPORTED' });
  expect(() => s.listen({ path: '/tmp/x.sock' })).toThrow(refused);
  expect(() => s.listen({ fd: 3 })).toThrow(refused);
  expect(() => s.listen({ port: 0, ipv6Only: true })).toThrow(refused);
  expect(() => s.listen({ port: 0, reusePort: true } as never)).toThrow(refused);
  expect(() => s.listen({ port: 0, exclusive: false })).toThrow(refused);
  expect(() => s.listen('/tmp/pipe-name')).toThrow(refused);
  expect(s.listening).toBe(false);
});

describe.each(httpsServers)('%s HTTP/1.1', (_kind, make) => {
  test('a half-sent request (slowloris) gets 408 once headersTimeout passes, and the connection closes', async () => {
    const server = keep(make({ headersTimeout: 200, requestTimeout: 400, connectionsCheckingInterval: 50 }, (_q, r) => r.end()));
    const port = await listen(server);
    const s = client(port, { ALPNProtocols: ['http/1.1'] });
    await once(s, 'secureConnect');
    s.write('GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    expect((await readAll(s)).toString()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    await closed(s);
  });

  test('a body that trickles past requestTimeout gets 408', async () => {
    const server = keep(make({ headersTimeout: 200, requestTimeout: 300, connectionsCheckingInterval: 50 }, (q, r) => q.on('end', () => r.end('late')).resume()));
    const port = await listen(server);
    const s = client(port, { ALPNProtocols: ['http/1.1'] });
    await once(s, 'secureConnect');
    s.write('POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nabc');
    expect((await readAll(s)).toString()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  test('keepAliveTimeout closes an idle keep-alive connection; the response said keep-alive', async () => {
    const server = keep(make({ keepAliveTimeout: 100 }, (_q, r) => r.end('ok')));
    const port = await listen(server);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    open.add(agent);
    const r = await get(port, '/', { agent });
    expect(r.body).toBe('ok');
    expect(r.res.headers.connection).toBe('keep-alive');
    await closed(r.socket);
  });

  test("maxConnections on the HTTPS server: the extra connection is 'drop'ped, the first one served", async () => {
    const server = keep(make({}, (_q, r) => r.end('ok')));
    server.maxConnections = 1;
    const port = await listen(server);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    open.add(agent);
    expect((await get(port, '/', { agent })).body).toBe('ok');
    const dropped = next(server, 'drop');
    const extra = client(port, { ALPNProtocols: ['http/1.1'] });
    await dropped;
    await closed(extra);
    expect((await get(port, '/again', { agent })).body).toBe('ok');
  });
});

describe.each(['node', 'native'] as const)("sessionOnUncleanClose 'remove' on our %s path", (connectionPath) => {
  test('a TCP reset after the handshake of a connection no listener took removes its session, and the removal is delivered', async () => {
    const server = createServer({ cert, key, sessionOnUncleanClose: 'remove', connectionPath });
    servers.push(server as unknown as net.Server);
    server.on('tlsClientError', () => {});
    const port = await listen(server as unknown as net.Server);
    const added = next(server.context, 'newSession');
    const removed = next<unknown>(server.context, 'removeSession');
    const raw = net.connect({ host: '127.0.0.1', port });
    const c = tls.connect({ socket: raw, ...clientTls() });
    open.add(c);
    c.on('error', () => {});
    await once(c, 'secureConnect');
    await added;
    raw.resetAndDestroy();
    await removed;
    expect(server.context.sessionCount).toBe(0);
  });
});
