// createServer({ connectionPath: 'native' }): connections accepted, handshaken, read, written
// and closed in native code on Node's loop, on the server's SSL_CTX. Real clients only:
// node:tls, the machine's openssl s_client, OpenSSL 1.0.2h's s_client, node:https.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { createHttp2SecureServer, createHttpsServer, createServer, generateSelfSigned, SslContext, TlsServer } from '../lib';
import type { NativeTlsSocket } from '../lib';
import { sClient } from './helpers/openssl_cli';
import { interactive102, run102 } from './helpers/openssl102';
import { Worker } from 'worker_threads';
import { captureClientHello, certFiles, certs, closed, endNode, listen, next, nodeClient, readAll, record, reframe } from './helpers/sockets';

const { cert, key } = certs();
const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;

let server: TlsServer | undefined;
const open = new Set<{ destroy(): unknown }>();

/** 'secureConnection' of a native-path server: its sockets are NativeTlsSockets */
function onNative(s: TlsServer, f: (socket: NativeTlsSocket) => void): void {
  s.on('secureConnection', f as never);
}

function start(onSecure?: (s: NativeTlsSocket) => void): Promise<number> {
  server = createServer({ cert, key, connectionPath: 'native' });
  onNative(server, (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    if (onSecure) onSecure(s);
    else s.pipe(s); // echo
  });
  return listen(server);
}

afterEach(async () => {
  for (const s of open) s.destroy();
  open.clear();
  const s = server;
  server = undefined;
  if (s?.listening) await new Promise<void>((r) => s.close(() => r()));
});

