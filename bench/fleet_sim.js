'use strict';
// Fleet simulation (npm run bench:fleet [-- --quick] [-- --no-write]): SERVERS server
// processes behind a load balancer that sends every connection to a random server, and a
// population of clients that come back after realistic intervals (log-normal: most within
// minutes, a tail beyond the session timeout). One client trace (seeded) is replayed at the
// same moments against every store, each with its own TlsServer in each server process:
//   internal   no store: OpenSSL's own cache of the server that is hit
//   cluster    ClusterSessionStore, the sessions in the node:cluster primary
//   redis      RedisSessionStore on one redis-server
//   rcluster   RedisSessionStore on a Redis Cluster (when deps/redis-cluster.js exists)
// The clock is scaled: SCALE simulated seconds pass per real second, for the servers'
// sessionTimeout and the clients' return intervals alike (bench/NOTES.md, "Fleet").
//
// Processes: this one (the orchestrator and every TLS client, Node's OpenSSL, TLS 1.2),
// one child that is the node:cluster primary (holds ClusterSessionStore.primary()) and
// forks the SERVERS server processes as its workers (this file with --worker), and
// redis-server(s). Writes bench/RESULTS-FLEET.md, bench/fleet-results.json and the fleet
// section of bench/RESULTS.md; with --no-write only prints the JSON (the last stdout line).
const cluster = require('cluster');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'index.js');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = !argv.includes('--no-write');

// ------------------------------------------------------------------ the load model
// simulated time, seconds; SCALE simulated seconds per real second
const MODEL = QUICK
  ? { servers: 4, clients: 40, scale: 60, timeoutSim: 300, arrivalSim: 240, returns: 1, medianSim: 120, sigma: 1.2, capSim: 600, burstMs: 600 }
  : { servers: 16, clients: 120, scale: 30, timeoutSim: 300, arrivalSim: 600, returns: 2, medianSim: 120, sigma: 1.2, capSim: 450, burstMs: 2000 };
// a return comes at least this long (real ms) after the previous visit: the issuing
// server's store.set (about a millisecond) has landed by then even on a loaded machine
const MIN_INTERVAL_MS = 300;
const SEED = 0x5eed;
// sessionStoreTimeout, the Redis stores' commandTimeout, ClusterSessionStore's timeout:
// generous, so that a stalled event loop on a loaded machine is not a miss (the comparison
// is where the sessions live; docs/api.md has the defaults, 1000 / 500 / 1000 ms)
const STORE_TIMEOUT_MS = 5000;
const TIMEOUT_S = MODEL.timeoutSim / MODEL.scale; // the servers' sessionTimeout, real seconds


