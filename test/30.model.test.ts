/**
 * Unit tests of the pure-TypeScript model of the OpenSSL 1.0.2h session cache, one per
 * line of docs/semantics.md that the model implements (and a few for
 * details read from ssl_sess.c, ssl_lib.c, s3_srvr.c, s3_clnt.c and lhash.c).
 */
import { CacheModel } from '../lib/model';
import {
  DEFAULT_CACHE_SIZE,
  DEFAULT_CONTEXT_TIMEOUT,
  ERR_HANDSHAKE_FAILED,
  ERR_INVALID_HANDLE,
  ERR_SESSION_ID_CONFLICT,
  ERR_SSL_FREED,
  METHOD_DEFAULT_TIMEOUT,
  Protocol,
  SSL_SESS_CACHE_NO_AUTO_CLEAR,
  SSL_SESS_CACHE_NO_INTERNAL_LOOKUP,
  SSL_SESS_CACHE_NO_INTERNAL_STORE,
  SSL_SESS_CACHE_OFF,
  SSL_SESS_CACHE_SERVER,
  SessionEvent,
  SessionHandle,
} from '../lib/model/session_cache';

/** An id whose first byte is `first` (it decides the hash bucket) and whose rest is `tag`. */
function idOf(first: number, tag = 0, length = 8): Buffer {
  const id = Buffer.alloc(length, tag);
  id[0] = first;
  return id;
}

function make(model: CacheModel, id: Buffer, time = 1000, timeout = 300, protocol: Protocol = 'TLSv1.2'): SessionHandle {
  return model.createSession({ id, protocol, time, timeout });
}

function makeCached(model: CacheModel, id: Buffer, time = 1000, timeout = 300): SessionHandle {
  const h = make(model, id, time, timeout);
  expect(model.add(h)).toBe(1);
  return h;
}

/** Takes the events, returns them, and gives the references they carried back. */
function drain(model: CacheModel): SessionEvent[] {
  const events = model.takeEvents();
  for (const e of events) model.freeSession(e.session);
  return events;
}

