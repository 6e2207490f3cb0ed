// Client certificates and the TLSSocket queries on both connection paths: the same node:tls
// client against a server on the node path (TLSSocket) and on the native path
// (NativeTlsSocket) gets the same answers — authorization, certificates, cipher, Finished
// messages, keying material, key log lines, local address — and the same refusals; the
// queries of a closed socket answer as for no connection; a hostile client certificate
// message (garbage, oversized) fails its connection and the server goes on serving.
import * as net from 'net';
import * as tls from 'tls';
import { createServer, TlsServer } from '../lib';
import type { ConnectionPath, TlsServerOptions } from '../lib';
import { revocationPki } from './helpers/pki';
import { captureClientHello, closed, listen, next, record } from './helpers/sockets';

const P = revocationPki();
const PATHS: ConnectionPath[] = ['node', 'native'];

/** what a server-side socket of either path offers (TLSSocket and NativeTlsSocket alike) */
interface ServerSocket extends NodeJS.EventEmitter {
  authorized: boolean;
  authorizationError: string | null;
  destroyed: boolean;
  localAddress?: string;
  localPort?: number;
  localFamily?: string;
  address(): object;
  getPeerCertificate(detailed?: boolean): Record<string, any>;
  getCertificate(): Record<string, any> | null;
  getSession(): Buffer | undefined;
  getSslSession(): { id: Buffer; free(): void } | undefined;
  isSessionReused(): boolean;
  getProtocol(): string | null;
  getCipher(): { name: string; standardName: string; version: string } | undefined;
  getEphemeralKeyInfo(): object | null;
  getTLSTicket(): Buffer | undefined | null;
  getFinished(): Buffer | undefined | null;
  getPeerFinished(): Buffer | undefined | null;
  getSharedSigalgs(): string[] | null;
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer;
  resume(): unknown;
  end(): unknown;
  destroy(): unknown;
}

const servers: TlsServer[] = [];
const clients: { destroy(): unknown }[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of servers.splice(0)) if (s.listening) await new Promise<void>((r) => s.close(() => r()));
});

async function serve(path: ConnectionPath, opts: TlsServerOptions, onSecure: (s: ServerSocket) => void): Promise<{ server: TlsServer; port: number }> {
  const server = createServer({ cert: P.server, key: P.serverKey, maxVersion: 'TLSv1.2', connectionPath: path, ...opts } as TlsServerOptions);
  servers.push(server);
  server.on('secureConnection', onSecure as never);
  return { server, port: await listen(server) };
}

function client(port: number, opts: tls.ConnectionOptions): tls.TLSSocket {
  const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: P.ca, maxVersion: 'TLSv1.2', ...opts });
  clients.push(c);
  return c;
}

const hex = (b: Buffer | undefined | null) => (Buffer.isBuffer(b) ? b.toString('hex') : b);
const codeOf = (e: unknown) => (e as { code?: string } | undefined)?.code;
const thrown = (f: () => unknown) => {
  try {
    f();
    return 'returned';
  } catch (e) {
    return codeOf(e) ?? (e as Error).constructor.name;
  }
};

/** every query of a server socket while open, checked against the client's own view where it has one */
function openAnswers(s: ServerSocket, c: tls.TLSSocket, port: number) {
  const peer = s.getPeerCertificate(true);
  const session = s.getSslSession();
  const id = session?.id.toString('hex');
  return {
    authorized: s.authorized,
    authorizationError: s.authorizationError,
    peerSubject: peer.subject,
    peerFingerprint: peer.fingerprint256,
    // the client sent its CA after its leaf: the chain links up, and the CA is its own issuer
    issuerSubject: peer.issuerCertificate?.subject,
    issuerSelf: peer.issuerCertificate?.issuerCertificate === peer.issuerCertificate,
    plainPeerHasNoIssuer: s.getPeerCertificate().issuerCertificate,
    ownCertificate: s.getCertificate()?.fingerprint256,
    protocol: s.getProtocol(),
    cipher: s.getCipher(),
    clientCipher: c.getCipher().standardName,
    reused: s.isSessionReused(),
    ephemeral: s.getEphemeralKeyInfo(),
    ticket: s.getTLSTicket(),
    // our Finished is the one the client received, and the other way round
    finishedMatches: hex(s.getFinished()) === hex(c.getPeerFinished()) && s.getFinished() !== undefined,
    peerFinishedMatches: hex(s.getPeerFinished()) === hex(c.getFinished()) && s.getPeerFinished() !== undefined,
    sigalgs: s.getSharedSigalgs(),
    keyingMatches: hex(s.exportKeyingMaterial(48, 'EXPORTER-parity', Buffer.from('ctx'))) === hex(c.exportKeyingMaterial(48, 'EXPORTER-parity', Buffer.from('ctx'))),
    keyingWithoutContext: hex(s.exportKeyingMaterial(16, 'EXPORTER-parity')) === hex(c.exportKeyingMaterial(16, 'EXPORTER-parity', undefined as unknown as Buffer)),
    keyingBadLength: thrown(() => s.exportKeyingMaterial(0, 'x')),
    keyingBadLabel: thrown(() => s.exportKeyingMaterial(8, 7 as unknown as string)),
    sessionDer: Buffer.isBuffer(s.getSession()),
    sessionIdLength: id?.length,
    local: { address: s.localAddress, port: s.localPort === port, family: s.localFamily },
    address: { ...s.address(), port: (s.address() as { port?: number }).port === port },
  };
}

