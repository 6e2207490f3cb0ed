'use strict';
// Fuzz targets shared by scripts/fuzz.js (`npm run fuzz`, >= 100k cases) and
// test/52.fuzz.test.ts (5k cases in `npm test`). Everything takes the package's API as a
// parameter so the jest test can pass its own (ts-jest) instance and `instanceof` holds.
//
// Property of every target: the outcome is a valid result or a TYPED error — OpenSSLError,
// TypeError, RangeError, or an Error with a string `code` — never a crash, never an
// untyped throw, and the cache that took part is intact afterwards.
const net = require('net');
const tls = require('tls');
const fc = require('fast-check');

// ---- classification ------------------------------------------------------------------
function isTyped(api, e) {
  return (
    e instanceof api.OpenSSLError ||
    e instanceof TypeError ||
    e instanceof RangeError ||
    (e instanceof Error && typeof e.code === 'string' && e.code.length > 0)
  );
}

class UntypedError extends Error {}

function expectTyped(api, e, what) {
  if (!isTyped(api, e)) {
    throw new UntypedError(`${what}: untyped failure ${e && e.constructor ? e.constructor.name : typeof e}: ${e && e.stack ? e.stack : e}`);
  }
}

// ---- corpus ----------------------------------------------------------------------------
/** Real DER sessions: created ones with every field, and both ends of real handshakes. */
function derCorpus(api) {
  const { SslSession, SslContext, handshake, generateSelfSigned } = api;
  const out = [];
  const add = (s) => {
    out.push(s.toDER());
    s.free();
  };
  add(SslSession.create({ id: Buffer.alloc(32, 1), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 2), idContext: 'ctx', time: 1700000000, timeout: 300 }));
  add(SslSession.create({ id: Buffer.from([9]), cipher: 'ECDHE-RSA-AES128-GCM-SHA256', protocol: 'TLSv1' }));
  add(SslSession.create({ id: Buffer.alloc(16, 0xff), cipher: 'AES256-SHA256', masterKey: Buffer.alloc(1), time: 0, timeout: 0 }));
  const pki = generateSelfSigned({ commonName: 'localhost', bits: 1024, days: 2 });
  const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'fuzz' });
  const client = new SslContext({ role: 'client', ca: pki.cert });
  const r = handshake(client, server, { serverName: 'localhost' });
  add(r.clientSession); // carries the peer certificate, hostname
  add(r.serverSession);
  const t = new SslContext({ cert: pki.cert, key: pki.key }); // tickets on: the client gets one
  const r2 = handshake(client, t, { serverName: 'localhost' });
  add(r2.clientSession);
  r2.serverSession.free();
  server.free();
  client.free();
  t.free();
  return { ders: out, pki };
}

/** Captures the first flight (ClientHello) of a client connecting to a local TCP server. */
async function captureHello(start) {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  let client;
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ClientHello within 5 s')), 5000);
      server.once('connection', (s) => {
        let buf = Buffer.alloc(0);
        s.on('error', () => {});
        s.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
            clearTimeout(timer);
            s.destroy();
            resolve(buf);
          }
        });
      });
      client = start(port);
      client.on('error', () => {});
    });
  } finally {
    if (client) client.destroy();
    await new Promise((r) => server.close(r));
  }
}

/** Real ClientHellos: ours (with and without a session) and Node's (TLS 1.2 and 1.3). */
async function helloCorpus(api, ders) {
  const hellos = [];
  hellos.push(await captureHello((port) => api.connect({ host: '127.0.0.1', port, rejectUnauthorized: false })));
  hellos.push(await captureHello((port) => api.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost', session: ders[3] })));
  hellos.push(await captureHello((port) => tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' })));
  hellos.push(await captureHello((port) => tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'example.test' })));
  return hellos;
}

// ---- mutations -------------------------------------------------------------------------
const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip'), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('interesting'), at: fc.nat(), value: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0xff, 0x30, 0x04, 0x02, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xad, 0xb3) }),
  fc.record({ op: fc.constant('insert'), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete'), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('truncate'), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate'), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('length16'), at: fc.nat(), value: fc.integer({ min: 0, max: 0xffff }) }),
);

