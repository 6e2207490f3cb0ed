import { CacheFactory, disposeCache } from './cache_factory';
import { DeclaredDifferences, DeclaredTally } from './declared';
import { matchExpectation } from './match';
import { NameTable } from './name_table';
import { Scenario, parseId, parseMode } from './scenario';
import { ScenarioError } from './scenario_error';
import { executeStep, formatStep, freeOutcome, isHandleMark, renderOutcome } from './step_executor';
import { SessionCacheOptions } from '../model/session_cache';

export interface ScenarioReport {
  name: string;
  passed: boolean;
  /** steps executed (counting repeats once) */
  steps: number;
  /** what differed: the first failing step's differences, or a scenario error */
  differences: string[];
}

/** The `SessionCacheOptions` of a scenario (`mode` names resolved). */
export function scenarioOptions(scenario: Scenario): SessionCacheOptions {
  const o = scenario.options ?? {};
  const options: SessionCacheOptions = {};
  if (o.mode !== undefined) options.mode = parseMode(o.mode);
  if (o.cacheSize !== undefined) options.cacheSize = o.cacheSize;
  if (o.timeout !== undefined) options.timeout = o.timeout;
  if (o.role !== undefined) options.role = o.role;
  if (o.idContext !== undefined) options.idContext = parseId(o.idContext, 'option "idContext"');
  if (o.verifyPeer !== undefined) options.verifyPeer = o.verifyPeer;
  return options;
}

/**
 * Runs scenarios against one `SessionCache` implementation: a fresh cache per scenario,
 * every step executed and checked against its expectation, stopping at the first step
 * that differs.
 */
export class ScenarioRunner {
  /** how often each declared difference decided an expectation */
  readonly tally: DeclaredTally = new Map();

  constructor(
    private readonly factory: CacheFactory,
    private readonly declared: DeclaredDifferences = {},
  ) {}

  run(scenario: Scenario): ScenarioReport {
    const report: ScenarioReport = { name: scenario.name, passed: true, steps: 0, differences: [] };
    let cache;
    try {
      cache = this.factory(scenarioOptions(scenario));
    } catch (e) {
      return { ...report, passed: false, differences: [`the factory threw: ${e instanceof Error ? e.message : String(e)}`] };
    }
    const names = new NameTable();
    try {
      for (const [index, step] of scenario.steps.entries()) {
        report.steps++;
        const label = `step ${index + 1} (${formatStep(step)})`;
        const times = step.repeat ?? 1;
        for (let i = 0; i < times; i++) {
          const outcome = executeStep(cache, step, names);
          const iteration = times > 1 ? ` [run ${i + 1} of ${times}]` : '';
          const diffs =
            step.expect !== undefined
              ? matchExpectation(step.op, step.expect, outcome, names)
              : outcome.ok
                ? []
                : [`unexpected ${renderOutcome(outcome, names)} (${outcome.message})`];
          if (diffs.length > 0 && step.expect !== undefined && outcome.ok && declaredMatch(step.op, step.expect, outcome.value, names, this.declared, this.tally)) {
            diffs.length = 0;
          }
          if (diffs.length > 0) {
            report.passed = false;
            report.differences = diffs.map((d) => `${label}${iteration}: ${d}`);
            return report;
          }
          if (step.free) freeOutcome(cache, outcome);
        }
      }
      return report;
    } catch (e) {
      const what = e instanceof ScenarioError ? 'scenario error' : 'runner error';
      report.passed = false;
      report.differences = [`step ${report.steps}: ${what}: ${e instanceof Error ? e.message : String(e)}`];
      return report;
    } finally {
      try {
        disposeCache(cache);
      } catch {
        // a failing dispose must not hide the scenario's result
      }
    }
  }
}

/**
 * Whether an expectation that did not match holds modulo the declared differences: a
 * `stats` expectation without the fields declared as not kept, a `takeEvents` expectation
 * whose runs of `remove` events name the same sessions in another order. Counts the
 * declaration that decided it.
 */
function declaredMatch(op: string, expected: unknown, actual: unknown, names: NameTable, declared: DeclaredDifferences, tally: DeclaredTally): boolean {
  const bump = (name: string) => tally.set(name, (tally.get(name) ?? 0) + 1);
  if (op === 'stats' && declared.stats !== undefined && expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    const e = { ...(expected as Record<string, unknown>) };
    const a = actual as Record<string, unknown>;
    const masked = Object.keys(declared.stats).filter((f) => f in e && e[f] !== a[f]);
    if (masked.length === 0) return false;
    for (const f of masked) delete e[f];
    if (matchExpectation('stats', e, { ok: true, value: actual }, names).length > 0) return false;
    for (const f of masked) bump(`stats.${f}`);
    return true;
  }
  if (op === 'takeEvents' && declared.removeOrder !== undefined && Array.isArray(expected) && Array.isArray(actual) && expected.length === actual.length) {
    const events = actual as { type: string; session: unknown }[];
    const reordered = [...events];
    let i = 0;
    while (i < events.length) {
      if (events[i].type !== 'remove') {
        i++;
        continue;
      }
      let j = i;
      while (j < events.length && events[j].type === 'remove') j++;
      // the expected entries at these places, as handles
      const want: number[] = [];
      for (let k = i; k < j; k++) {
        const e = expected[k] as { type?: unknown; session?: unknown } | null;
        const h = e !== null && typeof e === 'object' && e.type === 'remove' && typeof e.session === 'string' ? names.lookup(e.session) : undefined;
        if (h === undefined) return false;
        want.push(h);
      }
      const have = events.slice(i, j).map((e) => (isHandleMark(e.session) ? e.session.$handle : -1));
      if ([...want].sort((x, y) => x - y).join() !== [...have].sort((x, y) => x - y).join()) return false;
      for (let k = i; k < j; k++) reordered[k] = { type: 'remove', session: { $handle: want[k - i] } };
      i = j;
    }
    if (matchExpectation('takeEvents', expected, { ok: true, value: reordered }, names).length > 0) return false;
    bump('removeOrder');
    return true;
  }
  return false;
}
