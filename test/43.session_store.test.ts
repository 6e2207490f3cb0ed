// The application-controlled store: NO_INTERNAL_STORE + tickets off, new sessions go to
// store.set, removeSession and expiry to store.delete, offers are fetched before OpenSSL
// sees the ClientHello, a failing or silent store means a full handshake, not a hang.
import { createServer, defaultSessionIdContext, MemorySessionStore, SessionCacheMode, SessionStore, SslSession, TlsServer, TLSSocket } from '../lib';
import type { TlsServerOptions } from '../lib';
import { certs, close, endNode, listen, next, nodeClient, track } from './helpers/sockets';
import { isError } from './helpers/util';

const { cert, key } = certs();

/** a store that records every call and forwards to a MemorySessionStore */
class SpyStore implements SessionStore {
  readonly calls: [string, string, number?][] = [];
  readonly inner: MemorySessionStore;
  getImpl: ((id: Buffer) => Promise<Buffer | undefined | null>) | undefined;
  constructor(inner = new MemorySessionStore()) {
    this.inner = inner;
  }
  get(id: Buffer) {
    this.calls.push(['get', id.toString('hex')]);
    return this.getImpl ? this.getImpl(id) : this.inner.get(id);
  }
  set(id: Buffer, der: Buffer, ttl: number) {
    this.calls.push(['set', id.toString('hex'), ttl]);
    return this.inner.set(id, der, ttl);
  }
  delete(id: Buffer) {
    this.calls.push(['delete', id.toString('hex')]);
    return this.inner.delete(id);
  }
  ops(): string[] {
    return this.calls.map((c) => c[0]);
  }
}

let server: TlsServer | undefined;
let sockets: Set<{ destroy(): unknown }> = new Set();

async function start(store: SessionStore, opts: TlsServerOptions = {}): Promise<number> {
  server = createServer({ cert, key, sessionStore: store, ...opts }, (s: TLSSocket) => s.resume());
  sockets = track(server);
  return listen(server);
}

afterEach(async () => {
  await close(server, sockets);
  server = undefined;
});

/** a Node (OpenSSL 3) TLS 1.2 client: full handshake, returns its session once stored */
async function fullHandshake(port: number): Promise<{ session: Buffer; id: Buffer }> {
  const stored = next<Buffer>(server!, 'sessionStored');
  const { socket, session } = await nodeClient(port);
  expect(socket.isSessionReused()).toBe(false);
  const s = await session();
  await endNode(socket);
  return { session: s, id: await stored };
}

async function offer(port: number, session: Buffer): Promise<{ reused: boolean; serverReused: boolean }> {
  const serverSide = next<TLSSocket>(server!, 'secureConnection');
  const { socket } = await nodeClient(port, { session });
  const s = await serverSide;
  const r = { reused: socket.isSessionReused(), serverReused: s.isSessionReused() };
  await endNode(socket);
  return r;
}

test('with a store the context runs NO_INTERNAL_STORE, tickets off; a Node TLS 1.2 client resumes', async () => {
  const store = new SpyStore();
  const port = await start(store);
  const mode = server!.context.sessionCacheMode;
  expect(mode & SessionCacheMode.SERVER).toBe(SessionCacheMode.SERVER);
  expect(mode & SessionCacheMode.NO_INTERNAL_STORE).toBe(SessionCacheMode.NO_INTERNAL_STORE);
  const { session, id } = await fullHandshake(port);
  expect(id.length).toBe(32); // an id, not a ticket
  expect(server!.context.sessionCount).toBe(0); // nothing kept by OpenSSL itself
  expect(store.inner.size).toBe(1);
  const r = await offer(port, session);
  expect(r).toEqual({ reused: true, serverReused: true });
  expect(store.ops()).toEqual(['set', 'get']);
  expect(store.calls[1][1]).toBe(id.toString('hex'));
  expect(server!.context.stats.hits).toBe(1);
});

test('new sessions → store.set(id, der, ttl = the session timeout), DER that 1.0.2 reads back', async () => {
  const store = new SpyStore();
  const port = await start(store, { sessionTimeout: 123 });
  const { id } = await fullHandshake(port);
  expect(store.calls).toEqual([['set', id.toString('hex'), 123]]);
  const der = (await store.inner.get(id))!;
  const s = SslSession.fromDER(der);
  expect(s.id.equals(id)).toBe(true);
  expect(s.timeout).toBe(123);
  // the default id context: derived from the server's certificate and client policy
  expect(s.idContext).toEqual(defaultSessionIdContext({ cert }));
  s.free();
});

