// The store path without session objects: a store's DER goes into the
// cache through one native call (SslContext[kAddSessionDER]: fromDER's decoder, the id
// check, SSL_CTX_add_session) instead of SslSession.fromDER + addSession + free. A store's
// bytes are an attack surface (SECURITY.md, "The store path"), so every hostile input
// SslSession.fromDER refuses must be refused here too, with nothing cached and no event;
// and what is accepted must be the very session fromDER reads. Real OpenSSL 1.0.2.
import { EventEmitter } from 'events';
import { randomBytes } from 'crypto';
import * as fc from 'fast-check';
import { generateSelfSigned, SessionCacheMode, SslContext, SslSession } from '../lib';
import { native, NativeHandshakeResult, NativeSessionHandle } from '../lib/binding/native';
import { kAddSessionDER, kFromHandle, kHandle } from '../lib/openssl/internal';
import { callOpenSSL } from '../lib/openssl/openssl_call';
import type { SessionStore } from '../lib/stores/session_store';
import { SessionResumption } from '../lib/tls/session_resumption';
import { newId } from './helpers/util';

const D = require('../scripts/lib/session_der.js');

const ID = Buffer.alloc(32, 0x5a);

function goodDER(id: Buffer = ID): Buffer {
  const s = SslSession.create({ id, cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 7), time: 1700000000, timeout: 300 });
  const der = s.toDER();
  s.free();
  return der;
}

/** what the old path (fromDER, id check) made of `der` offered for `id`: the DER it would cache, or why not */
function oldPath(id: Buffer, der: Buffer): { cached: Buffer } | { refused: 'undecodable' | 'otherId' } {
  let s: SslSession;
  try {
    s = SslSession.fromDER(der);
  } catch {
    return { refused: 'undecodable' };
  }
  try {
    return s.id.equals(id) ? { cached: s.toDER() } : { refused: 'otherId' };
  } finally {
    s.free();
  }
}

/** the new path on a fresh context: its answer, what it cached, and the events it delivered */
function newPath(id: Buffer, der: Buffer): { result: string; cached: Buffer[]; events: number } {
  const ctx = new SslContext({ sessionCacheSize: 100 });
  let events = 0;
  ctx.on('newSession', () => (events += 1));
  ctx.on('removeSession', () => (events += 1));
  try {
    const result = ctx[kAddSessionDER](id, der);
    const cached = ctx.sessions().map((s) => {
      const d = s.toDER();
      s.free();
      return d;
    });
    return { result, cached, events };
  } finally {
    ctx.removeAllListeners();
    ctx.free();
  }
}

/** the hostile answers a store can give, and what fromDER says of each (test/18, test/59, test/64) */
function hostile(): [string, Buffer][] {
  const good = goodDER();
  return [
    ['truncated by 7 bytes', good.subarray(0, good.length - 7)],
    ['truncated to the header', good.subarray(0, 2)],
    ['one trailing zero byte', Buffer.concat([good, Buffer.from([0])])],
    ['two sessions back to back', Buffer.concat([good, good])],
    ['empty', Buffer.alloc(0)],
    ['random bytes', randomBytes(good.length)],
    ['not a SEQUENCE', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])],
    ['an id of 40 bytes (1.0.2 would keep 32)', D.withId(good, Buffer.concat([ID, Buffer.alloc(8, 1)]))],
    ['a master key of 49 bytes (1.0.2 would keep 48)', D.withMasterKey(good, Buffer.alloc(49, 1))],
    ['time 2^63-1', D.withTimes(good, { time: 2n ** 63n - 1n })],
    ['time 2^53', D.withTimes(good, { time: 2n ** 53n })],
    ['time -1', D.withTimes(good, { time: -1n })],
    ['timeout 2^63-1', D.withTimes(good, { timeout: 2n ** 63n - 1n })],
    ['timeout -1', D.withTimes(good, { timeout: -1n })],
    ['a time INTEGER of 9 bytes', D.withTimes(good, { time: 2n ** 70n })],
    ["OpenSSL 3's format (a [13] flags field)", D.tlv(0x30, Buffer.concat([...D.fields(good).map((f: { bytes: Buffer }) => f.bytes), D.tlv(0xad, D.integer(0))]))],
  ];
}

