// SslSession: SSL_SESSION_new defaults, properties, validation, equality, lifetime.
import { SslContext, SslSession } from '../lib';
import { catchError, newId, nowSec, expectKind, isError } from './helpers/util';

describe('SslSession.create', () => {
  test('a new session has one reference (SSL_SESSION_new: references = 1)', () => {
    const s = SslSession.create({ id: newId() });
    expect(s.references).toBe(1);
    s.free();
  });

  test('without time/timeout: timeout 304 and time = now (SSL_SESSION_new)', () => {
    const before = nowSec();
    const s = SslSession.create({ id: newId() });
    const after = nowSec();
    expect(s.timeout).toBe(304);
    expect(s.time).toBeGreaterThanOrEqual(before);
    expect(s.time).toBeLessThanOrEqual(after);
    s.free();
  });

  test('properties reflect the options', () => {
    const id = newId(20);
    const idContext = Buffer.from('context-of-the-app');
    const s = SslSession.create({
      id,
      protocol: 'TLSv1.1',
      idContext,
      time: 1234567890,
      timeout: 77,
      masterKey: Buffer.alloc(48, 0x5a),
      cipher: 'AES128-GCM-SHA256',
    });
    expect(Buffer.isBuffer(s.id)).toBe(true);
    expect(s.id.equals(id)).toBe(true);
    expect(s.protocol).toBe('TLSv1.1');
    expect(s.idContext.equals(idContext)).toBe(true);
    expect(s.time).toBe(1234567890);
    expect(s.timeout).toBe(77);
    expect(s.cipher).toBe('AES128-GCM-SHA256');
    expect(s.resumable).toBe(true);
    s.free();
  });

  test("defaults: protocol 'TLSv1.2', empty idContext, no cipher, resumable", () => {
    const s = SslSession.create({ id: newId() });
    expect(s.protocol).toBe('TLSv1.2');
    expect(s.idContext.length).toBe(0);
    expect(s.cipher).toBeUndefined();
    expect(s.resumable).toBe(true);
    s.free();
  });

  test.each(['TLSv1', 'TLSv1.1', 'TLSv1.2'] as const)('protocol %s round-trips', (protocol) => {
    const s = SslSession.create({ id: newId(), protocol });
    expect(s.protocol).toBe(protocol);
    s.free();
  });

  test('id of 1 and of 32 bytes is accepted and kept exactly', () => {
    for (const len of [1, 2, 3, 4, 16, 31, 32]) {
      const id = newId(len);
      const s = SslSession.create({ id });
      expect(s.id.length).toBe(len);
      expect(s.id.equals(id)).toBe(true);
      s.free();
    }
  });

  test('id empty or over 32 bytes → RangeError', () => {
    expectKind(() => SslSession.create({ id: Buffer.alloc(0) }), 'RangeError');
    expectKind(() => SslSession.create({ id: Buffer.alloc(33, 1) }), 'RangeError');
    expectKind(() => SslSession.create({ id: Buffer.alloc(64, 1) }), 'RangeError');
  });

  test('idContext of 32 bytes accepted, over 32 → RangeError', () => {
    const s = SslSession.create({ id: newId(), idContext: Buffer.alloc(32, 3) });
    expect(s.idContext.length).toBe(32);
    s.free();
    expectKind(() => SslSession.create({ id: newId(), idContext: Buffer.alloc(33, 3) }), 'RangeError');
  });

  test('wrong types → TypeError', () => {
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.create(), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.create(null), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.create({ id: 42 }), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.create({ id: [1, 2, 3] }), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.create({ id: newId(), time: 'yesterday' }), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.create({ id: newId(), timeout: '300' }), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.create({ id: newId(), masterKey: 'secret' }), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.create({ id: newId(), protocol: 12 }), 'TypeError');
  });

  test('an unknown protocol or cipher name is refused', () => {
    const e1 = catchError(() => SslSession.create({ id: newId(), protocol: 'TLSv9.9' as any }));
    expect(isError(e1)).toBe(true);
    const e2 = catchError(() => SslSession.create({ id: newId(), cipher: 'NO-SUCH-CIPHER-NAME' }));
    expect(isError(e2)).toBe(true);
  });

  test('masterKey over 48 bytes is refused (SSL_MAX_MASTER_KEY_LENGTH)', () => {
    expectKind(() => SslSession.create({ id: newId(), masterKey: Buffer.alloc(49, 1) }), 'RangeError');
  });
});

