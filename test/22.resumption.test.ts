// Conformance of server-side resumption against the real OpenSSL 1.0.2h.
// Each case follows ssl_get_prev_session (ssl/ssl_sess.c) and ssl_update_cache
// (ssl/ssl_lib.c); the comments name the line of reasoning, the assertions are what the
// real library does through the binding.
import * as tls from 'tls';
import type { AddressInfo } from 'net';
import { OpenSSLError, SessionCacheMode, SslContext, SslSession, handshake } from '../lib';
import type { SslContextOptions, SslContextStats } from '../lib';
import { catchError, nowSec, readTlv, tlv, tryReadTlv, contextsPerTest, localhostPki } from './helpers/util';

let pki: { cert: string; key: string };
beforeAll(() => {
  pki = localhostPki();
});

const ctx = contextsPerTest();
const server = (options: SslContextOptions = {}) => ctx({ cert: pki.cert, key: pki.key, ...options });
/** a server that caches sessions by id (SSL_OP_NO_TICKET) */
const idServer = (options: SslContextOptions = {}) => server({ noTicket: true, ...options });
const client = (options: SslContextOptions = {}) => ctx({ role: 'client', ...options });

const hex = (b: Buffer) => b.toString('hex');

/** the resumption-related counters */
function lookupCounters(s: SslContext): Pick<SslContextStats, 'hits' | 'misses' | 'timeouts' | 'cbHits' | 'cacheFull'> {
  const { hits, misses, timeouts, cbHits, cacheFull } = s.stats;
  return { hits, misses, timeouts, cbHits, cacheFull };
}

/** records the ids of a context's events in order: 'new:<id>' / 'remove:<id>' */
function recordEvents(c: SslContext): string[] {
  const out: string[] = [];
  c.on('newSession', (x: SslSession) => out.push('new:' + hex(x.id)));
  c.on('removeSession', (x: SslSession) => out.push('remove:' + hex(x.id)));
  return out;
}

describe('default server (tickets on)', () => {
  test('no session is cached, no newSession event, and the ticket resumes', () => {
    const c = client();
    const s = server();
    const events = recordEvents(s);
    const r = handshake(c, s);
    expect(r.resumed).toBe(false);
    // ssl_update_cache returns at once for the empty id a ticket-issuing 1.0.2 server gives
    expect(r.serverSession.id.length).toBe(0);
    expect(s.sessionCount).toBe(0);
    expect(events).toEqual([]);
    // the client got a ticket: resumption goes through tls1_process_ticket, not the cache
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(r2.resumed).toBe(true);
    expect(r2.clientResumed).toBe(true);
    expect(s.sessionCount).toBe(0);
    expect(events).toEqual([]);
    // a decrypted ticket still counts a hit; the id cache was never consulted (no miss)
    expect(lookupCounters(s)).toEqual({ hits: 1, misses: 0, timeouts: 0, cbHits: 0, cacheFull: 0 });
  });
});

describe('noTicket: the internal cache decides', () => {
  test('a full handshake caches one session and emits one newSession; offering it resumes with hits 1', () => {
    const c = client();
    const s = idServer();
    const events = recordEvents(s);
    const r = handshake(c, s);
    expect(r.resumed).toBe(false);
    expect(s.sessionCount).toBe(1);
    expect(events).toEqual(['new:' + hex(r.serverSession.id)]);
    const cached = s.getSession(r.serverSession.id)!;
    expect(cached.equals(r.serverSession)).toBe(true);
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(r2.resumed).toBe(true);
    expect(r2.clientResumed).toBe(true);
    expect(r2.serverSession.equals(r.serverSession)).toBe(true);
    expect(lookupCounters(s)).toEqual({ hits: 1, misses: 0, timeouts: 0, cbHits: 0, cacheFull: 0 });
    // a resumption adds nothing (s->hit) and emits no event
    expect(s.sessionCount).toBe(1);
    expect(events.length).toBe(1);
  });

  test('removeSession of the cached session → the next offer is a full handshake with misses 1', () => {
    const c = client();
    const s = idServer();
    const r = handshake(c, s);
    expect(s.removeSession(r.serverSession)).toBe(true);
    expect(s.sessionCount).toBe(0);
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(r2.resumed).toBe(false);
    expect(r2.clientResumed).toBe(false);
    expect(lookupCounters(s)).toEqual({ hits: 0, misses: 1, timeouts: 0, cbHits: 0, cacheFull: 0 });
    // the full handshake made (and cached) a new session with a new id
    expect(r2.serverSession.id.equals(r.serverSession.id)).toBe(false);
    expect(s.sessionCount).toBe(1);
  });
});