describe('handshakes', () => {
  test('node:tls: the handshake completes, data echoes, and the second connection resumes from the same SSL_CTX cache', async () => {
    const secure: NativeTlsSocket[] = [];
    const seen: { protocol: string | null; cipher?: string; address?: string; reused: boolean }[] = [];
    const port = await start((s) => {
      secure.push(s);
      // the connection's details, read while it is open
      seen.push({ protocol: s.getProtocol(), cipher: s.getCipher()?.name, address: s.remoteAddress, reused: s.isSessionReused() });
      s.pipe(s);
    });
    const newSessions: unknown[] = [];
    server!.context.on('newSession', (s) => newSessions.push(s));
    const a = await nodeClient(port, { secureOptions: NO_TICKET });
    expect(a.socket.isSessionReused()).toBe(false);
    const session = await a.session();
    a.socket.write('hello');
    expect((await next<Buffer>(a.socket, 'data')).toString()).toBe('hello');
    await endNode(a.socket);
    // the native handshake's new-session event was settled before 'secureConnection'
    expect(newSessions).toHaveLength(1);
    expect(server!.context.sessionCount).toBe(1);

    const b = await nodeClient(port, { session, secureOptions: NO_TICKET });
    expect(b.socket.isSessionReused()).toBe(true);
    b.socket.write('again');
    expect((await next<Buffer>(b.socket, 'data')).toString()).toBe('again');
    await endNode(b.socket);

    expect(secure).toHaveLength(2); // 'secureConnection' once per connection
    expect(seen.map((s) => s.reused)).toEqual([false, true]);
    expect(seen[1].protocol).toBe('TLSv1.2');
    expect(seen[1].cipher).toMatch(/^[A-Z0-9-]+$/);
    expect(seen[1].address).toBe('127.0.0.1');
    expect(secure[1].getProtocol()).toBeNull(); // closed: as a TLSSocket (and node:tls) without its connection
    expect(server!.context.stats.hits).toBe(1);
    expect(newSessions).toHaveLength(1);
  });

  test('OpenSSL 1.0.2h s_client: -sess_out then -sess_in says "Reused"', async () => {
    const port = await start();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-native-'));
    try {
      const file = path.join(dir, 'sess.pem');
      const base = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-no_ticket'];
      const a = await run102([...base, '-sess_out', file]);
      expect(a.out).toMatch(/^New, TLSv1\/SSLv3, Cipher is /m);
      const b = await run102([...base, '-sess_in', file]);
      expect(b.out).toMatch(/^Reused, TLSv1\/SSLv3, Cipher is /m);
      expect(server!.context.stats.hits).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the machine's openssl s_client (OpenSSL 3) completes a verified handshake", async () => {
    const port = await start();
    const files = certFiles('osc-native-');
    try {
      const r = await sClient(['-connect', `127.0.0.1:${port}`, '-tls1_2', '-servername', 'localhost', '-CAfile', files.certFile]);
      expect(r.out).toMatch(/^New, TLSv1\.2, Cipher is /m);
      expect(r.out).toMatch(/Verify return code: 0 \(ok\)/);
    } finally {
      files.remove();
    }
  });

  test('without a secureConnection listener the connection stays native and still completes and closes', async () => {
    server = createServer({ cert, key, connectionPath: 'native' });
    const port = await listen(server);
    const c = await nodeClient(port, { secureOptions: NO_TICKET });
    expect(c.socket.authorized).toBe(true);
    await endNode(c.socket);
    expect(server.context.stats.acceptGood).toBe(1);
  });
});

describe('failures', () => {
  test('a client sending garbage gets its connection closed and the server a tlsClientError', async () => {
    const port = await start();
    let secure = 0;
    server!.on('secureConnection', () => secure++);
    const failed = next<Error>(server!, 'tlsClientError');
    const c = net.connect(port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    c.on('error', () => {});
    const got = readAll(c);
    const err = await failed;
    expect(err).toBeInstanceOf(Error);
    expect((err as Error & { code?: string }).code).toMatch(/^ERR_/);
    await got; // the server closed the connection
    await closed(c);
    expect(secure).toBe(0);
  });

  test('a client that leaves before the handshake ends is a tlsClientError ECONNRESET', async () => {
    const port = await start();
    const failed = next<Error & { code?: string }>(server!, 'tlsClientError');
    const c = net.connect(port, '127.0.0.1', () => c.end());
    c.on('error', () => {});
    expect((await failed).code).toBe('ECONNRESET');
    await closed(c);
  });

  test('a client that sends nothing fails with ERR_TLS_HANDSHAKE_TIMEOUT and is closed', async () => {
    server = createServer({ cert, key, connectionPath: 'native', handshakeTimeout: 50 });
    const port = await listen(server);
    const failed = next<Error & { code?: string }>(server, 'tlsClientError');
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => {});
    const err = await failed;
    expect(err.code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    expect(err.message).toBe('TLS handshake timed out after 50 ms');
    await closed(c);
  });
});

describe('the listener', () => {
  test("close() releases the port: 'close' follows, then connections are refused", async () => {
    const port = await start();
    const c = await nodeClient(port, { secureOptions: NO_TICKET });
    const s = server!;
    let closedEvent = false;
    const done = new Promise<void>((r) => s.close(() => r()));
    s.once('close', () => (closedEvent = true));
    expect(s.listening).toBe(false);
    // the open connection still works until it ends; 'close' waits for it
    c.socket.write('x');
    expect((await next<Buffer>(c.socket, 'data')).toString()).toBe('x');
    expect(closedEvent).toBe(false);
    await endNode(c.socket);
    await done;
    expect(closedEvent).toBe(true);
    expect(s.address()).toBeNull();
    const refused = await new Promise<string | undefined>((resolve) => {
      const p = net.connect(port, '127.0.0.1', () => {
        p.destroy();
        resolve(undefined);
      });
      p.on('error', (e: Error & { code?: string }) => resolve(e.code));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  test('unref(): a process whose only handle is an unref-ed native listener exits by itself', async () => {
    const dist = path.join(__dirname, '..', 'dist', 'index.js');
    const program = `
      const lib = require(${JSON.stringify(dist)});
      const { cert, key } = lib.generateSelfSigned();
      const s = lib.createServer({ cert, key, connectionPath: 'native' });
      s.listen(0, '127.0.0.1', () => { console.log('listening', s.listening); s.unref(); });`;
    const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(out.trim()).toBe('listening true');
    expect(code).toBe(0);
  });

  test('what the native path does not implement is refused, not ignored', () => {
    expect(() => createServer({ cert, key, connectionPath: 'fast' as never })).toThrow(TypeError);
    expect(() => createServer({ cert, key, connectionPath: 'native' }).listen({ path: path.join(os.tmpdir(), 'x.sock') })).toThrow(
      expect.objectContaining({ code: 'ERR_TLS_OPTION_NOT_SUPPORTED' }),
    );
  });
});

describe('application data', () => {
  test('node:http answers keep-alive requests on NativeTlsSockets', async () => {
    const app = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`hello ${req.url}`);
    });
    await start((s) => app.emit('connection', s));
    const port = (server!.address() as net.AddressInfo).port;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cert, maxVersion: 'TLSv1.2' });
    try {
      const get = (p: string) =>
        new Promise<{ body: string; status: number; local: number }>((resolve, reject) => {
          https
            .get({ host: '127.0.0.1', port, path: p, agent, servername: 'localhost' }, (res) => {
              let body = '';
              const local = res.socket.localPort ?? 0;
              res.setEncoding('utf8');
              res.on('data', (d: string) => (body += d));
              res.on('end', () => resolve({ body, status: res.statusCode ?? 0, local }));
            })
            .on('error', reject);
        });
      const one = await get('/a');
      const two = await get('/b');
      expect(one).toMatchObject({ status: 200, body: 'hello /a' });
      expect(two).toMatchObject({ status: 200, body: 'hello /b' });
      expect(two.local).toBe(one.local); // one connection, kept alive
    } finally {
      agent.destroy();
    }
  });

  test('a large write reaches the client whole (backpressure through the native write queue)', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 0x5a);
    await start((s) => s.end(big));
    const port = (server!.address() as net.AddressInfo).port;
    const c = await nodeClient(port, { secureOptions: NO_TICKET });
    const got = await readAll(c.socket);
    expect(got.length).toBe(big.length);
    expect(got.every((b) => b === 0x5a)).toBe(true);
    c.socket.end();
    await closed(c.socket);
  });
});

