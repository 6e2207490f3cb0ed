// addSessions / removeSessions (and raw's batch forms): addSession / removeSession for each
// element in order, in one native call, with the same results, events and errors.
import { raw, SslContext, SslSession } from '../lib';

const id = (n: number) => {
  const b = Buffer.alloc(32);
  b.writeUInt32BE(n * 2654435761 >>> 0, 0);
  b.writeUInt32BE(n, 28);
  return b;
};
const make = (n: number) => SslSession.create({ id: id(n) });

test('addSessions returns how many were added (identical cached objects count 0)', () => {
  const ctx = new SslContext();
  const a = make(1);
  const b = make(2);
  const c = make(3);
  expect(ctx.addSession(b)).toBe(true);
  expect(ctx.addSessions([a, b, c])).toBe(2);
  const listed = ctx.sessions(); // the live objects themselves (one SslSession per SSL_SESSION)
  expect(listed).toEqual([c, a, b]);
  expect(listed.map((s) => s.id.readUInt32BE(28))).toEqual([3, 1, 2]);
  expect([a.references, b.references, c.references]).toEqual([2, 2, 2]);
  expect(ctx.removeSessions([a, a, c])).toBe(2);
  expect(ctx.sessionCount).toBe(1);
  expect(a.resumable).toBe(false);
  expect(raw.SSL_CTX_add_sessions(ctx, [a, c])).toBe(2);
  expect(raw.SSL_CTX_remove_sessions(ctx, [a, b, c])).toBe(3);
  expect(ctx.sessionCount).toBe(0);
});

test('evictions of a batch arrive as events once the batch is done, in order', () => {
  const ctx = new SslContext({ sessionCacheSize: 2 });
  const seen: [number, string, number][] = [];
  ctx.on('removeSession', (s: SslSession, why: string) => seen.push([s.id.readUInt32BE(28), why, ctx.sessionCount]));
  const batch = [make(1), make(2), make(3), make(4)];
  expect(ctx.addSessions(batch)).toBe(4);
  // first-in first-out; every event sees the final cache (delivered after the call)
  expect(seen).toEqual([
    [1, 'evict', 2],
    [2, 'evict', 2],
  ]);
  expect(ctx.stats.cacheFull).toBe(2);
});

test('a wrong element is refused before anything is added', () => {
  const ctx = new SslContext();
  const a = make(1);
  expect(() => ctx.addSessions([a, {} as SslSession])).toThrow(TypeError);
  expect(ctx.sessionCount).toBe(0);
  const freed = make(2);
  freed.free();
  expect(() => ctx.addSessions([a, freed])).toThrow(expect.objectContaining({ code: 'ERR_SSL_FREED' }));
  expect(ctx.sessionCount).toBe(0);
});

test('a session cached by another context stops the batch there', () => {
  const mine = new SslContext();
  const other = new SslContext();
  const a = make(1);
  const foreign = make(2);
  const c = make(3);
  other.addSession(foreign);
  expect(() => mine.addSessions([a, foreign, c])).toThrow(expect.objectContaining({ code: 'ERR_SESSION_IN_OTHER_CONTEXT' }));
  expect(mine.sessions().map((s) => s.id.readUInt32BE(28))).toEqual([1]);
  expect(other.sessionCount).toBe(1);
  expect(foreign.references).toBe(2);
});

test('each batch is its own elements only: a shorter batch after a longer one, an empty one, and one started from inside another', () => {
  const ctx = new SslContext();
  const long = Array.from({ length: 1500 }, (_, i) => make(100 + i));
  expect(ctx.addSessions(long)).toBe(1500);
  expect(ctx.removeSessions(long)).toBe(1500);
  const short = [make(1), make(2)];
  expect(ctx.addSessions(short)).toBe(2);
  expect(ctx.sessions()).toEqual([short[1], short[0]]);
  expect(ctx.addSessions([])).toBe(0);
  expect(ctx.removeSessions([])).toBe(0);
  expect(ctx.sessionCount).toBe(2);

  // an index getter that runs a batch of its own while the outer batch is being read
  const inner = [make(3), make(4), make(5)];
  const outer = [make(6), make(7)];
  let innerAdded = -1;
  const tricky: SslSession[] = [outer[0]];
  Object.defineProperty(tricky, 1, {
    get() {
      innerAdded = ctx.addSessions(inner);
      return outer[1];
    },
    enumerable: true,
  });
  expect(ctx.addSessions(tricky)).toBe(2);
  expect(innerAdded).toBe(3);
  expect(ctx.sessionCount).toBe(7);
  for (const s of [...short, ...inner, ...outer]) expect(ctx.getSession(s.id)).toBe(s);
  // a failed batch (a wrong element) leaves the next one whole
  expect(() => ctx.removeSessions([inner[0], {} as SslSession])).toThrow(TypeError);
  expect(ctx.removeSessions([...inner, ...outer])).toBe(5);
  expect(ctx.sessions()).toEqual([short[1], short[0]]);
});
