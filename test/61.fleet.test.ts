// A fleet: three server processes (test/fixtures/fleet_server.js, the compiled package) on
// three ports, each with its own RedisSessionStore on one real redis-server. A Node tls
// client (OpenSSL 3, TLS 1.2) resumes anywhere after one full handshake anywhere; a
// removeSession or revoke(id) on one server makes the session unresumable everywhere
// within 1 s; Redis going away means full handshakes and 'sessionStoreError', Redis
// coming back means resumption again, without restarting the servers.
import { ChildProcess, fork, spawnSync } from 'child_process';
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Redis } from 'ioredis';
import { certs, endNode, nodeClient } from './helpers/sockets';
import { killAllRedis, RedisServer, startRedis } from './helpers/redis';

const PREFIX = 'fleet:';
const fixture = path.resolve(__dirname, 'fixtures', 'fleet_server.js');
const { cert, key } = certs();

interface Msg {
  type: string;
  seq?: number;
  [k: string]: unknown;
}

class Member extends EventEmitter {
  port = 0;
  #seq = 0;
  constructor(readonly index: number, readonly proc: ChildProcess) {
    super();
    proc.on('message', (m: Msg) => this.emit(m.type, m));
    proc.on('exit', () => this.emit('exited'));
  }

  /** the next message of a type (optionally one that matches) */
  next(type: string, match: (m: Msg) => boolean = () => true): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const on = (m: Msg) => {
        if (!match(m)) return;
        this.off(type, on);
        this.off('exited', gone);
        resolve(m);
      };
      const gone = () => {
        this.off(type, on);
        reject(new Error(`fleet server ${this.index} exited while waiting for '${type}'`));
      };
      this.on(type, on);
      this.once('exited', gone);
    });
  }

  async request(type: string, fields: Record<string, unknown> = {}): Promise<Msg> {
    this.#seq += 1;
    const seq = this.#seq;
    const reply = this.next('reply', (m) => m.seq === seq);
    this.proc.send({ type, seq, ...fields });
    const r = await reply;
    if (r.error) throw new Error(`fleet server ${this.index}: ${String(r.error)}`);
    return r;
  }

  async cached(id: Buffer): Promise<boolean> {
    return (await this.request('cached', { id: id.toString('hex') })).cached === true;
  }
}

