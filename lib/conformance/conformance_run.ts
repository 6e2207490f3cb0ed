import * as fs from 'node:fs';
import { OpenSSLCache } from '../model/openssl_cache';
import { CacheFactory } from './cache_factory';
import { CATALOGUE } from './catalogue';
import { DifferentialRunner, Divergence } from './differential_runner';
import { loadCacheFactory } from './model_loader';
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
}

export interface ConformanceResult {
  implementation: string;
  passed: boolean;
  rows: ConformanceRow[];
}

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
  const real: CacheFactory = (o) => new OpenSSLCache(o);
  const factory = options.factory ?? (options.model !== undefined ? loadCacheFactory(options.model, options.cwd) : undefined);
  const target = factory ?? real;
  const rows: ConformanceRow[] = [];
  const runner = new ScenarioRunner(target);
  const scenarios: { scenario: Scenario; source: 'catalogue' | 'file' }[] = [];
  if (!options.noCatalogue) for (const s of CATALOGUE) scenarios.push({ scenario: s, source: 'catalogue' });
  for (const file of options.scenarioFiles ?? []) scenarios.push({ scenario: readScenarioFile(file), source: 'file' });
  for (const { scenario, source } of scenarios) {
    const report = runner.run(scenario);
    rows.push({ scenario: scenario.name, source, passed: report.passed, differences: report.differences });
  }
  if (factory !== undefined) {
    const runs = options.runs ?? 300;
    const seed = options.seed ?? 1;
    const name = `random sequences (${runs}, seed ${seed})`;
    let divergence: Divergence | undefined;
    let done = runs;
    try {
      const found = new DifferentialRunner(real, factory).search(runs, seed);
      divergence = found.divergence;
      done = found.runs;
    } catch (e) {
      rows.push({ scenario: name, source: 'random', passed: false, differences: [`error: ${e instanceof Error ? e.message : String(e)}`] });
    }
    if (divergence !== undefined) {
      rows.push({
        scenario: name,
        source: 'random',
        passed: false,
        differences: [
          `sequence ${done} diverged after ${divergence.trace.length} step(s) (shrunk): ${divergence.what}: ` +
            `OpenSSL ${divergence.reference}, model ${divergence.candidate}`,
        ],
        trace: traceSteps(divergence),
        options: divergence.options,
      });
    } else if (!rows.some((r) => r.source === 'random')) {
      rows.push({ scenario: name, source: 'random', passed: true, differences: [] });
    }
  }
  return {
    implementation: options.model ?? (options.factory ? 'custom factory' : 'OpenSSL 1.0.2h (OpenSSLCache)'),
    passed: rows.every((r) => r.passed),
    rows,
  };
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
  for (const r of result.rows) {
    if (r.trace !== undefined) out.push('', `minimal trace (${r.scenario}):`, formatTraceSteps(r.trace, r.options));
  }
  return out.join('\n');
}
