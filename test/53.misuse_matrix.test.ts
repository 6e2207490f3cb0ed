// Misuse matrix, generated: every public method and accessor of
// SslContext, SslSession (and its static factories) and every function of `raw` ×
//   after free · wrong type · out of range · object from another context ·
//   context freed while sessions alive · session freed while cached
// → a typed error (TypeError / RangeError / OpenSSLError / Error with a code) or a defined
// result, and the caches involved are intact afterwards (list = count = lookups, exact
// reference counts, a flush empties them and gives every reference back).
// The member lists are read from the classes at run time, so a method added later is
// covered by the generic conditions without editing this file.
import { ErrorCode, OpenSSLError, raw, SslContext, SslSession } from '../lib';
import type { Protocol } from '../lib';

type AnyFn = (...a: unknown[]) => unknown;
type Outcome = { kind: 'ok'; value: unknown } | { kind: 'typed'; error: Error & { code?: string } } | { kind: 'untyped'; error: unknown };

function attempt(fn: () => unknown): Outcome {
  try {
    return { kind: 'ok', value: fn() };
  } catch (e) {
    const typed =
      e instanceof OpenSSLError || e instanceof TypeError || e instanceof RangeError || (e instanceof Error && typeof (e as { code?: unknown }).code === 'string');
    return typed ? { kind: 'typed', error: e as Error } : { kind: 'untyped', error: e };
  }
}

function expectTypedOrDefined(o: Outcome): void {
  if (o.kind === 'untyped') throw new Error(`untyped failure: ${String((o.error as Error)?.stack ?? o.error)}`);
}

function expectFreed(o: Outcome): void {
  expect({ kind: o.kind, code: o.kind === 'typed' ? o.error.code : undefined, value: o.kind === 'ok' ? String(o.value) : undefined }).toEqual({
    kind: 'typed',
    code: ErrorCode.FREED,
    value: undefined,
  });
}
const show = (v: unknown) => (typeof v === 'symbol' || typeof v === 'bigint' || typeof v === 'function' ? String(v) : JSON.stringify(v) ?? String(v));
/** a typed error of class `cls`, naming the offending value in the failure message */
function expectTypedClass(o: Outcome, cls: new (...a: never[]) => Error, bad: unknown): void {
  expect({ bad: show(bad), kind: o.kind, isClass: o.kind === 'typed' && o.error instanceof cls }).toEqual({ bad: show(bad), kind: 'typed', isClass: true });
}

// ---- members, read from the classes --------------------------------------------------
const INTERNAL = new Set(['constructor', 'rawAdd', 'rawRemove', 'deliverEvents', 'retainEvents', 'takeCallbackError']);
function members(proto: object): { methods: string[]; getters: string[]; setters: string[] } {
  const methods: string[] = [];
  const getters: string[] = [];
  const setters: string[] = [];
  for (const k of Object.getOwnPropertyNames(proto)) {
    if (INTERNAL.has(k)) continue;
    const d = Object.getOwnPropertyDescriptor(proto, k)!;
    if (typeof d.value === 'function') methods.push(k);
    if (d.get) getters.push(k);
    if (d.set) setters.push(k);
  }
  return { methods, getters, setters };
}
const CTX = members(SslContext.prototype);
const SESS = members(SslSession.prototype);
const RAW = Object.keys(raw);
const STATICS = ['create', 'fromDER', 'fromPEM'] as const;

// ---- fixtures ------------------------------------------------------------------------
let n = 0;
function freshId(): Buffer {
  const b = Buffer.alloc(32, 0x5a);
  b.writeUInt32BE(++n, 0);
  return b;
}
const mk = () => SslSession.create({ id: freshId(), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 1) });

interface World {
  ids: Buffer[];
  ctx: SslContext;
  other: SslContext;
  cached: SslSession[]; // our objects of the sessions cached in ctx
  foreign: SslSession; // cached in `other`
  loose: SslSession; // cached nowhere
}
function world(): World {
  const ctx = new SslContext();
  const other = new SslContext();
  const cached = [mk(), mk(), mk()];
  for (const s of cached) ctx.addSession(s);
  const foreign = mk();
  other.addSession(foreign);
  return { ids: cached.map((s) => s.id), ctx, other, cached, foreign, loose: mk() };
}