describe('SslContext[kAddSessionDER]: the same refusals as SslSession.fromDER', () => {
  test.each(hostile())('%s: refused as fromDER refuses it; nothing cached, no event', (_name, der) => {
    expect(oldPath(ID, der)).toEqual({ refused: 'undecodable' });
    expect(newPath(ID, der)).toEqual({ result: 'undecodable', cached: [], events: 0 });
  });

  test('a session for another id is not cached (no planting)', () => {
    const der = goodDER(newId());
    expect(oldPath(ID, der)).toEqual({ refused: 'otherId' });
    expect(newPath(ID, der)).toEqual({ result: 'otherId', cached: [], events: 0 });
    // an id that is a prefix of the session's, or the session's id with one more byte
    expect(newPath(ID.subarray(0, 16), goodDER()).result).toBe('otherId');
    expect(newPath(Buffer.alloc(8, 1), goodDER(Buffer.alloc(9, 1))).result).toBe('otherId');
  });

  test('an empty-id session matches no offered id and is never cached', () => {
    const der = D.withId(goodDER(), Buffer.alloc(0));
    expect(oldPath(ID, der)).toEqual({ refused: 'otherId' });
    expect(newPath(ID, der)).toEqual({ result: 'otherId', cached: [], events: 0 });
  });

  test('a good session is cached as the very session fromDER reads (same DER), under its id', () => {
    for (const id of [ID, newId(1), newId(16)]) {
      const der = goodDER(id);
      const old = oldPath(id, der);
      const r = newPath(id, der);
      expect(r.result).toBe('added');
      expect(r.cached).toEqual([(old as { cached: Buffer }).cached]);
      expect(r.cached[0].equals(der)).toBe(true);
    }
  });

  test('the largest safe time and timeout are accepted, as fromDER accepts them', () => {
    const der = D.withTimes(goodDER(), { time: 2n ** 53n - 1n, timeout: 2n ** 53n - 1n });
    const r = newPath(ID, der);
    expect(r.result).toBe('added');
    const s = SslSession.fromDER(r.cached[0]);
    expect(s.time).toBe(Number.MAX_SAFE_INTEGER);
    s.free();
  });

  test('random mutations of a good DER: accepted exactly when fromDER accepts them, and then the same session', () => {
    const good = goodDER();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: -8, max: 4 }),
        (edits, resize) => {
          let der = Buffer.from(good);
          for (const [at, v] of edits) der[at] = v;
          if (resize < 0) der = der.subarray(0, der.length + resize);
          else if (resize > 0) der = Buffer.concat([der, randomBytes(resize)]);
          const old = oldPath(ID, der);
          const r = newPath(ID, der);
          if ('refused' in old) expect(r).toEqual({ result: old.refused, cached: [], events: 0 });
          else {
            expect(r.result).toBe('added');
            expect(r.cached).toEqual([old.cached]);
          }
        },
      ),
      { numRuns: 300, seed: 14 },
    );
  });

  test('arguments: id must be a Buffer of 1 to 32 bytes, der a Buffer (TypeError / RangeError); a freed context → ERR_SSL_FREED', () => {
    const ctx = new SslContext();
    const der = goodDER();
    expect(() => ctx[kAddSessionDER]('id' as unknown as Buffer, der)).toThrow(TypeError);
    expect(() => ctx[kAddSessionDER](Buffer.alloc(0), der)).toThrow(RangeError);
    expect(() => ctx[kAddSessionDER](Buffer.alloc(33), der)).toThrow(RangeError);
    expect(() => ctx[kAddSessionDER](ID, 'der' as unknown as Buffer)).toThrow(TypeError);
    expect(ctx.sessionCount).toBe(0);
    ctx.free();
    expect(() => ctx[kAddSessionDER](ID, der)).toThrow(expect.objectContaining({ code: 'ERR_SSL_FREED' }));
  });
});

