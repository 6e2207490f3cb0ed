// Cache size limit: SSL_CTX_add_session evicts from the tail while count > size.
import { SslContext, SslSession } from '../lib';
import { listIds, newId, recordRemovals, contextPerTest, sessionHex as h } from './helpers/util';

function sessions(n: number): SslSession[] {
  return Array.from({ length: n }, () => SslSession.create({ id: newId() }));
}

let ctx: SslContext;
let pool: SslSession[] = [];
contextPerTest((c) => ((ctx = c), (pool = [])), () => pool);

describe('size limit', () => {
  test('the oldest insertion is evicted first (first-in first-out)', () => {
    ctx.sessionCacheSize = 3;
    const [a, b, c, d, e] = (pool = sessions(5));
    [a, b, c].forEach((s) => expect(ctx.addSession(s)).toBe(true));
    expect(ctx.sessionCount).toBe(3);
    expect(ctx.addSession(d)).toBe(true);
    expect(ctx.sessionCount).toBe(3);
    expect(listIds(ctx)).toEqual([d, c, b].map(h));
    expect(ctx.getSession(a.id)).toBeUndefined();
    expect(ctx.addSession(e)).toBe(true);
    expect(listIds(ctx)).toEqual([e, d, c].map(h));
  });

  test('cacheFull counts each eviction', () => {
    ctx.sessionCacheSize = 2;
    pool = sessions(6);
    pool.forEach((s) => ctx.addSession(s));
    expect(ctx.sessionCount).toBe(2);
    expect(ctx.stats.cacheFull).toBe(4);
    expect(ctx.stats.number).toBe(2);
  });

  test('lookups never move an entry: a looked-up session is still evicted first', () => {
    ctx.sessionCacheSize = 3;
    const [a, b, c, d] = (pool = sessions(4));
    [a, b, c].forEach((s) => ctx.addSession(s));
    for (let i = 0; i < 5; i++) expect(ctx.getSession(a.id)).toBe(a);
    expect(ctx.sessions()).toEqual([c, b, a]);
    expect(listIds(ctx)).toEqual([c, b, a].map(h));
    ctx.addSession(d);
    expect(listIds(ctx)).toEqual([d, c, b].map(h));
    expect(ctx.getSession(a.id)).toBeUndefined();
  });

  test('re-adding the identical cached object does not refresh it: still evicted first', () => {
    ctx.sessionCacheSize = 3;
    const [a, b, c, d] = (pool = sessions(4));
    [a, b, c].forEach((s) => ctx.addSession(s));
    expect(ctx.addSession(a)).toBe(false);
    ctx.addSession(d);
    expect(listIds(ctx)).toEqual([d, c, b].map(h));
  });

  test('an evicted session gets a removeSession event, in eviction order', () => {
    ctx.sessionCacheSize = 2;
    const rec = recordRemovals(ctx);
    const [a, b, c, d] = (pool = sessions(4));
    ctx.addSession(a);
    ctx.addSession(b);
    expect(rec.removed.length).toBe(0);
    ctx.addSession(c);
    expect(rec.ids()).toEqual([h(a)]);
    ctx.addSession(d);
    expect(rec.ids()).toEqual([h(a), h(b)]);
    rec.freeAll();
  });

  test('an evicted session is no longer resumable and lost the cache reference', () => {
    ctx.sessionCacheSize = 1;
    const [a, b] = (pool = sessions(2));
    ctx.addSession(a);
    expect(a.references).toBe(2);
    ctx.addSession(b);
    expect(a.resumable).toBe(false);
    expect(a.references).toBe(1);
    expect(b.resumable).toBe(true);
    expect(b.references).toBe(2);
  });

  test('the session just added is kept, even with size 1', () => {
    ctx.sessionCacheSize = 1;
    pool = sessions(3);
    for (const s of pool) {
      expect(ctx.addSession(s)).toBe(true);
      expect(listIds(ctx)).toEqual([h(s)]);
    }
    expect(ctx.stats.cacheFull).toBe(2);
  });

  test('a same-key replacement does not evict (count does not grow)', () => {
    ctx.sessionCacheSize = 2;
    const id = newId();
    const a = SslSession.create({ id });
    const b = SslSession.create({ id });
    const [x] = sessions(1);
    pool = [a, b, x];
    ctx.addSession(x);
    ctx.addSession(a);
    ctx.addSession(b); // replaces a
    expect(ctx.sessionCount).toBe(2);
    expect(ctx.stats.cacheFull).toBe(0);
    expect(listIds(ctx)).toEqual([h(b), h(x)]);
  });
});

