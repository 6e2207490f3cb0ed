import { CacheFactory, disposeCache } from './cache_factory';
import { matchExpectation } from './match';
import { NameTable } from './name_table';
import { Scenario, parseId, parseMode } from './scenario';
import { ScenarioError } from './scenario_error';
import { executeStep, formatStep, freeOutcome, renderOutcome } from './step_executor';
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
  constructor(private readonly factory: CacheFactory) {}

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
