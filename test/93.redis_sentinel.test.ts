// RedisSessionStore on a Sentinel-managed Redis (ioredis's `sentinels` + `name`), against
// real redis-servers on 127.0.0.1: a primary, a replica and three sentinels
// (deps/redis-sentinel.js). Two TlsServers share the set through their own stores; real
// clients resume across them. Through a SENTINEL FAILOVER and through a killed primary, the
// stores follow the promoted replica (command connection and revocation feed), no
// handshake fails while the store is out (a full handshake instead), and afterwards new
// sessions are stored and resumed, revocations heard, the feed resynced. A primary demoted
// under the store's connection (a READONLY answer) is left for the one the sentinels name.
import { Redis } from 'ioredis';
import { createServer, RedisSessionStore, RedisTicketKeySource, TlsServer, TLSSocket } from '../lib';
import { certs, endNode, listen, next, nodeClient, resumesWith, storedFullHandshake, track } from './helpers/sockets';
import { RedisTestBed, startRedis } from './helpers/redis';
import { bounded } from './helpers/events';

interface Addr {
  host: string;
  port: number;
}
interface Promotion {
  from: Addr;
  to: Addr;
  ms: number;
}
interface SentinelSet {
  name: string;
  sentinels: Addr[];
  redisOptions(): { sentinels: Addr[]; name: string };
  primary(): Promise<Addr>;
  failover(): Promise<Promotion>;
  killPrimary(): Promise<Promotion>;
  settled(): Promise<Addr>;
  stop(): Promise<void>;
}
const { startRedisSentinel } = require('../deps/redis-sentinel.js') as {
  startRedisSentinel(o?: { replicas?: number; sentinels?: number; name?: string; host?: string }): Promise<SentinelSet>;
};

const { cert, key } = certs();
const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;
const bed = new RedisTestBed();
let set: SentinelSet;
const sources: RedisTicketKeySource[] = [];

// a loaded machine slows every process of the set: the slow tests get twice jest's bound
const SLOW = 120000;

beforeAll(async () => {
  set = await startRedisSentinel({ replicas: 1, sentinels: 3, name: 'sessions' });
}, SLOW);
afterAll(async () => {
  for (const s of sources) await s.close();
  await bed.close();
  await set?.stop();
});

interface Served {
  server: TlsServer;
  port: number;
  store: RedisSessionStore;
  /** handshakes the server saw fail */
  clientErrors: Error[];
}

/** a TlsServer on its own RedisSessionStore of the set; its connections are named `name` */
async function serve(name: string): Promise<Served> {
  const store = bed.store({ redis: { ...set.redisOptions(), connectionName: name } });
  const server = createServer({ cert, key, sessionStore: store }, (s: TLSSocket) => {
    s.resume();
    s.on('end', () => s.end());
  });
  const clientErrors: Error[] = [];
  server.on('tlsClientError', (e: Error) => clientErrors.push(e));
  server.on('sessionStoreError', () => {});
  bed.keep(server, track(server));
  return { server, port: await listen(server), store, clientErrors };
}

/**
 * Handshakes one after another until stop(): a full one on a server, then a resumption of
 * its session on the other, alternating. Counts what completed (and resumed) and what failed.
 */
function handshakes(a: Served, b: Served): { stop(): Promise<{ completed: number; resumed: number; failed: Error[] }> } {
  let stopping = false;
  const r = { completed: 0, resumed: 0, failed: [] as Error[] };
  const loop = (async () => {
    for (let i = 0; !stopping; i++) {
      const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
      try {
        const c = await nodeClient(first.port, { secureOptions: NO_TICKET });
        const session = await c.session();
        await endNode(c.socket);
        r.completed += 1;
        const d = await nodeClient(second.port, { session, secureOptions: NO_TICKET });
        if (d.socket.isSessionReused()) r.resumed += 1;
        await endNode(d.socket);
        r.completed += 1;
      } catch (e) {
        r.failed.push(e as Error);
      }
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return r;
    },
  };
}

/** the names of the client connections of the redis-server at `port` */
async function clientNames(port: number): Promise<string[]> {
  const admin = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null });
  admin.on('error', () => {});
  try {
    await admin.connect();
    const list = (await admin.client('LIST')) as string;
    return [...list.matchAll(/ name=(\S*)/g)].map((m) => m[1]);
  } finally {
    admin.disconnect();
  }
}

