// SslContext: SSL_CTX_new defaults, options, setters, statistics, lifetime.
import { EventEmitter } from 'events';
import { SessionCacheMode, SslContext, SslSession, raw } from '../lib';
import { catchError, mkSession, expectKind, isError } from './helpers/util';

const STAT_KEYS = [
  'number',
  'connect',
  'connectGood',
  'connectRenegotiate',
  'accept',
  'acceptGood',
  'acceptRenegotiate',
  'hits',
  'cbHits',
  'misses',
  'timeouts',
  'cacheFull',
];

describe('defaults are those of SSL_CTX_new', () => {
  test('mode SERVER (2), size 20480 (SSL_SESSION_CACHE_MAX_SIZE_DEFAULT), timeout 300', () => {
    const ctx = new SslContext();
    expect(ctx.sessionCacheMode).toBe(SessionCacheMode.SERVER);
    expect(ctx.sessionCacheMode).toBe(2);
    expect(ctx.sessionCacheSize).toBe(20480);
    expect(ctx.sessionTimeout).toBe(300);
    expect(ctx.sessionCount).toBe(0);
    ctx.free();
  });

  test.each(['server', 'client', 'both'] as const)(
    "role '%s': SSL_CTX_new gives the same cache defaults for every method",
    (role) => {
      const ctx = new SslContext({ role });
      expect(ctx.sessionCacheMode).toBe(SessionCacheMode.SERVER);
      expect(ctx.sessionCacheSize).toBe(20480);
      expect(ctx.sessionTimeout).toBe(300);
      ctx.free();
    },
  );

  test('is an EventEmitter', () => {
    const ctx = new SslContext();
    expect(ctx).toBeInstanceOf(EventEmitter);
    ctx.free();
  });
});

describe('options', () => {
  test('sessionCacheMode, sessionCacheSize and sessionTimeout are applied', () => {
    const mode = SessionCacheMode.BOTH | SessionCacheMode.NO_AUTO_CLEAR;
    const ctx = new SslContext({ sessionCacheMode: mode, sessionCacheSize: 7, sessionTimeout: 42 });
    expect(ctx.sessionCacheMode).toBe(mode);
    expect(ctx.sessionCacheSize).toBe(7);
    expect(ctx.sessionTimeout).toBe(42);
    ctx.free();
  });

  test('sessionCacheSize 0 (unlimited) is kept as 0', () => {
    const ctx = new SslContext({ sessionCacheSize: 0 });
    expect(ctx.sessionCacheSize).toBe(0);
    ctx.free();
  });

  test('sessionIdContext (Buffer or string up to 32 bytes) and noTicket are accepted', () => {
    const a = new SslContext({ sessionIdContext: Buffer.alloc(32, 1), noTicket: true });
    const b = new SslContext({ sessionIdContext: 'my-app' });
    expect(a.sessionCount).toBe(0);
    expect(b.sessionCount).toBe(0);
    a.free();
    b.free();
  });

  test('sessionIdContext over 32 bytes → RangeError', () => {
    expectKind(() => new SslContext({ sessionIdContext: Buffer.alloc(33) }), 'RangeError');
  });
});

describe('setters (SSL_CTX_set_session_cache_mode / sess_set_cache_size / set_timeout)', () => {
  test('sessionCacheMode is writable and reads back', () => {
    const ctx = new SslContext();
    for (const m of [
      SessionCacheMode.OFF,
      SessionCacheMode.CLIENT,
      SessionCacheMode.BOTH,
      SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL,
      SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL_STORE | SessionCacheMode.NO_AUTO_CLEAR,
    ]) {
      ctx.sessionCacheMode = m;
      expect(ctx.sessionCacheMode).toBe(m);
    }
    ctx.free();
  });

  test('sessionCacheSize is writable and reads back', () => {
    const ctx = new SslContext();
    ctx.sessionCacheSize = 3;
    expect(ctx.sessionCacheSize).toBe(3);
    ctx.sessionCacheSize = 0;
    expect(ctx.sessionCacheSize).toBe(0);
    ctx.sessionCacheSize = 100000;
    expect(ctx.sessionCacheSize).toBe(100000);
    ctx.free();
  });

  test('sessionTimeout is writable and reads back', () => {
    const ctx = new SslContext();
    ctx.sessionTimeout = 1;
    expect(ctx.sessionTimeout).toBe(1);
    ctx.sessionTimeout = 86400;
    expect(ctx.sessionTimeout).toBe(86400);
    ctx.free();
  });

  test('setSessionIdContext accepts up to 32 bytes, RangeError above', () => {
    const ctx = new SslContext();
    expect(() => ctx.setSessionIdContext(Buffer.alloc(32, 7))).not.toThrow();
    expect(() => ctx.setSessionIdContext('ctx-string')).not.toThrow();
    expectKind(() => ctx.setSessionIdContext(Buffer.alloc(33, 7)), 'RangeError');
    expectKind(() => ctx.setSessionIdContext('x'.repeat(33)), 'RangeError');
    ctx.free();
  });

  test('sessionCount is read-only', () => {
    const ctx = new SslContext();
    expectKind(() => {
      (ctx as any).sessionCount = 5;
    }, 'TypeError'); // jest test files are strict mode: assigning a getter-only property throws
    expect(ctx.sessionCount).toBe(0);
    ctx.free();
  });

  test('getSessionCallback is settable and reads back', () => {
    const ctx = new SslContext();
    expect(ctx.getSessionCallback ?? undefined).toBeUndefined();
    const cb = (_id: Buffer): SslSession | undefined => undefined;
    ctx.getSessionCallback = cb;
    expect(ctx.getSessionCallback).toBe(cb);
    ctx.getSessionCallback = undefined;
    expect(ctx.getSessionCallback ?? undefined).toBeUndefined();
    ctx.free();
  });
});

