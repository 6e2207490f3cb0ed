'use strict';
// B10: server capacity under a C load generator. `openssl s_time` (the machine's OpenSSL,
// sequential connections, fixed seconds; -new: full handshakes, -reuse: resumed by session
// id) drives, in one run and in rotating order: our createServer, a node:tls server
// configured as the B5 baseline (bench/trial.js `server`), and OpenSSL 1.0.2h's own
// s_server from the same source tree as the addon (-no_ticket, its internal cache).
// Per run: handshakes/s, server CPU (utime + stime from /proc/<pid>/stat) per handshake,
// and the resumption ratio seen by s_time (its per-connection 'r' marks) and, for ours and
// node:tls, by the server itself.
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const CIPHER = 'ECDHE-RSA-AES128-GCM-SHA256';
const TICK = 100; // USER_HZ on Linux
const KINDS = ['ours', 'node', 's_server'];
const NAMES = {
  ours: 'our createServer',
  node: 'node:tls (B5 baseline)',
  s_server: 'OpenSSL 1.0.2h s_server -no_ticket',
  native: "our createServer({ connectionPath: 'native' })",
  bare: "our createServer({ connectionPath: 'native' }) without a 'secureConnection' listener",
};
const SHORT = { ours: 'ours', node: 'node:tls', s_server: 's_server', native: 'ours (native path)', bare: 'native, no listener' };

/** why B10 cannot run here, or undefined */
function unavailable() {
  if (!fs.existsSync('/proc/self/stat')) return 'no /proc (server CPU is read from /proc/<pid>/stat)';
  const r = spawnSync('openssl', ['s_time', '-help'], { encoding: 'utf8' });
  if (r.error) return `no \`openssl\` on PATH (${r.error.code})`;
  if (!/-reuse/.test(`${r.stdout}${r.stderr}`)) return '`openssl s_time` is not available in the machine\'s openssl';
  return undefined;
}

/** the 1.0.2h `openssl` program, built and cached by deps/build-openssl.js --apps */
function openssl102() {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'deps', 'build-openssl.js'), '--apps'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('B10: node deps/build-openssl.js --apps failed');
  return r.stdout.trim().split('\n').pop();
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

async function waitListening(port, child) {
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`B10 s_server exited ${child.exitCode}`);
    const ok = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        r(true);
      });
      c.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('B10 s_server did not listen');
}

async function startServer(kind, F, app) {
  if (kind === 's_server') {
    const port = await freePort();
    // stdin stays an open pipe: s_server reads commands from it
    const child = spawn(app, ['s_server', '-accept', String(port), '-cert', F.cert, '-key', F.key, '-no_ticket', '-cipher', CIPHER, '-tls1_2', '-quiet'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    await waitListening(port, child);
    return { child, port, stats: async () => undefined };
  }
  // 'native': our server on the native connection path (counted as ours: OpenSSL's stats)
  // 'bare': the same without a 'secureConnection' listener (no JS per connection but the settle)
  const impl = kind === 'native' || kind === 'bare' ? 'ours' : kind;
  const native = impl !== kind ? 'native' : undefined;
  const child = spawn(process.execPath, [path.join(__dirname, 'trial.js'), 'server', JSON.stringify({ ...F, impl, path: native, bare: kind === 'bare', bulk: false, count: true })], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.port));
    child.once('exit', (c) => reject(new Error(`B10 ${kind} server exited ${c}`)));
  });
  const stats = () =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send('stats');
    });
  return { child, port, stats };
}

/** one s_time run; the rate is over the wall time of the whole s_time process */
function sTime(port, mode, seconds) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('openssl', ['s_time', '-connect', `127.0.0.1:${port}`, `-${mode}`, '-time', String(seconds), '-cipher', CIPHER, '-tls1_2'], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /(\d+) connections in [\d.]+s;/.exec(r.stdout);
  if (!m) throw new Error(`B10 s_time output: ${r.stdout} ${r.stderr}`);
  // one mark per timed connection: 'r' resumed, '*' (or a version letter) full
  const marks = (r.stdout.split('starting\n')[1] ?? '').split('\n')[0];
  const reused = (marks.match(/r/g) ?? []).length;
  return { n: Number(m[1]), wall, reused, marks: marks.length };
}