describe('SslContext[kAddSessionDER]: events and the cache as addSession', () => {
  test("an add over the cache size evicts the oldest, reported 'evict' as addSession reports it", () => {
    const viaDER = new SslContext({ sessionCacheSize: 2 });
    const viaObject = new SslContext({ sessionCacheSize: 2 });
    const seen: Record<string, string[]> = { viaDER: [], viaObject: [] };
    viaDER.on('removeSession', (s, why) => seen.viaDER.push(`${s.id.toString('hex')} ${why}`));
    viaObject.on('removeSession', (s, why) => seen.viaObject.push(`${s.id.toString('hex')} ${why}`));
    const ids = [newId(), newId(), newId(), newId()];
    for (const id of ids) {
      const der = goodDER(id);
      expect(viaDER[kAddSessionDER](id, der)).toBe('added');
      const s = SslSession.fromDER(der);
      viaObject.addSession(s);
      s.free();
    }
    expect(seen.viaDER).toEqual(seen.viaObject);
    expect(seen.viaDER).toEqual([`${ids[0].toString('hex')} evict`, `${ids[1].toString('hex')} evict`]);
    expect(viaDER.sessions().map((s) => s.id)).toEqual(viaObject.sessions().map((s) => s.id));
    viaDER.free();
    viaObject.free();
  });

  test('a session with the id of a cached one replaces it (no event), as addSession does', () => {
    const ctx = new SslContext();
    const events: string[] = [];
    ctx.on('removeSession', (_s, why) => events.push(why));
    expect(ctx[kAddSessionDER](ID, goodDER())).toBe('added');
    const newer = D.withTimes(goodDER(), { time: 1800000000n });
    expect(ctx[kAddSessionDER](ID, newer)).toBe('added');
    expect(ctx.sessionCount).toBe(1);
    expect(ctx.getSession(ID)!.time).toBe(1800000000);
    expect(events).toEqual([]);
    ctx.free();
  });

  test('a listener that throws on the eviction: thrown after the add, the other listeners still called', () => {
    const ctx = new SslContext({ sessionCacheSize: 1 });
    const first = newId();
    ctx[kAddSessionDER](first, goodDER(first));
    const heard: string[] = [];
    ctx.on('removeSession', () => {
      throw new Error('listener');
    });
    ctx.on('removeSession', (s, why) => heard.push(`${s.id.equals(first)} ${why}`));
    expect(() => ctx[kAddSessionDER](ID, goodDER())).toThrow('listener');
    expect(heard).toEqual(['true evict']);
    expect(ctx.getSession(ID)).toBeDefined();
    ctx.removeAllListeners();
    ctx.free();
  });
});

describe('SessionResumption.addSessionDER (the store answer path of TlsServer)', () => {
  function resumption(ctx: SslContext): { r: SessionResumption; errors: unknown[] } {
    const server = new EventEmitter();
    const errors: unknown[] = [];
    server.on('sessionStoreError', (e) => errors.push(e));
    const r = new SessionResumption({ server, context: ctx, store: undefined, timeout: 1000, concurrency: 1, negativeCacheSize: 0, negativeCacheTtl: 0 });
    return { r, errors };
  }

  test('hostile answers, another id, non-Buffers: false, nothing cached, no store error; a good one: true', () => {
    const ctx = new SslContext();
    const { r, errors } = resumption(ctx);
    for (const [, der] of hostile()) expect(r.addSessionDER(ID, der)).toBe(false);
    expect(r.addSessionDER(ID, goodDER(newId()))).toBe(false);
    for (const v of ['a string', 12345, { der: goodDER() }, null, undefined]) expect(r.addSessionDER(ID, v as unknown as Buffer)).toBe(false);
    expect(ctx.sessionCount).toBe(0);
    expect(errors).toEqual([]);
    expect(r.addSessionDER(ID, new Uint8Array(goodDER()) as Buffer)).toBe(true);
    expect(ctx.getSession(ID)).toBeDefined();
    ctx.free();
  });

  test("a listener's failure after the add is a 'sessionStoreError' and false (the session stays cached), as before", () => {
    const ctx = new SslContext({ sessionCacheSize: 1 });
    const { r, errors } = resumption(ctx);
    const first = newId();
    expect(r.addSessionDER(first, goodDER(first))).toBe(true);
    const boom = new Error('listener');
    ctx.on('removeSession', () => {
      throw boom;
    });
    expect(r.addSessionDER(ID, goodDER())).toBe(false);
    expect(errors).toEqual([boom]);
    expect(ctx.getSession(ID)).toBeDefined();
    ctx.removeAllListeners();
    ctx.free();
  });
});

