// SslSession.fromDER / fromPEM of a session that a newer OpenSSL wrote (Node's own tls, the
// machine's `openssl s_client -sess_out`) says so: OpenSSLError with code
// ERR_SESSION_FROM_NEWER_OPENSSL, the fields 1.0.2 does not know, and a pointer to the docs;
// OpenSSL's own error queue is kept. Other parse failures keep OpenSSL's code.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { AddressInfo } from 'net';
import { ErrorCode, generateSelfSigned, OpenSSLError, SslContext, SslSession, handshake } from '../lib';
import { catchError } from './helpers/util';
import { requireOpensslCli } from './helpers/openssl_cli';
import { endStdin } from './helpers/children';

const root = path.resolve(__dirname, '..');
let pki: { cert: string; key: string };
let dir: string;
let server: tls.Server;
let port: number;

beforeAll(async () => {
  pki = generateSelfSigned({ commonName: 'localhost', days: 1, bits: 2048 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-newer-'));
  // Node's own tls (OpenSSL 3) on loopback, TLS 1.2 at most
  server = tls.createServer({ cert: pki.cert, key: pki.key, maxVersion: 'TLSv1.2' }, (sock) => {
    sock.on('error', () => undefined);
    sock.end('bye');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

function nodeGetSession(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
    sock.on('error', reject);
    sock.once('secureConnect', () => {
      const s = sock.getSession();
      sock.destroy();
      if (s) resolve(s);
      else reject(new Error('no session'));
    });
  });
}

function sClientSessOut(file: string): Promise<number | null> {
  requireOpensslCli();
  return new Promise((resolve, reject) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-sess_out', file], { stdio: ['pipe', 'ignore', 'ignore'] });
    p.on('error', reject);
    p.on('close', (code) => resolve(code));
    endStdin(p, undefined, reject); // EOF: s_client closes after the handshake and writes the session
  });
}

function expectNewer(err: any, fields: RegExp) {
  expect(err).toBeInstanceOf(OpenSSLError);
  expect(err.code).toBe(ErrorCode.SESSION_FROM_NEWER_OPENSSL);
  expect(err.code).toBe('ERR_SESSION_FROM_NEWER_OPENSSL');
  expect(err.message).toMatch(/newer OpenSSL \(1\.1 or 3\)/);
  expect(err.message).toMatch(fields);
  expect(err.message).toContain('docs/api.md#sessions-from-a-newer-openssl');
  // OpenSSL 1.0.2's own account is kept, in opensslErrors and as the cause
  expect(err.opensslErrors.length).toBeGreaterThan(0);
  expect(err.cause).toBeInstanceOf(OpenSSLError);
  expect(err.cause.code).toMatch(/^ERR_OSSL_ASN1_/);
}

test("Node's tls getSession() (TLS 1.2): fromDER names the [13] flags field and points to the docs", async () => {
  const der = await nodeGetSession();
  const err = catchError(() => SslSession.fromDER(der));
  expectNewer(err, /\[13\] flags/);
  // Node 22 and later wrap the DER in a header of their own: the message says that too
  if (der.subarray(0, 20).toString('latin1').startsWith('\0nodejs:tls:session:')) expect(err.message).toMatch(/Node's tls getSession\(\) format/);
});

test('`openssl s_client -sess_out` (OpenSSL 3, TLS 1.2): fromPEM and fromDER of its session say so', async () => {
  const file = path.join(dir, 's_client.pem');
  expect(await sClientSessOut(file)).toBe(0);
  const pem = fs.readFileSync(file, 'utf8');
  expect(pem).toContain('-----BEGIN SSL SESSION PARAMETERS-----');
  expectNewer(catchError(() => SslSession.fromPEM(pem)), /\[13\] flags/);
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  expectNewer(catchError(() => SslSession.fromDER(der)), /\[13\] flags/);
});

test('other parse failures keep their own codes (a 1.0.2 session with trailing bytes, garbage)', () => {
  const r = handshake(new SslContext({ role: 'client' }), new SslContext({ ...pki, noTicket: true }));
  const der = r.serverSession.toDER();
  expect(SslSession.fromDER(der).id.equals(r.serverSession.id)).toBe(true);
  for (const bad of [Buffer.concat([der, Buffer.from([0])]), Buffer.from('not a session'), der.subarray(0, der.length - 5)]) {
    const err = catchError(() => SslSession.fromDER(bad));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(err.code).not.toBe(ErrorCode.SESSION_FROM_NEWER_OPENSSL);
    expect(err.message).not.toMatch(/newer OpenSSL/);
  }
});

test('the docs section the error points to exists', () => {
  const api = fs.readFileSync(path.join(root, 'docs', 'api.md'), 'utf8');
  expect(api).toMatch(/^## Sessions from a newer OpenSSL$/m);
});