describe('stats (SSL_CTX_sess_*)', () => {
  test('has the twelve counters, all numbers, all 0 for a new context', () => {
    const ctx = new SslContext();
    const st = ctx.stats as unknown as Record<string, unknown>;
    expect(Object.keys(st)).toEqual(expect.arrayContaining(STAT_KEYS));
    for (const k of STAT_KEYS) {
      expect(typeof st[k]).toBe('number');
      expect(st[k]).toBe(0);
    }
    ctx.free();
  });

  test('number is SSL_CTX_sess_number: follows the cache, equals sessionCount and raw', () => {
    const ctx = new SslContext();
    const a = mkSession();
    const b = mkSession();
    ctx.addSession(a);
    expect(ctx.stats.number).toBe(1);
    ctx.addSession(b);
    expect(ctx.stats.number).toBe(2);
    expect(ctx.sessionCount).toBe(2);
    expect(raw.SSL_CTX_sess_number(ctx)).toBe(2);
    ctx.removeSession(a);
    expect(ctx.stats.number).toBe(1);
    expect(ctx.sessionCount).toBe(1);
    ctx.free();
    a.free();
    b.free();
  });

  test('adding and removing sessions changes no handshake counter', () => {
    const ctx = new SslContext();
    const s = mkSession();
    ctx.addSession(s);
    ctx.addSession(s);
    ctx.removeSession(s);
    ctx.removeSession(s);
    const st = ctx.stats;
    for (const k of STAT_KEYS.filter((k) => k !== 'number')) {
      expect((st as unknown as Record<string, number>)[k]).toBe(0);
    }
    ctx.free();
    s.free();
  });
});

describe('free / freed / Symbol.dispose', () => {
  test('free() sets freed', () => {
    const ctx = new SslContext();
    expect(ctx.freed).toBe(false);
    ctx.free();
    expect(ctx.freed).toBe(true);
  });

  test('[Symbol.dispose]() frees', () => {
    const ctx = new SslContext();
    ctx[Symbol.dispose]();
    expect(ctx.freed).toBe(true);
  });

  test('use after free → error with code ERR_SSL_FREED', () => {
    const ctx = new SslContext();
    const s = mkSession();
    ctx.free();
    const calls: Array<() => unknown> = [
      () => ctx.addSession(s),
      () => ctx.removeSession(s),
      () => ctx.flushSessions(0),
      () => ctx.getSession(s.id),
      () => ctx.sessions(),
      () => ctx.sessionCount,
      () => ctx.stats,
      () => ctx.sessionCacheSize,
      () => {
        ctx.sessionCacheSize = 5;
      },
      () => ctx.setSessionIdContext('x'),
      () => raw.SSL_CTX_add_session(ctx, s),
      () => raw.SSL_CTX_sess_number(ctx),
    ];
    for (const call of calls) {
      const err = catchError(call);
      expect(isError(err)).toBe(true);
      expect(err.code).toBe('ERR_SSL_FREED');
    }
    // the session was not touched by the refused calls
    expect(s.references).toBe(1);
    s.free();
  });

  test('freeing a context releases the cache references of its sessions', () => {
    const ctx = new SslContext();
    const s = mkSession();
    ctx.addSession(s);
    expect(s.references).toBe(2);
    ctx.free();
    expect(s.references).toBe(1);
    expect(s.resumable).toBe(false); // SSL_CTX_free = flush(0): each like remove_session
    s.free();
  });
});
