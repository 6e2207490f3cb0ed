// 'newSession' / 'removeSession' from real handshakes. OpenSSL's callbacks only record the
// events; they are emitted once the native handshake has returned (both SSLs finished and
// freed, the cache and counters in their final state) and before handshake() returns to
// its caller, in the order OpenSSL produced them. Listeners may call back into the context.
import { SessionCacheMode, SslSession, handshake } from '../lib';
import type { SslContextOptions } from '../lib';
import { contextsPerTest, localhostPki } from './helpers/util';

let pki: { cert: string; key: string };
beforeAll(() => {
  pki = localhostPki();
});

const ctx = contextsPerTest();
const idServer = (options: SslContextOptions = {}) => ctx({ cert: pki.cert, key: pki.key, noTicket: true, ...options });
const client = (options: SslContextOptions = {}) => ctx({ role: 'client', ...options });

const hex = (b: Buffer) => b.toString('hex');

describe('delivery: after OpenSSL returned, before handshake() returns', () => {
  test('a newSession listener sees the cache and counters already updated', () => {
    const c = client();
    const s = idServer();
    const seen: { count: number; cached: boolean; acceptGood: number; id: string }[] = [];
    s.on('newSession', (x: SslSession) => {
      const cached = s.getSession(x.id);
      seen.push({ count: s.sessionCount, cached: !!cached && cached.equals(x), acceptGood: s.stats.acceptGood, id: hex(x.id) });
    });
    const r = handshake(c, s);
    // delivered before handshake() returned
    expect(seen.length).toBe(1);
    expect(seen[0].count).toBe(1);
    expect(seen[0].cached).toBe(true);
    // ssl3_accept increments sess_accept_good only AFTER ssl_update_cache called the
    // new-session callback; a listener run inside that callback would see 0
    expect(seen[0].acceptGood).toBe(1);
    expect(seen[0].id).toBe(hex(r.serverSession.id));
  });

  test('the newSession session is the server session (same id, same native object)', () => {
    const s = idServer();
    const got: SslSession[] = [];
    s.on('newSession', (x: SslSession) => got.push(x));
    const r = handshake(client(), s);
    expect(got.length).toBe(1);
    expect(got[0].id.equals(r.serverSession.id)).toBe(true);
    expect(got[0].equals(r.serverSession)).toBe(true);
    expect(got[0].idContext.equals(r.serverSession.idContext)).toBe(true);
    expect(got[0].protocol).toBe(r.protocol);
  });

  test('shutdown: false → newSession then removeSession, the listener sees the final (empty) cache', () => {
    const s = idServer();
    const seen: string[] = [];
    s.on('newSession', (x: SslSession) => seen.push(`new ${hex(x.id)} count=${s.sessionCount}`));
    s.on('removeSession', (x: SslSession) => seen.push(`remove ${hex(x.id)} count=${s.sessionCount} resumable=${x.resumable}`));
    const r = handshake(client(), s, { shutdown: false });
    const id = hex(r.serverSession.id);
    // both callbacks ran inside the native call (add in ssl_update_cache, remove in SSL_free);
    // both events are delivered afterwards, in that order, against the final state
    expect(seen).toEqual([`new ${id} count=0`, `remove ${id} count=0 resumable=false`]);
  });

  test('an expiry during the lookup: removeSession (old) then newSession (new), both after the handshake', () => {
    const c = client();
    const s = idServer();
    const r = handshake(c, s);
    r.serverSession.time = r.serverSession.time - 1000;
    const seen: string[] = [];
    s.on('newSession', (x: SslSession) => seen.push(`new ${hex(x.id)} timeouts=${s.stats.timeouts} count=${s.sessionCount}`));
    s.on('removeSession', (x: SslSession) => seen.push(`remove ${hex(x.id)} timeouts=${s.stats.timeouts} count=${s.sessionCount}`));
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(r2.resumed).toBe(false);
    expect(seen).toEqual([
      `remove ${hex(r.serverSession.id)} timeouts=1 count=1`,
      `new ${hex(r2.serverSession.id)} timeouts=1 count=1`,
    ]);
  });

  test('client and server contexts each get their own events before handshake() returns', () => {
    const c = client({ sessionCacheMode: SessionCacheMode.CLIENT });
    const s = idServer();
    const clientEvents: string[] = [];
    const serverEvents: string[] = [];
    c.on('newSession', (x: SslSession) => clientEvents.push(`${hex(x.id)} ${c.sessionCount} ${c.stats.connectGood}`));
    s.on('newSession', (x: SslSession) => serverEvents.push(`${hex(x.id)} ${s.sessionCount}`));
    const r = handshake(c, s);
    // s3_clnt.c also bumps sess_connect_good after ssl_update_cache
    expect(clientEvents).toEqual([`${hex(r.clientSession.id)} 1 1`]);
    expect(serverEvents).toEqual([`${hex(r.serverSession.id)} 1`]);
  });

  test('without a listener OpenSSL still caches; a listener added later sees only later sessions', () => {
    const c = client();
    const s = idServer();
    const r = handshake(c, s);
    expect(s.sessionCount).toBe(1);
    const got: SslSession[] = [];
    s.on('newSession', (x: SslSession) => got.push(x));
    handshake(c, s);
    expect(got.length).toBe(1);
    expect(got[0].id.equals(r.serverSession.id)).toBe(false);
  });
});

