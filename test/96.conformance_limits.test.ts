/**
 * The conformance toolkit's limits: a JavaScript cache that never answers (an endless
 * loop, a promise that never settles) fails its step under --step-timeout and the run goes
 * on; the coverage report names the OpenSSL branches and catalogue behaviours the random
 * sequences reached and the ones they never did; shrinking lowers values (clock advances,
 * timeouts, burst lengths) and the shrunk trace still replays to the same divergence.
 */
import * as path from 'path';
import { CATALOGUE, DifferentialRunner, OpenSSLCache, ScenarioRunner, divergenceScenario, formatConformanceTable, runConformance } from '../lib/conformance';
import type { CacheFactory, ConformanceResult, Divergence, RandomOp } from '../lib/conformance';
import { runCli, scratchDir } from './helpers/conformance_cli';

const root = path.resolve(__dirname, '..');
const mapCachePath = path.join(root, 'test', 'fixtures', 'map_cache.js');
const mapCache = require(mapCachePath) as {
  createCache: CacheFactory;
  createCacheWithBugs: (bugs: string[]) => CacheFactory;
  declaredDifferences: { removeOrder: string; stats: Record<string, string> };
};

const scratch = scratchDir('conformance-limits-');
const write = scratch.write;

describe('--step-timeout with --model: a JavaScript cache that never answers fails that step', () => {
  /** The map cache of test/85, whose add never answers for the id 01000000: `loop` spins forever, `promise` never settles. */
  function hanging(kind: 'loop' | 'promise'): string {
    return write(
      `hang_${kind}.js`,
      [
        `const base = require(${JSON.stringify(mapCachePath)});`,
        'exports.declaredDifferences = base.declaredDifferences;',
        'exports.createCache = (options) => {',
        '  const cache = base.createCache(options);',
        '  const add = cache.add.bind(cache);',
        '  cache.add = (h) => {',
        "    if (cache.getSessionId(h).toString('hex') !== '01000000') return add(h);",
        kind === 'loop' ? '    for (;;);' : '    return new Promise(() => undefined);',
        '  };',
        '  return cache;',
        '};',
        '',
      ].join('\n'),
    );
  }
  const created = (id: string) => ({ op: 'createSession', args: { id, time: 1000, timeout: 300 }, as: 'a' });
  let hangs: string;
  let passes: string;
  beforeAll(() => {
    hangs = write('hangs.json', { name: 'add-that-hangs', steps: [created('01000000'), { op: 'add', args: { session: 'a' }, expect: 1 }] });
    passes = write('passes.json', { name: 'add-that-answers', steps: [created('02000000'), { op: 'add', args: { session: 'a' }, expect: 1 }, { op: 'count', expect: 1 }] });
  });

  test('an endless loop in add: the step fails naming add, the next scenario and the random sequences run, exit 1', () => {
    const r = runCli(['conformance', '--json', '--no-catalogue', '--runs', '40', '--step-timeout', '3000', '--model', hanging('loop'), hangs, passes]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const result = JSON.parse(r.stdout) as ConformanceResult;
    expect(result.implementation).toBe('hang_loop');
    const [first, second, random] = result.rows;
    expect(first).toMatchObject({ scenario: 'add-that-hangs', passed: false });
    expect(first.differences[0]).toMatch(/^step 2 \(add \{"session":"a"\}\): .*ERR_SHIM_TIMEOUT.*the model did not answer add within 3000 ms/);
    expect(second).toMatchObject({ scenario: 'add-that-answers', passed: true });
    // the random sequences reach the id too: that sequence fails at its add, not shrunk (each re-run would hang again)
    expect(random.source).toBe('random');
    expect(random.passed).toBe(false);
    expect(random.differences[0]).toMatch(/not shrunk.*: result: OpenSSL 1, hang_loop throws ERR_SHIM_TIMEOUT$/);
    expect(random.differences[1]).toMatch(/^hang_loop: the model did not answer add within 3000 ms/);
    const last = random.trace?.[random.trace.length - 1];
    expect(last).toMatchObject({ operation: 'add', actual: { throws: 'ERR_SHIM_TIMEOUT' }, diverged: true });
    expect(result.coverage).toBeDefined();
  });

  test('a promise that never settles: the same, and a cache that answers passes through the host', () => {
    const r = runCli(['conformance', '--json', '--no-catalogue', '--runs', '0', '--step-timeout', '3000', '--model', hanging('promise'), hangs, passes]);
    expect(r.status).toBe(1);
    const [first, second] = (JSON.parse(r.stdout) as ConformanceResult).rows;
    expect(first.passed).toBe(false);
    expect(first.differences[0]).toMatch(/ERR_SHIM_TIMEOUT.*the model did not answer add within 3000 ms/);
    expect(second.passed).toBe(true);
    // hosted in a child process, the module keeps its name and its declared differences (sent in the host's hello)
    const ok = runCli(['conformance', '--json', '--runs', '10', '--step-timeout', '10000', '--model', mapCachePath]);
    expect(ok.status).toBe(0);
    const hosted = JSON.parse(ok.stdout) as ConformanceResult;
    expect(hosted.implementation).toBe('map_cache');
    expect(hosted.rows).toHaveLength(CATALOGUE.length + 1);
    expect(hosted.declared.map((d) => d.name).sort()).toEqual(['removeOrder', 'stats.cacheFull']);
  });

  test('--step-timeout without --model or --shim, or with a module that cannot load, is a usage error (exit 2)', () => {
    const alone = runCli(['conformance', '--step-timeout', '1000']);
    expect(alone.status).toBe(2);
    expect(alone.stderr).toMatch(/--step-timeout needs --model or --shim/);
    const missing = runCli(['conformance', '--step-timeout', '1000', '--model', path.join(scratch.dir(), 'no_such_module.js')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/cannot load --model .*no_such_module\.js/);
  });
});

describe('coverage mapped to the catalogue', () => {
  const run = (profile: 'default' | 'server-only') =>
    runConformance({ factory: mapCache.createCache, declared: mapCache.declaredDifferences, noCatalogue: true, runs: 60, profile, name: 'map_cache' });

  test('a run names the catalogue scenarios whose branches it reached, with counts, and every scenario of the catalogue', () => {
    const r = run('default');
    expect(r.passed).toBe(true);
    const catalogue = r.branches?.catalogue ?? [];
    expect(catalogue.map((c) => c.scenario).sort()).toEqual(CATALOGUE.map((s) => s.name).sort());
    const count = (name: string) => catalogue.find((c) => c.scenario === name)?.count;
    expect(count('offered-session-resumes')).toBeGreaterThan(0);
    expect(count('full-handshake-caches-and-announces')).toBeGreaterThan(0);
    expect(count('client-mode-stores-client-sessions')).toBeGreaterThan(0);
    const branches = new Map((r.branches?.branches ?? []).map((b) => [b.key, b]));
    // a catalogue scenario counts as often as the least reached of its branches
    for (const c of catalogue) {
      for (const k of c.branches) expect(branches.has(k)).toBe(true);
      expect(c.count).toBe(Math.min(...c.branches.map((k) => branches.get(k)?.count ?? -1)));
    }
    expect(branches.get('lookup-hit')).toMatchObject({ where: 'ssl_get_prev_session (ssl_sess.c)', semantics: 'Resumption on a server: ssl_get_prev_session' });
    expect(branches.get('lookup-hit')?.count).toBeGreaterThan(0);
    const table = formatConformanceTable(r);
    expect(table).toMatch(/^catalogue behaviours the random sequences reached \(\d+ of \d+/m);
    expect(table).toMatch(/^ {2}offered-session-resumes +\d+ {2}lookup-hit$/m);
  });

  test('a profile that cannot reach a branch lists it, and the catalogue scenario that needs it, as never reached', () => {
    const r = run('server-only');
    const branch = r.branches?.branches.find((b) => b.key === 'update-client-store');
    expect(branch?.count).toBe(0);
    expect(r.branches?.catalogue.find((c) => c.scenario === 'client-mode-stores-client-sessions')?.count).toBe(0);
    const table = formatConformanceTable(r);
    const never = table.slice(table.indexOf('catalogue behaviours'));
    expect(never).toMatch(/never reached \(only the catalogue scenario tests them\):\n(?: {4}.*\n)* {4}client-mode-stores-client-sessions +needs update-client-store, update-client-not-stored/);
    expect(table).toMatch(/ {2}never reached:\n(?: {4}.*\n)* {4}update-client-store +ssl_update_cache/);
  });
});

describe('shrinking lowers values; the shrunk trace replays to the same divergence', () => {
  const op = (kind: RandomOp['kind'], a = 0, b = 0, c = 0, d = 0): RandomOp => ({ kind, a, b, c, d });
  const real: CacheFactory = (o) => new OpenSSLCache(o);

  function shrunk(bug: string, ops: RandomOp[]): { found: Divergence; small: Divergence } {
    const runner = new DifferentialRunner(real, mapCache.createCacheWithBugs([bug]), mapCache.declaredDifferences);
    const found = runner.run(ops);
    expect(found).toBeDefined();
    return { found: found as Divergence, small: runner.shrink(found as Divergence) };
  }

  /** The shrunk trace as a scenario: the buggy cache fails its last step, real OpenSSL passes it all. */
  function replays(bug: string, d: Divergence): void {
    const scenario = divergenceScenario(d, `shrunk-${bug}`, 'replays the shrunk divergence');
    const buggy = new ScenarioRunner(mapCache.createCacheWithBugs([bug]), mapCache.declaredDifferences).run(scenario);
    expect(buggy.passed).toBe(false);
    expect(buggy.steps).toBe(scenario.steps.length);
    expect(new ScenarioRunner(real).run(scenario).passed).toBe(true);
  }

  test('expiry one second early: the clock advances and the timeout go down together, to the boundary', () => {
    // a session of timeout 60 (pool entry 4), offered after six clock advances of 10 s: exactly at its expiry
    const ops = [op('create', 2, 0, 0, 4), op('add'), op('query', 0, 1), ...Array.from({ length: 6 }, () => op('advance', 3)), op('get', 1, 1), op('handshake', 1), op('advance', 5), op('takeEvents')];
    const { found, small } = shrunk('expiry-off-by-one', ops);
    expect(found.advanced).toBe(60);
    expect(small.before).toEqual({ steps: found.trace.length, calls: found.trace.length, advanced: 60 });
    expect(small.advanced).toBeLessThan(60);
    expect(small.trace.length).toBeLessThan(found.trace.length);
    // the diverging handshake offers a session exactly as old as its timeout
    const last = small.trace[small.trace.length - 1].step;
    expect(last.op).toBe('handshake');
    const offered = last.args?.offered;
    const createdLine = small.trace.find((l) => l.step.op === 'createSession' && l.outcome === JSON.stringify(offered));
    const { time, timeout } = createdLine?.step.args as { time: number; timeout: number };
    expect(Number(last.args?.now) - time).toBe(timeout);
    expect(timeout).toBeLessThan(60);
    replays('expiry-off-by-one', small);
  });

  test('the automatic flush one handshake early: a burst pinned to the run that diverged, about 255', () => {
    // an expired session in the cache, another one offered (not cached) by a burst planned to 257 handshakes
    const ops = [op('create', 0, 0, 5, 0), op('add'), op('create', 1, 0, 5, 5), op('advance', 1), op('query', 1, 2), op('burst', 1, 0, 2)];
    const { found, small } = shrunk('early-auto-flush', ops);
    const burst = (d: Divergence) => d.trace.find((l) => (l.step.repeat ?? 1) > 1)?.step.repeat ?? 0;
    expect(burst(found)).toBeGreaterThanOrEqual(254);
    expect(burst(small)).toBeGreaterThanOrEqual(254);
    expect(burst(small)).toBeLessThanOrEqual(256);
    // the burst's length is pinned to those runs (it no longer follows the handshakes before it)
    expect(small.ops.find((o) => o.kind === 'burst')?.v).toBe(burst(small));
    expect(small.trace.length).toBeLessThan(found.trace.length);
    expect(small.advanced).toBeLessThan(found.advanced);
    expect(small.before?.calls).toBeGreaterThanOrEqual(small.trace.reduce((n, l) => n + (l.step.repeat ?? 1), 0));
    replays('early-auto-flush', small);
  }, 180000);
});