describe('writable properties', () => {
  test('time and timeout are writable (SSL_SESSION_set_time / set_timeout)', () => {
    const s = SslSession.create({ id: newId() });
    s.time = 1000;
    s.timeout = 5;
    expect(s.time).toBe(1000);
    expect(s.timeout).toBe(5);
    s.free();
  });

  test('idContext is writable up to 32 bytes (SSL_SESSION_set1_id_context), RangeError above', () => {
    const s = SslSession.create({ id: newId() });
    s.idContext = Buffer.from('abc');
    expect(s.idContext.equals(Buffer.from('abc'))).toBe(true);
    s.idContext = Buffer.alloc(32, 9);
    expect(s.idContext.equals(Buffer.alloc(32, 9))).toBe(true);
    expectKind(() => {
      s.idContext = Buffer.alloc(33, 9);
    }, 'RangeError');
    // unchanged by the refused write
    expect(s.idContext.equals(Buffer.alloc(32, 9))).toBe(true);
    s.free();
  });

  test('writing a wrong type → TypeError, value unchanged', () => {
    const s = SslSession.create({ id: newId(), time: 50, timeout: 60 });
    expectKind(() => {
      (s as any).time = 'now';
    }, 'TypeError');
    expectKind(() => {
      (s as any).timeout = {};
    }, 'TypeError');
    expectKind(() => {
      (s as any).idContext = 12;
    }, 'TypeError');
    expect(s.time).toBe(50);
    expect(s.timeout).toBe(60);
    s.free();
  });

  test('the id Buffer returned is a copy: mutating it does not change the session', () => {
    const id = newId(8);
    const s = SslSession.create({ id });
    const got = s.id;
    got.fill(0);
    expect(s.id.equals(id)).toBe(true);
    // nor does mutating the Buffer given to create
    id.fill(1);
    expect(s.id.equals(id)).toBe(false);
    s.free();
  });
});

describe('identity', () => {
  test('equals: itself true, another session false', () => {
    const a = SslSession.create({ id: newId() });
    const b = SslSession.create({ id: newId() });
    expect(a.equals(a)).toBe(true);
    expect(a.equals(b)).toBe(false);
    a.free();
    b.free();
  });

  test('equals: the object the cache gives back for it is equal (same SSL_SESSION)', () => {
    const ctx = new SslContext();
    const a = SslSession.create({ id: newId() });
    ctx.addSession(a);
    const sid = a.id;
    expect(ctx.getSession(sid)).toBe(a); // the live object
    const copy = SslSession.fromDER(SslSession.create({ id: sid, cipher: 'AES128-SHA' }).toDER());
    expect(copy.equals(a)).toBe(false); // same id, another SSL_SESSION
    // a second object around the same SSL_SESSION exists only once `a` is freed
    a.free();
    const g = ctx.getSession(sid)!;
    expect(g).not.toBe(a);
    g.time = 4242;
    expect(ctx.getSession(sid)!.time).toBe(4242);
    expect(g.equals(ctx.sessions()[0])).toBe(true);
    copy.free();
    g.free();
    ctx.free();
  });
});

describe('free / freed / Symbol.dispose', () => {
  test('free() sets freed; [Symbol.dispose]() frees', () => {
    const a = SslSession.create({ id: newId() });
    expect(a.freed).toBe(false);
    a.free();
    expect(a.freed).toBe(true);
    const b = SslSession.create({ id: newId() });
    b[Symbol.dispose]();
    expect(b.freed).toBe(true);
  });

  test('use after free → error with code ERR_SSL_FREED', () => {
    const s = SslSession.create({ id: newId(), cipher: 'AES128-GCM-SHA256', masterKey: Buffer.alloc(48, 1) });
    s.free();
    const calls: Array<() => unknown> = [
      () => s.id,
      () => s.time,
      () => s.timeout,
      () => s.references,
      () => s.resumable,
      () => s.protocol,
      () => s.toDER(),
      () => s.toPEM(),
      () => s.toText(),
      () => {
        s.time = 1;
      },
    ];
    for (const call of calls) {
      const err = catchError(call);
      expect(isError(err)).toBe(true);
      expect(err.code).toBe('ERR_SSL_FREED');
    }
  });

  test('free() of one JS object drops only its own reference', () => {
    const ctx = new SslContext();
    const s = SslSession.create({ id: newId() });
    ctx.addSession(s);
    const sid = s.id;
    expect(ctx.getSession(sid)).toBe(s); // the live object
    expect(s.references).toBe(2); // s, the cache
    s.free();
    const g = ctx.getSession(sid)!;
    expect(g).not.toBe(s); // s was freed: a new object with its own reference
    expect(g.references).toBe(2); // the cache, g
    expect(ctx.sessionCount).toBe(1); // still cached
    g.free();
    ctx.free();
  });
});
