// A fleet: three server processes (test/fixtures/fleet_server.js, the compiled package) on
// three ports, each with its own RedisSessionStore on one real redis-server. A Node tls
// client (OpenSSL 3, TLS 1.2) resumes anywhere after one full handshake anywhere; a
// removeSession or revoke(id) on one server makes the session unresumable everywhere as
// soon as every server heard the revocation on the channel; Redis going away means full
// handshakes and 'sessionStoreError', Redis coming back means resumption again, without
// restarting the servers.
import * as fs from 'fs';
import * as path from 'path';
import { Redis } from 'ioredis';
import { certFiles, endNode, nodeClient } from './helpers/sockets';
import { killAllRedis, RedisServer, startRedis } from './helpers/redis';
import { IpcChild, Msg, runNode } from './helpers/children';
import { bounded } from './helpers/events';

const PREFIX = 'fleet:';
const fixture = path.resolve(__dirname, 'fixtures', 'fleet_server.js');

class Member extends IpcChild {
  port = 0;

  async cached(id: Buffer): Promise<boolean> {
    return (await this.request('cached', { id: id.toString('hex') })).cached === true;
  }
}

let files: ReturnType<typeof certFiles> | undefined;
let redis: RedisServer;
let admin: Redis;
const fleet: Member[] = [];

beforeAll(async () => {
  files = certFiles('osc-fleet-');
  redis = await startRedis();
  admin = new Redis({ host: '127.0.0.1', port: redis.port, retryStrategy: (t) => Math.min(t * 50, 300) });
  admin.on('error', () => {});
  for (let i = 0; i < 3; i++) {
    const args = [files.certFile, files.keyFile, String(redis.port), PREFIX];
    fleet.push(Member.fork(`fleet server ${i}`, fixture, args));
  }
  const ports = await Promise.all(fleet.map((m) => m.next('ready')));
  ports.forEach((m, i) => (fleet[i].port = m.port as number));
  await Promise.all(fleet.map((m) => m.request('storeReady')));
  expect(new Set(fleet.map((m) => m.port)).size).toBe(3);
});

afterAll(async () => {
  await Promise.all(fleet.map((m) => m.stop()));
  admin?.disconnect();
  await killAllRedis();
  files?.remove();
});

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

/**
 * A full handshake on server i, and what became of its session: 'stored' in Redis, or
 * 'failed' when the server reported a sessionStoreError first (only while Redis is away).
 */
async function fullHandshake(i: number, orFailed: boolean): Promise<{ session: Buffer; id: Buffer; outcome: 'stored' | 'failed' }> {
  // a store.set of an earlier test's handshake may still complete now: wait for this id
  const seen = new Set<string>();
  const onStored = (m: Msg) => seen.add(m.id as string);
  fleet[i].on('stored', onStored);
  const failed = orFailed ? fleet[i].next('storeError').then(() => 'failed' as const) : new Promise<never>(() => {});
  failed.catch(() => undefined); // may still be pending when the fleet stops
  try {
    const v = await visit(i);
    expect(v.reused).toBe(false);
    const outcome = seen.has(v.id)
      ? 'stored'
      : await bounded(Promise.race([fleet[i].next('stored', (m) => m.id === v.id).then(() => 'stored' as const), failed]), 5000, `'stored' for ${v.id}`);
    return { session: v.session, id: Buffer.from(v.id, 'hex'), outcome };
  } finally {
    fleet[i].off('stored', onStored);
  }
}

/** a full handshake on server i whose session reached Redis */
async function fullStored(i: number): Promise<{ session: Buffer; id: Buffer }> {
  const { session, id } = await fullHandshake(i, false);
  return { session, id };
}

function redisKey(id: Buffer): Buffer {
  return Buffer.concat([Buffer.from(PREFIX), id]);
}

/**
 * Resolves once every server of the fleet applied the revocation of id it heard on the
 * channel (its 'revoked' message). Call it before the remove/revoke that publishes it.
 */
function revokedEverywhere(id: Buffer): Promise<unknown> {
  const hex = id.toString('hex');
  return Promise.all(fleet.map((m) => m.next('revoked', (r) => r.id === hex)));
}

