import { SessionCache, SessionCacheOptions } from '../model/session_cache';
import { CacheFactory, disposeCache } from './cache_factory';
import { NameTable } from './name_table';
import { Prng } from './prng';
import { RandomOp, RandomOpWeights, RunState, newRunState, randomRunOptions, randomSequence, resolveOp } from './random_ops';
import { Step } from './scenario';
import { Outcome, executeStep, formatStep, freeOutcome, marksOf, renderOutcome } from './step_executor';

/** One executed step of a differential run, as the reference saw it. */
export interface TraceLine {
  step: Step;
  /** the reference's outcome, rendered */
  outcome: string;
}

export interface Divergence {
  /** the steps up to and including the one that diverged */
  trace: TraceLine[];
  /** what was compared: `result`, `references(#2)`, `stats`, `sessions()` */
  what: string;
  reference: string;
  candidate: string;
  /** the abstract ops that produced the trace */
  ops: RandomOp[];
  /** the options both caches were made with */
  options: SessionCacheOptions;
  /** how many of `ops` ran up to the divergence (the rest never mattered) */
  opCount: number;
}

interface Side {
  cache: SessionCache;
  names: NameTable;
}

/**
 * Runs the same random operation sequences against a reference `SessionCache` (real
 * OpenSSL) and a candidate in lockstep. After every step it compares the results
 * (values, thrown error codes, the sessions handed out), then the reference counts of
 * every session the caller holds, `stats()` and the list order of `sessions()`.
 * `takeEvents` steps compare event sequences; a final `takeEvents` ends each run.
 */
export class DifferentialRunner {
  constructor(
    private readonly reference: CacheFactory,
    private readonly candidate: CacheFactory,
  ) {}

  /** Runs one sequence; the first divergence, or undefined when both agree throughout. */
  run(ops: readonly RandomOp[], options: SessionCacheOptions = {}): Divergence | undefined {
    const ref: Side = { cache: this.reference({ ...options }), names: new NameTable() };
    let cand: Side;
    try {
      cand = { cache: this.candidate({ ...options }), names: new NameTable() };
    } catch (e) {
      disposeCache(ref.cache);
      throw e;
    }
    const state = newRunState(options);
    const held = new Map<string, number>();
    const trace: TraceLine[] = [];
    let opCount = 0;
    const diverge = (what: string, r: string, c: string): Divergence => ({
      trace,
      what,
      reference: r,
      candidate: c,
      ops: [...ops],
      options,
      opCount: Math.min(opCount, ops.length),
    });
    try {
      const final: RandomOp = { kind: 'takeEvents', a: 0, b: 0, c: 0, d: 0 };
      for (const op of [...ops, final]) {
        opCount++;
        const step = resolveOp(op, state);
        if (step === undefined) continue;
        const times = step.repeat ?? 1;
        const single: Step = { ...step, repeat: undefined };
        for (let i = 0; i < times; i++) {
          const r = this.execute(ref, single);
          const c = this.execute(cand, single);
          const line: TraceLine = { step, outcome: r.text };
          if (i === 0) trace.push(line);
          else trace[trace.length - 1] = { step, outcome: `${r.text} (run ${i + 1} of ${times})` };
          if (r.text !== c.text) return diverge('result', r.text, c.text);
          this.account(step, r.outcome, ref.names, state, held);
          if (step.free) {
            freeOutcome(ref.cache, r.outcome);
            freeOutcome(cand.cache, c.outcome);
          }
          const d = this.observe(ref, cand, held, state);
          if (d !== undefined) return diverge(d.what, d.reference, d.candidate);
        }
      }
      return undefined;
    } finally {
      disposeCache(ref.cache);
      disposeCache(cand.cache);
    }
  }

  /**
   * Draws `count` sequences from `seed` and returns the first divergence, shrunk.
   * `weights` overrides the relative frequency of op kinds (e.g. `{ burst: 4 }` to reach
   * the automatic flush more often).
   */
  search(count: number, seed: number, maxLength = 50, weights: RandomOpWeights = {}): { runs: number; divergence?: Divergence } {
    const prng = new Prng(seed);
    for (let i = 0; i < count; i++) {
      const options = randomRunOptions(prng);
      const ops = randomSequence(prng, maxLength, weights);
      const found = this.run(ops, options);
      if (found !== undefined) return { runs: i + 1, divergence: this.shrink(found) };
    }
    return { runs: count };
  }

