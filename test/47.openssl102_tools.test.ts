// OpenSSL 1.0.2h's own command-line tools as peers of the same era:
// the `openssl` program built from the very source tree the addon links
// (deps/build-openssl.js --apps, run by test/global-setup.js).
//  - 1.0.2h `s_client -reconnect -no_ticket` and `-sess_out` / `-sess_in` resume against
//    our server (lib/tls createServer);
//  - our client (lib/tls connect) resumes against 1.0.2h `s_server -no_ticket` (its
//    internal cache);
//  - `SslSession#toText()` is `openssl sess_id -text -noout` of the same DER, byte for byte;
//  - DER written by one is read by the other.
// 1.0.2h's s_server cannot bind to one address (its -accept takes a port and binds
// INADDR_ANY): it listens on an ephemeral port for the few seconds of its test only, and
// every connection goes over 127.0.0.1.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { connect, createServer, SslSession, TlsServer, TLSSocket } from '../lib';
import { accepting, certs, close, listen, next, readAll, track } from './helpers/sockets';
import { openssl102, run102 } from './helpers/openssl102';

const { cert, key } = certs();
let dir: string;
let certFile: string;
let keyFile: string;
let server: TlsServer | undefined;
let sockets: Set<{ destroy(): unknown }> = new Set();

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-openssl102-'));
  certFile = path.join(dir, 'cert.pem');
  keyFile = path.join(dir, 'key.pem');
  fs.writeFileSync(certFile, cert);
  fs.writeFileSync(keyFile, key);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await close(server, sockets);
  server = undefined;
});

async function startOurServer(): Promise<number> {
  server = createServer({ cert, key }, (s: TLSSocket) => {
    s.resume();
    s.on('end', () => s.end());
  });
  sockets = track(server);
  return listen(server);
}

test('the program is OpenSSL 1.0.2h, built from the same tree', async () => {
  expect(fs.existsSync(openssl102())).toBe(true);
  const v = await run102(['version']);
  expect(v.out).toMatch(/^OpenSSL 1\.0\.2h {2}3 May 2016/);
});

describe('1.0.2h s_client against our server', () => {
  test('-reconnect -no_ticket: five reconnections, each resumed from our cache', async () => {
    const port = await startOurServer();
    const r = await run102(['s_client', '-connect', `127.0.0.1:${port}`, '-reconnect', '-no_ticket', '-CAfile', certFile, '-servername', 'localhost']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines.filter((l) => /^New, TLSv1\/SSLv3, Cipher is /.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^Reused, TLSv1\/SSLv3, Cipher is /.test(l))).toHaveLength(5);
    expect(server!.context.stats).toMatchObject({ hits: 5, misses: 0, number: 1 });
  });

  test('-sess_out, then -sess_in resumes; the PEM file is read by SslSession and matches our cached session', async () => {
    const port = await startOurServer();
    const sessFile = path.join(dir, 's_client102.pem');
    const base = ['s_client', '-connect', `127.0.0.1:${port}`, '-no_ticket', '-CAfile', certFile];
    const a = await run102([...base, '-sess_out', sessFile]);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/^New, TLSv1\/SSLv3, Cipher is /m);
    const b = await run102([...base, '-sess_in', sessFile]);
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/^Reused, TLSv1\/SSLv3, Cipher is /m);
    expect(server!.context.stats.hits).toBe(1);
    // the client's file, read by us: the id and master key of the session our cache holds
    const theirs = SslSession.fromPEM(fs.readFileSync(sessFile, 'utf8'));
    const [ours] = server!.context.sessions();
    try {
      expect(theirs.id.equals(ours.id)).toBe(true);
      expect(theirs.toText()).toMatch(new RegExp(`Master-Key: ${/Master-Key: ([0-9A-F]+)/.exec(ours.toText())![1]}`));
    } finally {
      theirs.free();
      ours.free();
    }
  });
});