/** sessions() without keeping the references it hands out. */
function listOf(model: CacheModel): SessionHandle[] {
  const list = model.sessions();
  for (const h of list) model.freeSession(h);
  return list;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('objects and defaults', () => {
  test('SSL_CTX_new: cache mode SERVER, cache size 20480, timeout 300 s', () => {
    const model = new CacheModel();
    expect(model.getCacheMode()).toBe(SSL_SESS_CACHE_SERVER);
    expect(model.getCacheSize()).toBe(DEFAULT_CACHE_SIZE);
    expect(model.getCacheSize()).toBe(20480);
    expect(model.getTimeout()).toBe(DEFAULT_CONTEXT_TIMEOUT);
    expect(model.getTimeout()).toBe(300);
    expect(model.stats()).toEqual({
      number: 0, connect: 0, connectGood: 0, connectRenegotiate: 0, accept: 0, acceptGood: 0,
      acceptRenegotiate: 0, hits: 0, cbHits: 0, misses: 0, timeouts: 0, cacheFull: 0,
    });
  });

  test('SSL_SESSION_new: refcount 1, with the given time and timeout, resumable', () => {
    const model = new CacheModel();
    const h = model.createSession({ id: idOf(1), time: 1234, timeout: 56 });
    expect(h).toBe(1);
    expect(model.references(h)).toBe(1);
    expect(model.getSessionTime(h)).toBe(1234);
    expect(model.getSessionTimeout(h)).toBe(56);
    expect(model.getSessionProtocol(h)).toBe('TLSv1.2');
    expect(model.getSessionId(h)).toEqual(idOf(1));
    expect(model.resumable(h)).toBe(true);
    expect(model.createSession({ id: idOf(2), time: 0, timeout: 0 })).toBe(2);
  });

  test('cache key = ssl_version + id length + id bytes', () => {
    const model = new CacheModel();
    const tls12 = makeCached(model, idOf(1, 7));
    const tls1 = model.createSession({ id: idOf(1, 7), protocol: 'TLSv1', time: 1000, timeout: 300 });
    expect(model.add(tls1)).toBe(1); // same bytes, other version: another entry
    const shorter = makeCached(model, idOf(1, 7, 7)); // a prefix: another entry
    expect(model.count()).toBe(3);
    expect(drain(model)).toEqual([]);
    const got12 = model.get(idOf(1, 7), 'TLSv1.2');
    const got1 = model.get(idOf(1, 7), 'TLSv1');
    const got7 = model.get(idOf(1, 7, 7));
    expect([got12, got1, got7]).toEqual([tls12, tls1, shorter]);
    expect(model.get(idOf(1, 7), 'TLSv1.1')).toBeUndefined();
  });

  test('the hash reads the first 4 id bytes; shorter ids hash on the zeros that follow', () => {
    const model = new CacheModel();
    // 8 buckets while the table is small: bucket = id[0] % 8 (bytes 1-3 weigh multiples of 256).
    const a = makeCached(model, Buffer.from([0x03])); // hashes like 03 00 00 00
    const b = makeCached(model, Buffer.from([0x05, 0x00, 0x00, 0x00, 0xff])); // bucket 5
    const c = makeCached(model, Buffer.from([0x03, 0x00, 0x00, 0x00, 0x01])); // same hash as `a`
    const d = makeCached(model, Buffer.from([0x0b, 0x01])); // 0x10b % 8 = 3
    expect(model.flushOrder()).toEqual([b, a, c, d]);
  });
});

describe('SSL_CTX_add_session', () => {
  test('takes one reference, shared by the hash and the list', () => {
    const model = new CacheModel();
    const h = make(model, idOf(1));
    expect(model.add(h)).toBe(1);
    expect(model.references(h)).toBe(2);
    expect(model.count()).toBe(1);
    expect(listOf(model)).toEqual([h]);
    model.freeSession(h);
    expect(model.count()).toBe(1); // the cache's reference keeps it alive
  });

  test('the same object again: undoes its +1, returns 0, list order unchanged', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1));
    const b = makeCached(model, idOf(2));
    expect(listOf(model)).toEqual([b, a]);
    expect(model.add(a)).toBe(0);
    expect(model.references(a)).toBe(2);
    expect(listOf(model)).toEqual([b, a]);
    expect(drain(model)).toEqual([]);
  });

  test('same key, other object: the old one is dropped quietly, the new one goes to the head', () => {
    const model = new CacheModel();
    const old = makeCached(model, idOf(1));
    const other = makeCached(model, idOf(2));
    const twin = make(model, idOf(1));
    expect(model.add(twin)).toBe(1);
    expect(model.references(old)).toBe(1); // its cache reference was freed
    expect(model.resumable(old)).toBe(true); // not_resumable untouched
    expect(drain(model)).toEqual([]); // no remove callback
    expect(listOf(model)).toEqual([twin, other]);
    expect(model.count()).toBe(2);
  });

  test('a new entry goes to the head; while count > size the tail is evicted like a remove', () => {
    const model = new CacheModel({ cacheSize: 2 });
    const a = makeCached(model, idOf(1));
    const b = makeCached(model, idOf(2));
    const c = makeCached(model, idOf(3));
    expect(listOf(model)).toEqual([c, b]);
    expect(model.resumable(a)).toBe(false);
    expect(model.references(a)).toBe(2); // the caller's + the pending event's
    expect(model.takeEvents()).toEqual([{ type: 'remove', session: a }]);
    model.freeSession(a);
    expect(model.references(a)).toBe(1);
    expect(model.stats().cacheFull).toBe(1);
  });

  test('an empty id is refused on add (1.0.2 would stop evicting at it: remove_session_lock refuses it), so eviction goes on', () => {
    const model = new CacheModel();
    const empty = make(model, Buffer.alloc(0));
    expect(() => model.add(empty)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_ID_EMPTY' }));
    const a = makeCached(model, idOf(1));
    model.setCacheSize(1);
    const b = makeCached(model, idOf(2));
    expect(model.count()).toBe(1);
    expect(listOf(model)).toEqual([b]);
    expect(model.stats().cacheFull).toBe(1);
    expect(drain(model)).toEqual([{ type: 'remove', session: a }]);
  });

  test('lookups never move an entry: eviction is first-in first-out by insertion', () => {
    const model = new CacheModel({ cacheSize: 2 });
    const a = makeCached(model, idOf(1));
    const b = makeCached(model, idOf(2));
    model.freeSession(model.get(idOf(1)) as SessionHandle);
    const resumed = model.handshake({ offered: a, now: 1000 });
    expect(resumed.resumed).toBe(true);
    model.freeSession(resumed.session);
    expect(listOf(model)).toEqual([b, a]);
    makeCached(model, idOf(3));
    expect(drain(model)).toEqual([{ type: 'remove', session: a }]);
  });

  test('no check of time/timeout nor of id length on add', () => {
    const model = new CacheModel();
    const expired = make(model, idOf(1), 0, 0);
    expect(model.add(expired)).toBe(1);
    const empty = make(model, Buffer.alloc(0));
    expect(() => model.add(empty)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_ID_EMPTY' })); // the binding's one check
    expect(model.count()).toBe(1);
  });

  test('SSL_CTX_sess_set_cache_size returns the old size and evicts nothing until the next add; 0 = unlimited', () => {
    const model = new CacheModel();
    for (let i = 0; i < 5; i++) makeCached(model, idOf(i));
    expect(model.setCacheSize(2)).toBe(20480);
    expect(model.count()).toBe(5);
    expect(drain(model)).toEqual([]);
    makeCached(model, idOf(9));
    expect(model.count()).toBe(2);
    expect(drain(model).map((e) => e.session)).toEqual([1, 2, 3, 4]);
    expect(model.stats().cacheFull).toBe(4);
    expect(model.setCacheSize(0)).toBe(2);
    for (let i = 10; i < 20; i++) makeCached(model, idOf(i));
    expect(model.count()).toBe(12);
    expect(model.setCacheSize(-1)).toBe(0); // negative: not > 0, unlimited as well
    makeCached(model, idOf(20));
    expect(model.count()).toBe(13);
  });
});