describe('NO_INTERNAL_STORE: the application stores ("full control")', () => {
  test('nothing is cached automatically; resumption fails until addSession of the event session', () => {
    const c = client();
    const s = idServer({ sessionCacheMode: SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL_STORE });
    const fromEvents: SslSession[] = [];
    s.on('newSession', (x: SslSession) => fromEvents.push(x));
    const r = handshake(c, s);
    expect(s.sessionCount).toBe(0);
    // the new-session callback is still called (ssl_update_cache: NO_INTERNAL_STORE || add)
    expect(fromEvents.length).toBe(1);
    expect(fromEvents[0].equals(r.serverSession)).toBe(true);

    const miss = handshake(c, s, { session: r.clientSession });
    expect(miss.resumed).toBe(false);
    expect(lookupCounters(s)).toMatchObject({ hits: 0, misses: 1 });
    expect(s.sessionCount).toBe(0);
    expect(fromEvents.length).toBe(2);

    expect(s.addSession(fromEvents[0])).toBe(true);
    expect(s.sessionCount).toBe(1);
    const hit = handshake(c, s, { session: r.clientSession });
    expect(hit.resumed).toBe(true);
    expect(lookupCounters(s)).toMatchObject({ hits: 1, misses: 1 });
    expect(fromEvents.length).toBe(2);
  });
});

describe('NO_INTERNAL_LOOKUP + getSessionCallback', () => {
  const mode = SessionCacheMode.SERVER | SessionCacheMode.NO_INTERNAL_LOOKUP;

  test('the callback returns the session → cbHits 1 (and hits 1), resumed; no lookup, no miss', () => {
    const c = client();
    const s = idServer({ sessionCacheMode: mode });
    const store = new Map<string, SslSession>();
    s.on('newSession', (x: SslSession) => store.set(hex(x.id), x));
    const r = handshake(c, s);
    // the internal store is still on: the session is cached, just never looked up
    expect(s.sessionCount).toBe(1);
    const asked: string[] = [];
    s.getSessionCallback = (id) => {
      asked.push(hex(id));
      return store.get(hex(id));
    };
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(asked).toEqual([hex(r.clientSession.id)]);
    expect(r2.resumed).toBe(true);
    expect(lookupCounters(s)).toEqual({ hits: 1, misses: 0, timeouts: 0, cbHits: 1, cacheFull: 0 });
    // SSL_CTX_add_session of the already cached object changes nothing
    expect(s.sessionCount).toBe(1);
  });

  test('without an internal lookup, a cached session does not resume unless the callback returns it', () => {
    const c = client();
    const s = idServer({ sessionCacheMode: mode });
    const r = handshake(c, s);
    expect(s.sessionCount).toBe(1);
    const asked: string[] = [];
    s.getSessionCallback = (id) => {
      asked.push(hex(id));
      return undefined;
    };
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(asked).toEqual([hex(r.clientSession.id)]);
    expect(r2.resumed).toBe(false);
    expect(lookupCounters(s)).toEqual({ hits: 0, misses: 0, timeouts: 0, cbHits: 0, cacheFull: 0 });
    expect(s.sessionCount).toBe(2);
  });

  test('the callback is not called for a first handshake (empty session id)', () => {
    const s = idServer({ sessionCacheMode: mode });
    let calls = 0;
    s.getSessionCallback = () => {
      calls++;
      return undefined;
    };
    handshake(client(), s);
    expect(calls).toBe(0);
  });

  test('a callback that throws: OpenSSL completes a full handshake, handshake() rethrows afterwards, cache intact', () => {
    const c = client();
    const s = idServer({ sessionCacheMode: mode });
    const events = recordEvents(s);
    const r = handshake(c, s);
    const boom = new Error('store unavailable');
    s.getSessionCallback = () => {
      throw boom;
    };
    const err = catchError(() => handshake(c, s, { session: r.clientSession }));
    expect(err).toBe(boom);
    // the throw counted as "no session": a full handshake ran to completion inside OpenSSL
    expect(s.stats).toMatchObject({ accept: 2, acceptGood: 2, hits: 0, cbHits: 0, misses: 0, timeouts: 0 });
    expect(s.sessionCount).toBe(2);
    expect(events.length).toBe(2);
    expect(events[0]).toBe('new:' + hex(r.serverSession.id));
    expect(events[1]).toMatch(/^new:/);
    // the first session is still cached and resumable
    const cached = s.getSession(r.serverSession.id);
    expect(cached).toBeDefined();
    expect(cached!.resumable).toBe(true);
    // with a working callback again it resumes
    s.getSessionCallback = (id) => s.getSession(id);
    expect(handshake(c, s, { session: r.clientSession }).resumed).toBe(true);
    expect(s.stats.cbHits).toBe(1);
  });
});

