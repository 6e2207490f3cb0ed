// ALPN both sides, SNICallback with per-name contexts (and which SSL_CTX caches the
// session when SNI switches contexts in 1.0.2), the 'keylog' event matched against the
// lines Node's own client logs for the same connection, NODE_DEBUG logging.
import { execFile } from 'child_process';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { connect, createServer, generateSelfSigned, SslContext, TlsServer, TLSSocket } from '../lib';
import { certs, closed, listen, next } from './helpers/sockets';

const { cert, key } = certs();
const other = generateSelfSigned({ commonName: 'other.test' });

const servers: net.Server[] = [];
const sockets: { destroy(): unknown }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) if (s.listening) await new Promise<void>((r) => s.close(() => r()));
});

async function serve(opts: object): Promise<[TlsServer, number]> {
  const s = createServer({ cert, key, ...opts }, (t) => {
    sockets.push(t);
    t.resume();
  });
  s.on('connection', (c: net.Socket) => sockets.push(c));
  s.on('tlsClientError', () => {});
  servers.push(s);
  return [s, await listen(s)];
}

const secure = (s: tls.TLSSocket | TLSSocket) =>
  new Promise<void>((resolve, reject) => {
    s.once('secureConnect', () => resolve());
    s.once('error', reject);
  });

describe('ALPN', () => {
  test("our server, node:tls client: the server's preference among the client's protocols; no overlap is a fatal alert (as node:tls)", async () => {
    const [server, port] = await serve({ ALPNProtocols: ['http/1.1', 'h2'] });
    const serverSide = next<TLSSocket>(server, 'secureConnection');
    const n = tls.connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] });
    sockets.push(n);
    await secure(n);
    expect(n.alpnProtocol).toBe('http/1.1');
    expect((await serverSide).alpnProtocol).toBe('http/1.1');
    // no overlap: the handshake fails with no_application_protocol, as on node:tls's server
    const none = tls.connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', ALPNProtocols: ['spdy/3'] });
    sockets.push(none);
    await expect(secure(none)).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL' });
  });

  test('our client, node:tls server', async () => {
    const s = tls.createServer({ cert, key, ALPNProtocols: ['h2', 'http/1.1'] }, (t) => t.resume());
    servers.push(s);
    const port = await listen(s);
    const c = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    sockets.push(c);
    await secure(c);
    expect(c.alpnProtocol).toBe('http/1.1');
    const plain = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' });
    sockets.push(plain);
    await secure(plain);
    expect(plain.alpnProtocol).toBe(false);
    expect(() => connect({ port, ALPNProtocols: [''] })).toThrow(RangeError);
  });
});