describe('the write side and revocation without session objects', () => {
  const pki = generateSelfSigned({ commonName: 'localhost', bits: 1024, days: 1 });

  /** a store that records its calls */
  function recordingStore(): SessionStore & { sets: [Buffer, Buffer, number][]; deletes: Buffer[] } {
    const sets: [Buffer, Buffer, number][] = [];
    const deletes: Buffer[] = [];
    return {
      sets,
      deletes,
      get: async () => undefined,
      set: async (id: Buffer, der: Buffer, ttl: number) => {
        sets.push([id, der, ttl]);
      },
      delete: async (id: Buffer) => {
        deletes.push(id);
      },
    };
  }

  let server: SslContext;
  let client: SslContext;
  let made: jest.SpyInstance;
  beforeEach(() => {
    server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionTimeout: 77 });
    client = new SslContext({ role: 'client', noTicket: true });
    made = jest.spyOn(SslSession as unknown as Record<symbol, (h: NativeSessionHandle) => SslSession>, kFromHandle);
  });
  afterEach(() => {
    made.mockRestore();
    server.free();
    client.free();
  });

  /** the binding's handshake, settled as lib settles it: the result handles stay handles */
  function nativeHandshake(): NativeHandshakeResult {
    return callOpenSSL([server, client], 'handshake', () => native.handshake(client[kHandle], server[kHandle], undefined, undefined, true));
  }

  test("a new session reaches store.set as its id, DER and timeout, with no SslSession made for it", () => {
    const store = recordingStore();
    const emitter = new EventEmitter();
    const r = new SessionResumption({ server: emitter, context: server, store, timeout: 1000, concurrency: 1, negativeCacheSize: 0, negativeCacheTtl: 0 });
    const h = nativeHandshake();
    expect(made).not.toHaveBeenCalled();
    expect(store.sets).toHaveLength(1);
    const [id, der, ttl] = store.sets[0];
    expect(id).toEqual(h.serverSession.id());
    expect(der).toEqual(h.serverSession.toDER());
    expect(ttl).toBe(77);
    r.close();
    h.clientSession.free();
    h.serverSession.free();
  });

  test("node:tls 'newSession' listeners get (id, der, callback) from the same bytes, each its own copy; SslContext 'newSession' listeners still get an SslSession", () => {
    const store = recordingStore();
    const emitter = new EventEmitter();
    const seen: [Buffer, Buffer][] = [];
    emitter.on('newSession', (id: Buffer, der: Buffer, done: () => void) => {
      seen.push([id, der]);
      done();
    });
    const r = new SessionResumption({ server: emitter, context: server, store, timeout: 1000, concurrency: 1, negativeCacheSize: 0, negativeCacheTtl: 0 });
    const objects: SslSession[] = [];
    server.on('newSession', (s) => objects.push(s));
    const h = nativeHandshake();
    expect(store.sets).toHaveLength(1);
    expect(seen).toHaveLength(1);
    expect(seen[0][0]).toEqual(store.sets[0][0]);
    expect(seen[0][1]).toEqual(store.sets[0][1]);
    expect(seen[0][0]).not.toBe(store.sets[0][0]);
    expect(seen[0][1]).not.toBe(store.sets[0][1]);
    expect(objects).toHaveLength(1);
    expect(objects[0]).toBeInstanceOf(SslSession);
    expect(objects[0].id).toEqual(store.sets[0][0]);
    expect(made).toHaveBeenCalledTimes(1); // the listener's object, nothing else
    r.close();
    server.removeAllListeners('newSession');
    h.clientSession.free();
    h.serverSession.free();
  });

  test('revoke(id) removes the cached session by id: one SslSession, for the removal event its listener gets', async () => {
    const store = recordingStore();
    const emitter = new EventEmitter();
    const r = new SessionResumption({ server: emitter, context: server, store, timeout: 1000, concurrency: 1, negativeCacheSize: 0, negativeCacheTtl: 0 });
    const h = nativeHandshake();
    const id = h.serverSession.id();
    // the session in the cache, as a store answer puts it there
    server.sessionCacheMode = server.sessionCacheMode & ~SessionCacheMode.NO_INTERNAL_STORE;
    expect(r.addSessionDER(id, h.serverSession.toDER())).toBe(true);
    expect(server.sessionCount).toBe(1);
    const removed: SslSession[] = [];
    server.on('removeSession', (s) => removed.push(s));
    made.mockClear();
    await r.revoke(id);
    expect(server.sessionCount).toBe(0);
    expect(removed.map((s) => s.id)).toEqual([id]);
    expect(made).toHaveBeenCalledTimes(1);
    expect(store.deletes).toEqual([id]);
    r.close();
    server.removeAllListeners('removeSession');
    h.clientSession.free();
    h.serverSession.free();
  });
});
