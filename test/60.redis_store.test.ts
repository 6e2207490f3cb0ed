// RedisSessionStore against a real redis-server (started here on 127.0.0.1, a free port):
// binary keys under the prefix, DER values, TTL, delete = DEL + PUBLISH, rejection while
// Redis is down or frozen, reconnection once it is back; and the in-process revocation of
// MemorySessionStore that several servers in one process share.
import { Redis } from 'ioredis';
import { createServer, MemorySessionStore, RedisSessionStore, SslSession, TlsServer, TLSSocket } from '../lib';
import { certs, close, endNode, listen, next, nodeClient, track } from './helpers/sockets';
import { killAllRedis, RedisServer, startRedis } from './helpers/redis';
import { Inbox } from './helpers/events';

let redis: RedisServer;
let admin: Redis; // a plain client to look at what the store wrote
const stores: RedisSessionStore[] = [];

function store(opts: ConstructorParameters<typeof RedisSessionStore>[0] = {}): RedisSessionStore {
  const s = new RedisSessionStore({ redis: { host: '127.0.0.1', port: redis.port }, ...opts });
  stores.push(s);
  return s;
}

/**
 * Redis's own keyspace event for the expiry of `key` (notify-keyspace-events Ex): resolves
 * once the subscription is confirmed; `expired` resolves when Redis expired the key.
 */
async function watchExpiry(key: Buffer): Promise<{ expired: Promise<void>; close(): void }> {
  await admin.config('SET', 'notify-keyspace-events', 'Ex');
  const sub = admin.duplicate();
  sub.on('error', () => {});
  const channel = '__keyevent@0__:expired';
  const expired = new Promise<void>((resolve) =>
    sub.on('messageBuffer', (c: Buffer, k: Buffer) => {
      if (c.toString() === channel && k.equals(key)) resolve();
    }),
  );
  await sub.subscribe(channel);
  return { expired, close: () => sub.disconnect() };
}

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis({ host: '127.0.0.1', port: redis.port, retryStrategy: (t) => Math.min(t * 50, 300) });
  admin.on('error', () => {});
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  admin?.disconnect();
  await killAllRedis();
});

