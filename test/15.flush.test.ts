// SSL_CTX_flush_sessions(ctx, t): removes every session with t == 0 || t > time + timeout.
import { SslContext, SslSession, raw } from '../lib';
import { listIds, newId, nowSec, recordRemovals, contextPerTest, sessionHex as h } from './helpers/util';

const sorted = (a: string[]) => [...a].sort();

let ctx: SslContext;
let pool: SslSession[] = [];
contextPerTest((c) => ((ctx = c), (pool = [])), () => pool);

function mk(time: number, timeout: number): SslSession {
  const s = SslSession.create({ id: newId(), time, timeout });
  pool.push(s);
  return s;
}

describe('flushSessions(t)', () => {
  test('keeps a session whose time + timeout is exactly t, removes it at t + 1', () => {
    const s = mk(1000, 100);
    ctx.addSession(s);
    ctx.flushSessions(1099);
    expect(ctx.sessionCount).toBe(1);
    ctx.flushSessions(1100); // t == time + timeout: kept
    expect(ctx.sessionCount).toBe(1);
    expect(s.resumable).toBe(true);
    ctx.flushSessions(1101); // t > time + timeout: removed
    expect(ctx.sessionCount).toBe(0);
    expect(s.resumable).toBe(false);
    expect(s.references).toBe(1);
  });

  test('removes exactly the expired ones among several', () => {
    const a = mk(1000, 10); // expires after 1010
    const b = mk(1000, 50); // 1050
    const c = mk(2000, 0); // 2000
    const d = mk(500, 600); // 1100
    [a, b, c, d].forEach((s) => ctx.addSession(s));
    ctx.flushSessions(1050);
    expect(sorted(listIds(ctx))).toEqual(sorted([b, c, d].map(h)));
    expect(a.resumable).toBe(false);
    expect([b, c, d].every((s) => s.resumable)).toBe(true);
    ctx.flushSessions(1101);
    expect(sorted(listIds(ctx))).toEqual([h(c)]);
  });

  test('the remaining sessions keep their list order', () => {
    const a = mk(1000, 1000);
    const b = mk(1000, 1);
    const c = mk(1000, 1000);
    const d = mk(1000, 1);
    const e = mk(1000, 1000);
    [a, b, c, d, e].forEach((s) => ctx.addSession(s));
    ctx.flushSessions(1500);
    expect(listIds(ctx)).toEqual([e, c, a].map(h));
  });

  test('flushSessions(0) removes all, whatever their times', () => {
    const list = [mk(nowSec() + 100000, 100000), mk(1, 1), mk(nowSec(), 300)];
    list.forEach((s) => ctx.addSession(s));
    ctx.flushSessions(0);
    expect(ctx.sessionCount).toBe(0);
    expect(list.every((s) => !s.resumable)).toBe(true);
    expect(list.every((s) => s.references === 1)).toBe(true);
  });

  test('each removed session produces one removeSession event; kept ones none', () => {
    const rec = recordRemovals(ctx);
    const a = mk(1000, 10);
    const b = mk(1000, 20);
    const keep = mk(1000, 5000);
    [a, b, keep].forEach((s) => ctx.addSession(s));
    ctx.flushSessions(1500);
    expect(sorted(rec.ids())).toEqual(sorted([a, b].map(h)));
    expect(rec.removed.every((s) => !s.resumable)).toBe(true);
    rec.freeAll();
    ctx.flushSessions(0);
    expect(rec.ids().length).toBe(3);
    expect(rec.ids()[2]).toBe(h(keep));
    rec.freeAll();
  });

  test('flush does not change the handshake counters (no timeouts counted)', () => {
    [mk(1, 1), mk(2, 2)].forEach((s) => ctx.addSession(s));
    ctx.flushSessions(0);
    expect(ctx.stats.timeouts).toBe(0);
    expect(ctx.stats.cacheFull).toBe(0);
  });

  test('default t is now', () => {
    // bounds the default t to [now - 50, now + 60]: a wrong default removes or keeps the wrong one
    const now = nowSec();
    const expired = mk(now - 100, 50); // expired at now - 50
    const fresh = mk(now - 10, 70); // expires at now + 60
    const future = mk(now + 3600, 0);
    [expired, fresh, future].forEach((s) => ctx.addSession(s));
    ctx.flushSessions();
    expect(sorted(listIds(ctx))).toEqual(sorted([fresh, future].map(h)));
    expect(expired.resumable).toBe(false);
    expect(fresh.resumable).toBe(true);
  });

  test('time/timeout changed on a cached session (through a lookup object) are what flush sees', () => {
    const s = mk(1000, 100000);
    ctx.addSession(s);
    const g = ctx.getSession(s.id)!;
    g.timeout = 10;
    g.free();
    ctx.flushSessions(1011);
    expect(ctx.sessionCount).toBe(0);
  });

  test('raw.SSL_CTX_flush_sessions(ctx, t) is the same operation', () => {
    const a = mk(1000, 10);
    const b = mk(1000, 1000);
    [a, b].forEach((s) => ctx.addSession(s));
    raw.SSL_CTX_flush_sessions(ctx, 1011);
    expect(raw.SSL_CTX_sess_number(ctx)).toBe(1);
    expect(listIds(ctx)).toEqual([h(b)]);
    raw.SSL_CTX_flush_sessions(ctx, 0);
    expect(raw.SSL_CTX_sess_number(ctx)).toBe(0);
  });

  test('a flushed session can be added again', () => {
    const s = mk(1000, 1);
    ctx.addSession(s);
    ctx.flushSessions(0);
    expect(ctx.addSession(s)).toBe(true);
    expect(ctx.sessionCount).toBe(1);
  });
});

describe('SslContext.free() = SSL_CTX_free = flush(0)', () => {
  test('emits one removeSession event per cached session', () => {
    const rec = recordRemovals(ctx);
    const list = [mk(1000, 1), mk(nowSec(), 300), mk(nowSec() + 500, 500)];
    list.forEach((s) => ctx.addSession(s));
    ctx.free();
    expect(ctx.freed).toBe(true);
    expect(sorted(rec.ids())).toEqual(sorted(list.map(h)));
    expect(list.every((s) => !s.resumable)).toBe(true);
    // the event objects are the listed sessions themselves (identity): no extra reference
    expect(rec.removed.every((s) => list.includes(s))).toBe(true);
    expect(list.every((s) => s.references === 1)).toBe(true);
  });

  test('an empty context emits no event on free()', () => {
    const rec = recordRemovals(ctx);
    ctx.free();
    expect(rec.removed.length).toBe(0);
  });

  test('[Symbol.dispose]() emits them too', () => {
    const rec = recordRemovals(ctx);
    const list = [mk(1000, 1), mk(1000, 2)];
    list.forEach((s) => ctx.addSession(s));
    ctx[Symbol.dispose]();
    expect(rec.removed.length).toBe(2);
    rec.freeAll();
  });
});
