// Sessions across OpenSSL versions: TLS 1.2 sessions written by
// OpenSSL 3 — Node's own tls (`socket.getSession()`) and the machine's `openssl s_client
// -sess_out` — imported with `SslSession.fromDER(der, { from: 'openssl3' })`, added to
// OUR server's cache and resumed by the same client with its original session; TLS 1.3
// and extended-master-secret sessions refused; and the reverse export
// (`toDER({ to: 'openssl3' })`) resumed by Node against Node.
import { execFileSync } from 'child_process';
import { constants } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { connect, createServer, SslSession, TlsServer, TLSSocket } from '../lib';
import { certs, close, endNode, listen, next, nodeClient, track } from './helpers/sockets';
import { sClient } from './helpers/openssl_cli';

const { cert, key } = certs();
/** SSL_OP_NO_EXTENDED_MASTER_SECRET of OpenSSL 3 (ssl.h: SSL_OP_BIT(0)); Node has no name for it */
const SSL_OP_NO_EXTENDED_MASTER_SECRET = 0x1;
const ID_CONTEXT = Buffer.from('osc-openssl3-import');

let dir: string;
let certFile: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-openssl3-'));
  certFile = path.join(dir, 'cert.pem');
  fs.writeFileSync(certFile, cert);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A node:tls (OpenSSL 3) server on 127.0.0.1: TLS 1.2, no tickets (so sessions have ids).
 * Node turns OpenSSL's internal cache off; its id-based resumption is the
 * 'newSession'/'resumeSession' pair, served here from a Map.
 */
async function nodeServer(options: tls.TlsOptions = {}): Promise<number> {
  const store = new Map<string, Buffer>();
  const server = tls.createServer(
    { cert, key, maxVersion: 'TLSv1.2', secureOptions: constants.SSL_OP_NO_TICKET | SSL_OP_NO_EXTENDED_MASTER_SECRET, ...options },
    (s) => {
      s.resume();
      s.on('end', () => s.end());
    },
  );
  server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
    store.set(id.toString('hex'), data);
    done();
  });
  server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => done(null, store.get(id.toString('hex')) ?? null));
  const sockets = track(server);
  const port = await listen(server);
  cleanups.push(() => close(server, sockets));
  return port;
}

/** OUR server (OpenSSL 1.0.2h, session-id cache, no tickets). */
async function ourServer(): Promise<{ server: TlsServer; port: number }> {
  const server = createServer({ cert, key, sessionIdContext: ID_CONTEXT }, (s: TLSSocket) => {
    s.resume();
    s.on('end', () => s.end());
  });
  const sockets = track(server);
  const port = await listen(server);
  cleanups.push(() => close(server, sockets));
  return { server, port };
}

/** Imports an OpenSSL 3 session into our server's cache (its id context made ours). */
function importInto(server: TlsServer, der: Buffer): SslSession {
  const session = SslSession.fromDER(der, { from: 'openssl3' });
  session.idContext = ID_CONTEXT; // a client-side session carries the client's (empty) context
  expect(server.context.addSession(session)).toBe(true);
  return session;
}

describe("Node's tls (OpenSSL 3) sessions", () => {
  test('a TLS 1.2 session from a node:tls server is imported into our cache and resumed by the same Node client', async () => {
    const nodePort = await nodeServer();
    const first = await nodeClient(nodePort);
    const der = await first.session();
    await endNode(first.socket);
    expect(() => SslSession.fromDER(der)).toThrow(); // 1.0.2's d2i stops at the fields it does not know

    const { server, port } = await ourServer();
    const imported = importInto(server, der);
    expect(imported.protocol).toBe('TLSv1.2');
    expect(imported.id).toHaveLength(32);
    imported.free();

    const serverSide = next<TLSSocket>(server, 'secureConnection');
    const again = await nodeClient(port, { session: der });
    expect(again.socket.isSessionReused()).toBe(true);
    expect((await serverSide).isSessionReused()).toBe(true);
    await endNode(again.socket);
    expect(server.context.stats).toMatchObject({ hits: 1, misses: 0 });
  });

  test('TLS 1.3 sessions are refused with ERR_SESSION_TLS13', async () => {
    const nodePort = await nodeServer({ maxVersion: 'TLSv1.3' });
    const c = await nodeClient(nodePort, { maxVersion: 'TLSv1.3' });
    const der = await c.session();
    await endNode(c.socket);
    expect(() => SslSession.fromDER(der, { from: 'openssl3' })).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_SESSION_TLS13', message: expect.stringMatching(/TLS 1\.3/) }),
    );
  });

  test('sessions that used the extended master secret are refused with ERR_SESSION_EXTMS', async () => {
    const nodePort = await nodeServer({ secureOptions: constants.SSL_OP_NO_TICKET });
    const c = await nodeClient(nodePort);
    const der = await c.session();
    await endNode(c.socket);
    expect(() => SslSession.fromDER(der, { from: 'openssl3' })).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_SESSION_EXTMS', message: expect.stringMatching(/extended master secret/) }),
    );
  });

  test('not a session: ERR_SESSION_DER; a bad option: RangeError / TypeError', () => {
    expect(() => SslSession.fromDER(Buffer.from('3003020102', 'hex'), { from: 'openssl3' })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_DER' }),
    );
    expect(() => SslSession.fromDER(Buffer.alloc(1), { from: 'openssl4' as 'openssl3' })).toThrow(RangeError);
    expect(() => SslSession.fromDER(Buffer.alloc(1), 'openssl3' as unknown as { from: 'openssl3' })).toThrow(TypeError);
  });

  test('the reverse: a session of our client, exported with toDER({ to: "openssl3" }), resumes a Node client against Node', async () => {
    const nodePort = await nodeServer();
    const ours = connect({ host: '127.0.0.1', port: nodePort, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2' });
    await next(ours, 'secureConnect');
    const session = ours.getSslSession() as SslSession;
    ours.end();
    await next(ours, 'close');
    const der3 = session.toDER({ to: 'openssl3' });
    // exact: read back by 1.0.2 it is the same session
    const back = SslSession.fromDER(der3);
    expect(back.toDER().equals(session.toDER())).toBe(true);
    back.free();
    session.free();
    const node = await nodeClient(nodePort, { session: der3 });
    expect(node.socket.isSessionReused()).toBe(true);
    await endNode(node.socket);
  });
});

describe('openssl s_client (the machine OpenSSL 3) sessions', () => {
  test('-sess_out against a node:tls server, imported into our cache, -sess_in resumes against our server', async () => {
    expect(execFileSync('openssl', ['version']).toString()).toMatch(/^OpenSSL 3\./);
    const nodePort = await nodeServer();
    const sessFile = path.join(dir, 's_client3.sess');
    const common = ['-tls1_2', '-no_ticket', '-servername', 'localhost', '-CAfile', certFile];
    const a = await sClient(['-connect', `127.0.0.1:${nodePort}`, ...common, '-sess_out', sessFile]);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/^New, TLSv1\.2, Cipher is /m);
    const pem = fs.readFileSync(sessFile, 'utf8');
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

    const { server, port } = await ourServer();
    importInto(server, der).free();
    const b = await sClient(['-connect', `127.0.0.1:${port}`, ...common, '-sess_in', sessFile]);
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/^Reused, TLSv1\.2, Cipher is /m);
    expect(server.context.stats.hits).toBe(1);
  });
});