describe('RedisSessionStore on a real redis-server', () => {
  test('binary ids (every byte value) round-trip under the prefix; values are the exact bytes', async () => {
    const s = store({ prefix: 'p1:' });
    await s.ready();
    const id = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 0x80) & 0xff)); // includes 0x00, 0x0a, 0xff…
    id[3] = 0x00;
    id[4] = 0x0a;
    id[5] = 0xff;
    const der = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131) & 0xff));
    await s.set(id, der, 60);
    const got = await s.get(id);
    expect(Buffer.isBuffer(got)).toBe(true);
    expect(got!.equals(der)).toBe(true);
    // the key is the prefix followed by the raw id bytes, nothing hex-encoded
    const raw = await admin.getBuffer(Buffer.concat([Buffer.from('p1:'), id]));
    expect(raw!.equals(der)).toBe(true);
    // an id differing in one byte is another key
    const other = Buffer.from(id);
    other[31] ^= 1;
    expect(await s.get(other)).toBeUndefined();
  });

  test('the prefix separates stores; a Buffer prefix works too', async () => {
    const a = store({ prefix: 'fleet-a:' });
    const b = store({ prefix: Buffer.from([0xfe, 0x00, 0x3a]) });
    await Promise.all([a.ready(), b.ready()]);
    const id = Buffer.alloc(32, 7);
    await a.set(id, Buffer.from('from a'), 60);
    expect(await b.get(id)).toBeUndefined();
    await b.set(id, Buffer.from('from b'), 60);
    expect((await a.get(id))!.toString()).toBe('from a');
    expect((await b.get(id))!.toString()).toBe('from b');
    expect((await admin.getBuffer(Buffer.concat([Buffer.from([0xfe, 0x00, 0x3a]), id])))!.toString()).toBe('from b');
  });

  test('TTL = the session timeout (SET … EX), and the key disappears when it runs out', async () => {
    const s = store({ prefix: 'ttl:' });
    await s.ready();
    const id = Buffer.alloc(32, 1);
    await s.set(id, Buffer.from('der'), 300);
    const ttl = await admin.ttl(Buffer.concat([Buffer.from('ttl:'), id]));
    expect(ttl).toBeGreaterThan(295);
    expect(ttl).toBeLessThanOrEqual(300);
    const short = Buffer.alloc(32, 2);
    const expiry = await watchExpiry(Buffer.concat([Buffer.from('ttl:'), short]));
    try {
      await s.set(short, Buffer.from('der'), 1);
      expect(await s.get(short)).toBeDefined();
      await expiry.expired; // Redis says the 1 s TTL ran out
      expect(await s.get(short)).toBeUndefined();
    } finally {
      expiry.close();
    }
    // a timeout of 0 stores nothing (and drops an older copy)
    const zero = Buffer.alloc(32, 3);
    await s.set(zero, Buffer.from('old'), 60);
    await s.set(zero, Buffer.from('new'), 0);
    expect(await s.get(zero)).toBeUndefined();
  });

  test('delete removes the key and publishes the raw id; subscribers in other stores hear it', async () => {
    const a = store({ prefix: 'rv:' });
    const b = store({ prefix: 'rv:' });
    const other = store({ prefix: 'elsewhere:' });
    const heardB = new Inbox<Buffer>();
    const heardOther = new Inbox<Buffer>();
    const unsub = b.subscribe(heardB.push);
    other.subscribe(heardOther.push);
    await Promise.all([a.ready(), b.ready(), other.ready()]);
    // a plain subscriber sees the message on the documented channel
    const watcher = admin.duplicate();
    watcher.on('error', () => {});
    await watcher.subscribe('rv:revoked');
    const raw = new Promise<Buffer>((r) => watcher.once('messageBuffer', (_c: Buffer, m: Buffer) => r(m)));
    const id = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, ...Buffer.alloc(26, 9)]);
    await a.set(id, Buffer.from('der'), 60);
    await a.delete(id);
    expect(await a.get(id)).toBeUndefined();
    expect((await raw).equals(id)).toBe(true);
    await heardB.atLeast(1);
    expect(heardB.length).toBe(1);
    expect(heardB.items[0].equals(id)).toBe(true);
    // deleting an id that is not stored still tells the fleet (others may cache it)
    const id2 = Buffer.alloc(32, 0x42);
    await a.delete(id2);
    await heardB.atLeast(2);
    expect(heardB.length).toBe(2);
    expect(heardB.items[1].equals(id2)).toBe(true);
    // after unsubscribe nothing more arrives (a second subscriber of b hears the next one);
    // the store with another prefix listens on another channel and heard none of these
    // (b's listeners are called one after the other for the same message)
    const heardB2 = new Inbox<Buffer>();
    b.subscribe(heardB2.push);
    unsub();
    await a.delete(Buffer.alloc(32, 0x43));
    await heardB2.atLeast(1);
    expect(heardB2.length).toBe(1);
    expect(heardB.length).toBe(2);
    await other.delete(Buffer.alloc(32, 0x45));
    await heardOther.atLeast(1);
    expect(heardOther.length).toBe(1);
    expect(heardOther.items[0].equals(Buffer.alloc(32, 0x45))).toBe(true);
    watcher.disconnect();
  });

  test('an existing ioredis client is used as is and not closed by close() unless ownsClient', async () => {
    const client = new Redis({ host: '127.0.0.1', port: redis.port });
    client.on('error', () => {});
    const s = new RedisSessionStore({ client, prefix: 'own:' });
    await s.ready();
    await s.set(Buffer.alloc(32, 5), Buffer.from('v'), 60);
    expect((await client.getBuffer('own:' + Buffer.alloc(32, 5).toString('latin1')))!.toString()).toBe('v');
    await s.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    const s2 = new RedisSessionStore({ client, ownsClient: true });
    await s2.close();
    expect(client.status).toBe('end');
  });

  test('Redis down → every operation rejects quickly; back → the same store works again', async () => {
    const s = store({ prefix: 'down:' });
    const heard = new Inbox<Buffer>();
    s.subscribe(heard.push);
    await s.ready();
    const id = Buffer.alloc(32, 9);
    await s.set(id, Buffer.from('before'), 60);
    const lost = new Promise<void>((r) => s.client.once('close', () => r()));
    await redis.stop();
    await lost;
    // rejected by the client at once (no offline queue), not left waiting for Redis
    for (const op of [() => s.get(id), () => s.set(id, Buffer.from('x'), 60), () => s.delete(id)]) {
      await expect(op()).rejects.toThrow(/enableOfflineQueue/);
    }
    expect(s.connected).toBe(false);
    await redis.start(); // same port, empty (no persistence)
    await s.ready();
    expect(s.connected).toBe(true);
    expect(await s.get(id)).toBeUndefined();
    await s.set(id, Buffer.from('after'), 60);
    expect((await s.get(id))!.toString()).toBe('after');
    // the subscriber came back too (ioredis re-subscribes by itself; ready() waited for
    // the SUBSCRIBE to be answered): Redis counts it, and it hears the next delete
    expect(await admin.pubsub('NUMSUB', 'down:revoked')).toEqual(['down:revoked', 1]);
    const again = Buffer.alloc(32, 0x99);
    const before = heard.length;
    await s.delete(again);
    await heard.atLeast(before + 1);
    expect(heard.items.some((h) => h.equals(again))).toBe(true);
  });

  test('Redis frozen (SIGSTOP) → a command unanswered for commandTimeout resets the connection and rejects as a timeout, not hang', async () => {
    const s = store({ prefix: 'slow:', commandTimeout: 200 });
    await s.ready();
    redis.pause(true);
    try {
      const r = s.get(Buffer.alloc(32, 1));
      await expect(r).rejects.toThrow(/timed out/i);
    } finally {
      redis.pause(false);
    }
    await admin.ping(); // thawed: Redis answers again (the admin client has no command timeout)
    await s.ready(); // the silent connection was reset; the new one is ready once Redis answers
    expect(await s.get(Buffer.alloc(32, 1)).then(() => true, () => false)).toBe(true);
  });

  test('validation: prefix, channel, commandTimeout, client', () => {
    expect(() => new RedisSessionStore({ prefix: 5 as unknown as string, redis: { lazyConnect: true } })).toThrow(TypeError);
    expect(() => new RedisSessionStore({ channel: '', redis: { lazyConnect: true } })).toThrow(RangeError);
    expect(() => new RedisSessionStore({ commandTimeout: -1, redis: { lazyConnect: true } })).toThrow(RangeError);
    expect(() => new RedisSessionStore({ client: {} as Redis })).toThrow(TypeError);
  });
});