describe('expired sessions', () => {
  test('a cached session whose time is in the past → timeouts 1, removeSession, full handshake', () => {
    const c = client();
    const s = idServer();
    const events = recordEvents(s);
    const r = handshake(c, s);
    const id = hex(r.serverSession.id);
    expect(r.serverSession.timeout).toBe(300);
    r.serverSession.time = r.serverSession.time - 1000; // the cached object itself
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(r2.resumed).toBe(false);
    expect(lookupCounters(s)).toEqual({ hits: 0, misses: 0, timeouts: 1, cbHits: 0, cacheFull: 0 });
    // removed from the cache (remove callback), then the full handshake's new session
    expect(events).toEqual(['new:' + id, 'remove:' + id, 'new:' + hex(r2.serverSession.id)]);
    expect(r.serverSession.resumable).toBe(false);
    expect(s.getSession(r.serverSession.id)).toBeUndefined();
    expect(s.sessionCount).toBe(1);
  });

  test('a tiny sessionTimeout is the lifetime of new sessions; an old one times out', () => {
    const c = client();
    const s = idServer({ sessionTimeout: 1 });
    const removed: string[] = [];
    s.on('removeSession', (x: SslSession) => removed.push(hex(x.id)));
    const r = handshake(c, s);
    expect(r.serverSession.timeout).toBe(1); // ssl_get_new_session: ss->timeout = session_timeout
    r.serverSession.time = nowSec() - 100;
    expect(handshake(c, s, { session: r.clientSession }).resumed).toBe(false);
    expect(s.stats.timeouts).toBe(1);
    expect(s.stats.hits).toBe(0);
    expect(removed).toEqual([hex(r.serverSession.id)]);
  });

  test('a session that has not expired resumes (control)', () => {
    const c = client();
    const s = idServer();
    const r = handshake(c, s);
    r.serverSession.time = r.serverSession.time - 100; // 100 s old, lifetime 300 s
    expect(handshake(c, s, { session: r.clientSession }).resumed).toBe(true);
    expect(lookupCounters(s)).toEqual({ hits: 1, misses: 0, timeouts: 0, cbHits: 0, cacheFull: 0 });
  });
});

describe('sid_ctx mismatch', () => {
  // ssl_get_prev_session compares sid_ctx only after the session was found (hash lookup or
  // get callback). A found session with another sid_ctx is dropped ("treat like cache
  // miss") without touching hits, misses or timeouts; a session the server's cache does not
  // hold at all is an ordinary miss.
  test('a session of a server with another sessionIdContext, present in this cache → full, no counter change', () => {
    const c = client();
    const a = idServer({ sessionIdContext: 'app-A' });
    const b = idServer({ sessionIdContext: 'app-B' });
    const r = handshake(c, a);
    expect(r.serverSession.idContext.toString()).toBe('app-A');
    const imported = SslSession.fromDER(r.serverSession.toDER());
    expect(b.addSession(imported)).toBe(true);
    const events = recordEvents(b);
    const before = lookupCounters(b);
    const r2 = handshake(c, b, { session: r.clientSession });
    expect(r2.resumed).toBe(false);
    expect(lookupCounters(b)).toEqual(before);
    expect(before).toEqual({ hits: 0, misses: 0, timeouts: 0, cbHits: 0, cacheFull: 0 });
    // the foreign session is neither removed nor marked: only the new one is added
    expect(events).toEqual(['new:' + hex(r2.serverSession.id)]);
    expect(imported.resumable).toBe(true);
    expect(b.sessionCount).toBe(2);
    expect(r2.serverSession.idContext.toString()).toBe('app-B');
  });

  test('changing the context\u2019s sessionIdContext makes its cached sessions unusable, no counter change', () => {
    const c = client();
    const s = idServer({ sessionIdContext: 'v1' });
    const r = handshake(c, s);
    s.setSessionIdContext('v2'); // SSL_new copies the context's sid_ctx
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(r2.resumed).toBe(false);
    expect(lookupCounters(s)).toEqual({ hits: 0, misses: 0, timeouts: 0, cbHits: 0, cacheFull: 0 });
    expect(s.sessionCount).toBe(2);
  });

  test('the same session offered to another server that does not cache it is a plain miss', () => {
    const c = client();
    const a = idServer({ sessionIdContext: 'app-A' });
    const b = idServer({ sessionIdContext: 'app-B' });
    const r = handshake(c, a);
    expect(handshake(c, b, { session: r.clientSession }).resumed).toBe(false);
    expect(lookupCounters(b)).toEqual({ hits: 0, misses: 1, timeouts: 0, cbHits: 0, cacheFull: 0 });
  });
});