describe('SSL_CTX_remove_session', () => {
  test('the identical cached object: returns 1, not_resumable, remove event, cache reference freed', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1));
    expect(model.remove(a)).toBe(1);
    expect(model.resumable(a)).toBe(false);
    expect(model.count()).toBe(0);
    expect(model.references(a)).toBe(2); // caller + pending event
    expect(model.takeEvents()).toEqual([{ type: 'remove', session: a }]);
    expect(model.references(a)).toBe(2); // both now the caller's
    model.freeSession(a);
    expect(model.references(a)).toBe(1);
  });

  test('anything else returns 0 and changes nothing', () => {
    const model = new CacheModel();
    const notCached = make(model, idOf(1));
    expect(model.remove(notCached)).toBe(0);
    const cached = makeCached(model, idOf(2));
    const twin = make(model, idOf(2));
    expect(model.remove(twin)).toBe(0); // same key, other object
    const empty = make(model, Buffer.alloc(0)); // cannot be cached (add refuses it)
    expect(model.remove(empty)).toBe(0); // empty id
    expect(model.count()).toBe(1);
    expect([notCached, twin, cached, empty].map((h) => model.resumable(h))).toEqual([true, true, true, true]);
    expect(drain(model)).toEqual([]);
  });
});

describe('SSL_CTX_flush_sessions', () => {
  test('removes t == 0 || t > time + timeout (equal is kept), each like a remove', () => {
    const model = new CacheModel();
    const early = makeCached(model, idOf(1), 1000, 100); // expires after 1100
    const equal = makeCached(model, idOf(2), 1000, 101); // 1101: kept at t = 1101
    const later = makeCached(model, idOf(3), 1000, 500);
    model.flush(1101);
    expect(drain(model)).toEqual([{ type: 'remove', session: early }]);
    expect(model.resumable(early)).toBe(false);
    expect(model.references(early)).toBe(1);
    expect(listOf(model)).toEqual([later, equal]);
    model.flush(0); // SSL_CTX_free's flush: everything
    expect(model.count()).toBe(0);
    expect(drain(model).map((e) => e.session).sort()).toEqual([equal, later].sort());
  });

  test('the walk is lh_doall order: buckets from the top down, each chain in insertion order', () => {
    const model = new CacheModel();
    const handles = new Map<number, SessionHandle>();
    for (const first of [0x10, 0x01, 0x07, 0x00, 0x11, 0x0f, 0x04, 0x08]) handles.set(first, makeCached(model, idOf(first)));
    const byFirst = (...firsts: number[]) => firsts.map((f) => handles.get(f));
    // buckets (first byte % 8): 7 [07 0f], 4 [04], 1 [01 11], 0 [10 00 08]
    const expected = byFirst(0x07, 0x0f, 0x04, 0x01, 0x11, 0x10, 0x00, 0x08);
    expect(model.flushOrder()).toEqual(expected);
    model.flush(0);
    expect(drain(model).map((e) => e.session)).toEqual(expected);
    // not list order (newest first) ...
    expect(expected).not.toEqual(byFirst(0x08, 0x04, 0x0f, 0x11, 0x00, 0x07, 0x01, 0x10));
  });

  test('growing the table splits bucket p and reverses the nodes it moves', () => {
    const model = new CacheModel();
    // 16 sessions in bucket 0 (first byte a multiple of 8) fill the 8-bucket table to load 2.
    const zero: SessionHandle[] = [];
    for (let i = 0; i < 16; i++) zero.push(makeCached(model, idOf(8 * i)));
    // The 17th insert first expands: bucket 0 splits by hash % 16 into 0 and 8.
    const one = makeCached(model, idOf(1));
    const moved = zero.filter((_, i) => i % 2 === 1).reverse(); // first bytes 8, 24, ... 120, reversed
    const stayed = zero.filter((_, i) => i % 2 === 0);
    expect(model.flushOrder()).toEqual([...moved, one, ...stayed]);
    model.flush(0);
    expect(drain(model).map((e) => e.session)).toEqual([...moved, one, ...stayed]);
  });

  test('an add that only replaces (or re-adds) still grows the table, and the replacement keeps its node', () => {
    const model = new CacheModel();
    const first: SessionHandle[] = [];
    for (let i = 0; i < 16; i++) first.push(makeCached(model, idOf(8 * i)));
    // same key as first[1] (first byte 8): replaces it in place, yet lh_insert expands first
    const twin = make(model, idOf(8));
    expect(model.add(twin)).toBe(1);
    const inBucket8 = [twin, ...first.filter((_, i) => i % 2 === 1 && i !== 1)].reverse();
    const inBucket0 = first.filter((_, i) => i % 2 === 0);
    expect(model.flushOrder()).toEqual([...inBucket8, ...inBucket0]);
    // re-adding a cached object (returns 0) also runs the expand check: load is now 16/9 — no change
    expect(model.add(first[0])).toBe(0);
    expect(model.flushOrder()).toEqual([...inBucket8, ...inBucket0]);
  });

  test('ssl_update_cache flushes with time now inside the 256th, 512th, ... handshake, after its new event', () => {
    const model = new CacheModel();
    const old = makeCached(model, idOf(1), 1000, 10);
    for (let i = 1; i < 256; i++) model.freeSession(model.handshake({ now: 1000 }).session);
    expect(model.stats().acceptGood).toBe(255);
    drain(model);
    expect(model.resumable(old)).toBe(true);
    const hs = model.handshake({ now: 1011 }); // the 256th: accept_good is 255 inside it
    expect(model.stats().acceptGood).toBe(256);
    const events = drain(model);
    expect(events[0]).toEqual({ type: 'new', session: hs.session });
    expect(events.slice(1).map((e) => e.session)).toEqual([old]); // only `old` expired by 1011
    expect(model.resumable(old)).toBe(false);
    // the 512th is a resumption: it flushes too
    model.setTimeout(1);
    for (let i = 257; i < 512; i++) model.freeSession(model.handshake({ now: 1011 }).session);
    drain(model);
    const before = model.count();
    const resumed = model.handshake({ offered: hs.session, now: 1100 });
    expect(resumed.resumed).toBe(true);
    expect(model.count()).toBe(before - 255); // the 255 one-second sessions expired by 1100
    expect(drain(model).every((e) => e.type === 'remove')).toBe(true);
  });

  test('no automatic flush with NO_AUTO_CLEAR, nor when the mode lacks SERVER', () => {
    for (const mode of [SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_AUTO_CLEAR, SSL_SESS_CACHE_OFF]) {
      const model = new CacheModel({ mode });
      const old = makeCached(model, idOf(1), 1000, 10);
      for (let i = 0; i < 300; i++) model.freeSession(model.handshake({ now: 5000 }).session);
      expect(model.resumable(old)).toBe(true);
      expect(drain(model).filter((e) => e.type === 'remove')).toEqual([]);
    }
  });
});