test('server.context.removeSession revokes: the store entry is deleted and the next offer is a full handshake', async () => {
  const store = new SpyStore();
  const port = await start(store);
  const { session, id } = await fullHandshake(port);
  expect((await offer(port, session)).reused).toBe(true); // now cached by the prefetch
  const cached = server!.context.getSession(id)!;
  expect(cached).toBeDefined();
  const deleted = new Promise<void>((r) => {
    const orig = store.delete.bind(store);
    store.delete = (i: Buffer) => orig(i).then(() => r());
  });
  expect(server!.context.removeSession(cached)).toBe(true);
  cached.free();
  await deleted;
  expect(store.calls.at(-1)).toEqual(['delete', id.toString('hex')]);
  expect(await store.inner.get(id)).toBeUndefined();
  const r = await offer(port, session);
  expect(r).toEqual({ reused: false, serverReused: false });
  expect(store.calls.filter((c) => c[0] === 'get').length).toBe(2); // looked up, missed
});

test('right after a handshake the session is only in the store: server.revoke(id) (the README way) revokes it', async () => {
  const store = new SpyStore();
  const port = await start(store);
  const { session, id } = await fullHandshake(port);
  // the README's old snippet, removeSession(getSession(id)!), had nothing to remove here
  expect(server!.context.getSession(id)).toBeUndefined();
  await server!.revoke(id);
  expect(store.calls.at(-1)).toEqual(['delete', id.toString('hex')]);
  expect(await store.inner.get(id)).toBeUndefined();
  expect(await offer(port, session)).toEqual({ reused: false, serverReused: false });
});

test('expiry found by a handshake → store.delete, full handshake, timeouts counted', async () => {
  const store = new SpyStore();
  // the store hands back the session with its time moved into the past (an application
  // clock, not OpenSSL's), so OpenSSL finds it expired on lookup
  store.getImpl = async (id) => {
    const der = await store.inner.get(id);
    if (!der) return der;
    const s = SslSession.fromDER(der);
    s.time = s.time - 10_000;
    const old = s.toDER();
    s.free();
    return old;
  };
  const port = await start(store);
  const { session, id } = await fullHandshake(port);
  const deleted = next<SslSession>(server!.context, 'removeSession');
  const r = await offer(port, session);
  expect(r.reused).toBe(false);
  const removed = await deleted;
  expect(removed.id.equals(id)).toBe(true);
  expect(server!.context.stats.timeouts).toBe(1);
  expect(store.ops()).toEqual(['set', 'get', 'delete', 'set']);
  expect(store.calls[2][1]).toBe(id.toString('hex'));
});

test('local eviction and flush do not reach the store (only remove and expiry do)', async () => {
  const store = new SpyStore();
  const port = await start(store, { sessionCacheSize: 1 });
  const a = await fullHandshake(port);
  const b = await fullHandshake(port);
  expect((await offer(port, a.session)).reused).toBe(true); // fetched into the cache
  expect((await offer(port, b.session)).reused).toBe(true); // evicts a
  expect(server!.context.stats.cacheFull).toBe(1);
  server!.context.flushSessions(0); // drops b locally
  expect(server!.context.sessionCount).toBe(0);
  expect(store.ops().filter((o) => o === 'delete')).toEqual([]);
  expect(store.inner.size).toBe(2);
  // both are still resumable through the store
  expect((await offer(port, a.session)).reused).toBe(true);
});

test('a store whose get rejects → full handshake and sessionStoreError', async () => {
  const store = new SpyStore();
  const port = await start(store);
  const { session } = await fullHandshake(port);
  const boom = new Error('store down');
  store.getImpl = () => Promise.reject(boom);
  const errors: unknown[] = [];
  server!.on('sessionStoreError', (e) => errors.push(e));
  const r = await offer(port, session);
  expect(r).toEqual({ reused: false, serverReused: false });
  expect(errors).toEqual([boom]);
});

