'use strict';
// Resumed handshakes/s with a MemorySessionStore: our createServer on the Node-socket path
// versus the native connection path, in one run, rounds in rotating order. The load is
// `openssl s_time -reuse` (the machine's OpenSSL: sequential connections resuming one session
// by id); per run: handshakes/s over s_time's wall time, the server's CPU (utime + stime from
// /proc/<pid>/stat) per handshake, and the share s_time saw resumed. A third server, the
// native path without a store (its internal cache), shows what the store's ClientHello
// hand-off to JS costs there.
//   node bench/native_store_resume.js [seconds=5] [rounds=3]
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const CIPHER = 'ECDHE-RSA-AES128-GCM-SHA256';
const TICK = 100; // USER_HZ on Linux
const PATHS = ['node', 'native', 'native-no-store'];

function serverMain() {
  const lib = require(path.join(__dirname, '..', 'dist'));
  const { cert, key } = JSON.parse(process.env.BENCH_PKI);
  const server = lib.createServer(
    {
      cert,
      key,
      ciphers: CIPHER,
      maxVersion: 'TLSv1.2',
      noTicket: true,
      sessionStore: process.env.BENCH_PATH === 'native-no-store' ? undefined : new lib.MemorySessionStore(),
      connectionPath: process.env.BENCH_PATH === 'node' ? 'node' : 'native',
    },
    (s) => {
      s.on('error', () => {});
      s.on('data', () => {});
      s.on('end', () => s.end());
    },
  );
  server.on('tlsClientError', () => {});
  server.on('sessionStoreError', () => {});
  process.on('message', () => process.send({ stats: server.sessionStoreStats }));
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}

function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function startServer(kind, pki) {
  const child = spawn(process.execPath, [__filename, 'server'], { env: { ...process.env, BENCH_PATH: kind, BENCH_PKI: JSON.stringify(pki) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve) => child.once('message', (m) => resolve({ child, port: m.port })));
}

function sTime(port, seconds) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('openssl', ['s_time', '-connect', `127.0.0.1:${port}`, '-reuse', '-time', String(seconds), '-cipher', CIPHER, '-tls1_2'], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /(\d+) connections in [\d.]+s;/.exec(r.stdout);
  if (!m) throw new Error(`s_time output: ${r.stdout} ${r.stderr}`);
  const marks = (r.stdout.split('starting\n')[1] ?? '').split('\n')[0];
  return { n: Number(m[1]), wall, reused: (marks.match(/r/g) ?? []).length, marks: marks.length };
}

async function main() {
  const seconds = Number(process.argv[2] ?? 5);
  const rounds = Number(process.argv[3] ?? 3);
  const lib = require(path.join(__dirname, '..', 'dist'));
  const pki = lib.generateSelfSigned({ commonName: 'localhost' });
  const servers = {};
  for (const k of PATHS) servers[k] = await startServer(k, pki);
  const results = Object.fromEntries(PATHS.map((k) => [k, []]));
  try {
    for (let i = 0; i < rounds; i++) {
      const order = PATHS.map((_, j) => PATHS[(i + j) % PATHS.length]);
      for (const k of order) {
        const s = servers[k];
        const c0 = cpuTicks(s.child.pid);
        const r = sTime(s.port, seconds);
        const c1 = cpuTicks(s.child.pid);
        const x = { perSec: r.n / r.wall, cpuUs: (((c1 - c0) / TICK) * 1e6) / Math.max(r.n + 1, 1), resumed: r.reused / Math.max(r.marks, 1) };
        results[k].push(x);
        console.log(`round ${i + 1} ${k}: ${x.perSec.toFixed(0)}/s, ${x.cpuUs.toFixed(0)} µs server CPU/handshake, resumed ${(100 * x.resumed).toFixed(1)} %`);
      }
    }
    for (const k of PATHS) {
      const stats = await new Promise((resolve) => {
        servers[k].child.once('message', (m) => resolve(m.stats));
        servers[k].child.send('stats');
      });
      console.log(`${k} sessionStoreStats: lookups ${stats.lookups}, storeGets ${stats.storeGets}, hits ${stats.hits}, misses ${stats.misses}`);
    }
  } finally {
    for (const k of PATHS) servers[k].child.kill();
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const n = median(results.node.map((x) => x.perSec));
  const v = median(results.native.map((x) => x.perSec));
  const bare = median(results['native-no-store'].map((x) => x.perSec));
  console.log(
    `median resumed handshakes/s with a MemorySessionStore: node path ${n.toFixed(0)}, native path ${v.toFixed(0)} (native / node = ${(v / n).toFixed(2)}); ` +
      `native without a store ${bare.toFixed(0)} (store / no store = ${(v / bare).toFixed(2)}), on ${os.cpus().length} CPUs`,
  );
  const cpu = (k) => median(results[k].map((x) => x.cpuUs));
  console.log(`median server CPU per resumed handshake: node path ${cpu('node').toFixed(0)} µs, native path ${cpu('native').toFixed(0)} µs (node / native = ${(cpu('node') / cpu('native')).toFixed(2)}), native without a store ${cpu('native-no-store').toFixed(0)} µs`);
}

if (process.argv[2] === 'server') serverMain();
else main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
