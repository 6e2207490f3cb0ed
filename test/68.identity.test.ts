// Identity (the API contract, docs/api.md "Identity"): a session that comes back from the
// library is the thread's live SslSession of that SSL_SESSION when one exists, so
// `ctx.getSession(s.id) === s`; a new object (one native reference) only when none does.
// Under garbage collection: test/fixtures/identity_gc.js in a child `node --expose-gc`.
import * as path from 'path';
import { connect, createServer, generateSelfSigned, handshake, SslContext, SslSession } from '../lib';
import type { TLSSocket } from '../lib';
import { identityTableSize } from '../lib/openssl/identity';
import { kRetain } from '../lib/openssl/internal';
import { runNode } from './helpers/children';
import { certs, close, listen, next, track } from './helpers/sockets';

let n = 0;
const newId = (): Buffer => {
  const b = Buffer.alloc(32, 0x68);
  b.writeUInt32BE(++n, 0);
  return b;
};
const mk = (): SslSession => SslSession.create({ id: newId(), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 1) });

let ctx: SslContext;
beforeEach(() => {
  ctx = new SslContext();
});
afterEach(() => {
  ctx.removeAllListeners();
  if (!ctx.freed) ctx.free();
});

describe('lookups give back the live object', () => {
  test('getSession(s.id) === s for an added s, without a new reference', () => {
    const s = mk();
    ctx.addSession(s);
    expect(s.references).toBe(2); // s + the cache
    expect(ctx.getSession(s.id)).toBe(s);
    expect(ctx.getSession(s.id)).toBe(s);
    expect(s.references).toBe(2);
    s.free();
  });

  test('sessions() contains the same objects, in list order; new objects only for the others', () => {
    const [a, b, c] = [mk(), mk(), mk()];
    [a, b, c].forEach((s) => ctx.addSession(s));
    const cId = c.id;
    c.free(); // no live object for c any more
    const list = ctx.sessions();
    expect(list).toHaveLength(3);
    expect(list[1]).toBe(b);
    expect(list[2]).toBe(a);
    expect(list[0]).not.toBe(c);
    expect(list[0].id).toEqual(cId);
    expect(list[0].references).toBe(2); // the new object + the cache
    expect(ctx.sessions()).toEqual(list);
    ctx.sessions().forEach((s, i) => expect(s).toBe(list[i]));
    expect(ctx.getSession(cId)).toBe(list[0]);
    [a, b, list[0]].forEach((s) => s.free());
  });

  test("the 'newSession' event object is the later getSession result and the handshake's serverSession", () => {
    const pki = generateSelfSigned({ commonName: 'localhost', bits: 1024, days: 1 });
    const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'identity' });
    const client = new SslContext({ role: 'client' });
    const seen: SslSession[] = [];
    server.on('newSession', (s) => seen.push(s));
    const r = handshake(client, server);
    expect(seen).toHaveLength(1);
    expect(r.serverSession).toBe(seen[0]);
    expect(server.getSession(r.serverSession.id)).toBe(seen[0]);
    expect(server.sessions()).toEqual([seen[0]]);
    expect(seen[0].references).toBe(2); // one object + the cache
    // resumed: the server answers with the cached session, the same object again
    const again = handshake(client, server, { session: r.clientSession });
    expect(again.resumed).toBe(true);
    expect(again.serverSession).toBe(seen[0]);
    expect(again.clientSession).toBe(r.clientSession); // the offered session, resumed
    server.free();
    client.free();
    r.clientSession.free();
    r.serverSession.free();
  });

  test("a resumed handshake's clientSession is the table's object of the offered session", () => {
    const pki = generateSelfSigned({ commonName: 'localhost', bits: 1024, days: 1 });
    const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'identity' });
    const client = new SslContext({ role: 'client' });
    const first = handshake(client, server);
    const offer = first.clientSession;
    const refs = offer.references;
    const again = handshake(client, server, { session: offer });
    expect(again.clientResumed).toBe(true);
    expect(again.clientSession).toBe(offer);
    expect(offer.references).toBe(refs); // the client SSL's reference went with it
    // a private extra reference (outside the table) offered: the answer is still the
    // table's object, as a lookup of that session would give
    const priv = SslSession[kRetain](offer);
    expect(priv).not.toBe(offer);
    const third = handshake(client, server, { session: priv });
    expect(third.clientResumed).toBe(true);
    expect(third.clientSession).toBe(offer);
    expect(offer.references).toBe(refs + 1); // + priv
    priv.free();
    // an offer that sits in a cache is offered as a copy: a session of its own
    client.addSession(offer);
    const fourth = handshake(client, server, { session: offer });
    expect(fourth.clientResumed).toBe(true);
    expect(fourth.clientSession).not.toBe(offer);
    expect(fourth.clientSession.id).toEqual(offer.id);
    expect(fourth.clientSession.references).toBe(1);
    [fourth, third, again, first].forEach((r) => r.serverSession.free());
    fourth.clientSession.free();
    offer.free();
    server.free();
    client.free();
  });

  test("the get callback's session comes back as the same object", () => {
    const pki = generateSelfSigned({ commonName: 'localhost', bits: 1024, days: 1 });
    const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'identity' });
    const client = new SslContext({ role: 'client' });
    const first = handshake(client, server);
    const stored = SslSession.fromDER(first.serverSession.toDER());
    server.flushSessions(0);
    const asked: Buffer[] = [];
    server.getSessionCallback = (id) => {
      asked.push(id);
      return id.equals(stored.id) ? stored : undefined;
    };
    const r = handshake(client, server, { session: first.clientSession });
    expect(asked).toHaveLength(1);
    expect(r.resumed).toBe(true);
    expect(r.serverSession).toBe(stored);
    expect(server.getSession(stored.id)).toBe(stored); // the callback's session is cached (copy 0)
    server.free();
    client.free();
    [first.clientSession, first.serverSession, stored].forEach((s) => s.free());
  });

  test("removal events carry the holder's object, which stays usable", () => {
    const s = mk();
    ctx.addSession(s);
    const removed: SslSession[] = [];
    ctx.on('removeSession', (x) => removed.push(x));
    expect(ctx.removeSession(s)).toBe(true);
    expect(removed).toEqual([s]);
    expect(removed[0]).toBe(s);
    expect(s.freed).toBe(false);
    expect(s.resumable).toBe(false);
    expect(s.references).toBe(1);
    expect(SslSession.fromDER(s.toDER()).id).toEqual(s.id);
    expect(ctx.addSession(s)).toBe(true); // and can be cached again
    expect(ctx.getSession(s.id)).toBe(s);
    s.free();
  });
});

