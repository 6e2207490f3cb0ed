// SSL_CTX_add_session / SSL_CTX_remove_session, the man page sentence by sentence,
// and the lines of docs/semantics.md about them.
import { SessionCacheMode, SslContext, SslSession, raw } from '../lib';
import { listIds, listTimes, newId, recordRemovals } from './helpers/util';

let ctx: SslContext;
beforeEach(() => {
  ctx = new SslContext();
});
afterEach(() => {
  if (!ctx.freed) ctx.free();
});

describe('SSL_CTX_add_session() adds the session c to the context ctx', () => {
  test('returns true (1) and the session is in the cache', () => {
    const s = SslSession.create({ id: newId() });
    expect(ctx.addSession(s)).toBe(true);
    expect(ctx.sessionCount).toBe(1);
    const g = ctx.getSession(s.id)!;
    expect(g).toBeDefined();
    expect(g.equals(s)).toBe(true);
    g.free();
    s.free();
  });

  test('"The reference count for session c is incremented by 1"', () => {
    const s = SslSession.create({ id: newId() });
    expect(s.references).toBe(1);
    ctx.addSession(s);
    expect(s.references).toBe(2);
    s.free();
  });

  test('new sessions go to the head of the list', () => {
    const a = SslSession.create({ id: newId() });
    const b = SslSession.create({ id: newId() });
    const c = SslSession.create({ id: newId() });
    ctx.addSession(a);
    ctx.addSession(b);
    ctx.addSession(c);
    expect(listIds(ctx)).toEqual([c, b, a].map((s) => s.id.toString('hex')));
    [a, b, c].forEach((s) => s.free());
  });

  test('no check of time/timeout: an expired session is added', () => {
    const s = SslSession.create({ id: newId(), time: 1000, timeout: 1 });
    expect(ctx.addSession(s)).toBe(true);
    expect(ctx.sessionCount).toBe(1);
    s.free();
  });

  test('the cache mode does not matter to SSL_CTX_add_session: OFF still adds', () => {
    ctx.sessionCacheMode = SessionCacheMode.OFF;
    const s = SslSession.create({ id: newId() });
    expect(ctx.addSession(s)).toBe(true);
    expect(ctx.sessionCount).toBe(1);
    s.free();
  });

  test('NO_INTERNAL_STORE does not stop addSession ("the application can use SSL_CTX_add_session() directly")', () => {
    const c2 = new SslContext({
      sessionCacheMode: SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL_STORE,
    });
    const s = SslSession.create({ id: newId() });
    expect(c2.addSession(s)).toBe(true);
    expect(c2.sessionCount).toBe(1);
    expect(s.references).toBe(2);
    const g = c2.getSession(s.id)!;
    expect(g.equals(s)).toBe(true);
    g.free();
    c2.free();
    s.free();
  });

  test('NO_INTERNAL (no lookup, no store) does not stop addSession either', () => {
    ctx.sessionCacheMode = SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL;
    const s = SslSession.create({ id: newId() });
    expect(ctx.addSession(s)).toBe(true);
    expect(ctx.sessionCount).toBe(1);
    s.free();
  });
});

describe('"If the session is actually identical (the SSL_SESSION object is identical), SSL_CTX_add_session() is a no-op, and the return value is 0"', () => {
  test('second add of the same object → false', () => {
    const s = SslSession.create({ id: newId() });
    expect(ctx.addSession(s)).toBe(true);
    expect(ctx.addSession(s)).toBe(false);
    s.free();
  });

  test('the +1 is undone: references unchanged, count unchanged', () => {
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    expect(s.references).toBe(2);
    ctx.addSession(s);
    expect(s.references).toBe(2);
    expect(ctx.sessionCount).toBe(1);
    s.free();
  });

  test('list order unchanged (the re-added object is not moved to the head)', () => {
    const a = SslSession.create({ id: newId() });
    const b = SslSession.create({ id: newId() });
    const c = SslSession.create({ id: newId() });
    ctx.addSession(a);
    ctx.addSession(b);
    ctx.addSession(c);
    const before = listIds(ctx);
    expect(ctx.addSession(a)).toBe(false);
    expect(listIds(ctx)).toEqual(before);
    expect(listIds(ctx)[2]).toBe(a.id.toString('hex'));
    [a, b, c].forEach((s) => s.free());
  });

  test('a JS object obtained from the cache is the identical SSL_SESSION: add → false', () => {
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    const g = ctx.getSession(s.id)!;
    const r = g.references;
    expect(ctx.addSession(g)).toBe(false);
    expect(g.references).toBe(r);
    expect(ctx.sessionCount).toBe(1);
    g.free();
    s.free();
  });

  test('no remove event, resumable untouched', () => {
    const rec = recordRemovals(ctx);
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    ctx.addSession(s);
    expect(rec.removed.length).toBe(0);
    expect(s.resumable).toBe(true);
    s.free();
  });
});

