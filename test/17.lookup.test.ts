// getSession(id, protocol): hash lookup without counters; sessions(): the list, newest first.
import { SslContext, SslSession } from '../lib';
import type { Protocol } from '../lib';
import { listIds, newId, expectKind, contextPerTest, sessionHex as h } from './helpers/util';

let ctx: SslContext;
let pool: SslSession[] = [];
contextPerTest((c) => ((ctx = c), (pool = [])), () => pool);

function mk(opts: Partial<{ id: Buffer; protocol: Protocol; time: number }> = {}): SslSession {
  const s = SslSession.create({ id: newId(), ...opts });
  pool.push(s);
  return s;
}

describe('getSession(id, protocol?)', () => {
  test('finds a cached session: the live object when there is one, no new reference', () => {
    const s = mk();
    ctx.addSession(s);
    expect(s.references).toBe(2);
    const g = ctx.getSession(s.id)!;
    expect(g).toBe(s);
    expect(s.references).toBe(2);
    const sid = s.id;
    s.free();
    const g2 = ctx.getSession(sid)!;
    expect(g2).toBeInstanceOf(SslSession);
    expect(g2).not.toBe(s);
    expect(g2.id.equals(sid)).toBe(true);
    expect(g2.references).toBe(2); // the cache + the new object's own
    expect(ctx.getSession(sid)).toBe(g2);
    expect(g2.references).toBe(2);
    g2.free();
  });

  test('unknown id → undefined, nothing changes', () => {
    const s = mk();
    ctx.addSession(s);
    expect(ctx.getSession(newId())).toBeUndefined();
    expect(s.references).toBe(2);
    expect(ctx.sessionCount).toBe(1);
  });

  test('no counter changes: neither hits nor misses', () => {
    const s = mk();
    ctx.addSession(s);
    ctx.getSession(s.id)!.free();
    ctx.getSession(newId());
    const st = ctx.stats;
    expect(st.hits).toBe(0);
    expect(st.misses).toBe(0);
    expect(st.cbHits).toBe(0);
    expect(st.timeouts).toBe(0);
  });

  test("protocol defaults to 'TLSv1.2' and is part of the key", () => {
    const id = newId();
    const s11 = mk({ id, protocol: 'TLSv1.1' });
    ctx.addSession(s11);
    expect(ctx.getSession(id)).toBeUndefined();
    expect(ctx.getSession(id, 'TLSv1.2')).toBeUndefined();
    const g = ctx.getSession(id, 'TLSv1.1')!;
    expect(g.equals(s11)).toBe(true);
    g.free();
    const s12 = mk({ id });
    ctx.addSession(s12);
    const g12 = ctx.getSession(id)!;
    expect(g12.equals(s12)).toBe(true);
    expect(g12.protocol).toBe('TLSv1.2');
    g12.free();
  });

  test('the id length is part of the key: a prefix does not match', () => {
    const s = mk({ id: newId(16) });
    ctx.addSession(s);
    expect(ctx.getSession(s.id.subarray(0, 8))).toBeUndefined();
    expect(ctx.getSession(Buffer.concat([s.id, Buffer.from([0])]))).toBeUndefined();
  });

  test('short ids (1–3 bytes) are found: the lookup key is zeroed past the id (1.0.2 hashes 4 bytes)', () => {
    for (const len of [1, 2, 3]) {
      for (let k = 0; k < 8; k++) {
        const id = Buffer.alloc(len);
        for (let i = 0; i < len; i++) id[i] = (0x31 + k * 17 + i * 5) & 0xff;
        const s = mk({ id });
        expect(ctx.addSession(s)).toBe(true);
        const g = ctx.getSession(Buffer.from(id))!;
        expect(g).toBeDefined();
        expect(g.equals(s)).toBe(true);
        g.free();
      }
    }
  });

  test('an expired session is still returned (no time check in the lookup)', () => {
    const s = mk({ time: 1 });
    ctx.addSession(s);
    const g = ctx.getSession(s.id)!;
    expect(g).toBeDefined();
    expect(g.equals(s)).toBe(true);
    g.free();
    expect(ctx.sessionCount).toBe(1);
    expect(ctx.stats.timeouts).toBe(0);
  });

  test('does not consult the get callback', () => {
    let calls = 0;
    ctx.getSessionCallback = () => {
      calls++;
      return undefined;
    };
    ctx.getSession(newId());
    expect(calls).toBe(0);
    expect(ctx.stats.cbHits).toBe(0);
  });

  test('id empty or over 32 bytes → RangeError', () => {
    expectKind(() => ctx.getSession(Buffer.alloc(0)), 'RangeError');
    expectKind(() => ctx.getSession(Buffer.alloc(33, 1)), 'RangeError');
  });

  test('wrong types → TypeError', () => {
    // @ts-expect-error deliberate wrong type
    expectKind(() => ctx.getSession('abcd'), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => ctx.getSession(), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => ctx.getSession(newId(), 12), 'TypeError');
  });
});

describe('sessions()', () => {
  test('empty cache → empty array', () => {
    expect(ctx.sessions()).toEqual([]);
  });

  test('newest first (OpenSSL list order)', () => {
    const list = [mk({ time: 10 }), mk({ time: 20 }), mk({ time: 30 }), mk({ time: 40 })];
    list.forEach((s) => ctx.addSession(s));
    const got = ctx.sessions();
    expect(got.map((s) => s.time)).toEqual([40, 30, 20, 10]);
    expect(got.map(h)).toEqual([...list].reverse().map(h));
    got.forEach((s, i) => expect(s.equals(list[list.length - 1 - i])).toBe(true));
    got.forEach((s) => s.free());
  });

  test('each element is the live object when there is one, else a new one with its own reference', () => {
    const list = [mk(), mk()];
    list.forEach((s) => ctx.addSession(s));
    const got = ctx.sessions();
    expect(got.every((s) => s instanceof SslSession)).toBe(true);
    expect([...got].reverse()).toEqual(list);
    expect(got[1]).toBe(list[0]);
    expect(list.map((s) => s.references)).toEqual([2, 2]);
    const id0 = list[0].id;
    list[0].free();
    const again = ctx.sessions();
    expect(again[0]).toBe(list[1]);
    expect(again[1]).not.toBe(list[0]);
    expect(again[1].id.equals(id0)).toBe(true);
    expect(again[1].references).toBe(2);
    expect(list[1].references).toBe(2);
    again[1].free();
  });

  test('the returned array is a snapshot: later cache changes do not alter it', () => {
    const [a, b] = [mk(), mk()];
    ctx.addSession(a);
    const snap = ctx.sessions();
    ctx.addSession(b);
    ctx.removeSession(a);
    expect(snap.length).toBe(1);
    expect(snap[0].equals(a)).toBe(true);
    expect(listIds(ctx)).toEqual([h(b)]);
    snap.forEach((s) => s.free());
  });

  test('length equals sessionCount for a larger cache', () => {
    const list = Array.from({ length: 50 }, () => mk());
    list.forEach((s) => ctx.addSession(s));
    const got = ctx.sessions();
    expect(got.length).toBe(50);
    expect(ctx.sessionCount).toBe(50);
    expect(new Set(got.map(h)).size).toBe(50);
    got.forEach((s) => s.free());
  });
});