describe('a TlsServer on a RedisSessionStore (one process)', () => {
  const { cert, key } = certs();
  let servers: TlsServer[] = [];
  let tracked: Set<{ destroy(): unknown }>[] = [];

  afterEach(async () => {
    await Promise.all(servers.map((s, i) => close(s, tracked[i])));
    servers = [];
    tracked = [];
  });

  async function start(sessionStore: RedisSessionStore | MemorySessionStore): Promise<{ server: TlsServer; port: number }> {
    const server = createServer({ cert, key, sessionStore }, (s: TLSSocket) => s.resume());
    servers.push(server);
    tracked.push(track(server));
    return { server, port: await listen(server) };
  }

  async function visit(server: TlsServer, port: number, session?: Buffer): Promise<{ reused: boolean; session: Buffer }> {
    const side = next<TLSSocket>(server, 'secureConnection');
    const c = await nodeClient(port, session ? { session } : {});
    const reused = c.socket.isSessionReused();
    expect((await side).isSessionReused()).toBe(reused);
    const s = reused ? session! : await c.session();
    await endNode(c.socket);
    return { reused, session: s };
  }

  test('sessions go to Redis as DER with TTL = the session timeout; another server resumes them', async () => {
    const st = store({ prefix: 'srv:' });
    await st.ready();
    const a = await start(st);
    const stored = next<Buffer>(a.server, 'sessionStored');
    const first = await visit(a.server, a.port);
    expect(first.reused).toBe(false);
    const id = await stored;
    const der = await admin.getBuffer(Buffer.concat([Buffer.from('srv:'), id]));
    const s = SslSession.fromDER(der!);
    expect(s.id.equals(id)).toBe(true);
    s.free();
    const ttl = await admin.ttl(Buffer.concat([Buffer.from('srv:'), id]));
    expect(ttl).toBeGreaterThan(250); // OpenSSL's default timeout is 300 s
    expect(ttl).toBeLessThanOrEqual(300);
    const st2 = store({ prefix: 'srv:' });
    const b = await start(st2);
    await st2.ready();
    expect((await visit(b.server, b.port, first.session)).reused).toBe(true);
  });

  test('revoke(id) on one server drops the session from the store and from the other server’s cache', async () => {
    const st1 = store({ prefix: 'rvk:' });
    const st2 = store({ prefix: 'rvk:' });
    const a = await start(st1);
    const b = await start(st2);
    await Promise.all([st1.ready(), st2.ready()]);
    const stored = next<Buffer>(a.server, 'sessionStored');
    const first = await visit(a.server, a.port);
    const id = await stored;
    expect((await visit(b.server, b.port, first.session)).reused).toBe(true); // now in b's cache
    const cached = b.server.context.getSession(id);
    expect(cached).toBeDefined();
    cached!.free();
    const heard = next<Buffer>(b.server, 'sessionRevoked');
    await a.server.revoke(id);
    expect((await heard).equals(id)).toBe(true);
    expect(b.server.context.getSession(id)).toBeUndefined();
    expect(await st1.get(id)).toBeUndefined();
    expect((await visit(b.server, b.port, first.session)).reused).toBe(false);
    expect((await visit(a.server, a.port, first.session)).reused).toBe(false);
  });
});