describe('free()', () => {
  test('after s.free(), getSession gives a new, live, non-freed object', () => {
    const s = mk();
    ctx.addSession(s);
    const id = s.id;
    s.free();
    expect(s.freed).toBe(true);
    const g = ctx.getSession(id)!;
    expect(g).not.toBe(s);
    expect(g.freed).toBe(false);
    expect(g.id).toEqual(id);
    expect(g.references).toBe(2);
    expect(ctx.getSession(id)).toBe(g);
    g.free();
  });

  test('freeing a shared object frees it for every holder', () => {
    const s = mk();
    ctx.addSession(s);
    const id = s.id;
    const other = ctx.getSession(id)!; // another holder, the same object
    other.free();
    expect(s.freed).toBe(true);
    expect(ctx.sessionCount).toBe(1); // the cache keeps its own reference
    const g = ctx.getSession(id)!;
    expect(g.references).toBe(2);
    g.free();
  });

  test('no JS session object is leaked: the table is empty again after the frees', () => {
    const before = identityTableSize();
    const made = Array.from({ length: 20 }, mk);
    made.forEach((s) => ctx.addSession(s));
    expect(identityTableSize()).toBe(before + 20);
    made.slice(0, 10).forEach((s) => s.free());
    expect(identityTableSize()).toBe(before + 10);
    const list = ctx.sessions(); // 10 live ones reused, 10 new
    expect(identityTableSize()).toBe(before + 20);
    expect(list.filter((s) => made.includes(s))).toHaveLength(10);
    list.forEach((s) => s.free());
    expect(identityTableSize()).toBe(before);
    made.forEach((s) => expect(s.freed).toBe(true));
    ctx.flushSessions(0);
    expect(identityTableSize()).toBe(before);
  });

  test('Symbol.dispose (using) frees the object like free()', () => {
    const s = mk();
    ctx.addSession(s);
    {
      const g = ctx.getSession(s.id)!;
      g[Symbol.dispose]();
    }
    expect(s.freed).toBe(true);
  });
});

