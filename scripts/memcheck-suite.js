'use strict';
// The focused suite that `npm run test:valgrind` and `npm run test:asan` run under a memory
// checker: add / remove / evict / flush / DER+PEM / in-process handshakes / a socket echo
// over 127.0.0.1, HTTP/2 sessions on the native path's socketpairs, sessions offered to handshakes (empty ids, tickets, cached elsewhere,
// CLIENT-mode clients, other protocols), plus the error paths of each (use after free, bad DER, refused adds,
// re-entrant listeners, a throwing get callback) and context teardown with live sessions.
// Every step checks its result, so a run that "passes" under the checker also behaved.
//
//   node scripts/memcheck-suite.js [--rounds N]      (default 2; OSC_SUITE_ROUNDS too)
//   OSC_SUITE_WORKERS=N  also runs N worker threads (scripts/lib/workers.js, small counts)
//
// Prints `memcheck-suite: OK <checks> checks, <handshakes> handshakes, <echoes> echoes, <n> HTTP/2 requests`
// and exits 0; any failed check throws (exit 1).
const assert = require('assert');
const { load } = require('./lib/load');

const api = load();
const { SslContext, SslSession, OpenSSLError, handshake, generateSelfSigned, createServer, createHttp2SecureServer, connect, raw, ClientHelloParser } = api;

const argRounds = process.argv.indexOf('--rounds');
const ROUNDS = Number(argRounds > 0 ? process.argv[argRounds + 1] : process.env.OSC_SUITE_ROUNDS || 2);

let checks = 0;
let handshakes = 0;
let echoes = 0;
let h2Requests = 0;
const ok = (cond, what) => {
  checks++;
  assert.ok(cond, what);
};
const eq = (a, b, what) => {
  checks++;
  assert.deepStrictEqual(a, b, what);
};
function throwsCode(fn, code, what) {
  checks++;
  try {
    fn();
  } catch (e) {
    if (code instanceof Function) assert.ok(e instanceof code, `${what}: expected ${code.name}, got ${e && e.stack}`);
    else assert.strictEqual(e.code, code, `${what}: ${e && e.stack}`);
    return e;
  }
  assert.fail(`${what}: expected a throw`);
}

let idCounter = 0;
function newId(len = 32) {
  idCounter++;
  const b = Buffer.alloc(len);
  b.writeUInt32BE((idCounter * 2654435761) >>> 0, 0);
  for (let i = 4; i < len; i++) b[i] = (idCounter + i) & 0xff;
  return b;
}
// Identity: a lookup, a list or an event gives back the thread's one object of a session,
// which may be one this suite holds. `mine` are the objects a check holds and frees itself;
// release() frees what the library handed over unless it is one of them.
const mine = new Set();
const own = (s) => (mine.add(s), s);
const release = (s) => {
  if (!mine.has(s)) s.free();
};
const mk = (o = {}) => own(SslSession.create({ id: newId(), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 3), ...o }));
const ids = (ctx) => {
  const l = ctx.sessions();
  const r = l.map((s) => s.id.toString('hex'));
  l.forEach(release);
  return r;
};

function addRemove() {
  const ctx = new SslContext();
  const a = mk();
  const b = mk();
  eq(ctx.addSession(a), true, 'add a');
  eq(ctx.addSession(a), false, 'add a again');
  eq(ctx.addSession(b), true, 'add b');
  eq(a.references, 2, 'a: object + cache');
  eq(ids(ctx), [b.id.toString('hex'), a.id.toString('hex')], 'list newest first');
  const removed = [];
  ctx.on('removeSession', (s, why) => {
    removed.push(why);
    release(s);
  });
  eq(ctx.removeSession(a), true, 'remove a');
  eq(ctx.removeSession(a), false, 'remove a again');
  eq(a.resumable, false, 'removed → not resumable');
  eq(a.references, 1, 'a: object only');
  // same key, another object: replaces silently
  const b2 = own(SslSession.fromDER(b.toDER()));
  eq(ctx.addSession(b2), true, 'replace b');
  eq(b.references, 1, 'b dropped by the cache');
  const got = ctx.getSession(b.id);
  ok(got === b2, 'lookup finds the replacement (the same object)');
  release(got);
  eq(raw.SSL_CTX_sess_number(ctx), 1, 'raw count');
  // a session cached elsewhere is refused
  const other = new SslContext();
  throwsCode(() => other.addSession(b2), 'ERR_SESSION_IN_OTHER_CONTEXT', 'foreign add');
  eq(other.sessionCount, 0, 'other unchanged');
  other.free();
  eq(removed, ['remove'], 'one remove event');
  [a, b, b2].forEach((s) => s.free());
  ctx.free();
  throwsCode(() => ctx.addSession(mk()), 'ERR_SSL_FREED', 'add after free');
  throwsCode(() => a.toDER(), 'ERR_SSL_FREED', 'toDER after free');
}

