// The ClientHello gate (lib/tls/hello_gate.ts) on both connection paths: each scenario runs
// on a server of the Node-socket path, then on the same server of the native path, and the
// native outcome must equal the node one — node:tls's refusals of a ClientHello (the alert
// bytes on the wire, the 'tlsClientError' code, the socket it carries), hostile ClientHellos
// (fragmented over many records, oversized, truncated, garbage), the revoked-ticket check,
// addContext / setSecureContext / SNICallback, a context shared by both paths, and an HTTPS
// server's 'clientError'.
import { randomBytes } from 'crypto';
import * as https from 'https';
import * as net from 'net';
import * as tls from 'tls';
import { ClientHelloParser, createHttpsServer, createServer, generateSelfSigned, SslContext } from '../lib';
import type { ConnectionPath, TlsServer } from '../lib';
import { captureClientHello, certs, listen, next, record, reframe } from './helpers/sockets';

const { cert, key } = certs();
const paths: ConnectionPath[] = ['node', 'native'];
const OTHER = generateSelfSigned({ commonName: 'other.test', bits: 1024 });
const ROTATED = generateSelfSigned({ commonName: 'rotated.test', bits: 1024 });

let tls13Only: Buffer;
let tls12: Buffer;
beforeAll(async () => {
  tls13Only = await captureClientHello((port) => tls.connect({ host: '127.0.0.1', port, servername: 'localhost', minVersion: 'TLSv1.3', ALPNProtocols: ['x'] }));
  tls12 = await captureClientHello((port) => tls.connect({ host: '127.0.0.1', port, servername: 'localhost', maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] }));
}, 30000);

/** what a raw TCP client saw and what the server reported */
interface Outcome {
  /** the 'tlsClientError' code (or message) */
  error: unknown;
  /** the socket 'tlsClientError' carried, as node:tls's socket has it */
  socket: { remoteAddress: unknown; remoteFamily: unknown; remotePortIsClients: boolean; localPortIsServers: boolean; destroyed: unknown } | undefined;
  /** what the server sent before closing, hex */
  received: string;
}

