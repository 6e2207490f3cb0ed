'use strict';
// B9's node:cluster part, forked by bench/b9_redis.js: this process is the cluster primary
// and holds ClusterSessionStore.primary(); its workers run `b9_redis.js --server` (the same
// servers as B9's other rows) with mode 'cluster', each server on a port of its own.
// Answers b9_redis.js's commands as its server child does, relaying them to the workers of
// a group (start also takes `workers`); 'cpu' adds the primary's own CPU time.
// argv: cert.pem key.pem redisPort (passed on to the workers).
const cluster = require('cluster');
const path = require('path');
const { ClusterSessionStore } = require(path.join(__dirname, '..', 'dist', 'index.js'));

const primary = ClusterSessionStore.primary({ maxEntries: 100000 });
cluster.setupPrimary({ exec: path.join(__dirname, 'b9_redis.js'), args: ['--server', ...process.argv.slice(2)] });
const groups = new Map(); // name → workers
let seq = 0;

/** one command to one worker; resolves with its reply */
function askWorker(worker, cmd, fields = {}) {
  return new Promise((resolve, reject) => {
    const s = `b9-${++seq}`; // a string: the store's requests carry numeric seqs of their own
    const on = (m) => {
      if (!m || m.seq !== s) return;
      worker.off('message', on);
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    };
    worker.on('message', on);
    worker.send({ cmd, seq: s, ...fields });
  });
}

function forkWorker() {
  const w = cluster.fork();
  return new Promise((resolve, reject) => {
    w.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
    const on = (m) => {
      if (!m || !m.ready) return;
      w.off('message', on);
      resolve(w);
    };
    w.on('message', on);
  });
}

const all = (name, cmd, fields) => Promise.all(groups.get(name).map((w) => askWorker(w, cmd, { name, ...fields })));

async function handle(m) {
  if (m.cmd === 'start') {
    const workers = [];
    for (let i = 0; i < (m.workers || 1); i++) workers.push(await forkWorker());
    groups.set(m.name, workers);
    const replies = await all(m.name, 'start', { mode: 'cluster', count: m.count });
    return { ports: replies.flatMap((r) => r.ports) };
  }
  if (m.cmd === 'flush') {
    await all(m.name, 'flush');
    return {};
  }
  if (m.cmd === 'cpu') {
    // the primary's time before and after the relay: a round counts neither relay
    const u0 = process.cpuUsage();
    const replies = await all(m.name, 'cpu');
    const u1 = process.cpuUsage();
    return { us: replies.reduce((a, r) => a + r.us, 0), primaryUsBefore: u0.user + u0.system, primaryUsAfter: u1.user + u1.system };
  }
  if (m.cmd === 'counts') {
    const replies = await all(m.name, 'counts');
    return {
      stored: replies.reduce((a, r) => a + r.stored, 0),
      errors: replies.reduce((a, r) => a + r.errors, 0),
      hits: replies.flatMap((r) => r.hits),
      cached: replies.flatMap((r) => r.cached),
      primaryEntries: primary.size,
    };
  }
  if (m.cmd === 'stopAll') {
    for (const [name, workers] of groups) {
      await all(name, 'stopAll');
      await Promise.all(
        workers.map((w) => {
          w.removeAllListeners('exit');
          const gone = new Promise((r) => w.once('exit', r));
          w.disconnect(); // the worker exits on 'disconnect'
          return gone;
        }),
      );
    }
    groups.clear();
    return {};
  }
  throw new Error(`unknown command ${m.cmd}`);
}

process.on('message', (m) => {
  handle(m).then(
    (fields) => process.send({ seq: m.seq, ...fields }),
    (e) => process.send({ seq: m.seq, error: String(e && e.stack) }),
  );
});
process.on('disconnect', () => {
  for (const w of Object.values(cluster.workers ?? {})) if (w) w.kill('SIGKILL');
  primary.close();
  process.exit(0);
});
process.send({ ready: true });