/** a TCP relay to 127.0.0.1:port that forwards the client's bytes one byte per write */
async function byteRelay(port: number): Promise<{ port: number; stop: () => Promise<void> }> {
  const relay = net.createServer((inbound) => {
    const outbound = net.connect(port, '127.0.0.1');
    outbound.setNoDelay(true);
    let chain = Promise.resolve();
    inbound.on('data', (d: Buffer) => {
      for (const byte of d) {
        chain = chain.then(() => new Promise<void>((r) => (outbound.destroyed ? r() : outbound.write(Buffer.from([byte]), () => r()))));
      }
    });
    inbound.on('end', () => void chain.then(() => outbound.end()));
    outbound.pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    inbound.on('close', () => outbound.destroy());
  });
  const relayPort = await listen(relay);
  return { port: relayPort, stop: () => new Promise<void>((r) => relay.close(() => r())) };
}

let helloCache: Buffer | undefined;
/** a ClientHello of node's tls client, as bytes a raw TCP client can send */
async function clientHello(): Promise<Buffer> {
  helloCache ??= await captureClientHello((p) => {
    const c = net.connect(p, '127.0.0.1');
    return require('tls').connect({ socket: c, servername: 'localhost', maxVersion: 'TLSv1.2' });
  });
  return helloCache;
}

/** a raw TCP client that sent `bytes` and is connected */
function rawClient(port: number, bytes?: Buffer): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => {
      if (bytes) c.write(bytes, () => resolve(c));
      else resolve(c);
    });
    c.once('error', reject);
  });
}