function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** per client: [{ atMs, server }] (the first visit, then the returns), real ms from the start */
function makeTrace() {
  const rnd = mulberry32(SEED);
  const normal = () => {
    const u = 1 - rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  const ms = (sim) => (sim / MODEL.scale) * 1000;
  const clients = [];
  for (let c = 0; c < MODEL.clients; c++) {
    let at = ms(rnd() * MODEL.arrivalSim);
    const visits = [{ atMs: at, server: Math.floor(rnd() * MODEL.servers) }];
    for (let r = 0; r < MODEL.returns; r++) {
      const sim = Math.min(MODEL.capSim, MODEL.medianSim * Math.exp(MODEL.sigma * normal()));
      at += Math.max(MIN_INTERVAL_MS, ms(sim));
      visits.push({ atMs: at, server: Math.floor(rnd() * MODEL.servers), intervalSim: sim });
    }
    clients.push(visits);
  }
  return clients;
}

// ------------------------------------------------------------------ server process (cluster worker)
function workerMain() {
  const dc = require('diagnostics_channel');
  const { createServer, ClusterSessionStore, RedisSessionStore, CHANNELS } = require(DIST);
  const [certFile, keyFile] = argv.slice(argv.indexOf('--worker') + 1);
  const cert = fs.readFileSync(certFile);
  const key = fs.readFileSync(keyFile);
  const byServer = new Map(); // TlsServer → its record
  const records = new Map(); // mode → record
  // every store lookup of every server here: its result and how long it took
  dc.tracingChannel(CHANNELS.lookup).subscribe({
    start() {},
    end() {},
    asyncStart() {},
    error() {},
    asyncEnd(m) {
      const r = byServer.get(m.server);
      if (!r) return;
      r.lookupMs.push(m.durationMs);
      r.lookups[m.result ?? 'error'] = (r.lookups[m.result ?? 'error'] ?? 0) + 1;
    },
  });

  function makeStore(spec) {
    if (spec.kind === 'cluster') return new ClusterSessionStore({ timeout: STORE_TIMEOUT_MS });
    if (spec.kind === 'redis') return new RedisSessionStore({ redis: { host: '127.0.0.1', port: spec.port }, prefix: 'fleet:', commandTimeout: STORE_TIMEOUT_MS });
    if (spec.kind === 'rcluster') return makeClusterStore(RedisSessionStore, spec);
    return undefined;
  }

  async function start(m) {
    const ports = {};
    for (const spec of m.modes) {
      const store = makeStore(spec);
      const server = createServer(
        { cert, key, sessionStore: store, sessionTimeout: m.timeoutSec, sessionCacheSize: 100000, sessionStoreTimeout: STORE_TIMEOUT_MS },
        (s) => {
          // the session's time as OpenSSL keeps it (whole seconds): the client classifies
          // its returns against it
          const session = s.getSslSession();
          s.write(`${session ? session.time : -1}\n`);
          s.resume();
          s.on('end', () => s.end());
          s.on('error', () => {});
        },
      );
      const rec = { server, store, lookupMs: [], lookups: {}, stored: 0, storeErrors: 0, errorMessages: [], full: 0, resumed: 0 };
      server.on('secureConnection', (s) => (s.isSessionReused() ? (rec.resumed += 1) : (rec.full += 1)));
      server.on('sessionStored', () => (rec.stored += 1));
      server.on('sessionStoreError', (e) => {
        rec.storeErrors += 1;
        if (rec.errorMessages.length < 5) rec.errorMessages.push(`${e && e.code}: ${e && e.message}`);
      });
      await new Promise((r) => server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, r));
      if (store && store.ready) await store.ready();
      byServer.set(server, rec);
      records.set(spec.mode, rec);
      ports[spec.mode] = server.address().port;
    }
    return { ports };
  }

  async function report() {
    // every full handshake's store.set has settled (stored or failed), within 10 s
    const deadline = Date.now() + 10000;
    const settled = () => [...records.values()].every((r) => !r.store || r.stored + r.storeErrors >= r.full);
    while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const out = {};
    for (const [mode, r] of records) {
      out[mode] = { lookupMs: r.lookupMs, lookups: r.lookups, stored: r.stored, storeErrors: r.storeErrors, errorMessages: r.errorMessages, full: r.full, resumed: r.resumed, cached: r.server.context.sessionCount };
    }
    return { modes: out };
  }

  async function stop() {
    for (const r of records.values()) {
      await new Promise((res) => r.server.close(res));
      if (r.store) await r.store.close();
    }
    records.clear();
    byServer.clear();
    return {};
  }

  process.on('message', (m) => {
    if (!m || typeof m.fleet !== 'string') return; // the cluster store's own messages
    const handlers = { start: () => start(m), report, stop };
    handlers[m.fleet]().then(
      (fields) => process.send({ fleetSeq: m.fleetSeq, ...fields }),
      (e) => process.send({ fleetSeq: m.fleetSeq, error: String(e && e.stack) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ fleetReady: true });
}

// the Redis Cluster store: the option the store takes for a cluster (see docs/api.md)
function makeClusterStore(RedisSessionStore, spec) {
  return new RedisSessionStore({ cluster: { nodes: spec.nodes.map((port) => ({ host: '127.0.0.1', port })) }, prefix: 'fleet:', commandTimeout: STORE_TIMEOUT_MS });
}

// ------------------------------------------------------------------ the node:cluster primary (a child of main)
function primaryMain() {
  const { ClusterSessionStore } = require(DIST);
  const [certFile, keyFile, count] = argv.slice(argv.indexOf('--primary') + 1);
  const primary = ClusterSessionStore.primary({ maxEntries: 200000, maxBytes: 256 * 1024 * 1024 });
  cluster.setupPrimary({ exec: __filename, args: ['--worker', certFile, keyFile], silent: false });
  const workers = [];
  let seq = 0;
  const ask = (w, m) =>
    new Promise((resolve, reject) => {
      const s = ++seq;
      const on = (r) => {
        if (!r || r.fleetSeq !== s) return;
        w.off('message', on);
        if (r.error) reject(new Error(r.error));
        else resolve(r);
      };
      w.on('message', on);
      w.send({ ...m, fleetSeq: s });
    });
  const forkOne = () =>
    new Promise((resolve, reject) => {
      const w = cluster.fork();
      const early = (code) => reject(new Error(`server process exited (${code}) before it was ready`));
      w.once('exit', early);
      const on = (m) => {
        if (!m || !m.fleetReady) return;
        w.off('message', on);
        w.off('exit', early);
        resolve(w);
      };
      w.on('message', on);
    });
  process.on('message', async (m) => {
    try {
      // every server process gets the command; the replies come back in server order
      const replies = await Promise.all(workers.map((w) => ask(w, m)));
      process.send({ seq: m.seq, replies, primaryEntries: primary.size });
    } catch (e) {
      process.send({ seq: m.seq, error: String(e && e.stack) });
    }
  });
  process.on('disconnect', () => {
    for (const w of workers) if (!w.isDead()) w.kill('SIGKILL');
    primary.close();
    process.exit(0);
  });
  (async () => {
    // a few at a time: 16 Node processes loading the addon at once crowd 2 cores
    for (let i = 0; i < Number(count); i += 4) {
      const batch = [];
      for (let j = i; j < Math.min(Number(count), i + 4); j++) batch.push(forkOne());
      workers.push(...(await Promise.all(batch)));
    }
    process.send({ ready: true, pids: workers.map((w) => w.process.pid) });
  })().catch((e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  });
}

// ------------------------------------------------------------------ helpers (main)
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

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] : NaN);

/** INFO commandstats and INFO stats of one Redis node: { calls: {cmd: n}, netIn, netOut } */
async function redisStats(client) {
  const cs = await client.info('commandstats');
  const calls = {};
  for (const m of cs.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
  const repl = await client.info('replication');
  const role = /^role:(\w+)/m.exec(repl)?.[1] ?? 'master';
  const st = await client.info('stats');
  // the bytes of these INFO commands and replies (RESP), taken off the deltas: the stats
  // reply is counted after its numbers were taken, the others before
  const reply = (text) => Buffer.byteLength(text) + String(Buffer.byteLength(text)).length + 5;
  const command = (section) => 19 + String(section.length).length + section.length; // *2 $4 info $n section
  const own = { statsOut: reply(st), statsIn: command('stats'), otherOut: reply(cs) + reply(repl), otherIn: command('commandstats') + command('replication') };
  const num = (k) => Number((new RegExp(`^${k}:(\\d+)`, 'm').exec(st) || [])[1] || 0);
  return { role, own, calls, netIn: num('total_net_input_bytes'), netOut: num('total_net_output_bytes'), replOut: num('total_net_repl_output_bytes'), replIn: num('total_net_repl_input_bytes') };
}

// what a replica executes because its primary sent it (the replication stream), and the
// replication handshake and acknowledgements: not commands of the store
const REPLICATED = new Set(['set', 'del', 'unlink', 'multi', 'exec', 'select', 'expire', 'pexpire', 'pexpireat']);
const REPLICATION = new Set(['replconf', 'psync', 'sync']);

/** the difference of two redisStats over several nodes, summed; our own INFO calls and
 * replication left out (the replication stream's bytes are counted apart) */
function redisDelta(before, after, infoBytes) {
  const calls = {};
  let netIn = 0;
  let netOut = 0;
  let repl = 0;
  for (let i = 0; i < after.length; i++) {
    if (process.env.FLEET_DEBUG) process.stderr.write(`${after[i].role} in ${after[i].netIn - before[i].netIn} out ${after[i].netOut - before[i].netOut} repl ${after[i].replOut - before[i].replOut} ${JSON.stringify(Object.fromEntries(Object.entries(after[i].calls).map(([k, v]) => [k, v - (before[i].calls[k] ?? 0)]).filter(([, v]) => v)))}\n`);
    for (const [k, v] of Object.entries(after[i].calls)) {
      if (k === 'info' || REPLICATION.has(k) || (after[i].role !== 'master' && REPLICATED.has(k))) continue;
      const d = v - (before[i].calls[k] ?? 0);
      if (d) calls[k] = (calls[k] ?? 0) + d;
    }
    // INFO's totals include the replication stream (Redis 7): counted apart
    netIn += after[i].netIn - before[i].netIn - (after[i].replIn - before[i].replIn) - before[i].own.statsIn - after[i].own.otherIn;
    netOut += after[i].netOut - before[i].netOut - (after[i].replOut - before[i].replOut) - before[i].own.statsOut - after[i].own.otherOut;
    // the INFO ioredis sends on each new connection (its ready check; a Cluster client opens
    // its node connections as it needs them): connection setup, not per-handshake traffic
    // (three of the INFO calls counted are this script's own: the first snapshot's)
    const setupInfo = Math.max(0, (after[i].calls.info ?? 0) - (before[i].calls.info ?? 0) - 3);
    netOut -= setupInfo * infoBytes[i];
    netIn -= setupInfo * 14; // *1 $4 info
    repl += after[i].replOut - before[i].replOut + (after[i].replIn - before[i].replIn);
  }
  return { calls, netIn, netOut, repl };
}

// ------------------------------------------------------------------ main
async function main() {
  const tls = require('tls');
  const { Redis } = require('ioredis');
  const { generateSelfSigned, openssl } = require(DIST);
  const { startRedisServer, resolveRedisServer } = require('../deps/redis-server.js');
  let clusterLauncher;
  try {
    clusterLauncher = require('../deps/redis-cluster.js');
  } catch {
    clusterLauncher = undefined; // not in this tree: the Redis Cluster column is not measured
  }
  const started = Date.now();
  const log = (s) => process.stderr.write(`[fleet ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${s}\n`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-fleet-'));
  const pems = generateSelfSigned({ commonName: 'localhost' });
  fs.writeFileSync(path.join(dir, 'cert.pem'), pems.cert);
  fs.writeFileSync(path.join(dir, 'key.pem'), pems.key);
  const redisPort = await freePort();
  const redis = await startRedisServer(redisPort);
  let redisCluster;
  let primaryChild;
  const admins = [];
  const cleanup = () => {
    if (primaryChild && primaryChild.exitCode === null) primaryChild.kill('SIGKILL'); // its workers exit on disconnect
    if (redis.exitCode === null) redis.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  const found = resolveRedisServer();
  const redisVersion = require('child_process')
    .execFileSync(found.command, ['--version'], { env: { ...process.env, ...found.env } })
    .toString()
    .trim();

  const modes = [
    { mode: 'internal', kind: 'internal', label: 'internal-only (no store)' },
    { mode: 'cluster', kind: 'cluster', label: `ClusterSessionStore (${MODEL.servers} node:cluster workers)` },
    { mode: 'redis', kind: 'redis', port: redisPort, label: 'RedisSessionStore, one Redis' },
  ];
  let clusterNote = 'not measured: deps/redis-cluster.js is not in this tree';
  if (clusterLauncher) {
    redisCluster = await clusterLauncher.startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    const ports = redisCluster.nodes.map((n) => n.port);
    modes.push({ mode: 'rcluster', kind: 'rcluster', nodes: ports, label: 'RedisSessionStore, Redis Cluster (3 primaries + 3 replicas)' });
    clusterNote = undefined;
  }
  const clusterPorts = modes.find((m) => m.mode === 'rcluster')?.nodes ?? [];
  const redisNodes = { redis: [redisPort], rcluster: clusterPorts };
  for (const [mode, ports] of Object.entries(redisNodes)) {
    admins.push(...ports.map((port) => ({ mode, client: new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1 }) })));
  }
  log(`redis-server on ${redisPort}${clusterPorts.length ? `, Redis Cluster on ${clusterPorts.join(',')}` : ''}`);

  primaryChild = require('child_process').fork(__filename, ['--primary', path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'), String(MODEL.servers)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const booted = await new Promise((resolve, reject) => {
    primaryChild.once('message', resolve);
    primaryChild.once('exit', (c) => reject(new Error(`the cluster primary exited (${c})`)));
  });
  log(`${booted.pids.length} server processes up`);
  let seq = 0;
  const askAll = (fleet, fields = {}) =>
    new Promise((resolve, reject) => {
      const s = ++seq;
      const on = (m) => {
        if (m.seq !== s) return;
        primaryChild.off('message', on);
        if (m.error) reject(new Error(m.error));
        else resolve(m);
      };
      primaryChild.on('message', on);
      primaryChild.send({ fleet, seq: s, ...fields });
    });

  const startReply = await askAll('start', { modes: modes.map(({ mode, kind, port, nodes }) => ({ mode, kind, port, nodes })), timeoutSec: TIMEOUT_S });
  const ports = Object.fromEntries(modes.map((m) => [m.mode, startReply.replies.map((r) => r.ports[m.mode])]));
  log(`servers listening: ${modes.map((m) => m.mode).join(', ')}; session timeout ${TIMEOUT_S} s real = ${MODEL.timeoutSim} s simulated`);

  // ---- the timeline: every client's visits, replayed against every store at the same moments
  const trace = makeTrace();
  const loadBefore = os.loadavg().map((x) => Number(x.toFixed(2)));
  const connect = (port, session) =>
    new Promise((resolve) => {
      const t0 = Date.now();
      let got;
      const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pems.cert, maxVersion: 'TLSv1.2', session });
      let t1 = 0;
      let line = '';
      let done = false;
      c.on('session', (s) => (got = s));
      c.once('secureConnect', () => (t1 = Date.now()));
      // the server's first line: its session's time, seconds
      c.on('data', (d) => {
        line += d.toString('latin1');
        if (done || !line.includes('\n')) return;
        done = true;
        const reused = c.isSessionReused();
        c.end();
        c.once('close', () => resolve({ ok: true, reused, session: got || c.getSession() || session, t0, t1, sessionTime: Number(line.split('\n')[0]) }));
      });
      c.once('error', (e) => {
        done = true;
        c.destroy();
        resolve({ ok: false, error: String(e && e.message), t0, t1: Date.now() });
      });
      c.once('close', () => {
        if (!done) resolve({ ok: false, error: 'closed before the server wrote', t0, t1: Date.now() });
      });
    });
  const visits = []; // one row per (client, visit, store)
  const before = await Promise.all(admins.map((a) => redisStats(a.client)));
  const t0 = Date.now() + 200;
  const wait = (at) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
  const runClient = async (c, mode) => {
    let session;
    let issuedFrom = 0; // the full handshake that made the session: its start (real ms) …
    let issuedTime = 0; // … and the session's time on the server (OpenSSL's, seconds)
    let issuer = -1;
    for (let v = 0; v < trace[c].length; v++) {
      const { atMs, server } = trace[c][v];
      await wait(t0 + atMs);
      const r = await connect(ports[mode][server], session);
      const row = { client: c, visit: v, mode, server, ok: r.ok, reused: r.ok && r.reused, durationMs: r.t1 - r.t0 };
      if (v > 0) {
        row.sameServer = server === issuer;
        // within: at most TIMEOUT_S real seconds passed between the session's making (not
        // before the full handshake began, nor before its OpenSSL time) and the end of this
        // handshake — OpenSSL, Redis's TTL and the cluster primary's all still hold it;
        // beyond: by OpenSSL's rule (now - time > timeout, whole seconds) it had expired
        // before this handshake began
        row.ageMax = (r.t1 - Math.max(issuedFrom, issuedTime * 1000)) / 1000;
        row.secondsAtStart = Math.floor(r.t0 / 1000) - issuedTime;
        row.within = row.ageMax <= TIMEOUT_S ? 'within' : row.secondsAtStart > TIMEOUT_S ? 'beyond' : 'boundary';
      }
      if (!r.ok) row.error = r.error;
      visits.push(row);
      if (r.ok && !r.reused) {
        session = r.session;
        issuedFrom = r.t0;
        issuedTime = r.sessionTime;
        issuer = server;
      }
    }
  };
  log(`timeline: ${MODEL.clients} clients × ${1 + MODEL.returns} visits × ${modes.length} stores`);
  const tl0 = Date.now();
  await Promise.all(modes.flatMap((m) => trace.map((_, c) => runClient(c, m.mode))));
  const timelineS = (Date.now() - tl0) / 1000;
  // the report waits for the last store.set; Redis is read after it
  const serverReport = await askAll('report');
  const after = await Promise.all(admins.map((a) => redisStats(a.client)));
  // the size of a plain INFO reply on each node (RESP), for the connection setup's share
  const infoBytes = await Promise.all(admins.map(async (a) => Buffer.byteLength(await a.client.info()) + 10));
  log(`timeline done in ${timelineS.toFixed(1)} s (${visits.length} handshakes)`);

  // ---- capacity: per store alone, closed loop, 8 concurrent clients returning to random servers
  const capacity = {};
  if (MODEL.burstMs > 0) {
    const rnd = mulberry32(SEED + 1);
    for (const m of modes) {
      const pool = [];
      for (let i = 0; i < 32; i++) {
        const r = await connect(ports[m.mode][i % MODEL.servers]);
        if (r.ok) pool.push(r.session);
      }
      await new Promise((r) => setTimeout(r, 100)); // the last store.set lands
      let n = 0;
      let resumed = 0;
      let failed = 0;
      const end = Date.now() + MODEL.burstMs;
      const b0 = Date.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (Date.now() < end) {
            const r = await connect(ports[m.mode][Math.floor(rnd() * MODEL.servers)], pool[Math.floor(rnd() * pool.length)]);
            n += 1;
            if (!r.ok) failed += 1;
            else if (r.reused) resumed += 1;
          }
        }),
      );
      capacity[m.mode] = { perSec: n / ((Date.now() - b0) / 1000), n, resumed, failed };
      log(`capacity ${m.mode}: ${capacity[m.mode].perSec.toFixed(0)} handshakes/s, ${resumed}/${n} resumed`);
    }
  }
  await askAll('stop');
  primaryChild.disconnect();
  for (const a of admins) a.client.disconnect();
  if (redisCluster) await redisCluster.stop();

  // ---- per store
  const results = {};
  for (const m of modes) {
    const rows = visits.filter((r) => r.mode === m.mode);
    const returns = rows.filter((r) => r.visit > 0 && r.ok);
    const count = (f) => returns.filter(f).length;
    const cls = (k) => ({
      returns: count((r) => r.within === k),
      resumed: count((r) => r.within === k && r.reused),
      sameServer: count((r) => r.within === k && r.sameServer),
      sameServerResumed: count((r) => r.within === k && r.sameServer && r.reused),
      otherServerResumed: count((r) => r.within === k && !r.sameServer && r.reused),
    });
    const server = serverReport.replies.map((r) => r.modes[m.mode]);
    const lookupMs = server.flatMap((s) => s.lookupMs).sort((a, b) => a - b);
    const lookups = {};
    for (const s of server) for (const [k, v] of Object.entries(s.lookups)) lookups[k] = (lookups[k] ?? 0) + v;
    const handshakes = rows.filter((r) => r.ok).length;
    // the client's connect-to-secureConnect time: full handshakes, and returns resumed on the
    // server that issued the session (its own cache) or on another one (the store)
    const times = (f) => {
      const a = rows.filter((r) => r.ok && f(r)).map((r) => r.durationMs).sort((x, y) => x - y);
      return { count: a.length, p50: quantile(a, 0.5), p99: quantile(a, 0.99) };
    };
    const clientMs = { full: times((r) => !r.reused), resumedSameServer: times((r) => r.reused && r.sameServer), resumedOtherServer: times((r) => r.reused && !r.sameServer) };
    const res = {
      label: m.label,
      handshakes,
      failed: rows.filter((r) => !r.ok).length,
      failures: [...new Set(rows.filter((r) => !r.ok).map((r) => r.error))].slice(0, 5),
      firstVisits: rows.filter((r) => r.visit === 0 && r.ok).length,
      firstVisitsResumed: rows.filter((r) => r.visit === 0 && r.reused).length,
      returns: returns.length,
      resumed: count((r) => r.reused),
      within: cls('within'),
      boundary: cls('boundary'),
      beyond: cls('beyond'),
      serverSide: {
        full: server.reduce((a, s) => a + s.full, 0),
        resumed: server.reduce((a, s) => a + s.resumed, 0),
        stored: server.reduce((a, s) => a + s.stored, 0),
        storeErrors: server.reduce((a, s) => a + s.storeErrors, 0),
        storeErrorMessages: server.flatMap((s) => s.errorMessages).slice(0, 5),
      },
      lookups,
      clientMs,
      lookupMs: { count: lookupMs.length, p50: quantile(lookupMs, 0.5), p99: quantile(lookupMs, 0.99), max: lookupMs[lookupMs.length - 1] ?? NaN },
      handshakesPerSec: handshakes / timelineS,
      capacity: capacity[m.mode],
    };
    if (redisNodes[m.mode] && redisNodes[m.mode].length) {
      const idx = admins.map((a, i) => (a.mode === m.mode ? i : -1)).filter((i) => i >= 0);
      const d = redisDelta(
        idx.map((i) => before[i]),
        idx.map((i) => after[i]),
        idx.map((i) => infoBytes[i]),
      );
      const storeCmds = ['getrange', 'get', 'set', 'del', 'publish', 'multi', 'exec'];
      const storeOps = storeCmds.reduce((a, k) => a + (d.calls[k] ?? 0), 0);
      const allOps = Object.values(d.calls).reduce((a, b) => a + b, 0);
      const pings = d.calls.ping ?? 0;
      res.redis = {
        calls: d.calls,
        storeOpsPerHandshake: storeOps / handshakes,
        allOpsPerHandshake: allOps / handshakes,
        // the feeds' heartbeats come with time (one PING per server per heartbeatInterval), not with handshakes
        otherOpsPerSec: (allOps - storeOps) / timelineS,
        bytesPerHandshake: (d.netIn + d.netOut) / handshakes,
        // without the PINGs: *1 $4 PING (14 bytes) and +PONG (7)
        storeBytesPerHandshake: (d.netIn + d.netOut - 21 * pings) / handshakes,
        netIn: d.netIn,
        netOut: d.netOut,
        replicationBytesPerHandshake: d.repl / handshakes,
      };
    }
    results[m.mode] = res;
  }

  const json = {
    date: new Date().toISOString(),
    quick: QUICK,
    machine: `${os.cpus()[0] ? os.cpus()[0].model : 'unknown'}, ${os.cpus().length} cores`,
    node: process.version,
    serverOpenSSL: openssl.version,
    redis: redisVersion.split(' ').slice(0, 3).join(' '),
    model: { ...MODEL, timeoutRealS: TIMEOUT_S, minIntervalMs: MIN_INTERVAL_MS, seed: SEED, storeTimeoutMs: STORE_TIMEOUT_MS },
    timelineS,
    loadAverage: { before: loadBefore, after: os.loadavg().map((x) => Number(x.toFixed(2))) },
    redisCluster: clusterNote ?? 'measured',
    results,
  };
  if (WRITE) {
    fs.writeFileSync(path.join(__dirname, 'fleet-results.json'), `${JSON.stringify(json, null, 2)}\n`);
    const md = markdown(json);
    fs.writeFileSync(path.join(__dirname, 'RESULTS-FLEET.md'), md);
    spliceResults(md);
    process.stderr.write(md);
  }
  if (process.env.FLEET_ROWS) fs.writeFileSync(process.env.FLEET_ROWS, JSON.stringify(visits));
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

