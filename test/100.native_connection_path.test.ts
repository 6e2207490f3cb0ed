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
import { createServer, MemorySessionStore, TlsServer } from '../lib';
import type { NativeTlsSocket } from '../lib';
import { sClient } from './helpers/openssl_cli';
import { run102 } from './helpers/openssl102';
import { certFiles, certs, closed, endNode, listen, next, nodeClient, readAll } from './helpers/sockets';

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
    const seen: { protocol: string | null; cipher?: string; address?: string }[] = [];
    const port = await start((s) => {
      secure.push(s);
      // the connection's details, read while it is open
      seen.push({ protocol: s.getProtocol(), cipher: s.getCipher()?.name, address: s.remoteAddress });
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
    expect(secure.map((s) => s.isSessionReused())).toEqual([false, true]);
    expect(seen[1].protocol).toBe('TLSv1.2');
    expect(seen[1].cipher).toMatch(/^[A-Z0-9-]+$/);
    expect(seen[1].address).toBe('127.0.0.1');
    expect(secure[1].getProtocol()).toBe('TLSv1.2'); // kept once read
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
    for (const extra of [{ sessionStore: new MemorySessionStore() }, { ALPNProtocols: ['h2'] }, { requestCert: true }, { keepAlive: true }, { pauseOnConnect: true }]) {
      expect(() => createServer({ cert, key, connectionPath: 'native', ...extra })).toThrow(expect.objectContaining({ code: 'ERR_TLS_OPTION_NOT_SUPPORTED' }));
    }
    const s = createServer({ cert, key, connectionPath: 'native' });
    s.on('resumeSession', (_id, cb) => cb(null, null));
    expect(() => s.listen(0, '127.0.0.1')).toThrow(expect.objectContaining({ code: 'ERR_TLS_OPTION_NOT_SUPPORTED' }));
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