test('a store that never answers → full handshake after sessionStoreTimeout, sessionStoreError, no hang', async () => {
  const store = new SpyStore();
  const port = await start(store, { sessionStoreTimeout: 100 });
  const { session } = await fullHandshake(port);
  store.getImpl = () => new Promise<Buffer>(() => {}); // silent forever
  const errors: any[] = [];
  server!.on('sessionStoreError', (e) => errors.push(e));
  const r = await offer(port, session);
  expect(r).toEqual({ reused: false, serverReused: false });
  expect(errors).toHaveLength(1);
  expect(isError(errors[0])).toBe(true);
  expect(errors[0].code).toBe('ERR_SESSION_STORE_TIMEOUT');
});

test('a store whose set rejects: sessionStoreError, the connection is unaffected', async () => {
  const store = new SpyStore();
  store.set = () => Promise.reject(new Error('disk full'));
  const port = await start(store);
  const err = next<Error>(server!, 'sessionStoreError');
  const { socket } = await nodeClient(port);
  expect((await err).message).toBe('disk full');
  await endNode(socket);
});

test('the prefetch happens only when the id is not already cached', async () => {
  const store = new SpyStore();
  const port = await start(store);
  const { session, id } = await fullHandshake(port);
  expect(store.ops()).toEqual(['set']);
  await offer(port, session); // miss in the cache → get
  await offer(port, session); // cached now → no get
  await offer(port, session);
  expect(store.ops()).toEqual(['set', 'get']);
  expect(server!.context.stats.hits).toBe(3);
  // a client offering nothing never causes a get
  const { socket } = await nodeClient(port);
  await endNode(socket);
  expect(store.ops().filter((o) => o === 'get')).toHaveLength(1);
  // an unknown id (another server's session) is looked up and misses
  const other = createServer({ cert, key }, (s: TLSSocket) => s.resume());
  const t = track(other);
  try {
    const op = await listen(other);
    const { socket: o, session: os } = await nodeClient(op);
    const foreign = await os();
    await endNode(o);
    expect((await offer(port, foreign)).reused).toBe(false);
    expect(store.ops().filter((x) => x === 'get')).toHaveLength(2);
    expect(store.calls.at(-2)![0]).toBe('get');
    expect(store.calls.at(-2)![1]).not.toBe(id.toString('hex'));
  } finally {
    await close(other, t);
  }
});

describe('MemorySessionStore', () => {
  test('TTL: an entry is gone once its ttl has passed (its own clock)', async () => {
    let now = 1_000_000;
    const m = new MemorySessionStore({ now: () => now });
    const id = Buffer.from('aa', 'hex');
    await m.set(id, Buffer.from('der'), 10);
    expect(await m.get(id)).toEqual(Buffer.from('der'));
    now += 9_999;
    expect(await m.get(id)).toEqual(Buffer.from('der'));
    now += 1;
    expect(await m.get(id)).toBeUndefined();
    expect(m.size).toBe(0);
  });

  test('maxEntries: the oldest insertion goes first; a re-set counts as new', async () => {
    const m = new MemorySessionStore({ maxEntries: 2 });
    const k = (n: number) => Buffer.from([n]);
    await m.set(k(1), Buffer.from('1'), 60);
    await m.set(k(2), Buffer.from('2'), 60);
    await m.set(k(1), Buffer.from('1b'), 60);
    await m.set(k(3), Buffer.from('3'), 60);
    expect(m.size).toBe(2);
    expect(await m.get(k(2))).toBeUndefined();
    expect(await m.get(k(1))).toEqual(Buffer.from('1b'));
    expect(await m.get(k(3))).toEqual(Buffer.from('3'));
    await m.delete(k(3));
    expect(await m.get(k(3))).toBeUndefined();
  });

  test('stores copies: mutating the caller buffers changes nothing', async () => {
    const m = new MemorySessionStore();
    const id = Buffer.from('0102', 'hex');
    const der = Buffer.from('abc');
    await m.set(id, der, 60);
    der[0] = 0x7a;
    const got = (await m.get(id))!;
    expect(got.toString()).toBe('abc');
    got[0] = 0x7a;
    expect((await m.get(id))!.toString()).toBe('abc');
  });

  test('bad arguments are refused', async () => {
    expect(() => new MemorySessionStore({ maxEntries: 0 })).toThrow(RangeError);
    const m = new MemorySessionStore();
    await expect(m.set(Buffer.from('a'), Buffer.from('b'), -1)).rejects.toThrow(/ttl/);
  });
});
