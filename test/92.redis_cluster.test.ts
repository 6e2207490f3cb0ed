// RedisSessionStore and RedisTicketKeySource on a real Redis Cluster (deps/redis-cluster.js:
// three primaries with one replica each, redis-servers on 127.0.0.1): the sessions spread
// over the shards, each key with its TTL; two TlsServers resume each other's sessions; a
// revocation published through one node reaches a subscriber connected to another; a
// primary SIGKILLed or handed over with CLUSTER FAILOVER is replaced by its replica while
// every handshake still completes (a store that cannot answer means a full handshake), and
// the revocation feed of a subscriber whose node died moves to another node and resyncs.
import * as path from 'path';
import * as crypto from 'crypto';
import { Cluster, Redis } from 'ioredis';
import { createServer, RedisSessionStore, RedisTicketKeySource, TlsServer, TLSSocket } from '../lib';
import { certs, endNode, listen, next, nodeClient, resumesWith, track } from './helpers/sockets';
import { RedisTestBed } from './helpers/redis';

interface Node {
  host: string;
  port: number;
}
interface Change {
  killed: Node;
  promoted: Node;
  ms: number;
}
interface RedisCluster {
  nodes: Node[];
  primaries(): Promise<Node[]>;
  topology(): Promise<(Node & { role: 'primary' | 'replica'; shard: number })[]>;
  killPrimary(index?: number): Promise<Change>;
  failover(index?: number): Promise<Change>;
  stop(): Promise<void>;
}

const { startRedisCluster } = require(path.join(__dirname, '..', 'deps', 'redis-cluster.js')) as {
  startRedisCluster(o?: { primaries?: number; replicasPerPrimary?: number }): Promise<RedisCluster>;
};

const { cert, key } = certs();
const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;
const SESSION_TIMEOUT = 120;
const bed = new RedisTestBed();
let cluster: RedisCluster;
const clients: Cluster[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
}, 60000);

afterAll(async () => {
  await bed.close();
  for (const c of clients) c.disconnect();
  await cluster?.stop();
});

const nameOf = (n: Node): string => `${n.host}:${n.port}`;

/** a plain (non-cluster) connection to one node, one per node (closed at once, even when
 * its node is gone: ioredis would otherwise wait 2 s for a stream that already closed) */
const admins = new Map<number, Redis>();
function admin(n: Node): Redis {
  let a = admins.get(n.port);
  if (!a) admins.set(n.port, (a = bed.admin(n.port, { disconnectTimeout: 50 })));
  return a;
}