function evict() {
  const ctx = new SslContext({ sessionCacheSize: 8 });
  const why = [];
  ctx.on('removeSession', (s, reason) => {
    why.push(reason);
    release(s);
  });
  for (let i = 0; i < 30; i++) {
    const s = mk();
    ctx.addSession(s);
    s.free(); // the cache keeps its own reference
  }
  eq(ctx.sessionCount, 8, 'bounded by size');
  eq(ctx.stats.cacheFull, 22, 'cache_full');
  eq(why.length, 22, 'evictions reported');
  ok(why.every((w) => w === 'evict'), 'reason evict');
  ctx.sessionCacheSize = 2;
  const s = mk();
  ctx.addSession(s);
  eq(ctx.sessionCount, 2, 'shrunk on next add');
  s.free();
  ctx.free();
  eq(why.filter((w) => w === 'free').length, 2, 'free flushes');
}

function flush() {
  const ctx = new SslContext({ sessionCacheSize: 0 });
  const list = [];
  for (let i = 0; i < 20; i++) {
    const s = mk({ time: 1000 + i, timeout: 10 });
    ctx.addSession(s);
    list.push(s);
  }
  let flushed = 0;
  ctx.on('removeSession', (s, reason) => {
    if (reason === 'flush') flushed++;
    release(s);
  });
  ctx.flushSessions(1015); // removes time + 10 < 1015 → times 1000..1004
  eq(flushed, 5, 'flush by time');
  eq(ctx.sessionCount, 15, 'after flush');
  raw.SSL_CTX_flush_sessions(ctx, 0);
  eq(ctx.sessionCount, 0, 'flush all');
  eq(flushed, 20, 'all flushed');
  ok(list.every((s) => s.references === 1 && !s.resumable), 'references back to the objects');
  list.forEach((s) => s.free());
  ctx.free();
}

function derPem() {
  const s = mk({ idContext: 'ctx', time: 1234567, timeout: 99 });
  const der = s.toDER();
  const back = SslSession.fromDER(der);
  eq(back.toDER(), der, 'DER round trip');
  const pem = s.toPEM();
  const fromPem = SslSession.fromPEM(pem);
  eq(fromPem.id, s.id, 'PEM round trip');
  ok(s.toText().includes('Session-ID'), 'toText');
  // every truncation and a trailing byte fail with a typed error
  for (let n = 0; n < der.length; n += Math.max(1, der.length >> 4)) {
    throwsCode(() => SslSession.fromDER(der.subarray(0, n)), OpenSSLError, `truncated at ${n}`);
  }
  throwsCode(() => SslSession.fromDER(Buffer.concat([der, Buffer.from([0])])), OpenSSLError, 'trailing byte');
  throwsCode(() => SslSession.fromPEM(pem.replace(/[A-Za-z]{8}\n/, '@@@@@@@@\n')), OpenSSLError, 'bad PEM');
  const noCipher = SslSession.create({ id: newId() });
  throwsCode(() => noCipher.toDER(), 'ERR_SESSION_NOT_ENCODABLE', 'no cipher');
  throwsCode(() => SslSession.fromDER('x'), TypeError, 'wrong type');
  [s, back, fromPem, noCipher].forEach((x) => x.free());
}

