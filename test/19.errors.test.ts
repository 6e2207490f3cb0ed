// Errors: bad input and misuse get a typed error, and nothing is corrupted.
import { OpenSSLError, SslContext, SslSession, raw } from '../lib';
import { catchError, listIds, newId, expectKind, isError, sessionHex as h } from './helpers/util';

const withCipher = () =>
  SslSession.create({ id: newId(), cipher: 'AES128-GCM-SHA256', masterKey: Buffer.alloc(48, 7), time: 1000, timeout: 300 });

describe('a session cached by another context (1.0.2 would corrupt both caches)', () => {
  let c1: SslContext;
  let c2: SslContext;
  let pool: SslSession[];
  beforeEach(() => {
    c1 = new SslContext();
    c2 = new SslContext();
    pool = [];
  });
  afterEach(() => {
    for (const c of [c1, c2]) if (!c.freed) c.free();
    for (const s of pool) if (!s.freed) s.free();
  });
  const mk = () => {
    const s = withCipher();
    pool.push(s);
    return s;
  };

  test('addSession → code ERR_SESSION_IN_OTHER_CONTEXT; both caches unchanged', () => {
    const [a, b, s, x, y] = [mk(), mk(), mk(), mk(), mk()];
    c1.addSession(a);
    c1.addSession(s);
    c1.addSession(b);
    c2.addSession(x);
    c2.addSession(y);
    const before1 = listIds(c1);
    const before2 = listIds(c2);
    const refs = s.references;
    const err = catchError(() => c2.addSession(s));
    expect(isError(err)).toBe(true);
    expect(err.code).toBe('ERR_SESSION_IN_OTHER_CONTEXT');
    expect(c1.sessionCount).toBe(3);
    expect(c2.sessionCount).toBe(2);
    expect(listIds(c1)).toEqual(before1);
    expect(listIds(c2)).toEqual(before2);
    expect(s.references).toBe(refs);
    expect(s.resumable).toBe(true);
    // both caches still work: removals from each succeed and keep the right order
    expect(c1.removeSession(s)).toBe(true);
    expect(listIds(c1)).toEqual([h(b), h(a)]);
    expect(c2.removeSession(x)).toBe(true);
    expect(listIds(c2)).toEqual([h(y)]);
  });

  test('the raw synonyms refuse it the same way', () => {
    const s = mk();
    c1.addSession(s);
    for (const add of [raw.SSL_CTX_add_session, raw.SSL_add_session]) {
      const err = catchError(() => add(c2, s));
      expect(err.code).toBe('ERR_SESSION_IN_OTHER_CONTEXT');
    }
    expect(c2.sessionCount).toBe(0);
    expect(listIds(c1)).toEqual([h(s)]);
  });

  test('a JS object obtained from the other cache is refused too', () => {
    const s = mk();
    c1.addSession(s);
    const g = c1.getSession(s.id)!;
    expect(catchError(() => c2.addSession(g)).code).toBe('ERR_SESSION_IN_OTHER_CONTEXT');
    g.free();
  });

  test('removeSession of it from the other context is just "not found" (false)', () => {
    const s = mk();
    c1.addSession(s);
    expect(c2.removeSession(s)).toBe(false);
    expect(c1.sessionCount).toBe(1);
    expect(s.resumable).toBe(true);
  });

  test('the copy idiom SslSession.fromDER(s.toDER()) works', () => {
    const s = mk();
    c1.addSession(s);
    const copy = SslSession.fromDER(s.toDER());
    pool.push(copy);
    expect(c2.addSession(copy)).toBe(true);
    expect(c1.sessionCount).toBe(1);
    expect(c2.sessionCount).toBe(1);
    const g1 = c1.getSession(s.id)!;
    const g2 = c2.getSession(s.id)!;
    expect(g1.equals(s)).toBe(true);
    expect(g2.equals(copy)).toBe(true);
    expect(g2.equals(s)).toBe(false);
    g1.free();
    g2.free();
  });

  test('once out of the first cache it can be added elsewhere: after remove', () => {
    const s = mk();
    c1.addSession(s);
    c1.removeSession(s);
    expect(c2.addSession(s)).toBe(true);
    expect(s.references).toBe(2);
  });

  test('… after eviction', () => {
    c1.sessionCacheSize = 1;
    const [s, t] = [mk(), mk()];
    c1.addSession(s);
    c1.addSession(t); // evicts s
    expect(c2.addSession(s)).toBe(true);
    expect(catchError(() => c2.addSession(t)).code).toBe('ERR_SESSION_IN_OTHER_CONTEXT');
  });

  test('… after flush', () => {
    const s = mk();
    c1.addSession(s);
    c1.flushSessions(0);
    expect(c2.addSession(s)).toBe(true);
  });

  test('… after being replaced by a same-key object', () => {
    const s = mk();
    const twin = SslSession.fromDER(s.toDER());
    pool.push(twin);
    c1.addSession(s);
    c1.addSession(twin); // s out of c1, no event
    expect(c2.addSession(s)).toBe(true);
    expect(catchError(() => c2.addSession(twin)).code).toBe('ERR_SESSION_IN_OTHER_CONTEXT');
  });

  test('… after the first context is freed', () => {
    const s = mk();
    c1.addSession(s);
    c1.free();
    expect(c2.addSession(s)).toBe(true);
    expect(s.references).toBe(2);
  });
});