describe('"If the same session is stored in a different SSL_SESSION object, the old session is removed and replaced by the new session"', () => {
  function pair() {
    const id = newId();
    const old = SslSession.create({ id, time: 1111, timeout: 300 });
    const neu = SslSession.create({ id, time: 2222, timeout: 300 });
    return { id, old, neu };
  }

  test('returns true (1)', () => {
    const { old, neu } = pair();
    ctx.addSession(old);
    expect(ctx.addSession(neu)).toBe(true);
    old.free();
    neu.free();
  });

  test('the old one is out of the cache, the new one is in it', () => {
    const { id, old, neu } = pair();
    ctx.addSession(old);
    ctx.addSession(neu);
    expect(ctx.sessionCount).toBe(1);
    const g = ctx.getSession(id)!;
    expect(g.time).toBe(2222);
    expect(g.equals(neu)).toBe(true);
    g.free();
    // the old object is really out: removing it reports "not found"
    expect(ctx.removeSession(old)).toBe(false);
    old.free();
    neu.free();
  });

  test('"the old session is removed by calling SSL_SESSION_free": one reference less; the new one +1', () => {
    const { old, neu } = pair();
    ctx.addSession(old);
    expect(old.references).toBe(2);
    ctx.addSession(neu);
    expect(old.references).toBe(1);
    expect(neu.references).toBe(2);
    old.free();
    neu.free();
  });

  test('no remove callback: no removeSession event', () => {
    const rec = recordRemovals(ctx);
    const { old, neu } = pair();
    ctx.addSession(old);
    ctx.addSession(neu);
    expect(rec.removed.length).toBe(0);
    old.free();
    neu.free();
  });

  test('the old one keeps its not_resumable untouched (still resumable)', () => {
    const { old, neu } = pair();
    ctx.addSession(old);
    ctx.addSession(neu);
    expect(old.resumable).toBe(true);
    expect(neu.resumable).toBe(true);
    old.free();
    neu.free();
  });

  test('the new one goes to the head of the list; the old one leaves its place', () => {
    const { old, neu } = pair();
    const x = SslSession.create({ id: newId(), time: 3333 });
    const y = SslSession.create({ id: newId(), time: 4444 });
    ctx.addSession(old); // list: old
    ctx.addSession(x); // list: x old
    ctx.addSession(y); // list: y x old
    expect(listTimes(ctx)).toEqual([4444, 3333, 1111]);
    ctx.addSession(neu); // list: neu y x
    expect(listTimes(ctx)).toEqual([2222, 4444, 3333]);
    [old, neu, x, y].forEach((s) => s.free());
  });

  test('no cacheFull counted for a replacement', () => {
    const { old, neu } = pair();
    ctx.addSession(old);
    ctx.addSession(neu);
    expect(ctx.stats.cacheFull).toBe(0);
    old.free();
    neu.free();
  });
});