function handshakes_(pki) {
  const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'suite' });
  const client = new SslContext({ role: 'client' });
  const events = [];
  server.on('newSession', (s) => {
    events.push('new');
    release(s);
  });
  server.on('removeSession', (s, why) => {
    events.push(why);
    release(s);
  });
  const full = handshake(client, server);
  handshakes++;
  eq(full.resumed, false, 'full handshake');
  const again = handshake(client, server, { session: full.clientSession });
  handshakes++;
  eq(again.resumed, true, 'resumed from the internal cache');
  eq(server.stats.hits, 1, 'hits');
  // the get callback: answers from an external copy, and a throwing one
  const der = full.serverSession.toDER();
  server.flushSessions(0);
  server.getSessionCallback = () => SslSession.fromDER(der);
  const viaCb = handshake(client, server, { session: full.clientSession });
  handshakes++;
  eq(viaCb.resumed, true, 'resumed via the get callback');
  server.getSessionCallback = () => {
    throw new Error('boom');
  };
  server.flushSessions(0);
  const e = throwsCode(() => handshake(client, server, { session: full.clientSession }), Error, 'get callback throw');
  handshakes++;
  eq(e.message, 'boom', 'rethrown');
  server.getSessionCallback = undefined;
  // no shutdown: 1.0.2 drops the session of an unshut connection
  const unshut = handshake(client, server, { shutdown: false });
  handshakes++;
  eq(unshut.serverSession.resumable, false, 'unshut → removed');
  // a client that does not trust the server
  const strict = new SslContext({ role: 'client', ca: generateSelfSigned({ bits: 1024, days: 1 }).cert });
  throwsCode(() => handshake(strict, server), OpenSSLError, 'untrusted server');
  handshakes++;
  strict.free();
  for (const r of [full, again, viaCb, unshut]) {
    r.clientSession.free();
    r.serverSession.free();
  }
  ok(events.includes('new') && events.includes('handshake'), 'events delivered');
  server.free();
  client.free();
}

function reentrancy() {
  const ctx = new SslContext({ sessionCacheSize: 4 });
  const keep = [];
  ctx.on('removeSession', (s, why) => {
    // listeners call back into the context that is delivering
    if (why === 'evict' && ctx.sessionCount > 0) {
      const head = ctx.sessions();
      ctx.removeSession(head[head.length - 1]);
      head.forEach((x) => x.free());
    }
    keep.push(s);
  });
  for (let i = 0; i < 12; i++) {
    const s = mk();
    ctx.addSession(s);
    s.free();
  }
  ok(ctx.sessionCount <= 4, 'bounded');
  const listed = ctx.sessions();
  eq(listed.length, ctx.sessionCount, 'list matches count');
  ok(listed.every((s) => s.references === 2), 'one object + the cache each');
  listed.forEach((s) => s.free());
  ctx.once('removeSession', () => ctx.free()); // free from inside a listener
  ctx.flushSessions(0);
  ok(ctx.freed, 'freed from a listener');
  keep.forEach((s) => s.free());
}

function clientHello() {
  const p = new ClientHelloParser();
  const r = p.push(Buffer.from('160301002a0100002603030000000000000000000000000000000000000000000000000000000000000000', 'hex'));
  ok(r === undefined || r.kind !== undefined, 'parser answers');
}

