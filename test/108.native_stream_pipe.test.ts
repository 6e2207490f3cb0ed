// createHttp2SecureServer on the native connection path runs each session on a native stream
// handle: the connection's plaintext goes over a socketpair whose JS end is a net.Socket
// (native/native_listener_pipe.cc, lib/tls/native_pipe.ts). Each scenario runs against
// node:http2 first, then ours, and asserts the same outcome: the TLS surface of the socket a
// session runs on, large transfers both ways with a consumer that stops reading (every byte
// checked), many concurrent streams, a client that resets its connection mid-response or
// half-closes it, a server that destroys the session or the connection, no descriptor left
// open after many connections, and a resumed session's SETTINGS leaving with its first
// response (one TCP send, not two).
import { createHash } from 'crypto';
import { once } from 'events';
import * as fs from 'fs';
import * as http2 from 'http2';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { Worker } from 'worker_threads';
import { certs, closed, next, readAll } from './helpers/sockets';
import { clientTls, h2Fixture, h2Makers, h2get } from './helpers/http_servers';

const { cert, key } = certs();

const makers = h2Makers;

const { open, start } = h2Fixture();

/** a client session over a TLS 1.2 connection the test holds (`socket()`) */
function connect(port: number, options: tls.ConnectionOptions = {}): { session: http2.ClientHttp2Session; socket: () => tls.TLSSocket; tcp: () => net.Socket } {
  let socket: tls.TLSSocket | undefined;
  let tcp: net.Socket | undefined;
  const session = http2.connect(`https://127.0.0.1:${port}`, {
    createConnection: () => {
      tcp = net.connect(port, '127.0.0.1');
      return (socket = tls.connect({ socket: tcp, ...clientTls(), ALPNProtocols: ['h2'], ...options }));
    },
  });
  open.push(session);
  return { session, socket: () => socket!, tcp: () => tcp! };
}

/** `n` bytes of a pattern that a shifted or dropped chunk breaks */
function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 13)) & 0xff;
  return b;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** writes `data` in 64 KiB chunks, waiting for 'drain' whenever write() says so; `full` at the first full buffer */
async function writeAll(w: NodeJS.WritableStream & { write(b: Buffer): boolean }, data: Buffer, full?: () => void): Promise<void> {
  for (let off = 0; off < data.length; off += 65536) {
    if (!w.write(data.subarray(off, off + 65536))) {
      full?.();
      full = undefined;
      await once(w as unknown as NodeJS.EventEmitter, 'drain');
    }
  }
  w.end();
}

/**
 * A worker's HTTP/2 client, resuming `workerData.session`, over its TCP connection as a Duplex
 * (node:tls reads it as a JS stream): it posts the response body and each read from the
 * server (what had arrived when the socket read). After the server's first flight (a
 * resumption's ServerHello, ChangeCipherSpec and Finished) the client's writes are held until
 * it writes application data and go out as one write: the server reads the client's
 * Finished, the HTTP/2 preface and the request together.
 */
const RECORDING_CLIENT = `
  const { parentPort, workerData } = require('worker_threads');
  const { Duplex } = require('stream');
  const http2 = require('http2');
  const net = require('net');
  const tls = require('tls');
  const hasApplicationData = (b) => {
    for (let off = 0; off + 5 <= b.length; off += 5 + b.readUInt16BE(off + 3)) if (b[off] === 23) return true;
    return false;
  };
  const tcp = net.connect(workerData.port, '127.0.0.1');
  tcp.setNoDelay(true);
  const chunks = [];
  let held;
  const transport = new Duplex({
    read() {},
    write(chunk, _encoding, callback) {
      if (held === undefined) tcp.write(chunk);
      else {
        held.push(chunk);
        if (hasApplicationData(chunk)) {
          tcp.write(Buffer.concat(held));
          held = [];
        }
      }
      callback();
    },
    final(callback) { tcp.end(); callback(); },
    destroy(err, callback) { tcp.destroy(); callback(err); },
  });
  tcp.on('data', (d) => {
    if (chunks.length === 0) held = [];
    chunks.push(d);
    transport.push(d);
  });
  tcp.on('end', () => transport.push(null));
  tcp.on('error', (e) => transport.destroy(e));
  let socket;
  const client = http2.connect('https://127.0.0.1:' + workerData.port, {
    createConnection: () => (socket = tls.connect({ socket: transport, ca: workerData.ca, servername: 'localhost', maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'], session: Buffer.from(workerData.session) })),
  });
  client.on('error', () => undefined);
  const req = client.request({ ':path': '/' });
  const parts = [];
  req.on('data', (d) => parts.push(d));
  req.on('end', () => {
    parentPort.postMessage({ body: Buffer.concat(parts), reused: socket.isSessionReused(), chunks });
    client.close();
  });
  req.end();
`;

