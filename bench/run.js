'use strict';
// npm run bench [-- --quick] [-- --filter B1,B4] (B11, the HTTP rows: --filter B11)
// [-- --path native]: B10 also measures the native connection path
// Every trial runs in a fresh child process (better-sqlite3 style); ours/baseline pairs
// alternate their order round by round; each figure is the median ratio over the rounds
// with its min–max. Writes bench/RESULTS.md, bench/results.svg and bench/results.json.
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const BUILD = path.join(__dirname, '.build');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const filterArg = argv.find((a) => a.startsWith('--filter'));
const FILTER = filterArg ? (filterArg.includes('=') ? filterArg.split('=')[1] : argv[argv.indexOf(filterArg) + 1]).split(',') : null;
const want = (id) => !FILTER || FILTER.includes(id);

const ROUNDS = QUICK ? 3 : 7;
const MS = QUICK ? 150 : 500; // timed window of one micro-benchmark trial
const HS_MS = QUICK ? 400 : 1200; // handshake trials
const NET_MS = QUICK ? 700 : 2000; // loopback trials
const NET_ROUNDS = QUICK ? 2 : 5;
const started = Date.now();

function log(...a) {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${a.join(' ')}\n`);
}

// ---------------------------------------------------------------- preparation
function prepare() {
  if (!fs.existsSync(path.join(ROOT, 'build', 'Release', 'openssl_session_cache.node'))) {
    log('building the addon');
    execFileSync('npx', ['node-gyp', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  // the one way the project loads itself: dist/, compiled when lib/ changed
  require('../scripts/lib/load').ensureBuilt();
  fs.mkdirSync(BUILD, { recursive: true });
  const prefix = execFileSync(process.execPath, [path.join(ROOT, 'deps', 'build-openssl.js'), '--prefix'], { cwd: ROOT })
    .toString()
    .trim();
  for (const name of ['b1_add_remove', 'b2_lookup', 'b3_der', 'b4_handshake']) {
    const src = path.join(__dirname, 'c', `${name}.c`);
    const out = path.join(BUILD, name);
    execFileSync('cc', ['-O2', '-Wall', `-I${prefix}/include`, '-o', out, src, `${prefix}/lib/libssl.a`, `${prefix}/lib/libcrypto.a`, '-lpthread', '-ldl'], {
      stdio: 'inherit',
    });
  }
  // the N-API floor: a tiny addon with an empty function and an empty wrapped method
  const napiInclude = require('node-api-headers').include_dir;
  execFileSync('cc', ['-O2', '-shared', '-fPIC', `-I${napiInclude}`, '-o', path.join(BUILD, 'floor.node'), path.join(__dirname, 'c', 'floor_addon.c')], {
    stdio: 'inherit',
  });
  // fixtures shared by both sides: RSA 2048 certificate and key, and a handshake-made session
  const lib = require(path.join(ROOT, 'dist'));
  const { cert, key } = lib.generateSelfSigned({ bits: 2048 });
  fs.writeFileSync(path.join(BUILD, 'cert.pem'), cert);
  fs.writeFileSync(path.join(BUILD, 'key.pem'), key);
  const server = new lib.SslContext({ cert, key, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', noTicket: true });
  const client = new lib.SslContext({ role: 'client', noTicket: true });
  const h = lib.handshake(client, server);
  fs.writeFileSync(path.join(BUILD, 'session.der'), h.serverSession.toDER());
  server.free();
  client.free();
  return { prefix, openssl: lib.openssl };
}

// ---------------------------------------------------------------- child processes
function run(cmd, args, timeoutMs = 120000) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (e) {
        reject(new Error(`bad output from ${args.join(' ')}: ${out} ${err}`));
      }
    });
  });
}

const trial = (name, a) => run(process.execPath, ['--expose-gc', path.join(__dirname, 'trial.js'), name, JSON.stringify(a)]);
const cprog = (name, ...args) => run(path.join(BUILD, name), args.map(String));
const fixtures = () => ({ cert: path.join(BUILD, 'cert.pem'), key: path.join(BUILD, 'key.pem'), der: path.join(BUILD, 'session.der') });

/** B5/B6: a server child (ours or node:tls) and a node:tls client child */
async function netTrial(impl, clientName, a) {
  const server = spawn(process.execPath, [path.join(__dirname, 'trial.js'), 'server', JSON.stringify({ ...fixtures(), impl, bulk: !!a.bulk, observe: a.observe })], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise((resolve, reject) => {
      server.once('message', (m) => resolve(m.port));
      server.once('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
    if (!a.serverCpu) return await trial(clientName, { ...a, port });
    // B5: the server's CPU time (user+system) per handshake over the client's run
    const cpu = () =>
      new Promise((resolve) => {
        server.once('message', (m) => resolve(m.cpu.user + m.cpu.system));
        server.send({ cpu: true });
      });
    const before = await cpu();
    const r = await trial(clientName, { ...a, port });
    const after = await cpu();
    return { ...r, serverCpuPerOp: (after - before) / (r.ops + 5) }; // the client's first connection and 4 warm-ups too
  } finally {
    server.kill('SIGKILL');
  }
}

/** B12: our server in a child under B5's client load; the server's CPU µs per handshake */
async function serverCpuTrial(a) {
  const server = spawn(process.execPath, [path.join(__dirname, 'trial.js'), 'server', JSON.stringify({ ...fixtures(), impl: 'ours', observe: a.observe })], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise((resolve, reject) => {
      server.once('message', (m) => resolve(m.port));
      server.once('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
    const cpu = () =>
      new Promise((resolve) => {
        server.once('message', (m) => resolve(m.cpu.user + m.cpu.system));
        server.send({ cpu: true });
      });
    const before = await cpu();
    const r = await trial('client', { ...a, port });
    const after = await cpu();
    return (after - before) / (r.ops + 5); // the client's first connection and 4 warm-ups too
  } finally {
    server.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- statistics
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** ours/baseline pairs, alternating order each round; ratio = ours/baseline per round */
async function compare(label, ours, baseline, rounds = ROUNDS) {
  const o = [];
  const b = [];
  const r = [];
  for (let i = 0; i < rounds; i++) {
    let x;
    let y;
    if (i % 2 === 0) {
      x = await ours();
      y = await baseline();
    } else {
      y = await baseline();
      x = await ours();
    }
    o.push(x);
    b.push(y);
    r.push(x / y);
  }
  const res = { ours: median(o), baseline: median(b), ratio: median(r), min: Math.min(...r), max: Math.max(...r) };
  log(`${label}: ours ${fmt(res.ours)} baseline ${fmt(res.baseline)} ratio ${res.ratio.toFixed(3)} (${res.min.toFixed(3)}–${res.max.toFixed(3)})`);
  return res;
}

function fmt(x) {
  if (typeof x !== 'number') return String(x);
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (Math.abs(x) >= 100) return x.toFixed(0);
  return x.toFixed(2);
}

// ---------------------------------------------------------------- the benchmarks
async function main() {
  if (argv.includes('--render')) {
    // re-render RESULTS.md and results.svg from results.json (no measurement)
    const { meta, rows } = JSON.parse(fs.readFileSync(path.join(__dirname, 'results.json'), 'utf8'));
    const b9File = path.join(__dirname, 'RESULTS-B9.md');
    const b9 = fs.existsSync(b9File) ? `\n${fs.readFileSync(b9File, 'utf8')}` : '';
    fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), markdown(meta, rows) + b9 + fleetSection() + failoverSection());
    fs.writeFileSync(path.join(__dirname, 'results.svg'), svg(meta, rows));
    log('re-rendered bench/RESULTS.md and bench/results.svg from results.json');
    return;
  }
  const facts = prepare();
  const F = fixtures();
  const rows = []; // { id, what, unit, ours, baseline, ratio, min, max, target, dir, note }
  const add = (row) => rows.push(row);

  if (want('B0')) {
    const r = await trial('b0', { iterations: QUICK ? 1e6 : 5e6, floor: path.join(BUILD, 'floor.node') });
    for (const [k, what] of [
      ['jsFunction', 'pure JS function'],
      ['napiFunction', 'empty N-API function (bench/c/floor_addon.c)'],
      ['napiMethod', 'empty method on a napi_wrap-ped object (floor_addon.c)'],
      ['ourMethod', 'our SslContextHandle.freed() (node-addon-api ObjectWrap)'],
    ]) {
      add({ id: 'B0', what: `call floor: ${what}`, unit: 'ns/call', ours: r[k], reported: true });
    }
    log(`B0: ${JSON.stringify(r)}`);
  }

  if (want('B1')) {
    for (const n of [1000, 20000, 100000]) {
      // issue 14: per call ≥ 0.5× C at every size (facade and raw), batch ≥ 0.8×
      for (const [via, target] of [
        ['facade', 0.5],
        ['raw', 0.5],
        ['batch', 0.8],
      ]) {
        // the batch is compared with a C loop in the same order (1024 adds, then 1024 removes)
        const c = () => cprog('b1_add_remove', n, MS, via === 'batch' ? 'batch' : 'pairs').then((x) => x.perSec);
        const res = await compare(`B1 ${via} n=${n}`, () => trial('b1', { n, via, ms: MS }).then((x) => x.perSec), c);
        const what =
          via === 'batch'
            ? `addSessions(1024) + removeSessions(1024), per pair, cache of ${n / 1000}k`
            : `${via === 'raw' ? 'raw.SSL_CTX_add_session + raw.SSL_CTX_remove_session' : 'addSession + removeSession'} pairs, cache of ${n / 1000}k`;
        add({ id: 'B1', what, short: `${via} add+remove, ${n / 1000}k cached`, unit: 'pairs/s', ...res, target, dir: 1 });
      }
    }
  }

  if (want('B2')) {
    // identity (issue 14): a result whose SslSession is alive is that object (target 0.5×
    // C); a new SslSession per result (one native reference, freed at once) ≤ 1 µs (0.1×)
    const n = 20000;
    for (const [live, target, how] of [
      [true, 0.5, 'with a live SslSession held for each (identity)'],
      [false, 0.1, 'with no live SslSession (a new one per result)'],
    ]) {
      let res = await compare(
        `B2 getSession live=${live}`,
        () => trial('b2', { n, op: 'get', live, ms: MS }).then((x) => x.perSec),
        () => cprog('b2_lookup', 'get', n, MS).then((x) => x.perSec),
      );
      add({ id: 'B2', what: `getSession lookups ${how}, cache of 20k`, short: `getSession(id), 20k cached, ${live ? 'live' : 'new'}`, unit: 'lookups/s', ...res, target, dir: 1 });
      res = await compare(
        `B2 sessions() live=${live}`,
        () => trial('b2', { n, op: 'list', live, ms: MS * 2 }).then((x) => x.entriesPerSec),
        () => cprog('b2_lookup', 'list', n, MS).then((x) => x.entriesPerSec),
      );
      add({ id: 'B2', what: `sessions() of 20k entries ${how}, entries/s`, short: `sessions() of 20k, per entry, ${live ? 'live' : 'new'}`, unit: 'entries/s', ...res, target, dir: 1 });
    }
  }

  if (want('B3')) {
    // targets of issue 14: toDER (either form) ≥ 0.6× C, fromDER ≥ 0.3× C
    for (const op of ['to', 'into', 'from']) {
      const res = await compare(
        `B3 ${op}DER`,
        () => trial('b3', { op, der: F.der, ms: MS }).then((x) => x.perSec),
        () => cprog('b3_der', op === 'into' ? 'to' : op, F.der, MS).then((x) => x.perSec),
      );
      const size = fs.statSync(F.der).size;
      if (op === 'into') {
        add({ id: 'B3', what: `toDERInto(pooled Buffer) (i2d_SSL_SESSION, no allocation) vs C i2d into malloc, ${size}-byte session`, short: 'toDERInto (pooled)', unit: 'ops/s', ...res, target: 0.6, dir: 1 });
      } else {
        add({ id: 'B3', what: `${op}DER (${op === 'to' ? 'i2d_SSL_SESSION' : 'd2i_SSL_SESSION'}), ${size}-byte session`, short: `${op}DER`, unit: 'ops/s', ...res, target: op === 'to' ? 0.6 : 0.3, dir: 1 });
      }
    }
  }

  if (want('B4')) {
    for (const [mode, target] of [
      ['full', 0.9],
      ['resumed', 0.8],
    ]) {
      const res = await compare(
        `B4 ${mode}`,
        () => trial('b4', { ...F, mode, ms: HS_MS }).then((x) => x.perSec),
        () => cprog('b4_handshake', mode, F.cert, F.key, HS_MS).then((x) => x.perSec),
      );
      add({ id: 'B4', what: `in-process handshake() ${mode} (BIO pair, TLS 1.2, ECDHE-RSA-AES128-GCM-SHA256, RSA 2048)`, short: `handshake() ${mode}, in-process`, unit: 'handshakes/s', ...res, target, dir: 1 });
    }
  }

  if (want('B5')) {
    for (const mode of ['resumed', 'full']) {
      for (const concurrency of [1, 16]) {
        // the servers' CPU per handshake in the same trials: the node:tls client process is
        // most of each handshake's cost (bench/NOTES.md, B5), so requests/s shows little of it
        const cpu = { ours: [], node: [] };
        const clientCpu = { ours: [], node: [] };
        const go = (impl) => () => netTrial(impl, 'client', { mode, concurrency, ms: NET_MS, serverCpu: true }).then((x) => {
          if (mode === 'resumed' && x.reused < x.ops * 0.99) throw new Error(`${impl}: only ${x.reused}/${x.ops} resumed`);
          cpu[impl].push(x.serverCpuPerOp);
          clientCpu[impl].push(x.clientCpuPerOp);
          return x.perSec;
        });
        const res = await compare(`B5 ${mode} c=${concurrency}`, go('ours'), go('node'), NET_ROUNDS);
        add({
          id: 'B5',
          what: `loopback ${mode} handshakes/s, ${concurrency} concurrent node:tls client${concurrency > 1 ? 's' : ''}: our server vs node:tls server`,
          short: `loopback ${mode} handshakes, ${concurrency} client${concurrency > 1 ? 's' : ''} vs node:tls`,
          unit: 'handshakes/s',
          ...res,
          target: mode === 'resumed' ? 1.3 : undefined, // issue 29: resumed ≥ 1.3× node:tls
          reported: mode !== 'resumed',
          dir: 1,
        });
        const r = cpu.ours.map((x, i) => x / cpu.node[i]);
        log(
          `B5 ${mode} c=${concurrency} server CPU/handshake: ours ${fmt(median(cpu.ours))} µs node ${fmt(median(cpu.node))} µs ratio ${median(r).toFixed(3)}; ` +
            `client CPU/handshake: against ours ${fmt(median(clientCpu.ours))} µs, against node ${fmt(median(clientCpu.node))} µs`,
        );
        add({
          id: 'B5',
          what: `server CPU (user+system) per ${mode} handshake, ${concurrency} concurrent node:tls client${concurrency > 1 ? 's' : ''}: our server vs node:tls server (lower is better)`,
          short: `server CPU per ${mode} handshake, ${concurrency} client${concurrency > 1 ? 's' : ''} vs node:tls`,
          unit: 'µs CPU',
          ours: median(cpu.ours),
          baseline: median(cpu.node),
          ratio: median(r),
          min: Math.min(...r),
          max: Math.max(...r),
          reported: true,
          dir: -1,
        });
        if (mode === 'resumed') {
          const c = clientCpu.ours.map((x, i) => x / clientCpu.node[i]);
          add({
            id: 'B5',
            what: `client CPU (the node:tls client process, user+system) per resumed handshake, ${concurrency} concurrent: against our server vs against node:tls's`,
            short: `client CPU per resumed handshake, ${concurrency} client${concurrency > 1 ? 's' : ''}`,
            unit: 'µs CPU',
            ours: median(clientCpu.ours),
            baseline: median(clientCpu.node),
            ratio: median(c),
            min: Math.min(...c),
            max: Math.max(...c),
            reported: true,
            dir: -1,
          });
        }
      }
    }
  }

  if (want('B6')) {
    const go = (impl) => () => netTrial(impl, 'bulkClient', { bulk: true, ms: NET_MS }).then((x) => x.perSec);
    const res = await compare('B6 bulk', go('ours'), go('node'), NET_ROUNDS);
    add({ id: 'B6', what: 'bulk server→client throughput, 64 KiB writes: our socket vs node:tls (bytes/s)', short: 'bulk 64 KiB writes vs node:tls', unit: 'bytes/s', ...res, target: 1.0, dir: 1 }); // issue 14: ≥ 1.0× node:tls
  }

  if (want('B7')) {
    const cycles = QUICK ? 300000 : 1000000;
    const v = [];
    for (let i = 0; i < (QUICK ? 1 : 2); i++) {
      // each part in its own process: the cached-100k phase would distort the cycle phase
      const c = await trial('b7', { part: 'cache' });
      v.push({ ...c, ...(await trial('b7', { part: 'cycles', cycles })) });
    }
    log(`B7: ${JSON.stringify(v)}`);
    const per100k = median(v.map((x) => x.bytesPer100k));
    add({ id: 'B7', what: 'RSS per 100k cached sessions', unit: 'MiB', ours: per100k / 2 ** 20, reported: true });
    const g = v.map((x) => x.growth);
    add({
      id: 'B7',
      what: `RSS after ${cycles / 1e6}M create/add/remove/drop cycles ÷ RSS after the first 100k (with GC)`,
      short: 'RSS growth, 1M cycles vs first 100k',
      unit: 'ratio',
      ours: median(v.map((x) => x.rssAfterAll / 2 ** 20)),
      baseline: median(v.map((x) => x.rssAfter100k / 2 ** 20)),
      ratio: median(g),
      min: Math.min(...g),
      max: Math.max(...g),
      target: 1.1,
      dir: -1,
      unitOurs: 'MiB',
    });
    // leak check: the second half of the run (after the allocator's warm-up)
    const half = v.filter((x) => x.series && x.series.length >= 4).map((x) => x.series[x.series.length - 1] / x.series[Math.floor(x.series.length / 2) - 1]);
    if (half.length) {
      add({
        id: 'B7',
        what: `RSS after ${cycles / 1e6}M cycles ÷ RSS at the half-way point (leak check after warm-up)`,
        short: 'RSS growth, second half of 1M cycles',
        unit: 'ratio',
        ours: median(half),
        ratio: median(half),
        min: Math.min(...half),
        max: Math.max(...half),
        target: 1.1,
        dir: -1,
      });
    }
  }

  if (want('B8')) {
    for (const n of [1000, 20000, 100000]) {
      const v = [];
      for (let i = 0; i < (QUICK ? 1 : 3); i++) v.push(await trial('b8flush', { n }));
      const expired = median(v.map((x) => x.expiredNsPerEntry));
      const live = median(v.map((x) => x.liveNsPerEntry));
      log(`B8 flush n=${n}: expired ${expired.toFixed(1)} ns/entry, live ${live.toFixed(1)} ns/entry`);
      add({ id: 'B8', what: `flushSessions() removing all ${n / 1000}k entries`, unit: 'ns/entry', ours: expired, reported: true });
      add({ id: 'B8', what: `flushSessions() scanning ${n / 1000}k live entries (none expired)`, unit: 'ns/entry', ours: live, reported: true });
    }
    const n = QUICK ? 20000 : 100000;
    const handshakes = QUICK ? 1500 : 5000;
    for (const noAutoClear of [false, true]) {
      const v = [];
      for (let i = 0; i < (QUICK ? 1 : 3); i++) v.push(await trial('b8latency', { ...F, n, handshakes, noAutoClear }));
      const m = (k) => median(v.map((x) => x[k]));
      log(`B8 latency noAutoClear=${noAutoClear}: ${JSON.stringify(v)}`);
      const mode = noAutoClear ? 'SERVER|NO_AUTO_CLEAR' : 'SERVER (auto-flush every 255 accepts)';
      add({ id: 'B8', what: `resumed handshake() p99 latency, ${n / 1000}k cached, ${mode}`, unit: 'µs', ours: m('p99'), reported: true });
      add({ id: 'B8', what: `resumed handshake() p99.9 / max latency, ${n / 1000}k cached, ${mode}`, unit: 'µs', ours: m('p999'), extra: m('max'), reported: true });
    }
  }

  if (want('B12')) {
    const r = await trial('b11micro', { iterations: QUICK ? 1e6 : 5e6 });
    log(`B12 micro: ${JSON.stringify(r)}`);
    add({ id: 'B12', what: 'diagnostics path per connection with nobody subscribed (observeConnection: four hasSubscribers reads and NODE_DEBUG), minus an empty loop', short: 'channels, no subscriber: per connection', unit: 'ns', ours: Math.max(0, r.none - r.empty), reported: true });
    add({ id: 'B12', what: "one handshake's publishes (start, end, asyncStart, asyncEnd of one message) to a no-op subscriber, minus an empty loop", short: 'handshake publishes, subscribed', unit: 'ns', ours: Math.max(0, r.publish - r.empty), reported: true });
  }
  // B12: what the diagnostics channels cost once someone subscribes (a no-op subscriber on
  // every channel, or the metrics recorder) against no subscriber: the server process's CPU
  // time per handshake under B5's load (one node:tls client). CPU per handshake, not
  // handshakes/s: on a shared machine the wall clock measures the neighbours.
  if (want('B12')) {
    for (const mode of ['resumed', 'full']) {
      for (const observe of ['channels', 'metrics']) {
        const go = (obs) => () => serverCpuTrial({ mode, concurrency: 1, ms: NET_MS, observe: obs });
        const res = await compare(`B12 ${mode} ${observe} (server CPU µs/handshake)`, go(observe), go('none'), NET_ROUNDS);
        add({
          id: 'B12',
          what: `server CPU per loopback ${mode} handshake, ${observe === 'channels' ? 'a no-op subscriber on every diagnostics channel' : 'observeMetrics() recording'} vs no subscriber`,
          short: `${mode} handshake CPU, ${observe === 'channels' ? 'all channels subscribed' : 'metrics recorder'} vs none`,
          unit: 'µs CPU/handshake',
          ...res,
          reported: true,
          dir: -1,
        });
      }
    }
  }

  // B10: server capacity under a C load generator (openssl s_time)
  if (want('B10')) {
    const { b10, unavailable } = require('./b10_capacity');
    const why = unavailable();
    if (why) {
      log(`B10 skipped: ${why}`);
      rows.push({ id: 'B10', what: `server capacity under openssl s_time: skipped, ${why}`, unit: '', ours: 'skipped', reported: true });
    } else {
      // --path native[,bare]: the native connection path's rows too (bench/b10_capacity.js)
      const paths = argv.includes('--path') ? String(argv[argv.indexOf('--path') + 1] ?? '').split(',') : [];
      const r = await b10({ F, seconds: QUICK ? 1 : 3, rounds: QUICK ? 3 : 5, log, paths });
      rows.push(...r.rows);
    }
  }

  // B11: HTTP/1.1 and HTTP/2 through createHttpsServer / createHttp2SecureServer vs
  // node:https / node:http2 (keep-alive, a new connection per request, server RSS)
  if (want('B11')) {
    const { b11 } = require('./b11_http');
    // 7 rounds of 1.5 s: single trials of this 2-core VM move ±15 % (steal, neighbours); the median of 7 pairs moves less
    rows.push(...(await b11({ F, ms: QUICK ? 500 : 1500, rounds: QUICK ? 2 : 7, quick: QUICK, log })));
  }

  // B9 (issue: fleet on Redis) has its own script; its table is appended to RESULTS.md
  const b9File = path.join(__dirname, 'RESULTS-B9.md');
  if (!FILTER || FILTER.includes('B9')) {
    const { spawnSync } = require('child_process');
    const r = spawnSync(process.execPath, [path.join(__dirname, 'b9_redis.js'), ...(QUICK ? ['--quick'] : [])], { stdio: 'inherit' });
    if (r.status !== 0) log(`B9 failed (status ${r.status}); RESULTS-B9.md may be stale`);
  }
  const b9 = fs.existsSync(b9File) ? `\n${fs.readFileSync(b9File, 'utf8')}` : '';

  const elapsed = (Date.now() - started) / 1000;
  const meta = machine(facts, elapsed);
  if (FILTER && fs.existsSync(path.join(__dirname, 'results.json'))) {
    // a filtered run replaces only its own benchmarks in the last full table
    const prev = JSON.parse(fs.readFileSync(path.join(__dirname, 'results.json'), 'utf8'));
    const fresh = rows.splice(0, rows.length);
    for (const r of prev.rows) {
      if (FILTER.includes(r.id)) continue;
      rows.push(r);
    }
    rows.push(...fresh);
    rows.sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
    meta.note = `${prev.meta.note ? prev.meta.note + '; ' : ''}${FILTER.join(',')} re-measured ${meta.date}`;
  }
  fs.writeFileSync(path.join(__dirname, 'results.json'), JSON.stringify({ meta, rows }, null, 2) + '\n');
  fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), markdown(meta, rows) + b9 + fleetSection() + failoverSection());
  fs.writeFileSync(path.join(__dirname, 'results.svg'), svg(meta, rows));
  log(`wrote bench/RESULTS.md, bench/results.svg (${elapsed.toFixed(0)} s)`);
}

