// Session stores and node:tls's 'newSession' / 'resumeSession' on the native connection
// path (lib/tls/native_store.ts, native/native_listener_store.cc): what is particular to it
// — the store prefetch through the native ClientHello hand-off, answers that come after the
// connection is gone, a store that never answers, hostile answers, and the hold of a full
// handshake's last flight until every 'newSession' callback ran. The behaviours both paths
// share are tested by 43, 60-67, 78-81 (run them with OPENSSL_SESSION_CACHE_CONNECTION_PATH=native).
import { EventEmitter } from 'events';
import * as crypto from 'crypto';
import * as path from 'path';
import * as tls from 'tls';
import { Worker } from 'worker_threads';
import { createServer, MemorySessionStore, TlsServer } from '../lib';
import type { SessionStore } from '../lib';
import { certs, closed, endNode, listen, next, nodeClient, resumesWith, storedFullHandshake } from './helpers/sockets';

const { cert, key } = certs();
const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;

const servers: TlsServer[] = [];
const clients = new Set<{ destroy(): unknown }>();
/** store answers left pending by a test, settled after it (so no store timer outlives it) */
const pendingAnswers: ((v: Buffer | undefined) => void)[] = [];

afterEach(async () => {
  for (const c of clients) c.destroy();
  clients.clear();
  for (const r of pendingAnswers.splice(0)) r(undefined);
  for (const s of servers.splice(0)) if (s.listening) await new Promise<void>((r) => s.close(() => r()));
});

async function nativeServer(options: Parameters<typeof createServer>[0] = {}): Promise<{ server: TlsServer; port: number }> {
  const server = createServer({ cert, key, connectionPath: 'native', ...options });
  servers.push(server);
  server.on('secureConnection', (s: NodeJS.ReadWriteStream & { destroy(): unknown }) => {
    clients.add(s);
    s.pipe(s); // echo
  });
  return { server, port: await listen(server) };
}

/** a store over a MemorySessionStore whose get answers can be taken over by the test */
class ControlledStore extends EventEmitter implements SessionStore {
  readonly inner = new MemorySessionStore();
  /** the answer of get(id) instead of the inner store's */
  answer: ((id: Buffer) => Promise<Buffer | undefined | null>) | undefined;

  get(id: Buffer): Promise<Buffer | undefined | null> {
    this.emit('get', Buffer.from(id));
    return this.answer ? this.answer(id) : this.inner.get(id);
  }

  set(id: Buffer, der: Buffer, ttl: number): Promise<void> {
    return this.inner.set(id, der, ttl);
  }

  delete(id: Buffer): Promise<void> {
    return this.inner.delete(id);
  }
}

/** a Node TLS 1.2 client offering `session` (tickets off), not awaited: for handshakes that never finish */
function offer(port: number, session: Buffer): tls.TLSSocket {
  const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', session, secureOptions: NO_TICKET });
  c.on('error', () => undefined);
  clients.add(c);
  return c;
}

