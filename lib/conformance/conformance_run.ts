import * as fs from 'node:fs';
import * as path from 'node:path';
import { OpenSSLCache } from './openssl_cache';
import { CacheFactory } from './cache_factory';
import { CATALOGUE } from './catalogue';
import { DifferentialRunner, Divergence, TraceSize, formatSize, lostCandidate, sizeOf } from './differential_runner';
import { loadCacheFactory, loadDeclaredExport } from './model_loader';
import { DeclaredDifferences, DeclaredReport, declaredReport, statsFieldDiffs, validateDeclared } from './declared';
import { divergenceScenario } from './saved_failure';
import { BranchCoverage, branchCoverage } from './branches';
import { ProfileName, SequencePlan, sequencePlan } from './profiles';
import { Worker } from 'node:worker_threads';
import { RandomOpWeights } from './random_ops';
import { Shim, modelHostCommand } from './shim_cache';
import { Scenario, validateScenario } from './scenario';
import { ScenarioRunner } from './scenario_runner';
import { TraceStep, formatTraceSteps, traceSteps } from './trace';
import { UsageError } from './usage_error';
import { SessionCacheOptions } from '../model/session_cache';

export interface ConformanceOptions {
  /** a module exporting the implementation under test; default real OpenSSL (OpenSSLCache) */
  model?: string;
  /** an already loaded implementation (instead of `model`) */
  factory?: CacheFactory;
  /** user scenario files (JSON) */
  scenarioFiles?: string[];
  /** skip the built-in catalogue */
  noCatalogue?: boolean;
  /** random sequences compared with real OpenSSL (only with a model/factory); default 300 */
  runs?: number;
  seed?: number;
  /** run only random sequence number `sequence` of `seed` (`--replay seed:sequence`) */
  replay?: { seed: number; sequence: number };
  /** declared differences (merged over the model module's `declaredDifferences` export) */
  declared?: DeclaredDifferences;
  /** a JSON file of declared differences (`--declared FILE`) */
  declaredFile?: string;
  /** write each shrunk random failure as a scenario file into this directory */
  saveFailures?: string;
  /** run only the scenarios whose name matches (a regular expression; random sequences are not filtered) */
  grep?: string;
  /** the random sequences' profile (default `default`, guided) */
  profile?: ProfileName;
  /** `false`: the default profile without the guided sequences */
  guided?: boolean;
  /** op-kind weights on top of the profile's (`--weight kind=N`) */
  weights?: RandomOpWeights;
  /** a shim program (a command line, split at spaces) whose caches are tested: see shim_cache.ts */
  shim?: string;
  /** random sequences on this many worker threads (needs `model`); default 1 */
  jobs?: number;
  /**
   * milliseconds a call of the implementation may take: a shim's (default 10000), or with
   * `model` the module runs in a child process (model_host.ts) with this timeout
   */
  stepTimeout?: number;
  /** how the implementation is named in reports (default: the module name) */
  name?: string;
  cwd?: string;
}

export interface ConformanceRow {
  scenario: string;
  source: 'catalogue' | 'file' | 'random';
  passed: boolean;
  differences: string[];
  /** for a failed random row: the minimal trace, step by step */
  trace?: TraceStep[];
  /** for a failed random row: the options both caches were made with */
  options?: SessionCacheOptions;
  /** for a failed random row: its size as first found and after shrinking (steps, calls, seconds of clock advances) */
  shrink?: { before: TraceSize; after: TraceSize };
  /** for a failed random row saved with `saveFailures`: the scenario file that replays it */
  saved?: string;
  /** seconds the row took */
  time: number;
}

export interface ConformanceResult {
  implementation: string;
  passed: boolean;
  rows: ConformanceRow[];
  /** the declared differences and how many comparisons each decided */
  declared: DeclaredReport[];
  /** when the run started (ISO 8601) */
  timestamp: string;
  /** seconds the whole run took */
  time: number;
  /** behaviour coverage of the random sequences (what real OpenSSL did, how often), when they ran */
  coverage?: Record<string, number>;
  /** the OpenSSL branches and catalogue behaviours the random sequences reached, how often (0: never), when they ran */
  branches?: BranchCoverage;
}