describe('the cache key is protocol version + id (ssl_session_cmp)', () => {
  test("same id bytes under 'TLSv1.1' and 'TLSv1.2' are two entries", () => {
    const id = newId();
    const a = SslSession.create({ id, protocol: 'TLSv1.1' });
    const b = SslSession.create({ id, protocol: 'TLSv1.2' });
    expect(ctx.addSession(a)).toBe(true);
    expect(ctx.addSession(b)).toBe(true);
    expect(ctx.sessionCount).toBe(2);
    expect(a.references).toBe(2); // a was not replaced
    const ga = ctx.getSession(id, 'TLSv1.1')!;
    const gb = ctx.getSession(id, 'TLSv1.2')!;
    expect(ga.equals(a)).toBe(true);
    expect(gb.equals(b)).toBe(true);
    expect(ga.protocol).toBe('TLSv1.1');
    expect(gb.protocol).toBe('TLSv1.2');
    // the live objects themselves, not copies: nothing to free
    // removing one leaves the other
    expect(ctx.removeSession(a)).toBe(true);
    expect(ctx.sessionCount).toBe(1);
    const g2 = ctx.getSession(id, 'TLSv1.2')!;
    expect(g2).toBe(b);
    expect(ctx.getSession(id, 'TLSv1.1')).toBeUndefined();
    a.free();
    b.free();
  });

  test('same prefix but different id length are different keys', () => {
    const long = newId(16);
    const short = Buffer.from(long.subarray(0, 8));
    const a = SslSession.create({ id: long });
    const b = SslSession.create({ id: short });
    expect(ctx.addSession(a)).toBe(true);
    expect(ctx.addSession(b)).toBe(true);
    expect(ctx.sessionCount).toBe(2);
    a.free();
    b.free();
  });
});

describe('SSL_CTX_remove_session() removes the session c from the context ctx', () => {
  test('returns true, then false ("the session was not found in the cache")', () => {
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    expect(ctx.removeSession(s)).toBe(true);
    expect(ctx.sessionCount).toBe(0);
    expect(ctx.getSession(s.id)).toBeUndefined();
    expect(ctx.removeSession(s)).toBe(false);
    s.free();
  });

  test('"SSL_SESSION_free(3) is called once for c": references back to 1', () => {
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    expect(s.references).toBe(2);
    ctx.removeSession(s);
    expect(s.references).toBe(1);
    ctx.removeSession(s);
    expect(s.references).toBe(1);
    s.free();
  });

  test('sets not_resumable: resumable becomes false', () => {
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    expect(s.resumable).toBe(true);
    ctx.removeSession(s);
    expect(s.resumable).toBe(false);
    s.free();
  });

  test('emits exactly one removeSession event carrying that session', () => {
    const rec = recordRemovals(ctx);
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    ctx.removeSession(s);
    expect(rec.removed.length).toBe(1);
    expect(rec.removed[0].equals(s)).toBe(true);
    expect(rec.removed[0].id.equals(s.id)).toBe(true);
    expect(rec.removed[0].resumable).toBe(false);
    // the second (failing) remove emits nothing
    ctx.removeSession(s);
    expect(rec.removed.length).toBe(1);
    rec.freeAll();
    s.free();
  });

  test('the event carries the live object: no extra reference', () => {
    let ev: SslSession | undefined;
    ctx.on('removeSession', (x: SslSession) => {
      ev = x;
    });
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    ctx.removeSession(s);
    expect(ev).toBe(s);
    expect(s.references).toBe(1); // s alone; the cache's is gone, the event's was dropped
    s.free();
  });

  test('an event for a session without a live object holds its own reference, released by its free()', () => {
    let ev: SslSession | undefined;
    ctx.on('removeSession', (x: SslSession) => {
      ev = x;
    });
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    const sid = s.id;
    s.free();
    ctx.removeSession(ctx.getSession(sid)!);
    expect(ev).toBeDefined();
    expect(ev!.references).toBe(1); // the event object's own (the lookup object is the same one)
    ev!.free();
    expect(ev!.freed).toBe(true);
  });

  test('removing a middle entry keeps the order of the others', () => {
    const a = SslSession.create({ id: newId() });
    const b = SslSession.create({ id: newId() });
    const c = SslSession.create({ id: newId() });
    [a, b, c].forEach((s) => ctx.addSession(s));
    expect(ctx.removeSession(b)).toBe(true);
    expect(listIds(ctx)).toEqual([c, a].map((s) => s.id.toString('hex')));
    [a, b, c].forEach((s) => s.free());
  });

  test('a removed session can be added again: true, back at the head, +1', () => {
    const a = SslSession.create({ id: newId() });
    const b = SslSession.create({ id: newId() });
    ctx.addSession(a);
    ctx.addSession(b);
    ctx.removeSession(a);
    expect(ctx.addSession(a)).toBe(true);
    expect(a.references).toBe(2);
    expect(listIds(ctx)).toEqual([a, b].map((s) => s.id.toString('hex')));
    a.free();
    b.free();
  });

  test('remove of a session that was never cached → false, nothing changed', () => {
    const rec = recordRemovals(ctx);
    const cached = SslSession.create({ id: newId() });
    const other = SslSession.create({ id: newId() });
    ctx.addSession(cached);
    expect(ctx.removeSession(other)).toBe(false);
    expect(ctx.sessionCount).toBe(1);
    expect(other.references).toBe(1);
    expect(other.resumable).toBe(true);
    expect(cached.references).toBe(2);
    expect(rec.removed.length).toBe(0);
    cached.free();
    other.free();
  });

  test('remove of ANOTHER object with the same key → false, the cached one stays', () => {
    const rec = recordRemovals(ctx);
    const id = newId();
    const cached = SslSession.create({ id });
    const twin = SslSession.create({ id });
    ctx.addSession(cached);
    expect(ctx.removeSession(twin)).toBe(false);
    expect(ctx.sessionCount).toBe(1);
    expect(cached.references).toBe(2);
    expect(cached.resumable).toBe(true);
    expect(twin.references).toBe(1);
    expect(twin.resumable).toBe(true);
    expect(rec.removed.length).toBe(0);
    const g = ctx.getSession(id)!;
    expect(g.equals(cached)).toBe(true);
    g.free();
    cached.free();
    twin.free();
  });

  test('remove with the same id under another protocol → false', () => {
    const id = newId();
    const cached = SslSession.create({ id, protocol: 'TLSv1.2' });
    const other = SslSession.create({ id, protocol: 'TLSv1' });
    ctx.addSession(cached);
    expect(ctx.removeSession(other)).toBe(false);
    expect(ctx.sessionCount).toBe(1);
    cached.free();
    other.free();
  });
});

