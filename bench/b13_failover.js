'use strict';
// B13 (npm run bench:failover [-- --topology single|sentinel|cluster] [--quick]): a fleet of
// TLS servers sharing one RedisSessionStore keyspace while the Redis primary is killed.
//
// Per topology: SERVERS child processes (this file with --server), each a createServer()
// with its own RedisSessionStore on the same Redis (same prefix); the clients (Node's tls,
// TLS 1.2) run in this process, CONCURRENCY at a time, each connection to the next server in
// round-robin order, offering a session another server issued (so the resumption needs the
// store). Every whole second records resumptions, full handshakes and failed connections.
// After WARMUP + PRE seconds the primary is killed (SIGKILL):
//   single    one redis-server (deps/redis-server.js), restarted empty on the same port
//             OUTAGE seconds later: the outage case
//   sentinel  a primary, replicas and sentinels (deps/redis-sentinel.js): the sentinels
//             promote a replica
//   cluster   a Redis Cluster (deps/redis-cluster.js): one primary's replica takes its slots
// Throughout the run a revoker asks a random server to revoke() a session that resumed
// through the store (every REVOKE_EVERY ms) and a prober keeps offering every revoked
// session to every server; a resumption later than RedisSessionStore's documented bound
// (heartbeatInterval + heartbeatTimeout after revoke() resolved) is a violation.
//
// Writes bench/failover.json (every measured topology, with its per-second series; a run of
// one topology keeps the others' last results), bench/failover.svg (one panel per
// topology), bench/RESULTS-B13.md, and the B13 section of bench/RESULTS.md.
const { fork } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const tls = require('tls');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'index.js');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const SERVERS = 3;
const CONCURRENCY = 8; // resuming clients
const PROBERS = 2; // clients offering revoked sessions
const WARMUP = QUICK ? 2 : 3; // s, not counted
const PRE = QUICK ? 6 : 20; // s of steady state before the fault
const POST = QUICK ? 16 : 45; // s after the fault
const OUTAGE = QUICK ? 3 : 5; // s without Redis (single)
const REVOKE_EVERY = 250; // ms
const HEARTBEAT_INTERVAL = 1000; // the store's defaults, stated so the bound below is theirs
const HEARTBEAT_TIMEOUT = 2000;
const BOUND = HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT; // docs/api.md "What a revocation guarantees"
const RECOVERED = 0.9; // of the pre-fault median
const CONNECT_TIMEOUT = 15000; // a connection with no handshake by then is a failed one
const TOPOLOGIES = ['single', 'sentinel', 'cluster'];

// ------------------------------------------------------------------ server process
function serverMain() {
  const { createServer, RedisSessionStore } = require(DIST);
  let server;
  let store;
  const counts = { storeErrors: {}, tlsClientErrors: 0, revokedHeard: 0, resyncs: 0, stored: 0, secure: 0 };
  process.on('message', async (m) => {
    const reply = (fields) => process.send({ seq: m.seq, ...fields });
    try {
      if (m.cmd === 'start') {
        store = new RedisSessionStore({ ...m.store, prefix: m.prefix, heartbeatInterval: HEARTBEAT_INTERVAL, heartbeatTimeout: HEARTBEAT_TIMEOUT });
        server = createServer({ cert: m.cert, key: m.key, sessionStore: store, sessionCacheSize: 100000 }, (s) => {
          counts.secure += 1;
          s.resume();
          s.on('end', () => s.end());
          s.on('error', () => {});
        });
        server.on('sessionStoreError', (e) => {
          const k = e.code || 'other';
          counts.storeErrors[k] = (counts.storeErrors[k] || 0) + 1;
        });
        server.on('tlsClientError', () => (counts.tlsClientErrors += 1));
        server.on('sessionRevoked', () => (counts.revokedHeard += 1));
        server.on('sessionStoreResync', () => (counts.resyncs += 1));
        server.on('sessionStored', () => (counts.stored += 1));
        await new Promise((r) => server.listen({ port: 0, host: '127.0.0.1' }, r));
        await store.ready(30000);
        reply({ port: server.address().port });
      } else if (m.cmd === 'revoke') {
        server.revoke(Buffer.from(m.id, 'hex')).then(
          () => reply({ ok: true, at: Date.now() }),
          (e) => reply({ ok: false, at: Date.now(), code: e.code || String(e) }),
        );
      } else if (m.cmd === 'stats') {
        reply({ counts, resumption: server.sessionStoreStats, store: store.stats });
      } else if (m.cmd === 'stop') {
        await new Promise((r) => server.close(r));
        await store.close();
        reply({});
      }
    } catch (e) {
      reply({ error: String(e && e.stack) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}

// ------------------------------------------------------------------ helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (a) => {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (a) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** the session id inside an SSL_SESSION DER (SEQUENCE { version, ssl_version, cipher, session_id, … }) */
function sessionId(der) {
  let p = 0;
  const header = () => {
    const tag = der[p++];
    let len = der[p++];
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[p++];
    }
    return { tag, len };
  };
  if (header().tag !== 0x30) throw new Error('not an SSL_SESSION');
  for (let i = 0; i < 3; i++) {
    const skip = header().len; // version, ssl_version, cipher
    p += skip;
  }
  const { tag, len } = header();
  if (tag !== 0x04) throw new Error(`SSL_SESSION without a session id: ${der.subarray(0, 24).toString('hex')}`);
  return der.subarray(p, p + len);
}

let CA;
/** one connection: { outcome: 'resumed' | 'full' | 'error', session, at, error } */
function connectOnce(port, session) {
  return new Promise((resolve) => {
    let got;
    let settled = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, at: Date.now() });
    };
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: CA, maxVersion: 'TLSv1.2', session });
    const timer = setTimeout(() => {
      c.destroy();
      done({ outcome: 'error', error: 'no handshake within 15 s' });
    }, CONNECT_TIMEOUT);
    c.on('session', (s) => (got = s));
    c.once('secureConnect', () => {
      const reused = c.isSessionReused();
      const at = Date.now();
      c.end();
      c.resume();
      c.once('close', () => {
        settled = true;
        clearTimeout(timer);
        resolve({ outcome: reused ? 'resumed' : 'full', session: got || c.getSession() || session, at });
      });
    });
    c.on('error', (e) => done({ outcome: 'error', error: e.code || e.message }));
  });
}