describe('MemorySessionStore: in-process revocation', () => {
  const { cert, key } = certs();

  test('subscribe hears every delete (stored or not), after the call; unsubscribe stops it', async () => {
    const m = new MemorySessionStore();
    const heard = new Inbox<string>();
    const unsub = m.subscribe((id) => heard.push(id.toString('hex')));
    await m.set(Buffer.from('aa', 'hex'), Buffer.from('d'), 60);
    const p = m.delete(Buffer.from('aa', 'hex'));
    await p;
    await m.delete(Buffer.from('bb', 'hex'));
    await heard.atLeast(2);
    expect(heard.items).toEqual(['aa', 'bb']);
    // a witness subscribed now hears the next delete (in the same round as every
    // subscriber); the unsubscribed one does not
    const witness = new Inbox<string>();
    m.subscribe((id) => witness.push(id.toString('hex')));
    unsub();
    await m.delete(Buffer.from('cc', 'hex'));
    expect(await witness.atLeast(1)).toEqual(['cc']);
    expect(heard.items).toEqual(['aa', 'bb']);
  });

  test('three servers sharing one store: removeSession on one empties the caches of all, one store.delete', async () => {
    const m = new MemorySessionStore();
    let deletes = 0;
    const orig = m.delete.bind(m);
    m.delete = (id: Buffer) => {
      deletes += 1;
      return orig(id);
    };
    const list: { server: TlsServer; port: number; sockets: Set<{ destroy(): unknown }> }[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const server = createServer({ cert, key, sessionStore: m }, (s: TLSSocket) => s.resume());
        const sockets = track(server);
        list.push({ server, port: await listen(server), sockets });
      }
      const stored = next<Buffer>(list[0].server, 'sessionStored');
      const c0 = await nodeClient(list[0].port);
      const session = await c0.session();
      await endNode(c0.socket);
      const id = await stored;
      for (const { port } of list) {
        const c = await nodeClient(port, { session });
        expect(c.socket.isSessionReused()).toBe(true);
        await endNode(c.socket);
      }
      for (const { server } of list) {
        const s = server.context.getSession(id);
        expect(s).toBeDefined();
        s!.free();
      }
      const victim = list[1].server.context.getSession(id)!;
      const revokedElsewhere = Promise.all([next(list[0].server, 'sessionRevoked'), next(list[2].server, 'sessionRevoked')]);
      expect(list[1].server.context.removeSession(victim)).toBe(true);
      victim.free();
      await revokedElsewhere;
      for (const { server } of list) expect(server.context.getSession(id)).toBeUndefined();
      expect(deletes).toBe(1); // the others did not delete it again
      for (const { port } of list) {
        const c = await nodeClient(port, { session });
        expect(c.socket.isSessionReused()).toBe(false);
        await endNode(c.socket);
      }
    } finally {
      for (const { server, sockets } of list) await close(server, sockets);
    }
  });
});
