'use strict';
// Terminates workers while they spin in one hot addon call. workers.js terminates
// busy workers at a random point of a mixed workload, so a race in one call shows up once in
// a few hundred rounds; here each worker calls one operation in a tight loop, so
// worker.terminate() nearly always lands inside that call. Round i uses OPS[i % OPS.length].
//
//   node scripts/lib/terminate-hot.js [--rounds 40] [--seed 1] [--op toDER|...]
//
// Prints HOT-RESULT {json} and exits 0 when every worker was terminated after it reported
// 'ready' (the loop never ends by itself). The main thread waits on worker events only.
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { load, compiledDist } = require('./load');

const OPS = ['toDER', 'toPEM', 'list', 'get', 'create', 'fromDER', 'context', 'handshake'];

function workerMain() {
  const { op, cert, key } = workerData;
  const { SslContext, SslSession, handshake } = load();
  const server = new SslContext({ cert, key, noTicket: true, sessionIdContext: 'hot', sessionCacheSize: 64 });
  const client = new SslContext({ role: 'client' });
  server.on('removeSession', (s) => s.free());
  const id = (i) => Buffer.from(`hot-${i}`.padEnd(32, '.'));
  for (let i = 0; i < 16; i++) {
    const s = SslSession.create({ id: id(i), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, i) });
    server.addSession(s);
    s.free();
  }
  const session = SslSession.create({ id: id(99), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 7) });
  const der = session.toDER();
  const calls = {
    toDER: () => session.toDER(),
    toPEM: () => session.toPEM(),
    list: () => server.sessions().forEach((s) => s.free()),
    get: () => server.getSession(id(3)).free(),
    create: () => SslSession.create({ id: id(100), cipher: 'AES128-SHA' }).free(),
    fromDER: () => SslSession.fromDER(der).free(),
    context: () => new SslContext({ sessionCacheSize: 4 }).free(),
    handshake: () => {
      const h = handshake(client, server);
      h.clientSession.free();
      h.serverSession.free();
    },
  };
  const call = calls[op];
  parentPort.postMessage('ready');
  for (;;) call();
}

async function main() {
  const arg = (n, d) => (process.argv.includes(n) ? Number(process.argv[process.argv.indexOf(n) + 1]) : d);
  const rounds = arg('--rounds', 40);
  const seed = arg('--seed', 1);
  const only = process.argv.includes('--op') ? process.argv[process.argv.indexOf('--op') + 1] : undefined;
  process.env.OSC_DIST = compiledDist();
  const { generateSelfSigned } = load();
  const pki = generateSelfSigned({ commonName: 'localhost', bits: 1024, days: 2 });
  const result = { ok: true, rounds: 0, terminated: 0, byOp: {}, errors: [] };
  for (let i = 0; i < rounds; i++) {
    const op = only || OPS[(i + seed) % OPS.length];
    const outcome = await new Promise((resolve) => {
      const w = new Worker(__filename, { workerData: { op, cert: pki.cert, key: pki.key } });
      let ready = false;
      w.on('message', (m) => {
        if (m === 'ready') {
          ready = true;
          w.terminate();
        }
      });
      w.on('error', (e) => resolve({ error: String(e && e.stack ? e.stack : e) }));
      w.on('exit', (code) => resolve({ code, ready }));
    });
    result.rounds++;
    if (outcome.error || !outcome.ready || outcome.code !== 1) {
      result.ok = false;
      result.errors.push(`round ${i} (${op}): ${outcome.error || `exit ${outcome.code}, ready ${outcome.ready}`}`);
    } else {
      result.terminated++;
      result.byOp[op] = (result.byOp[op] || 0) + 1;
    }
  }
  console.log(`HOT-RESULT ${JSON.stringify(result)}`);
  process.exit(result.ok ? 0 : 1);
}

if (!isMainThread) workerMain();
else if (require.main === module) {
  main().catch((e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  });
}
