// The package's node:diagnostics_channel channels (docs/operating.md): a subscriber on every
// channel while servers run full, resumed (by id, from the store, by ticket under the
// current and a previous key), refused (revoked, unknown, expired, another context, an
// unknown ticket key, a silent store) and failed handshakes; each message and its fields.
// And the "why did this client not resume" line under NODE_DEBUG.
import * as dc from 'diagnostics_channel';
import * as net from 'net';
import * as path from 'path';
import { execFile } from 'child_process';
import { randomBytes } from 'crypto';
import { EventEmitter } from 'events';
import { CHANNELS, createServer, MemorySessionStore, NativeTlsSocket, RedisSessionStore, SessionStore, setOpenSSLClock, SslContext, TlsServer, TLSSocket } from '../lib';
import { observeConnection } from '../lib/tls/observe';
import type { TlsServerOptions } from '../lib';
import { certs, close, endNode, listen, nodeClient, resumesWith, storedFullHandshake, track } from './helpers/sockets';
import { killAllRedis, startRedis } from './helpers/redis';
import { isError } from './helpers/util';

const { cert, key } = certs();
/** the class of a server connection's socket on the connection path these servers run on */
const ServerSocket = createServer({ cert, key }).connectionPath === 'native' ? NativeTlsSocket : TLSSocket;
const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;

type Msg = Record<string, any>;
interface Entry {
  channel: string;
  /** the message as it was when published (tracing contexts are filled in later) */
  snapshot: Msg;
  message: Msg;
}

const TRACING = [CHANNELS.handshake, CHANNELS.lookup];
const PLAIN = [CHANNELS.sessionStored, CHANNELS.sessionRevoked, CHANNELS.sessionRemoved, CHANNELS.ticket, CHANNELS.resumptionMissed, CHANNELS.storeConnection];
const PHASES = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;

/** every message of every documented channel, and waiting for one that matches */
class Recorder {
  readonly entries: Entry[] = [];
  #waiters: { channel: string; pred: (m: Msg) => boolean; n: number; resolve: (e: Entry[]) => void }[] = [];
  readonly #off: (() => void)[] = [];