/** the same queries once the socket is closed: as for no connection, on both paths */
function closedAnswers(s: ServerSocket) {
  return {
    peer: s.getPeerCertificate(true),
    own: s.getCertificate(),
    session: s.getSession(),
    sslSession: s.getSslSession(),
    reused: s.isSessionReused(),
    protocol: s.getProtocol(),
    cipher: s.getCipher(),
    ephemeral: s.getEphemeralKeyInfo(),
    ticket: s.getTLSTicket(),
    finished: s.getFinished(),
    peerFinished: s.getPeerFinished(),
    sigalgs: s.getSharedSigalgs(),
    keying: thrown(() => s.exportKeyingMaterial(16, 'EXPORTER-parity')),
    authorized: s.authorized,
  };
}

async function queriesOn(path: ConnectionPath) {
  let resolveSocket!: (s: ServerSocket) => void;
  const secure = new Promise<ServerSocket>((r) => (resolveSocket = r));
  const { server, port } = await serve(path, { ca: P.ca, crl: P.crl, requestCert: true }, (s) => {
    s.resume();
    resolveSocket(s);
  });
  const serverLine = next<Buffer>(server, 'keylog');
  const c = client(port, { cert: P.client + P.ca, key: P.clientKey });
  const clientLine = next<Buffer>(c, 'keylog');
  await next(c, 'secureConnect');
  const socket = await secure;
  // both sides secure, the connection open
  const answers = openAnswers(socket, c, port);
  const keylogMatches = (await serverLine).toString().toUpperCase() === (await clientLine).toString().toUpperCase();
  const serverClosed = closed(socket);
  c.end();
  await serverClosed;
  return { answers, keylogMatches, after: closedAnswers(socket) };
}

