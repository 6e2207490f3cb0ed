/**
 * A shrunk divergence as a scenario file (`--save-failures DIR`): every step of the trace
 * with real OpenSSL's result as its expectation, and the comparison that failed as the
 * last step, so `conformance --model M DIR/x.json` stops at the same place with the same
 * two values, and the file passes against real OpenSSL.
 */

import { SessionCacheOptions } from '../model/session_cache';
import { Divergence } from './differential_runner';
import { Scenario, ScenarioOptions, Step } from './scenario';

/** A rendered outcome (`JSON` or `throws CODE`) as an expectation. */
function expectation(text: string): unknown {
  if (text.startsWith('throws ')) return { throws: text.slice('throws '.length) };
  return JSON.parse(text) as unknown;
}

/** `SessionCacheOptions` in the scenario's JSON form (idContext as hex). */
export function scenarioOptionsOf(options: SessionCacheOptions): ScenarioOptions | undefined {
  const o: ScenarioOptions = {};
  if (options.mode !== undefined) o.mode = options.mode;
  if (options.cacheSize !== undefined) o.cacheSize = options.cacheSize;
  if (options.timeout !== undefined) o.timeout = options.timeout;
  if (options.role !== undefined) o.role = options.role;
  if (options.idContext !== undefined) o.idContext = Buffer.from(options.idContext).toString('hex');
  if (options.verifyPeer !== undefined) o.verifyPeer = options.verifyPeer;
  return Object.keys(o).length > 0 ? o : undefined;
}

/** The observation a divergence seen after a step names (`stats()`, `references(#2)`, `sessions()`), as a step. */
function observationStep(what: string, reference: string): Step {
  const m = /^references\((.*)\)$/.exec(what);
  if (m !== null) return { op: 'references', args: { session: m[1] }, expect: expectation(reference) };
  if (what === 'sessions()') return { op: 'sessions', expect: expectation(reference), free: true };
  return { op: 'stats', expect: expectation(reference) };
}

/** The scenario that replays a divergence. */
export function divergenceScenario(d: Divergence, name: string, description: string): Scenario {
  const steps: Step[] = [];
  d.trace.forEach((line, i) => {
    const last = i === d.trace.length - 1;
    const expect = line.chosenId ? undefined : expectation(line.outcome);
    const repeat = line.step.repeat ?? 1;
    const base: Step = { op: line.step.op };
    if (line.step.args !== undefined && Object.keys(line.step.args).length > 0) base.args = { ...line.step.args };
    if (line.step.free) base.free = true;
    if (repeat > 1) {
      // the runs before the last one (their results vary: an automatic flush inside them)
      steps.push({ ...base, repeat: repeat - 1, note: `the first ${repeat - 1} runs of a burst of ${repeat}` });
    }
    const step: Step = { ...base };
    if (expect !== undefined) step.expect = expect;
    if (last && d.what === 'result') step.note = 'here the implementation diverged';
    steps.push(step);
  });
  if (d.what !== 'result') steps.push({ ...observationStep(d.what, d.reference), note: 'here the implementation diverged' });
  const scenario: Scenario = { name, description, steps };
  const options = scenarioOptionsOf(d.options);
  if (options !== undefined) scenario.options = options;
  return scenario;
}