/** Reads and checks a declared-differences file; a UsageError (exit 2) on any problem. */
export function readDeclaredFile(file: string): DeclaredDifferences {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new UsageError(`${file}: cannot read the declared differences${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return validateDeclared(json, file);
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

/** Reads and validates a scenario file; a missing, unreadable or invalid file is a UsageError. */
export function readScenarioFile(file: string): Scenario {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new UsageError(`${file}: cannot read the scenario file${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return validateScenario(json, file);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * The whole conformance run: the catalogue and the given scenario files against the
 * implementation (real OpenSSL unless a model is given); with a model, also `runs`
 * random sequences side by side with real OpenSSL, the first divergence shrunk to a
 * minimal trace.
 */
export function runConformance(options: ConformanceOptions = {}): ConformanceResult {
  if (options.shim === undefined && options.stepTimeout !== undefined) {
    if (options.model === undefined) throw new UsageError('--step-timeout needs --model or --shim (it bounds the calls of the implementation under test)');
    return runHosted(options, options.model, options.stepTimeout);
  }
  if (options.shim === undefined) return runWith(options);
  if (options.model !== undefined || options.factory !== undefined) throw new UsageError('--shim and --model exclude each other');
  const shim = new Shim(options.shim, { stepTimeout: options.stepTimeout, cwd: options.cwd });
  try {
    return runWith({ ...options, factory: shim.factory(), name: options.name ?? shim.name, declared: { ...shim.declared, ...options.declared } });
  } finally {
    shim.close();
  }
}

/**
 * `--model MODULE --step-timeout MS`: the module runs in a child process (model_host.ts)
 * behind the shim protocol, so a call that never returns fails its step after MS
 * milliseconds (the child is killed; the next scenario or sequence starts another).
 */
function runHosted(options: ConformanceOptions, model: string, stepTimeout: number): ConformanceResult {
  if (options.factory !== undefined) throw new UsageError('--step-timeout bounds a --model module, not an in-process factory');
  const cwd = options.cwd ?? process.cwd();
  const shim = new Shim(modelHostCommand(model, cwd), { stepTimeout, cwd, noun: 'model' });
  try {
    const declared = { ...shim.declared, ...options.declared };
    return runWith({ ...options, model: undefined, factory: shim.factory(), name: options.name ?? moduleLabel(model), declared }, { model, stepTimeout });
  } finally {
    shim.close();
  }
}

function runWith(options: ConformanceOptions, hosted?: { model: string; stepTimeout: number }): ConformanceResult {
  const started = process.hrtime.bigint();
  const timestamp = new Date().toISOString();
  const real: CacheFactory = (o) => new OpenSSLCache(o);
  const factory = options.factory ?? (options.model !== undefined ? loadCacheFactory(options.model, options.cwd) : undefined);
  const declared: DeclaredDifferences = {
    ...(options.model !== undefined ? loadDeclaredExport(options.model, options.cwd) : undefined),
    ...(options.declaredFile !== undefined ? readDeclaredFile(options.declaredFile) : undefined),
    ...(options.declared !== undefined ? validateDeclared(options.declared, 'options.declared') : undefined),
  };
  let grep: RegExp | undefined;
  if (options.grep !== undefined) {
    try {
      grep = new RegExp(options.grep);
    } catch (e) {
      throw new UsageError(`--grep: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const target = factory ?? real;
  const label = options.name ?? (options.model !== undefined ? moduleLabel(options.model) : options.factory ? 'custom factory' : 'OpenSSL 1.0.2h (OpenSSLCache)');
  const rows: ConformanceRow[] = [];
  const runner = new ScenarioRunner(target, declared);
  const scenarios: { scenario: Scenario; source: 'catalogue' | 'file' }[] = [];
  if (!options.noCatalogue && options.replay === undefined) for (const s of CATALOGUE) scenarios.push({ scenario: s, source: 'catalogue' });
  for (const file of options.scenarioFiles ?? []) scenarios.push({ scenario: readScenarioFile(file), source: 'file' });
  for (const { scenario, source } of scenarios) {
    if (grep !== undefined && !grep.test(scenario.name)) continue;
    const t0 = process.hrtime.bigint();
    const report = runner.run(scenario);
    rows.push({ scenario: scenario.name, source, passed: report.passed, differences: report.differences, time: seconds(t0) });
  }
  const differential = new DifferentialRunner(real, factory ?? real, declared);
  if (factory !== undefined) {
    const t0 = process.hrtime.bigint();
    const runs = options.runs ?? 300;
    const seed = options.replay?.seed ?? options.seed ?? 1;
    const name = options.replay !== undefined ? `random sequence ${options.replay.sequence} of seed ${seed}` : `random sequences (${runs}, seed ${seed})`;
    let found: { runs: number; divergence?: Divergence } | undefined;
    try {
      const plan = sequencePlan(options.profile ?? 'default', options.guided !== false, options.weights ?? {});
      const jobs = options.jobs ?? 1;
      if (jobs > 1 && options.replay === undefined) {
        const model = hosted?.model ?? options.model;
        if (model === undefined) throw new UsageError('--jobs needs --model (each worker loads the module)');
        found = parallelSearch(differential, model, options.cwd ?? process.cwd(), declared, runs, seed, plan, jobs, hosted?.stepTimeout);
      } else {
        found = options.replay !== undefined ? differential.replay(seed, options.replay.sequence, 50, plan) : differential.search(runs, seed, 50, plan);
      }
    } catch (e) {
      rows.push({ scenario: name, source: 'random', passed: false, differences: [`error: ${e instanceof Error ? e.message : String(e)}`], time: seconds(t0) });
    }
    const divergence = found?.divergence;
    if (divergence !== undefined && found !== undefined) {
      const sequence = options.replay?.sequence ?? found.runs;
      const size = sizeOf(divergence);
      const before = divergence.before;
      const lost = lostCandidate(divergence);
      const shrunk = lost
        ? 'not shrunk: each re-run would wait for it again'
        : before !== undefined
          ? `shrunk from ${formatSize(before)} to ${formatSize(size)}`
          : 'shrunk';
      const differences = [
        `sequence ${sequence} of seed ${seed} diverged after ${size.steps} step(s) (${shrunk}): ${divergence.what}: ` +
          `OpenSSL ${divergence.reference}, ${label} ${divergence.candidate}`,
      ];
      if (lost && divergence.message !== undefined) differences.push(`${label}: ${divergence.message}`);
      if (divergence.what === 'stats()') differences.push(...statsFieldDiffs(divergence.reference, divergence.candidate, 'OpenSSL', label).map((d) => `stats differ in ${d}`));
      const row: ConformanceRow = {
        scenario: name,
        source: 'random',
        passed: false,
        differences,
        trace: traceSteps(divergence),
        options: divergence.options,
        time: seconds(t0),
      };
      if (before !== undefined) row.shrink = { before, after: size };
      if (options.saveFailures !== undefined) row.saved = saveFailure(options.saveFailures, divergence, seed, sequence, differences[0]);
      rows.push(row);
    } else if (!rows.some((r) => r.source === 'random')) {
      rows.push({ scenario: name, source: 'random', passed: true, differences: [], time: seconds(t0) });
    }
  }
  const tally = new Map(runner.tally);
  for (const [k, v] of differential.tally) tally.set(k, (tally.get(k) ?? 0) + v);
  const result: ConformanceResult = {
    implementation: label,
    passed: rows.every((r) => r.passed),
    rows,
    declared: declaredReport(declared, tally),
    timestamp,
    time: seconds(started),
  };
  if (factory !== undefined && options.replay === undefined) {
    result.coverage = Object.fromEntries([...differential.coverage].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    result.branches = branchCoverage(differential.branches);
  }
  return result;
}

/**
 * `search` on `jobs` worker threads: the sequences are drawn here (the same as `search`
 * draws them), dealt round-robin, run in the workers, and the lowest-numbered divergence is
 * run again here and shrunk. Coverage and tallies add up what the workers ran (a worker stops
 * at its first divergence, so with a failure they can differ from a run with one job).
 */
function parallelSearch(
  differential: DifferentialRunner,
  model: string,
  cwd: string,
  declared: DeclaredDifferences,
  runs: number,
  seed: number,
  plan: SequencePlan,
  jobs: number,
  stepTimeout?: number,
): { runs: number; divergence?: Divergence } {
  const items = DifferentialRunner.draw(runs, seed, 50, plan);
  const status = new SharedArrayBuffer(4 * (jobs * 2 + 1));
  const st = new Int32Array(status);
  const outs: SharedArrayBuffer[] = [];
  const workers: Worker[] = [];
  for (let k = 0; k < jobs; k++) {
    const out = new SharedArrayBuffer(4 * 1024 * 1024);
    outs.push(out);
    const share = items.filter((_, i) => i % jobs === k);
    workers.push(new Worker(path.join(__dirname, 'search_worker.js'), { workerData: { model, cwd, declared, stepTimeout, items: share, status, slot: k, out } }));
  }
  const done = st.length - 1;
  for (let n = Atomics.load(st, done); n < jobs; n = Atomics.load(st, done)) Atomics.wait(st, done, n);
  for (const w of workers) void w.terminate();
  let first: number | undefined;
  for (let k = 0; k < jobs; k++) {
    const length = Atomics.load(st, k * 2 + 1);
    if (length < 0) throw new Error(`--jobs: worker ${k + 1} wrote a result larger than its buffer`);
    const r = JSON.parse(Buffer.from(new Uint8Array(outs[k]).subarray(0, length)).toString('utf8')) as {
      error?: string;
      diverged?: number | null;
      coverage?: [string, number][];
      branches?: [string, number][];
      tally?: [string, number][];
    };
    if (r.error !== undefined) throw new Error(`--jobs: worker ${k + 1}: ${r.error}`);
    for (const [key, v] of r.coverage ?? []) differential.coverage.set(key, (differential.coverage.get(key) ?? 0) + v);
    for (const [key, v] of r.tally ?? []) differential.tally.set(key, (differential.tally.get(key) ?? 0) + v);
    for (const [key, v] of r.branches ?? []) differential.branches.set(key, (differential.branches.get(key) ?? 0) + v);
    if (typeof r.diverged === 'number' && (first === undefined || r.diverged < first)) first = r.diverged;
  }
  if (first === undefined) return { runs };
  const item = items[first - 1];
  const found = differential.run(item.ops, item.options);
  if (found === undefined) throw new Error(`--jobs: sequence ${first} diverged in a worker but not when run again (an implementation that is not deterministic?)`);
  return { runs: first, divergence: differential.shrink(found) };
}

/** A module as reports name it: a path by its file name without the extension, a package by its name. */
export function moduleLabel(moduleName: string): string {
  if (moduleName.startsWith('.') || path.isAbsolute(moduleName) || /\.[cm]?js$/.test(moduleName)) {
    return path.basename(moduleName).replace(/\.[cm]?js$/, '');
  }
  return moduleName;
}

/** Writes the scenario that replays a divergence; its path. */
function saveFailure(dir: string, d: Divergence, seed: number, sequence: number, what: string): string {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--save-failures ${dir}: cannot create the directory (${(e as { code?: string }).code ?? String(e)})`);
  }
  const name = `random-seed${seed}-sequence${sequence}`;
  const file = path.join(dir, `${name}.json`);
  const scenario = divergenceScenario(d, name, `replays: ${what}`);
  fs.writeFileSync(file, JSON.stringify(scenario, null, 2) + '\n');
  return file;
}

/** The result as a text table (scenario, result, what differed), then the traces of failures. */
export function formatConformanceTable(result: ConformanceResult): string {
  const oneLine = (r: ConformanceRow) => (r.passed ? '' : r.differences.join('; '));
  const header = ['scenario', 'result', 'what differed'];
  const body = result.rows.map((r) => [r.scenario, r.passed ? 'pass' : 'FAIL', oneLine(r)]);
  const w0 = Math.max(header[0].length, ...body.map((b) => b[0].length));
  const w1 = 6;
  const line = (cells: string[]) => `${cells[0].padEnd(w0)}  ${cells[1].padEnd(w1)}  ${cells[2]}`.trimEnd();
  const out = [`implementation: ${result.implementation}`, line(header), `${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(13)}`];
  for (const b of body) out.push(line(b));
  const failed = result.rows.filter((r) => !r.passed).length;
  out.push('', failed === 0 ? `all ${result.rows.length} passed` : `${failed} of ${result.rows.length} failed`);
  if (result.declared.length > 0) {
    out.push('', 'declared differences (compared modulo these, not failures):');
    for (const d of result.declared) out.push(`  ${d.name}: ${d.reason} — decided ${d.masked} comparison(s)`);
  }
  if (result.coverage !== undefined) {
    const entries = Object.entries(result.coverage);
    const w = Math.max(0, ...entries.map(([k]) => k.length));
    out.push('', 'behaviour coverage of the random sequences (what real OpenSSL did, how often):');
    for (const [k, n] of entries) out.push(`  ${k.padEnd(w)}  ${n}`);
  }
  if (result.branches !== undefined) out.push('', ...formatBranchCoverage(result.branches));
  for (const r of result.rows) {
    if (r.trace !== undefined) out.push('', `minimal trace (${r.scenario}):`, formatTraceSteps(r.trace, r.options, 'OpenSSL 1.0.2h', result.implementation));
    if (r.saved !== undefined) out.push(`saved: ${r.saved} (re-run: conformance --model … ${r.saved})`);
  }
  return out.join('\n');
}

/** The branch coverage as table lines: reached branches and catalogue behaviours with counts, then the ones never reached. */
export function formatBranchCoverage(b: BranchCoverage): string[] {
  const out: string[] = [];
  const reached = b.branches.filter((x) => x.count > 0);
  const wb = Math.max(0, ...b.branches.map((x) => x.key.length));
  out.push(`OpenSSL branches the random sequences reached (${reached.length} of ${b.branches.length}; how often, where):`);
  for (const x of reached) out.push(`  ${x.key.padEnd(wb)}  ${String(x.count).padStart(6)}  ${x.where}: ${x.what}`);
  const unreachedBranches = b.branches.filter((x) => x.count === 0);
  if (unreachedBranches.length > 0) {
    out.push('  never reached:');
    for (const x of unreachedBranches) out.push(`    ${x.key.padEnd(wb)}  ${x.where}: ${x.what}`);
  }
  const hit = b.catalogue.filter((x) => x.count > 0);
  const ws = Math.max(0, ...b.catalogue.map((x) => x.scenario.length));
  out.push('', `catalogue behaviours the random sequences reached (${hit.length} of ${b.catalogue.length}; all their branches, how often):`);
  for (const x of hit) out.push(`  ${x.scenario.padEnd(ws)}  ${String(x.count).padStart(6)}  ${x.branches.join(', ')}`);
  const missed = b.catalogue.filter((x) => x.count === 0);
  if (missed.length > 0) {
    out.push('  never reached (only the catalogue scenario tests them):');
    for (const x of missed) out.push(`    ${x.scenario.padEnd(ws)}  needs ${x.branches.filter((k) => (b.branches.find((y) => y.key === k)?.count ?? 0) === 0).join(', ')}`);
  }
  return out;
}