describe('"SSL_add_session() and SSL_remove_session() are synonyms for their SSL_CTX_*() counterparts"', () => {
  test('raw.SSL_CTX_add_session / SSL_CTX_remove_session return 1 then 0', () => {
    const s = SslSession.create({ id: newId() });
    expect(raw.SSL_CTX_add_session(ctx, s)).toBe(1);
    expect(raw.SSL_CTX_add_session(ctx, s)).toBe(0);
    expect(raw.SSL_CTX_sess_number(ctx)).toBe(1);
    expect(raw.SSL_CTX_remove_session(ctx, s)).toBe(1);
    expect(raw.SSL_CTX_remove_session(ctx, s)).toBe(0);
    expect(raw.SSL_CTX_sess_number(ctx)).toBe(0);
    s.free();
  });

  test('raw.SSL_add_session / SSL_remove_session return the same integers', () => {
    const s = SslSession.create({ id: newId() });
    expect(raw.SSL_add_session(ctx, s)).toBe(1);
    expect(s.references).toBe(2);
    expect(raw.SSL_add_session(ctx, s)).toBe(0);
    expect(s.references).toBe(2);
    expect(raw.SSL_remove_session(ctx, s)).toBe(1);
    expect(s.references).toBe(1);
    expect(s.resumable).toBe(false);
    expect(raw.SSL_remove_session(ctx, s)).toBe(0);
    s.free();
  });

  test('synonyms replace a same-key object exactly like SSL_CTX_add_session', () => {
    const id = newId();
    const a = SslSession.create({ id });
    const b = SslSession.create({ id });
    expect(raw.SSL_add_session(ctx, a)).toBe(1);
    expect(raw.SSL_add_session(ctx, b)).toBe(1);
    expect(a.references).toBe(1);
    expect(b.references).toBe(2);
    expect(raw.SSL_remove_session(ctx, a)).toBe(0);
    expect(raw.SSL_remove_session(ctx, b)).toBe(1);
    a.free();
    b.free();
  });

  test('raw and the class methods act on the same cache', () => {
    const s = SslSession.create({ id: newId() });
    expect(ctx.addSession(s)).toBe(true);
    expect(raw.SSL_add_session(ctx, s)).toBe(0);
    expect(raw.SSL_remove_session(ctx, s)).toBe(1);
    expect(ctx.removeSession(s)).toBe(false);
    s.free();
  });
});
