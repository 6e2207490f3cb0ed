// 'removeSession' events: recorded by the C callback, emitted synchronously after the
// OpenSSL call returned, in OpenSSL's order, before the method returns. A listener that
// throws does not break the cache.
import { SslContext, SslSession } from '../lib';
import { catchError, listIds, newId, contextPerTest, sessionHex as h } from './helpers/util';

let ctx: SslContext;
let pool: SslSession[] = [];
contextPerTest((c) => ((ctx = c), (pool = [])), () => pool);

function mk(opts: { time?: number; timeout?: number } = {}): SslSession {
  const s = SslSession.create({ id: newId(), ...opts });
  pool.push(s);
  return s;
}

describe('synchronous delivery', () => {
  test('removeSession: the event has arrived when the method returns', () => {
    const s = mk();
    ctx.addSession(s);
    const seen: string[] = [];
    ctx.on('removeSession', (x: SslSession) => {
      seen.push(h(x));
      // not freed: x is the caller's own live object
    });
    ctx.removeSession(s);
    expect(seen).toEqual([h(s)]);
  });

  test('eviction events arrive before addSession returns, oldest first', () => {
    const list = [mk(), mk(), mk(), mk()];
    list.forEach((s) => ctx.addSession(s));
    ctx.sessionCacheSize = 1;
    const seen: string[] = [];
    ctx.on('removeSession', (x: SslSession) => {
      seen.push(h(x));
      // not freed: x is the caller's own live object
    });
    const d = mk();
    ctx.addSession(d);
    expect(seen).toEqual(list.map(h));
  });

  test('flush events arrive before flushSessions returns', () => {
    const list = [mk({ time: 1, timeout: 1 }), mk({ time: 1, timeout: 1 })];
    list.forEach((s) => ctx.addSession(s));
    let n = 0;
    ctx.on('removeSession', (_x: SslSession) => {
      n++;
      // not freed: x is the caller's own live object
    });
    ctx.flushSessions(100);
    expect(n).toBe(2);
  });

  test('events are delivered after the OpenSSL call returned: a listener sees the final cache state', () => {
    // flush calls the remove callback with CRYPTO_LOCK_SSL_CTX held, one session at a time;
    // if the event were emitted from inside, the first listener call would see 2 sessions left.
    const list = [mk({ time: 1, timeout: 1 }), mk({ time: 1, timeout: 1 }), mk({ time: 1, timeout: 1 })];
    list.forEach((s) => ctx.addSession(s));
    const counts: number[] = [];
    ctx.on('removeSession', (_x: SslSession) => {
      counts.push(ctx.sessionCount);
      // not freed: x is the caller's own live object
    });
    ctx.flushSessions(0);
    expect(counts).toEqual([0, 0, 0]);
  });

  test('during eviction events the new session is already at the head', () => {
    ctx.sessionCacheSize = 2;
    const [a, b, c] = [mk(), mk(), mk()];
    ctx.addSession(a);
    ctx.addSession(b);
    let heads: string[] = [];
    ctx.on('removeSession', (_x: SslSession) => {
      heads = listIds(ctx);
      // not freed: x is the caller's own live object
    });
    ctx.addSession(c);
    expect(heads).toEqual([h(c), h(b)]);
  });

  test('a listener may call back into the context (re-entrancy after the call)', () => {
    const [a, b] = [mk(), mk()];
    ctx.addSession(a);
    ctx.on('removeSession', (x: SslSession) => {
      if (x.equals(a)) ctx.addSession(b);
      // not freed: x is the caller's own live object
    });
    expect(ctx.removeSession(a)).toBe(true);
    expect(listIds(ctx)).toEqual([h(b)]);
    expect(b.references).toBe(2);
  });

  test('the event session is the live object of the removed SSL_SESSION', () => {
    const s = mk();
    ctx.addSession(s);
    let ev: SslSession | undefined;
    ctx.on('removeSession', (x: SslSession) => {
      ev = x;
    });
    ctx.removeSession(s);
    expect(ev).toBe(s); // the live object
    expect(ev!.resumable).toBe(false);
  });

  test('no listener: nothing is kept alive (references back to the caller only)', () => {
    const list = [mk(), mk(), mk()];
    ctx.sessionCacheSize = 2;
    list.forEach((s) => ctx.addSession(s)); // evicts list[0]
    ctx.removeSession(list[1]);
    ctx.flushSessions(0); // removes list[2]
    expect(list.map((s) => s.references)).toEqual([1, 1, 1]);
  });
});