/** `n` events of `name` on `e` */
function count(e: NodeJS.EventEmitter, name: string, n: number): Promise<unknown[]> {
  const got: unknown[] = [];
  return new Promise((resolve) => {
    const f = (x: unknown) => {
      got.push(x);
      if (got.length === n) {
        e.off(name, f);
        resolve(got);
      }
    };
    e.on(name, f);
  });
}

describe('renegotiation', () => {
  test('a client-initiated renegotiation (1.0.2h s_client "R") fails the connection with ERR_TLS_RENEGOTIATION_DISABLED; nothing of the second handshake goes out', async () => {
    let onSecure!: (s: NativeTlsSocket) => void;
    const secure = new Promise<NativeTlsSocket>((resolve) => (onSecure = resolve));
    const port = await start((s) => {
      s.on('error', () => undefined);
      s.resume();
      onSecure(s);
    });
    const files = certFiles('osc-native-reneg-');
    try {
      const peer = interactive102(['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', files.certFile, '-no_ticket']);
      const s = await secure;
      const failed = next<Error & { code?: string }>(s, 'error').catch((e: Error & { code?: string }) => e);
      const gone = closed(s);
      peer.proc.stdin!.write('R\n');
      await peer.saw('RENEGOTIATING');
      const err = await failed;
      await gone;
      await peer.exited;
      expect(err.code).toBe('ERR_TLS_RENEGOTIATION_DISABLED');
      expect(s.destroyed).toBe(true);
      // s_client verified the server once: no second Certificate came
      expect(peer.out().match(/^depth=0 /gm)).toHaveLength(1);
      // the first handshake's session stays resumable
      expect(server!.context.sessionCount).toBe(1);
      const again = await run102(['s_client', '-connect', `127.0.0.1:${port}`, '-no_ticket', '-reconnect']);
      expect(again.out).toMatch(/^Reused, /m);
    } finally {
      files.remove();
    }
  });

  test('a renegotiation on a connection JS does not stream is a tlsClientError ERR_TLS_RENEGOTIATION_DISABLED', async () => {
    server = createServer({ cert, key, connectionPath: 'native' });
    const port = await listen(server);
    const failed = next<Error & { code?: string }>(server, 'tlsClientError');
    const peer = interactive102(['s_client', '-connect', `127.0.0.1:${port}`, '-no_ticket']);
    await peer.saw('Verify return code');
    peer.proc.stdin!.write('R\n');
    expect((await failed).code).toBe('ERR_TLS_RENEGOTIATION_DISABLED');
    await peer.exited;
    expect(server.context.stats.acceptGood).toBe(1);
  });

  test("node:tls's renegotiate() is refused: the server socket errors with ERR_TLS_RENEGOTIATION_DISABLED and closes", async () => {
    let serverSide!: NativeTlsSocket;
    const port = await start((s) => {
      serverSide = s;
      s.on('error', () => undefined);
      s.resume();
    });
    const c = await nodeClient(port, { secureOptions: NO_TICKET });
    c.socket.on('error', () => undefined);
    const failed = next<Error & { code?: string }>(serverSide, 'error').catch((e: Error & { code?: string }) => e);
    const serverClosed = closed(serverSide);
    expect(c.socket.renegotiate({ rejectUnauthorized: false }, () => undefined)).toBe(true);
    c.socket.write('after'); // node's client sends its ClientHello with the next record
    expect((await failed).code).toBe('ERR_TLS_RENEGOTIATION_DISABLED');
    await serverClosed;
    expect(serverSide.destroyed).toBe(true);
    c.socket.destroy();
  });
});