describe('our client against 1.0.2h s_server', () => {
  let sServer: ChildProcess | undefined;
  afterEach(async () => {
    if (sServer && sServer.exitCode === null) {
      const exited = next(sServer, 'exit');
      sServer.kill();
      await exited;
    }
    sServer = undefined;
  });

  async function freePort(): Promise<number> {
    const probe = net.createServer();
    const port = await listen(probe);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }

  async function startSServer(): Promise<number> {
    const port = await freePort();
    sServer = spawn(openssl102(), ['s_server', '-accept', String(port), '-cert', certFile, '-key', keyFile, '-no_ticket', '-www'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      sServer!.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('ACCEPT')) resolve();
      });
      sServer!.on('exit', (code) => reject(new Error(`s_server exited with ${code}: ${out}`)));
    });
    // s_server prints ACCEPT before it binds the port
    await accepting(port);
    return port;
  }

  async function get(port: number, session?: SslSession): Promise<{ page: string; reused: boolean; session: SslSession }> {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, ...(session ? { session } : {}) });
    await next(socket, 'secureConnect');
    const reused = socket.isSessionReused();
    const got = socket.getSslSession() as SslSession;
    const page = readAll(socket);
    socket.end('GET / HTTP/1.0\r\n\r\n');
    return { page: (await page).toString(), reused, session: got };
  }

  test('a full handshake, then the session offered again is resumed from s_server\'s internal cache', async () => {
    const port = await startSServer();
    const first = await get(port);
    expect(first.reused).toBe(false);
    expect(first.page).toMatch(/^New, TLSv1\/SSLv3, Cipher is /m);
    const second = await get(port, first.session);
    expect(second.reused).toBe(true);
    expect(second.page).toMatch(/^Reused, TLSv1\/SSLv3, Cipher is /m);
    expect(second.session.id.equals(first.session.id)).toBe(true);
    first.session.free();
    second.session.free();
  });
});

describe('sess_id (1.0.2h) and SslSession agree on the same DER', () => {
  async function serverSession(): Promise<SslSession> {
    const port = await startOurServer();
    const stored = next<SslSession>(server!.context, 'newSession');
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert });
    await next(socket, 'secureConnect');
    socket.end();
    await next(socket, 'close');
    const s = await stored;
    return s;
  }

  test('toText() is `sess_id -text -noout`, byte for byte but for the cipher\'s name', async () => {
    const session = await serverSession();
    const derFile = path.join(dir, 'ours.der');
    fs.writeFileSync(derFile, session.toDER());
    const r = await run102(['sess_id', '-inform', 'DER', '-in', derFile, '-text', '-noout']);
    expect(r.code).toBe(0);
    // sess_id's d2i leaves the cipher as an id, which SSL_SESSION_print shows in hex; a
    // session this package decodes has the id resolved to its cipher (as ssl_get_prev_session
    // does), so its text names it: the only line that differs
    const readBack = SslSession.fromDER(session.toDER());
    expect(readBack.cipher).toBe(session.cipher);
    const hexCipher = /^ {4}Cipher {4}: [0-9A-F]{4}$/m.exec(r.out);
    expect(hexCipher).not.toBeNull();
    expect(readBack.toText()).toBe(r.out.replace(hexCipher![0], `    Cipher    : ${session.cipher}`));
    expect(r.out).toMatch(/Session-ID: [0-9A-F]{64}\n/);
    readBack.free();
    session.free();
  });

  test('DER written by us is read by sess_id and written back unchanged; DER written by sess_id is read by us', async () => {
    const session = await serverSession();
    const derFile = path.join(dir, 'ours2.der');
    const backFile = path.join(dir, 'back.der');
    const pemFile = path.join(dir, 'theirs.pem');
    const der = session.toDER();
    fs.writeFileSync(derFile, der);
    expect((await run102(['sess_id', '-inform', 'DER', '-in', derFile, '-outform', 'DER', '-out', backFile])).code).toBe(0);
    expect(fs.readFileSync(backFile).equals(der)).toBe(true);
    expect((await run102(['sess_id', '-inform', 'DER', '-in', derFile, '-outform', 'PEM', '-out', pemFile])).code).toBe(0);
    const theirs = SslSession.fromPEM(fs.readFileSync(pemFile, 'utf8'));
    expect(theirs.toDER().equals(der)).toBe(true);
    expect(theirs.toPEM()).toBe(fs.readFileSync(pemFile, 'utf8'));
    theirs.free();
    session.free();
  });
});
