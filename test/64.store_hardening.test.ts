// Stores as an attack surface (SECURITY.md, "Round two: stores"): a store cannot plant a
// session under an id nobody offered, garbage from a store is a counted miss, and a flood
// of ClientHellos with random session ids costs a bounded number of store lookups while
// real clients keep being served. Real OpenSSL 1.0.2 server, real Node clients, raw
// ClientHellos written by this test on 127.0.0.1.
import { randomBytes } from 'crypto';
import * as net from 'net';
import { createServer, SessionStore, TlsServer, TLSSocket } from '../lib';
import { certs, close, endNode, listen, nodeClient, resumesWith, storedFullHandshake, track } from './helpers/sockets';

const { cert, key } = certs();
const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;

/** a store in a Map, whose answers the test can replace and whose gets it can hold */
class TestStore implements SessionStore {
  readonly map = new Map<string, unknown>();
  gets = 0;
  gate: Promise<void> | undefined;
  #stored: ((id: Buffer) => void)[] = [];
  async get(id: Buffer): Promise<Buffer | undefined> {
    this.gets += 1;
    if (this.gate) await this.gate;
    return this.map.get(id.toString('hex')) as Buffer | undefined;
  }
  async set(id: Buffer, der: Buffer): Promise<void> {
    this.map.set(id.toString('hex'), Buffer.from(der));
    for (const f of this.#stored.splice(0)) f(id);
  }
  async delete(id: Buffer): Promise<void> {
    this.map.delete(id.toString('hex'));
  }
}

let server: TlsServer | undefined;
let sockets: Set<{ destroy(): unknown }> = new Set();

afterEach(async () => {
  await close(server, sockets);
  server = undefined;
});

async function start(
  store: SessionStore,
  opts: { sessionStoreConcurrency?: number; sessionStoreNegativeCacheTtl?: number; sessionStoreTimeout?: number } = {},
): Promise<number> {
  server = createServer({ cert, key, sessionStore: store, ...opts }, (s: TLSSocket) => {
    s.resume();
    s.on('end', () => s.end());
  });
  server.on('tlsClientError', () => {});
  sockets = track(server);
  return listen(server);
}

/** a full handshake; resolves with the session (DER, OpenSSL 3's) and its id once stored */
const fullHandshake = (port: number) => storedFullHandshake(server!, port);
const resumes = resumesWith;

describe('what a store returns', () => {
  test('a session for another id is not cached (no planting) and is a counted miss', async () => {
    const store = new TestStore();
    const port = await start(store);
    const x = await fullHandshake(port);
    const y = await fullHandshake(port);
    expect(await resumes(port, y.session)).toBe(true);
    server!.context.flushSessions(0);
    // the store answers X's lookup with Y's session
    store.map.set(x.id.toString('hex'), store.map.get(y.id.toString('hex')));
    expect(await resumes(port, x.session)).toBe(false);
    expect(server!.context.getSession(y.id)).toBeUndefined();
    expect(server!.context.sessionCount).toBe(0);
    expect(server!.sessionStoreStats).toMatchObject({ invalid: 1, hits: 1 });
    // Y itself still resumes through its own id
    expect(await resumes(port, y.session)).toBe(true);
    expect(server!.sessionStoreStats.hits).toBe(2);
  });

  test('garbage answers are counted misses and full handshakes, never a crash or a resumption', async () => {
    const store = new TestStore();
    const port = await start(store);
    const x = await fullHandshake(port);
    const good = store.map.get(x.id.toString('hex')) as Buffer;
    const garbage: unknown[] = [
      good.subarray(0, good.length - 7), // truncated
      x.session, // another OpenSSL's format (OpenSSL 3's DER from Node's client)
      Buffer.concat([good, Buffer.from([0])]), // trailing byte
      randomBytes(good.length),
      Buffer.alloc(0),
      'a string',
      12345,
      { der: good },
    ];
    for (const g of garbage) {
      store.map.set(x.id.toString('hex'), g);
      expect(await resumes(port, x.session)).toBe(false);
    }
    expect(server!.sessionStoreStats).toMatchObject({ invalid: garbage.length, hits: 0, misses: garbage.length });
    expect(server!.context.sessionCount).toBe(0);
    store.map.set(x.id.toString('hex'), good);
    expect(await resumes(port, x.session)).toBe(true);
  });
});

/** a TLS 1.2 ClientHello offering `id`, written by hand (AES128-SHA, ECDHE-RSA-AES128-GCM-SHA256) */
function clientHello(id: Buffer): Buffer {
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    randomBytes(32),
    Buffer.from([id.length]),
    id,
    Buffer.from([0, 4, 0xc0, 0x2f, 0x00, 0x2f]),
    Buffer.from([1, 0]),
  ]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([22, 3, 1, hs.length >> 8, hs.length & 0xff]), hs]);
}

