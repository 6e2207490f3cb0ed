// What a store writer or reader can do to sessions: with `keys`, every value in Redis (and
// in the cluster primary) is AES-256-GCM-sealed under a named key with the session id as
// additional data — no DER and no master key readable with redis-cli, an altered or moved
// value is a counted miss, keys rotate through `previous`. Without a key, a server still caps
// what a writer can change: a session for another session id context is a counted miss that
// is not kept, and a session's lifetime never exceeds the server's sessionTimeout. Plus the
// ClusterSessionStore's instances and byte bound, and MemorySessionStore's clock and TTL.
import { execFile, spawnSync } from 'child_process';
import * as path from 'path';
import { createServer, MemorySessionStore, RedisSessionStore, SessionStore, SslSession, TlsServer, TLSSocket } from '../lib';
import { certs, endNode, listen, nodeClient, resumesWith, storedFullHandshake, track } from './helpers/sockets';
import { RedisTestBed, startRedis } from './helpers/redis';

const { resolveRedisServer } = require('../deps/redis-server.js') as { resolveRedisServer(): { command: string; env: Record<string, string> } };
const { cert, key } = certs();
const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;
const bed = new RedisTestBed();
afterAll(() => bed.close());

const K1 = { name: 'k1', key: Buffer.alloc(32, 0x11) };
const K2 = { name: 'k2', key: Buffer.alloc(32, 0x22) };

async function serve(sessionStore: SessionStore, opts: Record<string, unknown> = {}): Promise<{ server: TlsServer; port: number; ders: Map<string, Buffer> }> {
  const ders = new Map<string, Buffer>();
  const server = createServer({ cert, key, sessionStore, ...opts }, (s: TLSSocket) => {
    const session = s.getSslSession(); // shared: not freed here
    if (session) ders.set(session.id.toString('hex'), session.toDER());
    s.resume();
    s.on('end', () => s.end());
  });
  server.on('tlsClientError', () => {});
  server.on('sessionStoreError', () => {});
  const sockets = track(server);
  bed.keep(server, sockets);
  return { server, port: await listen(server), ders };
}

function redisStore(port: number, extra: Partial<ConstructorParameters<typeof RedisSessionStore>[0]> = {}): RedisSessionStore {
  return bed.store({ redis: { host: '127.0.0.1', port }, ...extra });
}

/** redis-cli GET of a binary key (the key given as hex through redis-cli's own escapes) */
function redisCliGet(port: number, k: Buffer): Buffer {
  const found = resolveRedisServer();
  const cli = path.join(path.dirname(found.command), 'redis-cli');
  const escaped = [...k].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  const r = spawnSync(cli, ['-p', String(port), '--no-auth-warning'], {
    input: `GET "${escaped}"\n`,
    env: { ...process.env, ...found.env },
  });
  if (r.status !== 0) throw new Error(`redis-cli failed: ${r.stderr}`);
  return r.stdout;
}

describe('sealed values in Redis', () => {
  test('redis-cli GET shows no DER and no master key; an altered or moved value is a counted miss; keys rotate', async () => {
    const redis = await startRedis();
    const admin = bed.admin(redis.port);
    const sa = redisStore(redis.port, { keys: { current: K1 } });
    const a = await serve(sa);
    await sa.ready();
    // the server's key log gives the master secret
    const masters: Buffer[] = [];
    a.server.on('keylog', (line: Buffer) => masters.push(Buffer.from(String(line).trim().split(' ')[2], 'hex')));
    const stored = new Promise<Buffer>((r) => a.server.once('sessionStored', r));
    const c = await nodeClient(a.port, { secureOptions: NO_TICKET });
    const session = await c.session();
    await endNode(c.socket);
    const id = await stored;
    const x = { id, session };
    const der = a.ders.get(id.toString('hex'))!;
    expect(der).toBeDefined();

    const seen = redisCliGet(redis.port, sa.key(id));
    expect(seen.length).toBeGreaterThan(der.length);
    expect(seen.includes(der)).toBe(false);
    expect(seen.includes(der.subarray(0, 32))).toBe(false);
    expect(masters.length).toBe(1);
    expect(masters[0].length).toBe(48);
    expect(der.includes(masters[0])).toBe(true); // the DER holds it …
    expect(seen.includes(masters[0])).toBe(false); // … the value in Redis does not
    // and the keys themselves are nowhere in Redis
    for (const k of await admin.keysBuffer('*')) {
      const v = (await admin.getBuffer(k)) ?? Buffer.alloc(0);
      expect(v.includes(K1.key) || k.includes(K1.key)).toBe(false);
    }
    expect(await resumesWith(a.port, x.session)).toBe(true);

    // another server with the same key resumes it; one with the next key and the old one as
    // previous too; one with only the next key does not
    const rotated = redisStore(redis.port, { keys: { current: K2, previous: [K1] } });
    const b = await serve(rotated);
    await rotated.ready();
    expect(await resumesWith(b.port, x.session)).toBe(true);
    const onlyK2 = redisStore(redis.port, { keys: { current: K2 } });
    const d = await serve(onlyK2);
    await onlyK2.ready();
    expect(await resumesWith(d.port, x.session)).toBe(false);
    expect(onlyK2.stats.unauthenticated).toBe(1);

    // a second session; x's value moved under y's id is refused
    const y = await storedFullHandshake(a.server, a.port);
    const fresh = redisStore(redis.port, { keys: { current: K1 } });
    const e = await serve(fresh);
    await fresh.ready();
    await admin.set(fresh.key(y.id), (await admin.getBuffer(fresh.key(x.id)))!);
    expect(await resumesWith(e.port, y.session)).toBe(false);
    expect(fresh.stats.unauthenticated).toBe(1);
    // one byte of x's value altered: a counted miss, never a resumption
    const v = (await admin.getBuffer(fresh.key(x.id)))!;
    v[v.length - 1] ^= 1;
    await admin.set(fresh.key(x.id), v);
    expect(await resumesWith(e.port, x.session)).toBe(false);
    expect(fresh.stats.unauthenticated).toBe(2);
    expect(e.server.sessionStoreStats).toMatchObject({ hits: 0, misses: 2 });
    await redis.stop();
  });

  test('keys are checked: 32 bytes, a name, previous an array of distinct names', () => {
    const opts = (keys: unknown) => () => new RedisSessionStore({ keys: keys as never, redis: { lazyConnect: true } });
    expect(opts({ current: { name: 'k', key: Buffer.alloc(16) } })).toThrow(RangeError);
    expect(opts({ current: { name: '', key: Buffer.alloc(32) } })).toThrow(RangeError);
    expect(opts({ current: { key: Buffer.alloc(32) } })).toThrow(TypeError);
    expect(opts({ current: K1, previous: K2 })).toThrow(TypeError);
    expect(opts({ current: K1, previous: [K1] })).toThrow(RangeError);
    expect(opts(5)).toThrow(TypeError);
  });
});