/** which servers cache id, and whether Redis has its key */
async function fleetState(id: Buffer): Promise<{ cached: boolean[]; inRedis: boolean }> {
  return { cached: await Promise.all(fleet.map((m) => m.cached(id))), inRedis: (await admin.exists(redisKey(id))) === 1 };
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

test('server.context.removeSession on one server: unresumable on every server once the revocation is heard', async () => {
  const { session, id } = await resumedEverywhere(0);
  const gone = revokedEverywhere(id);
  const r = await fleet[2].request('remove', { id: id.toString('hex') });
  expect(r.removed).toBe(true);
  await gone; // DEL + PUBLISH in one MULTI: heard means deleted from Redis too
  expect(await fleetState(id)).toEqual({ cached: [false, false, false], inRedis: false });
  await expectFullEverywhere(session);
});

test('revoke(id) on a server that does not even cache it: unresumable everywhere once the revocation is heard', async () => {
  const first = await fullStored(1); // the issuing server keeps no copy (NO_INTERNAL_STORE)
  for (const i of [0, 2]) expect((await visit(i, first.session)).reused).toBe(true);
  expect(await Promise.all(fleet.map((m) => m.cached(first.id)))).toEqual([true, false, true]);
  const heard = revokedEverywhere(first.id); // through the channel, not by chance
  await fleet[1].request('revoke', { id: first.id.toString('hex') });
  await heard;
  expect(await fleetState(first.id)).toEqual({ cached: [false, false, false], inRedis: false });
  await expectFullEverywhere(first.session);
});

test('revoke(id) on a server that caches it', async () => {
  const { session, id } = await resumedEverywhere(2);
  const gone = revokedEverywhere(id);
  await fleet[0].request('revoke', { id: id.toString('hex') });
  await gone;
  expect(await fleetState(id)).toEqual({ cached: [false, false, false], inRedis: false });
  await expectFullEverywhere(session);
});

test('Redis stopped → full handshakes, no hang, sessionStoreError, own new sessions kept locally; restarted → resumption returns', async () => {
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
  // what a server holds from the store is not trusted while revocations cannot be heard
  expect((await bounded(visit(0, cachedOn0.session), 10000, 'store-fed resumption')).reused).toBe(false);
  // the session server 2 made while Redis was down is kept there and resumes there
  expect((await bounded(visit(2, fresh.session), 10000, 'own session while down')).reused).toBe(true);

  await redis.start(); // same port, empty
  // the servers reconnect by themselves: each store reports ready (command connection and
  // re-subscribed channel), then a new session is stored again. A set may still fail on
  // its timeout on a busy machine: each failure is an event, answered by another handshake.
  await Promise.all(fleet.map((m) => m.request('storeReady')));
  let again: { session: Buffer; id: Buffer } | undefined;
  for (let attempt = 0; attempt < 5 && !again; attempt++) {
    const w = await fullHandshake(0, true);
    if (w.outcome === 'stored') again = { session: w.session, id: w.id };
  }
  expect(again).toBeDefined();
  for (const i of [1, 2]) {
    const r = await visit(i, again!.session);
    expect({ server: i, reused: r.reused, serverReused: r.serverReused }).toEqual({ server: i, reused: true, serverReused: true });
  }
  // and revocation works again across the fleet
  const gone = revokedEverywhere(again!.id);
  await fleet[1].request('revoke', { id: again!.id.toString('hex') });
  await gone;
  expect(await fleetState(again!.id)).toEqual({ cached: [false, false, false], inRedis: false });
});

// 400 handshakes with a 2048-bit key take seconds, many more on a busy machine: no clock
// of its own (a spawnSync timeout of 30 s failed it under load), jest's timeout is the bound
test('npm run example:fleet: its own Redis, 4 servers, shared store vs internal-only, exit 0', async () => {
  const example = path.resolve(__dirname, '..', 'dist', 'examples', 'fleet.js');
  expect(fs.existsSync(example)).toBe(true); // compiled by npm install (prepare)
  const r = await runNode(example, ['4', '100'], { cwd: path.resolve(__dirname, '..') });
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
}, 300000);
