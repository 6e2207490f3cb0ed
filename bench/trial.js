'use strict';
// One benchmark trial, run in a fresh child process by bench/run.js (better-sqlite3
// style). Usage: node --expose-gc bench/trial.js <name> '<json args>'
// Prints one JSON line with the trial's figures on stdout.
const path = require('path');
const fs = require('fs');
const lib = require(path.join(__dirname, '..', 'dist'));
const { SslContext, SslSession, raw, handshake, SessionCacheMode } = lib;

const CIPHER = 'ECDHE-RSA-AES128-GCM-SHA256';
const now = () => Number(process.hrtime.bigint()) / 1e9;
const tick = () => new Promise((r) => setImmediate(r));
const randomId = () => require('crypto').randomBytes(32);

/** The setup's garbage collected, and its finalizers (napi wraps, FinalizationRegistry)
 * run, before a timed window: a cache of 100k filled through 100k SslSession objects left
 * ~0.2–0.7 s of finalization that landed in the first chunks of the window (B1 at 100k
 * read 1–4 k pairs/s in some rounds). Garbage made inside the window is still paid there. */
async function settle() {
  if (typeof global.gc !== 'function') return;
  for (let i = 0; i < 2; i++) {
    global.gc();
    for (let j = 0; j < 3; j++) await tick();
  }
}

/** Runs `chunk()` (which does `per` operations) until `ms` have passed; yields to the
 * event loop between chunks so FinalizationRegistry cleanups run inside the timed window. */
async function timed(ms, per, chunk, warm = 3) {
  await settle();
  for (let i = 0; i < warm; i++) chunk();
  await tick();
  const t0 = now();
  let ops = 0;
  let t1;
  do {
    chunk();
    ops += per;
    await tick();
    t1 = now();
  } while ((t1 - t0) * 1000 < ms);
  return { ops, seconds: t1 - t0, perSec: ops / (t1 - t0) };
}

/** `keep`: the SslSession of each cached session stays alive (held in `held`) */
function filledContext(n, extra = {}, keep = false) {
  const ctx = new SslContext({ sessionCacheSize: 0, ...extra });
  const ids = [];
  const held = [];
  for (let i = 0; i < n; i++) {
    const id = randomId();
    const s = SslSession.create({ id });
    ctx.addSession(s);
    if (keep) held.push(s);
    else s.free(); // the cache keeps its reference
    ids.push(id);
  }
  return { ctx, ids, held };
}

function serverContext(a, extra = {}) {
  return new SslContext({ cert: fs.readFileSync(a.cert), key: fs.readFileSync(a.key), ciphers: CIPHER, noTicket: true, ...extra });
}

/** a no-op subscriber on every diagnostics channel of the package */
function subscribeAll(names) {
  const dc = require('diagnostics_channel');
  const noop = () => {};
  for (const name of [names.handshake, names.lookup]) dc.tracingChannel(name).subscribe({ start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop });
  for (const [k, name] of Object.entries(names)) if (k !== 'handshake' && k !== 'lookup') dc.subscribe(name, noop);
}