  /**
   * Makes a divergence minimal: removes chunks of ops (halves, quarters, … single ops)
   * as long as the sequence still diverges (first of all the ops after the divergent one).
   */
  shrink(divergence: Divergence): Divergence {
    let best = divergence;
    let ops = best.ops;
    // the ops after the diverging one never ran: drop them first (the run is deterministic)
    if (best.opCount < ops.length) {
      const found = this.run(ops.slice(0, best.opCount), best.options);
      if (found !== undefined) {
        best = found;
        ops = found.ops;
      }
    }
    for (let chunk = Math.max(1, Math.floor(ops.length / 2)); chunk >= 1; chunk = Math.floor(chunk / 2)) {
      let start = 0;
      while (start < ops.length) {
        const candidate = [...ops.slice(0, start), ...ops.slice(start + chunk)];
        const found = candidate.length > 0 ? this.run(candidate, best.options) : undefined;
        if (found !== undefined) {
          best = found;
          ops = candidate;
        } else {
          start += chunk;
        }
      }
      if (chunk === 1) break;
    }
    return best;
  }

  private execute(side: Side, step: Step): { outcome: Outcome; text: string } {
    const outcome = executeStep(side.cache, step, side.names);
    return { outcome, text: renderOutcome(outcome, side.names) };
  }

  /** Updates the run state and the caller's reference counts after a step. */
  private account(step: Step, outcome: Outcome, names: NameTable, state: RunState, held: Map<string, number>): void {
    for (const name of names.names()) if (!state.names.includes(name)) state.names.push(name);
    if (!outcome.ok) return;
    const gained = step.op === 'freeSession' ? [] : marksOf(outcome.value).map((h) => names.nameOf(h));
    if (!step.free) for (const name of gained) held.set(name, (held.get(name) ?? 0) + 1);
    if (step.op === 'freeSession' && typeof step.args?.session === 'string') {
      held.set(step.args.session, (held.get(step.args.session) ?? 0) - 1);
    }
    const args = step.args ?? {};
    if (step.op === 'createSession') state.idOf.set(names.nameOf(marksOf(outcome.value)[0]), String(args.id));
    if (step.op === 'handshake' && typeof args.id === 'string') {
      const r = outcome.value as { resumed: boolean };
      const name = names.nameOf(marksOf(outcome.value)[0]);
      if (!r.resumed && !state.idOf.has(name)) state.idOf.set(name, args.id);
    }
  }

  /** Compares references of every held session, stats() and sessions() (whose references are given back). */
  private observe(
    ref: Side,
    cand: Side,
    held: Map<string, number>,
    state: RunState,
  ): { what: string; reference: string; candidate: string } | undefined {
    for (const [name, count] of held) {
      if (count <= 0) continue;
      const step: Step = { op: 'references', args: { session: name } };
      const r = this.execute(ref, step).text;
      const c = this.execute(cand, step).text;
      if (r !== c) return { what: `references(${name})`, reference: r, candidate: c };
    }
    const stats: Step = { op: 'stats' };
    const rsOutcome = this.execute(ref, stats);
    const rs = rsOutcome.text;
    if (rsOutcome.outcome.ok) {
      const v = rsOutcome.outcome.value as { acceptGood: number; connectGood: number };
      state.good = v.acceptGood + v.connectGood;
    }
    const cs = this.execute(cand, stats).text;
    if (rs !== cs) return { what: 'stats()', reference: rs, candidate: cs };
    const list: Step = { op: 'sessions' };
    const rl = this.execute(ref, list);
    const cl = this.execute(cand, list);
    freeOutcome(ref.cache, rl.outcome);
    if (cl.outcome.ok) freeOutcome(cand.cache, cl.outcome);
    if (rl.text !== cl.text) return { what: 'sessions()', reference: rl.text, candidate: cl.text };
    return undefined;
  }
}

/** A divergence as readable text: the minimal trace, then what differed. */
export function formatDivergence(d: Divergence, referenceLabel = 'OpenSSL 1.0.2h', candidateLabel = 'candidate'): string {
  const lines = Object.keys(d.options).length > 0 ? [`  options ${formatOptions(d.options)}`] : [];
  lines.push(...d.trace.map((t, i) => `  ${String(i + 1).padStart(2)}. ${formatStep(t.step)}  →  ${t.outcome}`));
  const last = d.trace.length;
  lines.push(d.what === "result" ? `  at step ${last}, the result:` : `  after step ${last}, ${d.what}:`);
  lines.push(`    ${referenceLabel}: ${d.reference}`);
  lines.push(`    ${candidateLabel}: ${d.candidate}`);
  return lines.join('\n');
}

/** Cache options as JSON (ids as hex). */
export function formatOptions(options: SessionCacheOptions): string {
  return JSON.stringify(options, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v,
  );
}