/** a store in a Map whose values the test rewrites */
class MapStore implements SessionStore {
  readonly map = new Map<string, Buffer>();
  async get(id: Buffer): Promise<Buffer | undefined> {
    return this.map.get(id.toString('hex'));
  }
  async set(id: Buffer, der: Buffer): Promise<void> {
    this.map.set(id.toString('hex'), Buffer.from(der));
  }
  async delete(id: Buffer): Promise<void> {
    this.map.delete(id.toString('hex'));
  }
}

describe('what a store writer can change without a key', () => {
  test('a session for another session id context: a counted miss, not kept', async () => {
    const mine = new MapStore();
    const other = new MapStore();
    const a = await serve(mine);
    const b = await serve(other, { sessionIdContext: 'another service' });
    const y = await storedFullHandshake(b.server, b.port);
    mine.map.set(y.id.toString('hex'), other.map.get(y.id.toString('hex'))!);
    expect(await resumesWith(a.port, y.session)).toBe(false);
    expect(a.server.sessionStoreStats).toMatchObject({ otherContext: 1, hits: 0, misses: 1 });
    expect(a.server.context.getSession(y.id)).toBeUndefined();
    expect(a.server.context.sessionCount).toBe(0);
  });

  test('a timeout rewritten to ten years or a time a year ahead is cut to the server’s sessionTimeout', async () => {
    const store = new MapStore();
    const a = await serve(store, { sessionTimeout: 120 });
    const x = await storedFullHandshake(a.server, a.port);
    const hex = x.id.toString('hex');
    const s = SslSession.fromDER(store.map.get(hex)!);
    s.timeout = 10 * 365 * 86400;
    store.map.set(hex, s.toDER());
    expect(await resumesWith(a.port, x.session)).toBe(true);
    const cached = a.server.context.getSession(x.id)!;
    expect(cached.timeout).toBe(120);
    a.server.context.flushSessions(0);
    const now = Math.floor(Date.now() / 1000);
    s.timeout = 120;
    s.time = now + 365 * 86400;
    store.map.set(hex, s.toDER());
    expect(await resumesWith(a.port, x.session)).toBe(true);
    expect(a.server.context.getSession(x.id)!.time).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(a.server.sessionStoreStats.lifetimeCapped).toBe(2);
    s.free();
  });
});

describe('ClusterSessionStore', () => {
  test('two instances in one worker keep their replies apart; the primary bounds bytes; sealed values leave the worker sealed', async () => {
    const fixture = path.join(__dirname, 'fixtures', 'cluster_two_stores.js');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [fixture], { timeout: 60000 }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout))),
    );
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ aIsA: true, bIsB: true, rawBHasDer: false });
    expect(r.rawBLength).toBeGreaterThan(600);
    expect(r.bytes).toBeLessThanOrEqual(r.maxBytes);
    expect(r.size).toBeGreaterThan(0);
  });
});

describe('MemorySessionStore', () => {
  test('its clock must be finite milliseconds and its TTL finite', async () => {
    expect(() => new MemorySessionStore({ now: () => NaN })).toThrow(RangeError);
    expect(() => new MemorySessionStore({ now: () => Date.now() / 1000 })).toThrow(/milliseconds/);
    let t = 1000;
    const m = new MemorySessionStore({ now: () => t });
    t = Infinity;
    await expect(m.get(Buffer.from('aa', 'hex'))).resolves.toBeUndefined(); // nothing to read yet
    await expect(m.set(Buffer.from('aa', 'hex'), Buffer.from('der'), 10)).rejects.toThrow(RangeError);
    t = 1000;
    await expect(m.set(Buffer.from('aa', 'hex'), Buffer.from('der'), Infinity)).rejects.toThrow(RangeError);
    await expect(m.set(Buffer.from('aa', 'hex'), Buffer.from('der'), -1)).rejects.toThrow(RangeError);
    await m.set(Buffer.from('aa', 'hex'), Buffer.from('der'), 0);
    expect(m.size).toBe(0);
  });
});