describe('hostile peers', () => {
  test('a ClientHello (and the rest of the handshake) in 1-byte writes completes, and data echoes', async () => {
    const port = await start();
    const relay = await byteRelay(port);
    try {
      const c = await nodeClient(relay.port, { secureOptions: NO_TICKET });
      c.socket.write('split');
      expect((await next<Buffer>(c.socket, 'data')).toString()).toBe('split');
      await endNode(c.socket);
    } finally {
      await relay.stop();
    }
  });

  test('records larger than TLS allows fail the handshake with a coded tlsClientError; 16 KiB+ writes of a real client echo whole', async () => {
    const port = await start();
    const failed = next<Error & { code?: string }>(server!, 'tlsClientError');
    // a handshake record announcing 65535 bytes (TLS allows 16384 + 2048)
    const body = Buffer.concat([Buffer.from([1, 0, 0xff, 0xfb, 3, 3]), Buffer.alloc(20000, 1)]);
    const c = await rawClient(port, Buffer.concat([record(22, Buffer.alloc(0)).subarray(0, 3), Buffer.from([0xff, 0xff]), body]));
    c.on('error', () => undefined);
    const err = await failed;
    expect(err.code).toMatch(/^ERR_(SSL|TLS)_[A-Z_]+$/);
    expect(err.message).toMatch(/length|long|overflow/i);
    c.resume();
    await closed(c);

    const big = Buffer.alloc(100 * 1024, 0x61);
    const t = await nodeClient(port, { secureOptions: NO_TICKET });
    const got: Buffer[] = [];
    let n = 0;
    const all = new Promise<void>((resolve) =>
      t.socket.on('data', (d: Buffer) => {
        got.push(d);
        n += d.length;
        if (n >= big.length) resolve();
      }),
    );
    t.socket.write(big);
    await all;
    expect(Buffer.concat(got).equals(big)).toBe(true);
    await endNode(t.socket);
  });

  test('clients that leave mid-handshake and mid-write leave the server working', async () => {
    const port = await start((s) => {
      s.on('error', () => undefined);
      s.write(Buffer.alloc(8 * 1024 * 1024, 0x62));
    });
    const failed = next<Error & { code?: string }>(server!, 'tlsClientError');
    const half = await rawClient(port, (await clientHello()).subarray(0, 40));
    half.destroy();
    expect((await failed).code).toMatch(/^(ECONNRESET|EPIPE)$/);

    const closedServerSide = next<NativeTlsSocket>(server!, 'secureConnection').then((s) => closed(s));
    const c = await nodeClient(port, { secureOptions: NO_TICKET });
    await next(c.socket, 'data'); // the server is writing
    c.socket.destroy();
    await closedServerSide;

    const ok = await nodeClient(port, { secureOptions: NO_TICKET });
    expect(ok.socket.authorized).toBe(true);
    ok.socket.destroy();
  });

  test('a client that never reads: the server socket reports backpressure and the native queue stays bounded; everything arrives once it reads', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x63);
    let accepted = 0;
    let secureSide!: NativeTlsSocket;
    let onStalled!: () => void;
    const stalled = new Promise<void>((resolve) => (onStalled = resolve));
    const port = await start((s) => {
      secureSide = s;
      // write until the Duplex says stop
      while (s.write(chunk, () => (accepted += chunk.length))) {
        if (s.writableLength > 1024 * 1024 * 1024) break;
      }
      onStalled();
    });
    const c = await nodeClient(port, { secureOptions: NO_TICKET });
    c.socket.pause();
    await stalled;
    // what the native side took before it pushed back is what the kernel's buffers hold and
    // one write more, not everything the server produced
    expect(secureSide.writableNeedDrain).toBe(true);
    const kernel = 4 * 1024 * 1024 + 32 * 1024 * 1024; // tcp_wmem / tcp_rmem maxima here
    expect(secureSide.writableLength).toBeLessThanOrEqual(kernel + 2 * chunk.length);
    const written = secureSide.writableLength + accepted;
    const finished = next(secureSide, 'finish');
    secureSide.end();
    const got = await readAll(c.socket.resume());
    await finished;
    expect(got.length).toBe(written);
    expect(accepted).toBe(written);
  });

  test('200 connections opened and dropped at once: 200 tlsClientErrors, and the server still serves', async () => {
    const port = await start();
    const hello = await clientHello();
    const failures = count(server!, 'tlsClientError', 200);
    const clients = await Promise.all(Array.from({ length: 200 }, (_, i) => rawClient(port, i % 2 ? hello.subarray(0, 10) : undefined)));
    for (const c of clients) {
      c.on('error', () => undefined);
      if (clients.indexOf(c) % 3 === 0) c.resetAndDestroy();
      else c.destroy();
    }
    const errs = (await failures) as (Error & { code?: string })[];
    expect(errs.every((e) => typeof e.code === 'string')).toBe(true);
    const ok = await nodeClient(port, { secureOptions: NO_TICKET });
    ok.socket.write('still');
    expect((await next<Buffer>(ok.socket, 'data')).toString()).toBe('still');
    await endNode(ok.socket);
  });

  test("server.close() with connections mid-handshake: 'close' waits for them; they fail as tlsClientErrors when they leave", async () => {
    const port = await start();
    const hello = await clientHello();
    // each has its ServerHello flight: accepted, and waiting for the client's next flight
    const clients = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const c = await rawClient(port, hello);
        await next(c, 'data');
        return c;
      }),
    );
    const s = server!;
    let closedEvent = false;
    const done = new Promise<void>((r) => s.close(() => ((closedEvent = true), r())));
    const failures = count(s, 'tlsClientError', 5);
    expect(s.listening).toBe(false);
    expect(closedEvent).toBe(false);
    for (const c of clients) {
      c.on('error', () => undefined);
      c.destroy();
    }
    await failures;
    await done;
    expect(closedEvent).toBe(true);
  });

  test('a worker thread whose environment stops with a native listener and a connection mid-handshake: the process goes on', async () => {
    const dist = path.join(__dirname, '..', 'dist', 'index.js');
    const worker = new Worker(
      `const { parentPort } = require('worker_threads');
       const lib = require(${JSON.stringify(dist)});
       const { cert, key } = lib.generateSelfSigned();
       const s = lib.createServer({ cert, key, connectionPath: 'native' });
       s.on('tlsClientError', () => {});
       s.listen(0, '127.0.0.1', () => parentPort.postMessage(s.address().port));`,
      { eval: true },
    );
    const port = await next<number>(worker, 'message');
    const c = await rawClient(port, (await clientHello()).subarray(0, 30));
    c.on('error', () => undefined);
    const gone = closed(c);
    c.resume();
    await worker.terminate();
    await gone; // the worker's teardown closed the connection
    const ok = await start();
    const t = await nodeClient(ok, { secureOptions: NO_TICKET });
    expect(t.socket.authorized).toBe(true);
    await endNode(t.socket);
  });
});

