// Fuzzing in `npm test`: the targets of `npm run fuzz` with 5k+ cases —
// random and mutated real DER / PEM into SslSession.fromDER / fromPEM, random bytes and
// mutated real ClientHellos into ClientHelloParser (whole and cut into pieces) and the native
// listener's hello screen (it never passes a hello lib's rules refuse), and into a
// live server (our createServer on 127.0.0.1). Every outcome is a valid result or a typed
// error; the caches stay consistent; the server still completes a real handshake after.
import * as lib from '../lib';
import { screenHello } from '../lib/binding/native_listener';
import { helloRefusal } from '../lib/tls/hello_policy';

const T = require('../scripts/lib/fuzz-targets.js');

const SEED = 52052;
let corpus: { ders: Buffer[]; pki: { cert: string; key: string } };
let hellos: Buffer[];
let sink: { accept: unknown; stats(): { parsed: number; refused: number }; close(): void };
let props: Record<string, unknown>;

beforeAll(async () => {
  corpus = T.derCorpus(lib);
  hellos = await T.helloCorpus(lib, corpus.ders);
  sink = T.sessionSink(lib);
  props = T.syncProperties(lib, corpus, hellos, sink, { screenHello, helloRefusal });
}, 30000);

afterAll(() => sink.close());

const RUNS: [string, number][] = [
  ['derMutated', 1500],
  ['derRandom', 600],
  ['pemMutated', 600],
  ['pemRandom', 300],
  ['sessionEdges', 800],
  ['helloMutated', 1200],
  ['helloRandom', 600],
];

test('the corpus is real: sessions from handshakes and ClientHellos from real clients', () => {
  expect(corpus.ders.length).toBeGreaterThanOrEqual(6);
  for (const d of corpus.ders) lib.SslSession.fromDER(d).free();
  expect(hellos).toHaveLength(4);
  for (const h of hellos) expect(new lib.ClientHelloParser().push(h)?.kind).toBe('tls');
});

test.each(RUNS)('%s: %i cases, typed errors or valid results only', (name, runs) => {
  T.fc.assert(props[name], { numRuns: runs, seed: SEED });
});

test('offered sessions: cached elsewhere, CLIENT-mode clients, other protocols, edge sessions — 200 handshakes', () => {
  const bench = T.offerBench(lib, corpus.pki);
  try {
    T.fc.assert(T.offeredProperty(lib, corpus, bench), { numRuns: 200, seed: SEED });
  } finally {
    bench.close();
  }
}, 60000);

test('some mutated DER still decodes (the mutations reach past the outer checks)', () => {
  const s = sink.stats();
  expect(s.parsed).toBeGreaterThan(0);
  expect(s.refused).toBeGreaterThan(0);
});

test.each([
  ['internal cache', false],
  ['session store', true],
] as const)('live server (%s): 200 connections of mutated hellos / random bytes', async (_name, store) => {
  const live = await T.liveServer(lib, corpus.pki, { store, waitMs: 300 });
  try {
    await T.fc.assert(T.socketProperty(lib, hellos, live, 20), { numRuns: 10, seed: SEED });
    await live.healthy();
  } finally {
    await live.close();
  }
  expect(live.errors.untyped).toEqual([]);
  expect(live.errors.typed).toBeGreaterThan(0);
  expect(live.server.listening).toBe(false);
}, 60000);