async function measure(server, mode, seconds) {
  const s0 = await server.stats();
  const c0 = cpuTicks(server.child.pid);
  const r = sTime(server.port, mode, seconds);
  const c1 = cpuTicks(server.child.pid);
  const s1 = await server.stats();
  const n = r.n + (mode === 'reuse' ? 1 : 0); // -reuse makes one full handshake first
  const out = {
    perSec: r.n / r.wall,
    cpuUs: (((c1 - c0) / TICK) * 1e6) / Math.max(n, 1),
    client: r.marks ? r.reused / r.marks : 0,
    n: r.n,
  };
  if (s0 && s1) {
    const conns = s1.connections - s0.connections;
    out.serverConns = conns; // compared with n in the log line
    // the first -reuse connection is the full handshake that makes the session
    out.server = (s1.reused - s0.reused) / Math.max(1, mode === 'reuse' ? conns - 1 : conns);
  }
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const pct = (x) => `${(100 * x).toFixed(x > 0.995 && x < 1 ? 1 : 0)} %`;

/** rows for bench/run.js; `seconds` per s_time run, `rounds` with the servers' order rotated;
 * `paths: ['native']` adds our server on the native connection path to every round */
async function b10({ F, seconds, rounds, log, paths = [] }) {
  const app = openssl102();
  const kinds = [...KINDS, ...(paths.includes('native') ? ['native'] : []), ...(paths.includes('bare') ? ['bare'] : [])];
  const got = { reuse: {}, new: {} };
  for (const k of kinds) {
    got.reuse[k] = [];
    got.new[k] = [];
  }
  for (let i = 0; i < rounds; i++) {
    const order = kinds.slice(i % kinds.length).concat(kinds.slice(0, i % kinds.length));
    const modes = i % 2 ? ['new', 'reuse'] : ['reuse', 'new'];
    for (const k of order) {
      const server = await startServer(k, F, app);
      try {
        sTime(server.port, 'reuse', 1); // warm-up (JIT, caches), not counted
        for (const mode of modes) {
          const x = await measure(server, mode, seconds);
          got[mode][k].push(x);
          log(`B10 round ${i + 1} ${k} -${mode}: ${x.perSec.toFixed(0)}/s, ${x.cpuUs.toFixed(0)} µs CPU/handshake, resumed ${pct(x.client)} (s_time)${x.server !== undefined ? `, ${pct(x.server)} (server, ${x.serverConns} handshakes vs ${x.n + (mode === 'reuse' ? 1 : 0)} by s_time)` : ''}`);
        }
      } finally {
        server.child.kill('SIGKILL');
      }
    }
  }

  const rows = [];
  const resumption = {};
  for (const k of kinds) {
    const xs = got.reuse[k];
    resumption[k] = {
      client: Math.min(...xs.map((x) => x.client)),
      server: xs[0].server === undefined ? undefined : Math.min(...xs.map((x) => x.server)),
      fullClient: Math.max(...got.new[k].map((x) => x.client)),
    };
  }
  const resumedText = kinds.map((k) => {
    const r = resumption[k];
    return `${SHORT[k]} ${pct(r.client)}${r.server !== undefined ? `/${pct(r.server)}` : ''}`;
  }).join(', ');
  const lie = kinds.filter((k) => resumption[k].client < 0.99 || (resumption[k].server ?? 1) < 0.99);
  for (const mode of ['reuse', 'new']) {
    const what = mode === 'reuse' ? 'resumed' : 'full';
    // issue 29: resumed ≥ 0.9× s_server and ≥ 1.4× node:tls, full ≥ 0.95× s_server (our createServer runs
    // on its default path, the native one)
    const targets = mode === 'reuse' ? [['s_server', 0.9], ['node', 1.4]] : [['s_server', 0.95], ['node', undefined]];
    for (const [base, target] of targets) {
      const r = got[mode].ours.map((x, i) => x.perSec / got[mode][base][i].perSec);
      let detail = `${rounds} rounds of ${seconds} s`;
      if (mode === 'reuse') detail += `; resumed per s_time/server, worst round: ${resumedText}${lie.length ? `; NOT ALL RESUMED: ${lie.join(', ')}` : ''}`;
      rows.push({
        id: 'B10',
        what: `${what} handshakes/s under openssl s_time (C client, TLS 1.2, ${detail}): ${NAMES.ours} vs ${NAMES[base]}`,
        short: `s_time ${what} handshakes vs ${base === 's_server' ? 's_server 1.0.2h' : 'node:tls'}`,
        unit: 'handshakes/s',
        ours: median(got[mode].ours.map((x) => x.perSec)),
        baseline: median(got[mode][base].map((x) => x.perSec)),
        ratio: median(r),
        min: Math.min(...r),
        max: Math.max(...r),
        target,
        reported: target === undefined,
        dir: 1,
      });
    }
    for (const base of ['s_server', 'node']) {
      const r = got[mode].ours.map((x, i) => x.cpuUs / got[mode][base][i].cpuUs);
      rows.push({
        id: 'B10',
        what: `server CPU (utime+stime) per ${what} handshake under s_time: ${NAMES.ours} vs ${NAMES[base]} (lower is better)`,
        short: `CPU per ${what} handshake vs ${base === 's_server' ? 's_server 1.0.2h' : 'node:tls'}`,
        unit: 'µs CPU',
        ours: median(got[mode].ours.map((x) => x.cpuUs)),
        baseline: median(got[mode][base].map((x) => x.cpuUs)),
        ratio: median(r),
        min: Math.min(...r),
        max: Math.max(...r),
        // issue 29: CPU per resumed handshake ≤ 1.3× s_server's
        target: mode === 'reuse' && base === 's_server' ? 1.3 : undefined,
        reported: !(mode === 'reuse' && base === 's_server'),
        dir: -1,
      });
    }
  }
  if (kinds.includes('native')) rows.push(...nativeRows(got, rounds, seconds, 'native'));
  if (kinds.includes('bare')) rows.push(...nativeRows(got, rounds, seconds, 'bare'));
  log(`B10 resumption (s_time/server, worst round): ${resumedText}; full runs resumed at most: ${kinds.map((k) => `${k} ${pct(resumption[k].fullClient)}`).join(', ')}`);
  return { rows, raw: got, resumption };
}

/** the native connection path against each baseline and against our Node-socket path, same rounds */
function nativeRows(got, rounds, seconds, kind) {
  const rows = [];
  const targets = { reuse: { s_server: 0.9, node: 1.4 }, new: { s_server: 0.95 } };
  for (const mode of ['reuse', 'new']) {
    const what = mode === 'reuse' ? 'resumed' : 'full';
    for (const base of ['s_server', 'node', 'ours']) {
      const r = got[mode][kind].map((x, i) => x.perSec / got[mode][base][i].perSec);
      const target = targets[mode][base];
      rows.push({
        id: 'B10',
        what: `${what} handshakes/s under openssl s_time (${rounds} rounds of ${seconds} s): ${NAMES[kind]} vs ${NAMES[base]}`,
        short: `${SHORT[kind]}: s_time ${what} handshakes vs ${SHORT[base]}`,
        unit: 'handshakes/s',
        ours: median(got[mode][kind].map((x) => x.perSec)),
        baseline: median(got[mode][base].map((x) => x.perSec)),
        ratio: median(r),
        min: Math.min(...r),
        max: Math.max(...r),
        target,
        reported: target === undefined,
        dir: 1,
      });
      const c = got[mode][kind].map((x, i) => x.cpuUs / got[mode][base][i].cpuUs);
      rows.push({
        id: 'B10',
        what: `server CPU per ${what} handshake under s_time: ${NAMES[kind]} vs ${NAMES[base]} (lower is better)`,
        short: `${SHORT[kind]}: CPU per ${what} handshake vs ${SHORT[base]}`,
        unit: 'µs CPU',
        ours: median(got[mode][kind].map((x) => x.cpuUs)),
        baseline: median(got[mode][base].map((x) => x.cpuUs)),
        ratio: median(c),
        min: Math.min(...c),
        max: Math.max(...c),
        target: mode === 'reuse' && base === 's_server' ? 1.3 : undefined,
        reported: !(mode === 'reuse' && base === 's_server'),
        dir: -1,
      });
    }
  }
  return rows;
}

module.exports = { b10, unavailable, openssl102 };

// standalone: node bench/b10_capacity.js [--path native[,bare]] [--seconds 3] [--rounds 5]
// (prints the rows; RESULTS.md is bench/run.js's)
if (require.main === module) {
  const argv = process.argv.slice(2);
  const opt = (name, d) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : d);
  const why = unavailable();
  if (why) {
    console.log(`B10 skipped: ${why}`);
    process.exit(0);
  }
  const dir = path.join(__dirname, '.build');
  const F = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  if (!fs.existsSync(F.cert) || !fs.existsSync(F.key)) {
    const { cert, key } = require(path.join(ROOT, 'dist')).generateSelfSigned({ bits: 2048 });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(F.cert, cert);
    fs.writeFileSync(F.key, key);
  }
  const paths = opt('--path', '').split(',').filter(Boolean);
  b10({ F, seconds: Number(opt('--seconds', 3)), rounds: Number(opt('--rounds', 5)), log: (m) => console.log(m), paths }).then(
    ({ rows }) => {
      for (const r of rows) {
        const n = (x) => (typeof x === 'number' ? x.toFixed(x < 10 ? 3 : 0) : x);
        console.log(`${r.short}: ${n(r.ours)} vs ${n(r.baseline)} ${r.unit}, ratio ${n(r.ratio)} (${n(r.min)}–${n(r.max)})${r.target !== undefined ? `, target ${r.dir > 0 ? '≥' : '≤'} ${r.target}` : ''}`);
      }
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
