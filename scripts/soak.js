#!/usr/bin/env node
'use strict';
// npm run soak — 10 minutes (--quick: 1 minute; --seconds N: N seconds) of mixed work:
//   - cache operations on a few contexts: create/add/remove/lookup/list/flush/evict, DER and
//     PEM round trips, contexts created and freed with sessions still cached
//   - in-process handshakes (full and resumed) on a shared server context
//   - loopback TLS over 127.0.0.1: our createServer (with a MemorySessionStore) and our
//     connect(), with echo, resumption, and random client disconnects (before, during and
//     after the handshake, with and without a clean shutdown)
// Every 2 s it samples RSS and process._getActiveHandles().length. It fails when an
// unexpected error appears (anything but the disconnect errors the random clients cause),
// when the handle count is not back to its starting level at the end, when handles pile up
// during the run, or when RSS keeps growing (last quarter vs second quarter of the run).
// Prints a summary (RSS start/end, operations, handshakes) and SOAK-RESULT {json}.
const net = require('net');
const { load } = require('./lib/load');

const argv = process.argv.slice(2);
const seconds = argv.includes('--seconds') ? Number(argv[argv.indexOf('--seconds') + 1]) : argv.includes('--quick') ? 60 : 600;
const CONCURRENCY = 8;

// errors the random disconnects are expected to cause
const EXPECTED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_TLS_HANDSHAKE_TIMEOUT', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_SSL_FREED', 'ERR_TLS_FAILED', 'ECONNABORTED']);