/**
 * Until both connections of each store (commands, revocation feed) are at `to`, and the
 * stores are ready there. Checked again at each 'ready' or 'resync' of a store, which a
 * reconnection emits: a client that reconnected early, asking a sentinel that had not
 * learnt of the promotion yet, reached the demoted primary, and moves when that sentinel
 * announces the switch, or when the demoted primary is turned into a replica (which
 * disconnects its clients).
 */
async function followed(to: Addr, stores: { name: string; store: RedisSessionStore }[]): Promise<void> {
  const check = async () => {
    for (;;) {
      let cleanup = () => {};
      const changed = new Promise<void>((resolve) => {
        const f = () => resolve();
        for (const s of stores) {
          s.store.on('ready', f);
          s.store.on('resync', f);
        }
        cleanup = () => {
          for (const s of stores) {
            s.store.off('ready', f);
            s.store.off('resync', f);
          }
        };
      });
      try {
        const names = await clientNames(to.port);
        if (stores.every((s) => names.filter((n) => n === s.name).length === 2)) return;
        await changed;
      } finally {
        cleanup();
      }
    }
  };
  await bounded(check(), 30000, `the stores following the primary to ${to.host}:${to.port}`);
  await Promise.all(stores.map((s) => s.store.ready()));
}

/** resolves once the store reported its revocation feed down and then resynced */
function downThenResync(store: RedisSessionStore): Promise<void> {
  return new Promise<void>((resolve) => {
    store.once('feedDown', () => store.once('resync', () => resolve()));
  });
}

/** both stores' feeds went down and resynced (bounded: a store that gave up fails here) */
function bothResync(a: Served, b: Served): Promise<unknown> {
  return bounded(Promise.all([downThenResync(a.store), downThenResync(b.store)]), 60000, 'both revocation feeds down, then resynced');
}