function applyMutations(base, ops) {
  let b = Buffer.from(base);
  for (const m of ops) {
    if (b.length === 0) b = Buffer.from([0x30]);
    const at = m.at % b.length;
    switch (m.op) {
      case 'flip':
        b[at] ^= 1 << m.bit;
        break;
      case 'set':
      case 'interesting':
        b[at] = m.value;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + m.n))]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + 1), b.subarray(at, Math.min(b.length, at + m.n)), b.subarray(at + 1)]);
        break;
      case 'length16':
        if (at + 1 < b.length) b.writeUInt16BE(m.value, at);
        break;
    }
  }
  return b;
}

const mutated = (corpus) =>
  fc.tuple(fc.constantFrom(...corpus), fc.array(mutation, { minLength: 1, maxLength: 6 })).map(([base, ops]) => applyMutations(base, ops));

const spliced = (corpus) =>
  fc.tuple(fc.constantFrom(...corpus), fc.constantFrom(...corpus), fc.nat(), fc.nat()).map(([a, b, i, j]) => Buffer.concat([a.subarray(0, i % (a.length + 1)), b.subarray(j % (b.length + 1))]));

// ---- targets ---------------------------------------------------------------------------
/** A checker for one decoded-or-refused session; keeps a context to prove the cache holds. */
function sessionSink(api) {
  const ctx = new api.SslContext({ sessionCacheSize: 0 });
  // identity: the event carries the thread's one object of the session, which may be the
  // session in hand (freed by accept itself)
  let current;
  ctx.on('removeSession', (s) => {
    if (s !== current) s.free();
  });
  let parsed = 0;
  let refused = 0;
  const accept = (make, what) => {
    let s;
    try {
      s = make();
    } catch (e) {
      expectTyped(api, e, what);
      refused++;
      return;
    }
    if (!(s instanceof api.SslSession)) throw new UntypedError(`${what}: returned ${typeof s}`);
    parsed++;
    current = s;
    try {
      // a decoded session is a valid session: every getter works, it re-encodes or refuses
      // with a typed error, and it can go through the cache
      void [s.id, s.idContext, s.time, s.timeout, s.cipher, s.resumable];
      try {
        void s.protocol;
      } catch (e) {
        expectTyped(api, e, `${what}: protocol`);
      }
      try {
        const again = api.SslSession.fromDER(s.toDER());
        again.free();
      } catch (e) {
        expectTyped(api, e, `${what}: re-encode`);
      }
      try {
        s.toText();
      } catch (e) {
        expectTyped(api, e, `${what}: toText`);
      }
      const before = ctx.sessionCount;
      let added = false;
      try {
        added = ctx.addSession(s);
      } catch (e) {
        // an empty id is refused (ERR_SESSION_ID_EMPTY): 1.0.2 could not remove it
        expectTyped(api, e, `${what}: addSession`);
        if (s.id.length !== 0) throw new UntypedError(`${what}: addSession refused a session with a ${s.id.length}-byte id: ${e.message}`);
      }
      const found = ctx.sessions();
      found.forEach((x) => x !== s && x.free());
      if (found.length !== ctx.sessionCount) throw new UntypedError(`${what}: list (${found.length}) and count (${ctx.sessionCount}) disagree`);
      if (added && ctx.sessionCount > before + 1) throw new UntypedError(`${what}: count grew by more than one`);
      ctx.removeSession(s);
      if (ctx.sessionCount > 64) ctx.flushSessions(0);
    } finally {
      current = undefined;
      s.free();
    }
  };
  return {
    accept,
    stats: () => ({ parsed, refused }),
    close: () => {
      ctx.flushSessions(0);
      if (ctx.sessionCount !== 0) throw new UntypedError(`cache not empty after flush: ${ctx.sessionCount}`);
      ctx.free();
    },
  };
}