describe('the same node:tls client, node path and native path', () => {
  test('every TLSSocket query gives the same answer on both paths, and agrees with the client', async () => {
    const node = await queriesOn('node');
    const native = await queriesOn('native');
    expect(native).toEqual(node);
    // and the answers are the real ones, not merely equal
    const a = node.answers;
    expect(a.authorized).toBe(true);
    expect(a.authorizationError).toBeNull();
    expect(a.peerSubject).toEqual({ CN: 'good client' });
    expect(a.issuerSubject).toEqual({ CN: 'Revocation Test CA' });
    expect(a.issuerSelf).toBe(true);
    expect(a.plainPeerHasNoIssuer).toBeUndefined();
    expect(a.ownCertificate).toBe(new (require('crypto').X509Certificate)(P.server).fingerprint256);
    expect(a.protocol).toBe('TLSv1.2');
    expect(a.cipher?.standardName).toBe(a.clientCipher);
    expect(a.ephemeral).toBeNull();
    expect(a.finishedMatches && a.peerFinishedMatches && a.keyingMatches && a.keyingWithoutContext).toBe(true);
    expect(a.keyingBadLength).toBe('RangeError');
    expect(a.keyingBadLabel).toBe('TypeError');
    expect(a.sigalgs).toEqual(expect.arrayContaining(['RSA+SHA256']));
    expect(a.sessionDer).toBe(true);
    expect(a.sessionIdLength).toBe(64);
    expect(a.local).toEqual({ address: '127.0.0.1', port: true, family: 'IPv4' });
    expect(a.address).toEqual({ address: '127.0.0.1', family: 'IPv4', port: true });
    expect(node.keylogMatches).toBe(true);
    expect(node.after).toEqual({
      peer: {},
      own: null,
      session: undefined,
      sslSession: undefined,
      reused: false,
      protocol: null,
      cipher: undefined,
      ephemeral: null,
      ticket: null,
      finished: null,
      peerFinished: null,
      sigalgs: null,
      keying: 'ERR_TLS_INVALID_STATE',
      authorized: true,
    });
  });

  /** a connection's outcome on the server: its authorization, or the refusal's code */
  async function outcome(path: ConnectionPath, opts: TlsServerOptions, clientOpts: tls.ConnectionOptions) {
    let seen: { authorized: boolean; authorizationError: string | null; peer: unknown } | undefined;
    const { server, port } = await serve(path, { ca: P.ca, requestCert: true, ...opts }, (s) => {
      seen = { authorized: s.authorized, authorizationError: s.authorizationError, peer: s.getPeerCertificate().subject };
      s.end();
    });
    const refused = new Promise<string | undefined>((resolve) => server.once('tlsClientError', (e: Error) => resolve(codeOf(e))));
    const c = client(port, clientOpts);
    c.on('error', () => {});
    await Promise.race([closed(c), refused]);
    await closed(c);
    return { seen, refused: seen ? undefined : await refused };
  }

  const CLIENTS: [string, TlsServerOptions, tls.ConnectionOptions][] = [
    ['an untrusted client', {}, { cert: P.stranger, key: P.strangerKey }],
    ['a revoked client', { crl: P.crl }, { cert: P.revoked, key: P.revokedKey }],
    ['a client without a certificate', {}, {}],
  ];

  test.each(CLIENTS)('rejectUnauthorized: %s never reaches secureConnection; the same refusal on both paths', async (_name, opts, clientOpts) => {
    const node = await outcome('node', opts, clientOpts);
    const native = await outcome('native', opts, clientOpts);
    expect(node.seen).toBeUndefined();
    expect(node.refused).toEqual(expect.any(String));
    expect(native).toEqual(node);
  });

  test.each(CLIENTS)('rejectUnauthorized false: %s is served unauthorized, with node\'s code, on both paths', async (_name, opts, clientOpts) => {
    const node = await outcome('node', { ...opts, rejectUnauthorized: false }, clientOpts);
    const native = await outcome('native', { ...opts, rejectUnauthorized: false }, clientOpts);
    expect(node.seen?.authorized).toBe(false);
    expect(node.seen?.authorizationError).toEqual(expect.stringMatching(/^[A-Z_]+$/));
    expect(native).toEqual(node);
  });

  test('the refusal codes are node:tls\'s: untrusted (1.0.2 names a lone leaf of an unknown issuer so), revoked', async () => {
    expect((await outcome('native', {}, { cert: P.stranger, key: P.strangerKey })).refused).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect((await outcome('native', { crl: P.crl }, { cert: P.revoked, key: P.revokedKey })).refused).toBe('CERT_REVOKED');
    expect((await outcome('native', { crl: P.crl, rejectUnauthorized: false }, { cert: P.revoked, key: P.revokedKey })).seen?.authorizationError).toBe('CERT_REVOKED');
  });

  test("'keylog' is emitted only while a listener is there, with the socket 'secureConnection' gets", async () => {
    for (const path of PATHS) {
      const got: unknown[] = [];
      const { server, port } = await serve(path, {}, (s) => {
        got.push(s);
        s.end();
      });
      const lines: [Buffer, unknown][] = [];
      const onLine = (line: Buffer, s: unknown) => lines.push([line, s]);
      server.on('keylog', onLine);
      const a = client(port, {});
      a.resume();
      await closed(a);
      server.off('keylog', onLine);
      const b = client(port, {});
      b.resume();
      await closed(b);
      expect(lines.length).toBe(1);
      expect(lines[0][0].toString()).toMatch(/^CLIENT_RANDOM [0-9A-F]{64} [0-9A-F]{96}\n$/);
      expect(lines[0][1]).toBe(got[0]);
      expect(got.length).toBe(2);
    }
  });
});

