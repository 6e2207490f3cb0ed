'use strict';
// Worker-thread stress for the addon. Run as a program in its own process:
//
//   node scripts/lib/workers.js [--workers 4] [--ops 20000] [--full-rounds 2]
//                               [--terminate-rounds 3] [--seed 1] [--terminate-mode idle|busy]
//
// Full rounds: N workers run concurrently, each with its own server + client SslContext,
// doing `ops` operations chosen by a seeded PRNG: create+add, remove (cached and not),
// lookups, in-process handshakes (full and resumed), and DER exchange — every worker posts
// DER-encoded sessions to the next one in a ring (MessageChannel, postMessage) and adds the
// ones it receives. Each worker keeps a model of its FIFO cache and checks every return
// value, every event and, at the end, the exact counters; the main thread checks the
// totals across workers (DER sent by worker i == DER received by worker i+1).
// Terminate rounds: workers are terminated with their contexts, cached sessions, session
// objects and ring ports still alive — 'idle' (default): while waiting in their event loop;
// 'busy': while calling into the addon in a loop — then fresh workers load the addon again.
// Meanwhile the main thread keeps using its own contexts. Prints one JSON line
// (`WORKERS-RESULT {...}`) and exits 0 when everything held, 1 otherwise.
const { Worker, isMainThread, parentPort, workerData, MessageChannel } = require('worker_threads');
const { load, compiledDist } = require('./load');