function toPem(der) {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN SSL SESSION PARAMETERS-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END SSL SESSION PARAMETERS-----\n`;
}

/**
 * Builds every synchronous property; `runs` = { der, derRandom, pem, pemRandom, hello, helloRandom }.
 * `internals`: the listener's hello screen and lib's hello rules (dist/binding/native_listener.js
 * `screenHello`, dist/tls/hello_policy.js `helloRefusal`), checked on every hello.
 */
function syncProperties(api, corpus, hellos, sink, internals) {
  const { SslSession, ClientHelloParser } = api;
  const ders = corpus.ders;
  const pems = ders.map(toPem);
  // the native listener's hello screen (native_listener_hello.cc): it reads attacker bytes, and
  // must never pass a hello that lib's rules (hello_policy.ts) refuse
  const { screenHello, helloRefusal } = internals;
  const SCREENS = [
    [0x0301, Buffer.alloc(0)],
    [0x0303, Buffer.from('\x08http/1.1', 'latin1')],
    [0x0302, Buffer.from('\x02h2\x08http/1.1', 'latin1')],
  ];
  const checkScreen = (bytes) => {
    // the handshake message the listener would gather: the bodies of whole type-22 records
    const parts = [];
    for (let off = 0; off + 5 <= bytes.length; ) {
      if (bytes[off] !== 22 || bytes[off + 1] !== 3) return;
      const len = bytes.readUInt16BE(off + 3);
      if (off + 5 + len > bytes.length) break;
      parts.push(bytes.subarray(off + 5, off + 5 + len));
      off += 5 + len;
    }
    const hs = Buffer.concat(parts);
    if (hs.length < 4) return;
    const msg = hs.subarray(0, Math.min(hs.length, 4 + hs.readUIntBE(1, 3)));
    for (const [min, alpn] of SCREENS) {
      let passed;
      try {
        passed = screenHello(msg, min, alpn);
      } catch (e) {
        throw new UntypedError(`screenHello threw: ${e && e.stack ? e.stack : e}`);
      }
      if (!passed) continue;
      const r = new ClientHelloParser({ extensions: true }).push(Buffer.concat([Buffer.from([22, 3, 1, msg.length >> 8, msg.length & 0xff]), msg]));
      if (!r || r.kind !== 'tls' || helloRefusal(r, alpn.length > 0 ? alpn : undefined, min) !== undefined) {
        throw new UntypedError(`screenHello passed a hello the rules refuse: ${msg.toString('hex')} (min ${min})`);
      }
    }
  };
  const checkHello = (bytes, cuts) => {
    const parse = (chunks) => {
      const p = new ClientHelloParser();
      let r;
      for (const c of chunks) {
        r = p.push(c);
        if (r) break;
      }
      return r;
    };
    let whole;
    let pieces;
    try {
      whole = parse([bytes]);
      // the same bytes cut anywhere give the same answer
      const chunks = [];
      let at = 0;
      for (const c of [...cuts].sort((a, b) => a - b)) {
        const k = Math.min(bytes.length, c % (bytes.length + 1));
        if (k > at) {
          chunks.push(bytes.subarray(at, k));
          at = k;
        }
      }
      chunks.push(bytes.subarray(at));
      pieces = parse(chunks);
    } catch (e) {
      throw new UntypedError(`ClientHelloParser threw: ${e && e.stack ? e.stack : e}`);
    }
    for (const r of [whole, pieces]) {
      if (r === undefined) continue;
      if (!['tls', 'sslv2', 'invalid'].includes(r.kind)) throw new UntypedError(`parser kind ${r.kind}`);
      if (r.sessionId !== undefined && (!Buffer.isBuffer(r.sessionId) || r.sessionId.length < 1 || r.sessionId.length > 32)) {
        throw new UntypedError('parser returned a bad session id');
      }
    }
    checkScreen(bytes);
    const key = (r) => (r === undefined ? 'more' : `${r.kind}:${r.sessionId ? r.sessionId.toString('hex') : '-'}`);
    if (key(whole) !== key(pieces)) throw new UntypedError(`parser: whole ${key(whole)} vs pieces ${key(pieces)}`);
  };
  return {
    derMutated: fc.property(fc.oneof(mutated(ders), spliced(ders)), (b) => {
      sink.accept(() => SslSession.fromDER(b), 'fromDER(mutated)');
    }),
    derRandom: fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.concat([Buffer.from([0x30, 0x82, u.length >> 8, u.length & 0xff]), Buffer.from(u)]))),
      (u) => {
        sink.accept(() => SslSession.fromDER(Buffer.from(u.buffer, u.byteOffset, u.byteLength)), 'fromDER(random)');
      },
    ),
    pemMutated: fc.property(
      fc.oneof(
        mutated(ders).map(toPem),
        fc.tuple(fc.constantFrom(...pems), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([p, ops]) => applyMutations(Buffer.from(p), ops)),
        fc.tuple(fc.constantFrom(...pems), fc.nat(), fc.string({ maxLength: 8 })).map(([p, at, s]) => p.slice(0, at % p.length) + s + p.slice(at % p.length)),
      ),
      (p) => {
        sink.accept(() => SslSession.fromPEM(p), 'fromPEM(mutated)');
      },
    ),
    pemRandom: fc.property(
      fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.base64String({ maxLength: 400 }).map((b) => `-----BEGIN SSL SESSION PARAMETERS-----\n${b}\n-----END SSL SESSION PARAMETERS-----\n`),
        fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
      ),
      (p) => {
        sink.accept(() => SslSession.fromPEM(p), 'fromPEM(random)');
      },
    ),
    sessionEdges: fc.property(edgeSession(ders), (b) => {
      sink.accept(() => SslSession.fromDER(b), 'fromDER(edge)');
    }),
    helloMutated: fc.property(fc.oneof(mutated(hellos), spliced(hellos)), fc.array(fc.nat(), { maxLength: 6 }), (b, cuts) => checkHello(b, cuts)),
    helloRandom: fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
        // random bytes behind a plausible record + handshake header, to get past the first checks
        fc.tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 200 })).map(([v, u]) =>
          Buffer.concat([Buffer.from([22, 3, v, (u.length + 4) >> 8, (u.length + 4) & 0xff, 1, 0, u.length >> 8, u.length & 0xff]), Buffer.from(u)]),
        ),
        fc.uint8Array({ minLength: 2, maxLength: 64 }).map((u) => Buffer.concat([Buffer.from([0x80 | (u.length >> 8), u.length & 0xff, 1]), Buffer.from(u)])),
      ),
      fc.array(fc.nat(), { maxLength: 6 }),
      (b, cuts) => checkHello(b, cuts),
    ),
  };
}

// ---- the live server -------------------------------------------------------------------
/**
 * Starts our createServer on 127.0.0.1 (optionally with a session store) and returns a
 * function that sends one byte string as a client and resolves once the server closed
 * the connection or answered (bounded by `waitMs`).
 */
async function liveServer(api, pki, { store = false, waitMs = 1500 } = {}) {
  const errors = { typed: 0, untyped: [] };
  let secure = 0;
  const server = api.createServer({
    cert: pki.cert,
    key: pki.key,
    handshakeTimeout: 3000,
    sessionStore: store ? new api.MemorySessionStore() : undefined,
    sessionStoreTimeout: 500,
  });
  const note = (e) => {
    if (isTyped(api, e)) errors.typed++;
    else errors.untyped.push(String(e && e.stack ? e.stack : e));
  };
  server.on('tlsClientError', note);
  server.on('sessionStoreError', note);
  server.context.on('error', note);
  server.on('secureConnection', (s) => {
    secure++;
    s.on('error', note);
    s.resume();
    s.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const send = (bytes, { half = false } = {}) =>
    new Promise((resolve) => {
      const c = net.connect({ host: '127.0.0.1', port });
      let got = 0;
      let settled = false;
      const done = (how) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        c.destroy();
        resolve({ how, got });
      };
      const timer = setTimeout(() => done('timeout'), waitMs);
      c.on('error', () => done('error'));
      c.on('close', () => done('closed'));
      c.on('data', (d) => {
        got += d.length;
        // an answer (ServerHello or alert) came back: the server handled the bytes
        if (got > 0) setTimeout(() => done('answered'), 5);
      });
      c.on('connect', () => {
        c.write(bytes);
        if (half) c.end();
      });
    });
  // the server must still complete real handshakes afterwards
  const healthy = async () => {
    const c = api.connect({ host: '127.0.0.1', port, ca: pki.cert, servername: 'localhost' });
    await new Promise((resolve, reject) => {
      c.once('secureConnect', resolve);
      c.once('error', reject);
    });
    c.end();
    await new Promise((r) => (c.closed ? r() : c.once('close', r)));
  };
  const close = () => new Promise((r) => server.close(r));
  return { send, healthy, close, errors, secureCount: () => secure, server };
}

/** One run sends `parallel` byte strings on as many concurrent connections. */
function socketProperty(api, hellos, live, parallel = 20) {
  const one = fc.tuple(
    fc.oneof(
      { weight: 3, arbitrary: mutated(hellos) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u)) },
      { weight: 1, arbitrary: fc.constantFrom(...hellos) },
    ),
    fc.integer({ min: 0, max: 3 }).map((n) => n > 0), // mostly half-close after writing
  );
  return fc.asyncProperty(fc.array(one, { minLength: parallel, maxLength: parallel }), async (cases) => {
    const results = await Promise.all(cases.map(([bytes, half]) => live.send(bytes, { half })));
    for (const r of results) {
      if (!['closed', 'answered', 'timeout', 'error'].includes(r.how)) throw new UntypedError(`socket outcome ${r.how}`);
    }
  });
}

// ---- families: session edges and offered sessions -------------------------------------
const D = require('./session_der');

const EXTREME_SECONDS = [0n, 1n, 2n ** 31n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, -1n, -(2n ** 63n), 2n ** 64n];

/** Sessions no handshake makes: empty / oversized ids, tickets without an id, extreme times, empty strings. */
const edgeSession = (ders) =>
  fc
    .record({
      base: fc.constantFrom(...ders),
      id: fc.option(fc.oneof(fc.constantFrom(0, 1, 31, 32, 33, 40, 64, 255), fc.nat({ max: 300 })).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), { nil: undefined }),
      masterKey: fc.option(fc.constantFrom(0, 1, 47, 48, 49, 64, 200).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), { nil: undefined }),
      ticket: fc.option(fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 1, maxLength: 400 })), { nil: undefined }),
      time: fc.option(fc.constantFrom(...EXTREME_SECONDS), { nil: undefined }),
      timeout: fc.option(fc.constantFrom(...EXTREME_SECONDS), { nil: undefined }),
      emptyStrings: fc.subarray([7, 8, 12]),
    })
    .map((o) => {
      let der = o.base;
      if (o.id !== undefined) der = D.withId(der, Buffer.from(o.id));
      if (o.masterKey !== undefined) der = D.withMasterKey(der, Buffer.from(o.masterKey));
      if (o.ticket !== undefined) der = D.withTicket(der, Buffer.from(o.ticket));
      if (o.time !== undefined || o.timeout !== undefined) der = D.withTimes(der, { time: o.time, timeout: o.timeout });
      for (const n of o.emptyStrings) der = D.withOctets(der, n, Buffer.alloc(0));
      return der;
    });

/**
 * Contexts for the offered-session family: servers with and without tickets and of each
 * protocol version, clients plain / CLIENT-mode / minVersion TLSv1.2 / role 'both', all
 * with small caches so evictions happen. Sessions from real handshakes of every protocol.
 */
function offerBench(api, pki) {
  const { SslContext, handshake, SessionCacheMode } = api;
  const CLIENT = SessionCacheMode.CLIENT;
  const servers = [
    new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'fuzz', sessionCacheSize: 8 }),
    new SslContext({ cert: pki.cert, key: pki.key, sessionIdContext: 'fuzz', sessionCacheSize: 8 }), // tickets
    new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'fuzz', maxVersion: 'TLSv1', sessionCacheSize: 8 }),
    new SslContext({ cert: pki.cert, key: pki.key, sessionIdContext: 'fuzz', maxVersion: 'TLSv1.1', sessionCacheSize: 8 }),
  ];
  const clients = [
    new SslContext({ role: 'client' }),
    new SslContext({ role: 'client', sessionCacheMode: CLIENT, sessionCacheSize: 8 }),
    new SslContext({ role: 'client', sessionCacheMode: CLIENT, sessionCacheSize: 8, sessionIdContext: 'fuzz' }),
    new SslContext({ role: 'client', minVersion: 'TLSv1.2' }),
    new SslContext({ role: 'both', sessionCacheMode: CLIENT | SessionCacheMode.SERVER, sessionCacheSize: 8 }),
  ];
  const holders = [new SslContext({ sessionCacheSize: 8 }), new SslContext({ role: 'client', sessionCacheMode: CLIENT, sessionCacheSize: 8 })];
  const all = [...servers, ...clients, ...holders];
  // identity: a removed session's object may be one a property still holds (the offered
  // session): those are freed by their holders; what nobody holds is left to the GC
  const held = new Set();
  for (const c of all) c.on('removeSession', (x) => held.has(x) || x.free());
  const offers = []; // DER of real sessions of every protocol, client and server side
  for (const srv of servers) {
    const r = handshake(clients[0], srv);
    offers.push(r.clientSession.toDER(), r.serverSession.toDER());
    r.clientSession.free();
    r.serverSession.free();
  }
  /** every cache's list, count and lookups agree; every cached session is removable */
  const check = (what) => {
    for (const c of all) {
      const list = c.sessions();
      try {
        if (list.length !== c.sessionCount) throw new UntypedError(`${what}: list ${list.length} vs count ${c.sessionCount}`);
        for (const x of list) {
          if (x.id.length === 0) throw new UntypedError(`${what}: an empty-id session is cached`);
          const found = c.getSession(x.id, x.protocol);
          if (found !== x) throw new UntypedError(`${what}: a cached session is not found under its own id (as the same object)`);
        }
      } finally {
        list.forEach((x) => held.has(x) || x.free());
      }
    }
  };
  return { servers, clients, holders, offers, check, held, close: () => all.forEach((c) => c.free()) };
}

/** handshake(client, server, { session }) with sessions cached elsewhere, CLIENT-mode clients, other protocols, edge sessions. */
function offeredProperty(api, corpus, bench) {
  const { SslSession, handshake } = api;
  const sources = [...bench.offers, ...corpus.ders];
  return fc.property(
    fc.record({
      der: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...sources) }, { weight: 2, arbitrary: edgeSession(sources) }),
      where: fc.constantFrom('none', 'server', 'client', 'holder', 'holderClient'),
      client: fc.nat({ max: bench.clients.length - 1 }),
      server: fc.nat({ max: bench.servers.length - 1 }),
      twice: fc.boolean(),
    }),
    (o) => {
      let s;
      try {
        s = SslSession.fromDER(o.der);
      } catch (e) {
        expectTyped(api, e, 'offered: fromDER');
        return;
      }
      const client = bench.clients[o.client];
      const server = bench.servers[o.server];
      const place = { none: undefined, server, client, holder: bench.holders[0], holderClient: bench.holders[1] }[o.where];
      const results = [];
      bench.held.add(s);
      try {
        if (place) {
          try {
            place.addSession(s);
          } catch (e) {
            expectTyped(api, e, 'offered: addSession');
          }
        }
        let before;
        try {
          before = s.toDER();
        } catch (e) {
          expectTyped(api, e, 'offered: toDER');
        }
        for (let i = 0; i < (o.twice ? 2 : 1); i++) {
          try {
            results.push(handshake(client, server, { session: s }));
          } catch (e) {
            expectTyped(api, e, 'offered: handshake');
          }
        }
        // the offered object is never written by a handshake it was copied for
        if (before !== undefined && (s.id.length === 0 || place) && !s.toDER().equals(before)) {
          throw new UntypedError('offered: a handshake wrote into an offered session that is cached or has an empty id');
        }
        bench.check('offered');
      } finally {
        bench.held.delete(s);
        if (place && !place.freed) place.removeSession(s);
        // identity: a resumed client session is the offered object itself; each object once
        const made = new Set(results.flatMap((r) => [r.clientSession, r.serverSession]));
        made.delete(s);
        made.forEach((x) => x.free());
        s.free();
      }
    },
  );
}

module.exports = { derCorpus, helloCorpus, syncProperties, socketProperty, liveServer, sessionSink, isTyped, UntypedError, toPem, fc, edgeSession, offerBench, offeredProperty };