describe('SNICallback', () => {
  test('a node:tls client gets the per-name certificate; an unknown name the default one; servername on both sides', async () => {
    const byName = new SslContext({ role: 'server', cert: other.cert, key: other.key });
    const asked: string[] = [];
    const [server, port] = await serve({
      SNICallback: (name: string, cb: (e: Error | null, c?: SslContext) => void) => {
        asked.push(name);
        setImmediate(() => cb(null, name === 'other.test' ? byName : undefined)); // asynchronous answer
      },
    });
    const serverSide = next<TLSSocket>(server, 'secureConnection');
    const n = tls.connect({ host: '127.0.0.1', port, ca: other.cert, servername: 'other.test', maxVersion: 'TLSv1.2' });
    sockets.push(n);
    await secure(n);
    expect(n.getPeerCertificate().subject.CN).toBe('other.test');
    const s = await serverSide;
    expect(s.servername).toBe('other.test');
    expect(s.sniContextSwitched).toBe(true);
    const d = tls.connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', maxVersion: 'TLSv1.2' });
    sockets.push(d);
    await secure(d);
    expect(d.getPeerCertificate().subject.CN).toBe('localhost');
    expect(asked).toEqual(['other.test', 'localhost']);
    // an SNICallback error fails that connection
    const failing = await serve({ SNICallback: (_n: string, cb: (e: Error | null) => void) => cb(new Error('no such site')) });
    const refused = next<Error>(failing[0], 'tlsClientError');
    const f = tls.connect({ host: '127.0.0.1', port: failing[1], servername: 'x.test', rejectUnauthorized: false });
    f.on('error', () => {});
    sockets.push(f);
    expect((await refused).message).toBe('no such site');
    byName.free(); // the connections that switched to it hold their own reference
  });

  test('1.0.2 caches and looks up the session in the ORIGINAL context when SNI switched contexts', async () => {
    // one id context on both (the server's default is derived from its own certificate)
    const byName = new SslContext({ role: 'server', cert: other.cert, key: other.key, sessionIdContext: 'sni-app' });
    const [server, port] = await serve({ sessionIdContext: 'sni-app', SNICallback: (_n: string, cb: (e: Error | null, c?: SslContext) => void) => cb(null, byName) });
    const first = connect({ host: '127.0.0.1', port, ca: other.cert, servername: 'other.test' });
    sockets.push(first);
    await secure(first);
    const der = first.getSession()!;
    first.end();
    await closed(first);
    // ssl_update_cache uses s->session_ctx: the original (default) context
    expect(server.context.sessionCount).toBe(1);
    expect(byName.sessionCount).toBe(0);
    // resumption: ssl_get_prev_session runs before the servername callback, in the original context
    const again = connect({ host: '127.0.0.1', port, ca: other.cert, servername: 'other.test', session: der });
    sockets.push(again);
    await secure(again);
    expect(again.isSessionReused()).toBe(true);
    expect(server.context.stats.hits).toBe(1);
    expect(byName.stats.hits).toBe(0);
    again.end();
    await closed(again);
    await new Promise<void>((r) => server.close(() => r()));
    byName.free();
  });
});

test("'keylog': our server's lines equal the lines Node's client logs for the same connections", async () => {
  const [server, port] = await serve({});
  const ours: string[] = [];
  server.on('keylog', (line: Buffer, s: TLSSocket) => {
    expect(s.getProtocol()).toBe('TLSv1.2');
    ours.push(line.toString());
  });
  const theirs: string[] = [];
  let session: Buffer | undefined;
  for (let i = 0; i < 2; i++) {
    const n = tls.connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', maxVersion: 'TLSv1.2', session });
    sockets.push(n);
    n.on('keylog', (line) => theirs.push(line.toString()));
    n.on('session', (s) => (session = s));
    await secure(n);
    if (i === 1) expect(n.isSessionReused()).toBe(true);
    n.end();
    await closed(n);
  }
  expect(theirs.length).toBe(2);
  expect(theirs[0]).toMatch(/^CLIENT_RANDOM [0-9A-F]{64} [0-9A-F]{96}\n$/i);
  expect(ours.map((l) => l.toUpperCase())).toEqual(theirs.map((l) => l.toUpperCase()));
  // our client emits the same line as the server side of the same connection
  const serverLine = next<Buffer>(server, 'keylog');
  const c = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' });
  sockets.push(c);
  const clientLine = next<Buffer>(c, 'keylog');
  expect((await clientLine).toString()).toBe((await serverLine).toString());
});

test('NODE_DEBUG=openssl-session-cache logs handshakes on stderr (util.debuglog)', async () => {
  const script = `
    const L = require(${JSON.stringify(path.resolve(__dirname, '../dist'))});
    const { cert, key } = L.generateSelfSigned({ commonName: 'localhost' });
    const s = L.createServer({ cert, key }, (t) => t.end());
    s.listen(0, '127.0.0.1', () => {
      const c = L.connect({ host: '127.0.0.1', port: s.address().port, ca: cert, servername: 'localhost' }, () => { c.end(); });
      c.on('close', () => s.close());
    });`;
  const run = (env: NodeJS.ProcessEnv) =>
    new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { env: { ...process.env, ...env } }, (e, _o, err) => (e ? reject(e) : resolve(err))),
    );
  const logged = await run({ NODE_DEBUG: 'openssl-session-cache' });
  expect(logged).toMatch(/OPENSSL-SESSION-CACHE \d+: client handshake done: TLSv1\.2/);
  expect(logged).toMatch(/OPENSSL-SESSION-CACHE \d+: server handshake done/);
  expect(await run({ NODE_DEBUG: '' })).not.toMatch(/OPENSSL-SESSION-CACHE/);
});