  constructor() {
    for (const name of PLAIN) {
      const fn = (m: unknown) => this.#push(name, m as Msg);
      dc.subscribe(name, fn);
      this.#off.push(() => dc.unsubscribe(name, fn));
    }
    for (const name of TRACING) {
      const handlers = Object.fromEntries(PHASES.map((p) => [p, (m: unknown) => this.#push(`${name}:${p}`, m as Msg)]));
      const ch = dc.tracingChannel(name);
      ch.subscribe(handlers as any);
      this.#off.push(() => ch.unsubscribe(handlers as any));
    }
  }

  #push(channel: string, message: Msg): void {
    this.entries.push({ channel, snapshot: { ...message }, message });
    for (const w of this.#waiters.filter((x) => x.channel === channel)) {
      const got = this.of(channel, w.pred);
      if (got.length < w.n) continue;
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve(got);
    }
  }

  /** the first n messages on `channel` matching `pred`, now or once they are published */
  atLeast(channel: string, pred: (m: Msg) => boolean, n: number): Promise<Entry[]> {
    const got = this.of(channel, pred);
    if (got.length >= n) return Promise.resolve(got);
    return new Promise((resolve) => this.#waiters.push({ channel, pred, n, resolve }));
  }

  /** the first message on `channel` matching `pred`, now or once it is published */
  async waitFor(channel: string, pred: (m: Msg) => boolean = () => true): Promise<Msg> {
    return (await this.atLeast(channel, pred, 1))[0].message;
  }

  of(channel: string, pred: (m: Msg) => boolean = () => true): Entry[] {
    return this.entries.filter((e) => e.channel === channel && pred(e.message));
  }

  close(): void {
    for (const f of this.#off) f();
  }
}

let rec: Recorder;
const servers: { server: net.Server; sockets: Set<{ destroy(): unknown }> }[] = [];

beforeEach(() => {
  rec = new Recorder();
});

afterEach(async () => {
  rec.close();
  for (const s of servers.splice(0)) await close(s.server, s.sockets);
});

afterAll(async () => {
  await killAllRedis();
});

async function start(opts: TlsServerOptions = {}): Promise<{ server: TlsServer; port: number }> {
  const server = createServer({ cert, key, ...opts }, (s: TLSSocket) => {
    s.resume();
    s.on('end', () => s.end());
  });
  server.on('tlsClientError', () => {});
  servers.push({ server, sockets: track(server) });
  return { server, port: await listen(server) };
}

const ofServer = (server: TlsServer) => (m: Msg) => m.server === server;
const sameId = (id: Buffer) => (m: Msg) => Buffer.isBuffer(m.id) && m.id.equals(id);

/** the n-th (1-based) handshake of `server` that ended, once it did */
async function handshakeEnd(server: TlsServer, n: number): Promise<Msg> {
  const ended = await rec.atLeast(`${CHANNELS.handshake}:asyncEnd`, ofServer(server), n);
  return ended[n - 1].message;
}

/** a session made by a server nobody else knows: its id is unknown everywhere else */
async function foreignSession(): Promise<Buffer> {
  const other = await start();
  const c = await nodeClient(other.port, { secureOptions: NO_TICKET });
  const s = await c.session();
  await endNode(c.socket);
  return s;
}

function expectCompleted(m: Msg, server: TlsServer, resumed: boolean, offered: string): void {
  expect(m.server).toBe(server);
  expect(m.socket).toBeInstanceOf(ServerSocket);
  expect(m.resumed).toBe(resumed);
  expect(m.offered).toBe(offered);
  expect(m.protocol).toBe('TLSv1.2');
  expect(m.cipher).toMatch(/^TLS_/);
  expect(typeof m.durationMs).toBe('number');
  expect(m.durationMs).toBeGreaterThanOrEqual(0);
  expect(m.servername).toBe('localhost'); // what nodeClient asks for
  expect(m.error).toBeUndefined();
}

describe('session ids and a store', () => {
  test('full, resumed locally and from the store, stored, revoked (local and heard), then refused for the right reason', async () => {
    const store = new MemorySessionStore();
    const a = await start({ sessionStore: store, sessionStoreNegativeCacheTtl: 600000 });
    const b = await start({ sessionStore: store });

    // full handshake on A; the store accepted its session
    const { session, id } = await storedFullHandshake(a.server, a.port);
    const full = await handshakeEnd(a.server, 1);
    expectCompleted(full, a.server, false, 'none');
    expect(full.mechanism).toBeUndefined();
    const starts = rec.of(`${CHANNELS.handshake}:start`, ofServer(a.server));
    expect(starts).toHaveLength(1);
    expect(starts[0].message).toBe(full); // one context object from start to asyncEnd
    expect(starts[0].snapshot.resumed).toBeUndefined();
    expect(rec.of(`${CHANNELS.handshake}:end`, ofServer(a.server))).toHaveLength(1);
    expect(rec.of(`${CHANNELS.handshake}:asyncStart`, ofServer(a.server))).toHaveLength(1);
    const stored = await rec.waitFor(CHANNELS.sessionStored, sameId(id));
    expect(stored.server).toBe(a.server);
    expect(stored.durationMs).toBeGreaterThanOrEqual(0);

    // resumed on A: its local cache does not hold store sessions, so the store answers
    expect(await resumesWith(a.port, session)).toBe(true);
    const resumedA = await handshakeEnd(a.server, 2);
    expectCompleted(resumedA, a.server, true, 'id');
    expect(resumedA.mechanism).toBe('id');
    expect(resumedA.sessionId.equals(id)).toBe(true);
    const lookupA = await rec.waitFor(`${CHANNELS.lookup}:asyncEnd`, (m) => m.server === a.server);
    expect(lookupA.id.equals(id)).toBe(true);
    expect(lookupA.result).toBe('hit');
    expect(lookupA.durationMs).toBeGreaterThanOrEqual(0);
    const lookupStart = rec.of(`${CHANNELS.lookup}:start`, ofServer(a.server));
    expect(lookupStart).toHaveLength(1);
    expect(lookupStart[0].snapshot.result).toBeUndefined();

    // resumed on B from the shared store
    expect(await resumesWith(b.port, session)).toBe(true);
    expect((await handshakeEnd(b.server, 1)).mechanism).toBe('id');
    expect((await rec.waitFor(`${CHANNELS.lookup}:asyncEnd`, (m) => m.server === b.server)).result).toBe('hit');

    // revoked on A: A publishes it as local, B as heard from the store; both drop the session
    await a.server.revoke(id);
    const local = await rec.waitFor(CHANNELS.sessionRevoked, (m) => m.server === a.server);
    expect(local).toMatchObject({ origin: 'local' });
    expect(local.id.equals(id)).toBe(true);
    const heard = await rec.waitFor(CHANNELS.sessionRevoked, (m) => m.server === b.server);
    expect(heard).toMatchObject({ origin: 'store' });
    expect(heard.id.equals(id)).toBe(true);
    for (const s of [a.server, b.server]) {
      const removed = await rec.waitFor(CHANNELS.sessionRemoved, (m) => m.server === s && sameId(id)(m));
      expect(removed.reason).toBe('remove');
      expect(removed.context).toBe(s.context);
    }

    // the revoked session is offered again: a miss in the store, and the reason is the revocation
    expect(await resumesWith(a.port, session)).toBe(false);
    const revoked = await rec.waitFor(CHANNELS.resumptionMissed, (m) => m.server === a.server);
    expect(revoked).toMatchObject({ offered: 'id', reason: 'revoked' });
    expect(revoked.sessionId.equals(id)).toBe(true);
    expect(revoked.socket).toBeInstanceOf(ServerSocket);
    expect(rec.of(`${CHANNELS.lookup}:asyncEnd`, ofServer(a.server)).map((e) => e.message.result)).toEqual(['hit', 'miss']);

    // an id no server of this store made: unknown, then answered by the negative cache
    const foreign = await foreignSession();
    expect(await resumesWith(a.port, foreign)).toBe(false);
    expect(await resumesWith(a.port, foreign)).toBe(false);
    await handshakeEnd(a.server, 5);
    const reasons = rec.of(CHANNELS.resumptionMissed, ofServer(a.server)).map((e) => e.message.reason);
    expect(reasons).toEqual(['revoked', 'unknown-id', 'lookup-negative']);
    expect(rec.of(`${CHANNELS.lookup}:asyncEnd`, ofServer(a.server)).map((e) => e.message.result)).toEqual(['hit', 'miss', 'miss', 'negative']);
  });

  test('a session of another session id context: fetched from the store, refused as sid-ctx-mismatch', async () => {
    const store = new MemorySessionStore();
    const x = await start({ sessionStore: store, sessionIdContext: 'context-x' });
    const y = await start({ sessionStore: store, sessionIdContext: 'context-y' });
    const { session } = await storedFullHandshake(x.server, x.port);
    expect(await resumesWith(y.port, session)).toBe(false);
    expect((await rec.waitFor(`${CHANNELS.lookup}:asyncEnd`, ofServer(y.server))).result).toBe('sid-ctx-mismatch');
    expect(await rec.waitFor(CHANNELS.resumptionMissed, ofServer(y.server))).toMatchObject({ offered: 'id', reason: 'sid-ctx-mismatch' });
  });

  test("an expired session (OpenSSL's clock moved on): refused as expired, removed by the handshake", async () => {
    const e = await start();
    const c = await nodeClient(e.port, { secureOptions: NO_TICKET });
    const session = await c.session();
    const id = (await handshakeEnd(e.server, 1)).socket.getSslSession()!.id;
    await endNode(c.socket);
    setOpenSSLClock(Math.floor(Date.now() / 1000) + 10 * 86400);
    try {
      expect(await resumesWith(e.port, session)).toBe(false);
    } finally {
      setOpenSSLClock(undefined);
    }
    expect(await rec.waitFor(CHANNELS.resumptionMissed, ofServer(e.server))).toMatchObject({ offered: 'id', reason: 'expired' });
    const removed = await rec.waitFor(CHANNELS.sessionRemoved, (m) => m.server === e.server && sameId(id)(m));
    expect(removed.reason).toBe('handshake');
  });

  test('a silent store: the lookup times out, then the next one is over the limit', async () => {
    const pending: ((v: undefined) => void)[] = [];
    const silent: SessionStore = {
      get: () => new Promise<undefined>((resolve) => pending.push(resolve)),
      set: async () => {},
      delete: async () => {},
    };
    const s = await start({ sessionStore: silent, sessionStoreTimeout: 100, sessionStoreConcurrency: 1 });
    s.server.on('sessionStoreError', () => {});
    try {
      expect(await resumesWith(s.port, await foreignSession())).toBe(false);
      expect((await rec.waitFor(`${CHANNELS.lookup}:asyncEnd`, ofServer(s.server))).result).toBe('timeout');
      expect(await rec.waitFor(CHANNELS.resumptionMissed, ofServer(s.server))).toMatchObject({ reason: 'lookup-timeout' });
      // the store still holds the only slot (it never answered)
      expect(await resumesWith(s.port, await foreignSession())).toBe(false);
      await handshakeEnd(s.server, 2);
      expect(rec.of(`${CHANNELS.lookup}:asyncEnd`, ofServer(s.server)).map((m) => m.message.result)).toEqual(['timeout', 'over-limit']);
      expect(rec.of(CHANNELS.resumptionMissed, ofServer(s.server)).map((m) => m.message.reason)).toEqual(['lookup-timeout', 'lookup-over-limit']);
    } finally {
      for (const r of pending) r(undefined);
    }
  });
});

describe('tickets', () => {
  test('resumed by ticket under the current key and a previous one; an unknown key is a full handshake, and why', async () => {
    const k1 = randomBytes(48);
    const t = await start({ ticketKeys: k1, previousTicketKeys: 1 });
    const visit = async (session?: Buffer) => {
      const c = await nodeClient(t.port, session ? { session } : {});
      const reused = c.socket.isSessionReused();
      const got = c.socket.getSession()!;
      await endNode(c.socket);
      return { reused, session: got };
    };
    const first = await visit();
    expectCompleted(await handshakeEnd(t.server, 1), t.server, false, 'none');

    expect((await visit(first.session)).reused).toBe(true);
    const byTicket = await handshakeEnd(t.server, 2);
    expectCompleted(byTicket, t.server, true, 'ticket');
    expect(byTicket.mechanism).toBe('ticket');
    const current = await rec.waitFor(CHANNELS.ticket, ofServer(t.server));
    expect(current.key).toBe('current');
    expect(current.socket).toBe(byTicket.socket);

    t.server.setTicketKeys(randomBytes(48)); // k1 is now the previous key
    expect((await visit(first.session)).reused).toBe(true);
    await handshakeEnd(t.server, 3);
    t.server.setTicketKeys(randomBytes(48)); // k1 is gone
    expect((await visit(first.session)).reused).toBe(false);
    const refused = await handshakeEnd(t.server, 4);
    expect(refused.resumed).toBe(false);
    expect(refused.offered).toBe('ticket');
    expect(rec.of(CHANNELS.ticket, ofServer(t.server)).map((e) => e.message.key)).toEqual(['current', 'previous', 'unknown']);
    const missed = await rec.waitFor(CHANNELS.resumptionMissed, ofServer(t.server));
    expect(missed).toMatchObject({ offered: 'ticket', reason: 'ticket-key-unknown' });
    expect(missed.socket).toBe(refused.socket);
  });
});

test('a failed handshake: error and asyncEnd with the failure reason', async () => {
  const f = await start();
  const sock = net.connect(f.port, '127.0.0.1');
  sock.on('error', () => {});
  sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const failed = await rec.waitFor(`${CHANNELS.handshake}:error`, ofServer(f.server));
  expect(failed.error).toBeInstanceOf(Error);
  expect(typeof failed.failureReason).toBe('string');
  expect(failed.failureReason.length).toBeGreaterThan(0);
  expect(failed.resumed).toBeUndefined();
  expect(failed.durationMs).toBeGreaterThanOrEqual(0);
  const ended = await rec.waitFor(`${CHANNELS.handshake}:asyncEnd`, ofServer(f.server));
  expect(ended).toBe(failed);
  sock.destroy();
});

test('store connection: ready, then closed', async () => {
  const redis = await startRedis();
  const store = new RedisSessionStore({ redis: { host: '127.0.0.1', port: redis.port } });
  const ready = await rec.waitFor(CHANNELS.storeConnection, (m) => m.store === store && m.state === 'ready');
  expect(ready.error).toBeUndefined();
  await store.close();
  expect(rec.of(CHANNELS.storeConnection, (m) => m.store === store).map((e) => e.message.state)).toEqual(['ready', 'closed']);
  await redis.stop();
});

test('store connection: Redis goes away (error) and comes back (ready, then resync of the revocation feed)', async () => {
  const redis = await startRedis();
  const store = new RedisSessionStore({ redis: { host: '127.0.0.1', port: redis.port }, maxReconnectDelay: 100 });
  const unsubscribe = store.subscribe(
    () => {},
    () => {},
  );
  try {
    await store.ready();
    const ofStore = (state: string) => (m: Msg) => m.store === store && m.state === state;
    await rec.waitFor(CHANNELS.storeConnection, ofStore('ready'));
    await redis.stop();
    const error = await rec.waitFor(CHANNELS.storeConnection, ofStore('error'));
    expect(isError(error.error)).toBe(true);
    const readies = rec.of(CHANNELS.storeConnection, ofStore('ready')).length;
    await redis.start();
    await rec.atLeast(CHANNELS.storeConnection, ofStore('ready'), readies + 1);
    await rec.waitFor(CHANNELS.storeConnection, ofStore('resync'));
  } finally {
    unsubscribe();
    await store.close();
    await redis.stop();
  }
});

test('NODE_DEBUG=openssl-session-cache says why an offered session did not resume', async () => {
  const script = `
    const tls = require('tls');
    const L = require(${JSON.stringify(path.resolve(__dirname, '../dist'))});
    const { cert, key } = L.generateSelfSigned({ commonName: 'localhost' });
    const a = L.createServer({ cert, key }, (t) => { t.resume(); t.end(); });
    const b = L.createServer({ cert, key }, (t) => { t.resume(); t.end(); });
    const opts = (port, session) => ({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', maxVersion: 'TLSv1.2', secureOptions: require('constants').SSL_OP_NO_TICKET, session });
    a.listen(0, '127.0.0.1', () => b.listen(0, '127.0.0.1', () => {
      const c = tls.connect(opts(a.address().port), () => c.resume());
      let session;
      c.on('session', (s) => (session = s));
      c.on('close', () => {
        const d = tls.connect(opts(b.address().port, session), () => d.resume());
        d.on('close', () => { a.close(); b.close(); });
      });
    }));`;
  const stderr = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { env: { ...process.env, NODE_DEBUG: 'openssl-session-cache' } }, (e, _o, err) => (e ? reject(e) : resolve(err))),
  );
  expect(stderr).toMatch(/OPENSSL-SESSION-CACHE \d+: full handshake: the client offered no session/);
  expect(stderr).toMatch(/OPENSSL-SESSION-CACHE \d+: not resumed: the client offered a session id \([0-9a-f]{64}\): unknown-id/);
});

test('nobody subscribed: no per-connection observer is made; a subscriber to any handshake channel brings one', () => {
  rec.close(); // this test's own subscriptions only
  // NODE_DEBUG=openssl-session-cache would make an observer for its debug lines
  expect(process.env.NODE_DEBUG ?? '').not.toMatch(/openssl-session-cache/i);
  const server = new EventEmitter();
  const ctx = new SslContext();
  try {
    expect(observeConnection(server, ctx)).toBeUndefined();
    for (const name of [`tracing:${CHANNELS.handshake}:asyncEnd`, CHANNELS.resumptionMissed, CHANNELS.ticket]) {
      const fn = () => {};
      dc.subscribe(name, fn);
      try {
        expect([name, observeConnection(server, ctx) !== undefined]).toEqual([name, true]);
      } finally {
        dc.unsubscribe(name, fn);
      }
      expect(observeConnection(server, ctx)).toBeUndefined();
    }
  } finally {
    ctx.free();
  }
});
