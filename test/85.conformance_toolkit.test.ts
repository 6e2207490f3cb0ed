/**
 * The conformance runner pointed at a cache written from scratch (test/fixtures/map_cache.js:
 * a Map with an LRU list, random ids, no cacheFull counter, nothing of this package inside):
 * it passes the default run once its intentional differences are declared, fails without
 * them, and each of eight planted bugs is caught in the default run, saved as a scenario
 * file that re-runs to the same divergence (and passes against real OpenSSL).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConformance } from '../lib/conformance';
import type { CacheFactory, ConformanceResult, Scenario } from '../lib/conformance';
import { runCli } from './helpers/conformance_cli';

const root = path.resolve(__dirname, '..');
const mapCachePath = path.join(root, 'test', 'fixtures', 'map_cache.js');
const mapCache = require(mapCachePath) as {
  createCache: CacheFactory;
  createCacheWithBugs: (bugs: string[]) => CacheFactory;
  declaredDifferences: { removeOrder: string; stats: Record<string, string> };
  BUGS: string[];
};

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-toolkit-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const failed = (r: ConformanceResult) => r.rows.filter((row) => !row.passed);

describe('declared differences', () => {
  test('the from-scratch cache passes the default run (catalogue + 300 random sequences) with its declarations, reported as declared', () => {
    const r = runConformance({ factory: mapCache.createCache, declared: mapCache.declaredDifferences, name: 'map_cache' });
    expect(failed(r)).toEqual([]);
    expect(r.passed).toBe(true);
    const byName = new Map(r.declared.map((d) => [d.name, d]));
    expect([...byName.keys()].sort()).toEqual(['removeOrder', 'stats.cacheFull']);
    // both declarations decided real comparisons: without them the run would fail
    expect(byName.get('removeOrder')?.masked).toBeGreaterThan(0);
    expect(byName.get('stats.cacheFull')?.masked).toBeGreaterThan(0);
    // the guided default run reaches the rare paths; the coverage report says how often
    const coverage = r.coverage ?? {};
    for (const behaviour of [
      'handshake at the 256th good handshake (automatic flush)',
      'counter timeouts moved',
      'counter cacheFull moved',
      'counter cbHits moved',
      'handshake resumed (callback)',
      'handshake threw ERR_SESSION_ID_CONFLICT',
      'events: several removes in one batch',
    ]) {
      expect(coverage[behaviour]).toBeGreaterThan(0);
    }
  });

  test('nothing undeclared is hidden: without declarations, or with one of the two, the same cache fails', () => {
    const none = runConformance({ factory: mapCache.createCache, name: 'map_cache', runs: 0 });
    expect(none.passed).toBe(false);
    expect(failed(none).map((row) => row.scenario)).toEqual(expect.arrayContaining(['flush-visits-hash-buckets', 'size-limit-evicts-oldest-first']));
    const onlyOrder = runConformance({ factory: mapCache.createCache, name: 'map_cache', declared: { removeOrder: 'list order' } });
    expect(onlyOrder.passed).toBe(false);
    // the first undeclared difference: a cacheFull count, shown field by field
    expect(failed(onlyOrder)[0].differences.join('\n')).toMatch(/cacheFull: expected \d+, got 0/);
  });

  test('the CLI reads the module export and a --declared file; a bad declaration is a usage error (exit 2)', () => {
    const ok = runCli(['conformance', '--model', mapCachePath, '--runs', '20']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^implementation: map_cache$/m);
    expect(ok.stdout).toMatch(/declared differences \(compared modulo these, not failures\):\n {2}removeOrder: flush walks the LRU list/);
    const bad = path.join(tmp, 'declared-bad.json');
    fs.writeFileSync(bad, JSON.stringify({ stats: { cacheEmpty: 'no such counter' } }));
    const r = runCli(['conformance', '--model', mapCachePath, '--declared', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/"stats": unknown field "cacheEmpty"/);
    expect(r.stdout).toBe('');
  });
});

describe('planted bugs: caught in the default run, saved, replayed', () => {
  test.each([
    'expiry-off-by-one',
    'lru-reorder-on-hit',
    'callback-hit-as-miss',
    'keep-expired-on-lookup',
    'remove-by-key',
    'early-eviction',
    'event-on-replace',
    'early-auto-flush',
  ])('%s', (bug) => {
    expect(mapCache.BUGS).toContain(bug);
    const factory = mapCache.createCacheWithBugs([bug]);
    const dir = path.join(tmp, bug);
    // the default run: the catalogue, then 300 random sequences of seed 1
    const r = runConformance({ factory, declared: mapCache.declaredDifferences, name: 'map_cache', saveFailures: dir });
    expect(r.passed).toBe(false);
    const random = r.rows.find((row) => row.source === 'random');
    expect(random?.passed).toBe(false);
    expect(random?.differences[0]).toMatch(/^sequence \d+ of seed 1 diverged after \d+ step\(s\) \(shrunk from \d+ steps, \d+ calls, clock \+\d+ s to \d+ steps, \d+ calls, clock \+\d+ s\)/);
    expect(random?.shrink?.after.steps).toBeLessThanOrEqual(random?.shrink?.before.steps ?? 0);
    const saved = random?.saved as string;
    expect(fs.existsSync(saved)).toBe(true);
    const scenario = JSON.parse(fs.readFileSync(saved, 'utf8')) as Scenario;
    const last = scenario.steps.length;
    expect(scenario.steps[last - 1].note).toBe('here the implementation diverged');
    // re-run from the file: the same step diverges
    const replay = runConformance({ factory, declared: mapCache.declaredDifferences, scenarioFiles: [saved], noCatalogue: true, runs: 0 });
    const row = replay.rows.find((x) => x.source === 'file');
    expect(row?.passed).toBe(false);
    expect(row?.differences[0]).toMatch(new RegExp(`^step ${last} \\(${scenario.steps[last - 1].op}`));
    // the file is real OpenSSL's behaviour: it passes against the library
    const real = runConformance({ scenarioFiles: [saved], noCatalogue: true });
    expect(real.passed).toBe(true);
    // a burst of handshakes is saved as the runs that happened: N-1 runs, then the last one checked
    const burst = scenario.steps.findIndex((st) => (st.repeat ?? 1) > 1);
    if (burst >= 0) {
      expect(scenario.steps[burst].note).toMatch(new RegExp(`^the first ${scenario.steps[burst].repeat} runs of a burst of ${(scenario.steps[burst].repeat ?? 0) + 1}$`));
      expect(scenario.steps[burst + 1].expect).toBeDefined();
    }
  });

  test('--replay SEED:SEQUENCE re-runs one random sequence to the same divergence', () => {
    const env = { MAP_CACHE_BUGS: 'lru-reorder-on-hit' };
    const first = JSON.parse(runCli(['conformance', '--json', '--model', mapCachePath], env).stdout) as ConformanceResult;
    const row = first.rows.find((x) => x.source === 'random');
    const m = /^sequence (\d+) of seed 1/.exec(row?.differences[0] ?? '');
    expect(m).not.toBeNull();
    const again = runCli(['conformance', '--json', '--model', mapCachePath, '--replay', `1:${m?.[1]}`], env);
    expect(again.status).toBe(1);
    const replayed = JSON.parse(again.stdout) as ConformanceResult;
    expect(replayed.rows).toHaveLength(1);
    expect(replayed.rows[0].trace).toEqual(row?.trace);
    expect(replayed.rows[0].differences).toEqual(row?.differences);
  });
});

describe('invalid scenarios exit 2 before anything runs', () => {
  test.each([
    [{ name: 'x', options: { idContext: 'abc' } }, /option "idContext" is not an even-length hex string/],
    [{ name: 'x', steps: [{ op: 'createSession', args: { id: 'zz', time: 1, timeout: 1 } }] }, /step 1 \(createSession\): argument "id" is not an even-length hex string/],
    [{ name: 'x', steps: [{ op: 'flush' }] }, /step 1 \(flush\): argument "t" is missing/],
    [{ name: 'x', steps: [{ op: 'handshake', args: { now: '1000' } }] }, /argument "now" must be a number/],
    [{ name: 'x', steps: [{ op: 'setCacheMode', args: { mode: 'SERVR' } }] }, /unknown cache mode name "SERVR"/],
    [{ name: 'x', steps: [{ op: 'add', args: { session: 'nobody' } }] }, /no earlier step names a session "nobody"/],
  ])('%j', (scenario, reason) => {
    const file = path.join(tmp, 'invalid.json');
    fs.writeFileSync(file, JSON.stringify({ steps: [], ...scenario }));
    const r = runCli(['conformance', file]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(reason);
  });
});

describe('steering', () => {
  test('--profile server-only: a cache without client support is tested on server contexts only', () => {
    const serverOnly: CacheFactory = (options) => {
      if (options.role === 'client') throw new RangeError('this cache has no client role');
      return mapCache.createCache(options);
    };
    const all = runConformance({ factory: serverOnly, declared: mapCache.declaredDifferences, noCatalogue: true, runs: 60, name: 'server_only' });
    expect(all.passed).toBe(false);
    expect(all.rows[0].differences[0]).toMatch(/no client role/);
    const servers = runConformance({ factory: serverOnly, declared: mapCache.declaredDifferences, noCatalogue: true, runs: 60, profile: 'server-only' });
    expect(servers.passed).toBe(true);
  });

  test('profiles and weights from the CLI; unknown names are usage errors', () => {
    const r = runCli(['conformance', '--json', '--model', mapCachePath, '--no-catalogue', '--runs', '30', '--profile', 'expiry']);
    expect(r.status).toBe(0);
    const expiry = JSON.parse(r.stdout) as ConformanceResult;
    expect(expiry.coverage?.['counter timeouts moved']).toBeGreaterThan(0);
    const weighted = runCli(['conformance', '--json', '--model', mapCachePath, '--no-catalogue', '--runs', '10', '--weight', 'handshake=0', '--weight', 'burst=0', '--no-guided']);
    expect(weighted.status).toBe(0);
    const coverage = (JSON.parse(weighted.stdout) as ConformanceResult).coverage ?? {};
    expect(Object.keys(coverage).filter((k) => k.startsWith('handshake'))).toEqual([]);
    expect(runCli(['conformance', '--model', mapCachePath, '--profile', 'fast']).stderr).toMatch(/--profile must be one of default, server-only, expiry, auto-flush, auto-flush-no-clear, cache-full/);
    expect(runCli(['conformance', '--model', mapCachePath, '--weight', 'dance=3']).status).toBe(2);
  });
});

describe('--jobs N', () => {
  test('two jobs report what one job reports: the same first divergence and trace, the same coverage and tallies', () => {
    const env = { MAP_CACHE_BUGS: 'lru-reorder-on-hit' };
    const args = ['conformance', '--json', '--model', mapCachePath, '--no-catalogue'];
    const one = JSON.parse(runCli(args, env).stdout) as ConformanceResult;
    const two = JSON.parse(runCli([...args, '--jobs', '2'], env).stdout) as ConformanceResult;
    expect(two.rows[0].passed).toBe(false);
    expect(two.rows[0].differences).toEqual(one.rows[0].differences);
    expect(two.rows[0].trace).toEqual(one.rows[0].trace);
    const passOne = JSON.parse(runCli([...args, '--runs', '80']).stdout) as ConformanceResult;
    const passTwo = JSON.parse(runCli([...args, '--runs', '80', '--jobs', '2']).stdout) as ConformanceResult;
    expect(passTwo.passed).toBe(true);
    expect(passTwo.coverage).toEqual(passOne.coverage);
    expect(passTwo.declared).toEqual(passOne.declared);
  });
});

describe('other options', () => {
  test('--grep runs the scenarios whose name matches', () => {
    const r = runCli(['conformance', '--json', '--grep', '^flush-']);
    expect(r.status).toBe(0);
    const names = (JSON.parse(r.stdout) as ConformanceResult).rows.map((x) => x.scenario);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(n).toMatch(/^flush-/);
    expect(runCli(['conformance', '--grep', '(']).status).toBe(2);
  });

  test('a stats divergence is shown field by field', () => {
    const r = runConformance({ factory: mapCache.createCacheWithBugs(['callback-hit-as-miss']), declared: mapCache.declaredDifferences, noCatalogue: true, name: 'map_cache' });
    const random = r.rows.find((x) => x.source === 'random');
    expect(random?.differences).toEqual(expect.arrayContaining([expect.stringMatching(/^stats differ in (cbHits: OpenSSL 1, map_cache 0|misses: OpenSSL \d+, map_cache \d+)$/)]));
  });
});