// the fleet simulation (npm run bench:fleet, bench/fleet_sim.js) is measured on its own; its
// last table is carried along
function fleetSection() {
  const f = path.join(__dirname, 'RESULTS-FLEET.md');
  return fs.existsSync(f) ? `\n${fs.readFileSync(f, 'utf8')}` : '';
}

/** B13's table (bench/b13_failover.js, npm run bench:failover: not run from here, it kills Redis primaries for minutes) */
function failoverSection() {
  const f = path.join(__dirname, 'RESULTS-B13.md');
  return fs.existsSync(f) ? `\n${fs.readFileSync(f, 'utf8')}` : '';
}

function machine(facts, elapsed) {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m);
    if (m) cpu = m[1].trim();
  } catch {
    /* not Linux */
  }
  return {
    cpu,
    cores: os.cpus().length,
    node: process.version,
    nodeOpenSSL: process.versions.openssl,
    openssl: facts.openssl?.version ?? String(facts.openssl),
    date: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    rounds: ROUNDS,
    netRounds: NET_ROUNDS,
    elapsed,
  };
}

function met(r) {
  if (r.target === undefined || r.ratio === undefined) return '—';
  return (r.dir < 0 ? r.ratio <= r.target : r.ratio >= r.target) ? 'yes' : '**no**';
}

