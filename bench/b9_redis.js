'use strict';
// B9 (npm run bench:redis [-- --quick]): sessions shared through Redis or node:cluster.
//  1. resumed handshakes/s on loopback (Node tls clients, TLS 1.2) where the server must
//     fetch each offered session from its store — RedisSessionStore vs MemorySessionStore
//     vs ClusterSessionStore — against internal-only (OpenSSL's own cache, no store, the
//     session issued by the same server); plus the store-backed server once the session
//     sits in its own cache.
//  2. the resumption rate across 4 servers behind a round-robin balancer: shared Redis,
//     a shared MemorySessionStore (one process), ClusterSessionStore (4 cluster workers)
//     and internal-only.
// The servers run in a child process (this file with --server), the clients here; the
// ClusterSessionStore servers run in node:cluster workers (this file with --server too)
// under a second child, bench/b9_cluster.js, which is their primary. The script starts its
// own redis-server (127.0.0.1, a free port) and kills it at the end.
// Writes bench/RESULTS-B9.md.
const { execFileSync, fork } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const tls = require('tls');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'index.js');
const QUICK = process.argv.includes('--quick');
const SESSIONS = QUICK ? 100 : 300; // sessions resumed per round
const ROUNDS = QUICK ? 3 : 7;
const CONCURRENCY = 8;
const FLEET = 4;
const FLEET_CONNECTIONS = 200;

// ------------------------------------------------------------------ server process
function serverMain() {
  const { createServer, ClusterSessionStore, MemorySessionStore, RedisSessionStore } = require(DIST);
  const [certFile, keyFile, redisPort] = process.argv.slice(3);
  const cert = fs.readFileSync(certFile);
  const key = fs.readFileSync(keyFile);
  const groups = new Map(); // name → { servers, stores, stored }
  let prefixes = 0;

  async function start(name, mode, count) {
    const servers = [];
    const stores = [];
    const memory = mode === 'memory' ? new MemorySessionStore({ maxEntries: 100000 }) : undefined;
    const prefix = `b9-${process.pid}-${++prefixes}:`;
    const g = { servers, stores, stored: 0, errors: 0 };
    for (let i = 0; i < count; i++) {
      let store;
      if (mode === 'redis') {
        store = new RedisSessionStore({ redis: { host: '127.0.0.1', port: Number(redisPort) }, prefix, commandTimeout: 2000 });
        stores.push(store);
      } else if (mode === 'cluster') {
        // a node:cluster worker (bench/b9_cluster.js): the sessions live in the primary
        store = new ClusterSessionStore({ timeout: 2000 });
        stores.push(store);
      } else if (mode === 'memory') store = memory;
      const server = createServer({ cert, key, sessionStore: store, sessionCacheSize: 100000, sessionStoreTimeout: 2000 }, (s) => {
        s.resume();
        s.on('end', () => s.end());
      });
      server.on('sessionStored', () => (g.stored += 1));
      server.on('sessionStoreError', () => (g.errors += 1));
      // exclusive: in a cluster worker, a port of its own (not the primary's shared handle)
      await new Promise((r) => server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, r));
      servers.push(server);
    }
    await Promise.all(stores.map((s) => s.ready?.())); // RedisSessionStore: connected
    groups.set(name, g);
    return servers.map((s) => s.address().port);
  }

  process.on('message', async (m) => {
    const reply = (fields) => process.send({ seq: m.seq, ...fields });
    try {
      if (m.cmd === 'start') reply({ ports: await start(m.name, m.mode, m.count) });
      else if (m.cmd === 'flush') {
        // empties the OpenSSL caches only ('flush' never reaches the store)
        for (const s of groups.get(m.name).servers) s.context.flushSessions(0);
        reply({});
      } else if (m.cmd === 'cpu') {
        const u = process.cpuUsage();
        reply({ us: u.user + u.system });
      } else if (m.cmd === 'counts') {
        const g = groups.get(m.name);
        reply({
          stored: g.stored,
          errors: g.errors,
          hits: g.servers.map((s) => s.context.stats.hits),
          cached: g.servers.map((s) => s.context.sessionCount),
        });
      } else if (m.cmd === 'stopAll') {
        for (const g of groups.values()) {
          await Promise.all(g.servers.map((s) => new Promise((r) => s.close(r))));
          await Promise.all(g.stores.map((s) => s.close()));
        }
        groups.clear();
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

// REDIS_SERVER, PATH, or Debian's package unpacked into the cache (deps/redis-server.js)
const { startRedisServer: startRedis, resolveRedisServer } = require('../deps/redis-server.js');

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

let cert;
function connectOnce(port, session) {
  return new Promise((resolve, reject) => {
    let got;
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', session });
    c.on('session', (s) => (got = s));
    c.once('secureConnect', () => {
      const reused = c.isSessionReused();
      c.end();
      c.resume();
      c.once('close', () => resolve({ reused, session: got || c.getSession() || session }));
    });
    c.on('error', reject);
  });
}

/** offers each session once, CONCURRENCY at a time; returns { rate, resumed } */
async function resumeAll(port, sessions) {
  let next = 0;
  let resumed = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < sessions.length) {
        const s = sessions[next++];
        if ((await connectOnce(port, s)).reused) resumed += 1;
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { rate: sessions.length / secs, resumed };
}

async function fullHandshakes(port, n) {
  const out = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        next += 1;
        const r = await connectOnce(port);
        if (r.reused) throw new Error('a fresh connection was resumed');
        out.push(r.session);
      }
    }),
  );
  return { sessions: out, rate: n / (Number(process.hrtime.bigint() - t0) / 1e9) };
}