describe('size-limited cache', () => {
  test('sessionCacheSize 2, three handshakes → the oldest is evicted and no longer resumes', () => {
    const c = client();
    const s = idServer({ sessionCacheSize: 2 });
    const removed: string[] = [];
    s.on('removeSession', (x: SslSession) => removed.push(hex(x.id)));
    const [r1, r2, r3] = [handshake(c, s), handshake(c, s), handshake(c, s)];
    expect(s.sessionCount).toBe(2);
    expect(s.stats.cacheFull).toBe(1);
    expect(removed).toEqual([hex(r1.serverSession.id)]);
    expect(r1.serverSession.resumable).toBe(false);
    expect(s.sessions().map((x) => hex(x.id))).toEqual([hex(r3.serverSession.id), hex(r2.serverSession.id)]);
    // the survivors resume (a resumption adds nothing, so nothing more is evicted)
    expect(handshake(c, s, { session: r2.clientSession }).resumed).toBe(true);
    expect(handshake(c, s, { session: r3.clientSession }).resumed).toBe(true);
    expect(lookupCounters(s)).toEqual({ hits: 2, misses: 0, timeouts: 0, cbHits: 0, cacheFull: 1 });
    // the evicted one is a miss → full handshake (whose new session evicts r2's, oldest first)
    expect(handshake(c, s, { session: r1.clientSession }).resumed).toBe(false);
    expect(lookupCounters(s)).toEqual({ hits: 2, misses: 1, timeouts: 0, cbHits: 0, cacheFull: 2 });
    expect(removed).toEqual([hex(r1.serverSession.id), hex(r2.serverSession.id)]);
  });
});

describe('DER export / import', () => {
  test('serverSession.toDER() imported into a fresh server context with the same sid_ctx resumes', () => {
    const c = client();
    const s = idServer({ sessionIdContext: 'shared' });
    const r = handshake(c, s);
    const der = r.serverSession.toDER();
    const fresh = idServer({ sessionIdContext: 'shared' });
    const imported = SslSession.fromDER(der);
    expect(imported.id.equals(r.serverSession.id)).toBe(true);
    expect(imported.equals(r.serverSession)).toBe(false);
    expect(fresh.addSession(imported)).toBe(true);
    const r2 = handshake(c, fresh, { session: r.clientSession });
    expect(r2.resumed).toBe(true);
    expect(r2.serverSession.equals(imported)).toBe(true);
    expect(lookupCounters(fresh)).toEqual({ hits: 1, misses: 0, timeouts: 0, cbHits: 0, cacheFull: 0 });
  });

  test('without the import the fresh context misses', () => {
    const c = client();
    const r = handshake(c, idServer({ sessionIdContext: 'shared' }));
    const fresh = idServer({ sessionIdContext: 'shared' });
    expect(handshake(c, fresh, { session: r.clientSession }).resumed).toBe(false);
    expect(fresh.stats.misses).toBe(1);
  });
});