async function socketEcho(pki) {
  const server = createServer({ cert: pki.cert, key: pki.key }, (sock) => {
    sock.on('data', (d) => sock.write(d));
    sock.on('end', () => sock.end());
    sock.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  let session;
  for (let i = 0; i < 3; i++) {
    const c = connect({ host: '127.0.0.1', port, ca: pki.cert, servername: 'localhost', session });
    const got = await new Promise((resolve, reject) => {
      const parts = [];
      c.on('error', reject);
      c.on('secureConnect', () => {
        if (!session) session = c.getSession();
        c.write(Buffer.alloc(1000 + i, i));
        c.end();
      });
      c.on('data', (d) => parts.push(d));
      c.on('end', () => resolve({ data: Buffer.concat(parts), reused: c.isSessionReused() }));
    });
    await new Promise((r) => (c.closed ? r() : c.once('close', r)));
    eq(got.data, Buffer.alloc(1000 + i, i), 'echo');
    if (i > 0) eq(got.reused, true, 'resumed over the socket');
    echoes++;
  }
  // a client that disconnects in the middle of the handshake
  const net = require('net');
  const raw = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => raw.once('connect', r));
  raw.write(Buffer.from('16030100', 'hex'));
  raw.destroy();
  await new Promise((r) => server.close(r));
  // the context outlives close() (the server may listen again, as https.Server): free it
  ok(!server.context.freed, 'server context kept after close');
  server.context.free();
  ok(server.context.freed, 'server context freed');
}

// HTTP/2 on the native path: each session runs on a socketpair the native listener pumps
// (native/native_listener_pipe.cc). Resumed sessions (their SETTINGS held for the first
// response), a 1 MiB response (the pipe's and TCP's queues full), a client that destroys its
// connection mid-response, and a server that destroys a session; then the server closes.
async function http2Sessions(pki) {
  const http2 = require('http2');
  const big = Buffer.alloc(1 << 20, 7);
  const server = createHttp2SecureServer({ cert: pki.cert, key: pki.key, connectionPath: 'native' }, (req, res) => {
    req.resume();
    if (req.url === '/big') return res.end(big);
    if (req.url === '/drop') return req.stream.session.destroy();
    res.end('ok');
  });
  server.on('tlsClientError', () => {});
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  let tlsSession;
  const tlsConnect = require('tls').connect;
  // one session per request; resolves once its TLS socket closed
  const request = (path, keep) =>
    new Promise((resolve) => {
      let socket;
      let settled = false;
      const client = http2.connect(`https://127.0.0.1:${port}`, {
        createConnection: () => (socket = tlsConnect({ host: '127.0.0.1', port, ca: pki.cert, servername: 'localhost', maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'], session: tlsSession })),
      });
      client.on('error', () => {});
      const req = client.request({ ':path': path });
      const parts = [];
      let length = 0;
      req.on('data', (d) => {
        length += d.length;
        if (keep) parts.push(d);
        else if (length > 65536 && !socket.destroyed) socket.destroy(); // the client drops mid-response
      });
      req.on('error', () => {});
      req.on('close', () => {
        if (settled) return;
        settled = true;
        if (!tlsSession) tlsSession = socket.getSession();
        const reused = socket.isSessionReused();
        client.close();
        const finish = () => resolve({ body: Buffer.concat(parts), reused });
        if (socket.closed) finish();
        else socket.once('close', finish);
      });
      req.end();
      h2Requests++;
    });
  for (let i = 0; i < 3; i++) {
    const r = await request('/', true);
    eq(r.body.toString(), 'ok', 'h2 response');
    if (i > 0) eq(r.reused, true, 'h2 session resumed');
  }
  const r = await request('/big', true);
  eq(r.body.length, big.length, 'h2 1 MiB response');
  eq(r.body.equals(big), true, 'h2 1 MiB response bytes');
  await request('/big', false);
  const dropped = await request('/drop', true);
  eq(dropped.body.length, 0, 'h2 session destroyed by the server: no body');
  const after = await request('/', true);
  eq(after.body.toString(), 'ok', 'h2 server serves after a dropped session');
  await new Promise((r) => server.close(r));
  server.context.free();
}

// The offered-session paths under the checker. An empty-id session with a
// ticket (OpenSSL 1.0.2 writes id, master key, peer, ticket INTO the offered object), the
// same after a refused add, a session cached by the resuming server and by a CLIENT-mode
// client offered again, sessions of other protocol versions, a renewed ticket, an
// in-flight connect() offering an empty-id session; then every cache is flushed and freed
// (before the fix: invalid reads / writes / a double free at context free).
async function offeredSessions(pki) {
  const D = require('./lib/session_der');
  const CLIENT = api.SessionCacheMode.CLIENT;
  const ticketServer = new SslContext({ cert: pki.cert, key: pki.key, sessionIdContext: 'offer' });
  const idServer = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'offer' });
  const oldServer = new SslContext({ cert: pki.cert, key: pki.key, sessionIdContext: 'offer', maxVersion: 'TLSv1' });
  const plain = new SslContext({ role: 'client' });
  const clientMode = new SslContext({ role: 'client', sessionCacheMode: CLIENT, sessionIdContext: 'offer', sessionCacheSize: 4 });
  const holder = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'holder' });
  for (const c of [ticketServer, idServer, oldServer, clientMode, holder]) c.on('removeSession', release);
  const first = handshake(plain, ticketServer);
  handshakes++;
  const der = D.withId(first.clientSession.toDER(), Buffer.alloc(0));
  const emptyId = own(SslSession.fromDER(der));
  throwsCode(() => holder.addSession(emptyId), 'ERR_SESSION_ID_EMPTY', 'empty id refused');
  // the ticket server accepts the ticket and resumes, but a client that sent no id cannot
  // tell (1.0.2's "EAP-FAST" path): OpenSSL fails that handshake (ccs received early)
  throwsCode(() => handshake(clientMode, ticketServer, { session: emptyId }), OpenSSLError, 'ticket without id');
  eq(emptyId.toDER(), der, 'offered empty-id session unchanged by the failed handshake');
  // a TLSv1.2 session offered to a TLSv1-only server: 1.0.2's SSL_set_session switches the
  // client to TLSv1.2 only, so this fails (a version policy may let it run): either way
  // typed, and the offered object stays as it was
  try {
    const r = handshake(plain, oldServer, { session: emptyId });
    release(r.clientSession);
    release(r.serverSession);
  } catch (e) {
    ok(e instanceof OpenSSLError, `TLSv1.2 session to a TLSv1 server: ${e && e.stack}`);
  }
  eq(emptyId.toDER(), der, 'offered empty-id session unchanged (other protocol)');
  for (const [client, server] of [
    [plain, idServer],
    [clientMode, idServer],
  ]) {
    const r = handshake(client, server, { session: emptyId });
    handshakes++;
    eq(emptyId.toDER(), der, 'offered empty-id session unchanged');
    ok(!r.clientSession.equals(emptyId), 'the handshake used a copy');
    release(r.clientSession);
    release(r.serverSession);
  }
  // cached by the resuming server and by the CLIENT-mode client, offered again (resumed)
  const full = handshake(clientMode, idServer);
  handshakes++;
  const inServer = own(idServer.getSession(full.serverSession.id));
  const inClient = own(clientMode.getSession(full.clientSession.id));
  ok(inServer === full.serverSession && inClient === full.clientSession, 'lookups give back the live objects');
  const before = [inServer.toDER(), inClient.toDER()];
  for (const offered of [inClient, inServer, full.clientSession]) {
    const r = handshake(clientMode, idServer, { session: offered });
    handshakes++;
    ok(r.resumed, 'cached session resumed');
    release(r.clientSession);
    release(r.serverSession);
  }
  eq([inServer.toDER(), inClient.toDER()], before, 'cached objects unchanged');
  // a ticket resumption that renews the ticket, from a CLIENT-mode client
  const t1 = handshake(clientMode, ticketServer);
  const t2 = handshake(clientMode, ticketServer, { session: t1.clientSession });
  handshakes += 2;
  ok(t2.resumed, 'ticket resumed');
  // a session of another protocol offered to a TLSv1.2 server and the other way round
  const old = handshake(plain, oldServer);
  const mixed = handshake(plain, idServer, { session: old.clientSession });
  handshakes += 2;
  ok(!mixed.resumed, 'TLSv1 session not resumed by another server');
  for (const r of [full, t1, t2, old, mixed, first]) {
    r.clientSession.free();
    r.serverSession.free();
  }
  // connect() offering the empty-id session (native TlsConnection)
  const server = createServer({ cert: pki.cert, key: pki.key });
  server.on('secureConnection', (sock) => sock.end());
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const c = connect({ host: '127.0.0.1', port: server.address().port, ca: pki.cert, servername: 'localhost', session: emptyId });
  await new Promise((resolve, reject) => {
    c.once('secureConnect', resolve);
    c.once('error', reject);
  });
  handshakes++;
  eq(emptyId.toDER(), der, 'connect() left the offered session unchanged');
  c.destroy();
  await new Promise((r) => (c.closed ? r() : c.once('close', r)));
  await new Promise((r) => server.close(r));
  // teardown in the order that freed the shared object twice before the fix
  emptyId.free();
  inServer.free();
  inClient.free();
  for (const x of [holder, clientMode, idServer, ticketServer, oldServer, plain]) {
    x.flushSessions(0);
    eq(x.sessionCount, 0, 'flushed');
    x.free();
  }
}