describe('a listener that throws', () => {
  test('removeSession: the error surfaces, the cache is consistent and keeps working', () => {
    const [a, b, c] = [mk(), mk(), mk()];
    [a, b, c].forEach((s) => ctx.addSession(s));
    const boom = new Error('listener failure');
    ctx.on('removeSession', (_x: SslSession) => {
      // not freed: x is the caller's own live object
      throw boom;
    });
    const err = catchError(() => ctx.removeSession(b));
    expect(err).toBe(boom);
    // the removal itself happened, completely
    expect(ctx.sessionCount).toBe(2);
    expect(listIds(ctx)).toEqual([h(c), h(a)]);
    expect(b.resumable).toBe(false);
    expect(b.references).toBe(1);
    // and the cache works afterwards
    ctx.removeAllListeners('removeSession');
    expect(ctx.addSession(b)).toBe(true);
    expect(ctx.removeSession(a)).toBe(true);
    expect(listIds(ctx)).toEqual([h(b), h(c)]);
  });

  test('eviction: the new session is cached, the evicted one gone, the error surfaces', () => {
    ctx.sessionCacheSize = 1;
    const [a, b] = [mk(), mk()];
    ctx.addSession(a);
    const boom = new Error('evict listener failure');
    ctx.on('removeSession', (_x: SslSession) => {
      // not freed: x is the caller's own live object
      throw boom;
    });
    expect(catchError(() => ctx.addSession(b))).toBe(boom);
    expect(listIds(ctx)).toEqual([h(b)]);
    expect(ctx.stats.cacheFull).toBe(1);
    expect(a.resumable).toBe(false);
    expect(a.references).toBe(1);
    expect(b.references).toBe(2);
  });

  test('all events are still delivered; the first listener error is rethrown after them', () => {
    const list = [mk({ time: 1, timeout: 1 }), mk({ time: 1, timeout: 1 }), mk({ time: 1, timeout: 1 })];
    list.forEach((s) => ctx.addSession(s));
    const thrown: Error[] = [];
    const seen: string[] = [];
    ctx.on('removeSession', (x: SslSession) => {
      seen.push(h(x));
      // not freed: x is the caller's own live object
      const e = new Error(`failure ${thrown.length}`);
      thrown.push(e);
      throw e;
    });
    const err = catchError(() => ctx.flushSessions(0));
    expect(seen.length).toBe(3);
    expect([...seen].sort()).toEqual(list.map(h).sort());
    expect(thrown.length).toBe(3);
    expect(err).toBe(thrown[0]);
    expect(ctx.sessionCount).toBe(0);
    expect(list.every((s) => s.references === 1 && !s.resumable)).toBe(true);
  });

  test('context free(): the context is freed and the sessions released even if a listener throws', () => {
    const list = [mk(), mk()];
    list.forEach((s) => ctx.addSession(s));
    let calls = 0;
    ctx.on('removeSession', (_x: SslSession) => {
      calls++;
      // not freed: x is the caller's own live object
      throw new Error('free listener failure');
    });
    expect(() => ctx.free()).toThrow('free listener failure');
    expect(calls).toBe(2);
    expect(ctx.freed).toBe(true);
    expect(list.every((s) => s.references === 1)).toBe(true);
  });

  test('a throwing listener does not leak the event reference it did not free', () => {
    const s = mk();
    ctx.addSession(s);
    let ev: SslSession | undefined;
    ctx.on('removeSession', (x: SslSession) => {
      ev = x;
      throw new Error('no free');
    });
    expect(() => ctx.removeSession(s)).toThrow('no free');
    // the event carried the live object; the event's reference was dropped
    expect(ev).toBe(s);
    expect(s.references).toBe(1);
  });
});
