'use strict';
// B11: HTTP through our servers vs Node's own, the same node client for both.
//   - keep-alive requests/s, HTTP/1.1: createHttpsServer vs node:https (client: an
//     https.Agent with keepAlive, `concurrency` sockets, each sending its next request when
//     the previous response has ended);
//   - keep-alive requests/s, HTTP/2: createHttp2SecureServer vs node:http2 (client: one
//     http2.connect session, `concurrency` streams in flight);
//   - a new TLS connection per request (Connection: close / one h2 session per request),
//     resumed (the client offers the session of its previous connection) and full.
// Every response is written in two writes after its headers, as Express does
// (setHeader, write(a), end(b)): the pattern that stalls on Nagle + delayed ACK when the
// accepted socket has no TCP_NODELAY. Both servers run with their defaults (node:https
// resumes by ticket, ours by session id from its OpenSSL cache); the client is a node
// process with maxVersion TLSv1.2 and one cipher (ECDHE-RSA-AES128-GCM-SHA256).
// The server samples its RSS every 50 ms; each trial reports the peak, and the server's CPU
// time (process.cpuUsage, all threads) per request over the client's timed run (the client
// prints "start" after its warm-up) — a figure the load of other processes on the machine
// moves far less than requests/s.
//
// Child modes: node bench/b11_http.js server|client '<json>'
const { spawn } = require('child_process');
const path = require('path');

const CIPHER = 'ECDHE-RSA-AES128-GCM-SHA256';
const PART_A = Buffer.from(`{"items":[${'"abcdefgh",'.repeat(20)}`);
const PART_B = Buffer.from(`"end"]}\n`);
const BODY_LENGTH = PART_A.length + PART_B.length;
const now = () => Number(process.hrtime.bigint()) / 1e9;