describe('use after free → code ERR_SSL_FREED', () => {
  test('a freed session given to a live context', () => {
    const ctx = new SslContext();
    const s = SslSession.create({ id: newId() });
    s.free();
    for (const call of [
      () => ctx.addSession(s),
      () => ctx.removeSession(s),
      () => raw.SSL_CTX_add_session(ctx, s),
      () => raw.SSL_remove_session(ctx, s),
      () => s.equals(s),
    ]) {
      expect(catchError(call).code).toBe('ERR_SSL_FREED');
    }
    expect(ctx.sessionCount).toBe(0);
    ctx.free();
  });

  test('a freed context', () => {
    const ctx = new SslContext();
    const s = SslSession.create({ id: newId() });
    ctx.free();
    for (const call of [
      () => ctx.addSession(s),
      () => ctx.removeSession(s),
      () => ctx.getSession(s.id),
      () => ctx.sessions(),
      () => ctx.flushSessions(),
      () => raw.SSL_CTX_flush_sessions(ctx, 0),
      () => raw.SSL_add_session(ctx, s),
    ]) {
      expect(catchError(call).code).toBe('ERR_SSL_FREED');
    }
    expect(s.references).toBe(1);
    s.free();
  });

  test('a freed session that is still cached: the cache copy lives on', () => {
    const ctx = new SslContext();
    const s = SslSession.create({ id: newId(), time: 777 });
    const id = s.id;
    ctx.addSession(s);
    s.free();
    expect(catchError(() => s.time).code).toBe('ERR_SSL_FREED');
    const g = ctx.getSession(id)!;
    expect(g.time).toBe(777);
    expect(g.references).toBe(2);
    g.free();
    ctx.free();
  });
});

describe('wrong types → TypeError (and nothing changes)', () => {
  test('SslContext methods', () => {
    const ctx = new SslContext();
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    const bad: unknown[] = [undefined, null, 1, 'session', {}, Buffer.alloc(4), ctx];
    for (const b of bad) {
      expectKind(() => ctx.addSession(b as SslSession), 'TypeError');
      expectKind(() => ctx.removeSession(b as SslSession), 'TypeError');
    }
    // @ts-expect-error deliberate wrong type
    expectKind(() => ctx.flushSessions('now'), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => ctx.setSessionIdContext(5), 'TypeError');
    expectKind(() => {
      (ctx as any).sessionCacheSize = '10';
    }, 'TypeError');
    expectKind(() => {
      (ctx as any).sessionTimeout = null;
    }, 'TypeError');
    expectKind(() => {
      (ctx as any).sessionCacheMode = 'server';
    }, 'TypeError');
    expectKind(() => {
      (ctx as any).getSessionCallback = 'not a function';
    }, 'TypeError');
    expect(ctx.sessionCount).toBe(1);
    expect(ctx.sessionCacheSize).toBe(20480);
    expect(ctx.sessionTimeout).toBe(300);
    expect(s.references).toBe(2);
    ctx.free();
    s.free();
  });

  test('SslContext constructor options', () => {
    expectKind(() => new SslContext({ sessionCacheSize: '5' as any }), 'TypeError');
    expectKind(() => new SslContext({ sessionTimeout: {} as any }), 'TypeError');
    expectKind(() => new SslContext({ sessionCacheMode: 'off' as any }), 'TypeError');
    expectKind(() => new SslContext({ sessionIdContext: 12 as any }), 'TypeError');
    expectKind(() => new SslContext('server' as any), 'TypeError');
  });

  test('raw functions', () => {
    const ctx = new SslContext();
    const s = SslSession.create({ id: newId() });
    expectKind(() => raw.SSL_CTX_add_session({} as any, s), 'TypeError');
    expectKind(() => raw.SSL_CTX_add_session(ctx, {} as any), 'TypeError');
    expectKind(() => raw.SSL_remove_session(s as any, ctx as any), 'TypeError');
    expectKind(() => raw.SSL_CTX_sess_number(null as any), 'TypeError');
    expect(ctx.sessionCount).toBe(0);
    ctx.free();
    s.free();
  });

  test('SslSession.equals with a non-session', () => {
    const s = SslSession.create({ id: newId() });
    expectKind(() => s.equals({} as any), 'TypeError');
    s.free();
  });
});