/** the primary serving `key` now, as CLUSTER KEYSLOT and CLUSTER SLOTS of a live node say */
async function ownerOf(key: Buffer, via: Node): Promise<Node> {
  const a = admin(via);
  const slot = Number(await a.call('CLUSTER', 'KEYSLOT', key));
  const ranges = (await a.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  if (!range) throw new Error(`no node serves slot ${slot}`);
  return { host: range[2][0], port: Number(range[2][1]) };
}

function clusterStore(opts: Partial<ConstructorParameters<typeof RedisSessionStore>[0]> = {}): RedisSessionStore {
  return bed.store({ cluster: { nodes: cluster.nodes }, ...opts });
}

interface Served {
  server: TlsServer;
  store: RedisSessionStore;
  port: number;
  clientErrors: Error[];
  storeErrors: (Error & { code?: string })[];
}

async function serve(store: RedisSessionStore): Promise<Served> {
  const server = createServer({ cert, key, sessionStore: store, sessionTimeout: SESSION_TIMEOUT }, (s: TLSSocket) => {
    s.resume();
    s.on('end', () => s.end());
  });
  const clientErrors: Error[] = [];
  const storeErrors: (Error & { code?: string })[] = [];
  server.on('tlsClientError', (e: Error) => clientErrors.push(e));
  server.on('sessionStoreError', (e: Error & { code?: string }) => storeErrors.push(e));
  bed.keep(server, track(server));
  return { server, store, port: await listen(server), clientErrors, storeErrors };
}

/** a full handshake (tickets off); resolves with the client's session, its id, and whether the store took it */
async function handshake(s: Served): Promise<{ session: Buffer; id: Buffer; stored: boolean }> {
  const outcome = new Promise<{ id?: Buffer; stored: boolean }>((resolve) => {
    const ok = (id: Buffer) => {
      s.server.off('sessionStoreError', bad);
      resolve({ id, stored: true });
    };
    const bad = () => {
      s.server.off('sessionStored', ok);
      resolve({ stored: false });
    };
    s.server.once('sessionStored', ok);
    s.server.once('sessionStoreError', bad);
  });
  const c = await nodeClient(s.port, { secureOptions: NO_TICKET });
  expect(c.socket.isSessionReused()).toBe(false);
  const session = await c.session();
  await endNode(c.socket);
  const o = await outcome;
  return { session, id: o.id ?? parseSessionId(session), stored: o.stored };
}

/** the session id inside a DER SSL_SESSION (its fourth element, an OCTET STRING) */
function parseSessionId(der: Buffer): Buffer {
  // SEQUENCE { INTEGER version, OCTET STRING ssl_version, OCTET STRING cipher, OCTET STRING id, … }
  let off = 0;
  const header = (): { len: number; start: number } => {
    off += 1; // tag
    let len = der[off++];
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = (len << 8) | der[off++];
    }
    return { len, start: off };
  };
  header(); // the outer SEQUENCE
  for (let i = 0; i < 3; i++) {
    const { len } = header();
    off += len;
  }
  const { len, start } = header();
  return der.subarray(start, start + len);
}