describe('resumption on the server (ssl_get_prev_session)', () => {
  test('an empty session id is not looked up and counts no miss', () => {
    const model = new CacheModel();
    const empty = make(model, Buffer.alloc(0));
    const r = model.handshake({ offered: empty, now: 1000 });
    expect(r.resumed).toBe(false);
    expect(model.stats()).toMatchObject({ hits: 0, misses: 0, accept: 1, acceptGood: 1 });
  });

  test('the client does not offer a session that is not resumable', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1));
    model.remove(a);
    drain(model);
    expect(model.add(a)).toBe(1); // cached again, but still not_resumable
    const r = model.handshake({ offered: a, now: 1000 });
    expect(r.resumed).toBe(false);
    expect(model.stats()).toMatchObject({ hits: 0, misses: 0 });
  });

  test('NO_INTERNAL_LOOKUP: no lookup, no miss, a full handshake', () => {
    const model = new CacheModel({ mode: SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL_LOOKUP });
    const a = makeCached(model, idOf(1));
    const r = model.handshake({ offered: a, now: 1000 });
    expect(r.resumed).toBe(false);
    expect(model.stats()).toMatchObject({ hits: 0, misses: 0, number: 2 });
  });

  test('hit: hits += 1, the handshake resumes the cached object, no events', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1));
    const r = model.handshake({ offered: a, now: 1000 });
    expect(r).toEqual({ resumed: true, session: a });
    expect(model.references(a)).toBe(3); // cache + two caller references
    expect(model.stats()).toMatchObject({ hits: 1, misses: 0, timeouts: 0, accept: 1, acceptGood: 1, number: 1 });
    expect(model.takeEvents()).toEqual([]);
  });

  test('miss: misses += 1, full handshake', () => {
    const model = new CacheModel();
    const a = make(model, idOf(1));
    const r = model.handshake({ offered: a, now: 1000 });
    expect(r.resumed).toBe(false);
    expect(r.session).not.toBe(a);
    expect(model.stats()).toMatchObject({ hits: 0, misses: 1, timeouts: 0 });
  });

  test('expired (timeout < now - time): timeouts += 1, removed with a remove event, full handshake', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1), 1000, 100);
    const atLimit = model.handshake({ offered: a, now: 1100 }); // 100 < 100 is false: resumes
    expect(atLimit.resumed).toBe(true);
    const r = model.handshake({ offered: a, now: 1101 });
    expect(r.resumed).toBe(false);
    expect(model.stats()).toMatchObject({ hits: 1, timeouts: 1, misses: 0 });
    expect(model.resumable(a)).toBe(false);
    expect(model.takeEvents()).toEqual([
      { type: 'remove', session: a },
      { type: 'new', session: r.session },
    ]);
  });

  test('offering one object while another with its key is cached is outside the contract', () => {
    const model = new CacheModel();
    makeCached(model, idOf(1));
    const twin = make(model, idOf(1));
    expect(() => model.handshake({ offered: twin, now: 1000 })).toThrow(RangeError);
    expect(model.stats().accept).toBe(0);
  });
});