// ---------------------------------------------------------------- server child
async function server(a) {
  const fs = require('fs');
  const cert = fs.readFileSync(a.cert);
  const key = fs.readFileSync(a.key);
  const handler = (req, res) => {
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.write(PART_A);
    res.end(PART_B);
  };
  let srv;
  if (a.impl === 'nativeHttps') {
    // createHttpsServer on the native connection path (ALPN http/1.1, node:http per NativeTlsSocket)
    const lib = require(path.join(__dirname, '..', 'dist'));
    srv = lib.createHttpsServer({ cert, key, connectionPath: 'native' }, handler);
  } else if ((a.impl === 'native' || a.impl === 'nativeNagle') && a.proto === 'h2') {
    // createHttp2SecureServer on the native connection path (node:http2 over each NativeTlsSocket);
    // nativeNagle: without TCP_NODELAY (noDelay: false), to show what the option is worth
    const lib = require(path.join(__dirname, '..', 'dist'));
    srv = lib.createHttp2SecureServer({ cert, key, connectionPath: 'native', ...(a.impl === 'nativeNagle' ? { noDelay: false } : {}) }, handler);
  } else if (a.impl === 'native') {
    // HTTP/1.1 over the experimental native connection path: node:http given each
    // NativeTlsSocket by hand (a plain createServer, no ALPN configured)
    const lib = require(path.join(__dirname, '..', 'dist'));
    const h1 = require('http').createServer(handler);
    srv = lib.createServer({ cert, key, noDelay: true, connectionPath: 'native' });
    srv.on('secureConnection', (socket) => h1.emit('connection', socket));
  } else if (a.impl === 'ours') {
    const lib = require(path.join(__dirname, '..', 'dist'));
    const o = { cert, key, ...(a.path ? { connectionPath: a.path } : {}) };
    srv = a.proto === 'h2' ? lib.createHttp2SecureServer(o, handler) : lib.createHttpsServer(o, handler);
  } else {
    srv = a.proto === 'h2' ? require('http2').createSecureServer({ cert, key }, handler) : require('https').createServer({ cert, key }, handler);
  }
  srv.on('tlsClientError', () => {});
  let peak = process.memoryUsage.rss();
  setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50).unref();
  process.on('message', () => {
    const rss = process.memoryUsage.rss();
    const cpu = process.cpuUsage();
    process.send({ peakRss: Math.max(peak, rss), rss, cpuUs: cpu.user + cpu.system });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  process.send({ port: srv.address().port });
}

// ---------------------------------------------------------------- client child
const tlsOptions = (a) => ({ host: '127.0.0.1', port: a.port, ciphers: CIPHER, maxVersion: 'TLSv1.2', rejectUnauthorized: false });

function readBody(stream) {
  return new Promise((resolve, reject) => {
    let n = 0;
    stream.on('data', (d) => (n += d.length));
    stream.on('end', () => (n === BODY_LENGTH ? resolve() : reject(new Error(`body of ${n} bytes, expected ${BODY_LENGTH}`))));
    stream.on('error', reject);
  });
}

/** `concurrency` loops of `once()` until `ms` have passed or `max` requests were made */
async function loops(a, once) {
  const warm = a.warm ?? 5;
  for (let i = 0; i < warm; i++) await once(); // warm-up (JIT, session caches, connections)
  process.stdout.write('start\n');
  let count = 0;
  let reused = 0;
  let stop = false;
  const t0 = now();
  const cpu0 = process.cpuUsage();
  const loop = async () => {
    while (!stop) {
      const r = await once();
      count++;
      if (r && r.reused) reused++;
      if ((now() - t0) * 1000 >= a.ms || count >= a.max) stop = true;
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, loop));
  const seconds = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // the client's own CPU per request over the timed run: the bound a server cannot move
  return { ops: count, warm, reused, seconds, perSec: count / seconds, clientCpuPerRequest: (cpu.user + cpu.system) / count };
}

async function client(a) {
  const https = require('https');
  const http2 = require('http2');
  const tls = require('tls');
  if (a.mode === 'keepalive' && a.proto === 'h1') {
    const agent = new https.Agent({ keepAlive: true, maxSockets: a.concurrency, ...tlsOptions(a) });
    const once = () =>
      new Promise((resolve, reject) => {
        const req = https.get({ agent, host: '127.0.0.1', port: a.port, path: '/' }, (res) => readBody(res).then(resolve, reject));
        req.on('error', reject);
      });
    const r = await loops(a, once);
    agent.destroy();
    return r;
  }
  if (a.mode === 'keepalive' && a.proto === 'h2') {
    const session = http2.connect(`https://127.0.0.1:${a.port}`, tlsOptions(a));
    session.on('error', () => {});
    const once = () =>
      new Promise((resolve, reject) => {
        const req = session.request({ ':path': '/' });
        req.on('error', reject);
        readBody(req).then(resolve, reject);
        req.end();
      });
    const r = await loops(a, once);
    session.close();
    return r;
  }
  // a new TLS connection per request; resumed: offer the session of the previous one
  let last;
  const connect = (alpn) => () => {
    const s = tls.connect({ ...tlsOptions(a), ALPNProtocols: [alpn], session: a.mode === 'resumed' ? last : undefined });
    s.on('session', (d) => (last = d));
    return s;
  };
  const once =
    a.proto === 'h1'
      ? () =>
          new Promise((resolve, reject) => {
            let socket;
            const req = https.get({ host: '127.0.0.1', port: a.port, path: '/', createConnection: (...x) => (socket = connect('http/1.1')(...x)) }, (res) => {
              readBody(res).then(() => {
                const reused = socket.isSessionReused();
                if (socket.destroyed) resolve({ reused });
                else socket.once('close', () => resolve({ reused }));
              }, reject);
            });
            req.on('error', reject);
          })
      : () =>
          new Promise((resolve, reject) => {
            let socket;
            const session = http2.connect(`https://127.0.0.1:${a.port}`, { createConnection: () => (socket = connect('h2')()) });
            session.on('error', reject);
            const req = session.request({ ':path': '/' });
            req.on('error', reject);
            readBody(req).then(() => {
              const reused = socket.isSessionReused();
              session.close(() => resolve({ reused }));
            }, reject);
            req.end();
          });
  return loops(a, once);
}

// ---------------------------------------------------------------- parent side (bench/run.js)
/** the client child's JSON result; onStart() when it prints "start" (its timed run begins) */
function childJson(args, timeoutMs, onStart) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d) => {
      const seen = out.includes('start\n');
      out += d;
      if (!seen && out.includes('start\n')) onStart();
    });
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`B11 client exited ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

/** one trial: a server child (impl, proto), the client child against it, the server's peak RSS */
async function trial(F, impl, proto, c, serverPath) {
  const child = spawn(process.execPath, [__filename, 'server', JSON.stringify({ cert: F.cert, key: F.key, impl, proto, path: serverPath })], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise((resolve, reject) => {
      child.once('message', (m) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`B11 ${impl} ${proto} server exited ${code}`)));
    });
    const stats = () =>
      new Promise((resolve) => {
        child.once('message', resolve);
        child.send('stats');
      });
    let before;
    const r = await childJson(['client', JSON.stringify({ ...c, proto, port })], c.ms + 60000, () => (before = stats()));
    const mem = await stats();
    mem.cpuPerRequest = (mem.cpuUs - (await before).cpuUs) / r.ops;
    if (c.mode === 'resumed' && r.reused < r.ops) throw new Error(`B11 ${impl} ${proto}: only ${r.reused}/${r.ops} resumed`);
    if (c.mode === 'full' && r.reused > 0) throw new Error(`B11 ${impl} ${proto}: ${r.reused} resumed in a full-handshake run`);
    return { ...r, ...mem };
  } finally {
    child.kill('SIGKILL');
  }
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** the medians of `field` over paired trials (ours `o`, node `b`) and of their per-round ratios */
function paired(o, b, field) {
  const r = o.map((x, i) => x[field] / b[i][field]);
  return { ours: median(o.map((x) => x[field])), baseline: median(b.map((x) => x[field])), ratio: median(r), min: Math.min(...r), max: Math.max(...r) };
}

const NAMES = { h1: ['HTTP/1.1', 'createHttpsServer', 'node:https'], h2: ['HTTP/2', 'createHttp2SecureServer', 'node:http2'] };

/** rows for bench/run.js: `ms` per trial, `rounds` rounds of ours and node (and node again, the A/A control, for a row with a target) in rotating order */
async function b11({ F, ms, rounds, quick, log }) {
  const max = 200000;
  const cases = [
    { proto: 'h1', mode: 'keepalive', concurrency: 1, target: 1.0 },
    { proto: 'h1', mode: 'keepalive', concurrency: 8, target: 1.0 },
    { proto: 'h2', mode: 'keepalive', concurrency: 1, target: 1.0 },
    { proto: 'h2', mode: 'keepalive', concurrency: 8, target: 1.0 },
    { proto: 'h1', mode: 'resumed', concurrency: 1, target: 1.3 }, // issue 29: ≥ 1.3× node:https (issue 20: ≥ 1.0×)
    { proto: 'h1', mode: 'full', concurrency: 1 },
    { proto: 'h2', mode: 'resumed', concurrency: 1, target: 1.0 },
    { proto: 'h2', mode: 'full', concurrency: 1 },
  ];
  const rows = [];
  const rss = { h1: { ours: [], node: [] }, h2: { ours: [], node: [] } };
  for (const k of cases) {
    const [protoName, ours, node] = NAMES[k.proto];
    const c = { mode: k.mode, concurrency: k.concurrency, ms, max, warm: quick ? 3 : 5 };
    const o = [];
    const b = [];
    // a row with a target also times node's server against itself (A/A) in the same rounds:
    // how far from 1.0 this harness puts two identical servers on this machine, beside the row
    const a = [];
    const slots = k.target === undefined ? ['ours', 'node'] : ['ours', 'node', 'control'];
    for (let i = 0; i < rounds; i++) {
      const order = slots.map((_, j) => slots[(i + j) % slots.length]);
      const got = {};
      for (const slot of order) got[slot] = await trial(F, slot === 'control' ? 'node' : slot, k.proto, c);
      o.push(got.ours);
      b.push(got.node);
      if (got.control) a.push(got.control);
      rss[k.proto].ours.push(got.ours.peakRss);
      rss[k.proto].node.push(got.node.peakRss);
    }
    const how =
      k.mode === 'keepalive'
        ? `keep-alive, ${k.concurrency === 1 ? 'sequential requests on 1 connection' : k.proto === 'h1' ? `${k.concurrency} connections` : `${k.concurrency} concurrent streams on 1 session`}`
        : `a new TLS connection per request, ${k.mode === 'resumed' ? 'resumed (the previous session offered)' : 'full handshakes'}`;
    const row = {
      id: 'B11',
      what: `${protoName} requests/s, ${how}, two-write responses: ${ours} vs ${node}`,
      short: `${k.proto} ${k.mode === 'keepalive' ? `keep-alive c=${k.concurrency}` : `new conn/request, ${k.mode}`} vs ${node}`,
      unit: 'req/s',
      ...paired(o, b, 'perSec'),
      target: k.target,
      reported: k.target === undefined,
      dir: 1,
    };
    const cpuRow = {
      id: 'B11',
      what: `${protoName} server CPU per request (user+system, all threads), ${how}: ${ours} vs ${node} (lower is better)`,
      short: `${k.proto} ${k.mode === 'keepalive' ? `keep-alive c=${k.concurrency}` : `new conn/request, ${k.mode}`}, CPU/request vs ${node}`,
      unit: 'µs CPU',
      ...paired(o, b, 'cpuPerRequest'),
      reported: true,
      dir: -1,
    };
    log(
      `B11 ${row.short}: ours ${row.ours.toFixed(0)} node ${row.baseline.toFixed(0)} req/s, ratio ${row.ratio.toFixed(3)} (${row.min.toFixed(3)}–${row.max.toFixed(3)}); ` +
        `requests per trial ours ${o.map((x) => x.ops).join('/')} node ${b.map((x) => x.ops).join('/')}; ` +
        `server CPU/request ours ${cpuRow.ours.toFixed(0)} µs node ${cpuRow.baseline.toFixed(0)} µs, ratio ${cpuRow.ratio.toFixed(3)} (${cpuRow.min.toFixed(3)}–${cpuRow.max.toFixed(3)})`,
    );
    rows.push(row, cpuRow);
    if (a.length > 0) {
      const control = {
        id: 'B11',
        what: `${protoName} A/A control, ${how}: ${node} vs ${node} (two trials of the same server in the rounds above; a ratio this far from 1.0 is this machine's noise)`,
        short: `${k.proto} ${k.mode === 'keepalive' ? `keep-alive c=${k.concurrency}` : `new conn/request, ${k.mode}`}, A/A control ${node} vs ${node}`,
        unit: 'req/s',
        ...paired(a, b, 'perSec'),
        reported: true,
        dir: 1,
      };
      log(`B11 ${control.short}: ratio ${control.ratio.toFixed(3)} (${control.min.toFixed(3)}–${control.max.toFixed(3)})`);
      rows.push(control);
    }
    if (k.mode === 'resumed') {
      // a new connection per request, one at a time: the node client's CPU per request is
      // most of each request's time (bench/NOTES.md, "Client-bound rows")
      const clientRow = {
        id: 'B11',
        what: `${protoName} client CPU per request (the node client process, user+system), ${how}: against ${ours} vs against ${node}`,
        short: `${k.proto} new conn/request, resumed, client CPU/request`,
        unit: 'µs CPU',
        ...paired(o, b, 'clientCpuPerRequest'),
        reported: true,
        dir: -1,
      };
      log(`B11 ${clientRow.short}: against ours ${clientRow.ours.toFixed(0)} µs, against node ${clientRow.baseline.toFixed(0)} µs; time per request ours ${(1e6 / row.ours).toFixed(0)} µs node ${(1e6 / row.baseline).toFixed(0)} µs`);
      rows.push(clientRow);
    }
  }
  for (const proto of ['h1', 'h2']) {
    const [protoName, ours, node] = NAMES[proto];
    const x = rss[proto];
    const r = x.ours.map((v, i) => v / x.node[i]);
    rows.push({
      id: 'B11',
      what: `server peak RSS per ${protoName} trial (sampled every 50 ms, all ${protoName} trials above): ${ours} vs ${node} (lower is better)`,
      short: `${proto} server peak RSS vs ${node}`,
      unit: 'MiB',
      ours: median(x.ours) / 2 ** 20,
      baseline: median(x.node) / 2 ** 20,
      ratio: median(r),
      min: Math.min(...r),
      max: Math.max(...r),
      reported: true,
      dir: -1,
    });
  }
  return rows;
}