/**
 * The cache of `ctx` is consistent; `held` = our own objects (one reference each). Identity:
 * a listed session we hold is our very object; the others are objects this check made.
 */
function expectIntact(ctx: SslContext, held: SslSession[]): void {
  if (ctx.freed) return;
  const list = ctx.sessions();
  const made = list.filter((s) => !held.includes(s));
  try {
    expect(list).toHaveLength(ctx.sessionCount);
    expect(ctx.stats.number).toBe(ctx.sessionCount);
    expect(new Set(list.map((s) => s.serial)).size).toBe(list.length);
    for (const s of list) {
      expect(s.freed).toBe(false);
      expect(ctx.getSession(s.id, s.protocol as Protocol)).toBe(s);
      // one JS object per native session: its reference + the cache's
      expect(s.references).toBe(2);
      expect(held.filter((h) => h !== s && !h.freed && h.serial === s.serial)).toEqual([]);
    }
  } finally {
    made.forEach((s) => s.free());
  }
  // and it still works
  const probe = mk();
  expect(ctx.addSession(probe)).toBe(true);
  expect(ctx.removeSession(probe)).toBe(true);
  probe.free();
}

function teardown(w: World): void {
  for (const c of [w.ctx, w.other]) {
    if (c.freed) continue;
    c.flushSessions(0);
    expect(c.sessionCount).toBe(0);
    c.free();
  }
  for (const s of [...w.cached, w.foreign, w.loose]) {
    if (s.freed) continue;
    expect(s.references).toBe(1); // every cache gave its reference back
    s.free();
  }
}

// ---- argument tables -----------------------------------------------------------------
const WRONG: unknown[] = [null, {}, 'x', 12345, Symbol('s'), [], () => 1, BigInt(1), new Uint8Array(40), true];
const valid = (w: World): Record<string, unknown[]> => ({
  addSession: [w.loose],
  removeSession: [w.cached[0]],
  addSessions: [[w.loose]],
  removeSessions: [[w.cached[0]]],
  flushSessions: [0],
  getSession: [w.ids[1]],
  setNextSessionId: [Buffer.alloc(8, 1)],
  setTicketsEnabled: [false],
  setTicketKeys: [Buffer.alloc(48, 1), [Buffer.alloc(48, 2)]],
  setSessionIdContext: ['abc'],
  equals: [w.cached[0]],
  sessionCacheMode: [2],
  sessionCacheSize: [100],
  sessionTimeout: [100],
  getSessionCallback: [() => undefined],
  idContext: [Buffer.from('ctx')],
  time: [1000],
  timeout: [10],
  toDERInto: [Buffer.alloc(4096)],
});
const OUT_OF_RANGE: Record<string, unknown[][]> = {
  flushSessions: [[-1], [1.5], [NaN], [Infinity], [2 ** 64]],
  getSession: [[Buffer.alloc(0)], [Buffer.alloc(33)], [Buffer.alloc(8), 'SSLv9'], [Buffer.alloc(8), 'TLSv1.3']],
  setNextSessionId: [[Buffer.alloc(0)], [Buffer.alloc(33)]],
  setSessionIdContext: [[Buffer.alloc(33)], ['x'.repeat(33)]],
  setTicketKeys: [[Buffer.alloc(47)], [Buffer.alloc(96)], [Buffer.alloc(48), [Buffer.alloc(0)]]],
  sessionCacheMode: [[-1], [0x10000], [0x4], [1.5]],
  sessionCacheSize: [[-1], [1.5], [2 ** 64], [NaN]],
  sessionTimeout: [[-1], [2 ** 31], [0.5]],
  idContext: [[Buffer.alloc(33)]],
  time: [[-1], [2 ** 64], [NaN]],
  timeout: [[-1], [Infinity]],
  toDERInto: [[Buffer.alloc(4096), -1], [Buffer.alloc(4096), 1.5], [Buffer.alloc(4096), 4097], [Buffer.alloc(8)]],
};
const RAW_RANGE: Record<string, (w: World) => unknown[][]> = {
  SSL_CTX_flush_sessions: (w) => [[w.ctx, -1], [w.ctx, 0.5]],
  SSL_CTX_sess_set_cache_size: (w) => [[w.ctx, -1], [w.ctx, 2 ** 64]],
  SSL_CTX_set_timeout: (w) => [[w.ctx, -1]],
  SSL_CTX_set_session_cache_mode: (w) => [[w.ctx, -1], [w.ctx, 0x10000]],
  SSL_SESSION_set_time: (w) => [[w.loose, -1]],
  SSL_SESSION_set_timeout: (w) => [[w.loose, -1]],
};
/** raw functions whose first argument is a session (the others take a context first) */
const rawTakesSessionFirst = (name: string) => name.startsWith('SSL_SESSION_');
function rawValidArgs(name: string, w: World): unknown[] {
  if (rawTakesSessionFirst(name)) return name.includes('set_') ? [w.loose, 100] : [w.loose];
  if (/(add|remove)_sessions$/.test(name)) return [w.ctx, [name.includes('add') ? w.loose : w.cached[0]]]; // batch forms
  if (/add_session|remove_session/.test(name)) return [w.ctx, name.includes('add') ? w.loose : w.cached[0]];
  if (/flush/.test(name)) return [w.ctx, 0];
  if (/set_cache_size|set_timeout/.test(name)) return [w.ctx, 50];
  if (/set_session_cache_mode/.test(name)) return [w.ctx, 2];
  return [w.ctx];
}

