// The store as a denial-of-service target: one address gets its share of the lookup slots
// (strangers offering random ids cannot starve known clients), a store.get that never
// settles gives its slot back, a silent Redis gets no more commands piled up than the slots
// allow (the connection is reset, not the promise), values are read up to maxValueBytes and
// no further, ready()/close() are bounded, and store errors say what failed with a code.
// Real OpenSSL 1.0.2 servers, Node clients, raw ClientHellos, real redis-servers.
import { randomBytes } from 'crypto';
import * as net from 'net';
import { Redis } from 'ioredis';
import { createServer, RedisSessionStore, SessionStore, TlsServer, TLSSocket } from '../lib';
import { certs, endNode, listen, nodeClient, record, storedFullHandshake, track } from './helpers/sockets';
import { freePort, RedisServer, RedisTestBed, startRedis } from './helpers/redis';
import { TcpProxy } from './helpers/tcp_proxy';
import { PeerLimiter, peerKey } from '../lib/tls/peer_limiter';

const { cert, key } = certs();
const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;
const bed = new RedisTestBed();
afterAll(() => bed.close());

async function serve(store: SessionStore, opts: Record<string, unknown> = {}): Promise<{ server: TlsServer; port: number }> {
  const server = createServer({ cert, key, sessionStore: store, ...opts }, (s: TLSSocket) => {
    s.resume();
    s.on('end', () => s.end());
  });
  server.on('tlsClientError', () => {});
  const sockets = track(server);
  bed.keep(server, sockets);
  return { server, port: await listen(server) };
}

const redisStore = (opts: ConstructorParameters<typeof RedisSessionStore>[0]): RedisSessionStore => bed.store(opts);

const admin = (port: number): Redis => bed.admin(port);

/** a TLS 1.2 ClientHello offering `id` (AES128-SHA, ECDHE-RSA-AES128-GCM-SHA256) */
function clientHello(id: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([3, 3]), randomBytes(32), Buffer.from([id.length]), id, Buffer.from([0, 4, 0xc0, 0x2f, 0x00, 0x2f, 1, 0])]);
  return record(22, Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]));
}

/** a raw hello from `localAddress`; `answered` resolves once the server answered (or hung up) */
function hello(port: number, id: Buffer, localAddress: string): { answered: Promise<void>; socket: net.Socket } {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  const answered = new Promise<void>((resolve) => {
    socket.once('data', () => resolve());
    socket.once('error', () => resolve());
    socket.once('close', () => resolve());
  });
  socket.write(clientHello(id));
  return { answered, socket };
}