/** polls `f` until it resolves without throwing (deadline 20 s) — an observable condition */
async function eventually<T>(what: string, f: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(e as Error).message}`);
      await new Promise((r) => setImmediate(r));
    }
  }
}

/**
 * Handshakes against `targets` until `done` settles (and one more round after): a new
 * session on one server, then that session offered to the other. Counts what completed
 * and every failure on the client's side.
 */
async function traffic(targets: Served[], done: Promise<unknown>): Promise<{ handshakes: number; resumed: number; failed: Error[] }> {
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  const out = { handshakes: 0, resumed: 0, failed: [] as Error[] };
  let round = 0;
  let last = false;
  while (!last) {
    last = finished;
    const from = targets[round % targets.length];
    const to = targets[(round + 1) % targets.length];
    round += 1;
    try {
      const c = await nodeClient(from.port, { secureOptions: NO_TICKET });
      const session = await c.session();
      await endNode(c.socket);
      out.handshakes += 1;
      if (await resumesWith(to.port, session)) out.resumed += 1;
      out.handshakes += 1;
    } catch (e) {
      out.failed.push(e as Error);
    }
  }
  return out;
}

/** a stored session whose key `owner` serves: made by handshakes on `s` (as many as needed, at most 60) */
async function sessionOnShard(s: Served, owner: Node): Promise<{ session: Buffer; id: Buffer }> {
  for (let i = 0; i < 60; i++) {
    const h = await handshake(s);
    if (!h.stored) continue;
    if (nameOf(await ownerOf(s.store.key(h.id), owner)) === nameOf(owner)) return h;
  }
  throw new Error(`no session landed on ${nameOf(owner)} in 60 handshakes`);
}

describe('the cluster the tests run on (deps/redis-cluster.js)', () => {
  test('3 primaries, each with one synced replica; every node says cluster_state:ok with all 16384 slots', async () => {
    const topology = await cluster.topology();
    expect(topology.filter((n) => n.role === 'primary')).toHaveLength(3);
    expect(topology.filter((n) => n.role === 'replica')).toHaveLength(3);
    expect(new Set(topology.map(nameOf)).size).toBe(6);
    expect((await cluster.primaries()).map(nameOf)).toEqual(topology.filter((n) => n.role === 'primary').map(nameOf));
    for (const n of topology) {
      const info = String(await admin(n).call('CLUSTER', 'INFO'));
      expect(info).toMatch(/^cluster_state:ok\r?$/m);
      expect(info).toMatch(/^cluster_slots_ok:16384\r?$/m);
      expect(info).toMatch(/^cluster_known_nodes:6\r?$/m);
      const repl = await admin(n).info('replication');
      if (n.role === 'replica') expect(repl).toMatch(/^master_link_status:up\r?$/m);
      else expect(repl).toMatch(/^connected_slaves:1\r?$/m);
    }
  });
});

describe('RedisSessionStore on a Redis Cluster', () => {
  test('options: cluster excludes client and redis, subscriberNode needs a cluster, nodes must be a non-empty array', () => {
    const given = new Cluster(cluster.nodes, { lazyConnect: true });
    clients.push(given);
    expect(() => new RedisSessionStore({ cluster: { nodes: cluster.nodes }, client: given })).toThrow(/options\.cluster and options\.client exclude each other/);
    expect(() => new RedisSessionStore({ cluster: { nodes: cluster.nodes }, redis: { port: cluster.nodes[0].port } })).toThrow(TypeError);
    expect(() => new RedisSessionStore({ redis: { lazyConnect: true }, subscriberNode: cluster.nodes[0] })).toThrow(/applies to a Redis Cluster only/);
    expect(() => new RedisSessionStore({ cluster: { nodes: [] } })).toThrow(RangeError);
    expect(() => new RedisSessionStore({ cluster: { nodes: 'x' as unknown as Node[] } })).toThrow(TypeError);
    expect(() => new RedisSessionStore({ client: given, tls: {} })).toThrow(/options\.tls applies to the clients the store makes/);
    expect(() => new RedisSessionStore({ cluster: { nodes: cluster.nodes, options: { lazyConnect: true } }, subscriberNode: { host: '127.0.0.1', port: 0 } })).toThrow(RangeError);
    const s = new RedisSessionStore({ client: given });
    expect(s.isCluster).toBe(true);
    expect(s.subscriberNode).toBeUndefined();
  });

  test('the sessions spread over the shards, each key on the primary of its slot with the TTL of the session timeout', async () => {
    const store = clusterStore();
    const a = await serve(store);
    await store.ready();
    const made: Buffer[] = [];
    for (let i = 0; i < 16; i++) {
      const h = await handshake(a);
      expect(h.stored).toBe(true);
      made.push(h.id);
    }
    const owners = new Map<string, number>();
    for (const id of made) {
      const k = store.key(id);
      const owner = await ownerOf(k, cluster.nodes[0]);
      owners.set(nameOf(owner), (owners.get(nameOf(owner)) ?? 0) + 1);
      // the key lives on its slot's primary: a plain connection there reads it and its TTL
      const here = admin(owner);
      expect(await here.exists(k)).toBe(1);
      const ttl = await here.ttl(k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(SESSION_TIMEOUT);
      // any other primary redirects
      const other = (await cluster.primaries()).find((p) => nameOf(p) !== nameOf(owner))!;
      await expect(admin(other).exists(k)).rejects.toThrow(/^MOVED /);
    }
    expect(owners.size).toBeGreaterThanOrEqual(2);
    // and the store reads each back (GETRANGE on its shard)
    for (const id of made) expect(await store.get(id)).toBeInstanceOf(Buffer);
    // per-node DBSIZE: the keys are divided among the primaries, each replica mirrors its primary's count
    const topology = await cluster.topology();
    const sizes = await Promise.all(topology.map(async (n) => ({ ...n, size: Number(await admin(n).dbsize()) })));
    expect(sizes.filter((n) => n.role === 'primary' && n.size > 0).length).toBeGreaterThanOrEqual(2);
    expect(sizes.filter((n) => n.role === 'primary').reduce((t, n) => t + n.size, 0)).toBe(made.length);
  });

  test('two TlsServers, one store made from `cluster`, one given a Cluster client: each resumes the other’s sessions', async () => {
    const sa = clusterStore();
    const given = new Cluster(cluster.nodes, { enableOfflineQueue: false, retryDelayOnFailover: 0, retryDelayOnClusterDown: 0, redisOptions: { maxRetriesPerRequest: 0 } });
    const sb = bed.store({ client: given, ownsClient: true });
    expect(sb.isCluster).toBe(true);
    const a = await serve(sa);
    const b = await serve(sb);
    await Promise.all([sa.ready(), sb.ready()]);
    for (let i = 0; i < 4; i++) {
      const x = await handshake(a);
      const y = await handshake(b);
      expect(x.stored && y.stored).toBe(true);
      expect(await resumesWith(b.port, x.session)).toBe(true);
      expect(await resumesWith(a.port, y.session)).toBe(true);
    }
    expect(b.server.sessionStoreStats.hits).toBe(4);
    expect(a.server.sessionStoreStats.hits).toBe(4);
    expect([...a.clientErrors, ...b.clientErrors]).toEqual([]);
  });

  test('revoke() on one server: the PUBLISH, made by the key’s primary, reaches the other server’s subscriber on a replica of another shard; never resumed again', async () => {
    const topology = await cluster.topology();
    const replicas = topology.filter((n) => n.role === 'replica');
    const sa = clusterStore({ subscriberNode: replicas[0] });
    const sb = clusterStore({ subscriberNode: replicas[1] });
    const a = await serve(sa);
    const b = await serve(sb);
    await Promise.all([sa.ready(), sb.ready()]);
    expect(nameOf(sa.subscriberNode!)).toBe(nameOf(replicas[0]));
    expect(nameOf(sb.subscriberNode!)).toBe(nameOf(replicas[1]));
    // the subscribers are connected where we asked: CLIENT LIST of those nodes shows them subscribed
    for (const n of [replicas[0], replicas[1]]) expect(String(await admin(n).call('CLIENT', 'LIST', 'TYPE', 'pubsub'))).toMatch(/ sub=1 /);
    const x = await handshake(a);
    expect(x.stored).toBe(true);
    expect(await resumesWith(b.port, x.session)).toBe(true);
    expect(b.server.context.getSession(x.id)).toBeDefined(); // now in B's OpenSSL cache
    const publisher = await ownerOf(sa.key(x.id), cluster.nodes[0]);
    // the DEL + PUBLISH run on the key's primary, which is neither subscriber's node
    expect(topology.find((n) => nameOf(n) === nameOf(publisher))!.role).toBe('primary');
    expect(nameOf(publisher)).not.toBe(nameOf(sb.subscriberNode!));
    const heard = next<Buffer>(b.server, 'sessionRevoked');
    await a.server.revoke(x.id);
    expect((await heard).equals(x.id)).toBe(true);
    expect(b.server.context.getSession(x.id)).toBeUndefined();
    expect(await admin(publisher).exists(sa.key(x.id))).toBe(0);
    for (let i = 0; i < 3; i++) {
      expect(await resumesWith(b.port, x.session)).toBe(false);
      expect(await resumesWith(a.port, x.session)).toBe(false);
    }
    expect([...a.clientErrors, ...b.clientErrors]).toEqual([]);
  });
});

describe('failover under handshakes', () => {
  test('SIGKILL of a primary: its replica takes over, no handshake fails meanwhile, the feed whose node died moves and resyncs, the promoted node serves new sessions', async () => {
    const before = await cluster.topology();
    const victim = before.find((n) => n.role === 'primary' && n.shard === 0)!;
    const replica = before.find((n) => n.role === 'replica' && n.shard === 0)!;
    const sa = clusterStore({ subscriberNode: before.find((n) => n.role === 'replica' && n.shard === 2)! });
    const sb = clusterStore({ subscriberNode: victim }); // B's feed listens on the node that dies
    const a = await serve(sa);
    const b = await serve(sb);
    await Promise.all([sa.ready(), sb.ready()]);
    expect(nameOf(sb.subscriberNode!)).toBe(nameOf(victim));
    const feedDown = next<Error & { code?: string }>(sb, 'feedDown');
    const resynced = feedDown.then(() => next(b.server, 'sessionStoreResync'));
    const killing = cluster.killPrimary(0);
    const load = traffic([a, b], killing);
    const change = await killing;
    const seen = await load;
    expect(change.killed).toEqual({ host: victim.host, port: victim.port });
    expect(change.promoted).toEqual({ host: replica.host, port: replica.port });
    // every handshake completed: a store that could not answer meant a full handshake
    expect(seen.failed).toEqual([]);
    expect([...a.clientErrors, ...b.clientErrors]).toEqual([]);
    expect(seen.handshakes).toBeGreaterThan(0);
    expect((await feedDown).code).toBe('ERR_SESSION_STORE_UNREACHABLE');
    await resynced;
    expect(sb.feedUp).toBe(true);
    expect(nameOf(sb.subscriberNode!)).not.toBe(nameOf(victim));
    expect(b.server.sessionStoreStats.resyncs).toBe(2); // the first subscription, then this one
    // the promoted replica serves shard 0: a session stored there now resumes on the other server
    const promoted = change.promoted;
    await eventually('the stores reach every shard', async () => {
      const probe = await sessionOnShard(a, promoted);
      if (!(await resumesWith(b.port, probe.session))) throw new Error('not resumed');
    });
    const x = await sessionOnShard(a, promoted);
    expect(await admin(promoted).exists(sa.key(x.id))).toBe(1);
    expect(await resumesWith(b.port, x.session)).toBe(true);
    // and the moved feed hears revocations
    const heard = next<Buffer>(b.server, 'sessionRevoked');
    await a.server.revoke(x.id);
    expect((await heard).equals(x.id)).toBe(true);
    expect(await resumesWith(b.port, x.session)).toBe(false);
    expect([...a.clientErrors, ...b.clientErrors]).toEqual([]);
    process.stdout.write(
      `[92] SIGKILL failover: promoted after ${change.ms} ms; ${seen.handshakes} handshakes meanwhile (${seen.resumed} resumed, ${seen.failed.length} failed); store errors A ${a.storeErrors.length}, B ${b.storeErrors.length}\n`,
    );
  });

  test('CLUSTER FAILOVER: the replica takes over, no handshake fails meanwhile, the feed on the old primary keeps hearing revocations', async () => {
    const before = await cluster.topology();
    const old = before.find((n) => n.role === 'primary' && n.shard === 1)!;
    const replica = before.find((n) => n.role === 'replica' && n.shard === 1)!;
    const sa = clusterStore();
    const sb = clusterStore({ subscriberNode: old }); // B's feed listens on the primary that steps down
    const a = await serve(sa);
    const b = await serve(sb);
    await Promise.all([sa.ready(), sb.ready()]);
    const kept = await sessionOnShard(a, old);
    const handing = cluster.failover(1);
    const load = traffic([a, b], handing);
    const change = await handing;
    const seen = await load;
    expect(change.killed).toEqual({ host: old.host, port: old.port });
    expect(change.promoted).toEqual({ host: replica.host, port: replica.port });
    expect(seen.failed).toEqual([]);
    expect([...a.clientErrors, ...b.clientErrors]).toEqual([]);
    // a coordinated handover loses nothing: the session stored before it is on the new primary
    expect(await admin(change.promoted).exists(sa.key(kept.id))).toBe(1);
    expect(await eventually('resumed after the handover', async () => {
      if (!(await resumesWith(b.port, kept.session))) throw new Error('not resumed');
      return true;
    })).toBe(true);
    const x = await sessionOnShard(a, change.promoted);
    expect(await resumesWith(b.port, x.session)).toBe(true);
    const heard = next<Buffer>(b.server, 'sessionRevoked');
    await a.server.revoke(x.id);
    expect((await heard).equals(x.id)).toBe(true);
    expect(await resumesWith(b.port, x.session)).toBe(false);
    process.stdout.write(
      `[92] CLUSTER FAILOVER: promoted after ${change.ms} ms; ${seen.handshakes} handshakes meanwhile (${seen.resumed} resumed, ${seen.failed.length} failed); store errors A ${a.storeErrors.length}, B ${b.storeErrors.length}\n`,
    );
  });
});

describe('a primary frozen (SIGSTOP)', () => {
  test('its shard’s commands time out and reset that node’s connection once, the other shards answer; its sessions mean full handshakes; all answer once it is thawed', async () => {
    const topology = await cluster.topology();
    const frozen = topology.find((n) => n.role === 'primary' && n.shard === 2)!;
    const sa = clusterStore({ commandTimeout: 200 });
    const sb = clusterStore({ commandTimeout: 200 });
    const a = await serve(sa);
    const b = await serve(sb);
    await Promise.all([sa.ready(), sb.ready()]);
    const x = await sessionOnShard(a, frozen);
    const ids = Array.from({ length: 24 }, () => crypto.randomBytes(32));
    for (const id of ids) await sa.set(id, id, 60);
    const onFrozen = new Set<string>();
    for (const id of ids) if (nameOf(await ownerOf(sa.key(id), frozen)) === nameOf(frozen)) onFrozen.add(id.toString('hex'));
    expect(onFrozen.size).toBeGreaterThan(0);
    expect(onFrozen.size).toBeLessThan(ids.length);
    const pid = Number(/^process_id:(\d+)/m.exec(await admin(frozen).info('server'))![1]);
    process.kill(pid, 'SIGSTOP');
    let thawed = false;
    const thaw = () => {
      if (!thawed) process.kill(pid, 'SIGCONT');
      thawed = true;
    };
    try {
      const answers = await Promise.all(
        ids.map((id) =>
          sb.get(id).then(
            (v) => ({ id, v, code: undefined as string | undefined }),
            (e: Error & { code?: string }) => ({ id, v: undefined, code: e.code + ' ' + e.message }),
          ),
        ),
      );
      for (const r of answers) {
        if (onFrozen.has(r.id.toString('hex'))) expect(r.code).toMatch(/^ERR_SESSION_STORE_TIMEOUT /);
        else expect(r).toEqual({ id: r.id, v: r.id, code: undefined });
      }
      expect(sb.stats.resets).toBe(1);
      expect(sb.pendingCommands).toBe(0);
      // a session stored on the frozen shard: a full handshake, never a failed one
      expect(await resumesWith(b.port, x.session)).toBe(false);
      expect(b.clientErrors).toEqual([]);
    } finally {
      thaw();
    }
    // the cluster settles (its replica may have taken over meanwhile) and every key answers again
    await cluster.primaries();
    await eventually('every key answers after the thaw', async () => {
      for (const id of ids) if (!(await sb.get(id))?.equals(id)) throw new Error('not yet');
    });
    expect([...a.clientErrors, ...b.clientErrors]).toEqual([]);
  });
});

describe('RedisTicketKeySource on a Redis Cluster', () => {
  test('`cluster`: claims of slots on different shards, the first claim wins, get reads it', async () => {
    const source = new RedisTicketKeySource({ cluster: { nodes: cluster.nodes } });
    const other = new RedisTicketKeySource({ cluster: { nodes: cluster.nodes } });
    try {
      await Promise.all([source.ready(), other.ready()]);
      const owners = new Set<string>();
      for (let slot = 0; slot < 12; slot++) {
        const mine = crypto.randomBytes(64);
        expect((await source.claim(slot, mine, 60000)).equals(mine)).toBe(true);
        expect((await other.claim(slot, crypto.randomBytes(64), 60000)).equals(mine)).toBe(true);
        expect((await other.get(slot))!.equals(mine)).toBe(true);
        owners.add(nameOf(await ownerOf(Buffer.concat([source.prefix, Buffer.from(String(slot))]), cluster.nodes[cluster.nodes.length - 1])));
      }
      expect(owners.size).toBeGreaterThanOrEqual(2);
      expect(() => new RedisTicketKeySource({ cluster: { nodes: cluster.nodes }, redis: {} })).toThrow(TypeError);
    } finally {
      await source.close();
      await other.close();
    }
  });
});