describe('ALPN', () => {
  function alpnServer(protocols: string[], onSecure?: (s: NativeTlsSocket) => void): Promise<number> {
    server = createServer({ cert, key, connectionPath: 'native', ALPNProtocols: protocols });
    onNative(server, (s) => {
      open.add(s);
      s.on('close', () => open.delete(s));
      onSecure?.(s);
      s.resume();
    });
    return listen(server);
  }

  test("the server's preference order wins; both sides see the protocol", async () => {
    let onSecure!: (p: string | false) => void;
    const serverSaw = new Promise<string | false>((r) => (onSecure = r));
    const port = await alpnServer(['h2', 'http/1.1'], (s) => onSecure(s.alpnProtocol));
    const c = await nodeClient(port, { ALPNProtocols: ['http/1.1', 'h2'], secureOptions: NO_TICKET });
    expect(c.socket.alpnProtocol).toBe('h2');
    expect(await serverSaw).toBe('h2');
    await endNode(c.socket);
    const d = await nodeClient(port, { ALPNProtocols: ['x-other', 'http/1.1'], secureOptions: NO_TICKET });
    expect(d.socket.alpnProtocol).toBe('http/1.1');
    await endNode(d.socket);
  });

  test('a client without ALPN: no protocol on either side', async () => {
    let onSecure!: (p: string | false) => void;
    const serverSaw = new Promise<string | false>((r) => (onSecure = r));
    const port = await alpnServer(['http/1.1'], (s) => onSecure(s.alpnProtocol));
    const c = await nodeClient(port, { secureOptions: NO_TICKET });
    expect(c.socket.alpnProtocol).toBe(false);
    expect(await serverSaw).toBe(false);
    await endNode(c.socket);
  });

  test('no protocol in common: a fatal no_application_protocol alert (node:tls sees it), the server a tlsClientError ERR_SSL_NO_APPLICATION_PROTOCOL', async () => {
    const port = await alpnServer(['http/1.1']);
    let secure = 0;
    server!.on('secureConnection', () => secure++);
    const failed = next<Error & { code?: string }>(server!, 'tlsClientError');
    const c = require('tls').connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', ALPNProtocols: ['x-other'] });
    const clientErr = await next<Error & { code?: string }>(c, 'error').catch((e: Error & { code?: string }) => e);
    expect(clientErr.code).toBe('ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL');
    const err = await failed;
    expect(err.code).toBe('ERR_SSL_NO_APPLICATION_PROTOCOL');
    expect(secure).toBe(0);
  });

  test('a ClientHello cut into several records and 1-byte writes: the check waits for the whole hello (alert, or a handshake with ALPN)', async () => {
    const port = await alpnServer(['http/1.1']);
    const hello = await captureClientHello((p) => {
      const sock = net.connect(p, '127.0.0.1');
      return require('tls').connect({ socket: sock, servername: 'localhost', maxVersion: 'TLSv1.2', ALPNProtocols: ['x-other'] });
    });
    const failed = next<Error & { code?: string }>(server!, 'tlsClientError');
    const relay = await byteRelay(port);
    try {
      const c = await rawClient(relay.port, reframe(hello, [7, 40, 41, 100]));
      c.on('error', () => undefined);
      const answer = await readAll(c);
      expect([...answer]).toEqual([21, 3, 3, 0, 2, 2, 120]);
      expect((await failed).code).toBe('ERR_SSL_NO_APPLICATION_PROTOCOL');
      const ok = await nodeClient(relay.port, { ALPNProtocols: ['http/1.1'], secureOptions: NO_TICKET });
      expect(ok.socket.alpnProtocol).toBe('http/1.1');
      await endNode(ok.socket);
    } finally {
      await relay.stop();
    }
  });
});