// ---- shared ----------------------------------------------------------------------------
function rng(seed) {
  let x = (seed * 2654435761) >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

// ---- worker ----------------------------------------------------------------------------
async function workerMain() {
  const { index, round, ops, seed, cert, key, terminating, derEvery, port: ringIn, next: ringOut } = workerData;
  const { SslContext, SslSession, handshake } = load();
  const rand = rng(seed + index * 7919 + round * 104729);
  const fail = (msg) => {
    throw new Error(`worker ${index} round ${round}: ${msg}`);
  };
  const CACHE = 48;
  const server = new SslContext({ cert, key, noTicket: true, sessionIdContext: `w${index}`, sessionCacheSize: CACHE });
  const client = new SslContext({ role: 'client' });
  const c = {
    ops: 0, added: 0, addedAgain: 0, removed: 0, removeMisses: 0, lookups: 0, evictions: 0,
    handshakes: 0, resumed: 0, misses: 0, newSessions: 0, derSent: 0, derReceived: 0, derAdded: 0, listChecks: 0,
  };
  const events = { evict: 0, remove: 0, handshake: 0, other: 0, new: 0 };
  // identity: an event carries the thread's one object of its session, which may be the
  // one a step has in hand (the step frees it itself)
  let inHand;
  server.on('removeSession', (s, why) => {
    if (why === 'evict') events.evict++;
    else if (why === 'remove') events.remove++;
    else if (why === 'handshake') events.handshake++; // found expired by a handshake (evictions are 'evict')
    else events.other++;
    if (s !== inHand) s.free();
  });
  server.on('newSession', (s) => {
    events.new++;
    if (s !== inHand) s.free();
  });
  // model: ids in insertion order, oldest first
  const model = [];
  const hex = (b) => b.toString('hex');
  const modelAdd = (id) => {
    model.push(hex(id));
    while (model.length > CACHE) {
      model.shift();
      c.evictions++;
    }
  };
  const modelHas = (id) => model.includes(hex(id));
  const modelRemove = (id) => model.splice(model.indexOf(hex(id)), 1);
  let counter = 0;
  const newId = () => {
    counter++;
    const b = Buffer.alloc(32);
    b[0] = 0xa0 + index;
    b[1] = round;
    b.writeUInt32BE(counter, 2);
    for (let i = 6; i < 32; i++) b[i] = (counter * 31 + i) & 0xff;
    return b;
  };
  const inbox = [];
  ringIn.on('message', (m) => inbox.push(Buffer.from(m)));
  const clientSessions = []; // sessions a client may offer again (its own reference each)
  const derTarget = Math.floor(ops / derEvery);

  const step = () => {
    const r = rand();
    if (r < 0.4) {
      const s = SslSession.create({ id: newId(), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, index) });
      if (server.addSession(s) !== true) fail('add of a new session returned false');
      if (server.addSession(s) !== false) fail('second add of the same object returned true');
      c.added++;
      c.addedAgain++;
      modelAdd(s.id);
      s.free();
    } else if (r < 0.6) {
      if (model.length > 0 && rand() < 0.8) {
        const id = Buffer.from(model[Math.floor(rand() * model.length)], 'hex');
        const s = (inHand = server.getSession(id));
        if (!s) fail('a modelled session is not cached');
        if (server.removeSession(s) !== true) fail('remove of a cached session returned false');
        modelRemove(id);
        c.removed++;
        if (s.resumable) fail('removed session still resumable');
        inHand = undefined;
        s.free();
      } else {
        const s = SslSession.create({ id: newId() });
        if (server.removeSession(s) !== false) fail('remove of an uncached session returned true');
        c.removeMisses++;
        s.free();
      }
    } else if (r < 0.75) {
      c.lookups++;
      const id = model.length > 0 && rand() < 0.7 ? Buffer.from(model[Math.floor(rand() * model.length)], 'hex') : newId();
      const s = server.getSession(id);
      if (!!s !== modelHas(id)) fail('lookup disagrees with the model');
      if (s) {
        if (!s.id.equals(id)) fail('lookup returned another id');
        s.free();
      }
    } else if (r < 0.985) {
      if (inbox.length > 0) {
        const der = inbox.shift();
        const s = SslSession.fromDER(der);
        c.derReceived++;
        if (server.addSession(s) !== true) fail('add of a received session returned false');
        c.derAdded++;
        modelAdd(s.id);
        s.free();
      } else if (c.derSent < derTarget && (c.ops % derEvery === 0 || rand() < 0.1)) {
        const s = SslSession.create({ id: newId(), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 0x40 + index), time: 1000 + c.ops, timeout: 1e6 });
        const der = s.toDER();
        s.free();
        ringOut.postMessage(der);
        c.derSent++;
      } else {
        const s = SslSession.create({ id: newId(), cipher: 'AES128-SHA' });
        const back = SslSession.fromDER(s.toDER());
        if (!back.id.equals(s.id)) fail('DER round trip changed the id');
        s.free();
        back.free();
      }
    } else {
      // handshake: resume one of our earlier client sessions, or a full one
      const offer = clientSessions.length > 0 && rand() < 0.6 ? clientSessions[clientSessions.length - 1 - Math.floor(rand() * rand() * clientSessions.length)] : undefined;
      const expectResume = offer !== undefined && modelHas(offer.id);
      const h = handshake(client, server, offer ? { session: offer } : undefined);
      c.handshakes++;
      if (h.resumed !== expectResume) fail(`handshake resumed=${h.resumed}, model expected ${expectResume}`);
      if (h.resumed) c.resumed++;
      else {
        if (offer) c.misses++;
        c.newSessions++;
        modelAdd(h.serverSession.id);
        if (clientSessions.length >= 8) clientSessions.shift().free();
        clientSessions.push(h.clientSession);
        h.clientSession = undefined;
      }
      // a resumed client session is the offered object itself (identity): still offered later
      if (h.clientSession && h.clientSession !== offer) h.clientSession.free();
      h.serverSession.free();
    }
    c.ops++;
    if (c.ops % 1000 === 0) {
      const list = server.sessions();
      const ids = list.map((s) => hex(s.id));
      list.forEach((s) => s.free());
      const expected = [...model].reverse();
      if (ids.join() !== expected.join()) fail(`list differs from the model at op ${c.ops}`);
      c.listChecks++;
    }
  };

  let announced = false;
  while (c.ops < ops) {
    for (let i = 0; i < 250 && c.ops < ops; i++) step();
    if (terminating === 'busy' && !announced && c.ops >= ops / 4) {
      announced = true;
      parentPort.postMessage({ type: 'terminate-me' }); // main terminates us while we keep going
    }
    await new Promise((r) => setImmediate(r)); // let ring messages in
  }
  if (terminating) {
    // 'idle': everything stays alive (contexts with cached sessions, queued events, client
    // sessions, ring ports) and the thread waits in its event loop; main terminates it.
    // 'busy': not terminated yet, keep calling into the addon until main does it.
    if (terminating === 'idle') {
      const extra = SslSession.create({ id: newId(), cipher: 'AES128-SHA' });
      server.addSession(extra); // a cached session with a live JS object
      parentPort.postMessage({ type: 'terminate-me' });
      await new Promise((r) => setTimeout(r, 30000));
    } else {
      for (let i = 0; i < 2000; i++) {
        step();
        await new Promise((r) => setImmediate(r));
      }
    }
    parentPort.postMessage({ type: 'not-terminated' });
    return;
  }
  // send the rest of our quota, then take every DER the previous worker sends (exactly derTarget)
  while (c.derSent < derTarget) {
    const s = SslSession.create({ id: newId(), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 0x40 + index) });
    ringOut.postMessage(s.toDER());
    s.free();
    c.derSent++;
  }
  // take every DER the previous worker sends (it sends exactly derTarget)
  for (let spins = 0; c.derReceived < derTarget && spins < 20000; spins++) {
    while (inbox.length > 0) {
      const s = SslSession.fromDER(inbox.shift());
      c.derReceived++;
      if (server.addSession(s) !== true) fail('add of a received session returned false');
      c.derAdded++;
      modelAdd(s.id);
      s.free();
    }
    if (c.derReceived < derTarget) await new Promise((r) => setTimeout(r, 1));
  }
  ringIn.close(); // everything arrived; lets this thread's event loop end
  // final exact checks against the model and the counters
  const st = server.stats;
  const checks = {
    count: [server.sessionCount, model.length],
    cacheFull: [st.cacheFull, c.evictions],
    // an eviction is reported as 'evict' also when a handshake's own insert caused it
    // (an insert into a full cache); the handshakes here never find an expired session, so
    // no 'handshake'
    evictEvents: [events.evict, c.evictions],
    handshakeEvents: [events.handshake, 0],
    removeEvents: [events.remove, c.removed],
    otherEvents: [events.other, 0],
    newEvents: [events.new, c.newSessions],
    hits: [st.hits, c.resumed],
    misses: [st.misses, c.misses],
    accept: [st.accept, c.handshakes],
    acceptGood: [st.acceptGood, c.handshakes],
    derSent: [c.derSent, derTarget],
  };
  for (const [k, [got, want]] of Object.entries(checks)) if (got !== want) fail(`${k}: got ${got}, expected ${want}`);
  clientSessions.forEach((s) => s.free());
  server.free();
  client.free();
  parentPort.postMessage({ type: 'done', counts: c, events });
}