/** sends a ClientHello; resolves true once the server answered with a handshake record */
function hello(port: number, id: Buffer, localAddress = '127.0.0.1'): { answered: Promise<boolean>; socket: net.Socket } {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  const answered = new Promise<boolean>((resolve) => {
    socket.once('data', (d: Buffer) => {
      resolve(d[0] === 22);
      socket.destroy();
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
  socket.write(clientHello(id));
  return { answered, socket };
}

describe('a flood of random session ids', () => {
  test('store lookups stay at the concurrency limit; the other hellos and a real client are served', async () => {
    const store = new TestStore();
    let release!: () => void;
    store.gate = new Promise<void>((r) => (release = r));
    const limit = 4;
    const flood = 200;
    // the timeout only frees the handshake, never the slot: the bound holds either way
    const port = await start(store, { sessionStoreConcurrency: limit, sessionStoreTimeout: 60000 });
    // from 8 addresses: one address gets a share of the slots only (limit / 4)
    const hellos = Array.from({ length: flood }, (_, i) => hello(port, randomBytes(32), `127.0.0.${2 + (i % 8)}`));
    try {
      // every hello over the limit is answered while the store holds the first four (the
      // order the server accepts connections in is not ours to choose: wait for any
      // flood - limit answers)
      let answered = 0;
      await new Promise<void>((resolve) =>
        hellos.forEach((h) =>
          h.answered.then((ok) => {
            if (ok && ++answered === flood - limit) resolve();
          }),
        ),
      );
      expect(store.gets).toBe(limit);
      expect(server!.sessionStoreStats).toMatchObject({ lookups: flood, storeGets: limit, overLimit: flood - limit, inFlight: limit });
      // a real client during the flood: a full handshake (its lookup would be over the limit)
      const c = await nodeClient(port, { secureOptions: NO_TICKET });
      expect(c.socket.isSessionReused()).toBe(false);
      await endNode(c.socket);
      expect(store.gets).toBe(limit);
    } finally {
      release();
      for (const h of hellos) h.socket.destroy();
    }
    await Promise.all(hellos.map((h) => h.answered));
    store.gate = undefined;
    // once the flood is over, lookups happen again and stored sessions resume
    const x = await fullHandshake(port);
    expect(await resumes(port, x.session)).toBe(true);
    expect(store.gets).toBe(limit + 1);
    expect(server!.sessionStoreStats.inFlight).toBe(0);
  });

  test('the same unknown id offered again and again costs one lookup (negative cache)', async () => {
    const store = new TestStore();
    const port = await start(store, { sessionStoreNegativeCacheTtl: 60000 });
    const id = randomBytes(32);
    for (let i = 0; i < 50; i++) expect(await hello(port, id).answered).toBe(true);
    expect(store.gets).toBe(1);
    expect(server!.sessionStoreStats).toMatchObject({ lookups: 50, storeGets: 1, negativeHits: 49, misses: 1 });
    // revoke() forgets the miss (nothing else can make that id valid but a new session)
    await server!.revoke(id);
    expect(await hello(port, id).answered).toBe(true);
    expect(store.gets).toBe(2);
  });
});