describe('createHttpsServer on the native path', () => {
  let https1: ReturnType<typeof createHttpsServer> | undefined;
  afterEach(async () => {
    const s = https1;
    https1 = undefined;
    if (s?.listening) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  function get(port: number, p: string, agent: https.Agent | false): Promise<{ body: string; status: number; socket: net.Socket }> {
    return new Promise((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: p, agent, ca: cert, servername: 'localhost', maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] } as https.RequestOptions, (res) => {
          let body = '';
          const socket = res.socket;
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ body, status: res.statusCode ?? 0, socket }));
        })
        .on('error', reject);
    });
  }

  test('HTTP/1.1 requests with keep-alive, ALPN http/1.1, on NativeTlsSockets', async () => {
    const seen: { alpn: string | false; native: boolean }[] = [];
    https1 = createHttpsServer({ cert, key, connectionPath: 'native' }, (req, res) => {
      const s = req.socket as unknown as NativeTlsSocket;
      seen.push({ alpn: s.alpnProtocol, native: s.constructor.name === 'NativeTlsSocket' });
      res.end(`hi ${req.url}`);
    });
    const port = await listen(https1);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await get(port, '/a', agent);
      const b = await get(port, '/b', agent);
      expect(a).toMatchObject({ status: 200, body: 'hi /a' });
      expect(b).toMatchObject({ status: 200, body: 'hi /b' });
      expect(b.socket).toBe(a.socket);
      expect((a.socket as unknown as { alpnProtocol: string | false }).alpnProtocol).toBe('http/1.1');
      expect(seen).toEqual([
        { alpn: 'http/1.1', native: true },
        { alpn: 'http/1.1', native: true },
      ]);
    } finally {
      agent.destroy();
    }
  });

  test("node:http's keepAliveTimeout closes an idle connection; closeIdleConnections() closes idle ones", async () => {
    https1 = createHttpsServer({ cert, key, connectionPath: 'native', keepAliveTimeout: 30 }, (_req, res) => res.end('x'));
    const port = await listen(https1);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await get(port, '/', agent);
      await closed(a.socket); // the server's keep-alive timer ended it
      https1.keepAliveTimeout = 0;
      const b = await get(port, '/', agent);
      expect(b.socket).not.toBe(a.socket);
      const gone = closed(b.socket);
      https1.closeIdleConnections();
      await gone;
    } finally {
      agent.destroy();
    }
  });

  test('createHttpsServer and createHttp2SecureServer on the native path named refuse a listen() it cannot serve (a Unix socket)', () => {
    for (const s of [createHttpsServer({ cert, key, connectionPath: 'native' }), createHttp2SecureServer({ cert, key, connectionPath: 'native' })]) {
      expect(() => s.listen({ path: path.join(os.tmpdir(), 'osc-h.sock') })).toThrow(expect.objectContaining({ code: 'ERR_TLS_OPTION_NOT_SUPPORTED' }));
      expect(s.listening).toBe(false);
    }
  });
});