let dir: string;
let redis: RedisServer;
let admin: Redis;
const fleet: Member[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-fleet-'));
  fs.writeFileSync(path.join(dir, 'cert.pem'), cert);
  fs.writeFileSync(path.join(dir, 'key.pem'), key);
  redis = await startRedis();
  admin = new Redis({ host: '127.0.0.1', port: redis.port, retryStrategy: (t) => Math.min(t * 50, 300) });
  admin.on('error', () => {});
  for (let i = 0; i < 3; i++) {
    const proc = fork(fixture, [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'), String(redis.port), PREFIX], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    fleet.push(new Member(i, proc));
  }
  const ports = await Promise.all(fleet.map((m) => m.next('ready')));
  ports.forEach((m, i) => (fleet[i].port = m.port as number));
  await Promise.all(fleet.map((m) => m.request('storeReady')));
  expect(new Set(fleet.map((m) => m.port)).size).toBe(3);
});

afterAll(async () => {
  await Promise.all(
    fleet.map(
      (m) =>
        new Promise<void>((resolve) => {
          const p = m.proc;
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
          p.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          if (p.connected) p.send({ type: 'stop' });
          else p.kill('SIGKILL');
        }),
    ),
  );
  admin?.disconnect();
  await killAllRedis();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** fails (instead of hanging until jest's timeout) when p takes longer than ms */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms))),
  ]);
}

/** one connection to fleet server i: TLS 1.2, optionally offering a session */
async function visit(i: number, session?: Buffer): Promise<{ reused: boolean; serverReused: boolean; session: Buffer; id: string }> {
  const m = fleet[i];
  const secure = m.next('secure');
  const c = await nodeClient(m.port, session ? { session } : {});
  const reused = c.socket.isSessionReused();
  const s = await secure;
  const got = reused ? session! : await c.session();
  await endNode(c.socket);
  return { reused, serverReused: s.reused as boolean, session: got, id: s.id as string };
}

/** a full handshake on server i whose session reached Redis */
async function fullStored(i: number): Promise<{ session: Buffer; id: Buffer }> {
  // a store.set of an earlier test's handshake may still complete now: wait for this id
  const seen = new Set<string>();
  const onStored = (m: Msg) => seen.add(m.id as string);
  fleet[i].on('stored', onStored);
  try {
    const v = await visit(i);
    expect(v.reused).toBe(false);
    if (!seen.has(v.id)) await bounded(fleet[i].next('stored', (m) => m.id === v.id), 5000, `'stored' for ${v.id}`);
    return { session: v.session, id: Buffer.from(v.id, 'hex') };
  } finally {
    fleet[i].off('stored', onStored);
  }
}

function redisKey(id: Buffer): Buffer {
  return Buffer.concat([Buffer.from(PREFIX), id]);
}

/** polls up to ms for: no server caches id and Redis has no key; resolves the final state */
async function pollGone(id: Buffer, ms: number): Promise<{ cached: boolean[]; inRedis: boolean }> {
  const end = Date.now() + ms;
  for (;;) {
    const state = { cached: await Promise.all(fleet.map((m) => m.cached(id))), inRedis: (await admin.exists(redisKey(id))) === 1 };
    if ((!state.inRedis && !state.cached.some(Boolean)) || Date.now() >= end) return state;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** a session resumed on every server, so that each one holds it in its OpenSSL cache */
async function resumedEverywhere(origin: number): Promise<{ session: Buffer; id: Buffer }> {
  const first = await fullStored(origin);
  for (let i = 0; i < fleet.length; i++) {
    const v = await visit(i, first.session);
    expect({ server: i, reused: v.reused, serverReused: v.serverReused, id: v.id }).toEqual({
      server: i,
      reused: true,
      serverReused: true,
      id: first.id.toString('hex'),
    });
  }
  expect(await Promise.all(fleet.map((m) => m.cached(first.id)))).toEqual([true, true, true]);
  expect(await admin.exists(redisKey(first.id))).toBe(1);
  return first;
}

async function expectFullEverywhere(session: Buffer): Promise<void> {
  for (let i = 0; i < fleet.length; i++) {
    const v = await visit(i, session);
    expect({ server: i, reused: v.reused, serverReused: v.serverReused }).toEqual({ server: i, reused: false, serverReused: false });
  }
}

test('one full handshake on any server, then the session resumes on each of the three', async () => {
  for (const origin of [1, 2]) {
    const { session, id } = await fullStored(origin);
    expect(id.length).toBe(32);
    for (let i = 0; i < fleet.length; i++) {
      const v = await visit(i, session);
      expect({ origin, server: i, reused: v.reused, serverReused: v.serverReused }).toEqual({ origin, server: i, reused: true, serverReused: true });
    }
  }
});

test('server.context.removeSession on one server: unresumable on every server within 1 s', async () => {
  const { session, id } = await resumedEverywhere(0);
  const r = await fleet[2].request('remove', { id: id.toString('hex') });
  expect(r.removed).toBe(true);
  expect(await pollGone(id, 1000)).toEqual({ cached: [false, false, false], inRedis: false });
  await expectFullEverywhere(session);
});

test('revoke(id) on a server that does not even cache it: unresumable everywhere within 1 s', async () => {
  const first = await fullStored(1); // the issuing server keeps no copy (NO_INTERNAL_STORE)
  for (const i of [0, 2]) expect((await visit(i, first.session)).reused).toBe(true);
  expect(await Promise.all(fleet.map((m) => m.cached(first.id)))).toEqual([true, false, true]);
  const heard = [0, 2].map((i) => fleet[i].next('revoked', (m) => m.id === first.id.toString('hex')));
  await fleet[1].request('revoke', { id: first.id.toString('hex') });
  expect(await pollGone(first.id, 1000)).toEqual({ cached: [false, false, false], inRedis: false });
  await Promise.all(heard); // the revocation came through the channel, not by chance
  await expectFullEverywhere(first.session);
});

test('revoke(id) on a server that caches it', async () => {
  const { session, id } = await resumedEverywhere(2);
  await fleet[0].request('revoke', { id: id.toString('hex') });
  expect(await pollGone(id, 1000)).toEqual({ cached: [false, false, false], inRedis: false });
  await expectFullEverywhere(session);
});

test('Redis stopped → full handshakes, no hang, sessionStoreError; restarted → resumption returns', async () => {
  const before = await fullStored(0); // in Redis only
  const cachedOn0 = await resumedEverywhere(0); // in every local cache too
  await redis.stop();

  // a session only Redis knew: the lookup fails, the handshake goes on as a full one
  const getError = fleet[1].next('storeError');
  const v = await bounded(visit(1, before.session), 10000, 'handshake while Redis is down');
  expect({ reused: v.reused, serverReused: v.serverReused }).toEqual({ reused: false, serverReused: false });
  expect(typeof (await bounded(getError, 5000, 'sessionStoreError')).message).toBe('string');
  // a brand-new session cannot be stored either, the client is served all the same
  const setError = fleet[2].next('storeError');
  const fresh = await bounded(visit(2), 10000, 'full handshake while Redis is down');
  expect(fresh.reused).toBe(false);
  await bounded(setError, 5000, 'sessionStoreError for set');
  // what a server already holds in its own OpenSSL cache still resumes
  expect((await bounded(visit(0, cachedOn0.session), 10000, 'local resumption')).reused).toBe(true);

  await redis.start(); // same port, empty
  // the servers reconnect by themselves: retry until a new session is stored again
  let again: { session: Buffer; id: Buffer } | undefined;
  for (let attempt = 0; attempt < 100 && !again; attempt++) {
    // only this visit's own session counts (an earlier attempt's set may land now)
    const seen = new Set<string>();
    const onStored = (m: Msg) => seen.add(m.id as string);
    fleet[0].on('stored', onStored);
    const failed = fleet[0].next('storeError');
    failed.catch(() => undefined); // may still be pending when the fleet stops
    const w = await visit(0);
    const outcome = seen.has(w.id)
      ? 'stored'
      : await Promise.race([fleet[0].next('stored', (m) => m.id === w.id).then(() => 'stored'), failed.then(() => 'failed')]);
    fleet[0].off('stored', onStored);
    if (outcome === 'stored') again = { session: w.session, id: Buffer.from(w.id, 'hex') };
    else await new Promise((r) => setTimeout(r, 100));
  }
  expect(again).toBeDefined();
  await Promise.all(fleet.map((m) => m.request('storeReady')));
  for (const i of [1, 2]) {
    const r = await visit(i, again!.session);
    expect({ server: i, reused: r.reused, serverReused: r.serverReused }).toEqual({ server: i, reused: true, serverReused: true });
  }
  // and revocation works again across the fleet
  await fleet[1].request('revoke', { id: again!.id.toString('hex') });
  expect(await pollGone(again!.id, 1000)).toEqual({ cached: [false, false, false], inRedis: false });
});

test('npm run example:fleet: its own Redis, 4 servers, shared store vs internal-only, exit 0', () => {
  const example = path.resolve(__dirname, '..', 'dist', 'examples', 'fleet.js');
  expect(fs.existsSync(example)).toBe(true); // compiled by npm install (prepare)
  const r = spawnSync(process.execPath, [example, '4', '100'], { cwd: path.resolve(__dirname, '..'), encoding: 'utf8', timeout: 30000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const counts = [...r.stdout.matchAll(/(shared store|internal-only) \(.*?\): +(\d+)\/100 resumed/g)].map((m) => [m[1], Number(m[2])]);
  // first-session client, then newest-session client; each: shared, internal-only
  expect(counts).toEqual([
    ['shared store', 99],
    ['internal-only', 24], // only the issuing server resumes: every 4th connection after the first
    ['shared store', 99],
    ['internal-only', 0],
  ]);
  expect(r.stdout).toMatch(/summary: with the shared store every connection after the first resumed: yes/);
});