describe('automatic flush (ssl_update_cache)', () => {
  // ssl_update_cache runs at the end of every completed server handshake (full or resumed),
  // BEFORE ssl3_accept increments sess_accept_good. Unless NO_AUTO_CLEAR it calls
  // SSL_CTX_flush_sessions(ctx, time(NULL)) when (sess_accept_good & 0xff) == 0xff, i.e.
  // inside the 256th, 512th, ... good accept. It returns early for an empty session id
  // (ticket sessions), so the id must be non-empty: a noTicket server, resumed by id.
  function run(mode: number) {
    const c = client();
    const s = idServer({ sessionCacheMode: mode });
    const removed: string[] = [];
    s.on('removeSession', (x: SslSession) => removed.push(hex(x.id)));
    const keep = handshake(c, s); // stays valid, resumed below
    const old = [handshake(c, s), handshake(c, s), handshake(c, s)];
    for (const r of old) r.serverSession.time = nowSec() - 1000; // lifetime 300 s: expired
    const oldIds = old.map((r) => hex(r.serverSession.id)).sort();
    while (s.stats.acceptGood < 255) {
      expect(handshake(c, s, { session: keep.clientSession }).resumed).toBe(true);
    }
    // 255 good accepts: no flush yet (the 255th ran with sess_accept_good == 254)
    expect(s.stats.acceptGood).toBe(255);
    expect(s.sessionCount).toBe(4);
    expect(removed).toEqual([]);
    // the 256th handshake: ssl_update_cache sees sess_accept_good == 255
    expect(handshake(c, s, { session: keep.clientSession }).resumed).toBe(true);
    expect(s.stats.acceptGood).toBe(256);
    return { s, keep, old, oldIds, removed };
  }

  test('the 256th good accept flushes the expired sessions (removeSession each), keeps valid ones', () => {
    const { s, keep, old, oldIds, removed } = run(SessionCacheMode.SERVER);
    // flush walks the hash table, so the event order is the hash order: compare as sets
    expect([...removed].sort()).toEqual(oldIds);
    expect(s.sessionCount).toBe(1);
    expect(s.getSession(keep.serverSession.id)).toBeDefined();
    for (const r of old) expect(r.serverSession.resumable).toBe(false);
    // not a lookup timeout: the flush does not count
    expect(s.stats.timeouts).toBe(0);
  });

  test('with NO_AUTO_CLEAR the expired sessions stay until an explicit flush', () => {
    const { s, oldIds, removed } = run(SessionCacheMode.SERVER | SessionCacheMode.NO_AUTO_CLEAR);
    expect(removed).toEqual([]);
    expect(s.sessionCount).toBe(4);
    s.flushSessions();
    expect([...removed].sort()).toEqual(oldIds);
    expect(s.sessionCount).toBe(1);
  });
});

describe('client-side cache (SessionCacheMode.CLIENT)', () => {
  test('a client context in CLIENT mode stores its new sessions and emits newSession', () => {
    const c = client({ sessionCacheMode: SessionCacheMode.CLIENT });
    const s = idServer();
    const newOnClient: string[] = [];
    c.on('newSession', (x: SslSession) => newOnClient.push(hex(x.id)));
    const r = handshake(c, s);
    expect(c.sessionCount).toBe(1);
    expect(newOnClient).toEqual([hex(r.clientSession.id)]);
    expect(c.getSession(r.clientSession.id)!.equals(r.clientSession)).toBe(true);
    // a client never looks its own cache up: without an offered session it is a full handshake
    const r2 = handshake(c, s);
    expect(r2.resumed).toBe(false);
    expect(c.sessionCount).toBe(2);
    // a resumed client handshake adds nothing; the client counts the hit on its own context
    expect(handshake(c, s, { session: r.clientSession }).resumed).toBe(true);
    expect(c.sessionCount).toBe(2);
    expect(newOnClient.length).toBe(2);
    expect(c.stats.hits).toBe(1);
  });

  test('a client context in the default (SERVER) mode stores nothing', () => {
    const c = client();
    let events = 0;
    c.on('newSession', () => events++);
    handshake(c, idServer());
    expect(c.sessionCount).toBe(0);
    expect(events).toBe(0);
  });
});