describe('RedisSessionStore on a Sentinel-managed primary and replica', () => {
  let a: Served;
  let b: Served;
  const stores = () => [
    { name: 'a', store: a.store },
    { name: 'b', store: b.store },
  ];

  test('two servers on stores configured with { sentinels, name } resume each other’s sessions', async () => {
    a = await serve('a');
    b = await serve('b');
    await Promise.all([a.store.ready(), b.store.ready()]);
    expect(a.store.feedUp && b.store.feedUp).toBe(true);
    const primary = await set.primary();
    expect(set.redisOptions()).toEqual({ sentinels: set.sentinels, name: 'sessions' });
    const names = await clientNames(primary.port);
    expect(names.filter((n) => n === 'a')).toHaveLength(2);
    const x = await storedFullHandshake(a.server, a.port);
    expect(await resumesWith(b.port, x.session)).toBe(true);
    const y = await storedFullHandshake(b.server, b.port);
    expect(await resumesWith(a.port, y.session)).toBe(true);
  });

  test('SENTINEL FAILOVER: no handshake fails meanwhile; afterwards sessions are stored and resumed, a revocation is heard, the feed resynced', async () => {
    const source = new RedisTicketKeySource({ redis: set.redisOptions() });
    sources.push(source);
    await source.ready();
    const resynced = bothResync(a, b);
    const before = { a: a.server.sessionStoreStats.resyncs, b: b.server.sessionStoreStats.resyncs };
    const load = handshakes(a, b);
    const f = await set.failover();
    expect(f.to).not.toEqual(f.from);
    await resynced;
    await followed(f.to, stores());
    const during = await load.stop();
    expect(during.failed).toEqual([]);
    expect(a.clientErrors).toEqual([]);
    expect(b.clientErrors).toEqual([]);
    expect(during.completed).toBeGreaterThan(0);
    expect(a.server.sessionStoreStats.resyncs).toBeGreaterThan(before.a);
    expect(b.server.sessionStoreStats.resyncs).toBeGreaterThan(before.b);
    // new sessions go to the promoted replica and resume on the other server
    const x = await storedFullHandshake(a.server, a.port);
    expect(await resumesWith(b.port, x.session)).toBe(true);
    expect(await resumesWith(b.port, x.session)).toBe(true); // from B's own cache now
    // revoked on A: B drops its copy and never resumes it again, nor does A
    const heard = next<Buffer>(b.server, 'sessionRevoked');
    await a.server.revoke(x.id);
    expect((await heard).equals(x.id)).toBe(true);
    expect(await resumesWith(b.port, x.session)).toBe(false);
    expect(await resumesWith(a.port, x.session)).toBe(false);
    // the ticket key source follows the primary too: a slot claimed now is read back
    const sealed = Buffer.from('sealed ticket key of a slot');
    await source.ready();
    expect(await source.claim(7, sealed, 60000)).toEqual(sealed);
    expect(await source.get(7)).toEqual(sealed);
  }, SLOW);

  test('a killed primary: the store is out until a replica is promoted, every handshake meanwhile completes (full), then sessions and revocations work again', async () => {
    const resynced = bothResync(a, b);
    const feedDowns = { a: a.server.sessionStoreStats.feedDowns, b: b.server.sessionStoreStats.feedDowns };
    const storeErrors: (Error & { code?: string })[] = [];
    const onError = (e: Error & { code?: string }) => storeErrors.push(e);
    a.server.on('sessionStoreError', onError);
    b.server.on('sessionStoreError', onError);
    // the primary demoted by the failover above is a replica again (about 10 s): the set
    // can lose its primary now without losing the sessions
    await set.settled();
    const load = handshakes(a, b);
    const k = await set.killPrimary();
    await resynced;
    await followed(k.to, stores());
    const during = await load.stop();
    a.server.off('sessionStoreError', onError);
    b.server.off('sessionStoreError', onError);
    expect(during.failed).toEqual([]);
    expect(a.clientErrors).toEqual([]);
    expect(b.clientErrors).toEqual([]);
    expect(during.completed).toBeGreaterThan(0);
    // the store was really out (down-after-milliseconds is 1 s): lookups and writes failed
    // as unreachable, the handshakes went on without it
    expect(storeErrors.some((e) => e.code === 'ERR_SESSION_STORE_UNREACHABLE')).toBe(true);
    expect(a.server.sessionStoreStats.feedDowns).toBeGreaterThan(feedDowns.a);
    expect(b.server.sessionStoreStats.feedDowns).toBeGreaterThan(feedDowns.b);
    const x = await storedFullHandshake(b.server, b.port);
    expect(await resumesWith(a.port, x.session)).toBe(true);
    const heard = next<Buffer>(a.server, 'sessionRevoked');
    await b.server.revoke(x.id);
    expect((await heard).equals(x.id)).toBe(true);
    expect(await resumesWith(a.port, x.session)).toBe(false);
    expect(await resumesWith(b.port, x.session)).toBe(false);
  }, SLOW);

  test('a primary demoted under the store’s connection: the write is refused (READONLY), the connection dropped; the store writes again once it is the primary', async () => {
    const primary = await set.primary();
    const admin = bed.admin(primary.port);
    const elsewhere = await startRedis();
    const id = Buffer.from('a session id of 32 bytes........');
    await a.store.set(id, Buffer.from('der'), 60);
    await admin.replicaof('127.0.0.1', elsewhere.port);
    const dropped = next(a.store.client, 'close');
    const refused = await a.store.set(id, Buffer.from('der'), 60).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(refused?.code).toBe('ERR_SESSION_STORE_REFUSED');
    expect(refused?.message).toMatch(/READONLY/);
    await dropped;
    await admin.replicaof('NO', 'ONE');
    await a.store.ready(20000);
    await a.store.set(id, Buffer.from('der 2'), 60);
    expect(await a.store.get(id)).toEqual(Buffer.from('der 2'));
  });

  test('a Sentinel client of the store that ioredis ended (its failover detector can abort a reconnection for good) connects again', async () => {
    const ended = next(b.store.client, 'end');
    b.store.client.disconnect(); // ends the client as ioredis does then: status 'end', no retry of its own
    await ended;
    expect(b.store.client.status).toBe('end');
    await b.store.ready(20000);
    const id = Buffer.from('another session id of 32 bytes..');
    await b.store.set(id, Buffer.from('der'), 60);
    expect(await b.store.get(id)).toEqual(Buffer.from('der'));
  });

  test('Sentinel options a store cannot write through are refused at construction', () => {
    expect(() => new RedisSessionStore({ redis: { sentinels: [], name: 'sessions' } })).toThrow(TypeError);
    expect(() => new RedisSessionStore({ redis: { sentinels: set.sentinels } })).toThrow(/name/);
    expect(() => new RedisSessionStore({ redis: { ...set.redisOptions(), role: 'slave' } })).toThrow(RangeError);
    expect(() => new RedisTicketKeySource({ redis: { ...set.redisOptions(), role: 'slave' } })).toThrow(RangeError);
  });
});