/** the bytes of application-data records (type 23) that start in `b` */
function applicationDataBytes(b: Buffer): number {
  let n = 0;
  for (let off = 0; off + 5 <= b.length; off += 5 + b.readUInt16BE(off + 3)) if (b[off] === 23) n += b.readUInt16BE(off + 3);
  return n;
}

describe.each(makers)('%s', (_name, make) => {
  test("the socket a session runs on has a native stream handle and node:tls's surface: addresses of the TCP peer, certificate, cipher, resumption", async () => {
    const seen: Record<string, unknown>[] = [];
    const server = make({ cert, key }, (req, res) => {
      const s = req.stream.session!.socket as tls.TLSSocket & { _handle?: { isStreamBase?: boolean } };
      seen.push({
        streamHandle: s._handle?.isStreamBase === true,
        encrypted: s.encrypted,
        alpn: s.alpnProtocol,
        remote: [s.remoteAddress, s.remotePort, s.remoteFamily],
        local: [s.localAddress, s.localPort],
        // node:http2 over node:tls shows no server name on a resumed connection: compared on the full one
        servername: s.isSessionReused() ? 'not compared' : s.servername,
        authorized: s.authorized,
        peer: s.getPeerCertificate(),
        protocol: s.getProtocol(),
        cipher: s.getCipher().name,
        reused: s.isSessionReused(),
        hasSession: Buffer.isBuffer(s.getSession()),
        sameAsReq: (req.socket as unknown as tls.TLSSocket).remotePort === s.remotePort,
      });
      res.end('ok');
    });
    const port = await start(server);
    let offer: Buffer | undefined;
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const c = connect(port, { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', session: offer });
      c.socket().on('session', (s: Buffer) => (offer = s));
      expect(await h2get(c.session, '/')).toEqual({ status: 200, body: 'ok' });
      ports.push(c.socket().localPort!);
      c.session.close();
      await closed(c.socket());
    }
    const view = (clientPort: number, reused: boolean) => ({
      streamHandle: true,
      encrypted: true,
      alpn: 'h2',
      remote: ['127.0.0.1', clientPort, 'IPv4'],
      local: ['127.0.0.1', port],
      servername: reused ? 'not compared' : 'localhost',
      authorized: false,
      peer: {},
      protocol: 'TLSv1.2',
      cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
      reused,
      hasSession: true,
      sameAsReq: true,
    });
    expect(seen).toEqual([view(ports[0], false), view(ports[1], true)]);
  });

  test('a 16 MiB download to a client that stops reading until the server is held back, and a 16 MiB upload to a server that does the same: every byte arrives', async () => {
    const data = pattern(16 * 1024 * 1024);
    let serverFull!: () => void;
    const serverHeld = new Promise<void>((resolve) => (serverFull = resolve));
    let clientFull!: () => void;
    const clientHeld = new Promise<void>((resolve) => (clientFull = resolve));
    const server = make({ cert, key }, (req, res) => {
      if (req.url === '/down') {
        req.resume();
        void writeAll(res as never, data, serverFull);
        return;
      }
      // the upload: nothing is read until the client's writes are held back
      req.pause();
      void clientHeld.then(() => {
        void readAll(req as unknown as NodeJS.ReadableStream).then((b) => res.end(`${b.length} ${sha(b)}`));
        req.resume();
      });
    });
    const port = await start(server);
    const c = connect(port);
    const down = c.session.request({ ':path': '/down' });
    down.pause();
    down.end();
    await serverHeld; // the server's response is held back by the client that does not read
    const got = readAll(down);
    down.resume();
    expect((await got).equals(data)).toBe(true);
    const up = c.session.request({ ':path': '/up', ':method': 'POST' });
    const answer = readAll(up);
    await writeAll(up as never, data, clientFull);
    expect((await answer).toString()).toBe(`${data.length} ${sha(data)}`);
  });

  test('300 concurrent streams on one session, each answered with its own body', async () => {
    const port = await start(make({ cert, key }, (req, res) => res.end(`${req.url}:${'x'.repeat(Number(req.url!.slice(1)))}`)));
    const c = connect(port);
    const n = 300;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => h2get(c.session, `/${i * 37}`)));
    expect(answers).toEqual(Array.from({ length: n }, (_, i) => ({ status: 200, body: `/${i * 37}:${'x'.repeat(i * 37)}` })));
  });

  test('a client that resets its connection in the middle of a large response: the server stream and session close, and the next session is served', async () => {
    const server = make({ cert, key });
    server.on('sessionError', () => undefined);
    const streamClosed = new Promise<void>((resolve) => {
      server.on('stream', (stream, headers) => {
        if (headers[':path'] !== '/big') {
          stream.respond({ ':status': 200 });
          stream.end('after');
          return;
        }
        stream.on('error', () => undefined);
        stream.on('close', () => resolve());
        stream.respond({ ':status': 200 });
        void writeAll(stream as never, pattern(32 * 1024 * 1024)).catch(() => undefined);
      });
    });
    const sessionClosed = new Promise<void>((resolve) => server.once('session', (s: http2.ServerHttp2Session) => s.once('close', () => resolve())));
    const port = await start(server);
    const c = connect(port);
    c.session.on('error', () => undefined);
    const req = c.session.request({ ':path': '/big' });
    req.on('error', () => undefined);
    req.end();
    await once(req, 'data');
    c.tcp().resetAndDestroy();
    await streamClosed;
    await sessionClosed;
    const again = connect(port);
    expect(await h2get(again.session, '/next')).toEqual({ status: 200, body: 'after' });
  });

  test('a client that ends its TLS connection after its response: the server ends its side too and the connection closes', async () => {
    const server = make({ cert, key }, (_req, res) => res.end('ok'));
    const sessionClosed = new Promise<void>((resolve) => server.once('session', (s: http2.ServerHttp2Session) => s.once('close', () => resolve())));
    const port = await start(server);
    const c = connect(port);
    c.session.on('error', () => undefined);
    expect(await h2get(c.session, '/')).toEqual({ status: 200, body: 'ok' });
    const socket = c.socket();
    const ended = once(socket, 'end');
    socket.end();
    await ended; // the server's close_notify / FIN
    await sessionClosed;
    await closed(socket);
  });

  test("the server destroys a session, then a connection ('secureConnection' socket): the client's session closes each time and the server goes on", async () => {
    const server = make({ cert, key });
    const sockets: tls.TLSSocket[] = [];
    server.on('secureConnection', (s: tls.TLSSocket) => sockets.push(s));
    server.on('stream', (stream, headers) => {
      if (headers[':path'] === '/destroy-session') {
        stream.session!.destroy();
        return;
      }
      stream.respond({ ':status': 200 });
      stream.end(String(headers[':path']));
    });
    const port = await start(server);
    const first = connect(port);
    first.session.on('error', () => undefined);
    const r = first.session.request({ ':path': '/destroy-session' });
    r.on('error', () => undefined);
    r.end();
    await closed(first.session as never);
    await closed(first.socket());
    const second = connect(port);
    second.session.on('error', () => undefined);
    expect(await h2get(second.session, '/a')).toEqual({ status: 200, body: '/a' });
    const serverSocket = sockets[sockets.length - 1];
    const serverClosed = closed(serverSocket);
    serverSocket.destroy();
    await closed(second.session as never);
    await serverClosed;
    const third = connect(port);
    expect(await h2get(third.session, '/b')).toEqual({ status: 200, body: '/b' });
  });

  test("a resumed session's SETTINGS leave with its first response: the first application data the client reads carries the whole response", async () => {
    const body = pattern(3000);
    const server = make({ cert, key }, (_req, res) => res.end(body));
    const port = await start(server);
    // a first connection for the session to resume
    const first = connect(port);
    expect((await h2get(first.session, '/')).status).toBe(200);
    const session = first.socket().getSession()!;
    first.session.close();
    await closed(first.socket());

    // the client runs on its own thread and event loop (a worker): it reads each send of the
    // server as it arrives, where a client on the server's loop reads only after the server's turn
    const worker = new Worker(RECORDING_CLIENT, { eval: true, workerData: { port, session, ca: cert } });
    const result = await next<{ body: Uint8Array; reused: boolean; chunks: Uint8Array[] }>(worker, 'message');
    await worker.terminate();
    expect(sha(Buffer.from(result.body))).toBe(sha(body));
    expect(result.reused).toBe(true);
    // the server's sends as the client read them: its resumption flight, then the first with application data
    const chunks = result.chunks.map((c) => Buffer.from(c));
    const firstData = chunks.find((c) => applicationDataBytes(c) > 0)!;
    expect(chunks.indexOf(firstData)).toBeGreaterThan(0);
    expect(applicationDataBytes(firstData)).toBeGreaterThan(body.length);
  });

  test('no descriptor stays open: 20 connections, each closed by the client or the server, leave the process with the descriptors it had', async () => {
    const count = () => fs.readdirSync('/proc/self/fd').length;
    const server = make({ cert, key });
    const closings: Promise<void>[] = [];
    server.on('secureConnection', (s: tls.TLSSocket) => closings.push(closed(s)));
    server.on('session', (s: http2.ServerHttp2Session) => {
      closings.push(closed(s as never));
      // the socket the session runs on (a net.Socket over the pipe on our native path)
      closings.push(new Promise<void>((resolve) => (s.socket as unknown as net.Socket).once('close', () => resolve())));
    });
    server.on('stream', (stream, headers) => {
      if (headers[':path'] === '/server-closes') stream.session!.close();
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    const port = await start(server);
    const round = async (i: number) => {
      const c = connect(port);
      c.session.on('error', () => undefined);
      expect(await h2get(c.session, i % 2 ? '/server-closes' : '/')).toEqual({ status: 200, body: 'ok' });
      if (i % 2 === 0) c.session.close();
      await closed(c.session as never);
      await closed(c.socket());
    };
    await round(0); // the first connection loads what the process keeps (modules, ...)
    await Promise.all(closings.splice(0));
    const before = count();
    for (let i = 1; i <= 20; i++) await round(i);
    const waited = closings.splice(0);
    await Promise.all(waited);
    expect(waited).toHaveLength(20 * 3); // the TLS socket, the session and its socket of each connection
    expect(count()).toBe(before);
  });
});

describe('ours, native path, in a worker thread', () => {
  test('a worker whose environment stops with sessions on socketpairs (one mid-response): the client sessions close, the process goes on and has the descriptors it had', async () => {
    const count = () => fs.readdirSync('/proc/self/fd').length;
    const dist = path.join(__dirname, '..', 'dist', 'index.js');
    const source = `const { parentPort } = require('worker_threads');
       const lib = require(${JSON.stringify(dist)});
       const s = lib.createHttp2SecureServer({ cert: ${JSON.stringify(cert)}, key: ${JSON.stringify(key)}, connectionPath: 'native' });
       s.on('stream', (stream, headers) => {
         stream.respond({ ':status': 200 });
         if (headers[':path'] === '/endless') {
           const chunk = Buffer.alloc(65536, 1);
           const more = () => { while (stream.write(chunk)); };
           stream.on('drain', more);
           more();
           parentPort.postMessage('streaming');
           return;
         }
         stream.end('ok');
       });
       s.listen(0, '127.0.0.1', () => parentPort.postMessage(s.address().port));`;
    // one worker first: what a worker leaves loaded in the process (modules, the addon) is not a leak
    const warm = new Worker(source, { eval: true });
    await next<number>(warm, 'message');
    await warm.terminate();
    const before = count();
    const worker = new Worker(source, { eval: true });
    const port = await next<number>(worker, 'message');
    const a = connect(port);
    a.session.on('error', () => undefined);
    expect(await h2get(a.session, '/')).toEqual({ status: 200, body: 'ok' });
    const b = connect(port);
    b.session.on('error', () => undefined);
    const endless = b.session.request({ ':path': '/endless' });
    endless.on('error', () => undefined);
    endless.resume();
    endless.end();
    await next(worker, 'message'); // 'streaming'
    await worker.terminate();
    await Promise.all([closed(a.session as never), closed(b.session as never), closed(a.socket()), closed(b.socket())]);
    expect(count()).toBe(before);
  });
});