describe("DER from Node's own tls (OpenSSL 3)", () => {
  function nodeSession(maxVersion: tls.SecureVersion): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const srv = tls.createServer({ cert: pki.cert, key: pki.key, minVersion: 'TLSv1.2', maxVersion }, (sock) => {
        sock.on('error', () => undefined);
        // a write makes an OpenSSL 3 TLS 1.3 server send its NewSessionTicket messages
        sock.end('bye');
      });
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as AddressInfo;
        const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion });
        let settled = false;
        const finish = (got: Buffer | undefined, error?: Error) => {
          if (settled) return;
          settled = true;
          sock.destroy();
          const der = got && withoutNodeHeader(got);
          srv.close(() => (der ? resolve(der) : reject(error ?? new Error('no session'))));
        };
        sock.on('error', (e) => finish(undefined, e));
        if (maxVersion === 'TLSv1.3') {
          // TLS 1.3 sessions arrive after the handshake, in NewSessionTicket messages
          sock.once('session', (der: Buffer) => finish(der));
        } else {
          sock.once('secureConnect', () => finish(sock.getSession()));
        }
      });
    });
  }

  /** Node 22 and later put a header ("\0nodejs:tls:session:1\0", the host) before the DER */
  function withoutNodeHeader(b: Buffer): Buffer {
    if (!b.subarray(0, 20).toString('latin1').startsWith('\0nodejs:tls:session:')) return b;
    for (let off = 20; off < b.length; off++) {
      if (b[off] === 0x30 && off + (tryReadTlv(b, off)?.total ?? -1) === b.length) return b.subarray(off);
    }
    throw new Error("no DER inside Node's session header");
  }

  /** the outer SEQUENCE's children as [tag, slice] */
  function fields(der: Buffer): { tag: number; bytes: Buffer }[] {
    const top = readTlv(der);
    const out: { tag: number; bytes: Buffer }[] = [];
    let off = top.header;
    while (off < top.header + top.len) {
      const t = readTlv(der, off);
      out.push({ tag: t.tag, bytes: der.subarray(off, off + t.total) });
      off += t.total;
    }
    return out;
  }
  // context tags [13]..[19] (constructed): 0xad..0xb3
  const isNewTag = (tag: number) => tag >= 0xad && tag <= 0xb3;
  const ASN1_R_LENGTH_MISMATCH_PACKED = 0x0d06703e;

  // Why 1.0.2 rejects it: d2i_SSL_SESSION (ssl_asn1.c) knows the optional fields up to
  // [12] (srp username). OpenSSL 1.1.x/3.x append [13] flags (e.g. extended master secret,
  // TLS 1.2), [14] ticket age add (TLS 1.3), [15]..[18], and [19] the key-exchange group.
  // 1.0.2 stops at the first unknown tag, and M_ASN1_D2I_Finish finds bytes left in the
  // SEQUENCE → ASN1_R_LENGTH_MISMATCH (0x0D06703E), the error pointing at the last field
  // it did read.
  test('a TLS 1.2 session → OpenSSLError (asn1 length mismatch); it parses once the [13]+ fields are cut', async () => {
    const der = await nodeSession('TLSv1.2');
    const f = fields(der);
    expect(f.some((x) => isNewTag(x.tag))).toBe(true);
    const err = catchError(() => SslSession.fromDER(der));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(err.opensslErrors.length).toBeGreaterThan(0);
    expect(err.opensslErrors.map((e: { code: number }) => e.code)).toContain(ASN1_R_LENGTH_MISMATCH_PACKED);
    expect(err.opensslErrors.map((e: { reason: string }) => e.reason)).toContain('asn1 length mismatch');

    // the same DER without the post-1.0.2 fields is a valid 1.0.2 session, re-encoded
    // byte for byte (the fields up to [10] ticket share 1.0.2's layout)
    const stripped = tlv(0x30, Buffer.concat(f.filter((x) => !isNewTag(x.tag)).map((x) => x.bytes)));
    const s = SslSession.fromDER(stripped);
    expect(s.protocol).toBe('TLSv1.2');
    expect(s.toDER().equals(stripped)).toBe(true);
  });

  test('a TLS 1.3 session → OpenSSLError; 1.0.2 could not use it anyway', async () => {
    const der = await nodeSession('TLSv1.3');
    const f = fields(der);
    expect(f.some((x) => isNewTag(x.tag))).toBe(true);
    const err = catchError(() => SslSession.fromDER(der));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(err.opensslErrors.length).toBeGreaterThan(0);
    expect(err.opensslErrors.map((e: { code: number }) => e.code)).toContain(ASN1_R_LENGTH_MISMATCH_PACKED);
    // cut down to the 1.0.2 fields it parses, but its protocol version (0x0304) is none 1.0.2 speaks
    const stripped = tlv(0x30, Buffer.concat(f.filter((x) => !isNewTag(x.tag)).map((x) => x.bytes)));
    const s = SslSession.fromDER(stripped);
    expect(['TLSv1', 'TLSv1.1', 'TLSv1.2']).not.toContain(s.protocol);
  });
});