async function main() {
  const api = load();
  const { SslContext, SslSession, handshake, generateSelfSigned, createServer, connect, MemorySessionStore } = api;
  const pki = generateSelfSigned({ commonName: 'localhost', bits: 2048, days: 2 });
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const stats = { ops: 0, inProcessHandshakes: 0, socketHandshakes: 0, resumed: 0, disconnects: 0, echoes: 0, contextsFreed: 0, expectedErrors: 0 };
  const unexpected = [];
  const noteError = (where, e) => {
    if (e && EXPECTED_CODES.has(e.code)) stats.expectedErrors++;
    else if (unexpected.length < 20) unexpected.push(`${where}: ${e && e.code ? e.code + ' ' : ''}${e && e.stack ? e.stack : e}`);
  };
  let rnd = 12345;
  const rand = () => {
    rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
    return rnd / 0x80000000;
  };

  // ---- the loopback server
  const store = new MemorySessionStore({ maxEntries: 2000 });
  const server = createServer({ cert: pki.cert, key: pki.key, sessionStore: store, handshakeTimeout: 5000, sessionCacheSize: 500 }, (sock) => {
    sock.on('error', (e) => noteError('server socket', e));
    sock.on('data', (d) => sock.write(d));
    sock.on('end', () => sock.end());
  });
  server.on('tlsClientError', (e) => noteError('tlsClientError', e));
  server.on('sessionStoreError', (e) => noteError('sessionStoreError', e));
  server.context.on('error', (e) => noteError('server context', e));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const clientCtx = new SslContext({ role: 'client', ca: pki.cert });
  const sessions = []; // DER of recent sessions to offer again

  const baseline = { rss: process.memoryUsage().rss, handles: process._getActiveHandles().length };
  const samples = [];
  const sample = () => samples.push({ t: Date.now() - started, rss: process.memoryUsage().rss, handles: process._getActiveHandles().length });
  sample();
  const sampler = setInterval(sample, 2000);

  // ---- one loopback client
  async function oneConnection() {
    const mode = rand();
    if (mode < 0.15) {
      // raw TCP: connect, maybe send garbage or a partial record, drop
      stats.disconnects++;
      await new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.on('error', () => {});
        s.on('close', resolve);
        s.on('connect', () => {
          if (rand() < 0.5) s.write(Buffer.from([22, 3, 1, 0, 200, 1, 0]));
          setTimeout(() => s.destroy(), Math.floor(rand() * 20));
        });
      });
      return;
    }
    const offer = sessions.length > 0 && rand() < 0.6 ? sessions[Math.floor(rand() * sessions.length)] : undefined;
    const c = connect({ host: '127.0.0.1', port, servername: 'localhost', context: clientCtx, session: offer, handshakeTimeout: 5000 });
    const closed = new Promise((r) => c.once('close', r));
    const dropDuringHandshake = rand() < 0.1;
    if (dropDuringHandshake) {
      setTimeout(() => c.destroy(), Math.floor(rand() * 5));
      stats.disconnects++;
    }
    c.on('error', (e) => noteError('client', e));
    c.on('session', (der) => {
      sessions.push(der);
      if (sessions.length > 50) sessions.shift();
    });
    c.on('secureConnect', () => {
      stats.socketHandshakes++;
      if (c.isSessionReused()) stats.resumed++;
      const r = rand();
      if (r < 0.2) {
        c.destroy(); // abrupt: no close_notify
        stats.disconnects++;
        return;
      }
      const payload = Buffer.alloc(1 + Math.floor(rand() * 4000), 0x61);
      let got = 0;
      c.on('data', (d) => {
        got += d.length;
        if (got >= payload.length) {
          stats.echoes++;
          if (r < 0.3) {
            c.destroy();
            stats.disconnects++;
          } else c.end();
        }
      });
      c.write(payload);
    });
    await closed;
  }

  async function connectionLoop() {
    while (Date.now() < deadline) {
      try {
        await oneConnection();
      } catch (e) {
        noteError('connection loop', e);
      }
    }
  }

  // ---- cache work and in-process handshakes, interleaved with the event loop
  async function cacheLoop() {
    const hsServer = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'soak', sessionCacheSize: 200 });
    hsServer.on('removeSession', (s) => s.free());
    hsServer.on('newSession', (s) => s.free());
    const hsClient = new SslContext({ role: 'client' });
    let resumable;
    let ctx = new SslContext({ sessionCacheSize: 300 });
    ctx.on('removeSession', (s) => s.free());
    let n = 0;
    while (Date.now() < deadline) {
      for (let i = 0; i < 200; i++) {
        const r = rand();
        n++;
        try {
          if (r < 0.45) {
            const id = Buffer.alloc(32);
            id.writeUInt32BE(n, 0);
            id.writeUInt32BE((n * 2654435761) >>> 0, 4);
            const s = SslSession.create({ id, cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, n & 0xff), time: Math.floor(Date.now() / 1000) - Math.floor(rand() * 600), timeout: 300 });
            ctx.addSession(s);
            if (rand() < 0.3) {
              const copy = SslSession.fromDER(s.toDER());
              copy.free();
            }
            s.free();
          } else if (r < 0.65) {
            const list = ctx.sessions();
            if (list.length > 0) ctx.removeSession(list[Math.floor(rand() * list.length)]);
            list.forEach((s) => s.free());
          } else if (r < 0.8) {
            const id = Buffer.alloc(32);
            id.writeUInt32BE(Math.floor(rand() * n), 0);
            const s = ctx.getSession(id);
            if (s) s.free();
          } else if (r < 0.85) {
            ctx.flushSessions(); // expire by time
          } else if (r < 0.86) {
            // replace the context while sessions are cached
            ctx.free();
            stats.contextsFreed++;
            ctx = new SslContext({ sessionCacheSize: 300 });
            ctx.on('removeSession', (s) => s.free());
          } else if (r < 0.87) {
            const s = SslSession.fromPEM(SslSession.create({ id: Buffer.alloc(16, n & 0xff), cipher: 'AES256-SHA' }).toPEM());
            s.free();
          } else if (r < 0.875) {
            const h = handshake(hsClient, hsServer, resumable && rand() < 0.7 ? { session: resumable } : undefined);
            stats.inProcessHandshakes++;
            if (h.resumed) stats.resumed++;
            if (resumable) resumable.free();
            resumable = h.clientSession;
            h.serverSession.free();
          } else {
            const s = SslSession.create({ id: Buffer.alloc(8, n & 0xff) });
            void s.references;
            s.free();
          }
          stats.ops++;
        } catch (e) {
          noteError('cache loop', e);
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    if (resumable) resumable.free();
    ctx.free();
    hsServer.free();
    hsClient.free();
  }

  await Promise.all([cacheLoop(), ...Array.from({ length: CONCURRENCY }, connectionLoop)]);
  clearInterval(sampler);
  await new Promise((r) => server.close(r));
  clientCtx.free();
  // let closing sockets and timers settle, then look at the handles
  for (let i = 0; i < 20 && process._getActiveHandles().length > baseline.handles; i++) await new Promise((r) => setTimeout(r, 100));
  if (global.gc) global.gc();
  sample();

  // ---- verdict
  const mb = (b) => Math.round(b / 1048576);
  const q = (from, to) => {
    const xs = samples.filter((s) => s.t >= from * seconds * 1000 && s.t < to * seconds * 1000).map((s) => s.rss).sort((a, b) => a - b);
    return xs.length ? xs[Math.floor(xs.length / 2)] : undefined;
  };
  const rssEarly = q(0.25, 0.5) ?? samples[0].rss;
  const rssLate = q(0.75, 1.01) ?? samples[samples.length - 1].rss;
  const maxHandles = Math.max(...samples.map((s) => s.handles));
  const endHandles = samples[samples.length - 1].handles;
  const problems = [];
  if (unexpected.length) problems.push(`unexpected errors:\n  ${unexpected.join('\n  ')}`);
  if (endHandles > baseline.handles) problems.push(`handles not released: ${endHandles} at the end, ${baseline.handles} at the start`);
  if (maxHandles > baseline.handles + CONCURRENCY * 4 + 10) problems.push(`handles piled up: max ${maxHandles}`);
  // growth allowance: 64 MB or 50 %, whichever is larger (V8 heap sizing is not a leak)
  if (rssLate - rssEarly > Math.max(64 * 1048576, rssEarly * 0.5)) problems.push(`RSS grew from ${mb(rssEarly)} MB to ${mb(rssLate)} MB`);
  if (stats.socketHandshakes === 0 || stats.inProcessHandshakes === 0) problems.push('no handshakes completed');
  const summary = {
    ok: problems.length === 0,
    seconds,
    rssStartMB: mb(baseline.rss),
    rssSecondQuarterMB: mb(rssEarly),
    rssLastQuarterMB: mb(rssLate),
    rssEndMB: mb(samples[samples.length - 1].rss),
    handlesStart: baseline.handles,
    handlesMax: maxHandles,
    handlesEnd: endHandles,
    ...stats,
    samples: samples.length,
  };
  console.log(
    `soak: ${seconds} s, ${stats.ops} cache operations, ${stats.inProcessHandshakes} in-process + ${stats.socketHandshakes} socket handshakes ` +
      `(${stats.resumed} resumed), ${stats.echoes} echoes, ${stats.disconnects} random disconnects, ${stats.contextsFreed} contexts freed with sessions cached`,
  );
  console.log(`soak: RSS start ${summary.rssStartMB} MB, 2nd quarter ${summary.rssSecondQuarterMB} MB, last quarter ${summary.rssLastQuarterMB} MB, end ${summary.rssEndMB} MB; handles start ${baseline.handles}, max ${maxHandles}, end ${endHandles}; expected errors ${stats.expectedErrors}`);
  console.log(`SOAK-RESULT ${JSON.stringify(summary)}`);
  if (problems.length) {
    console.error(`soak: FAILED\n${problems.join('\n')}`);
    process.exit(1);
  }
  console.log('soak: OK');
}

main().catch((e) => {
  console.error('soak: FAILED');
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