const trials = {
  // B12 micro: ns per connection of the diagnostics path with nobody subscribed (what every
  // connection pays: observeConnection's checks), and of one handshake's publishes
  // (start, end, asyncStart, asyncEnd of one message) to a no-op subscriber
  async b11micro(a) {
    const dist = path.join(__dirname, '..', 'dist');
    const { observeConnection } = require(path.join(dist, 'tls', 'observe'));
    const { handshakeChannel } = require(path.join(dist, 'common', 'diagnostics'));
    const server = new (require('events').EventEmitter)();
    const ctx = new SslContext();
    const n = a.iterations;
    let sink = 0;
    const loop = (fn) => {
      for (let i = 0; i < n / 10; i++) fn(); // warm-up
      const t0 = now();
      for (let i = 0; i < n; i++) fn();
      return ((now() - t0) / n) * 1e9;
    };
    const empty = loop(() => {
      sink++;
    });
    const none = loop(() => {
      if (observeConnection(server, ctx) !== undefined) sink++;
    });
    subscribeAll(lib.CHANNELS);
    const publish = loop(() => {
      const m = { server, socket: undefined };
      handshakeChannel.start.publish(m);
      handshakeChannel.end.publish(m);
      m.resumed = true;
      m.durationMs = 1;
      handshakeChannel.asyncStart.publish(m);
      handshakeChannel.asyncEnd.publish(m);
    });
    ctx.free();
    return { empty, none, publish, sink };
  },

  // B0: call floor, ns/call
  async b0(a) {
    const n = a.iterations;
    const floor = require(a.floor);
    const { native } = require(path.join(__dirname, '..', 'dist', 'binding', 'native'));
    const h = new native.SslContextHandle(0, new Uint32Array(new SharedArrayBuffer(8)));
    const w = new floor.Wrapped();
    const f = floor.empty;
    function jsEmpty(x) {
      return x;
    }
    const measure = (fn) => {
      fn(1000);
      const t0 = process.hrtime.bigint();
      fn(n);
      return Number(process.hrtime.bigint() - t0) / n;
    };
    let sink = 0;
    const out = {};
    const cases = {
      jsFunction: (k) => {
        for (let i = 0; i < k; i++) sink += jsEmpty(i) & 1;
      },
      napiFunction: (k) => {
        for (let i = 0; i < k; i++) sink += f() === undefined ? 1 : 0;
      },
      napiMethod: (k) => {
        for (let i = 0; i < k; i++) sink += w.method() === undefined ? 1 : 0;
      },
      ourMethod: (k) => {
        for (let i = 0; i < k; i++) sink += h.freed() ? 1 : 0;
      },
    };
    for (let r = 0; r < 5; r++) {
      for (const [k, fn] of Object.entries(cases)) out[k] = Math.min(out[k] ?? Infinity, measure(fn));
    }
    h.free();
    out.sink = sink;
    return out;
  },

  // B1: add + remove pairs on a cache of n sessions
  async b1(a) {
    const { ctx } = filledContext(a.n);
    const pool = [];
    for (let i = 0; i < 1024; i++) pool.push(SslSession.create({ id: randomId() }));
    let chunk;
    if (a.via === 'facade') {
      chunk = () => {
        for (let i = 0; i < pool.length; i++) {
          if (!ctx.addSession(pool[i])) throw new Error('add');
          if (!ctx.removeSession(pool[i])) throw new Error('remove');
        }
      };
    } else if (a.via === 'raw') {
      chunk = () => {
        for (let i = 0; i < pool.length; i++) {
          if (raw.SSL_CTX_add_session(ctx, pool[i]) !== 1) throw new Error('add');
          if (raw.SSL_CTX_remove_session(ctx, pool[i]) !== 1) throw new Error('remove');
        }
      };
    } else if (a.via === 'batch') {
      chunk = () => {
        if (ctx.addSessions(pool) !== pool.length) throw new Error('add');
        if (ctx.removeSessions(pool) !== pool.length) throw new Error('remove');
      };
    } else throw new Error('via');
    const r = await timed(a.ms, pool.length, chunk);
    if (ctx.sessionCount !== a.n) throw new Error('cache size check');
    return r;
  },

  // B2: getSession lookups, or sessions() (entries/s) on a cache of n. Identity: with
  // `live` every cached session has a live SslSession, which each result is (no native
  // reference taken); without, every result is a new SslSession (one native reference),
  // freed at once so that the next lookup of it finds no live object either.
  async b2(a) {
    const { ctx, ids, held } = filledContext(a.n, {}, a.live);
    if (a.op === 'get') {
      let k = 0;
      const r = await timed(a.ms, 1024, a.live
        ? () => {
            for (let i = 0; i < 1024; i++) {
              if (ctx.getSession(ids[k++ % ids.length]) === undefined) throw new Error('lookup');
            }
          }
        : () => {
            for (let i = 0; i < 1024; i++) {
              const s = ctx.getSession(ids[k++ % ids.length]);
              if (s === undefined) throw new Error('lookup');
              s.free();
            }
          });
      if (a.live && ctx.getSession(ids[0]) !== held[0]) throw new Error('identity check');
      return r;
    }
    const r = await timed(a.ms, 1, () => {
      const list = ctx.sessions();
      if (list.length !== a.n) throw new Error('list');
      if (!a.live) for (const s of list) s.free();
    }, 1);
    if (a.live) {
      const mine = new Set(held);
      if (!ctx.sessions().every((s) => mine.has(s))) throw new Error('identity check');
    }
    return { ...r, entries: r.ops * a.n, entriesPerSec: r.perSec * a.n };
  },

  // B3: toDER / fromDER of a handshake-made session
  async b3(a) {
    const der = fs.readFileSync(a.der);
    if (a.op === 'into') {
      // toDERInto: one pooled Buffer, no allocation per call
      const s = SslSession.fromDER(der);
      const pool = Buffer.alloc(4096);
      return timed(a.ms, 256, () => {
        for (let i = 0; i < 256; i++) if (s.toDERInto(pool) !== der.length) throw new Error('toDERInto');
      });
    }
    if (a.op === 'to') {
      const s = SslSession.fromDER(der);
      return timed(a.ms, 256, () => {
        for (let i = 0; i < 256; i++) if (s.toDER().length !== der.length) throw new Error('toDER');
      });
    }
    return timed(a.ms, 256, () => {
      for (let i = 0; i < 256; i++) SslSession.fromDER(der);
    });
  },

  // B4: in-process handshakes, full or resumed
  async b4(a) {
    const server = serverContext(a);
    const client = new SslContext({ role: 'client', ciphers: CIPHER, noTicket: true });
    const first = handshake(client, server);
    const offer = first.clientSession;
    const per = a.mode === 'resumed' ? 16 : 2;
    let reused = 0;
    const r = await timed(a.ms, per, () => {
      for (let i = 0; i < per; i++) {
        const h = handshake(client, server, a.mode === 'resumed' ? { session: offer } : undefined);
        if (h.resumed) reused++;
      }
    });
    if (reused !== (a.mode === 'resumed' ? r.ops + 3 * per : 0)) throw new Error(`resumption check ${reused}`);
    return r;
  },

  // B5/B6 server: ours or node:tls; reports its port over IPC and runs until killed
  async server(a) {
    const cert = fs.readFileSync(a.cert);
    const key = fs.readFileSync(a.key);
    const onSocket = (socket) => {
      socket.on('error', () => {});
      if (a.bulk) {
        const chunk = Buffer.alloc(64 * 1024, 7);
        const pump = () => {
          while (!socket.destroyed && socket.write(chunk));
        };
        socket.on('drain', pump);
        pump();
      } else {
        socket.on('data', () => {});
        socket.on('end', () => socket.end());
      }
    };
    let server;
    if (a.impl === 'ours') {
      // B10 --path native: the experimental native connection path (lib/tls/native_connection_path.ts)
      const path = a.path === 'native' ? { connectionPath: 'native' } : {};
      // bare: no 'secureConnection' listener (on the native path the connection then stays native)
      server = lib.createServer({ cert, key, ciphers: CIPHER, maxVersion: 'TLSv1.2', noTicket: true, ...path }, a.bare ? undefined : onSocket);
      // B12: what the diagnostics channels cost once someone subscribes
      if (a.observe === 'channels') subscribeAll(lib.CHANNELS);
      else if (a.observe === 'metrics') lib.observeMetrics(server);
    } else {
      const tls = require('tls');
      const { constants } = require('crypto');
      server = tls.createServer(
        { cert, key, ciphers: CIPHER, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', secureOptions: constants.SSL_OP_NO_TICKET },
        onSocket,
      );
      // node:tls resumes by id only through these events: an in-memory store
      const store = new Map();
      server.on('newSession', (id, data, cb) => {
        store.set(id.toString('hex'), data);
        cb();
      });
      server.on('resumeSession', (id, cb) => cb(null, store.get(id.toString('hex')) ?? null));
    }
    server.on('tlsClientError', () => {});
    if (a.count) {
      // B10: resumption counted on the server side, read by the parent over IPC
      const seen = { connections: 0, reused: 0 };
      if (a.impl !== 'ours') {
        server.on('secureConnection', (s) => {
          seen.connections++;
          if (s.isSessionReused()) seen.reused++;
        });
      }
      process.on('message', () => {
        if (a.impl === 'ours') {
          const st = server.context.stats; // OpenSSL's own counters (SSL_CTX_sess_*)
          process.send({ connections: st.acceptGood, reused: st.hits, misses: st.misses });
        } else {
          process.send({ ...seen });
        }
      });
    }
    // B12: the parent reads this process's CPU time before and after the client's run
    if (!a.count) process.on('message', (m) => m && m.cpu && process.send({ cpu: process.cpuUsage() }));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    process.send({ port: server.address().port });
    await new Promise(() => {}); // until killed
  },

  // B5 client load: node:tls, `concurrency` loops of connect / handshake / end
  async client(a) {
    const tls = require('tls');
    const opts = { host: '127.0.0.1', port: a.port, ciphers: CIPHER, maxVersion: 'TLSv1.2', rejectUnauthorized: false };
    const connectOnce = (session) =>
      new Promise((resolve, reject) => {
        const s = tls.connect({ ...opts, session }, () => {
          const out = { reused: s.isSessionReused(), session: s.getSession() };
          s.on('close', () => resolve(out));
          s.end();
        });
        s.on('error', reject);
        s.resume();
      });
    const { session } = await connectOnce(undefined);
    const offer = a.mode === 'resumed' ? session : undefined;
    for (let i = 0; i < 4; i++) await connectOnce(offer); // warm-up
    let count = 0;
    let reused = 0;
    let stop = false;
    const t0 = now();
    const cpu0 = process.cpuUsage();
    const loop = async () => {
      while (!stop) {
        const r = await connectOnce(offer);
        count++;
        if (r.reused) reused++;
        if ((now() - t0) * 1000 >= a.ms) stop = true;
      }
    };
    await Promise.all(Array.from({ length: a.concurrency }, loop));
    const seconds = now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // the client process's CPU per handshake over the timed run (B5: the bound a server cannot move)
    return { ops: count, reused, seconds, perSec: count / seconds, clientCpuPerOp: (cpu.user + cpu.system) / count };
  },

  // B6 client: read the server's 64 KiB writes for `ms`, bytes/s
  async bulkClient(a) {
    const tls = require('tls');
    return new Promise((resolve, reject) => {
      let bytes = 0;
      let t0 = 0;
      const s = tls.connect({ host: '127.0.0.1', port: a.port, ciphers: CIPHER, maxVersion: 'TLSv1.2', rejectUnauthorized: false });
      s.on('error', reject);
      s.on('data', (d) => {
        if (t0 === 0) {
          t0 = now();
          return;
        }
        bytes += d.length;
        const t = now() - t0;
        if (t * 1000 >= a.ms) {
          s.destroy();
          resolve({ ops: bytes, seconds: t, perSec: bytes / t });
        }
      });
    });
  },

  // B7: RSS per 100k cached sessions; RSS drift over 1M create/add/remove/drop cycles
  async b7(a) {
    const rss = async () => {
      for (let i = 0; i < 3; i++) {
        global.gc();
        await tick();
      }
      return process.memoryUsage().rss;
    };
    const out = {};
    if (a.part === 'cache') {
      const ctx = new SslContext({ sessionCacheSize: 0 });
      const before = await rss();
      for (let i = 0; i < 100000; i++) {
        const s = SslSession.create({ id: randomId() });
        ctx.addSession(s);
        s.free();
      }
      const after = await rss();
      out.bytesPer100k = after - before;
      ctx.free();
      return out;
    }
    const ctx = new SslContext({ sessionCacheSize: 0 });
    const id = Buffer.alloc(32);
    let n = 0;
    const cycles = async (k) => {
      for (let i = 0; i < k; i += 1000) {
        for (let j = 0; j < 1000; j++) {
          id.writeUInt32LE(n++, 0);
          const s = SslSession.create({ id });
          ctx.addSession(s);
          ctx.removeSession(s);
          // dropped: the FinalizationRegistry frees it
        }
        await tick();
      }
    };
    // "with GC": a full collection after every 100k cycles, as a long-running process
    // gets; without it the peak of uncollected wrappers (not a leak) dominates RSS
    await cycles(100000);
    out.rssAfter100k = await rss();
    out.series = [out.rssAfter100k];
    for (let done = 100000; done < a.cycles; done += 100000) {
      await cycles(Math.min(100000, a.cycles - done));
      out.series.push(await rss());
    }
    out.rssAfterAll = out.series[out.series.length - 1];
    out.cycles = n;
    out.growth = out.rssAfterAll / out.rssAfter100k;
    out.sessionCount = ctx.sessionCount;
    return out;
  },

  // B8a: flushSessions cost per entry (all expired → removed; none expired → scanned)
  async b8flush(a) {
    const out = {};
    for (const kind of ['expired', 'live']) {
      const reps = Math.max(1, Math.round(200000 / a.n));
      let total = 0;
      for (let r = 0; r < reps; r++) {
        const ctx = new SslContext({ sessionCacheSize: 0 });
        for (let i = 0; i < a.n; i++) {
          const s = SslSession.create({ id: randomId(), time: kind === 'expired' ? 1000 : Math.floor(Date.now() / 1000), timeout: 3600 });
          ctx.addSession(s);
          s.free();
        }
        const t0 = process.hrtime.bigint();
        ctx.flushSessions();
        total += Number(process.hrtime.bigint() - t0);
        if (ctx.sessionCount !== (kind === 'expired' ? 0 : a.n)) throw new Error('flush check');
        ctx.free();
      }
      out[`${kind}NsPerEntry`] = total / reps / a.n;
    }
    return out;
  },

  // B8b: resumed-handshake latency with the auto flush (every 255th accept) vs NO_AUTO_CLEAR
  async b8latency(a) {
    const mode = SessionCacheMode.SERVER | (a.noAutoClear ? SessionCacheMode.NO_AUTO_CLEAR : 0);
    const server = serverContext(a, { sessionCacheSize: 0, sessionCacheMode: mode });
    const client = new SslContext({ role: 'client', ciphers: CIPHER, noTicket: true });
    const offer = handshake(client, server).clientSession;
    const nowS = Math.floor(Date.now() / 1000);
    for (let i = 0; i < a.n; i++) {
      const s = SslSession.create({ id: randomId(), time: nowS, timeout: 3600 });
      server.addSession(s);
      s.free();
    }
    const lat = [];
    for (let i = 0; i < a.handshakes; i++) {
      const t0 = process.hrtime.bigint();
      const h = handshake(client, server, { session: offer });
      lat.push(Number(process.hrtime.bigint() - t0) / 1000);
      if (!h.resumed) throw new Error('not resumed');
      if (i % 64 === 63) await tick();
    }
    lat.sort((x, y) => x - y);
    const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
    return { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: lat[lat.length - 1], count: lat.length };
  },
};

(async () => {
  const [name, json] = process.argv.slice(2);
  const fn = trials[name];
  if (!fn) throw new Error(`unknown trial ${name}`);
  const result = await fn(JSON.parse(json || '{}'));
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