/** the server of `path` meets a raw client that writes `chunks` (one write each), then FIN when `end` */
async function rawOutcome(path: ConnectionPath, options: Record<string, unknown>, chunks: Buffer[], end: boolean): Promise<Outcome> {
  const server = createServer({ cert, key, ...options, connectionPath: path } as never, (s) => s.destroy());
  const reported = new Promise<[Error & { code?: unknown }, Record<string, unknown> | undefined]>((resolve) => server.once('tlsClientError', (e, s) => resolve([e, s as never])));
  const port = await listen(server);
  const c = net.connect(port, '127.0.0.1');
  c.on('error', () => undefined);
  c.setNoDelay(true);
  const received: Buffer[] = [];
  c.on('data', (d: Buffer) => received.push(d));
  const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
  await next(c, 'connect');
  const clientPort = c.localPort;
  for (const chunk of chunks) c.write(chunk);
  if (end) c.end();
  try {
    const [e, s] = await reported;
    await closed;
    return {
      error: e.code ?? e.message,
      socket: s && {
        remoteAddress: s.remoteAddress,
        remoteFamily: s.remoteFamily,
        remotePortIsClients: s.remotePort === clientPort,
        localPortIsServers: s.localPort === port,
        destroyed: s.destroyed,
      },
      received: Buffer.concat(received).toString('hex'),
    };
  } finally {
    c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** the same raw client against both paths: the native outcome equals the node one */
async function parity(options: Record<string, unknown>, chunks: Buffer[], end = false): Promise<Outcome> {
  const node = await rawOutcome('node', options, chunks, end);
  const native = await rawOutcome('native', options, chunks, end);
  expect(native).toEqual(node);
  return node;
}

const PEER = { remoteAddress: '127.0.0.1', remoteFamily: 'IPv4', remotePortIsClients: true, localPortIsServers: true, destroyed: true };
const PROTOCOL_VERSION_ALERT = '15030300020246';

/** `hello` with its client_version set to `version` (a TLS 1.2 hello without supported_versions) */
function withClientVersion(hello: Buffer, version: number): Buffer {
  const b = Buffer.from(hello);
  b.writeUInt16BE(version, 9);
  return b;
}

/** `hello` (one record) with a padding extension of `n` bytes, framed in records of at most 16384 */
function padded(hello: Buffer, n: number): Buffer {
  const hs = hello.subarray(5);
  const idLength = hs[4 + 34];
  let off = 4 + 35 + idLength;
  off += 2 + hs.readUInt16BE(off);
  off += 1 + hs[off];
  const extLength = hs.readUInt16BE(off);
  const pad = Buffer.alloc(4 + n);
  pad.writeUInt16BE(21, 0);
  pad.writeUInt16BE(n, 2);
  const body = Buffer.concat([hs.subarray(4, off), Buffer.from([(extLength + pad.length) >> 8, (extLength + pad.length) & 0xff]), hs.subarray(off + 2), pad]);
  const msg = Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  const records: Buffer[] = [];
  for (let at = 0; at < msg.length; at += 16384) records.push(record(22, msg.subarray(at, at + 16384)));
  return Buffer.concat(records);
}

/** deterministic bytes that are no TLS (a fixed-seed generator: the same garbage on both paths) */
function garbage(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

describe("node:tls's refusals of a ClientHello", () => {
  test('a TLS 1.3-only client: the protocol_version alert, ERR_SSL_UNSUPPORTED_PROTOCOL, a socket with the peer', async () => {
    const seen = await parity({}, [tls13Only]);
    expect(seen).toEqual({ error: 'ERR_SSL_UNSUPPORTED_PROTOCOL', socket: PEER, received: PROTOCOL_VERSION_ALERT });
  }, 30000);

  test("a client below the server's minVersion: protocol_version, ERR_SSL_UNSUPPORTED_PROTOCOL", async () => {
    const seen = await parity({ minVersion: 'TLSv1.2' }, [withClientVersion(tls12, 0x0302)]);
    expect(seen).toEqual({ error: 'ERR_SSL_UNSUPPORTED_PROTOCOL', socket: PEER, received: PROTOCOL_VERSION_ALERT });
  }, 30000);

  test('no ALPN protocol in common: no_application_protocol, ERR_SSL_NO_APPLICATION_PROTOCOL', async () => {
    const seen = await parity({ ALPNProtocols: ['h2'] }, [tls12]);
    expect(seen).toEqual({ error: 'ERR_SSL_NO_APPLICATION_PROTOCOL', socket: PEER, received: '15030300020278' });
  }, 30000);

  test('a TLS 1.3-only client without an ALPN protocol in common: the version is refused first', async () => {
    const seen = await parity({ ALPNProtocols: ['h2'] }, [tls13Only]);
    expect(seen.error).toBe('ERR_SSL_UNSUPPORTED_PROTOCOL');
    expect(seen.received).toBe(PROTOCOL_VERSION_ALERT);
  }, 30000);

  test('node\'s own client, TLS 1.3 only: its error names the alert on both paths', async () => {
    for (const path of paths) {
      const server = createServer({ cert, key, connectionPath: path });
      const reported = next<Error & { code?: string }>(server, 'tlsClientError');
      const port = await listen(server);
      const c = tls.connect({ host: '127.0.0.1', port, minVersion: 'TLSv1.3', rejectUnauthorized: false });
      const failed = next<Error & { code?: string }>(c, 'error');
      expect((await reported).code).toBe('ERR_SSL_UNSUPPORTED_PROTOCOL');
      expect((await failed).code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
      c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 30000);
});

describe('hostile ClientHellos: the same outcome on both paths, the server keeps serving', () => {
  test('a refused hello fragmented over many records (and writes) is read whole and refused', async () => {
    const cuts: number[] = [];
    for (let at = 7; at < tls13Only.length - 5; at += 7) cuts.push(at);
    const fragmented = reframe(tls13Only, cuts);
    expect(fragmented.length).toBeGreaterThan(tls13Only.length + 5 * 20);
    const records: Buffer[] = [];
    for (let off = 0; off < fragmented.length; off += 5 + fragmented.readUInt16BE(off + 3)) records.push(fragmented.subarray(off, off + 5 + fragmented.readUInt16BE(off + 3)));
    const seen = await parity({}, records);
    expect(seen).toEqual({ error: 'ERR_SSL_UNSUPPORTED_PROTOCOL', socket: PEER, received: PROTOCOL_VERSION_ALERT });
  }, 30000);

  test('an accepted hello fragmented over many records gets a ServerHello on both paths', async () => {
    // 1.0.2 wants the version in the first record (ssl23_get_client_hello); then 5-byte records
    const cuts: number[] = [];
    for (let at = 60; at < tls12.length - 5; at += 5) cuts.push(at);
    const fragmented = reframe(tls12, cuts);
    for (const path of paths) {
      const server = createServer({ cert, key, connectionPath: path });
      server.on('tlsClientError', () => undefined);
      const port = await listen(server);
      const c = net.connect(port, '127.0.0.1');
      c.on('error', () => undefined);
      c.write(fragmented);
      const first = await next<Buffer>(c, 'data');
      // a handshake record, its first message a ServerHello (type 2)
      expect([first[0], first[5]]).toEqual([22, 2]);
      c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 30000);

  test('an oversized hello (a 40000-byte padding extension over three records)', async () => {
    const big = padded(tls12, 40000);
    expect(big.length).toBeGreaterThan(40000);
    expect(new ClientHelloParser({ extensions: true }).push(big)?.kind).toBe('tls');
    const seen = await parity({}, [big]);
    expect(seen.socket).toEqual(PEER);
    expect(seen.error).toEqual(expect.any(String));
  }, 30000);

  test('a hello larger than the gate reads (over 64 KiB of records): OpenSSL refuses it', async () => {
    const hs = Buffer.concat([Buffer.from([1, 0xff, 0xff, 0xff, 3, 3]), garbage(70000, 7)]);
    const cuts: number[] = [];
    for (let at = 16000; at < hs.length; at += 16000) cuts.push(at);
    const records = reframe(Buffer.concat([Buffer.from([22, 3, 1, 0, 0]), hs]), cuts);
    const seen = await parity({}, [records], true);
    expect(seen.socket).toEqual(PEER);
    expect(seen.error).toEqual(expect.any(String));
  }, 30000);

  test('a truncated hello, then FIN: ECONNRESET, nothing sent', async () => {
    const seen = await parity({}, [tls12.subarray(0, 60)], true);
    expect(seen).toEqual({ error: 'ECONNRESET', socket: PEER, received: '' });
  }, 30000);

  test('a handshake record that is no ClientHello, an empty record, a non-handshake record, SSLv2-like and random bytes', async () => {
    const cases = [
      Buffer.from([22, 3, 1, 0, 6, 2, 0, 0, 2, 3, 3]),
      Buffer.from([22, 3, 1, 0, 0]),
      Buffer.from([23, 3, 3, 0, 3, 1, 2, 3]),
      Buffer.concat([Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]), garbage(20, 3)]),
      garbage(300, 11),
      Buffer.concat([Buffer.from([22, 3, 1, 0x01, 0x00]), garbage(256, 5)]),
    ];
    for (const bytes of cases) {
      const seen = await parity({}, [bytes], true);
      expect(seen.socket).toEqual(PEER);
      expect(seen.error).toEqual(expect.any(String));
    }
    // and the native server still completes a handshake
    const server = createServer({ cert, key, connectionPath: 'native' }, (s) => s.end('ok'));
    const port = await listen(server);
    const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
    let text = '';
    c.on('data', (d: Buffer) => (text += d));
    await next(c, 'close');
    expect(text).toBe('ok');
    await new Promise<void>((r) => server.close(() => r()));
  }, 60000);
});

/** a TLS 1.2 client with tickets: whether it resumed, and the session to offer next */
async function ticketClient(port: number, session?: Buffer): Promise<{ reused: boolean; session: Buffer }> {
  const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2', session });
  let latest = session;
  c.on('session', (s: Buffer) => (latest = s));
  await next(c, 'secureConnect');
  const reused = c.isSessionReused();
  c.resume();
  c.end();
  await next(c, 'close');
  return { reused, session: latest! };
}

test.each(paths)('a revoked ticket session (%s): its ticket is not decrypted, a full handshake follows; other tickets resume', async (path) => {
  const context = new SslContext({ role: 'server', cert, key, noTicket: false });
  context.setTicketKeys(randomBytes(48));
  const server = createServer({ context, connectionPath: path }, (s) => s.end());
  const port = await listen(server);
  try {
    const victim = await ticketClient(port);
    const bystander = await ticketClient(port);
    expect((await ticketClient(port, victim.session)).reused).toBe(true);
    // the id the client offers with its ticket (what server.revoke takes)
    const hello = await captureClientHello((p) => tls.connect({ host: '127.0.0.1', port: p, maxVersion: 'TLSv1.2', session: victim.session }));
    const id = new ClientHelloParser().push(hello)?.sessionId;
    expect(id?.length).toBeGreaterThan(0);
    await server.revoke(id!);
    expect((await ticketClient(port, victim.session)).reused).toBe(false);
    expect(server.ticketKeyStats.revoked).toBe(1);
    expect((await ticketClient(port, bystander.session)).reused).toBe(true);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    context.free();
  }
}, 30000);

/** the CN of the certificate a node client (TLS 1.2) got for `servername` */
async function presentedCn(port: number, servername?: string): Promise<string> {
  const c = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
  await next(c, 'secureConnect');
  const cn = String(c.getPeerCertificate().subject?.CN ?? '');
  c.destroy();
  return cn;
}

test.each(paths)('addContext and setSecureContext after listen (%s): the name\'s context, then the new default for the rest', async (path) => {
  const server = createServer({ cert, key, connectionPath: path }, (s) => s.end());
  const port = await listen(server);
  try {
    expect(await presentedCn(port, 'other.test')).toBe('localhost');
    server.addContext('*.test', { cert: OTHER.cert, key: OTHER.key });
    expect(await presentedCn(port, 'other.test')).toBe('other.test');
    expect(await presentedCn(port, 'localhost')).toBe('localhost');
    server.setSecureContext({ cert: ROTATED.cert, key: ROTATED.key });
    expect(await presentedCn(port, 'localhost')).toBe('rotated.test');
    expect(await presentedCn(port)).toBe('rotated.test');
    expect(await presentedCn(port, 'other.test')).toBe('other.test');
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}, 30000);

test('one context shared by a server of each path: each answers SNI and ALPN for its own connections', async () => {
  const shared = new SslContext({ role: 'server', cert, key });
  const other = new SslContext({ role: 'server', cert: OTHER.cert, key: OTHER.key });
  const servers: TlsServer[] = [];
  const ports: number[] = [];
  for (const [path, alpn, name] of [
    ['node', 'a', 'node.test'],
    ['native', 'b', 'native.test'],
  ] as const) {
    const s = createServer({ context: shared, connectionPath: path, ALPNProtocols: [alpn], SNICallback: (n, cb) => cb(null, n === name ? other : undefined) }, (c) => c.end());
    servers.push(s);
    ports.push(await listen(s));
  }
  try {
    for (let round = 0; round < 2; round++) {
      for (const [i, alpn, name] of [
        [0, 'a', 'node.test'],
        [1, 'b', 'native.test'],
      ] as const) {
        const c = tls.connect({ host: '127.0.0.1', port: ports[i], servername: name, ALPNProtocols: ['a', 'b'], rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
        await next(c, 'secureConnect');
        expect([c.alpnProtocol, c.getPeerCertificate().subject?.CN]).toEqual([alpn, 'other.test']);
        c.destroy();
      }
    }
  } finally {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    shared.free();
    other.free();
  }
}, 30000);

describe("an HTTPS server's 'clientError' for a refused ClientHello, as node:https", () => {
  /** the clientError arguments node:https or our server (of `path`) reports for a TLS 1.3-only client */
  async function clientError(side: 'node:https' | ConnectionPath): Promise<{ code: unknown; remoteAddress: unknown; alert: string }> {
    const server: net.Server =
      side === 'node:https' ? https.createServer({ cert, key, maxVersion: 'TLSv1.2' }) : (createHttpsServer({ cert, key, connectionPath: side }) as unknown as net.Server);
    const reported = new Promise<{ code: unknown; remoteAddress: unknown }>((resolve) =>
      server.once('clientError', (e: Error & { code?: unknown }, s: net.Socket) => {
        resolve({ code: e.code, remoteAddress: s.remoteAddress });
        s.destroy();
      }),
    );
    const port = await listen(server);
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => undefined);
    const received: Buffer[] = [];
    c.on('data', (d: Buffer) => received.push(d));
    const closed = next(c, 'close');
    c.write(tls13Only);
    try {
      const r = await reported;
      await closed;
      return { ...r, alert: Buffer.concat(received).toString('hex') };
    } finally {
      c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  test('the same code, a socket with the peer, the protocol_version alert', async () => {
    const node = await clientError('node:https');
    expect(node).toEqual({ code: 'ERR_SSL_UNSUPPORTED_PROTOCOL', remoteAddress: '127.0.0.1', alert: PROTOCOL_VERSION_ALERT });
    expect(await clientError('node')).toEqual(node);
    expect(await clientError('native')).toEqual(node);
  }, 30000);

  test("without a 'clientError' listener the native connection is closed after the alert", async () => {
    const server = createHttpsServer({ cert, key, connectionPath: 'native' });
    const port = await listen(server as unknown as net.Server);
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => undefined);
    const received: Buffer[] = [];
    c.on('data', (d: Buffer) => received.push(d));
    c.write(tls13Only);
    await next(c, 'close');
    expect(Buffer.concat(received).toString('hex')).toBe(PROTOCOL_VERSION_ALERT);
    await new Promise<void>((r) => server.close(() => r()));
  }, 30000);
});