/** a store whose gets for ids it does not hold wait for `release` (or forever) */
class SlowForStrangers implements SessionStore {
  readonly map = new Map<string, Buffer>();
  held = 0;
  #waiters: (() => void)[] = [];
  forever = false;
  async get(id: Buffer): Promise<Buffer | undefined> {
    const v = this.map.get(id.toString('hex'));
    if (v) return v;
    this.held += 1;
    if (this.forever) return new Promise<undefined>(() => {});
    await new Promise<void>((r) => this.#waiters.push(r));
    return undefined;
  }
  async set(id: Buffer, der: Buffer): Promise<void> {
    this.map.set(id.toString('hex'), Buffer.from(der));
  }
  async delete(id: Buffer): Promise<void> {
    this.map.delete(id.toString('hex'));
  }
  release(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

async function resumesFrom(port: number, session: Buffer): Promise<boolean> {
  const c = await nodeClient(port, { session, secureOptions: NO_TICKET, localAddress: '127.0.0.1' } as Parameters<typeof nodeClient>[1]);
  const r = c.socket.isSessionReused();
  await endNode(c.socket);
  return r;
}

describe('lookup slots', () => {
  test('strangers from one address offering random ids hold their share of the slots only: a known client resumes', async () => {
    const store = new SlowForStrangers();
    const { server, port } = await serve(store, { sessionStoreConcurrency: 8, sessionStoreTimeout: 60000 });
    const x = await storedFullHandshake(server, port);
    const flood = Array.from({ length: 40 }, () => hello(port, randomBytes(32), '127.0.0.2'));
    try {
      // the share of 127.0.0.2 is 8 / 4 = 2 slots: the other 38 hellos are answered at once
      let answered = 0;
      await new Promise<void>((resolve) => flood.forEach((h) => h.answered.then(() => ++answered === 38 && resolve())));
      expect(store.held).toBe(2);
      expect(server.sessionStoreStats).toMatchObject({ inFlight: 2, peerLimited: 38 });
      expect(await resumesFrom(port, x.session)).toBe(true);
    } finally {
      store.release();
      for (const h of flood) h.socket.destroy();
    }
  });

  test('a store.get that never settles gives its slot back (ERR_SESSION_STORE_RECLAIMED); lookups go on', async () => {
    const store = new SlowForStrangers();
    store.forever = true;
    const { server, port } = await serve(store, { sessionStoreConcurrency: 2, sessionStoreTimeout: 50 });
    const x = await storedFullHandshake(server, port);
    const reclaimed = new Promise<void>((resolve) => {
      let n = 0;
      server.on('sessionStoreError', (e: Error & { code?: string }) => e.code === 'ERR_SESSION_STORE_RECLAIMED' && ++n === 2 && resolve());
    });
    const lost = [hello(port, randomBytes(32), '127.0.0.2'), hello(port, randomBytes(32), '127.0.0.3')];
    await Promise.all(lost.map((h) => h.answered)); // full handshakes after the timeout
    await reclaimed;
    expect(server.sessionStoreStats).toMatchObject({ inFlight: 0, reclaimed: 2 });
    expect(await resumesFrom(port, x.session)).toBe(true); // a lookup was made: slots are free
    for (const h of lost) h.socket.destroy();
  });
});

describe('the per-peer share', () => {
  test('200 lookups per second per address (a bucket of 200), in flight at most the share; IPv6 counted by /64', () => {
    let t = 1_000_000;
    const limiter = new PeerLimiter(2, 200, () => t);
    const a = limiter.take('10.0.0.1')!;
    const b = limiter.take('10.0.0.1')!;
    expect(limiter.take('10.0.0.1')).toBeUndefined(); // two in flight
    expect(limiter.take('10.0.0.2')).toBeDefined(); // another address has its own
    a();
    b();
    let granted = 2;
    for (let i = 0; i < 400; i++) {
      const r = limiter.take('10.0.0.1');
      if (!r) break;
      granted += 1;
      r();
    }
    expect(granted).toBe(200); // the bucket is spent
    t += 500; // half a second refills half of it
    let more = 0;
    for (let r = limiter.take('10.0.0.1'); r; r = limiter.take('10.0.0.1')) {
      more += 1;
      r();
    }
    expect(more).toBe(100);
    expect(peerKey('2001:db8:1:2:aaaa::1')).toBe(peerKey('2001:db8:1:2::ffff'));
    expect(peerKey('2001:db8:1:2::1')).not.toBe(peerKey('2001:db8:1:3::1'));
    expect(peerKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });
});

describe('a silent Redis (SIGSTOP)', () => {
  test('hellos keep coming: no more GETs reach Redis than the slots, the connection is reset instead', async () => {
    const redis = await startRedis();
    const a = admin(redis.port);
    const store = redisStore({ redis: { host: '127.0.0.1', port: redis.port }, commandTimeout: 200 });
    const concurrency = 16;
    const { server, port } = await serve(store, { sessionStoreConcurrency: concurrency, sessionStoreTimeout: 5000 });
    await store.ready();
    await a.config('RESETSTAT');
    redis.pause(true);
    const waves: { answered: Promise<void>; socket: net.Socket }[][] = [];
    try {
      // two waves from eight addresses, the second once every hello of the first was answered
      // (after the reset): with the slot released at a command timeout, the second wave
      // would add as many GETs again
      for (let w = 0; w < 2; w++) {
        const wave = Array.from({ length: 40 }, (_, i) => hello(port, randomBytes(32), `127.0.0.${2 + (i % 8)}`));
        waves.push(wave);
        await Promise.all(wave.map((h) => h.answered));
      }
      expect(store.stats.resets).toBeGreaterThanOrEqual(1);
      expect(store.pendingCommands).toBe(0);
    } finally {
      redis.pause(false);
      for (const h of waves.flat()) h.socket.destroy();
    }
    await store.ready();
    const stats = String(await a.info('commandstats'));
    const calls = Number(/cmdstat_getrange:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(concurrency);
    expect(server.sessionStoreStats.inFlight).toBe(0);
    await redis.stop();
  });
});

describe('a command Redis leaves unanswered', () => {
  test('rejects after commandTimeout with code and reason timeout, as the server reports it', async () => {
    const redis = await startRedis();
    const store = redisStore({ redis: { host: '127.0.0.1', port: redis.port }, commandTimeout: 200 });
    await store.ready();
    redis.pause(true);
    try {
      await expect(store.get(randomBytes(32))).rejects.toMatchObject({ code: 'ERR_SESSION_STORE_TIMEOUT', reason: 'timeout', message: expect.stringMatching(/unanswered for 200 ms/) });
      expect(store.stats.resets).toBeGreaterThanOrEqual(1);
    } finally {
      redis.pause(false);
    }
    await redis.stop();
  });
});

describe('what Redis sends back', () => {
  test('a 64 MiB value under a session id is not read past maxValueBytes: a counted miss', async () => {
    const redis = await startRedis();
    const a = admin(redis.port);
    const store = redisStore({ redis: { host: '127.0.0.1', port: redis.port } });
    const { server, port } = await serve(store);
    await store.ready();
    const x = await storedFullHandshake(server, port);
    await a.setrange(store.key(x.id), 64 * 1024 * 1024 - 1, 'x'); // 64 MiB, made inside Redis
    const out = async () => Number(/total_net_output_bytes:(\d+)/.exec(String(await a.info('stats')))?.[1]);
    const before = await out();
    expect(await store.get(x.id)).toBeUndefined();
    expect(await resumesFrom(port, x.session)).toBe(false);
    const sent = (await out()) - before;
    expect(store.stats.oversize).toBe(2);
    expect(sent).toBeLessThan(4 * (store.maxValueBytes + 1) + 64 * 1024); // two reads and two INFOs
    expect(server.sessionStoreStats.misses).toBeGreaterThanOrEqual(1);
    await redis.stop();
  });
});

describe('bounded calls', () => {
  test('ready() and close() on a connection whose flow is dropped resolve (ready rejects with a timeout code)', async () => {
    const redis = await startRedis();
    const proxy = new TcpProxy(redis.port);
    await proxy.listen();
    proxy.policy = () => 'blackhole';
    const store = new RedisSessionStore({ redis: { host: '127.0.0.1', port: proxy.port } });
    store.on('connectionError', () => {});
    await expect(store.ready(200)).rejects.toMatchObject({ code: 'ERR_SESSION_STORE_TIMEOUT', reason: 'timeout' });
    store.subscribe(() => {});
    await store.close();
    await proxy.close();
    await redis.stop();
  });
});

describe('store errors say what failed', () => {
  test('unreachable, auth and refused, each with its code and in words', async () => {
    const nobody = redisStore({ redis: { host: '127.0.0.1', port: await freePort() } });
    await expect(nobody.get(Buffer.alloc(32, 1))).rejects.toMatchObject({ code: 'ERR_SESSION_STORE_UNREACHABLE', reason: 'unreachable', message: expect.stringMatching(/unreachable/) });

    const redis = new RedisServer(await freePort());
    await redis.start(['--requirepass', 'right', '--user', 'narrow', 'on', '>pw', '~tls-session:*', '-@all', '+@connection', '+info', '+getrange']);
    const wrong = new RedisSessionStore({ redis: { host: '127.0.0.1', port: redis.port, password: 'wrong' } });
    bed.stores.push(wrong);
    await new Promise<void>((r) => wrong.once('connectionError', () => r()));
    await expect(wrong.get(Buffer.alloc(32, 1))).rejects.toMatchObject({ code: 'ERR_SESSION_STORE_AUTH', reason: 'auth', message: expect.stringMatching(/credentials/) });

    const narrow = redisStore({ redis: { host: '127.0.0.1', port: redis.port, username: 'narrow', password: 'pw' } });
    await narrow.ready();
    await expect(narrow.set(Buffer.alloc(32, 1), Buffer.from('der'), 60)).rejects.toMatchObject({ code: 'ERR_SESSION_STORE_REFUSED', reason: 'refused', message: expect.stringMatching(/NOPERM/) });

    // and a server on a Redis that is gone says so on each handshake
    const { server, port } = await serve(nobody);
    const err = new Promise<Error & { code?: string }>((r) => server.once('sessionStoreError', r));
    const c = await nodeClient(port, { secureOptions: NO_TICKET });
    await endNode(c.socket);
    expect((await err).code).toBe('ERR_SESSION_STORE_UNREACHABLE');
    await redis.stop();
  });
});