describe('SNICallback', () => {
  test("the callback's context answers for its name (its certificate), the default for others; a failing callback is a tlsClientError", async () => {
    const other = generateSelfSigned({ commonName: 'other.test' });
    const otherCtx = new SslContext({ role: 'server', cert: other.cert, key: other.key });
    const asked: string[] = [];
    server = createServer({
      cert,
      key,
      connectionPath: 'native',
      ALPNProtocols: ['http/1.1'],
      SNICallback: (name, cb) => {
        asked.push(name);
        if (name === 'fail.test') cb(new Error('no context for fail.test'));
        else if (name === 'later.test') setImmediate(() => cb(null, otherCtx));
        else cb(null, name === 'other.test' ? otherCtx : undefined);
      },
    });
    onNative(server, (s) => {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.pipe(s);
    });
    const port = await listen(server);
    const fingerprint = (pem: string) => new (require('crypto').X509Certificate)(pem).fingerprint256 as string;
    const peer = async (servername: string) => {
      const c = await nodeClient(port, { servername, ca: [cert, other.cert], ALPNProtocols: ['http/1.1'], secureOptions: NO_TICKET, checkServerIdentity: () => undefined });
      const fp = c.socket.getPeerX509Certificate()?.fingerprint256;
      const alpn = c.socket.alpnProtocol;
      c.socket.write('sni');
      expect((await next<Buffer>(c.socket, 'data')).toString()).toBe('sni');
      await endNode(c.socket);
      return { fp, alpn };
    };
    expect(await peer('other.test')).toEqual({ fp: fingerprint(other.cert), alpn: 'http/1.1' });
    expect(await peer('later.test')).toEqual({ fp: fingerprint(other.cert), alpn: 'http/1.1' });
    expect(await peer('localhost')).toEqual({ fp: fingerprint(cert), alpn: 'http/1.1' });
    const failed = next<Error>(server, 'tlsClientError');
    const bad = require('tls').connect({ host: '127.0.0.1', port, servername: 'fail.test', rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
    bad.on('error', () => undefined);
    expect((await failed).message).toBe('no context for fail.test');
    await closed(bad);
    expect(asked).toEqual(['other.test', 'later.test', 'localhost', 'fail.test']);
    otherCtx.free();
  });
});
