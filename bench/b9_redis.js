'use strict';
// B9 (npm run bench:redis [-- --quick]): sessions shared through Redis.
//  1. resumed handshakes/s on loopback (Node tls clients, TLS 1.2) where the server must
//     fetch each offered session from its store — RedisSessionStore vs MemorySessionStore —
//     against internal-only (OpenSSL's own cache, no store, the session issued by the same
//     server); plus the store-backed server once the session sits in its own cache.
//  2. the resumption rate across 4 servers behind a round-robin balancer: shared Redis,
//     a shared MemorySessionStore (one process) and internal-only.
// The servers run in a child process (this file with --server), the clients here; the
// script starts its own redis-server (127.0.0.1, a free port) and kills it at the end.
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
  const { createServer, MemorySessionStore, RedisSessionStore } = require(DIST);
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
      } else if (mode === 'memory') store = memory;
      const server = createServer({ cert, key, sessionStore: store, sessionCacheSize: 100000, sessionStoreTimeout: 2000 }, (s) => {
        s.resume();
        s.on('end', () => s.end());
      });
      server.on('sessionStored', () => (g.stored += 1));
      server.on('sessionStoreError', () => (g.errors += 1));
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
    }
    await Promise.all(stores.map((s) => s.ready()));
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
  const cleanup = () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (redis.exitCode === null) redis.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  const started = Date.now();
  const log = (s) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${s}\n`);
  const found = resolveRedisServer(); // the same binary startRedis ran (PATH or deps/.cache)
  const redisVersion = execFileSync(found.command, ['--version'], { env: { ...process.env, ...found.env } }).toString().trim();

  child = fork(__filename, ['--server', path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'), String(redisPort)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((r) => child.once('message', r));
  let seq = 0;
  const ask = (cmd, fields = {}) =>
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
  const waitStored = async (name, n) => {
    for (let i = 0; i < 500; i++) {
      const c = await ask('counts', { name });
      if (c.stored + c.errors >= n) return c;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${name}: the store did not take ${n} sessions`);
  };

  // ---- part 1: resumed handshakes/s
  // store modes: server 0 issues the sessions, server 1 resumes them after its cache was
  // emptied (every resumption is a store fetch); internal: one server issues and resumes
  const setups = {};
  for (const mode of ['redis', 'memory']) {
    const { ports } = await ask('start', { name: mode, mode, count: 2 });
    const full = await fullHandshakes(ports[0], SESSIONS);
    await waitStored(mode, SESSIONS);
    setups[mode] = { issuer: ports[0], port: ports[1], sessions: full.sessions };
    log(`${mode}: ${SESSIONS} sessions issued (${full.rate.toFixed(0)} full handshakes/s)`);
  }
  {
    const { ports } = await ask('start', { name: 'internal', mode: 'internal', count: 1 });
    const full = await fullHandshakes(ports[0], SESSIONS);
    setups.internal = { port: ports[0], sessions: full.sessions, fullRate: full.rate };
    log(`internal: ${SESSIONS} sessions issued (${full.rate.toFixed(0)} full handshakes/s)`);
  }
  const rates = { redis: [], memory: [], internal: [], redisWarm: [], memoryWarm: [] };
  // CPU time of the server process per resumed handshake (user + system), µs
  const cpuPer = { redis: [], memory: [], internal: [], redisWarm: [], memoryWarm: [] };
  let incomplete = 0;
  const order = ['redis', 'memory', 'internal'];
  for (let round = 0; round < ROUNDS; round++) {
    const modes = order.map((_, i) => order[(i + round) % order.length]);
    for (const mode of modes) {
      const s = setups[mode];
      if (mode !== 'internal') await ask('flush', { name: mode });
      let cpu0 = (await ask('cpu')).us;
      const r = await resumeAll(s.port, s.sessions);
      let cpu1 = (await ask('cpu')).us;
      incomplete += s.sessions.length - r.resumed;
      rates[mode].push(r.rate);
      cpuPer[mode].push((cpu1 - cpu0) / s.sessions.length);
      if (mode !== 'internal') {
        // the same sessions again: now in the server's own cache, no store involved
        cpu0 = (await ask('cpu')).us;
        const w = await resumeAll(s.port, s.sessions);
        cpu1 = (await ask('cpu')).us;
        incomplete += s.sessions.length - w.resumed;
        rates[`${mode}Warm`].push(w.rate);
        cpuPer[`${mode}Warm`].push((cpu1 - cpu0) / s.sessions.length);
      }
    }
    log(`round ${round + 1}/${ROUNDS}: ${order.map((m) => `${m} ${rates[m][round].toFixed(0)}/s`).join(', ')}`);
  }
  await ask('stopAll');

  // ---- part 2: resumption rate across 4 servers, round robin
  const fleetRates = {};
  for (const mode of ['redis', 'memory', 'internal']) {
    fleetRates[mode] = {};
    for (const client of ['first', 'newest']) {
      const name = `fleet-${mode}-${client}`;
      const { ports } = await ask('start', { name, mode, count: FLEET });
      let session;
      let resumed = 0;
      let stored = 0;
      for (let i = 0; i < FLEET_CONNECTIONS; i++) {
        const r = await connectOnce(ports[i % FLEET], session);
        if (r.reused) resumed += 1;
        else if (mode !== 'internal') await waitStored(name, ++stored); // the next server may ask at once
        if (session === undefined || client === 'newest') session = r.session;
      }
      fleetRates[mode][client] = resumed;
      await ask('stopAll');
    }
    log(`fleet ${mode}: first-session client ${fleetRates[mode].first}/${FLEET_CONNECTIONS}, newest-session client ${fleetRates[mode].newest}/${FLEET_CONNECTIONS}`);
  }
  child.disconnect();

  // ---- report
  const fmt = (a) => `${median(a).toFixed(0)} /s (${Math.min(...a).toFixed(0)}–${Math.max(...a).toFixed(0)})`;
  const ratio = (a, b) => (median(a) / median(b)).toFixed(2);
  const us = (a) => `${median(a).toFixed(0)} µs (${Math.min(...a).toFixed(0)}–${Math.max(...a).toFixed(0)})`;
  const pct = (n) => `${n}/${FLEET_CONNECTIONS} (${((100 * n) / FLEET_CONNECTIONS).toFixed(1)}%)`;
  const cpu = os.cpus()[0] ? os.cpus()[0].model : 'unknown';
  const md = `# B9: sessions shared through Redis

Generated by \`npm run bench:redis\` (bench/b9_redis.js)${QUICK ? ' with --quick' : ''} — do not edit by hand.

- machine: ${cpu}, ${os.cpus().length} cores (${os.type().toLowerCase()} ${os.release()}); servers in one child process, the Node tls clients in the script's own process, redis-server in a third — all on one machine
- Node ${process.version} (OpenSSL ${process.versions.openssl}) as the client; servers: ${openssl.version}; ${redisVersion.split(' ').slice(0, 3).join(' ')}
- date: ${new Date().toISOString()}; ${ROUNDS} rounds of ${SESSIONS} resumed handshakes each, ${CONCURRENCY} concurrent clients, TLS 1.2, RSA 2048, loopback; median (min–max) over the rounds
- "fetched from the store": the server's OpenSSL cache was emptied before the round (flushSessions(0), which does not reach the store), so every offered session is fetched with store.get, added, and resumed; internal-only: the issuing server's own cache, no store

## Resumed handshakes/s

| B9 | configuration | resumed handshakes/s | ÷ internal-only | server CPU per handshake |
|---|---|---|---|---|
| B9 | internal-only (no store, OpenSSL's cache) | ${fmt(rates.internal)} | 1.00 | ${us(cpuPer.internal)} |
| B9 | RedisSessionStore, session fetched from Redis | ${fmt(rates.redis)} | ${ratio(rates.redis, rates.internal)} | ${us(cpuPer.redis)} |
| B9 | MemorySessionStore, session fetched from the store | ${fmt(rates.memory)} | ${ratio(rates.memory, rates.internal)} | ${us(cpuPer.memory)} |
| B9 | RedisSessionStore, session already in the server's cache | ${fmt(rates.redisWarm)} | ${ratio(rates.redisWarm, rates.internal)} | ${us(cpuPer.redisWarm)} |
| B9 | MemorySessionStore, session already in the server's cache | ${fmt(rates.memoryWarm)} | ${ratio(rates.memoryWarm, rates.internal)} | ${us(cpuPer.memoryWarm)} |
| B9 | (reference) full handshakes/s, internal-only | ${setups.internal.fullRate.toFixed(0)} /s (one run) | — | — |

The clients (Node's OpenSSL 3) share the machine with the servers, so the rates are partly
client-bound; the server process's CPU time per handshake (user + system, from
process.cpuUsage()) shows the store's cost more directly. Redis itself runs in its own
process, not counted there.

Offers that did not resume during the timed rounds: ${incomplete}.

## Resumption rate across ${FLEET} servers (round robin, ${FLEET_CONNECTIONS} sequential connections)

| B9 | store | client keeps its first session | client offers its newest session |
|---|---|---|---|
| B9 | RedisSessionStore (one per server, one Redis) | ${pct(fleetRates.redis.first)} | ${pct(fleetRates.redis.newest)} |
| B9 | MemorySessionStore shared in one process | ${pct(fleetRates.memory.first)} | ${pct(fleetRates.memory.newest)} |
| B9 | internal-only | ${pct(fleetRates.internal.first)} | ${pct(fleetRates.internal.newest)} |

Internal-only resumes only on the server that issued the session: 1/${FLEET} of the connections for a client that keeps its first session; none in strict round robin for a client that always offers its newest one.
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
