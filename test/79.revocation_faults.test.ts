// Revocations under faults, against real redis-servers on 127.0.0.1 and a loopback proxy
// that holds or silently drops one connection: a revocation is never missed for good. The
// server trusts its store-fed cache only while the store's revocation feed is listening
// (subscribed, heartbeat answered); before the first subscription, after a refused
// SUBSCRIBE and while the feed's flow is dead every ClientHello asks Redis, which has the
// delete. A server that heard a revocation refuses the session even when Redis hands it
// back after a restart from an older snapshot; with appendfsync always Redis itself keeps it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Redis, RedisOptions } from 'ioredis';
import { createServer, RedisSessionStore, TlsServer, TLSSocket } from '../lib';
import { certs, listen, next, resumesWith, storedFullHandshake, track } from './helpers/sockets';
import { freePort, RedisServer, RedisTestBed, startRedis } from './helpers/redis';
import { TcpProxy } from './helpers/tcp_proxy';

const { cert, key } = certs();
const bed = new RedisTestBed();
const proxies: TcpProxy[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const p of proxies) await p.close();
  await bed.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const admin = (port: number, opts?: RedisOptions): Redis => bed.admin(port, opts);
const store = (opts: ConstructorParameters<typeof RedisSessionStore>[0]): RedisSessionStore => bed.store(opts);

async function serve(sessionStore: RedisSessionStore): Promise<{ server: TlsServer; port: number; errors: (Error & { code?: string })[] }> {
  const server = createServer({ cert, key, sessionStore }, (s: TLSSocket) => {
    s.resume();
    s.on('end', () => s.end());
  });
  server.on('tlsClientError', () => {});
  const errors: (Error & { code?: string })[] = [];
  server.on('sessionStoreError', (e) => errors.push(e));
  const sockets = track(server);
  bed.keep(server, sockets);
  return { server, port: await listen(server), errors };
}

function nextError(server: TlsServer, code: string): Promise<Error & { code?: string }> {
  return new Promise((resolve) => {
    const f = (e: Error & { code?: string }) => {
      if (e.code !== code) return;
      server.off('sessionStoreError', f);
      resolve(e);
    };
    server.on('sessionStoreError', f);
  });
}

/** the store's command connection is ready: its lookups reach Redis (ready() also waits for
 * the feed, which some tests hold back on purpose) */
function commandsReady(s: RedisSessionStore): Promise<void> {
  return s.connected ? Promise.resolve() : new Promise((resolve) => s.client.once('ready', () => resolve()));
}

async function proxyTo(port: number): Promise<TcpProxy> {
  const p = new TcpProxy(port);
  proxies.push(p);
  await p.listen();
  return p;
}

describe('the first subscription', () => {
  test('a revocation published before the subscriber ever subscribed is not missed: nothing is cached from the store until then', async () => {
    const redis = await startRedis();
    const sa = store({ redis: { host: '127.0.0.1', port: redis.port } });
    const a = await serve(sa);
    await sa.ready();
    // B's connections go through a proxy that holds the second one (its subscriber)
    const proxy = await proxyTo(redis.port);
    proxy.policy = (n) => (n === 2 ? 'hold' : 'pass');
    const sb = store({ redis: { host: '127.0.0.1', port: proxy.port } });
    const b = await serve(sb);
    await proxy.connection(2);
    await commandsReady(sb);
    expect(sb.feedUp).toBe(false);
    expect(b.server.sessionStoreStats.feedDown).toBe(true);
    const x = await storedFullHandshake(a.server, a.port);
    expect(await resumesWith(b.port, x.session)).toBe(true); // from Redis
    const gets = b.server.sessionStoreStats.storeGets;
    await a.server.revoke(x.id); // B is not subscribed: it never hears this
    // the copy B fetched is not trusted: the hello asks Redis again, which has the delete
    expect(await resumesWith(b.port, x.session)).toBe(false);
    expect(b.server.sessionStoreStats.storeGets).toBe(gets + 1);
    // the subscriber gets through: the first subscription is a resync
    const resync = next(b.server, 'sessionStoreResync');
    proxy.set(2, 'pass');
    await resync;
    expect(b.server.sessionStoreStats).toMatchObject({ feedDown: false, resyncs: 1 });
    expect(await resumesWith(b.port, x.session)).toBe(false);
    // and from now on B caches what it fetched, and hears revocations
    const y = await storedFullHandshake(a.server, a.port);
    expect(await resumesWith(b.port, y.session)).toBe(true);
    expect(b.server.context.sessionCount).toBe(1);
    const heard = next(b.server, 'sessionRevoked');
    await a.server.revoke(y.id);
    await heard;
    expect(await resumesWith(b.port, y.session)).toBe(false);
  });
});

describe('a refused SUBSCRIBE', () => {
  test('an ACL user without the channel: the server reports ERR_SESSION_STORE_REFUSED and does not trust its cache', async () => {
    const redis = new RedisServer(await freePort());
    await redis.start([
      '--user', 'no-sub', 'on', '>pw', '~tls-session:*', '-@all', '+@connection', '+info', '+getrange', '+set', '+del', '+multi', '+exec', '+publish',
    ]);
    const sa = store({ redis: { host: '127.0.0.1', port: redis.port } });
    const a = await serve(sa);
    await sa.ready();
    const sb = store({ redis: { host: '127.0.0.1', port: redis.port, username: 'no-sub', password: 'pw' } });
    const feedDown = next<Error & { code?: string }>(sb, 'feedDown');
    const b = await serve(sb);
    const refused = nextError(b.server, 'ERR_SESSION_STORE_REFUSED');
    expect((await feedDown).code).toBe('ERR_SESSION_STORE_REFUSED');
    expect((await refused).message).toMatch(/NOPERM/);
    expect(b.server.sessionStoreStats.feedDown).toBe(true);
    await expect(sb.ready(500)).rejects.toMatchObject({ code: 'ERR_SESSION_STORE_TIMEOUT', reason: 'timeout' });
    await commandsReady(sb);
    const x = await storedFullHandshake(a.server, a.port);
    expect(await resumesWith(b.port, x.session)).toBe(true);
    await a.server.revoke(x.id);
    expect(await resumesWith(b.port, x.session)).toBe(false);
    await redis.stop();
  });
});

