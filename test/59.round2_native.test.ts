// Issue 13, round two, items 1, 2, 5, 7 and 8: the native and cache paths. Cases that
// crashed, hung or wrote freed memory before their fix run in a child process
// (test/fixtures/round2_child.js); the test waits for the child's exit event.
import { spawn, execFileSync } from 'child_process';
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateSelfSigned, handshake, SessionCacheMode, SslContext, SslSession } from '../lib';
import { isError, newId } from './helpers/util';

const D = require('../scripts/lib/session_der.js');
const root = path.join(__dirname, '..');
const pki = generateSelfSigned({ bits: 1024 });

interface Child {
  code: number | null;
  signal: string | null;
  report: any;
  stderr: string;
  prompted: boolean;
}

/**
 * Runs one case of the fixture in its own session (detached: no controlling terminal) with
 * a stdin pipe that stays open: a terminal prompt would wait on it forever, so the child
 * is killed as soon as OpenSSL's prompt shows up on stderr, and the result says so.
 */
function runChild(name: string, env: Record<string, string> = {}): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', path.join(root, 'test/fixtures/round2_child.js'), name], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let prompted = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (!prompted && /pass phrase/i.test(stderr)) {
        prompted = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = stdout.split('\n').find((l) => l.startsWith('ROUND2 '));
      resolve({ code, signal, report: line ? JSON.parse(line.slice('ROUND2 '.length)) : undefined, stderr, prompted });
    });
  });
}

function expectCleanExit(c: Child): void {
  expect({ code: c.code, signal: c.signal, prompted: c.prompted, stderr: c.code === 0 ? '' : c.stderr }).toEqual({
    code: 0,
    signal: null,
    prompted: false,
    stderr: '',
  });
}

function caught(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** DER of a real client session with a ticket */
function ticketDer(): Buffer {
  const server = new SslContext({ cert: pki.cert, key: pki.key, sessionIdContext: 't' });
  const client = new SslContext({ role: 'client' });
  const r = handshake(client, server);
  const der = r.clientSession.toDER();
  server.free();
  client.free();
  return der;
}

describe('item 1: a session offered to a handshake is never one OpenSSL can corrupt', () => {
  test('offered-empty-id: an empty-id ticket session is not written into, not cached twice, freed once (child)', async () => {
    const c = await runChild('offered-empty-id');
    expectCleanExit(c);
    expect(c.report).toEqual({
      addError: expect.objectContaining({ name: 'RangeError', code: 'ERR_SESSION_ID_EMPTY' }),
      offeredIdLength: 0,
      offeredUnchanged: true,
      holderCount: 0,
      clientCount: 1,
      clientCachedIsOffered: false,
      resultIsOffered: false,
      holderCountAfterFlush: 0,
    });
  }, 60000);

  test('offered-cached: sessions cached by the server and by a CLIENT-mode client resume; the cached objects stay as they were (child)', async () => {
    const c = await runChild('offered-cached');
    expectCleanExit(c);
    expect(c.report).toEqual({
      resumed: [true, true],
      serverCachedUnchanged: true,
      clientCachedUnchanged: true,
      counts: [1, 1, 0],
      lookups: [true, true],
      removed: [true, true],
    });
  }, 60000);

  test('connect-empty-id: connect({ session }) offers a private copy too (child, loopback)', async () => {
    const c = await runChild('connect-empty-id');
    expectCleanExit(c);
    expect(c.report).toEqual({
      offeredIdLength: 0,
      offeredUnchanged: true,
      connectionSessionIdLength: 32,
      holderCachedIsOffered: false,
      holderCount: 1,
    });
  }, 60000);

  test('in process: the offered empty-id session keeps its bytes; the CLIENT-mode cache holds the copy', () => {
    const der = D.withId(ticketDer(), Buffer.alloc(0));
    const s = SslSession.fromDER(der);
    const client = new SslContext({ role: 'client', sessionCacheMode: SessionCacheMode.CLIENT });
    const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'o' });
    const r = handshake(client, server, { session: s });
    expect(s.id.length).toBe(0);
    expect(s.toDER().equals(der)).toBe(true);
    expect(r.clientSession.equals(s)).toBe(false);
    expect(client.getSession(r.clientSession.id)!.equals(r.clientSession)).toBe(true);
    expect(s.references).toBe(1); // only ours: no cache, no connection kept it
    client.free();
    server.free();
  });
});