describe('new sessions (ssl_get_new_session, ssl_update_cache)', () => {
  test('a full handshake caches its session at the head and calls the new-session callback (+1)', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1));
    const id = Buffer.alloc(32, 0xab);
    const r = model.handshake({ now: 4242, id });
    expect(r.resumed).toBe(false);
    expect(r.session).toBe(a + 1);
    expect(model.getSessionId(r.session)).toEqual(id);
    expect(model.getSessionProtocol(r.session)).toBe('TLSv1.2');
    expect(model.getSessionTime(r.session)).toBe(4242);
    expect(model.getSessionTimeout(r.session)).toBe(300);
    expect(model.references(r.session)).toBe(3); // cache + event + caller
    expect(listOf(model)).toEqual([r.session, a]);
    expect(model.takeEvents()).toEqual([{ type: 'new', session: r.session }]);
  });

  test('SSL_CTX_set_timeout sets the timeout of later sessions; 0 means the method default (7200)', () => {
    const model = new CacheModel({ timeout: 60 });
    const a = model.handshake({ now: 1000 }).session;
    expect(model.setTimeout(0)).toBe(60);
    const b = model.handshake({ now: 1000 }).session;
    expect(model.getSessionTimeout(a)).toBe(60);
    expect(model.getSessionTimeout(b)).toBe(METHOD_DEFAULT_TIMEOUT);
  });

  test('the server negotiates the offered session protocol', () => {
    const model = new CacheModel();
    const old = make(model, idOf(1), 1000, 300, 'TLSv1');
    const r = model.handshake({ offered: old, now: 1000 });
    expect(model.getSessionProtocol(r.session)).toBe('TLSv1');
    expect(model.get(model.getSessionId(r.session), 'TLSv1')).toBe(r.session);
    expect(() => model.handshake({ offered: make(model, idOf(2), 1000, 300, 'DTLSv1'), now: 1000 })).toThrow(RangeError);
  });

  test('NO_INTERNAL_STORE: the session is not cached but the new-session callback still runs', () => {
    const model = new CacheModel({ mode: SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL_STORE });
    const r = model.handshake({ now: 1000 });
    expect(model.count()).toBe(0);
    expect(model.references(r.session)).toBe(2);
    expect(model.takeEvents()).toEqual([{ type: 'new', session: r.session }]);
  });

  test('without SERVER in the mode: empty (single-use) id, not cached, no callback; lookups still happen', () => {
    const model = new CacheModel({ mode: SSL_SESS_CACHE_OFF });
    const r = model.handshake({ now: 1000, id: Buffer.alloc(32, 1) });
    expect(model.getSessionId(r.session).length).toBe(0);
    expect(model.count()).toBe(0);
    expect(model.references(r.session)).toBe(1);
    expect(model.takeEvents()).toEqual([]);
    const stray = make(model, idOf(5));
    model.handshake({ offered: stray, now: 1000 });
    expect(model.stats().misses).toBe(1);
    const manual = makeCached(model, idOf(6));
    expect(model.handshake({ offered: manual, now: 1000 }).resumed).toBe(true);
  });

  test('cache off: the id a handshake generates is cut to nothing, and such a session cannot be added', () => {
    const model = new CacheModel({ mode: SSL_SESS_CACHE_OFF });
    const s = model.handshake({ now: 1000, id: idOf(5, 0, 32) }).session;
    expect(model.getSessionId(s).length).toBe(0); // cache off: the id is cut to nothing
    expect(() => model.add(s)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_ID_EMPTY' })); // so it cannot be cached
    const z = makeCached(model, Buffer.from([0x01, 0x02, 0x03, 0x04]));
    expect(model.flushOrder()).toEqual([z]);
    expect(model.get(Buffer.alloc(0))).toBeUndefined(); // a zeroed empty key hashes to bucket 0
  });

  test('a resumed handshake stores nothing and calls no callback', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1));
    model.handshake({ offered: a, now: 1000 });
    expect(model.count()).toBe(1);
    expect(model.takeEvents()).toEqual([]);
  });

  test('one handshake reports expiry, evictions and the new session in that order', () => {
    const model = new CacheModel();
    const x = makeCached(model, idOf(1));
    makeCached(model, idOf(2));
    const c = makeCached(model, idOf(3));
    model.setCacheSize(2); // nothing evicted yet
    model.setSessionTime(c, 0);
    model.setSessionTimeout(c, 1);
    const r = model.handshake({ offered: c, now: 1000 });
    expect(r.resumed).toBe(false);
    expect(model.takeEvents()).toEqual([
      { type: 'remove', session: c }, // expired on lookup
      { type: 'remove', session: x }, // evicted by the add of the new session
      { type: 'new', session: r.session },
    ]);
    expect(model.stats()).toMatchObject({ timeouts: 1, cacheFull: 1, number: 2 });
  });

  test('an id already cached: SSL_R_SSL_SESSION_ID_CONFLICT, accept counted, no handle', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1, 1, 32));
    expect(codeOf(() => model.handshake({ now: 1000, id: idOf(1, 1, 32) }))).toBe(ERR_SESSION_ID_CONFLICT);
    expect(model.stats()).toMatchObject({ accept: 1, acceptGood: 0 });
    expect(model.createSession({ id: idOf(2), time: 0, timeout: 0 })).toBe(a + 1);
  });

  test('the server echoing the offered id in a full handshake: the client aborts', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1, 1, 32), 0, 1);
    expect(codeOf(() => model.handshake({ offered: a, now: 1000, id: idOf(1, 1, 32) }))).toBe(ERR_HANDSHAKE_FAILED);
    expect(model.stats()).toMatchObject({ accept: 1, acceptGood: 0, timeouts: 1, number: 0 });
    expect(drain(model)).toEqual([{ type: 'remove', session: a }]);
  });

  test('without an id the model picks a fresh 32-byte one', () => {
    const model = new CacheModel();
    const a = model.handshake({ now: 1000 }).session;
    const b = model.handshake({ now: 1000 }).session;
    expect(model.getSessionId(a).length).toBe(32);
    expect(model.getSessionId(a).equals(model.getSessionId(b))).toBe(false);
  });
});