describe('a dead subscriber flow', () => {
  test('its flow silently dropped: the heartbeat notices, the server stops trusting its cache and the revocation holds', async () => {
    const redis = await startRedis();
    const sa = store({ redis: { host: '127.0.0.1', port: redis.port } });
    const a = await serve(sa);
    await sa.ready();
    const proxy = await proxyTo(redis.port);
    const sb = store({ redis: { host: '127.0.0.1', port: proxy.port }, heartbeatInterval: 100, heartbeatTimeout: 300 });
    const b = await serve(sb);
    await sb.ready();
    const x = await storedFullHandshake(a.server, a.port);
    expect(await resumesWith(b.port, x.session)).toBe(true);
    expect(b.server.context.sessionCount).toBe(1); // cached on the strength of the feed
    // the NAT forgets the subscriber's flow, and every later one of B's connections
    proxy.policy = () => 'blackhole';
    const dead = nextError(b.server, 'ERR_SESSION_STORE_TIMEOUT');
    proxy.set(2, 'blackhole');
    expect(await dead).toMatchObject({ reason: 'timeout', message: expect.stringMatching(/PING/) });
    expect(sb.stats.heartbeatMisses).toBeGreaterThanOrEqual(1);
    expect(b.server.sessionStoreStats).toMatchObject({ feedDown: true });
    expect(b.server.context.sessionCount).toBe(0);
    await a.server.revoke(x.id); // published; B cannot hear it
    expect(await resumesWith(b.port, x.session)).toBe(false);
  });
});

describe('a feed whose connection is lost', () => {
  test("the server's sessionStoreError says unreachable, with code and reason as a lookup's", async () => {
    const redis = await startRedis();
    const sb = store({ redis: { host: '127.0.0.1', port: redis.port } });
    const b = await serve(sb);
    await sb.ready();
    const lost = nextError(b.server, 'ERR_SESSION_STORE_UNREACHABLE');
    await redis.stop();
    expect(await lost).toMatchObject({ reason: 'unreachable', message: expect.stringMatching(/revocation feed lost its connection/) });
    expect(b.server.sessionStoreStats.feedDown).toBe(true);
  });
});

describe('Redis restarted from a snapshot taken before the revocation', () => {
  test('the servers that heard the revocation refuse the session Redis hands back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-rdb-'));
    dirs.push(dir);
    const redis = new RedisServer(await freePort());
    const args = ['--dir', dir, '--dbfilename', 'dump.rdb'];
    await redis.start(args);
    const sa = store({ redis: { host: '127.0.0.1', port: redis.port }, maxReconnectDelay: 100 });
    const sb = store({ redis: { host: '127.0.0.1', port: redis.port }, maxReconnectDelay: 100 });
    const a = await serve(sa);
    const b = await serve(sb);
    await Promise.all([sa.ready(), sb.ready()]);
    const x = await storedFullHandshake(a.server, a.port);
    await admin(redis.port).save(); // the snapshot holds x
    const heard = next(b.server, 'sessionRevoked');
    await a.server.revoke(x.id);
    await heard;
    await redis.stop();
    const backA = next(a.server, 'sessionStoreResync');
    const backB = next(b.server, 'sessionStoreResync');
    await redis.start(args);
    await Promise.all([backA, backB]);
    // the feed's resync says the subscriber is back; each store's command connection
    // reconnects on its own schedule, and a lookup before it is ready fails (a miss, not a
    // refusal): wait for both before asking
    await Promise.all([sa.ready(), sb.ready()]);
    expect(await admin(redis.port).exists(sa.key(x.id))).toBe(1); // Redis has it again
    expect(await resumesWith(a.port, x.session)).toBe(false);
    expect(await resumesWith(b.port, x.session)).toBe(false);
    expect(a.server.sessionStoreStats.revokedRefused + b.server.sessionStoreStats.revokedRefused).toBe(2);
    // a server that never heard it resumes it: Redis's persistence decides (next test)
    const sc = store({ redis: { host: '127.0.0.1', port: redis.port } });
    const c = await serve(sc);
    await sc.ready();
    expect(await resumesWith(c.port, x.session)).toBe(true);
    await redis.stop();
  });

  test('appendonly yes, appendfsync always: the DEL is on disk when revoke() resolves, and a restart after SIGKILL keeps it revoked', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-aof-'));
    dirs.push(dir);
    const redis = new RedisServer(await freePort());
    const args = ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'];
    await redis.start(args);
    const sa = store({ redis: { host: '127.0.0.1', port: redis.port }, maxReconnectDelay: 100 });
    const a = await serve(sa);
    await sa.ready();
    const x = await storedFullHandshake(a.server, a.port);
    await a.server.revoke(x.id);
    await redis.stop(); // SIGKILL right after
    await redis.start(args);
    const sc = store({ redis: { host: '127.0.0.1', port: redis.port } });
    const c = await serve(sc);
    await sc.ready();
    expect(await admin(redis.port).exists(sa.key(x.id))).toBe(0);
    expect(await resumesWith(c.port, x.session)).toBe(false);
    await redis.stop();
  });
});