function markdown(meta, rows) {
  const L = [];
  L.push('# Benchmark results', '');
  L.push(`Generated by \`npm run bench${meta.mode === 'quick' ? ' -- --quick' : ''}\` (bench/run.js) — do not edit by hand.`, '');
  L.push(`- machine: ${meta.cpu}, ${meta.cores} cores (${os.platform()} ${os.release()})`);
  L.push(`- Node ${meta.node} (its own OpenSSL ${meta.nodeOpenSSL}); addon and C baselines: ${meta.openssl}`);
  L.push(`- date: ${meta.date}; mode: ${meta.mode}, ${meta.rounds} rounds (${meta.netRounds} for loopback), run took ${meta.elapsed.toFixed(0)} s`);
  if (meta.note) L.push(`- ${meta.note}`);
  L.push('- every trial is a fresh process; ours and the baseline alternate order each round; ratio = ours ÷ baseline per round, median (min–max)');
  L.push('');
  L.push('| id | benchmark | ours | baseline | ratio (min–max) | target | met? |');
  L.push('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const unit = r.unitOurs ?? r.unit;
    const ours = r.extra !== undefined ? `${fmt(r.ours)} / ${fmt(r.extra)} ${unit}` : `${fmt(r.ours)} ${unit}`;
    const base = r.baseline === undefined ? '—' : `${fmt(r.baseline)} ${unit}`;
    const ratio = r.ratio === undefined ? '—' : `${r.ratio.toFixed(3)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
    const target = r.target === undefined ? 'reported' : `${r.dir < 0 ? '≤' : '≥'} ${r.target}×`;
    L.push(`| ${r.id} | ${r.what.replace(/\|/g, "\\|")} | ${ours} | ${base} | ${ratio} | ${target} | ${met(r)} |`);
  }
  L.push('');
  L.push(...floorTable(rows));
  L.push('Baselines: B1–B4 are C programs in bench/c/ built by the bench script with `cc` against the same');
  L.push('libssl.a/libcrypto.a the addon links (same locking callbacks installed); B5/B6 are a node:tls server');
  L.push('(Node\'s OpenSSL 3, TLS 1.2, same certificate and cipher, tickets off, resumption by id through its');
  L.push('newSession/resumeSession events and an in-memory Map) under the same node:tls client load.');
  L.push('B10: the machine\'s `openssl s_time` (C, one connection at a time, `-tls1_2 -cipher');
  L.push('ECDHE-RSA-AES128-GCM-SHA256`, `-new` or `-reuse`) against three servers in rotating order: our');
  L.push('createServer, the B5 node:tls server, and 1.0.2h\'s `openssl s_server -no_ticket -quiet` built from the');
  L.push('addon\'s source tree (`node deps/build-openssl.js --apps`); rate = connections ÷ wall time of the s_time');
  L.push('process; CPU = the server process\'s utime+stime (/proc) ÷ handshakes; resumption is checked per run.');
  L.push('B11: a node client process (https.Agent keep-alive / http2.connect / one tls.connect per request offering');
  L.push('the previous session; maxVersion TLSv1.2, ECDHE-RSA-AES128-GCM-SHA256) against a server process running');
  L.push('createHttpsServer / createHttp2SecureServer or node:https / node:http2 with default options and the same');
  L.push('handler (setHeader, write(a), end(b)); each trial is a fresh server and client; every resumed request is');
  L.push('checked resumed (isSessionReused), every full one not; RSS = the server\'s peak, sampled every 50 ms; server');
  L.push('CPU = process.cpuUsage() of the server over the client\'s timed run ÷ requests. A row with a target runs');
  L.push('three trials per round in rotating order — ours, node\'s server, node\'s server again — and its A/A control');
  L.push('row is the second node trial ÷ the first: what this harness reads for two identical servers in that run.');
  L.push('');
  const notesPath = path.join(__dirname, 'NOTES.md');
  if (fs.existsSync(notesPath)) L.push(fs.readFileSync(notesPath, 'utf8').trim(), '');
  return L.join('\n') + '\n';
}

/**
 * Each B1–B3 row's distance from its own floor: C's time per operation plus the N-API calls
 * the operation must make (B0 of the same table: a static function for the slot paths and
 * fromDER, a wrapped-object method for toDER). What is left above the floor is the binding's
 * own work (argument checks, new objects, finalizers, events): design or waste, per row in
 * bench/NOTES.md.
 */
const FLOOR_CALLS = [
  // [row short-name prefix, N-API calls per operation, which B0 row]
  ['facade add+remove', 2, 'napiFunction'],
  ['raw add+remove', 2, 'napiFunction'],
  ['batch add+remove', 2 / 1024, 'napiFunction'],
  ['getSession(id), 20k cached, live', 1, 'napiFunction'],
  ['getSession(id), 20k cached, new', 2, 'napiFunction'],
  ['sessions() of 20k, per entry', 2 / 20000, 'napiFunction'],
  ['toDERInto', 1, 'ourMethod'],
  ['toDER', 1, 'ourMethod'],
  ['fromDER', 1, 'napiFunction'],
];

function floorTable(rows) {
  const b0 = {};
  for (const r of rows) {
    if (r.id !== 'B0') continue;
    if (r.what.includes('empty N-API function')) b0.napiFunction = r.ours;
    else if (r.what.includes('SslContextHandle.freed()')) b0.ourMethod = r.ours;
  }
  const out = [];
  for (const r of rows) {
    if (!['B1', 'B2', 'B3'].includes(r.id) || typeof r.ours !== 'number' || typeof r.baseline !== 'number' || !r.short) continue;
    const f = FLOOR_CALLS.find(([prefix]) => r.short.startsWith(prefix));
    if (!f || b0[f[2]] === undefined) continue;
    const ours = 1e9 / r.ours;
    const c = 1e9 / r.baseline;
    const calls = f[1] * b0[f[2]];
    const floor = c + calls;
    out.push(`| ${r.id} | ${r.short} | ${ours.toFixed(0)} | ${c.toFixed(0)} | ${calls.toFixed(calls < 1 ? 2 : 0)} | ${floor.toFixed(0)} | ${(ours - floor).toFixed(0)} | ${(floor / ours).toFixed(2)} |`);
  }
  if (out.length === 0) return [];
  return [
    'Distance from the floor (B1–B3): time per operation, ns. floor = C\'s time + the N-API calls the operation',
    'must make (count × the B0 row: an empty N-API function for the static slot paths and fromDER, our wrapped',
    'method for toDER); above floor = ours − floor, the binding\'s own work; floor ÷ ours = the best ratio this',
    'design allows against the measured ours (1.00 = at the floor). C and ours from the same run; B0 from the table.',
    '',
    '| id | benchmark | ours ns/op | C ns/op | N-API calls ns/op | floor ns/op | above floor ns/op | floor ÷ ours |',
    '|---|---|---|---|---|---|---|---|',
    ...out,
    '',
  ];
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function svg(meta, rows) {
  const bars = rows.filter((r) => r.ratio !== undefined);
  const W = 1080;
  const left = 400;
  const right = 40;
  const rowH = 26;
  const top = 70;
  const H = top + bars.length * rowH + 70;
  const maxV = Math.max(1.2, ...bars.map((r) => Math.max(r.max, r.target ?? 0))) * 1.05;
  const x = (v) => left + ((W - left - right) * v) / maxV;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">openssl-session-cache: ratio to baseline (ours ÷ baseline), median of rounds</text>`);
  out.push(`<text x="${W / 2}" y="44" text-anchor="middle" fill="#555">${esc(`${meta.cpu}, ${meta.cores} cores · Node ${meta.node} · ${meta.openssl} · ${meta.date.slice(0, 10)} · ${meta.mode}`)}</text>`);
  // grid
  for (let v = 0; v <= maxV + 1e-9; v += maxV > 3 ? 0.5 : 0.25) {
    out.push(`<line x1="${x(v).toFixed(1)}" y1="${top - 6}" x2="${x(v).toFixed(1)}" y2="${top + bars.length * rowH}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${x(v).toFixed(1)}" y="${top + bars.length * rowH + 16}" text-anchor="middle" fill="#555">${v.toFixed(2)}×</text>`);
  }
  bars.forEach((r, i) => {
    const y = top + i * rowH;
    const ok = r.target === undefined ? null : r.dir < 0 ? r.ratio <= r.target : r.ratio >= r.target;
    const color = ok === null ? '#8c9bab' : ok ? '#3a9a5b' : '#d0453b';
    const label = `${r.id} ${r.short ?? r.what}`;
    out.push(`<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(label.length > 52 ? label.slice(0, 50) + '…' : label)}</text>`);
    out.push(`<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(r.ratio) - left).toFixed(1)}" height="${rowH - 9}" fill="${color}"/>`);
    // min–max whisker
    out.push(`<line x1="${x(r.min).toFixed(1)}" y1="${y + rowH / 2}" x2="${x(r.max).toFixed(1)}" y2="${y + rowH / 2}" stroke="#222" stroke-width="1.2"/>`);
    if (r.target !== undefined) {
      out.push(`<line x1="${x(r.target).toFixed(1)}" y1="${y + 1}" x2="${x(r.target).toFixed(1)}" y2="${y + rowH - 2}" stroke="#111" stroke-width="2.5" stroke-dasharray="3,2"/>`);
    }
    out.push(`<text x="${(x(r.ratio) + 4).toFixed(1)}" y="${y + 16}" fill="#222" font-weight="bold">${r.ratio.toFixed(2)}</text>`);
  });
  const ly = top + bars.length * rowH + 36;
  const lx = 60;
  out.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="#3a9a5b"/><text x="${lx + 16}" y="${ly + 10}">target met</text>`);
  out.push(`<rect x="${lx + 100}" y="${ly}" width="12" height="12" fill="#d0453b"/><text x="${lx + 116}" y="${ly + 10}">target missed</text>`);
  out.push(`<rect x="${lx + 220}" y="${ly}" width="12" height="12" fill="#8c9bab"/><text x="${lx + 236}" y="${ly + 10}">reported only</text>`);
  out.push(`<line x1="${lx + 340}" y1="${ly - 1}" x2="${lx + 340}" y2="${ly + 13}" stroke="#111" stroke-width="2.5" stroke-dasharray="3,2"/><text x="${lx + 346}" y="${ly + 10}">target (B7: lower is better)</text>`);
  out.push(`<line x1="${lx + 520}" y1="${ly + 6}" x2="${lx + 545}" y2="${ly + 6}" stroke="#222"/><text x="${lx + 550}" y="${ly + 10}">min–max over rounds</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