/** rows of the native connection path, in one run, rotating order; logs each case's medians
 * and ratios. HTTP/1.1: ours (TLSSocket), node:https, ours on the native path (createServer
 * + node:http by hand) and createHttpsServer on the native path. HTTP/2:
 * createHttp2SecureServer on the node path (TLSSocket), node:http2, and
 * createHttp2SecureServer on the native path. */
async function b11Native({ F, ms, rounds, log, protos = ['h1', 'h2'], nagle = false }) {
  const cases = [
    { mode: 'keepalive', concurrency: 1 },
    { mode: 'keepalive', concurrency: 8 },
    { mode: 'resumed', concurrency: 1 },
    { mode: 'full', concurrency: 1 },
  ];
  const out = [];
  for (const proto of protos) {
    const impls = proto === 'h1' ? ['ours', 'node', 'native', 'nativeHttps'] : ['ours', 'node', 'native', ...(nagle ? ['nativeNagle'] : [])];
    for (const k of cases) {
      const c = { mode: k.mode, concurrency: k.concurrency, ms, max: 200000, warm: 5 };
      const got = Object.fromEntries(impls.map((x) => [x, []]));
      for (let i = 0; i < rounds; i++) {
        const order = impls.slice(i % impls.length).concat(impls.slice(0, i % impls.length));
        // 'ours' is the TLSSocket path whatever OPENSSL_SESSION_CACHE_CONNECTION_PATH says
        for (const impl of order) got[impl].push(await trial(F, impl, proto, c, impl === 'ours' ? 'node' : undefined));
      }
      const med = (impl, f) => median(got[impl].map(f));
      const ratio = (base, f, of = 'native') => median(got[of].map((x, i) => f(x) / f(got[base][i])));
      const range = (base, f, of = 'native') => {
        const r = got[of].map((x, i) => f(x) / f(got[base][i]));
        return `${Math.min(...r).toFixed(3)}–${Math.max(...r).toFixed(3)}`;
      };
      const perSec = (x) => x.perSec;
      const cpu = (x) => x.cpuPerRequest;
      const name = `${proto} ${k.mode === 'keepalive' ? `keep-alive c=${k.concurrency}` : `new conn/request, ${k.mode}`}`;
      const nodeName = proto === 'h1' ? 'node:https' : 'node:http2';
      let line =
        `B11 native ${name}: req/s native ${med('native', perSec).toFixed(0)}, ours ${med('ours', perSec).toFixed(0)}, ${nodeName} ${med('node', perSec).toFixed(0)}; ` +
        `native/ours ${ratio('ours', perSec).toFixed(3)} (${range('ours', perSec)}), native/node ${ratio('node', perSec).toFixed(3)} (${range('node', perSec)}), ours/node ${ratio('node', perSec, 'ours').toFixed(3)}; `;
      if (proto === 'h1') {
        line += `createHttpsServer native ${med('nativeHttps', perSec).toFixed(0)} req/s, /node ${ratio('node', perSec, 'nativeHttps').toFixed(3)}, /ours ${ratio('ours', perSec, 'nativeHttps').toFixed(3)}; `;
      }
      line +=
        `CPU µs/request native ${med('native', cpu).toFixed(0)}${proto === 'h1' ? `, createHttpsServer native ${med('nativeHttps', cpu).toFixed(0)}` : ''}, ours ${med('ours', cpu).toFixed(0)}, node ${med('node', cpu).toFixed(0)}; ` +
        `CPU native/node ${ratio('node', cpu).toFixed(3)} (${range('node', cpu)})`;
      if (got.nativeNagle) {
        line += `; native without TCP_NODELAY ${med('nativeNagle', perSec).toFixed(0)} req/s, /node ${ratio('node', perSec, 'nativeNagle').toFixed(3)}, CPU µs/request ${med('nativeNagle', cpu).toFixed(0)}`;
      }
      log(line);
      out.push({ name, got });
    }
  }
  return out;
}

module.exports = { b11, b11Native };

if (require.main === module) {
  const [mode, json] = process.argv.slice(2);
  const a = JSON.parse(json || '{}');
  if (mode === 'server') {
    server(a).catch((e) => {
      console.error(e);
      process.exit(1);
    });
  } else if (mode === 'client') {
    client(a).then(
      (r) => {
        process.stdout.write(JSON.stringify(r) + '\n');
        process.exit(0);
      },
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  } else if (mode === 'native') {
    // node bench/b11_http.js native '{"ms":2000,"rounds":3,"protos":["h2"],"nagle":true}' (fixtures: bench/.build, as bench/run.js makes them)
    const dir = path.join(__dirname, '.build');
    const F = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
    b11Native({ F, ms: a.ms ?? 2000, rounds: a.rounds ?? 3, protos: a.protos, nagle: a.nagle, log: (m) => console.log(m) }).catch((e) => {
      console.error(e);
      process.exit(1);
    });
  } else {
    console.error('usage: node bench/b11_http.js server|client|native <json>');
    process.exit(2);
  }
}