describe('changing the size (SSL_CTX_sess_set_cache_size)', () => {
  test('shrinking evicts nothing until the next add', () => {
    const rec = recordRemovals(ctx);
    const [a, b, c, d] = (pool = sessions(4));
    [a, b, c].forEach((s) => ctx.addSession(s));
    ctx.sessionCacheSize = 1;
    expect(ctx.sessionCacheSize).toBe(1);
    expect(ctx.sessionCount).toBe(3);
    expect(rec.removed.length).toBe(0);
    expect(ctx.stats.cacheFull).toBe(0);
    expect(a.resumable).toBe(true);
    // the next add evicts from the tail until count <= size: a, b, c in that order
    expect(ctx.addSession(d)).toBe(true);
    expect(ctx.sessionCount).toBe(1);
    expect(listIds(ctx)).toEqual([h(d)]);
    expect(rec.ids()).toEqual([a, b, c].map(h));
    expect(ctx.stats.cacheFull).toBe(3);
    // the event objects are a, b, c themselves (identity): only their own reference is left
    expect(rec.removed).toEqual([a, b, c]);
    rec.removed.forEach((s, i) => expect(s).toBe([a, b, c][i]));
    [a, b, c].forEach((s) => {
      expect(s.resumable).toBe(false);
      expect(s.references).toBe(1);
    });
  });

  test('a failed add (identical object) does not evict after a shrink', () => {
    const [a, b, c] = (pool = sessions(3));
    [a, b, c].forEach((s) => ctx.addSession(s));
    ctx.sessionCacheSize = 1;
    expect(ctx.addSession(c)).toBe(false);
    expect(ctx.sessionCount).toBe(3);
    expect(ctx.stats.cacheFull).toBe(0);
  });

  test('size 0 means unlimited', () => {
    ctx.sessionCacheSize = 2;
    ctx.sessionCacheSize = 0;
    pool = sessions(40);
    pool.forEach((s) => expect(ctx.addSession(s)).toBe(true));
    expect(ctx.sessionCount).toBe(40);
    expect(ctx.stats.cacheFull).toBe(0);
  });

  test('size 0 given at construction means unlimited too', () => {
    const c2 = new SslContext({ sessionCacheSize: 0 });
    const list = sessions(25);
    list.forEach((s) => c2.addSession(s));
    expect(c2.sessionCount).toBe(25);
    c2.free();
    list.forEach((s) => s.free());
  });

  test('growing the size lets the cache grow', () => {
    ctx.sessionCacheSize = 2;
    pool = sessions(5);
    ctx.addSession(pool[0]);
    ctx.addSession(pool[1]);
    ctx.sessionCacheSize = 4;
    ctx.addSession(pool[2]);
    ctx.addSession(pool[3]);
    expect(ctx.sessionCount).toBe(4);
    expect(ctx.stats.cacheFull).toBe(0);
    ctx.addSession(pool[4]);
    expect(ctx.sessionCount).toBe(4);
    expect(ctx.stats.cacheFull).toBe(1);
    expect(ctx.getSession(pool[0].id)).toBeUndefined();
  });

  test('sessionCacheSize option at construction limits the cache', () => {
    const c2 = new SslContext({ sessionCacheSize: 2 });
    const list = sessions(3);
    list.forEach((s) => c2.addSession(s));
    expect(c2.sessionCount).toBe(2);
    expect(c2.stats.cacheFull).toBe(1);
    expect(list[0].resumable).toBe(false);
    c2.free();
    list.forEach((s) => s.free());
  });
});
