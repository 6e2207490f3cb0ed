// Which path runs a server's connections: the native path by default, wherever it can serve
// the server; the node path when it is named (option or environment), or when a listen()
// form or a node:cluster worker needs it. `server.connectionPath` says which.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { createHttp2SecureServer, createHttpsServer, createServer, TlsServer } from '../lib';
import { certs, listen, next } from './helpers/sockets';

const { cert, key } = certs();
const ENV = 'OPENSSL_SESSION_CACHE_CONNECTION_PATH';
const servers: TlsServer[] = [];

beforeAll(() => {
  delete process.env[ENV]; // the default itself, whatever the shell running the tests set
});

afterEach(async () => {
  for (const s of servers.splice(0)) if (s.listening) await new Promise<void>((r) => s.close(() => r()));
});

function track<T extends TlsServer>(s: T): T {
  servers.push(s);
  return s;
}

/** one TLS connection (host/port or a Unix socket path): what the server wrote before ending */
function fetchGreeting(to: { port: number } | { path: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = tls.connect({ ...to, host: '127.0.0.1', ca: cert, servername: 'localhost', maxVersion: 'TLSv1.2' });
    let data = '';
    c.on('data', (d: Buffer) => (data += d.toString()));
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
}

function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { env: { ...process.env, ...env }, cwd: path.join(__dirname, '..') });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

test('no path named: the native path, for createServer, createHttpsServer and createHttp2SecureServer', async () => {
  const plain = track(createServer({ cert, key }, (s) => s.end('native?')));
  expect(plain.connectionPath).toBe('native');
  expect(track(createHttpsServer({ cert, key })).connectionPath).toBe('native');
  expect(track(createHttp2SecureServer({ cert, key })).connectionPath).toBe('native');
  const port = await listen(plain);
  expect(await fetchGreeting({ port })).toBe('native?');
  expect(plain.connectionPath).toBe('native');
});

test("connectionPath: 'node' names the node path; another value is a TypeError", () => {
  expect(track(createServer({ cert, key, connectionPath: 'node' })).connectionPath).toBe('node');
  expect(() => createServer({ cert, key, connectionPath: 'uv' as never })).toThrow(TypeError);
});

test('listen() on a Unix socket: no path named moves the server to the node path, which serves it; the native path named refuses it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-path-'));
  try {
    const socketPath = path.join(dir, 'tls.sock');
    const s = track(createServer({ cert, key }, (c) => c.end('over a pipe')));
    expect(s.connectionPath).toBe('native');
    s.listen(socketPath);
    await next(s, 'listening');
    expect(s.connectionPath).toBe('node');
    expect(s.address()).toBe(socketPath);
    expect(await fetchGreeting({ path: socketPath })).toBe('over a pipe');
    const named = createServer({ cert, key, connectionPath: 'native' });
    expect(() => named.listen(path.join(dir, 'other.sock'))).toThrow(expect.objectContaining({ code: 'ERR_TLS_OPTION_NOT_SUPPORTED' }));
    expect(named.listening).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a server that listened natively stays native: close, then listen again natively', async () => {
  const s = track(createServer({ cert, key }, (c) => c.end('again')));
  const first = await listen(s);
  expect(await fetchGreeting({ port: first })).toBe('again');
  await new Promise<void>((r) => s.close(() => r()));
  const second = await listen(s);
  expect(s.connectionPath).toBe('native');
  expect(await fetchGreeting({ port: second })).toBe('again');
});

test('the environment names the path of servers that do not name one; an unknown value is a TypeError at construction', async () => {
  const script = (p: string) => `const L = require('./scripts/lib/load').load(); const { cert, key } = L.generateSelfSigned({ commonName: 'localhost' });
    try { console.log(L.createServer({ cert, key }).connectionPath, L.createServer({ cert, key, connectionPath: ${JSON.stringify(p)} }).connectionPath); }
    catch (e) { console.log(e.name, e.message); }`;
  const node = await runNode(['-e', script('native')], { [ENV]: 'node' });
  expect(node.out.trim()).toBe('node native');
  const native = await runNode(['-e', script('node')], { [ENV]: 'native' });
  expect(native.out.trim()).toBe('native node');
  const bad = await runNode(['-e', script('node')], { [ENV]: 'fast' });
  expect(bad.out.trim()).toMatch(/^TypeError OPENSSL_SESSION_CACHE_CONNECTION_PATH must be 'node' or 'native'/);
});

test("a node:cluster worker: no path named serves the primary's shared port on the node path; the native path named is refused there", async () => {
  const fixture = path.join(__dirname, 'fixtures', 'cluster_connection_path.js');
  const byDefault = await runNode([fixture], {});
  expect(byDefault.code).toBe(0);
  expect(JSON.parse(byDefault.out.trim())).toEqual({ path: 'node', answer: 'hello' });
  const named = await runNode([fixture, 'native'], {});
  expect(named.code).toBe(0);
  expect(JSON.parse(named.out.trim())).toEqual({ refused: 'ERR_TLS_OPTION_NOT_SUPPORTED' });
});