/** polls `ok` (an observable condition) until true, each turn after the loop ran; fails after 20 s */
async function eventually(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 20000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('a session store on the native path', () => {
  test('sessions go to the store; another native server resumes them from it (prefetch); revoke() reaches both', async () => {
    const store = new MemorySessionStore();
    const a = await nativeServer({ sessionStore: store });
    const b = await nativeServer({ sessionStore: store });
    const { session, id } = await storedFullHandshake(a.server, a.port);
    expect(await store.get(id)).toBeInstanceOf(Buffer);
    expect(b.server.context.sessionCount).toBe(0);

    expect(await resumesWith(b.port, session)).toBe(true);
    expect(b.server.sessionStoreStats).toMatchObject({ lookups: 1, storeGets: 1, hits: 1, misses: 0, inFlight: 0 });
    // the second time b resumes from its own cache: no store round trip
    expect(await resumesWith(b.port, session)).toBe(true);
    expect(b.server.sessionStoreStats.storeGets).toBe(1);

    const revoked = next<Buffer>(a.server, 'sessionRevoked');
    await b.server.revoke(id);
    expect((await revoked).equals(id)).toBe(true);
    expect(await resumesWith(a.port, session)).toBe(false);
    expect(await resumesWith(b.port, session)).toBe(false);
  });

  test('a lookup answered after the client left adds nothing; the server goes on serving', async () => {
    const store = new ControlledStore();
    const a = await nativeServer({ sessionStore: store.inner });
    const { session, id } = await storedFullHandshake(a.server, a.port);
    const der = (await store.inner.get(id))!;
    let answer!: (v: Buffer | undefined) => void;
    store.answer = () => new Promise((r) => (answer = r));
    const b = await nativeServer({ sessionStore: store });
    const asked = next<Buffer>(store, 'get');
    const client = offer(b.port, session);
    expect((await asked).equals(id)).toBe(true);
    const failed = next<Error & { code?: string }>(b.server, 'tlsClientError');
    client.destroy();
    expect((await failed).code).toBe('ECONNRESET');
    expect(b.server.sessionStoreStats.inFlight).toBe(1);

    answer(der); // the real session, for a connection that is gone
    await eventually('the late answer was counted', () => b.server.sessionStoreStats.inFlight === 0 && b.server.sessionStoreStats.misses === 1);
    expect(b.server.sessionStoreStats.hits).toBe(0);
    expect(b.server.context.sessionCount).toBe(0);

    store.answer = undefined;
    expect(await resumesWith(b.port, session)).toBe(true);
    expect(b.server.sessionStoreStats.hits).toBe(1);
  });

  test('a store that never answers: the handshake timeout fails the connection, a later answer is dropped', async () => {
    const store = new ControlledStore();
    const a = await nativeServer({ sessionStore: store.inner });
    const { session, id } = await storedFullHandshake(a.server, a.port);
    store.answer = () => new Promise((r) => pendingAnswers.push(r));
    const b = await nativeServer({ sessionStore: store, handshakeTimeout: 200, sessionStoreTimeout: 60000 });
    const client = offer(b.port, session);
    const err = await next<Error & { code?: string }>(b.server, 'tlsClientError');
    expect(err.code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    await closed(client);
    expect(b.server.sessionStoreStats.inFlight).toBe(1);

    for (const r of pendingAnswers.splice(0)) r((await store.inner.get(id))!);
    await eventually('the store answered', () => b.server.sessionStoreStats.inFlight === 0 && b.server.sessionStoreStats.misses === 1);
    expect(b.server.context.sessionCount).toBe(0);
    store.answer = undefined;
    expect(await resumesWith(b.port, session)).toBe(true);
  });

  test('hostile store answers (not a session, truncated, another id, not bytes) are full handshakes, never a crash', async () => {
    const store = new ControlledStore();
    const a = await nativeServer({ sessionStore: store.inner });
    const first = await storedFullHandshake(a.server, a.port);
    const other = await storedFullHandshake(a.server, a.port);
    const der = (await store.inner.get(first.id))!;
    const otherDer = (await store.inner.get(other.id))!;
    const answers: unknown[] = [
      Buffer.alloc(0),
      crypto.randomBytes(300),
      der.subarray(0, der.length - 7),
      Buffer.concat([der, Buffer.from([0x30, 0x00])]),
      otherDer,
      Buffer.alloc(1 << 20, 0x30),
      'a string',
      42,
      { der },
    ];
    const b = await nativeServer({ sessionStore: store });
    for (const x of answers) {
      store.answer = () => Promise.resolve(x as Buffer);
      const c = await nodeClient(b.port, { session: first.session, secureOptions: NO_TICKET });
      expect(c.socket.isSessionReused()).toBe(false);
      c.socket.write('still here');
      expect((await next<Buffer>(c.socket, 'data')).toString()).toBe('still here');
      await endNode(c.socket);
    }
    const stats = b.server.sessionStoreStats;
    expect(stats.hits).toBe(0);
    expect(stats.misses).toBe(answers.length);
    expect(stats.invalid).toBe(answers.length);
    store.answer = undefined;
    expect(await resumesWith(b.port, first.session)).toBe(true);
  });
});

describe("node:tls's 'newSession' / 'resumeSession' on the native path", () => {
  test("a full handshake's last flight waits for the 'newSession' callback; another handshake goes on meanwhile", async () => {
    const { server, port } = await nativeServer();
    const held: (() => void)[] = [];
    const sessions = new Map<string, Buffer>();
    server.on('newSession', (id: Buffer, data: Buffer, cb: () => void) => {
      sessions.set(id.toString('hex'), data);
      if (sessions.size === 1) held.push(cb);
      else cb();
    });
    const order: string[] = [];
    server.on('secureConnection', () => order.push(`server ${order.length}`));
    const heldNow = next(server, 'newSession');
    const first = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', secureOptions: NO_TICKET });
    clients.add(first);
    let firstSecure = false;
    const firstConnected = next(first, 'secureConnect').then(() => (firstSecure = true));
    await heldNow;
    expect(held).toHaveLength(1);

    // a second full handshake completes from start to end while the first one is held
    const second = await nodeClient(port, { secureOptions: NO_TICKET });
    expect(second.socket.isSessionReused()).toBe(false);
    expect(firstSecure).toBe(false);
    expect(order).toEqual(['server 0']);
    await endNode(second.socket);
    expect(firstSecure).toBe(false);

    held[0]();
    await firstConnected;
    expect(order).toEqual(['server 0', 'server 1']);
    first.write('after the hold');
    expect((await next<Buffer>(first, 'data')).toString()).toBe('after the hold');
    await endNode(first);
  });

  test("a 'newSession' callback that never comes: the handshake timeout fails the connection; a callback after that changes nothing", async () => {
    const { server, port } = await nativeServer({ handshakeTimeout: 200 });
    const held: (() => void)[] = [];
    server.on('newSession', (_id: Buffer, _data: Buffer, cb: () => void) => {
      if (held.length === 0) held.push(cb);
      else cb();
    });
    let secured = 0;
    server.on('secureConnection', () => secured++);
    const client = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', secureOptions: NO_TICKET });
    let clientSecure = false;
    client.on('secureConnect', () => (clientSecure = true));
    client.on('error', () => undefined);
    clients.add(client);
    const err = await next<Error & { code?: string }>(server, 'tlsClientError');
    expect(err.code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    await closed(client);
    expect(held).toHaveLength(1);
    held[0](); // the connection is gone: release() finds nothing
    const other = await nodeClient(port, { secureOptions: NO_TICKET });
    expect(other.socket.isSessionReused()).toBe(false);
    await endNode(other.socket);
    expect(clientSecure).toBe(false);
    expect(secured).toBe(1);
  });

  test("listeners added after listen(): 'newSession' stores, 'resumeSession' resumes; a late or hostile answer is a full handshake", async () => {
    const { server, port } = await nativeServer();
    const cache = new Map<string, Buffer>();
    server.on('newSession', (id: Buffer, data: Buffer, cb: () => void) => {
      cache.set(id.toString('hex'), data);
      setImmediate(cb); // called back later, as an external cache does
    });
    let lookup: (id: Buffer, cb: (err: Error | null, data?: Buffer | null) => void) => void = (id, cb) => cb(null, cache.get(id.toString('hex')));
    server.on('resumeSession', (id: Buffer, cb: (err: Error | null, data?: Buffer | null) => void) => lookup(id, cb));

    const a = await nodeClient(port, { secureOptions: NO_TICKET });
    expect(a.socket.isSessionReused()).toBe(false);
    const session = await a.session();
    await endNode(a.socket);
    expect(cache.size).toBe(1);
    expect(await resumesWith(port, session)).toBe(true);

    lookup = (_id, cb) => cb(null, crypto.randomBytes(200));
    expect(await resumesWith(port, session)).toBe(false);
  });

  test("a 'resumeSession' listener's error fails the connection ('tlsClientError' with it)", async () => {
    const { server, port } = await nativeServer();
    server.on('newSession', (_id: Buffer, _data: Buffer, cb: () => void) => cb());
    const a = await nodeClient(port, { secureOptions: NO_TICKET });
    const session = await a.session();
    await endNode(a.socket);
    const refusal = new Error('the cache refuses this id');
    server.on('resumeSession', (_id: Buffer, cb: (err: Error | null) => void) => cb(refusal));
    const failed = next<Error>(server, 'tlsClientError');
    const client = offer(port, session);
    expect(await failed).toBe(refusal);
    await closed(client);
  });
});

describe('teardown', () => {
  test("a worker thread stops while a store lookup and a 'newSession' hold are pending: the process goes on", async () => {
    // a session id to offer: any session of a server with the same certificate
    const { server: a, port: portA } = await nativeServer({ sessionStore: new MemorySessionStore() });
    const { session } = await storedFullHandshake(a, portA);
    const dist = path.join(__dirname, '..', 'dist', 'index.js');
    const worker = new Worker(
      `const { parentPort } = require('worker_threads');
       const lib = require(${JSON.stringify(dist)});
       const { cert, key } = JSON.parse(${JSON.stringify(JSON.stringify({ cert, key }))});
       const store = { get: () => (parentPort.postMessage('asked'), new Promise(() => {})), set: () => Promise.resolve(), delete: () => Promise.resolve() };
       const s = lib.createServer({ cert, key, connectionPath: 'native', sessionStore: store });
       s.on('newSession', () => parentPort.postMessage('held')); // never calls back
       s.on('tlsClientError', () => {});
       s.listen(0, '127.0.0.1', () => parentPort.postMessage(s.address().port));`,
      { eval: true },
    );
    const messages: unknown[] = [];
    const heard = (m: string) => new Promise<void>((resolve) => {
      const on = (x: unknown) => {
        if (x !== m) return;
        worker.off('message', on);
        resolve();
      };
      worker.on('message', on);
    });
    worker.on('message', (m) => messages.push(m));
    const port = await next<number>(worker, 'message');
    const held = heard('held');
    const full = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', secureOptions: NO_TICKET });
    full.on('error', () => undefined);
    clients.add(full);
    await held;
    const asked = heard('asked');
    const offered = offer(port, session);
    await asked;
    const gone = Promise.all([closed(full), closed(offered)]);
    expect(await worker.terminate()).toBe(1);
    await gone; // the worker's teardown closed both connections
    expect(messages).toEqual([port, 'held', 'asked']);
    expect(await resumesWith(portA, session)).toBe(true);
  });
});