describe('out of range → RangeError', () => {
  test('raw setters refuse what the SslContext setters refuse, and leave the context unchanged', () => {
    const ctx = new SslContext();
    const mode = ctx.sessionCacheMode;
    const timeout = ctx.sessionTimeout;
    // 0x1000 is no SSL_SESS_CACHE_* bit of 1.0.2; 2**40 seconds does not fit the setter's INT_MAX
    expectKind(() => raw.SSL_CTX_set_session_cache_mode(ctx, 0x1000), 'RangeError');
    expectKind(() => (ctx.sessionCacheMode = 0x1000), 'RangeError');
    expectKind(() => raw.SSL_CTX_set_timeout(ctx, 2 ** 40), 'RangeError');
    expectKind(() => (ctx.sessionTimeout = 2 ** 40), 'RangeError');
    expectKind(() => raw.SSL_CTX_set_timeout(ctx, 1.5), 'RangeError');
    expectKind(() => raw.SSL_CTX_sess_set_cache_size(ctx, -1), 'RangeError');
    expect([raw.SSL_CTX_get_session_cache_mode(ctx), raw.SSL_CTX_get_timeout(ctx)]).toEqual([mode, timeout]);
    // the largest values the setters take pass through raw unchanged, old value returned
    expect(raw.SSL_CTX_set_timeout(ctx, 2 ** 31 - 1)).toBe(timeout);
    expect(raw.SSL_CTX_get_timeout(ctx)).toBe(2 ** 31 - 1);
    expect(raw.SSL_CTX_set_session_cache_mode(ctx, 0x0303)).toBe(mode);
    expect(ctx.sessionCacheMode).toBe(0x0303);
    ctx.free();
  });

  test('ids and id contexts', () => {
    const ctx = new SslContext();
    expectKind(() => SslSession.create({ id: Buffer.alloc(0) }), 'RangeError');
    expectKind(() => SslSession.create({ id: Buffer.alloc(33) }), 'RangeError');
    expectKind(() => SslSession.create({ id: newId(), idContext: Buffer.alloc(33) }), 'RangeError');
    expectKind(() => ctx.getSession(Buffer.alloc(0)), 'RangeError');
    expectKind(() => ctx.getSession(Buffer.alloc(33)), 'RangeError');
    expectKind(() => ctx.setSessionIdContext(Buffer.alloc(33)), 'RangeError');
    expectKind(() => new SslContext({ sessionIdContext: Buffer.alloc(33) }), 'RangeError');
    ctx.free();
  });
});

describe('OpenSSL errors → OpenSSLError; the error queue is cleared after every call', () => {
  test('bad PEM → OpenSSLError', () => {
    const err = catchError(() => SslSession.fromPEM('-----BEGIN SSL SESSION PARAMETERS-----\n!!!\n-----END SSL SESSION PARAMETERS-----\n'));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(isError(err)).toBe(true);
    expect(typeof err.code).toBe('string');
    expect(err.opensslErrors.length).toBeGreaterThan(0);
  });

  test('errors of one call do not leak into the next', () => {
    const e1 = catchError(() => SslSession.fromDER(Buffer.from([9, 9, 9, 9])));
    expect(e1).toBeInstanceOf(OpenSSLError);
    expect(e1.opensslErrors.some((e: any) => /asn1/i.test(e.library))).toBe(true);
    // a successful call in between reports nothing and is not disturbed
    const s = withCipher();
    const t = SslSession.fromDER(s.toDER());
    t.free();
    s.free();
    // the next failing call reports only its own (PEM) errors
    const e2 = catchError(() => SslSession.fromPEM('no pem here'));
    expect(e2).toBeInstanceOf(OpenSSLError);
    expect(e2.opensslErrors.length).toBeGreaterThan(0);
    expect(e2.opensslErrors.some((e: any) => /expecting an asn1 sequence/i.test(e.reason))).toBe(false);
    expect(e2.opensslErrors.some((e: any) => /no start line/i.test(e.reason))).toBe(true);
  });

  test('the same bad input gives the same error list every time (no accumulation)', () => {
    const bad = Buffer.from([0x30, 0x03, 0x02, 0x01]);
    const a = catchError(() => SslSession.fromDER(bad));
    const b = catchError(() => SslSession.fromDER(bad));
    expect(a).toBeInstanceOf(OpenSSLError);
    expect(b.opensslErrors.length).toBe(a.opensslErrors.length);
    expect(b.opensslErrors.map((e: any) => e.reason)).toEqual(a.opensslErrors.map((e: any) => e.reason));
  });
});