const pct = (a, b) => (b ? `${a}/${b} (${((100 * a) / b).toFixed(1)} %)` : '—');
const ms = (x) => (Number.isFinite(x) ? `${x < 1 ? x.toFixed(2) : x.toFixed(1)} ms` : '—');

function markdown(j) {
  const modes = Object.keys(j.results);
  const R = j.results;
  const M = j.model;
  const row = (label, f) => `| ${label} | ${modes.map((k) => f(R[k])).join(' | ')} |`;
  const lines = [
    '# Fleet simulation',
    '',
    `Generated by \`npm run bench:fleet\` (bench/fleet_sim.js)${j.quick ? ' with --quick' : ''} — do not edit by hand. Method: bench/NOTES.md, "Fleet simulation".`,
    '',
    `- machine: ${j.machine}; Node ${j.node} clients (TLS 1.2), servers ${j.serverOpenSSL}; ${j.redis}; date ${j.date}`,
    `- ${M.servers} server processes (node:cluster workers, each with one TlsServer per store on a port of its own), a random server per connection; ${M.clients} clients, each a first visit (arrivals uniform over ${M.arrivalSim / 60} simulated min) and ${M.returns} returns`,
    `- return intervals log-normal, median ${M.medianSim} s, σ ${M.sigma}, capped at ${M.capSim / 60} min (simulated); session timeout ${M.timeoutSim} s simulated`,
    `- clock scaled ${M.scale}×: timeout ${M.timeoutRealS} s real; the run took ${j.timelineS.toFixed(1)} s; the same trace (seed ${M.seed}) replayed against every store at the same moments`,
    `- load average (1 min) ${j.loadAverage.before[0]} before, ${j.loadAverage.after[0]} after the timeline (2 cores shared with other work: the latencies carry it)`,
    `- Redis Cluster: ${j.redisCluster}`,
    '',
    `| | ${modes.map((k) => R[k].label).join(' | ')} |`,
    `|---|${modes.map(() => '---').join('|')}|`,
    row('handshakes (failed)', (r) => `${r.handshakes} (${r.failed})`),
    row('returns resumed, within the timeout', (r) => pct(r.within.resumed, r.within.returns)),
    row('… of which to the issuing server', (r) => pct(r.within.sameServerResumed, r.within.sameServer)),
    row('… of which to another server', (r) => pct(r.within.resumed - r.within.sameServerResumed, r.within.returns - r.within.sameServer)),
    row('returns resumed, beyond the timeout', (r) => pct(r.beyond.resumed, r.beyond.returns)),
    row('returns resumed, at the timeout (neither)', (r) => pct(r.boundary.resumed, r.boundary.returns)),
    row('returns resumed, overall', (r) => pct(r.resumed, r.returns)),
    row('store lookups (hit / miss / other)', (r) => (r.lookupMs.count ? `${r.lookupMs.count} (${r.lookups.hit ?? 0} / ${r.lookups.miss ?? 0} / ${r.lookupMs.count - (r.lookups.hit ?? 0) - (r.lookups.miss ?? 0)})` : '—')),
    row('lookup latency p50 / p99', (r) => (r.lookupMs.count ? `${ms(r.lookupMs.p50)} / ${ms(r.lookupMs.p99)}` : '— (none)')),
    row('client handshake time p50 / p99: full', (r) => `${ms(r.clientMs.full.p50)} / ${ms(r.clientMs.full.p99)}`),
    row('… resumed on the issuing server', (r) => (r.clientMs.resumedSameServer.count ? `${ms(r.clientMs.resumedSameServer.p50)} / ${ms(r.clientMs.resumedSameServer.p99)}` : '—')),
    row('… resumed on another server', (r) => (r.clientMs.resumedOtherServer.count ? `${ms(r.clientMs.resumedOtherServer.p50)} / ${ms(r.clientMs.resumedOtherServer.p99)}` : '—')),
    row('Redis store commands per handshake', (r) => (r.redis ? r.redis.storeOpsPerHandshake.toFixed(2) : '—')),
    row('Redis bytes per handshake (in + out), store commands', (r) => (r.redis ? r.redis.storeBytesPerHandshake.toFixed(0) : '—')),
    row('Redis commands per second besides (feed heartbeats)', (r) => (r.redis ? r.redis.otherOpsPerSec.toFixed(1) : '—')),
    row('handshakes/s in the run (open loop, all stores at once)', (r) => r.handshakesPerSec.toFixed(1)),
    row('handshakes/s, this store alone (closed loop, 8 clients)', (r) => (r.capacity ? `${r.capacity.perSec.toFixed(0)} (${pct(r.capacity.resumed, r.capacity.n)} resumed)` : '—')),
    '',
    'Within the timeout: at most the timeout passed between the session\'s making and the end of the return\'s handshake (OpenSSL, Redis\'s TTL and the cluster primary\'s all still hold it); beyond: by OpenSSL\'s whole-second rule it had expired before the return began (the server tells the client its session\'s time); returns between the two are counted apart. Redis columns from INFO commandstats / INFO stats on the Redis side (every node of a Cluster, summed), over the timeline; "store commands" are GETRANGE, SET, DEL, MULTI/EXEC/PUBLISH, the revocation feeds\' heartbeat PINGs (one per server per second, with time rather than with handshakes) and anything else are counted per second, and their bytes left out of the bytes per handshake. Lookup latency: each server\'s lookup diagnostics channel (start of store.get to the answer being added), over every lookup.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** replaces the fleet section of bench/RESULTS.md (or appends it) */
function spliceResults(md) {
  const file = path.join(__dirname, 'RESULTS.md');
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf('\n# Fleet simulation\n');
  if (at < 0) {
    fs.writeFileSync(file, `${text.replace(/\n*$/, '\n')}\n${md}`);
    return;
  }
  const next = text.indexOf('\n# ', at + 1);
  fs.writeFileSync(file, `${text.slice(0, at + 1)}${md}${next < 0 ? '' : text.slice(next)}`);
}

if (cluster.isWorker) {
  workerMain();
} else if (argv.includes('--primary')) {
  primaryMain();
} else {
  main().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
      process.exit(1);
    },
  );
}