describe('sockets', () => {
  const { cert, key } = certs();
  test('TLSSocket#getSslSession gives the same object each time; getSession() (DER) does not free it', async () => {
    const server = createServer({ cert, key }, (sock) => sock.end());
    const sockets = track(server);
    const port = await listen(server);
    let c: TLSSocket | undefined;
    try {
      c = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' });
      sockets.add(c);
      await next(c, 'secureConnect');
      const s = c.getSslSession()!;
      expect(c.getSslSession()).toBe(s);
      expect(c.getSession()).toEqual(s.toDER());
      expect(s.freed).toBe(false);
      expect(c.getSslSession()).toBe(s);
      s.free();
      const again = c.getSslSession()!;
      expect(again).not.toBe(s);
      expect(again.freed).toBe(false);
      again.free();
    } finally {
      await close(server, sockets);
    }
  });
});

describe('under garbage collection (child process, --expose-gc)', () => {
  let out: Record<string, any>;
  beforeAll(async () => {
    const r = await runNode(path.join(__dirname, 'fixtures', 'identity_gc.js'), [], { cwd: path.resolve(__dirname, '..'), nodeArgs: ['--expose-gc'] });
    if (r.status !== 0) throw new Error(`identity_gc.js exited with ${r.status ?? r.signal}: ${r.stderr}${r.stdout}`);
    out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  }, 180000);

  test('the child ran to the end', () => {
    expect(out.error).toBeUndefined();
  });

  test('a collected wrapper: the lookup returns a new object; references are the cache + it', () => {
    expect(out.tableAfterCollect).toBe(0);
    expect(out.afterCollect).toEqual({ sameSession: true, references: 2, again: true });
  });

  test('collected but not finalized: a new object replaces the entry; the old finalizer drops only its own reference', () => {
    expect(out.raceWindow).toEqual({ collected: true, cleanedUp: false });
    expect(out.race).toEqual({ references: 3, table: 1 }); // cache + the old cell's + the new object's
    expect(out.afterFinalizer).toEqual({ references: 2, same: true, table: 1 });
    expect(out.tableAfterFree).toBe(0);
  });

  test('dropped objects leave the table when collected', () => {
    expect(out.tableWithGarbage).toBeGreaterThanOrEqual(200);
    expect(out.tableAfterGarbage).toBe(0);
    expect(out.finalReferences).toBe(2);
    expect(out.tableAtEnd).toBe(0);
  });
});

describe('worker threads', () => {
  test('each thread has its own table: a worker gets its own object of a session', async () => {
    const { Worker } = await import('worker_threads');
    const root = path.resolve(__dirname, '..');
    const code = `
      const { parentPort, workerData } = require('worker_threads');
      const { load } = require(${JSON.stringify(path.join(root, 'scripts/lib/load'))});
      const { SslContext, SslSession } = load();
      const ctx = new SslContext();
      const s = SslSession.fromDER(Buffer.from(workerData));
      ctx.addSession(s);
      const id = s.id;
      const same = ctx.getSession(id) === s;
      s.free();
      const g = ctx.getSession(id);
      parentPort.postMessage({ same, newAfterFree: g !== s && !g.freed, references: g.references });
      g.free();
      ctx.free();
    `;
    const s = mk();
    const w = new Worker(code, { eval: true, workerData: s.toDER() });
    const msg = await next<{ same: boolean }>(w, 'message');
    expect(msg).toEqual({ same: true, newAfterFree: true, references: 2 });
    await next(w, 'exit');
    s.free();
  });
});
