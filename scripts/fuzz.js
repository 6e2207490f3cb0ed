#!/usr/bin/env node
'use strict';
// npm run fuzz — property-based fuzzing with fast-check (targets: scripts/lib/fuzz-targets.js)
//
//   SslSession.fromDER  random bytes; mutated and spliced real DER (created sessions and
//                       both ends of real handshakes, with certificate and ticket)
//   SslSession.fromPEM  random text/bytes; PEM of mutated DER; mutated PEM text
//   session edges       real DER with an empty / oversized id (0–300 bytes), oversized master
//                       keys, tickets (also empty) with or without an id, times and timeouts
//                       at 2^31, 2^53, 2^63−1, negative, empty PSK/SRP strings
//   offered sessions    handshake(client, server, { session }) where the session is cached by
//                       the server, by a CLIENT-mode client, by another context or nowhere,
//                       comes from another protocol version (TLSv1, TLSv1.1) or is an edge
//                       session; clients plain / CLIENT-mode / minVersion / 'both'; afterwards
//                       every cache is consistent and no cached or empty-id offered session
//                       was written into
//   ClientHelloParser   random bytes (raw, behind a record header, SSLv2-framed); mutated
//                       and spliced real ClientHellos (ours and Node's, TLS 1.2/1.3), each
//                       also fed in random pieces (the answer must not depend on the cuts)
//   live server socket  our createServer on 127.0.0.1 (internal cache, and with a session
//                       store): mutated real ClientHellos and random bytes from raw TCP
//                       clients (20 at a time, most half-closing); afterwards a real client must
//                       still complete a handshake
// Every outcome must be a valid result or a typed error (OpenSSLError / TypeError /
// RangeError / Error with a code), the caches must stay consistent, nothing may crash.
//
//   node scripts/fuzz.js [--quick] [--seed N] [--scale F]
//     default: 100k+ cases (~1–2 minutes); --quick: a tenth (used by test:asan)
const { load } = require('./lib/load');
const T = require('./lib/fuzz-targets');

const argv = process.argv.slice(2);
const opt = (n, d) => (argv.includes(n) ? Number(argv[argv.indexOf(n) + 1]) : d);
const scale = argv.includes('--quick') ? 0.1 : opt('--scale', 1);
const seed = opt('--seed', Date.now() % 2147483647);

const PLAN = {
  derMutated: 30000,
  derRandom: 12000,
  pemMutated: 12000,
  pemRandom: 6000,
  sessionEdges: 20000,
  helloMutated: 25000,
  helloRandom: 12000,
};
const SOCKET_CASES = { internal: 2500, store: 1500 };
const OFFERED_CASES = 6000;

async function main() {
  const api = load();
  const started = Date.now();
  console.log(`fuzz: seed ${seed}, scale ${scale} (fast-check ${require('fast-check/package.json').version})`);
  const corpus = T.derCorpus(api);
  const hellos = await T.helloCorpus(api, corpus.ders);
  console.log(`fuzz: corpus ${corpus.ders.length} DER sessions (${corpus.ders.map((d) => d.length).join('/')} bytes), ${hellos.length} ClientHellos`);
  const sink = T.sessionSink(api);
  const internals = { screenHello: load('binding/native_listener.js').screenHello, helloRefusal: load('tls/hello_policy.js').helloRefusal };
  const props = T.syncProperties(api, corpus, hellos, sink, internals);
  const counts = {};
  let total = 0;
  for (const [name, n] of Object.entries(PLAN)) {
    const runs = Math.max(50, Math.round(n * scale));
    const t0 = Date.now();
    T.fc.assert(props[name], { numRuns: runs, seed, endOnFailure: false });
    counts[name] = runs;
    total += runs;
    console.log(`fuzz: ${name.padEnd(13)} ${String(runs).padStart(6)} cases ok (${Date.now() - t0} ms)`);
  }
  {
    const bench = T.offerBench(api, corpus.pki);
    const runs = Math.max(50, Math.round(OFFERED_CASES * scale));
    const t0 = Date.now();
    try {
      T.fc.assert(T.offeredProperty(api, corpus, bench), { numRuns: runs, seed, endOnFailure: false });
    } finally {
      bench.close();
    }
    counts.offeredSessions = runs;
    total += runs;
    console.log(`fuzz: ${'offeredSessions'.padEnd(13)} ${String(runs).padStart(6)} cases ok (${Date.now() - t0} ms)`);
  }
  sink.close();
  const s = sink.stats();
  console.log(`fuzz: sessions decoded ${s.parsed}, refused with a typed error ${s.refused}`);

  for (const [mode, n] of Object.entries(SOCKET_CASES)) {
    const parallel = 20;
    const runs = Math.max(2, Math.round((n * scale) / parallel));
    const live = await T.liveServer(api, corpus.pki, { store: mode === 'store', waitMs: 500 });
    const t0 = Date.now();
    try {
      // cases run one after another; each connection ends within waitMs
      await T.fc.assert(T.socketProperty(api, hellos, live, parallel), { numRuns: runs, seed, endOnFailure: false });
      await live.healthy();
    } finally {
      await live.close();
    }
    if (live.errors.untyped.length) throw new Error(`server reported untyped errors:\n${live.errors.untyped.slice(0, 5).join('\n')}`);
    counts[`socket:${mode}`] = runs * parallel;
    total += runs * parallel;
    console.log(`fuzz: socket(${mode.padEnd(8)}) ${String(runs * parallel).padStart(6)} cases ok (${Date.now() - t0} ms; ${live.errors.typed} typed tlsClientErrors, ${live.secureCount()} completed handshakes)`);
  }
  const rss = Math.round(process.memoryUsage().rss / 1048576);
  console.log(`fuzz: OK ${total} cases in ${Math.round((Date.now() - started) / 1000)} s, no crash, no untyped error (rss ${rss} MB)`);
  console.log(`FUZZ-RESULT ${JSON.stringify({ ok: true, seed, total, counts, decoded: s.parsed, refused: s.refused })}`);
}

main().catch((e) => {
  console.error(`fuzz: FAILED (seed ${seed}; rerun with --seed ${seed})`);
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