describe('item 2: an encrypted PEM never prompts on the terminal', () => {
  let dir: string;
  let encKey: string;
  let traditionalKey: string;
  let cert: string;
  const PASS = 'round-two secret';

  beforeAll(() => {
    // a real encrypted key made by the machine's openssl (PKCS#8 and the traditional
    // "Proc-Type: 4,ENCRYPTED" form), and a certificate for it
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-pass-'));
    const k8 = path.join(dir, 'k8.pem');
    const k1 = path.join(dir, 'k1.pem');
    const crt = path.join(dir, 'c.pem');
    const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    run(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-aes-128-cbc', '-pass', `pass:${PASS}`, '-out', k8]);
    run(['rsa', '-in', k8, '-passin', `pass:${PASS}`, '-aes128', '-passout', `pass:${PASS}`, '-traditional', '-out', k1]);
    run(['req', '-x509', '-key', k8, '-passin', `pass:${PASS}`, '-subj', '/CN=localhost', '-days', '2', '-addext', 'subjectAltName=DNS:localhost', '-out', crt]);
    encKey = fs.readFileSync(k8, 'utf8');
    traditionalKey = fs.readFileSync(k1, 'utf8');
    cert = fs.readFileSync(crt, 'utf8');
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the fixtures are encrypted keys', () => {
    expect(encKey).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    expect(traditionalKey).toContain('Proc-Type: 4,ENCRYPTED');
  });

  test.each([
    ['PKCS#8', () => encKey],
    ['Proc-Type: 4,ENCRYPTED', () => traditionalKey],
  ])('key (%s): no passphrase → OpenSSLError naming it at once; wrong → bad decrypt; right → loads (child)', async (_n, key) => {
    const c = await runChild('pem-key', { ROUND2_KEY: key(), ROUND2_CERT: cert, ROUND2_PASS: PASS });
    expectCleanExit(c);
    expect(c.report.noPassphrase).toMatchObject({ name: 'OpenSSLError', code: 'ERR_OSSL_BAD_DECRYPT' });
    expect(c.report.noPassphrase.message).toMatch(/encrypted and no passphrase was given/);
    expect(c.report.wrongPassphrase).toMatchObject({ name: 'OpenSSLError' });
    expect(c.report.wrongPassphrase.message).toMatch(/wrong passphrase/);
    expect(c.report.rightPassphrase).toBeNull();
  }, 60000);

  test('createServer / connect take { key, passphrase } like node:tls (child, loopback)', async () => {
    const c = await runChild('pem-key-server', { ROUND2_KEY: traditionalKey, ROUND2_CERT: cert, ROUND2_PASS: PASS });
    expectCleanExit(c);
    expect(c.report.authorized).toBe(true);
    expect(c.report.noPassphrase).toMatchObject({ name: 'OpenSSLError', code: 'ERR_OSSL_BAD_DECRYPT' });
  }, 60000);

  test('SslSession.fromPEM of an encrypted session PEM fails at once (child)', async () => {
    const c = await runChild('pem-session');
    expectCleanExit(c);
    expect(c.report.error).toMatchObject({ name: 'OpenSSLError', code: 'ERR_OSSL_BAD_DECRYPT' });
    expect(c.report.error.message).toMatch(/passphrase/);
  }, 60000);

  test('an encrypted cert, chain certificate or ca fails at once (child)', async () => {
    const c = await runChild('pem-cert');
    expectCleanExit(c);
    for (const k of ['cert', 'chain', 'ca']) {
      expect(c.report[k]).toMatchObject({ name: 'OpenSSLError', code: 'ERR_OSSL_BAD_DECRYPT' });
      expect(c.report[k].message).toMatch(/passphrase/);
    }
  }, 60000);

  test('a passphrase of the wrong type is a TypeError before anything native runs', () => {
    const e = caught(() => new SslContext({ cert, key: encKey, passphrase: 42 as unknown as string }));
    expect(isError(e) && e.name).toBe('TypeError');
  });
});

describe('item 5: the pending-event state cannot be transferred away', () => {
  test('state-transfer: nothing reachable hands out a detachable buffer; a forged one is refused; events still arrive (child)', async () => {
    const c = await runChild('state-transfer');
    expectCleanExit(c);
    expect(c.report).toEqual({
      transferred: [],
      forged: expect.objectContaining({ name: 'TypeError' }),
      sabTransfer: 'TypeError',
      events: ['evict', 'evict', 'evict', 'new', 'flush', 'flush'],
    });
  }, 60000);
});

describe('item 7: subjectAltNames come only from a validated list', () => {
  const sans = (cert: string) => new X509Certificate(cert).subjectAltName ?? '';

  test.each([
    'localhost,DNS:*.bank.example,IP:10.0.0.1',
    'localhost,email:a@bank.example',
    'localhost,URI:https://bank.example/',
    'localhost,RID:1.2.3.4',
    'localhost,otherName:1.2.3.4;UTF8:bank',
    'localhost, DNS:bank.example',
  ])('commonName %j adds no name', (cn) => {
    const { cert } = generateSelfSigned({ commonName: cn, bits: 1024 });
    expect(sans(cert)).toBe('IP Address:127.0.0.1');
    expect(new X509Certificate(cert).subject).toContain(`CN=${cn.split(',')[0]}`);
  });

  test('the default: DNS:commonName when it is a host name, IP when an IP literal, plus 127.0.0.1', () => {
    expect(sans(generateSelfSigned({ commonName: 'example.test', bits: 1024 }).cert)).toBe('DNS:example.test, IP Address:127.0.0.1');
    expect(sans(generateSelfSigned({ commonName: '10.1.2.3', bits: 1024 }).cert)).toBe('IP Address:10.1.2.3, IP Address:127.0.0.1');
  });

  test('altNames: exactly the listed names, built as GENERAL_NAMEs (IPv6 too)', () => {
    const { cert } = generateSelfSigned({ bits: 1024, altNames: [{ dns: 'a.example' }, { dns: '*.b.example' }, { ip: '::1' }] });
    expect(sans(cert)).toBe('DNS:a.example, DNS:*.b.example, IP Address:0:0:0:0:0:0:0:1');
  });

  test.each([
    [{ dns: 'a.example,DNS:evil.example' }, 'RangeError'],
    [{ dns: 'a.example\u0000.evil' }, 'RangeError'],
    [{ dns: '' }, 'RangeError'],
    [{ ip: '10.0.0.1,IP:10.0.0.2' }, 'RangeError'],
    [{ uri: 'https://x' }, 'TypeError'],
    [{ dns: 'a', ip: '1.1.1.1' }, 'TypeError'],
    ['a.example', 'TypeError'],
  ])('altNames entry %j → %s', (entry, kind) => {
    const e = caught(() => generateSelfSigned({ bits: 1024, altNames: [entry as never] }));
    expect(isError(e) && e.name).toBe(kind);
  });
});

describe('item 8: no silent wrong results', () => {
  test('an empty-id session is refused by addSession / addSessions (nothing added) and by a get callback', () => {
    const s = SslSession.fromDER(D.withId(SslSession.create({ id: newId(), cipher: 'AES128-SHA' }).toDER(), Buffer.alloc(0)));
    const ctx = new SslContext({ sessionCacheSize: 2 });
    expect(caught(() => ctx.addSession(s))).toMatchObject({ name: 'RangeError', code: 'ERR_SESSION_ID_EMPTY' });
    const ok = SslSession.create({ id: newId() });
    expect(caught(() => ctx.addSessions([ok, s]))).toMatchObject({ name: 'RangeError', code: 'ERR_SESSION_ID_EMPTY' });
    expect(ctx.sessionCount).toBe(0);
    // eviction keeps working
    for (let i = 0; i < 1001; i++) ctx.addSession(SslSession.create({ id: newId() }));
    expect(ctx.sessionCount).toBe(2);

    const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'g' });
    const client = new SslContext({ role: 'client' });
    const first = handshake(client, server);
    server.flushSessions(0);
    server.getSessionCallback = () => s;
    expect(caught(() => handshake(client, server, { session: first.clientSession }))).toMatchObject({ code: 'ERR_SESSION_ID_EMPTY' });
    expect(server.sessions().every((x) => x.id.length === 32)).toBe(true);
    server.free();
    client.free();
  });

  test('a DER id over 32 bytes, a master key over 48 are refused, not truncated', () => {
    const der = SslSession.create({ id: newId(), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 7) }).toDER();
    const long = caught(() => SslSession.fromDER(D.withId(der, Buffer.alloc(40, 1))));
    expect(long).toMatchObject({ name: 'RangeError', code: 'ERR_SESSION_DECODE' });
    expect(long.message).toMatch(/40 bytes/);
    expect(SslSession.fromDER(D.withId(der, Buffer.alloc(32, 1))).id).toEqual(Buffer.alloc(32, 1));
    expect(caught(() => SslSession.fromDER(D.withMasterKey(der, Buffer.alloc(49, 1))))).toMatchObject({ name: 'RangeError' });
  });

  test('a DER time or timeout outside 0..2^53-1 is refused; the largest safe value round-trips', () => {
    const der = SslSession.create({ id: newId(), cipher: 'AES128-SHA' }).toDER();
    for (const v of [2n ** 63n - 1n, 2n ** 53n, -1n]) {
      expect(caught(() => SslSession.fromDER(D.withTimes(der, { time: v })))).toMatchObject({ name: 'RangeError', code: 'ERR_SESSION_DECODE' });
      expect(caught(() => SslSession.fromDER(D.withTimes(der, { timeout: v })))).toMatchObject({ name: 'RangeError' });
    }
    const s = SslSession.fromDER(D.withTimes(der, { time: 2n ** 53n - 1n, timeout: 2n ** 53n - 1n }));
    expect(s.time).toBe(Number.MAX_SAFE_INTEGER);
    const { time, timeout } = s;
    s.time = time; // writable back
    s.timeout = timeout;
    expect(SslSession.fromDER(s.toDER()).time).toBe(Number.MAX_SAFE_INTEGER);
  });

  test('toText() works with empty PSK identity, hint, SRP user name and an empty ticket', () => {
    let der = SslSession.create({ id: newId(), cipher: 'AES128-SHA' }).toDER();
    der = D.withOctets(der, 7, Buffer.alloc(0)); // psk_identity_hint
    der = D.withOctets(der, 8, Buffer.alloc(0)); // psk_identity
    der = D.withOctets(der, 12, Buffer.alloc(0)); // srp_username
    der = D.withTicket(der, Buffer.alloc(0));
    const s = SslSession.fromDER(der);
    const text = s.toText();
    expect(text).toMatch(/PSK identity: ""/);
    expect(text).toMatch(/PSK identity hint: ""/);
    expect(text).toMatch(/SRP username: ""/);
    expect(s.toDER().equals(der)).toBe(true); // printing changed nothing
  });

  test("an eviction caused by a handshake's own insert is reported as 'evict'", () => {
    const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'e', sessionCacheSize: 1 });
    const client = new SslContext({ role: 'client' });
    const old = SslSession.create({ id: newId() });
    server.addSession(old);
    const seen: [string, string][] = [];
    server.on('removeSession', (x: SslSession, why: string) => seen.push([x.id.toString('hex'), why]));
    server.on('newSession', (x: SslSession) => seen.push([x.id.toString('hex'), 'new']));
    const r = handshake(client, server);
    expect(seen).toEqual([
      [old.id.toString('hex'), 'evict'],
      [r.serverSession.id.toString('hex'), 'new'],
    ]);
    // an expired session found by a handshake is still 'handshake'
    const expired = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'x' });
    const first = handshake(client, expired);
    const cached = expired.getSession(first.serverSession.id)!;
    cached.time = 1000;
    const why: string[] = [];
    expired.on('removeSession', (_x: SslSession, w: string) => why.push(w));
    handshake(client, expired, { session: first.clientSession });
    expect(why).toEqual(['handshake']);
    server.free();
    expired.free();
    client.free();
  });

  test('a forged SslSession (subclass with a fake handle) acts on no live session by slot', () => {
    const victim = SslSession.create({ id: newId() });
    const ctx = new SslContext();
    ctx.addSession(victim);
    const kHandle = Object.getOwnPropertySymbols(victim).find((k) => k.description === 'openssl-session-cache.handle')!;
    expect(kHandle).toBeDefined();
    const Base = SslSession as unknown as new (h: unknown) => SslSession;
    let tried = 0;
    const victimKey = ctx.sessions().length; // any number: a fake handle may claim any key
    for (let slot = 0; slot < 2000; slot++) {
      const fake = { slot: () => slot, key: () => victimKey + slot, free() {}, freed: () => false };
      class Forged extends Base {
        constructor() {
          super(fake);
        }
      }
      // the key comes from native code, which checks the handle's type tag: a forged
      // SslSession is never made, so it cannot act by slot nor stand in for a live session
      expect(caught(() => new Forged())).toMatchObject({ name: 'TypeError' });
      // an object that only inherits the prototype has no brand at all
      const bare = Object.create(SslSession.prototype);
      bare[kHandle] = fake;
      expect(caught(() => ctx.removeSession(bare))).toMatchObject({ name: 'TypeError' });
      tried++;
    }
    expect(tried).toBe(2000);
    expect(ctx.getSession(victim.id)).toBe(victim);
    expect(ctx.sessionCount).toBe(1);
    ctx.free();
  });
});