/** `bad` is of the same kind as the valid argument (so it is not a wrong type) */
function sameKind(bad: unknown, good: unknown): boolean {
  if (typeof bad !== typeof good) return false;
  if (typeof bad !== 'object') return true;
  if (bad === null || good === null) return bad === null && good === null;
  if (bad instanceof Uint8Array || good instanceof Uint8Array) return bad instanceof Uint8Array && good instanceof Uint8Array;
  if (Array.isArray(bad) || Array.isArray(good)) return Array.isArray(bad) && Array.isArray(good);
  return Object.getPrototypeOf(bad) === Object.getPrototypeOf(good);
}
const ACCEPTS_STRING = new Set(['setSessionIdContext', 'idContext']);
const ACCEPTS_BYTES = new Set(['setSessionIdContext', 'idContext', 'getSession', 'setNextSessionId']);
const isAccepted = (member: string, bad: unknown, good: unknown) =>
  sameKind(bad, good) || (ACCEPTS_STRING.has(member) && typeof bad === 'string') || (ACCEPTS_BYTES.has(member) && bad instanceof Uint8Array);
/** frees whatever SslSession objects a call returned */
function release(o: Outcome): void {
  if (o.kind !== 'ok') return;
  const v = o.value;
  if (v instanceof SslSession) v.free();
  if (Array.isArray(v)) v.forEach((x) => x instanceof SslSession && x.free());
}

const call = (target: object, name: string, args: unknown[]) => () => (target as Record<string, AnyFn>)[name](...args);
const setProp = (target: object, name: string, v: unknown) => () => {
  (target as Record<string, unknown>)[name] = v;
};
const getProp = (target: object, name: string) => () => (target as Record<string, unknown>)[name];

test('the generated matrix sees the public API', () => {
  for (const m of ['addSession', 'removeSession', 'flushSessions', 'getSession', 'sessions', 'free']) expect(CTX.methods).toContain(m);
  for (const g of ['sessionCount', 'sessionCacheMode', 'sessionCacheSize', 'sessionTimeout', 'stats', 'freed']) expect(CTX.getters).toContain(g);
  for (const m of ['toDER', 'toPEM', 'toText', 'equals', 'free']) expect(SESS.methods).toContain(m);
  for (const g of ['id', 'time', 'timeout', 'protocol', 'references', 'resumable']) expect(SESS.getters).toContain(g);
  expect(RAW.length).toBeGreaterThanOrEqual(25);
});