test('both sockets have the surface node:http2 shows on a TLS session\'s socket (lib/tls/https.ts), and the server\'s context', async () => {
  const properties = ['encrypted', 'alpnProtocol', 'authorized', 'authorizationError', 'servername', 'remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort', 'localFamily'];
  const methods = ['getPeerCertificate', 'getCertificate', 'getCipher', 'getProtocol', 'getSession', 'getSslSession', 'isSessionReused', 'getTLSTicket', 'getFinished', 'getPeerFinished', 'getEphemeralKeyInfo', 'getSharedSigalgs', 'exportKeyingMaterial'];
  const seen: Record<string, unknown> = {};
  for (const path of PATHS) {
    let server!: TlsServer;
    const surface = new Promise<unknown>((resolve) => {
      void serve(path, {}, (s) => {
        const o = s as unknown as Record<string, unknown>;
        resolve({
          missingProperties: properties.filter((p) => o[p] === undefined && p !== 'authorizationError'),
          missingMethods: methods.filter((m) => typeof o[m] !== 'function'),
          context: o.context === server.context,
        });
        s.end();
      }).then((r) => {
        server = r.server;
        const c = client(r.port, {});
        c.resume();
      });
    });
    seen[path] = await surface;
  }
  expect(seen.node).toEqual({ missingProperties: [], missingMethods: [], context: true });
  expect(seen.native).toEqual(seen.node);
});

describe('hostile clients and closed sockets', () => {
  test('queries of a socket destroyed inside secureConnection answer as closed, on both paths', async () => {
    const answers: unknown[] = [];
    for (const path of PATHS) {
      const { port } = await serve(path, {}, (s) => {
        s.destroy();
        answers.push(closedAnswers(s));
      });
      const c = client(port, {});
      c.on('error', () => {});
      await closed(c);
    }
    expect(answers.length).toBe(2);
    expect(answers[1]).toEqual(answers[0]);
    expect((answers[0] as { protocol: unknown }).protocol).toBeNull();
  });

  // a raw client: a real ClientHello, then a Certificate message of our making once the
  // server asked for one (the client's Certificate travels in plaintext in TLS 1.2)
  async function rawCertificate(port: number, hello: Buffer, certificateMessage: Buffer): Promise<void> {
    const raw = net.connect(port, '127.0.0.1');
    clients.push(raw);
    raw.on('error', () => {});
    raw.write(hello);
    let got = Buffer.alloc(0);
    await new Promise<void>((resolve) => {
      raw.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        // ServerHelloDone (type 14, empty) ends the server's flight
        if (got.includes(Buffer.from([14, 0, 0, 0]))) resolve();
      });
      raw.on('close', () => resolve());
    });
    // records of at most 16 KiB
    for (let off = 0; off < certificateMessage.length; off += 16384) raw.write(record(22, certificateMessage.subarray(off, off + 16384), 0x0303));
    await closed(raw);
  }

  const u24 = (n: number) => Buffer.from([(n >> 16) & 255, (n >> 8) & 255, n & 255]);
  const certificateMessage = (body: Buffer, claimed = body.length) => Buffer.concat([Buffer.from([11]), u24(claimed), body]);
  const garbageDer = Buffer.from('3082ffff0102030405060708090a0b0c0d0e0f', 'hex');
  const HOSTILE: [string, Buffer][] = [
    ['random bytes', certificateMessage(Buffer.from('this is not a certificate list at all'))],
    ['a list whose entry is not DER', certificateMessage(Buffer.concat([u24(garbageDer.length + 3), u24(garbageDer.length), garbageDer]))],
    ['a list longer than its message', certificateMessage(Buffer.concat([u24(5000), u24(4997), Buffer.alloc(20)]))],
    ['a message claiming 16 MiB', certificateMessage(Buffer.alloc(64), 0xffffff)],
    ['an oversized chain (300 KiB)', certificateMessage(Buffer.concat([u24(300 * 1024 - 3), u24(300 * 1024 - 6), Buffer.alloc(300 * 1024 - 6, 0x30)]))],
  ];

  test.each(HOSTILE)('a client certificate message of %s fails that connection alike on both paths; the server goes on', async (_name, message) => {
    const codes: (string | undefined)[] = [];
    for (const path of PATHS) {
      const served: ServerSocket[] = [];
      const { server, port } = await serve(path, { ca: P.ca, requestCert: true, rejectUnauthorized: false }, (s) => {
        served.push(s);
        s.end();
      });
      const hello = await captureClientHello((p) => client(p, {}));
      const failed = next<Error>(server, 'tlsClientError');
      await rawCertificate(port, hello, message);
      codes.push(codeOf(await failed));
      expect(served.length).toBe(0);
      // a good client is still served
      const c = client(port, { cert: P.client, key: P.clientKey });
      c.resume();
      await next(c, 'secureConnect');
      await closed(c);
      expect(served.length).toBe(1);
      expect(served[0].authorized).toBe(true);
    }
    expect(codes[0]).toEqual(expect.any(String));
    expect(codes[1]).toBe(codes[0]);
  });
});