describe('listeners that call back into the same context', () => {
  test('newSession → removeSession(session): works, the nested removeSession event follows', () => {
    const c = client();
    const s = idServer();
    const seen: string[] = [];
    const removeResults: boolean[] = [];
    s.on('newSession', (x: SslSession) => {
      seen.push('new ' + hex(x.id));
      removeResults.push(s.removeSession(x));
      seen.push('after remove count=' + s.sessionCount);
    });
    s.on('removeSession', (x: SslSession) => seen.push('remove ' + hex(x.id)));
    const r = handshake(c, s);
    const id = hex(r.serverSession.id);
    expect(removeResults).toEqual([true]);
    expect(seen).toEqual(['new ' + id, 'after remove count=0', 'remove ' + id]);
    expect(s.sessionCount).toBe(0);
    expect(r.serverSession.resumable).toBe(false);
    // removed for real: the offer misses
    expect(handshake(c, s, { session: r.clientSession }).resumed).toBe(false);
    expect(s.stats.misses).toBe(1);
  });

  test('newSession → flushSessions(0): every cached session is removed, with events', () => {
    const c = client();
    const s = idServer();
    const first = handshake(c, s);
    const removed: string[] = [];
    s.on('removeSession', (x: SslSession) => removed.push(hex(x.id)));
    s.once('newSession', () => {
      expect(s.sessionCount).toBe(2);
      s.flushSessions(0);
      expect(s.sessionCount).toBe(0);
    });
    const r2 = handshake(c, s);
    expect([...removed].sort()).toEqual([hex(first.serverSession.id), hex(r2.serverSession.id)].sort());
    expect(s.sessionCount).toBe(0);
  });

  test('NO_INTERNAL_STORE: newSession → addSession(session) (the man page pattern) makes it resumable', () => {
    const c = client();
    const s = idServer({ sessionCacheMode: SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL_STORE });
    const added: boolean[] = [];
    s.on('newSession', (x: SslSession) => {
      expect(s.sessionCount).toBe(0); // nothing stored by OpenSSL
      added.push(s.addSession(x));
    });
    const r = handshake(c, s);
    expect(added).toEqual([true]);
    expect(s.sessionCount).toBe(1);
    expect(handshake(c, s, { session: r.clientSession }).resumed).toBe(true);
    expect(s.stats.hits).toBe(1);
  });

  test('addSession from a listener that overflows the cache: the eviction event is delivered too', () => {
    const c = client();
    const s = idServer({ sessionCacheSize: 1, sessionCacheMode: SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL_STORE });
    const removed: string[] = [];
    const added: string[] = [];
    s.on('removeSession', (x: SslSession) => removed.push(hex(x.id)));
    s.on('newSession', (x: SslSession) => {
      s.addSession(x);
      added.push(hex(x.id));
    });
    handshake(c, s);
    handshake(c, s);
    expect(added.length).toBe(2);
    expect(removed).toEqual([added[0]]);
    expect(s.stats.cacheFull).toBe(1);
    expect(s.sessionCount).toBe(1);
  });

  test('removeSession listener → reads and writes the context (getSession, sessions, addSession)', () => {
    const c = client();
    const s = idServer();
    const r = handshake(c, s);
    r.serverSession.time = r.serverSession.time - 1000; // expires on the next offer
    const spare = SslSession.create({ id: Buffer.alloc(32, 7), cipher: 'AES128-SHA' });
    const log: string[] = [];
    s.on('removeSession', (x: SslSession) => {
      log.push(`lookup=${s.getSession(x.id) === undefined ? 'gone' : 'present'}`);
      log.push(`list=${s.sessions().length}`);
      log.push(`add=${s.addSession(spare)}`);
    });
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(r2.resumed).toBe(false);
    // at delivery time the expired session is gone and the new one is cached
    expect(log).toEqual(['lookup=gone', 'list=1', 'add=true']);
    expect(s.sessionCount).toBe(2);
    expect(s.getSession(spare.id)!.equals(spare)).toBe(true);
  });

  test('a throwing listener: handshake() rethrows its error, the cache is intact', () => {
    const c = client();
    const s = idServer();
    const boom = new Error('listener failed');
    s.on('newSession', () => {
      throw boom;
    });
    let caught: unknown;
    try {
      handshake(c, s);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(boom);
    // the session was cached by OpenSSL before the listener ran
    expect(s.sessionCount).toBe(1);
    const [cached] = s.sessions();
    s.removeAllListeners('newSession');
    const clientCopy = SslSession.fromDER(cached.toDER());
    // a 1.0.2 server session's DER is a valid client session to offer
    expect(handshake(c, s, { session: clientCopy }).resumed).toBe(true);
  });
});