// ---- 1. after free -------------------------------------------------------------------
describe('after free', () => {
  const CTX_NOOPS = new Set(['free']); // idempotent
  test.each(CTX.methods)('SslContext#%s on a freed context', (m) => {
    const w = world();
    w.ctx.free();
    const o = attempt(call(w.ctx, m, valid(w)[m] ?? []));
    if (CTX_NOOPS.has(m)) expect(o.kind).toBe('ok');
    else expectFreed(o);
    teardown(w);
  });
  test('SslContext#[Symbol.dispose] on a freed context is a no-op', () => {
    const w = world();
    w.ctx.free();
    expect(attempt(() => w.ctx[Symbol.dispose]()).kind).toBe('ok');
    teardown(w);
  });
  test.each(CTX.getters)('SslContext#%s (get) on a freed context', (g) => {
    const w = world();
    w.ctx.free();
    const o = attempt(getProp(w.ctx, g));
    if (g === 'freed') expect(o).toEqual({ kind: 'ok', value: true });
    else if (g === 'getSessionCallback') expect(o).toEqual({ kind: 'ok', value: undefined });
    else expectFreed(o);
    teardown(w);
  });
  test.each(CTX.setters)('SslContext#%s (set) on a freed context', (s) => {
    const w = world();
    w.ctx.free();
    expectFreed(attempt(setProp(w.ctx, s, valid(w)[s]?.[0])));
    teardown(w);
  });
  test.each(SESS.methods)('SslSession#%s on a freed session', (m) => {
    const w = world();
    const s = w.cached[2];
    s.free();
    const o = attempt(call(s, m, valid(w)[m] ?? []));
    if (m === 'free') expect(o.kind).toBe('ok');
    else expectFreed(o);
    // ... and a live session asked about a freed one
    if (m === 'equals') expectFreed(attempt(() => w.cached[0].equals(s)));
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
  test.each(SESS.getters)('SslSession#%s (get) on a freed session', (g) => {
    const w = world();
    w.loose.free();
    const o = attempt(getProp(w.loose, g));
    if (g === 'freed') expect(o).toEqual({ kind: 'ok', value: true });
    else expectFreed(o);
    teardown(w);
  });
  test.each(SESS.setters)('SslSession#%s (set) on a freed session', (s) => {
    const w = world();
    w.loose.free();
    expectFreed(attempt(setProp(w.loose, s, valid(w)[s]?.[0])));
    teardown(w);
  });
  test.each(RAW)('raw.%s with a freed context / session', (name) => {
    const w = world();
    const args = rawValidArgs(name, w);
    if (rawTakesSessionFirst(name)) w.loose.free();
    else w.ctx.free();
    expectFreed(attempt(() => (raw as unknown as Record<string, AnyFn>)[name](...args)));
    // a live context with a freed session argument
    if (/add_session|remove_session/.test(name)) {
      const v = world();
      const s = mk();
      s.free();
      expectFreed(attempt(() => (raw as unknown as Record<string, AnyFn>)[name](v.ctx, /(add|remove)_sessions$/.test(name) ? [s] : s)));
      expectIntact(v.ctx, [...v.cached, v.loose]);
      teardown(v);
    }
    teardown(w);
  });
  test.each(['addSession', 'removeSession', 'equals'])('a freed session as the argument of %s', (m) => {
    const w = world();
    const s = mk();
    s.free();
    const target = m === 'equals' ? w.cached[0] : w.ctx;
    expectFreed(attempt(call(target, m, [s])));
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
});

// ---- 2. wrong type -------------------------------------------------------------------
describe('wrong type', () => {
  test.each(CTX.methods.filter((m) => m !== 'free'))('SslContext#%s with arguments of every wrong type', (m) => {
    const w = world();
    const good = valid(w)[m];
    for (const bad of WRONG) {
      const o = attempt(call(w.ctx, m, [bad]));
      expectTypedOrDefined(o);
      release(o);
      // a member with a known argument type refuses every other type with a TypeError
      if (good && good.length > 0 && !isAccepted(m, bad, good[0])) expectTypedClass(o, TypeError, bad);
    }
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
  test.each(CTX.setters)('SslContext#%s = every wrong type', (s) => {
    const w = world();
    for (const bad of WRONG) {
      const o = attempt(setProp(w.ctx, s, bad));
      if (isAccepted(s, bad, valid(w)[s]?.[0])) {
        expectTypedOrDefined(o);
        continue;
      }
      expectTypedClass(o, TypeError, bad);
    }
    if (s === 'getSessionCallback') w.ctx.getSessionCallback = undefined;
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
  test.each(SESS.methods.filter((m) => m !== 'free'))('SslSession#%s with arguments of every wrong type', (m) => {
    const w = world();
    for (const bad of WRONG) {
      const o = attempt(call(w.cached[0], m, [bad]));
      expectTypedOrDefined(o);
      release(o);
      if (m === 'equals') expect(o.kind).toBe('typed');
    }
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
  test.each(SESS.setters)('SslSession#%s = every wrong type', (s) => {
    const w = world();
    for (const bad of WRONG) {
      if (isAccepted(s, bad, valid(w)[s]?.[0])) continue; // an accepted type
      expectTypedClass(attempt(setProp(w.cached[0], s, bad)), TypeError, bad);
    }
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
  test.each(STATICS)('SslSession.%s with every wrong type', (f) => {
    for (const bad of [...WRONG, undefined]) {
      const o = attempt(() => (SslSession as unknown as Record<string, AnyFn>)[f](bad));
      expectTypedOrDefined(o);
      if (o.kind === 'ok') (o.value as SslSession).free();
    }
    // create: every option of the wrong type
    for (const key of ['id', 'protocol', 'idContext', 'time', 'timeout', 'masterKey', 'cipher']) {
      for (const bad of WRONG) {
        const o = attempt(() => SslSession.create({ id: freshId(), [key]: bad } as unknown as Parameters<typeof SslSession.create>[0]));
        expectTypedOrDefined(o);
        if (o.kind === 'ok') (o.value as SslSession).free();
      }
    }
  });
  test.each(RAW)('raw.%s with swapped and wrong argument types', (name) => {
    const w = world();
    const f = (raw as unknown as Record<string, AnyFn>)[name];
    const [first, ...rest] = rawValidArgs(name, w);
    const swapped = rawTakesSessionFirst(name) ? w.ctx : w.loose; // a session where a context belongs, and vice versa
    expect(attempt(() => f(swapped, ...rest)).kind).toBe('typed');
    for (const bad of WRONG) {
      expect(attempt(() => f(bad, ...rest)).kind).toBe('typed');
      if (rest.length > 0) expectTypedOrDefined(attempt(() => f(first, bad)));
      // an object that only looks like one of ours
      expect(attempt(() => f(Object.create(rawTakesSessionFirst(name) ? SslSession.prototype : SslContext.prototype), ...rest)).kind).not.toBe('untyped');
    }
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
});

// ---- 3. out of range -----------------------------------------------------------------
describe('out of range', () => {
  test.each(Object.keys(OUT_OF_RANGE).filter((k) => CTX.methods.includes(k)))('SslContext#%s out of range', (m) => {
    const w = world();
    for (const args of OUT_OF_RANGE[m]) {
      const o = attempt(call(w.ctx, m, args));
      expect(o.kind).toBe('typed');
      if (o.kind === 'typed') expect(o.error).toBeInstanceOf(RangeError);
    }
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
  test.each(Object.keys(OUT_OF_RANGE).filter((k) => CTX.setters.includes(k)))('SslContext#%s = out of range', (s) => {
    const w = world();
    const before = (w.ctx as unknown as Record<string, unknown>)[s];
    for (const [v] of OUT_OF_RANGE[s]) {
      const o = attempt(setProp(w.ctx, s, v));
      expect(o.kind).toBe('typed');
      if (o.kind === 'typed') expect(o.error).toBeInstanceOf(RangeError);
    }
    expect((w.ctx as unknown as Record<string, unknown>)[s]).toBe(before); // unchanged
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
  test.each(Object.keys(OUT_OF_RANGE).filter((k) => SESS.setters.includes(k)))('SslSession#%s = out of range', (s) => {
    const w = world();
    const target = w.cached[0]; // a cached session: a refused change must not touch the cache
    const before = (target as unknown as Record<string, unknown>)[s];
    for (const [v] of OUT_OF_RANGE[s]) {
      const o = attempt(setProp(target, s, v));
      expect(o.kind).toBe('typed');
      if (o.kind === 'typed') expect(o.error).toBeInstanceOf(RangeError);
    }
    expect((target as unknown as Record<string, unknown>)[s]).toEqual(before);
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
  test('SslSession.create out of range', () => {
    for (const o of [
      { id: Buffer.alloc(0) },
      { id: Buffer.alloc(33) },
      { id: freshId(), protocol: 'SSLv9' },
      { id: freshId(), idContext: Buffer.alloc(33) },
      { id: freshId(), masterKey: Buffer.alloc(49) },
      { id: freshId(), time: -1 },
      { id: freshId(), timeout: -1 },
      { id: freshId(), cipher: 'NO-SUCH-CIPHER' },
    ]) {
      const r = attempt(() => SslSession.create(o as Parameters<typeof SslSession.create>[0]));
      expect(r.kind).toBe('typed');
      if (r.kind === 'typed') expect(r.error).toBeInstanceOf(RangeError);
    }
  });
  test.each(Object.keys(RAW_RANGE))('raw.%s out of range', (name) => {
    const w = world();
    for (const args of RAW_RANGE[name](w)) {
      const o = attempt(() => (raw as unknown as Record<string, AnyFn>)[name](...args));
      expect(o.kind).toBe('typed');
      if (o.kind === 'typed') expect(o.error).toBeInstanceOf(RangeError);
    }
    expect(w.ctx.sessionCacheSize).toBe(20480);
    expect(w.ctx.sessionTimeout).toBe(300);
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
});

// ---- 4. object from another context --------------------------------------------------
describe('object from another context', () => {
  const adders: [string, (w: World, s: SslSession) => unknown][] = [
    ['addSession', (w, s) => w.ctx.addSession(s)],
    ['raw.SSL_CTX_add_session', (w, s) => raw.SSL_CTX_add_session(w.ctx, s)],
    ['raw.SSL_add_session', (w, s) => raw.SSL_add_session(w.ctx, s)],
  ];
  if (CTX.methods.includes('addSessions')) adders.push(['addSessions', (w, s) => (w.ctx as unknown as Record<string, AnyFn>).addSessions([s])]);
  test.each(adders)('%s of a session cached by another context is refused', (_name, add) => {
    const w = world();
    const o = attempt(() => add(w, w.foreign));
    expect(o.kind).toBe('typed');
    if (o.kind === 'typed') expect(o.error.code).toBe(ErrorCode.SESSION_IN_OTHER_CONTEXT);
    expect(w.ctx.sessionCount).toBe(3);
    expect(w.other.sessionCount).toBe(1);
    // its copy is fine
    const copy = SslSession.fromDER(w.foreign.toDER());
    expect(add(w, copy)).toBeTruthy();
    expectIntact(w.ctx, [...w.cached, copy]);
    expectIntact(w.other, [w.foreign]);
    copy.free();
    teardown(w);
  });
  const removers: [string, (w: World, s: SslSession) => unknown][] = [
    ['removeSession', (w, s) => w.ctx.removeSession(s)],
    ['raw.SSL_CTX_remove_session', (w, s) => raw.SSL_CTX_remove_session(w.ctx, s)],
    ['raw.SSL_remove_session', (w, s) => raw.SSL_remove_session(w.ctx, s)],
  ];
  if (CTX.methods.includes('removeSessions')) removers.push(['removeSessions', (w, s) => (w.ctx as unknown as Record<string, AnyFn>).removeSessions([s])]);
  test.each(removers)('%s of a session cached by another context changes nothing', (_name, remove) => {
    const w = world();
    const o = attempt(() => remove(w, w.foreign));
    expect(o.kind).toBe('ok');
    if (o.kind === 'ok') expect([false, 0]).toContain(o.value);
    expect(w.foreign.resumable).toBe(true);
    expect(w.other.sessionCount).toBe(1);
    expectIntact(w.ctx, [...w.cached, w.loose]);
    expectIntact(w.other, [w.foreign]);
    teardown(w);
  });
  test('getSession finds only its own cache; equals compares native objects across contexts', () => {
    const w = world();
    expect(w.ctx.getSession(w.foreign.id)).toBeUndefined();
    const g = w.other.getSession(w.foreign.id)!;
    expect(g.equals(w.foreign)).toBe(true);
    expect(g.equals(w.cached[0])).toBe(false);
    g.free();
    teardown(w);
  });
});

// ---- 5. context freed while sessions alive -------------------------------------------
describe('context freed while sessions alive', () => {
  test.each(SESS.methods.filter((m) => m !== 'free'))('SslSession#%s after its context was freed', (m) => {
    const w = world();
    const removed: SslSession[] = [];
    w.ctx.on('removeSession', (s: SslSession) => removed.push(s));
    w.ctx.free();
    expect(removed).toHaveLength(3);
    // identity: the events carry our own objects (nothing to free)
    for (const r of removed) expect(w.cached).toContain(r);
    const s = w.cached[0];
    expect(s.references).toBe(1);
    expect(s.resumable).toBe(false);
    const o = attempt(call(s, m, valid(w)[m] ?? []));
    expect(o.kind).toBe('ok');
    teardown(w);
  });
  test.each(SESS.getters)('SslSession#%s (get) after its context was freed', (g) => {
    const w = world();
    w.ctx.free();
    expect(attempt(getProp(w.cached[1], g)).kind).toBe('ok');
    teardown(w);
  });
  test('its sessions can be cached again elsewhere, and the other context is untouched', () => {
    const w = world();
    w.ctx.free();
    for (const s of w.cached) expect(w.other.addSession(s)).toBe(true);
    expectIntact(w.other, [...w.cached, w.foreign]);
    teardown(w);
  });
});

// ---- 6. session freed while cached ---------------------------------------------------
describe('session freed while cached', () => {
  test.each(CTX.methods.filter((m) => m !== 'free'))('SslContext#%s while a cached session has been freed', (m) => {
    const w = world();
    const gone = w.cached[1];
    const id = gone.id;
    gone.free(); // the cache keeps its own reference
    const args = m === 'getSession' ? [id] : ['addSession', 'removeSession', 'equals'].includes(m) ? [gone] : valid(w)[m] ?? [];
    const o = attempt(call(w.ctx, m, args));
    if (m === 'addSession' || m === 'removeSession') expectFreed(o);
    else expectTypedOrDefined(o);
    release(o);
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
  test('the cached session is still there, reachable by lookup, and removable through it', () => {
    const w = world();
    const gone = w.cached[1];
    const id = gone.id;
    gone.free();
    const again = w.ctx.getSession(id)!;
    expect(again.references).toBe(2); // the cache + this object
    expect(w.ctx.removeSession(again)).toBe(true);
    expect(again.references).toBe(1);
    expect(again.resumable).toBe(false);
    again.free();
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
  test.each(RAW.filter((r) => rawTakesSessionFirst(r) || /session$/.test(r)))('raw.%s with a freed-while-cached session', (name) => {
    const w = world();
    const gone = w.cached[0];
    gone.free();
    const args = rawTakesSessionFirst(name) ? [gone, 5] : [w.ctx, gone];
    expectFreed(attempt(() => (raw as unknown as Record<string, AnyFn>)[name](...args)));
    expect(w.ctx.sessionCount).toBe(3);
    expectIntact(w.ctx, [...w.cached, w.loose]);
    teardown(w);
  });
});