// ------------------------------------------------------------------ main
async function main() {
  const { generateSelfSigned, openssl } = require(DIST);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-b9-'));
  const pems = generateSelfSigned({ commonName: 'localhost' });
  cert = pems.cert;
  fs.writeFileSync(path.join(dir, 'cert.pem'), pems.cert);
  fs.writeFileSync(path.join(dir, 'key.pem'), pems.key);
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  let child;
  let clusterChild;
  const cleanup = () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (clusterChild && clusterChild.exitCode === null) clusterChild.kill('SIGKILL'); // its workers exit on disconnect
    if (redis.exitCode === null) redis.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  const started = Date.now();
  const log = (s) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${s}\n`);
  const found = resolveRedisServer(); // the same binary startRedis ran (PATH or deps/.cache)
  const redisVersion = execFileSync(found.command, ['--version'], { env: { ...process.env, ...found.env } }).toString().trim();

  const serverArgs = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'), String(redisPort)];
  const options = { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] };
  child = fork(__filename, ['--server', ...serverArgs], options);
  // the node:cluster primary; its workers run this file with --server (bench/b9_cluster.js)
  clusterChild = fork(path.join(__dirname, 'b9_cluster.js'), serverArgs, options);
  await Promise.all([child, clusterChild].map((c) => new Promise((r) => c.once('message', r))));
  let seq = 0;
  const asker = (proc) => (cmd, fields = {}) =>
    new Promise((resolve, reject) => {
      const s = ++seq;
      const on = (m) => {
        if (m.seq !== s) return;
        proc.off('message', on);
        if (m.error) reject(new Error(m.error));
        else resolve(m);
      };
      proc.on('message', on);
      proc.send({ cmd, seq: s, ...fields });
    });
  const askServer = asker(child);
  const askCluster = asker(clusterChild);
  const askFor = (mode) => (mode === 'cluster' ? askCluster : askServer);
  // CPU time of redis-server, all its threads (ns of run time in /proc/PID/task/*/schedstat), µs
  const redisCpuUs = () => {
    let ns = 0;
    for (const t of fs.readdirSync(`/proc/${redis.pid}/task`)) ns += Number(fs.readFileSync(`/proc/${redis.pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1000;
  };
  const waitStored = async (name, n, mode) => {
    for (let i = 0; i < 500; i++) {
      const c = await askFor(mode)('counts', { name });
      if (c.stored + c.errors >= n) return c;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${name}: the store did not take ${n} sessions`);
  };

  // ---- part 1: resumed handshakes/s
  // store modes: server 0 issues the sessions, server 1 resumes them after its cache was
  // emptied (every resumption is a store fetch); internal: one server issues and resumes
  // cluster: both servers in one worker, as the other modes have both in one process
  const setups = {};
  for (const mode of ['redis', 'memory', 'cluster']) {
    const { ports } = await askFor(mode)('start', { name: mode, mode, count: 2, workers: 1 });
    const full = await fullHandshakes(ports[0], SESSIONS);
    await waitStored(mode, SESSIONS, mode);
    setups[mode] = { issuer: ports[0], port: ports[1], sessions: full.sessions };
    log(`${mode}: ${SESSIONS} sessions issued (${full.rate.toFixed(0)} full handshakes/s)`);
  }
  {
    const { ports } = await askServer('start', { name: 'internal', mode: 'internal', count: 1 });
    const full = await fullHandshakes(ports[0], SESSIONS);
    setups.internal = { port: ports[0], sessions: full.sessions, fullRate: full.rate };
    log(`internal: ${SESSIONS} sessions issued (${full.rate.toFixed(0)} full handshakes/s)`);
  }
  const order = ['redis', 'memory', 'cluster', 'internal'];
  const keys = [...order, 'redisWarm', 'memoryWarm', 'clusterWarm'];
  const rates = Object.fromEntries(keys.map((k) => [k, []]));
  // CPU time of the serving process per resumed handshake (user + system), µs: the server
  // child, or for cluster the worker; storeCpuPer: redis-server's, or the cluster primary's
  const cpuPer = Object.fromEntries(keys.map((k) => [k, []]));
  const storeCpuPer = Object.fromEntries(keys.map((k) => [k, []]));
  let incomplete = 0;
  const measure = async (mode, key, s) => {
    const ask = askFor(mode);
    const c0 = await ask('cpu', { name: mode });
    const r0 = redisCpuUs();
    const r = await resumeAll(s.port, s.sessions);
    const r1 = redisCpuUs();
    const c1 = await ask('cpu', { name: mode });
    incomplete += s.sessions.length - r.resumed;
    rates[key].push(r.rate);
    cpuPer[key].push((c1.us - c0.us) / s.sessions.length);
    if (mode === 'redis') storeCpuPer[key].push((r1 - r0) / s.sessions.length);
    if (mode === 'cluster') storeCpuPer[key].push((c1.primaryUsBefore - c0.primaryUsAfter) / s.sessions.length);
  };
  for (let round = 0; round < ROUNDS; round++) {
    const modes = order.map((_, i) => order[(i + round) % order.length]);
    for (const mode of modes) {
      const s = setups[mode];
      if (mode !== 'internal') await askFor(mode)('flush', { name: mode });
      await measure(mode, mode, s);
      // the same sessions again: now in the server's own cache, no store involved
      if (mode !== 'internal') await measure(mode, `${mode}Warm`, s);
    }
    log(`round ${round + 1}/${ROUNDS}: ${order.map((m) => `${m} ${rates[m][round].toFixed(0)}/s`).join(', ')}`);
  }
  await askServer('stopAll');
  await askCluster('stopAll');

  // ---- part 2: resumption rate across 4 servers, round robin
  const fleetRates = {};
  for (const mode of ['redis', 'memory', 'cluster', 'internal']) {
    fleetRates[mode] = {};
    const ask = askFor(mode);
    for (const client of ['first', 'newest']) {
      const name = `fleet-${mode}-${client}`;
      // cluster: FLEET workers with one server each; the others: FLEET servers in one process
      const { ports } = await (mode === 'cluster' ? ask('start', { name, mode, count: 1, workers: FLEET }) : ask('start', { name, mode, count: FLEET }));
      let session;
      let resumed = 0;
      let stored = 0;
      for (let i = 0; i < FLEET_CONNECTIONS; i++) {
        const r = await connectOnce(ports[i % FLEET], session);
        if (r.reused) resumed += 1;
        else if (mode !== 'internal') await waitStored(name, ++stored, mode); // the next server may ask at once
        if (session === undefined || client === 'newest') session = r.session;
      }
      fleetRates[mode][client] = resumed;
      await ask('stopAll');
    }
    log(`fleet ${mode}: first-session client ${fleetRates[mode].first}/${FLEET_CONNECTIONS}, newest-session client ${fleetRates[mode].newest}/${FLEET_CONNECTIONS}`);
  }
  child.disconnect();
  clusterChild.disconnect();

  // ---- report
  const fmt = (a) => `${median(a).toFixed(0)} /s (${Math.min(...a).toFixed(0)}–${Math.max(...a).toFixed(0)})`;
  const ratio = (a, b) => (median(a) / median(b)).toFixed(2);
  const us = (a) => (a.length ? `${median(a).toFixed(0)} µs (${Math.min(...a).toFixed(0)}–${Math.max(...a).toFixed(0)})` : '—');
  // server CPU per handshake ÷ internal-only's, paired by round (the same round's load)
  const cpuRatios = (key) => cpuPer[key].map((v, i) => v / cpuPer.internal[i]).filter((x) => Number.isFinite(x));
  const cpuRatio = (key) => {
    const a = cpuRatios(key);
    return a.length ? `${median(a).toFixed(2)} (${Math.min(...a).toFixed(2)}–${Math.max(...a).toFixed(2)})` : '—';
  };
  const memoryCpu = cpuRatios('memory').length ? median(cpuRatios('memory')) : NaN;
  const row = (label, key) => `| B9 | ${label} | ${fmt(rates[key])} | ${ratio(rates[key], rates.internal)} | ${us(cpuPer[key])} | ${cpuRatio(key)} | ${us(storeCpuPer[key])} |`;
  const pct = (n) => `${n}/${FLEET_CONNECTIONS} (${((100 * n) / FLEET_CONNECTIONS).toFixed(1)}%)`;
  const cpu = os.cpus()[0] ? os.cpus()[0].model : 'unknown';
  const md = `# B9: sessions shared through Redis and node:cluster

Generated by \`npm run bench:redis\` (bench/b9_redis.js)${QUICK ? ' with --quick' : ''} — do not edit by hand.

- machine: ${cpu}, ${os.cpus().length} cores (${os.type().toLowerCase()} ${os.release()}); servers in one child process, the Node tls clients in the script's own process, redis-server in a third, the ClusterSessionStore servers in node:cluster workers of a fourth (their primary) — all on one machine
- Node ${process.version} (OpenSSL ${process.versions.openssl}) as the client; servers: ${openssl.version}; ${redisVersion.split(' ').slice(0, 3).join(' ')}
- date: ${new Date().toISOString()}; ${ROUNDS} rounds of ${SESSIONS} resumed handshakes each, ${CONCURRENCY} concurrent clients, TLS 1.2, RSA 2048, loopback; median (min–max) over the rounds
- "fetched from the store": the server's OpenSSL cache was emptied before the round (flushSessions(0), which does not reach the store), so every offered session is fetched with store.get, added, and resumed; internal-only: the issuing server's own cache, no store
- each store mode has two servers in one process: one issued the sessions before the rounds, the other resumes them; for ClusterSessionStore that process is a single cluster worker (the sessions held by the primary, asked for over the cluster IPC channel)

## Resumed handshakes/s

| B9 | configuration | resumed handshakes/s | ÷ internal-only | server CPU per handshake | server CPU ÷ internal-only (same round) | store process CPU per handshake |
|---|---|---|---|---|---|---|
| B9 | internal-only (no store, OpenSSL's cache) | ${fmt(rates.internal)} | 1.00 | ${us(cpuPer.internal)} | 1.00 | — |
${row('RedisSessionStore, session fetched from Redis', 'redis')}
${row('MemorySessionStore, session fetched from the store', 'memory')}
${row('ClusterSessionStore, session fetched from the primary', 'cluster')}
${row("RedisSessionStore, session already in the server's cache", 'redisWarm')}
${row("MemorySessionStore, session already in the server's cache", 'memoryWarm')}
${row("ClusterSessionStore, session already in the server's cache", 'clusterWarm')}
| B9 | (reference) full handshakes/s, internal-only | ${setups.internal.fullRate.toFixed(0)} /s (one run) | — | — | — | — |

Target (issue 14): server CPU per resumed handshake with the session fetched from a
MemorySessionStore ≤ 1.15× internal-only — ${Number.isFinite(memoryCpu) ? `${memoryCpu.toFixed(2)}×, ${memoryCpu <= 1.15 ? 'met' : '**not met**'}` : 'not measured'}.

The clients (Node's OpenSSL 3) share the machine with the servers, so the rates are partly
client-bound; the CPU time per handshake of the process that serves (user + system, from
process.cpuUsage(): the server child, or for ClusterSessionStore the cluster worker) shows
the store's cost more directly. The store's own process is not counted there but in the
last column: redis-server's run time (all its threads, /proc/PID/task/*/schedstat), or the
cluster primary's process.cpuUsage() (it holds the sessions and answers the workers);
MemorySessionStore lives in the server process, so it has none. A fetch from the cluster
primary is one request and reply over the cluster IPC channel (the DER as base64 in JSON);
in the "already in the server's cache" rounds no request reaches either store, so the last
column there is the store process's background CPU over the round.

Offers that did not resume during the timed rounds: ${incomplete}.

## Resumption rate across ${FLEET} servers (round robin, ${FLEET_CONNECTIONS} sequential connections)

| B9 | store | client keeps its first session | client offers its newest session |
|---|---|---|---|
| B9 | RedisSessionStore (one per server, one Redis) | ${pct(fleetRates.redis.first)} | ${pct(fleetRates.redis.newest)} |
| B9 | MemorySessionStore shared in one process | ${pct(fleetRates.memory.first)} | ${pct(fleetRates.memory.newest)} |
| B9 | ClusterSessionStore (${FLEET} cluster workers, one server each, sessions in the primary) | ${pct(fleetRates.cluster.first)} | ${pct(fleetRates.cluster.newest)} |
| B9 | internal-only | ${pct(fleetRates.internal.first)} | ${pct(fleetRates.internal.newest)} |

Each server listens on a port of its own and the client takes the next port for every connection (the cluster workers listen with exclusive: true, so the primary does not balance them).
Internal-only resumes only on the server that issued the session: 1/${FLEET} of the connections for a client that keeps its first session; none in strict round robin for a client that always offers its newest one.
The store modes miss only the first connection, which has no session to offer; with ClusterSessionStore the next worker fetches a session another worker issued from the primary.
`;
  fs.writeFileSync(path.join(__dirname, 'RESULTS-B9.md'), md);
  process.stdout.write(md);
}

if (process.argv.includes('--server')) {
  serverMain();
} else {
  main().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
      process.exit(1);
    },
  );
}