// ---- main ------------------------------------------------------------------------------
async function main() {
  const arg = (n, d) => {
    const i = process.argv.indexOf(n);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  const N = arg('--workers', 4);
  const OPS = arg('--ops', 20000);
  const FULL = arg('--full-rounds', 2);
  const TERM = arg('--terminate-rounds', 3);
  const SEED = arg('--seed', 1);
  const mi = process.argv.indexOf('--terminate-mode');
  const terminateMode = mi > 0 ? process.argv[mi + 1] : 'idle';
  const result = await run({ workers: N, ops: OPS, fullRounds: FULL, terminateRounds: TERM, seed: SEED, terminateMode });
  console.log(`WORKERS-RESULT ${JSON.stringify(result)}`);
  process.exit(result.ok ? 0 : 1);
}

/** Runs the rounds in this process; resolves with a summary ({ ok, errors, ... }). */
async function run({ workers: N, ops: OPS, fullRounds: FULL, terminateRounds: TERM, seed: SEED = 1, terminateMode = 'idle' }) {
  process.env.OSC_DIST = compiledDist(); // workers load the same compiled tree
  const api = load();
  const pki = api.generateSelfSigned({ commonName: 'localhost', bits: 1024, days: 2 });
  const summary = { ok: true, errors: [], rounds: [], workersStarted: 0, workersTerminated: 0, workersCompleted: 0, mainOps: 0 };
  // the main thread keeps its own context busy while the workers run
  const mainCtx = new api.SslContext({ sessionCacheSize: 16 });
  mainCtx.on('removeSession', (s) => s.free());
  let mainRunning = true;
  const mainLoop = (async () => {
    let n = 0;
    while (mainRunning) {
      for (let i = 0; i < 50; i++) {
        const s = api.SslSession.create({ id: Buffer.from(`main-${n++}`.padEnd(32, '.')) });
        mainCtx.addSession(s);
        s.free();
        summary.mainOps++;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();

  const plan = [];
  // terminate rounds first and in between, so later full rounds load into fresh workers
  for (let i = 0; i < Math.max(FULL, TERM); i++) {
    if (i < TERM) plan.push('terminate');
    if (i < FULL) plan.push('full');
  }
  for (let round = 0; round < plan.length; round++) {
    const kind = plan[round];
    const ringPorts = Array.from({ length: N }, () => new MessageChannel());
    const outcome = await Promise.all(
      Array.from({ length: N }, (_, index) => {
        const inPort = ringPorts[index].port2; // we receive what index-1 sends
        const outPort = ringPorts[(index + 1) % N].port1;
        return new Promise((resolve) => {
          const w = new Worker(__filename, {
            workerData: {
              index, round, ops: kind === 'full' ? OPS : Math.max(400, OPS >> 2), seed: SEED, cert: pki.cert, key: pki.key,
              terminating: kind === 'terminate' ? terminateMode : false, derEvery: 200, port: inPort, next: outPort,
            },
            transferList: [inPort, outPort],
          });
          summary.workersStarted++;
          let done;
          let terminated = false;
          w.on('message', (m) => {
            if (m.type === 'terminate-me') {
              terminated = true;
              setTimeout(() => w.terminate(), Math.floor(index * 3));
            } else if (m.type === 'done') done = m;
            else if (m.type === 'not-terminated') done = m;
          });
          w.on('error', (e) => resolve({ index, error: String(e && e.stack ? e.stack : e) }));
          w.on('exit', (code) => resolve({ index, code, done, terminated }));
        });
      }),
    );
    const r = { round, kind, workers: [] };
    for (const o of outcome) {
      if (o.error) {
        summary.ok = false;
        summary.errors.push(`round ${round} (${kind}) worker ${o.index}: ${o.error}`);
        continue;
      }
      if (kind === 'full') {
        if (o.code !== 0 || !o.done || o.done.type !== 'done') {
          summary.ok = false;
          summary.errors.push(`round ${round} worker ${o.index}: exit ${o.code}, no result`);
        } else {
          summary.workersCompleted++;
          r.workers.push(o.done.counts);
        }
      } else {
        summary.workersTerminated++;
        if (!o.terminated || o.code !== 1) {
          summary.ok = false;
          summary.errors.push(`round ${round} worker ${o.index}: expected termination, exit ${o.code}`);
        }
      }
    }
    if (kind === 'full' && r.workers.length === N) {
      // ring totals: what worker i sent, worker i+1 received and added
      for (let i = 0; i < N; i++) {
        const sent = r.workers[i].derSent;
        const got = r.workers[(i + 1) % N].derReceived;
        if (sent !== got) {
          summary.ok = false;
          summary.errors.push(`round ${round}: worker ${i} sent ${sent} DER, worker ${(i + 1) % N} received ${got}`);
        }
        if (r.workers[i].ops !== OPS) {
          summary.ok = false;
          summary.errors.push(`round ${round}: worker ${i} ran ${r.workers[i].ops} ops`);
        }
      }
    }
    summary.rounds.push(r);
  }
  mainRunning = false;
  await mainLoop;
  if (mainCtx.sessionCount !== Math.min(16, summary.mainOps)) {
    summary.ok = false;
    summary.errors.push(`main context holds ${mainCtx.sessionCount} sessions`);
  }
  mainCtx.free();
  summary.totalOps = summary.rounds.reduce((a, r) => a + r.workers.reduce((b, w) => b + w.ops, 0), 0);
  summary.totalHandshakes = summary.rounds.reduce((a, r) => a + r.workers.reduce((b, w) => b + w.handshakes, 0), 0);
  return summary;
}

if (!isMainThread) {
  workerMain().catch((e) => {
    parentPort.postMessage({ type: 'error', error: String(e && e.stack ? e.stack : e) });
    throw e;
  });
} else if (require.main === module) {
  main().catch((e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  });
}

module.exports = { run };