async function main() {
  const pki = generateSelfSigned({ commonName: 'localhost', bits: 1024, days: 2 });
  for (let round = 0; round < ROUNDS; round++) {
    addRemove();
    evict();
    flush();
    derPem();
    handshakes_(pki);
    reentrancy();
    clientHello();
    await socketEcho(pki);
    await http2Sessions(pki);
    await offeredSessions(pki);
  }
  // worker threads: contexts in several environments at once, DER between them, and
  // workers terminated with live state (OSC_SUITE_WORKERS=<n>; the memory checkers set it)
  const nWorkers = Number(process.env.OSC_SUITE_WORKERS || 0);
  if (nWorkers > 0) {
    const r = await require('./lib/workers').run({ workers: nWorkers, ops: 400, fullRounds: 1, terminateRounds: 1 });
    ok(r.ok, `workers: ${r.errors.join('; ')}`);
    eq(r.workersCompleted, nWorkers, 'workers completed');
    eq(r.workersTerminated, nWorkers, 'workers terminated');
    console.log(`memcheck-suite: workers ok (${r.totalOps} ops, ${r.totalHandshakes} handshakes in ${nWorkers} threads)`);
  }
    // let FinalizationRegistry run for whatever the suite dropped without free()
  if (global.gc) {
    for (let i = 0; i < 3; i++) {
      global.gc();
      await new Promise((r) => setImmediate(r));
    }
  }
  console.log(`memcheck-suite: OK ${checks} checks, ${handshakes} handshakes, ${echoes} echoes, ${h2Requests} HTTP/2 requests`);
}

main().catch((e) => {
  console.error('memcheck-suite: FAILED');
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