describe('counters', () => {
  test('accept and accept_good count server handshakes; connect counters stay 0 on a server', () => {
    const model = new CacheModel();
    const r = model.handshake({ now: 1000 });
    model.handshake({ offered: r.session, now: 1000 });
    expect(model.stats()).toMatchObject({
      accept: 2, acceptGood: 2, acceptRenegotiate: 0, connect: 0, connectGood: 0, connectRenegotiate: 0,
      hits: 1, misses: 0, cbHits: 0, number: 1,
    });
  });
});

describe('references and handles', () => {
  test('SSL_SESSION_free drops a reference; a freed session may not be used again', () => {
    const model = new CacheModel();
    const a = make(model, idOf(1));
    model.freeSession(a);
    expect(codeOf(() => model.references(a))).toBe(ERR_SSL_FREED);
    expect(codeOf(() => model.add(a))).toBe(ERR_SSL_FREED);
    expect(codeOf(() => model.freeSession(a))).toBe(ERR_SSL_FREED);
    expect(codeOf(() => model.references(99))).toBe(ERR_INVALID_HANDLE);
  });

  test('a cached session the caller let go is off limits until get or sessions hands it back', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1));
    model.freeSession(a);
    expect(codeOf(() => model.remove(a))).toBe(ERR_SSL_FREED);
    expect(model.get(idOf(1))).toBe(a);
    expect(model.references(a)).toBe(2);
    expect(model.sessions()).toEqual([a]);
    expect(model.references(a)).toBe(3);
  });

  test('events hold a reference until taken, then the caller owns it', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1));
    model.freeSession(a);
    model.flush(0);
    expect(codeOf(() => model.references(a))).toBe(ERR_SSL_FREED); // alive only in the event
    expect(model.takeEvents()).toEqual([{ type: 'remove', session: a }]);
    expect(model.references(a)).toBe(1);
    model.freeSession(a);
    expect(codeOf(() => model.references(a))).toBe(ERR_SSL_FREED);
    expect(model.takeEvents()).toEqual([]);
  });

  test('get: a new reference, no counters, no reordering; misses give undefined', () => {
    const model = new CacheModel();
    const a = makeCached(model, idOf(1));
    const b = makeCached(model, idOf(2));
    expect(model.get(idOf(1))).toBe(a);
    expect(model.references(a)).toBe(3);
    expect(model.get(idOf(3))).toBeUndefined();
    expect(listOf(model)).toEqual([b, a]);
    expect(model.stats()).toMatchObject({ hits: 0, misses: 0 });
  });

  test('sessions(): newest first, one new reference each', () => {
    const model = new CacheModel();
    const hs = [1, 2, 3].map((i) => makeCached(model, idOf(i)));
    expect(model.sessions()).toEqual([...hs].reverse());
    expect(hs.map((h) => model.references(h))).toEqual([3, 3, 3]);
  });

  test('ids are 0-32 bytes, protocols are known names, numbers are safe integers', () => {
    const model = new CacheModel();
    expect(() => make(model, Buffer.alloc(33))).toThrow(RangeError);
    expect(() => model.get(Buffer.alloc(33))).toThrow(RangeError);
    expect(() => model.createSession({ id: idOf(1), protocol: 'TLSv9' as Protocol, time: 0, timeout: 0 })).toThrow(RangeError);
    expect(() => model.flush(1.5)).toThrow(TypeError);
    expect(() => model.handshake({ now: 1000, id: Buffer.alloc(0) })).toThrow(RangeError);
  });

  test('random operation sequences keep references, hash and list consistent', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * n);
    };
    const model = new CacheModel({ cacheSize: 12 });
    const held: SessionHandle[] = [];
    for (let step = 0; step < 3000; step++) {
      const pick = (): SessionHandle => held[rand(held.length)];
      const op = held.length === 0 ? 0 : rand(9);
      const id = idOf(rand(40), rand(3), 4 + rand(3));
      if (op === 0) held.push(make(model, id, 900 + rand(200), rand(200)));
      else if (op === 1) model.add(pick());
      else if (op === 2) model.remove(pick());
      else if (op === 3) model.flush(rand(4) === 0 ? 0 : 900 + rand(400));
      else if (op === 4) {
        const i = rand(held.length);
        model.freeSession(held[i]);
        held.splice(i, 1);
      } else if (op === 5) {
        const g = model.get(id);
        if (g !== undefined) held.push(g);
      } else if (op === 6) {
        try {
          held.push(model.handshake({ offered: rand(2) ? pick() : undefined, now: 900 + rand(400), id: idOf(rand(40), 9, 32) }).session);
        } catch (e) {
          if (!(e instanceof RangeError) && (e as { code?: string }).code === undefined) throw e;
        }
      } else if (op === 7) model.setCacheSize(rand(16));
      else for (const e of model.takeEvents()) held.push(e.session);
      model.checkInvariants();
    }
    for (const h of held) expect(model.references(h)).toBeGreaterThan(0);
    for (const e of model.takeEvents()) held.push(e.session);
    for (const h of held) model.freeSession(h);
    model.flush(0);
    drain(model);
    model.checkInvariants();
    expect(model.count()).toBe(0);
  });
});