// ------------------------------------------------------------------ topologies
/** { name, describe, storeOptions, fault(log) → events { restartAt? }, stop() } or { unavailable } */
async function startTopology(name, log) {
  if (name === 'single') {
    const { startRedisServer, resolveRedisServer } = require('../deps/redis-server.js');
    resolveRedisServer();
    const port = await freePort();
    let proc = await startRedisServer(port);
    process.on('exit', () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'));
    return {
      describe: `one redis-server (127.0.0.1:${port}, no persistence), SIGKILL, restarted empty on the same port ${OUTAGE} s later`,
      storeOptions: { redis: { host: '127.0.0.1', port } },
      async fault() {
        proc.kill('SIGKILL');
        await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', r)));
        log(`single: redis-server killed; restart in ${OUTAGE} s`);
        await sleep(OUTAGE * 1000);
        proc = await startRedisServer(port);
        log('single: redis-server restarted (empty)');
        return { restartAt: Date.now() };
      },
      async stop() {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      },
    };
  }
  if (name === 'sentinel') {
    const file = path.join(ROOT, 'deps', 'redis-sentinel.js');
    if (!fs.existsSync(file)) return { unavailable: 'deps/redis-sentinel.js is not in this tree' };
    const { startRedisSentinel } = require(file);
    const s = await startRedisSentinel({ replicas: 2, sentinels: 3, name: 'b13' });
    const before = await s.primary();
    return {
      describe: `primary + 2 replicas + 3 sentinels (deps/redis-sentinel.js); primary ${fmtAddr(before)} SIGKILLed, a replica promoted`,
      storeOptions: { redis: s.redisOptions() },
      async fault() {
        const r = await s.killPrimary();
        const now = Date.now();
        log(`sentinel: ${fmtAddr(r.from)} killed, ${fmtAddr(r.to)} promoted ${r.ms} ms later (every sentinel agrees)`);
        // killPrimary waits for a settled set before it kills: the fault is the kill
        return { killedAt: now - r.ms, promotedAt: now };
      },
      stop: () => s.stop(),
    };
  }
  if (name === 'cluster') {
    const file = path.join(ROOT, 'deps', 'redis-cluster.js');
    if (!fs.existsSync(file)) return { unavailable: 'deps/redis-cluster.js is not in this tree' };
    // RedisSessionStore's `cluster` option (an ioredis Cluster of these startup nodes)
    const dist = fs.readFileSync(path.join(ROOT, 'dist', 'stores', 'redis_session_store.js'), 'utf8');
    if (!dist.includes('options.cluster')) return { unavailable: "this build's RedisSessionStore has no `cluster` option" };
    const { startRedisCluster } = require(file);
    const c = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    const victim = (await c.primaries())[0];
    return {
      describe: `Redis Cluster, 3 primaries × 1 replica (deps/redis-cluster.js); primary ${fmtAddr(victim)} (slot 0's shard) SIGKILLed, its replica promoted`,
      storeOptions: { cluster: { nodes: c.nodes } },
      async fault() {
        const r = await c.killPrimary(0);
        const now = Date.now();
        log(`cluster: ${fmtAddr(r.killed)} killed, ${fmtAddr(r.promoted)} promoted ${r.ms} ms later`);
        // killPrimary waits for a settled cluster before it kills: the fault is the kill
        return { killedAt: now - r.ms, promotedAt: now };
      },
      stop: () => c.stop(),
    };
  }
  throw new RangeError(`unknown topology ${name}`);
}

function fmtAddr(a) {
  if (a === undefined || a === null) return '?';
  if (typeof a === 'string') return a;
  return `${a.host}:${a.port}`;
}

// ------------------------------------------------------------------ one topology
async function runTopology(name, log) {
  const topo = await startTopology(name, log);
  if (topo.unavailable) return { topology: name, measured: false, reason: topo.unavailable };
  const children = [];
  const loadBefore = os.loadavg();
  try {
    let seq = 0;
    const ask = (child, cmd, fields = {}) =>
      new Promise((resolve, reject) => {
        const s = ++seq;
        const on = (m) => {
          if (m.seq !== s) return;
          child.off('message', on);
          if (m.error) reject(new Error(m.error));
          else resolve(m);
        };
        child.on('message', on);
        child.send({ cmd, seq: s, ...fields });
      });
    const prefix = `b13-${process.pid}-${name}:`;
    for (let i = 0; i < SERVERS; i++) {
      const c = fork(__filename, ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      await new Promise((r) => c.once('message', r));
      children.push(c);
    }
    const ports = [];
    for (const c of children) ports.push((await ask(c, 'start', { store: topo.storeOptions, prefix, cert: PEMS.cert, key: PEMS.key })).port);
    log(`${name}: ${SERVERS} servers on ${ports.join(', ')} (${topo.describe})`);

    const records = []; // { at, kind: 'resumed' | 'fallback' | 'fresh' | 'error', error? }
    const probes = []; // { at, resumed, late, revokeIndex }
    const revocations = []; // { requestedAt, at, ok, code, server }
    const errors = {};
    // pool of sessions: { session, seen: Set of server indexes that have it, readyAt }
    const pool = [];
    let rr = 0;
    let running = true;

    const worker = async () => {
      while (running) {
        const target = rr++ % SERVERS;
        const now = Date.now();
        const i = pool.findIndex((e) => e.readyAt <= now && !e.seen.has(target));
        const entry = i >= 0 ? pool.splice(i, 1)[0] : undefined;
        const r = await connectOnce(ports[target], entry && entry.session);
        if (r.outcome === 'error') {
          records.push({ at: r.at, kind: 'error' });
          errors[r.error] = (errors[r.error] || 0) + 1;
          if (entry) pool.push(entry);
          continue;
        }
        if (r.outcome === 'resumed') {
          records.push({ at: r.at, kind: 'resumed' });
          entry.seen.add(target);
          if (entry.seen.size < SERVERS) pool.push(entry);
        } else {
          records.push({ at: r.at, kind: entry ? 'fallback' : 'fresh' });
          // a new session from the target; the store needs a moment to have it
          pool.push({ session: r.session, seen: new Set([target]), readyAt: r.at + 200 });
        }
        if (pool.length > 2000) pool.splice(0, pool.length - 2000);
      }
    };

    const revoked = []; // { session, resolvedAt, ok }
    // one revocation every REVOKE_EVERY ms, not waiting for the previous one: a revoke()
    // that hangs through the fault does not hold back the next
    const pendingRevokes = [];
    const controls = []; // sessions chosen as the revoked ones are, not revoked
    const controlOffers = { offered: 0, resumed: 0 };
    const revoker = async () => {
      let k = 0;
      while (running && Date.now() < stopRevokingAt) {
        await sleep(REVOKE_EVERY);
        // a session known to the store: it resumed through it at least once
        const i = pool.findIndex((e) => e.seen.size >= 2);
        if (i < 0) continue;
        const [entry] = pool.splice(i, 1);
        if (k % 4 === 3) {
          // every fourth: a control, offered by the probers like the revoked ones, never revoked
          controls.push(entry.session);
          if (controls.length > 30) controls.shift();
          k += 1;
          continue;
        }
        const server = k++ % SERVERS;
        const id = sessionId(entry.session);
        const requestedAt = Date.now();
        pendingRevokes.push(
          ask(children[server], 'revoke', { id: id.toString('hex') }).then((r) => {
            revocations.push({ requestedAt, at: r.at, ok: r.ok, code: r.code, server });
            revoked.push({ session: entry.session, resolvedAt: r.at, ok: r.ok, index: revocations.length - 1 });
          }),
        );
      }
      await Promise.all(pendingRevokes);
    };
    // offers revoked sessions, each to the next server: every other offer one revoked in the
    // last 10 s (the window where a stale copy would show), the others any revoked session
    const prober = async () => {
      let next = 0;
      let recentNext = 0;
      let target = 0;
      let turn = 0;
      let controlNext = 0;
      while (running) {
        if (revoked.length === 0) {
          await sleep(50);
          continue;
        }
        const t = turn++;
        if (t % 5 === 4 && controls.length > 0) {
          // a control: shows that these clients do see a resumption when the store has the session
          const r = await connectOnce(ports[target++ % SERVERS], controls[controlNext++ % controls.length]);
          if (r.outcome === 'error') {
            records.push({ at: r.at, kind: 'error', probe: true });
            errors[r.error] = (errors[r.error] || 0) + 1;
            continue;
          }
          controlOffers.offered += 1;
          if (r.outcome === 'resumed') controlOffers.resumed += 1;
          continue;
        }
        const now = Date.now();
        const recent = t % 2 === 0 ? revoked.filter((v) => now - v.resolvedAt < 10000) : [];
        const v = recent.length > 0 ? recent[recentNext++ % recent.length] : revoked[next++ % revoked.length];
        const server = target++ % SERVERS;
        const r = await connectOnce(ports[server], v.session);
        if (r.outcome === 'error') {
          records.push({ at: r.at, kind: 'error', probe: true });
          errors[r.error] = (errors[r.error] || 0) + 1;
          continue;
        }
        const resumed = r.outcome === 'resumed';
        probes.push({ at: r.at, resumed, afterResolved: r.at - v.resolvedAt, ok: v.ok, index: v.index, server });
      }
    };

    const t0 = Date.now();
    const faultPlanned = t0 + (WARMUP + PRE) * 1000;
    const end = faultPlanned + POST * 1000;
    const stopRevokingAt = end - BOUND - 3000;
    const tasks = [...Array.from({ length: CONCURRENCY }, worker), revoker(), ...Array.from({ length: PROBERS }, prober)];
    await sleep(faultPlanned - Date.now());
    const faultAt = Date.now();
    const faultEvents = topo.fault(log).then((e) => e, (e) => ({ faultError: String(e && e.stack) }));
    await sleep(end - Date.now());
    running = false;
    await Promise.all(tasks);
    const events = await faultEvents;
    if (events.faultError) throw new Error(events.faultError);
    // the kill itself, when the launcher waited for something before it (cluster: a settled view)
    const faultTime = events.killedAt ?? faultAt;
    delete events.killedAt;
    const stats = [];
    for (const c of children) stats.push(await ask(c, 'stats'));
    for (const c of children) await ask(c, 'stop');
    const loadAfter = os.loadavg();
    return summarize({ name, describe: topo.describe, t0, faultAt: faultTime, end, events, records, probes, controlOffers, revocations, errors, stats, loadBefore, loadAfter });
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await topo.stop();
  }
}

// ------------------------------------------------------------------ analysis
function summarize(r) {
  const { faultAt } = r;
  const bin = (at) => Math.floor((at - faultAt) / 1000);
  const first = -PRE;
  const last = bin(r.end) - 1; // the last whole second
  const seconds = [];
  for (let s = first; s <= last; s++) seconds.push({ t: s, resumed: 0, full: 0, fallback: 0, errors: 0, probes: 0, probeResumed: 0 });
  const at = (s) => seconds[s - first];
  for (const x of r.records) {
    const s = bin(x.at);
    if (s < first || s > last) continue; // the warm-up (its errors still count below)
    const b = at(s);
    if (x.kind === 'resumed') b.resumed += 1;
    else if (x.kind === 'error') b.errors += 1;
    else {
      b.full += 1;
      if (x.kind === 'fallback') b.fallback += 1;
    }
  }
  for (const p of r.probes) {
    const s = bin(p.at);
    if (s < first || s > last) continue;
    at(s).probes += 1;
    if (p.resumed) at(s).probeResumed += 1;
  }
  // the share of offered sessions that resumed: what the store decides, whatever the load
  for (const b of seconds) b.share = b.resumed + b.fallback > 0 ? b.resumed / (b.resumed + b.fallback) : null;
  const pre = seconds.filter((b) => b.t < 0).map((b) => b.resumed);
  const preMedian = median(pre);
  const threshold = RECOVERED * preMedian;
  const post = seconds.filter((b) => b.t >= 0);
  const preShare = median(seconds.filter((b) => b.t < 0 && b.share !== null).map((b) => b.share));
  // recovery: after the value first fell below 90 % of its pre-fault median, the first
  // second that is back at ≥ 90 % of it, with the second after it ≥ 90 % too
  const recoveryOf = (value, limit) => {
    const dip = post.findIndex((b) => value(b) < limit);
    if (dip < 0) return 0;
    for (let i = dip + 1; i < post.length - 1; i++) if (value(post[i]) >= limit && value(post[i + 1]) >= limit) return post[i].t;
    return undefined;
  };
  const recovery = recoveryOf((b) => b.resumed, threshold);
  // a second without offers (every client busy with fresh sessions) neither dips nor recovers
  const shareRecovery = recoveryOf((b) => (b.share === null ? RECOVERED * preShare : b.share), RECOVERED * preShare);
  // the phases: "during" ends when the store resumes offers again (the share's recovery);
  // the rate's own recovery also waits for the neighbours' load to let the clients run
  const back = shareRecovery;
  const during = post.filter((b) => back === undefined || b.t < back).map((b) => b.resumed);
  const after = back === undefined ? [] : post.filter((b) => b.t >= back).map((b) => b.resumed);
  const failed = r.records.filter((x) => x.kind === 'error');
  const phaseOf = (t) => (t < faultAt ? 'before' : back === undefined || t < faultAt + back * 1000 ? 'during' : 'after');
  const revs = { before: 0, during: 0, after: 0 };
  for (const v of r.revocations) if (v.ok) revs[phaseOf(v.at)] += 1;
  const rejected = r.revocations.filter((v) => !v.ok);
  const rejectedCodes = {};
  for (const v of rejected) rejectedCodes[v.code] = (rejectedCodes[v.code] || 0) + 1;
  const okProbes = r.probes.filter((p) => p.ok);
  const violations = okProbes.filter((p) => p.resumed && p.afterResolved > BOUND);
  const withinBound = okProbes.filter((p) => p.resumed && p.afterResolved <= BOUND);
  const afterRejected = r.probes.filter((p) => !p.ok && p.resumed);
  // coverage: resolved revocations whose session was offered after the bound, and how often
  const offeredLate = new Map();
  for (const p of okProbes) if (p.afterResolved > BOUND) offeredLate.set(p.index, (offeredLate.get(p.index) || 0) + 1);
  const sum = (k) => r.records.filter((x) => x.kind === k && !x.probe).length;
  const offers = sum('resumed') + sum('fallback');
  const serverCounts = r.stats.map((s) => s.counts);
  const storeErrors = {};
  for (const c of serverCounts) for (const [k, v] of Object.entries(c.storeErrors)) storeErrors[k] = (storeErrors[k] || 0) + v;
  return {
    topology: r.name,
    measured: true,
    date: new Date(r.t0).toISOString(),
    describe: r.describe,
    load: { before: r.loadBefore.map((x) => +x.toFixed(2)), after: r.loadAfter.map((x) => +x.toFixed(2)) },
    events: Object.fromEntries(Object.entries(r.events).map(([k, v]) => [k, typeof v === 'number' ? +((v - faultAt) / 1000).toFixed(2) : v])),
    preMedian,
    duringMean: mean(during),
    duringSeconds: during.length,
    afterMedian: median(after),
    recoverySeconds: recovery ?? null,
    preShare,
    shareRecoverySeconds: shareRecovery ?? null,
    duringShare: (() => {
      const d = post.filter((b) => b.share !== null && (shareRecovery === undefined || b.t < shareRecovery));
      const res = d.reduce((a, b) => a + b.resumed, 0);
      const off = d.reduce((a, b) => a + b.resumed + b.fallback, 0);
      return off ? res / off : null;
    })(),
    threshold,
    connections: r.records.length + r.probes.length,
    offers,
    offersResumed: sum('resumed'),
    failedHandshakes: failed.length,
    failedByError: r.errors,
    revocations: { resolved: revs, rejected: rejected.length, rejectedCodes },
    probes: r.probes.length,
    violations: violations.length,
    worstViolationMs: violations.length ? Math.max(...violations.map((p) => p.afterResolved)) : null,
    violationTimes: violations.map((p) => +((p.at - faultAt) / 1000).toFixed(2)),
    resumedWithinBound: withinBound.length,
    controlOffers: r.controlOffers,
    checkedAfterBound: offeredLate.size,
    offersAfterBoundMedian: median([...offeredLate.values()]),
    resumedAfterRejectedRevoke: afterRejected.length,
    server: {
      tlsClientErrors: serverCounts.reduce((a, c) => a + c.tlsClientErrors, 0),
      storeErrors,
      revokedHeard: serverCounts.reduce((a, c) => a + c.revokedHeard, 0),
      resyncs: serverCounts.reduce((a, c) => a + c.resyncs, 0),
      resumption: r.stats.map((s) => s.resumption),
    },
    seconds,
  };
}

// ------------------------------------------------------------------ output
function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const r0 = (x) => (Number.isFinite(x) ? Math.round(x) : '—');

function svg(meta, results) {
  const panels = results.filter((r) => r.measured);
  const W = 1000;
  const PH = 250; // panel height
  const top = 94;
  const left = 64;
  const right = 40;
  const H = top + Math.max(1, panels.length) * (PH + 30) + 10;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">B13: Redis primary killed under resuming clients (${SERVERS} servers, one store keyspace)</text>`);
  out.push(`<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${esc(`${meta.cpu}, ${meta.cores} cores · Node ${meta.node} · per second, x = seconds from the fault`)}</text>`);
  const lx = left;
  out.push(`<line x1="${lx}" y1="52" x2="${lx + 20}" y2="52" stroke="#2a8a4a" stroke-width="2"/><text x="${lx + 24}" y="56">resumptions/s</text>`);
  out.push(`<line x1="${lx + 130}" y1="52" x2="${lx + 150}" y2="52" stroke="#8c6bb1" stroke-width="2"/><text x="${lx + 154}" y="56">full handshakes/s</text>`);
  out.push(`<line x1="${lx + 280}" y1="46" x2="${lx + 280}" y2="58" stroke="#d0453b" stroke-width="2"/><text x="${lx + 285}" y="56">fault</text>`);
  out.push(`<line x1="${lx + 330}" y1="46" x2="${lx + 330}" y2="58" stroke="#e08a1e" stroke-width="2" stroke-dasharray="4,2"/><text x="${lx + 335}" y="56">restart / promotion</text>`);
  out.push(`<line x1="${lx + 470}" y1="46" x2="${lx + 470}" y2="58" stroke="#2a8a4a" stroke-width="2" stroke-dasharray="4,2"/><text x="${lx + 475}" y="56">rate recovered</text>`);
  out.push(`<line x1="${lx + 570}" y1="52" x2="${lx + 590}" y2="52" stroke="#2a8a4a" stroke-dasharray="2,3"/><text x="${lx + 594}" y="56">90 % of the pre-fault median</text>`);
  out.push(`<text x="${lx + 780}" y="56" fill="#d0453b">× failed / violation</text>`);
  out.push(`<line x1="${lx}" y1="70" x2="${lx + 20}" y2="70" stroke="#3a78c2" stroke-dasharray="5,3"/><text x="${lx + 24}" y="74">share of offered sessions that resumed (right axis); a blue dashed marker: its recovery, when not the rate's</text>`);
  panels.forEach((p, i) => {
    const y0 = top + i * (PH + 30) + 40;
    const h = PH - 56;
    const s = p.seconds;
    const t0 = s[0].t;
    const t1 = s[s.length - 1].t + 1;
    const maxV = Math.max(10, ...s.map((b) => Math.max(b.resumed, b.full))) * 1.1;
    const x = (t) => left + ((W - left - right) * (t - t0)) / (t1 - t0);
    const y = (v) => y0 + h - (h * v) / maxV;
    const sec = (v) => (v === null || v === undefined ? 'not within the run' : `${v} s`);
    const rec = `recovery: rate ${sec(p.recoverySeconds)}, share of offers resumed ${sec(p.shareRecoverySeconds)}`;
    const d = p.describe.length > 130 ? `${p.describe.slice(0, 128)}…` : p.describe;
    out.push(`<text x="${left}" y="${y0 - 24}"><tspan font-weight="bold">${esc(p.topology)}</tspan><tspan fill="#333"> — ${esc(d)}</tspan></text>`);
    const revs = Object.values(p.revocations.resolved).reduce((a, b) => a + b, 0);
    out.push(
      `<text x="${left}" y="${y0 - 8}" fill="#333">${esc(`resumptions/s before ${r0(p.preMedian)}, during ${r0(p.duringMean)}, after ${r0(p.afterMedian)}; ${rec}; failed handshakes ${p.failedHandshakes}; revocations ${revs}, violations ${p.violations}`)}</text>`,
    );
    out.push(`<rect x="${left}" y="${y0}" width="${W - left - right}" height="${h}" fill="none" stroke="#bbb"/>`);
    const step = maxV > 2000 ? 500 : maxV > 800 ? 200 : maxV > 300 ? 100 : maxV > 100 ? 50 : 10;
    for (let v = 0; v <= maxV; v += step) {
      out.push(`<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${W - right}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
      out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${v}</text>`);
    }
    for (let t = Math.ceil(t0 / 5) * 5; t <= t1; t += 5) {
      out.push(`<text x="${x(t).toFixed(1)}" y="${y0 + h + 14}" text-anchor="middle" fill="#555">${t}</text>`);
    }
    const vline = (t, color, dash) =>
      out.push(`<line x1="${x(t).toFixed(1)}" y1="${y0}" x2="${x(t).toFixed(1)}" y2="${y0 + h}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    const line = (k, color) =>
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.map((b) => `${x(b.t + 0.5).toFixed(1)},${y(b[k]).toFixed(1)}`).join(' ')}"/>`);
    line('full', '#8c6bb1');
    line('resumed', '#2a8a4a');
    // the share of offers that resumed, 0–100 % on the right-hand axis
    const ys = (v) => y0 + h - h * v * 0.95;
    const pts = s.filter((b) => b.share !== null).map((b) => `${x(b.t + 0.5).toFixed(1)},${ys(b.share).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="#3a78c2" stroke-width="1.2" stroke-dasharray="5,3" points="${pts.join(' ')}"/>`);
    for (const v of [0, 0.5, 1]) out.push(`<text x="${W - right + 4}" y="${(ys(v) + 4).toFixed(1)}" fill="#3a78c2" font-size="10">${v * 100}%</text>`);
    if (p.shareRecoverySeconds !== null && p.shareRecoverySeconds !== p.recoverySeconds) vline(p.shareRecoverySeconds, '#3a78c2', '4,2');
    if (Number.isFinite(p.threshold)) out.push(`<line x1="${left}" y1="${y(p.threshold).toFixed(1)}" x2="${W - right}" y2="${y(p.threshold).toFixed(1)}" stroke="#2a8a4a" stroke-dasharray="2,3"/>`);
    vline(0, '#d0453b');
    for (const k of ['restartAt', 'promotedAt']) if (typeof p.events[k] === 'number') vline(p.events[k], '#e08a1e', '4,2');
    if (p.recoverySeconds !== null) vline(p.recoverySeconds, '#2a8a4a', '4,2');
    for (const b of s) {
      if (b.errors > 0) out.push(`<text x="${x(b.t + 0.5).toFixed(1)}" y="${(y0 + h - 4).toFixed(1)}" text-anchor="middle" fill="#d0453b" font-weight="bold">×${b.errors}</text>`);
    }
    for (const v of p.violationTimes || []) out.push(`<text x="${x(v).toFixed(1)}" y="${y0 + 12}" text-anchor="middle" fill="#d0453b" font-weight="bold">×</text>`);
  });
  if (panels.length === 0) out.push(`<text x="${W / 2}" y="${top + 60}" text-anchor="middle">no topology measured</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function markdown(meta, results) {
  const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '—');
  const L = [];
  L.push('# B13: Redis failover and faults under resuming clients');
  L.push('');
  L.push('Generated by `npm run bench:failover` (bench/b13_failover.js) — do not edit by hand. Timeline: bench/failover.svg; data: bench/failover.json.');
  L.push('');
  L.push(`- machine: ${meta.cpu}, ${meta.cores} cores (${meta.os}), shared with other jobs (load average per topology below); Node ${meta.node} clients (TLS 1.2), servers ${meta.openssl}; ${meta.redis}`);
  L.push(`- per topology: ${SERVERS} server processes (createServer + RedisSessionStore, one prefix), ${CONCURRENCY} concurrent clients in the bench process, each connection to the next server in round robin offering a session issued by another server (so resuming needs the store; a session no server left is replaced by a fresh full handshake), plus ${PROBERS} client offering revoked sessions to every server in turn`);
  L.push(`- a run: a warm-up, then the steady state before the fault, the fault, and the seconds after it; per topology: ${results.filter((r) => r.measured).map((r) => `${r.topology} ${r.secondsBefore} s + ${r.secondsAfter} s (${r.quick ? '--quick, ' : ''}${r.date})`).join('; ')}`);
  L.push(`- before / after: median of the per-second resumption counts; during: their mean from the fault to the second the share of offers resumed recovered (below); recovery (rate): after the rate first fell below ${RECOVERED * 100} % of the pre-fault median, the first second from which two consecutive seconds are at ≥ ${RECOVERED * 100} % of it again (in seconds after the fault; 0 = it never fell below)`);
  L.push(`- offers resumed: the share of connections offering a session that resumed (the rest fell back to a full handshake) — what the store decides, independent of how much CPU the neighbours leave; its recovery is defined as for the rate, against its own pre-fault median, and ends the "during" phase (of the rates and of the revocations); "until then": the share over the seconds from the fault to that recovery. Both recoveries have a resolution of one second (the start of the second); "after the restart / promotion" counts from the moment the launcher saw the new primary (every sentinel, or every cluster node, agreeing)`);
  L.push('- load: this run shared 2 cores with other jobs (load average in the last column); the clients are CPU-bound, so the per-second rates swing with the neighbours and the rate\'s recovery second can land late for that reason alone — the share of offers resumed does not depend on it');
  L.push(`- failed handshakes: every client connection that ended in an error or had no handshake within ${CONNECT_TIMEOUT / 1000} s (the resuming clients and the revocation prober); a store outage must be a full handshake, never a failed connection`);
  L.push(`- revocations: every ${REVOKE_EVERY} ms a session that had resumed through the store is revoked with \`server.revoke(id)\` on one of the servers (in turn); resolved = the promise resolved (phase by its resolution time); a violation = that session resumed on any server more than heartbeatInterval + heartbeatTimeout = ${BOUND} ms after revoke() resolved (docs/api.md, "What a revocation guarantees"); resumptions within the bound are listed separately; a rejected revoke() promises nothing and is only counted; controls: every fourth session chosen this way is not revoked but offered by the same clients (one offer in five), which shows that they do see a resumption when the store has the session`);
  L.push('');
  L.push('| B13 | topology | fault | resumptions/s before | during (mean) | after | recovery (rate) | offers resumed before | recovery (offers resumed) | failed handshakes | revocations resolved (before / during / after) | revoke() rejected | violations | resumed within the bound | load average (1 min) |');
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    if (!r.measured) {
      L.push(`| B13 | ${r.topology} | not measured: ${r.reason} | — | — | — | — | — | — | — | — | — | — | — | — |`);
      continue;
    }
    const back = r.events.restartAt ?? r.events.promotedAt;
    const what = r.events.restartAt !== undefined ? 'restart' : 'promotion';
    const rel = (x) => (typeof back !== 'number' ? '' : x > back ? ` (${(x - back).toFixed(1)} s after the ${what})` : x + 1 > back ? ` (the second of the ${what})` : ` (before the ${what})`);
    const rec = (x) => (x === null ? `not within ${r.secondsAfter} s` : `${x} s${x > 0 ? rel(x) : ''}`);
    const pct = (x) => (x === null || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(1)} %`);
    const ev = Object.entries(r.events)
      .filter(([, v]) => typeof v === 'number')
      .map(([k, v]) => `${k.replace(/At$/, '')} at +${v} s`)
      .join(', ');
    const rv = r.revocations.resolved;
    L.push(
      `| B13 | ${r.topology} | ${r.describe}${ev ? ` (${ev})` : ''} | ${f0(r.preMedian)} | ${f0(r.duringMean)} (${r.duringSeconds} s) | ${f0(r.afterMedian)} | ${rec(r.recoverySeconds)} | ${pct(r.preShare)} | ${rec(r.shareRecoverySeconds)}; ${pct(r.duringShare)} until then | ${r.failedHandshakes} of ${r.connections} | ${rv.before} / ${rv.during} / ${rv.after} | ${r.revocations.rejected}${r.revocations.rejected ? ` (${Object.entries(r.revocations.rejectedCodes).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''} | ${r.violations}${r.violations ? ` (worst ${r.worstViolationMs} ms after)` : ''} | ${r.resumedWithinBound} | ${r.load.before[0]} → ${r.load.after[0]} |`,
    );
  }
  L.push('');
  for (const r of results.filter((x) => x.measured)) {
    const se = Object.entries(r.server.storeErrors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    L.push(
      `- ${r.topology}: ${r.offersResumed} of ${r.offers} offered sessions resumed over the run; ${r.probes} offers of revoked sessions (${r.checkedAfterBound} of the ${Object.values(r.revocations.resolved).reduce((a, b) => a + b, 0)} resolved revocations offered after their bound, a median ${r.offersAfterBoundMedian} times each; control sessions, chosen alike but not revoked, offered by the same clients: ${r.controlOffers ? `${r.controlOffers.resumed} of ${r.controlOffers.offered} resumed` : 'not measured'}); servers: 'sessionStoreError' ${se}; revocations heard from the feed ${r.server.revokedHeard}; cache drops on (re)subscribe ${r.server.resyncs}; 'tlsClientError' ${r.server.tlsClientErrors}${r.failedHandshakes ? `; client errors: ${Object.entries(r.failedByError).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}${r.resumedAfterRejectedRevoke ? `; resumed after a rejected revoke(): ${r.resumedAfterRejectedRevoke}` : ''}`,
    );
  }
  L.push('');
  return L.join('\n');
}

// ------------------------------------------------------------------ main
let PEMS;
async function main() {
  const { generateSelfSigned, openssl } = require(DIST);
  PEMS = generateSelfSigned({ commonName: 'localhost' });
  CA = PEMS.cert;
  const started = Date.now();
  const log = (s) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${s}\n`);
  const i = argv.indexOf('--topology');
  const wanted = i >= 0 ? argv[i + 1].split(',') : TOPOLOGIES;
  for (const t of wanted) if (!TOPOLOGIES.includes(t)) throw new RangeError(`--topology: one of ${TOPOLOGIES.join(', ')}`);
  const { resolveRedisServer } = require('../deps/redis-server.js');
  const found = resolveRedisServer();
  const redisVersion = require('child_process')
    .execFileSync(found.command, ['--version'], { env: { ...process.env, ...found.env } })
    .toString()
    .trim()
    .split(' ')
    .slice(0, 3)
    .join(' ');
  const meta = {
    cpu: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
    cores: os.cpus().length,
    os: `${os.type().toLowerCase()} ${os.release()}`,
    node: process.version,
    openssl: openssl.version,
    redis: redisVersion,
  };
  const jsonFile = path.join(__dirname, 'failover.json');
  if (argv.includes('--render')) {
    // the outputs again from failover.json, no measurement
    const saved = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    writeOutputs(saved.meta, saved.results, log);
    return;
  }
  const previous = fs.existsSync(jsonFile) ? JSON.parse(fs.readFileSync(jsonFile, 'utf8')).results : [];
  const results = new Map(previous.map((r) => [r.topology, r]));
  for (const t of wanted) {
    log(`${t}: starting`);
    const r = await runTopology(t, log);
    r.quick = QUICK;
    r.secondsBefore = PRE;
    r.secondsAfter = POST;
    if (r.measured) {
      log(
        `${t}: before ${r.preMedian}/s, during ${r.duringMean.toFixed(0)}/s, after ${r.afterMedian}/s, recovery ${r.recoverySeconds} s, failed ${r.failedHandshakes}, violations ${r.violations}`,
      );
    } else log(`${t}: not measured (${r.reason})`);
    // a topology that could not run keeps its last measurement
    if (r.measured || !results.get(t)?.measured) results.set(t, r);
  }
  const all = TOPOLOGIES.map((t) => results.get(t) || { topology: t, measured: false, reason: 'not run yet' });
  fs.writeFileSync(jsonFile, JSON.stringify({ meta, results: all }, null, 1) + '\n');
  writeOutputs(meta, all, log);
}

function writeOutputs(meta, all, log) {
  fs.writeFileSync(path.join(__dirname, 'failover.svg'), svg(meta, all));
  const md = markdown(meta, all);
  fs.writeFileSync(path.join(__dirname, 'RESULTS-B13.md'), md);
  // the B13 section of RESULTS.md (bench/run.js appends RESULTS-B13.md when it rewrites it)
  const resultsFile = path.join(__dirname, 'RESULTS.md');
  let text = fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : '';
  const at = text.indexOf('\n# B13:');
  if (at >= 0) {
    const nextHeading = text.indexOf('\n# ', at + 1);
    text = text.slice(0, at) + (nextHeading >= 0 ? text.slice(nextHeading) : '');
  }
  fs.writeFileSync(resultsFile, `${text.replace(/\n*$/, '\n')}\n${md}`);
  process.stdout.write(md);
  log('wrote bench/failover.json, bench/failover.svg, bench/RESULTS-B13.md and the B13 section of bench/RESULTS.md');
}

if (process.argv.includes('--server')) {
  serverMain();
} else {
  // Ctrl-C: the 'exit' hooks kill the Redis processes (the servers exit with the IPC channel)
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));
  main().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
      process.exit(1);
    },
  );
}
