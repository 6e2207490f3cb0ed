import { SessionCache, SessionCacheOptions } from '../model/session_cache';
import { CacheFactory, disposeCache } from './cache_factory';
import { DeclaredDifferences, DeclaredTally, equalModulo, statsFieldDiffs } from './declared';
import { BranchTracker } from './branches';
import { NameTable } from './name_table';
import { Prng } from './prng';
import { SequencePlan } from './profiles';
import { ConcreteValue, RandomOp, RandomOpWeights, RunState, START_TIME, concreteValues, newRunState, randomRunOptions, randomSequence, resolveOp } from './random_ops';
import { Step } from './scenario';
import { Outcome, executeStep, formatStep, freeOutcome, marksOf, renderOutcome } from './step_executor';

/** One executed step of a differential run, as the reference saw it. */
export interface TraceLine {
  step: Step;
  /** the reference's outcome, rendered */
  outcome: string;
  /** the outcome shows an id the implementation chose (compared by identity, not bytes) */
  chosenId?: boolean;
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
  /** after shrinking: the size of the trace as first found */
  before?: TraceSize;
  /** the concrete values each op that ran resolved to (what value shrinking lowers), by op index */
  values: ConcreteValue[][];
  /** seconds the run's clock advanced up to the divergence */
  advanced: number;
  /** the run's state before each op that ran resolved (shrinking skips changes that resolve the same) */
  states: RunState[];
  /** the candidate's error message when it threw (e.g. which call timed out) */
  message?: string;
}

/** How big a divergence's trace is: steps, calls (each run of a repeated step counts), seconds of clock advances. */
export interface TraceSize {
  steps: number;
  calls: number;
  advanced: number;
}

export function sizeOf(d: Divergence): TraceSize {
  return { steps: d.trace.length, calls: d.trace.reduce((n, l) => n + (l.step.repeat ?? 1), 0), advanced: d.advanced };
}

/** `4 steps, 258 calls, clock +5 s` */
export function formatSize(s: TraceSize): string {
  return `${s.steps} steps, ${s.calls} calls, clock +${s.advanced} s`;
}

/** A copy of a run state (resolving an op changes the clock; names and ids grow). */
function copyState(state: RunState): RunState {
  return { ...state, names: [...state.names], idOf: new Map(state.idOf), counters: { ...state.counters } };
}

/** Whether two versions of op `i` of a divergence's run resolve to the same step and leave the same clock. */
function resolvesAlike(d: Divergence, i: number, a: RandomOp, b: RandomOp): boolean {
  const state = d.states[i];
  if (state === undefined) return false;
  const sign = (op: RandomOp) => {
    const s = copyState(state);
    return `${JSON.stringify(resolveOp(op, s)) ?? 'skipped'} ${s.clock}`;
  };
  return sign(a) === sign(b);
}

/** A candidate that did not answer or died (a shim, a hosted module): not shrunk, each re-run would wait again. */
export function lostCandidate(d: Divergence): boolean {
  return /^throws ERR_SHIM_(TIMEOUT|EXITED)$/.test(d.candidate);
}

interface Side {
  cache: SessionCache;
  names: NameTable;
  /** ids this side chose for new sessions (a handshake without `id`): hex → the session's name */
  chosen: Map<string, string>;
}

/**
 * Runs the same random operation sequences against a reference `SessionCache` (real
 * OpenSSL) and a candidate in lockstep. After every step it compares the results
 * (values, thrown error codes, the sessions handed out), then the reference counts of
 * every session the caller holds, `stats()` and the list order of `sessions()`.
 * `takeEvents` steps compare event sequences; a final `takeEvents` ends each run.
 */
export class DifferentialRunner {
  /** how often each declared difference decided a comparison */
  readonly tally: DeclaredTally = new Map();
  /** behaviour coverage of the sequences `search` drew (not of shrinking): what real OpenSSL did, how often */
  readonly coverage = new Map<string, number>();
  /** OpenSSL branches the sequences `search` drew reached (branches.ts), how often */
  readonly branches = new Map<string, number>();
  /** the reference's stats() after the last step (branch coverage) */
  private lastStats: Record<string, number> | undefined;
  private recording = false;
  /** operations run on the candidate so far (each run of a repeated step counts): shrinking's budget */
  private calls = 0;

  constructor(
    private readonly reference: CacheFactory,
    private readonly candidate: CacheFactory,
    private readonly declared: DeclaredDifferences = {},
  ) {}

  /** Runs one sequence; the first divergence, or undefined when both agree throughout. */
  run(ops: readonly RandomOp[], options: SessionCacheOptions = {}): Divergence | undefined {
    const ref: Side = { cache: this.reference({ ...options }), names: new NameTable(), chosen: new Map() };
    let cand: Side;
    try {
      cand = { cache: this.candidate({ ...options }), names: new NameTable(), chosen: new Map() };
    } catch (e) {
      disposeCache(ref.cache);
      throw e;
    }
    const state = newRunState(options);
    const tracker = this.recording ? new BranchTracker(options) : undefined;
    this.lastStats = undefined;
    const held = new Map<string, number>();
    const trace: TraceLine[] = [];
    const values: ConcreteValue[][] = [];
    const states: RunState[] = [];
    let opCount = 0;
    const diverge = (what: string, r: string, c: string, message?: string): Divergence => ({
      trace,
      what,
      reference: r,
      candidate: c,
      ops: [...ops],
      options,
      opCount: Math.min(opCount, ops.length),
      values: values.slice(0, ops.length),
      states: states.slice(0, ops.length),
      advanced: state.clock - START_TIME,
      ...(message !== undefined ? { message } : {}),
    });
    try {
      const final: RandomOp = { kind: 'takeEvents', a: 0, b: 0, c: 0, d: 0 };
      for (const op of [...ops, final]) {
        opCount++;
        values.push(concreteValues(op, state));
        states.push(copyState(state));
        const step = resolveOp(op, state);
        if (step === undefined) continue;
        const times = step.repeat ?? 1;
        const single: Step = { ...step, repeat: undefined };
        for (let i = 0; i < times; i++) {
          this.calls++;
          const goodBefore = state.good;
          const r = this.execute(ref, single);
          const c = this.execute(cand, single);
          // a burst is shown as the runs done so far: the trace replays to this very run
          const line: TraceLine = { step: times > 1 ? { ...step, repeat: i + 1 } : step, outcome: r.text };
          if (r.chosenId) line.chosenId = true;
          if (i === 0) trace.push(line);
          else trace[trace.length - 1] = line;
          if (this.recording) this.cover(single, r.outcome, state.good);
          if (!equalModulo(single.op, r.text, c.text, this.declared, this.tally)) return diverge('result', r.text, c.text, c.outcome.ok ? undefined : c.outcome.message);
          this.account(step, r.outcome, ref.names, state, held);
          if (single.op === 'handshake' && single.args?.id === undefined) {
            this.noteChosenId(ref, r.outcome);
            this.noteChosenId(cand, c.outcome);
          }
          if (step.free) {
            freeOutcome(ref.cache, r.outcome);
            freeOutcome(cand.cache, c.outcome);
          }
          const d = this.observe(ref, cand, held, state);
          if (d !== undefined) return diverge(d.what, d.reference, d.candidate, d.message);
          if (tracker !== undefined) {
            const gained = r.outcome.ok ? marksOf(r.outcome.value).map((h) => ref.names.nameOf(h)) : [];
            for (const b of tracker.step(single, r.outcome, this.lastStats, gained, goodBefore, state.clock)) this.branches.set(b, (this.branches.get(b) ?? 0) + 1);
          }
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
  search(count: number, seed: number, maxLength = 50, weights: RandomOpWeights | SequencePlan = {}): { runs: number; divergence?: Divergence } {
    const prng = new Prng(seed);
    const plan: SequencePlan = typeof weights === 'function' ? weights : () => ({ weights });
    for (let i = 0; i < count; i++) {
      const p = plan(i + 1);
      const options = randomRunOptions(prng, p.runOptionWeights);
      const ops = randomSequence(prng, maxLength, p.weights);
      this.recording = true;
      let found: Divergence | undefined;
      try {
        found = this.run(ops, options);
      } finally {
        this.recording = false;
      }
      if (found !== undefined) return { runs: i + 1, divergence: this.shrink(found) };
    }
    return { runs: count };
  }

  /** `run`, counted in the coverage (as `search` counts the sequences it draws). */
  runRecorded(ops: readonly RandomOp[], options: SessionCacheOptions = {}): Divergence | undefined {
    this.recording = true;
    try {
      return this.run(ops, options);
    } finally {
      this.recording = false;
    }
  }

  /** The sequences `search` would draw: index (1-based), options and ops. */
  static draw(count: number, seed: number, maxLength = 50, plan: SequencePlan = () => ({ weights: {} })): { index: number; options: SessionCacheOptions; ops: RandomOp[] }[] {
    const prng = new Prng(seed);
    const out: { index: number; options: SessionCacheOptions; ops: RandomOp[] }[] = [];
    for (let i = 1; i <= count; i++) {
      const p = plan(i);
      const options = randomRunOptions(prng, p.runOptionWeights);
      out.push({ index: i, options, ops: randomSequence(prng, maxLength, p.weights) });
    }
    return out;
  }

  /**
   * Runs sequence number `sequence` (1-based) of `seed` alone, as `search` draws it, and
   * shrinks a divergence; `{ runs: 1 }` when that sequence passes.
   */
  replay(seed: number, sequence: number, maxLength = 50, weights: RandomOpWeights | SequencePlan = {}): { runs: number; divergence?: Divergence } {
    const prng = new Prng(seed);
    const plan: SequencePlan = typeof weights === 'function' ? weights : () => ({ weights });
    for (let i = 1; i < sequence; i++) {
      const p = plan(i);
      randomRunOptions(prng, p.runOptionWeights);
      randomSequence(prng, maxLength, p.weights);
    }
    const p = plan(sequence);
    const options = randomRunOptions(prng, p.runOptionWeights);
    const ops = randomSequence(prng, maxLength, p.weights);
    const found = this.run(ops, options);
    return found === undefined ? { runs: 1 } : { runs: 1, divergence: this.shrink(found) };
  }

  /**
   * Makes a divergence minimal: removes chunks of ops (halves, quarters, … single ops)
   * as long as the sequence still diverges (first of all the ops after the divergent one).
   */
  shrink(divergence: Divergence): Divergence {
    // the tally counts the sequences as drawn, not their shrinking re-runs
    const tally = new Map(this.tally);
    const before = sizeOf(divergence);
    if (lostCandidate(divergence)) return { ...divergence, before };
    try {
      return { ...this.shrinkSteps(divergence), before };
    } finally {
      this.tally.clear();
      for (const [k, v] of tally) this.tally.set(k, v);
    }
  }

  private shrinkSteps(divergence: Divergence): Divergence {
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
    return this.shrinkValues(best, ops);
  }

  /**
   * Shrinks the values of the remaining ops, each change kept when the sequence still
   * diverges with no more steps and calls: first the numbers that choose ids, times,
   * timeouts, sizes, clock steps and burst lengths from their pools (towards 0, the first
   * entries) and the context (towards the default server); then the concrete values
   * themselves (`concreteValues`: clock advances, timeouts, session ages, cache sizes,
   * burst lengths), each by bisection down to the smallest that still diverges; then
   * single ops again (a value at its least can make an op unneeded). Bounded re-runs.
   */
  private shrinkValues(divergence: Divergence, ops: RandomOp[]): Divergence {
    let best = divergence;
    const calls = (d: Divergence) => d.trace.reduce((n, l) => n + (l.step.repeat ?? 1), 0);
    const noLarger = (d: Divergence) => d.trace.length <= best.trace.length && calls(d) <= calls(best);
    if (Object.keys(best.options).length > 0) {
      const found = this.run(ops, {});
      if (found !== undefined && noLarger(found)) best = found;
    }
    // at most 64 re-runs, and at most 2000 calls in all (a burst of handshakes is expensive)
    let runs = 64;
    let callBudget = 2000;
    const fields = ['a', 'b', 'c', 'd'] as const;
    for (let i = 0; i < ops.length && runs > 0; i++) {
      for (const f of fields) {
        for (const value of [0, ops[i][f] >> 1]) {
          if (runs <= 0 || callBudget < calls(best) || value >= ops[i][f]) continue;
          if (resolvesAlike(best, i, ops[i], { ...ops[i], [f]: value })) continue;
          runs--;
          callBudget -= calls(best);
          const candidate = ops.map((op, j) => (j === i ? { ...op, [f]: value } : op));
          const found = this.run(candidate, best.options);
          if (found !== undefined && noLarger(found)) {
            best = found;
            ops = candidate;
            break;
          }
        }
      }
    }
    // concrete values: at most 64 re-runs and 3000 calls as they ran (a burst is expensive)
    runs = 64;
    callBudget = 3000;
    const tryOps = (candidate: RandomOp[]): boolean => {
      if (runs <= 0 || callBudget <= 0) return false;
      // a change to one op that resolves to the same step and clock cannot change the run
      const changed = candidate.length === ops.length ? candidate.findIndex((op, j) => op !== ops[j]) : -1;
      if (changed >= 0 && candidate.every((op, j) => j === changed || op === ops[j]) && resolvesAlike(best, changed, ops[changed], candidate[changed])) return false;
      runs--;
      const before = this.calls;
      const found = this.run(candidate, best.options);
      callBudget -= this.calls - before;
      if (found === undefined || !noLarger(found)) return false;
      best = found;
      ops = candidate;
      return true;
    };
    const setting = (changes: [number, ConcreteValue, number][]) =>
      ops.map((op, j) => changes.reduce((o, [i, cv, value]) => (i === j ? { ...o, [cv.field]: value } : o), op));
    // bursts first (the most calls), then clock advances, then the rest in order
    const rank = (i: number) => (ops[i].kind === 'burst' ? 0 : ops[i].kind === 'advance' ? 1 : 2);
    const order = ops.map((_, i) => i).sort((x, y) => rank(x) - rank(y) || x - y);
    for (const i of order) {
      for (const [k] of (best.values[i] ?? []).entries()) {
        // re-read: an earlier change can move a value (a burst's length follows the handshakes before it)
        const cv = best.values[i]?.[k];
        if (cv === undefined || cv.value <= cv.least) continue;
        if (tryOps(setting([[i, cv, cv.least]]))) continue;
        // a burst that diverged inside itself, at its run r: cut to r runs, not bisected (a
        // shorter burst ends before the run that diverged)
        const runsDone = best.trace[best.trace.length - 1]?.step.repeat;
        if (cv.what === 'repeat' && i === best.opCount - 1 && runsDone !== undefined) {
          if (runsDone < cv.value) tryOps(setting([[i, cv, runsDone]]));
          continue;
        }
        // the smallest value that still diverges, by bisection (the value as it resolved is pinned)
        let high = cv.value;
        let low = cv.least;
        while (high - low > 1 && runs > 0 && callBudget > 0) {
          const mid = low + Math.floor((high - low) / 2);
          if (tryOps(setting([[i, cv, mid]]))) high = mid;
          else low = mid;
        }
      }
    }
    // a clock advance and a timeout lowered together (an expiry boundary stays where it is)
    for (let j = 0; j < ops.length; j++) {
      if (ops[j].kind !== 'advance') continue;
      for (let i = 0; i < ops.length; i++) {
        const timeouts = (best.values[i] ?? []).map((cv, k) => [cv, k] as const).filter(([cv]) => cv.what === 'timeout');
        for (const [, k] of timeouts) {
          const adv = best.values[j]?.[0];
          const cv = best.values[i]?.[k];
          if (adv === undefined || cv === undefined) continue;
          for (let delta = Math.min(adv.value, cv.value); delta >= 1; delta = Math.floor(delta / 2)) {
            if (tryOps(setting([[j, adv, adv.value - delta], [i, cv, cv.value - delta]]))) break;
          }
        }
      }
    }
    // ops whose values all went to their least (a clock advance of 0 does nothing): removed when they are not needed
    for (let i = ops.length - 1; i >= 0 && ops.length > 1; i--) {
      const values = best.values[i] ?? [];
      if (values.length > 0 && values.every((cv) => cv.value <= cv.least)) tryOps([...ops.slice(0, i), ...ops.slice(i + 1)]);
    }
    return best;
  }

  private execute(side: Side, step: Step): { outcome: Outcome; text: string; chosenId?: boolean } {
    const outcome = executeStep(side.cache, step, side.names);
    if (step.op === 'getSessionId' && outcome.ok && typeof outcome.value === 'string') {
      // an id this side chose is compared by identity: "the id chosen for #3" on both sides
      const name = side.chosen.get(outcome.value);
      if (name !== undefined) return { outcome, text: JSON.stringify(`<id chosen for ${name}>`), chosenId: true };
    }
    return { outcome, text: renderOutcome(outcome, side.names) };
  }

  private count(what: string): void {
    this.coverage.set(what, (this.coverage.get(what) ?? 0) + 1);
  }

  /** Behaviour coverage: what kind of result real OpenSSL gave a step. */
  private cover(step: Step, outcome: Outcome, goodBefore: number): void {
    if (!outcome.ok) {
      this.count(`${step.op} threw ${outcome.error}`);
      return;
    }
    const v = outcome.value;
    switch (step.op) {
      case 'handshake': {
        const r = v as { resumed: boolean };
        const callback = step.args?.callback === undefined ? '' : step.args.callback === null ? ' (callback finds nothing)' : ' (callback)';
        this.count(`handshake ${r.resumed ? 'resumed' : 'full'}${callback}`);
        if ((goodBefore & 0xff) === 0xff) this.count('handshake at the 256th good handshake (automatic flush)');
        break;
      }
      case 'add':
      case 'remove':
        this.count(`${step.op} returned ${String(v)}`);
        break;
      case 'get':
        this.count(`get ${v === null ? 'found nothing' : 'found a session'}`);
        break;
      case 'takeEvents': {
        const events = v as { type: string }[];
        if (events.some((e) => e.type === 'new')) this.count('events: new');
        if (events.some((e) => e.type === 'remove')) this.count('events: remove');
        if (events.filter((e) => e.type === 'remove').length > 1) this.count('events: several removes in one batch');
        break;
      }
      default:
        break;
    }
  }

  /** Records the id a side chose for the new session of a full handshake (without `id`). */
  private noteChosenId(side: Side, outcome: Outcome): void {
    if (!outcome.ok) return;
    const r = outcome.value as { resumed?: boolean };
    const handle = marksOf(outcome.value)[0];
    if (r.resumed || handle === undefined) return;
    let hex: string;
    try {
      hex = side.cache.getSessionId(handle).toString('hex');
    } catch {
      return;
    }
    if (hex.length > 0 && !side.chosen.has(hex)) side.chosen.set(hex, side.names.nameOf(handle));
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
  ): { what: string; reference: string; candidate: string; message?: string } | undefined {
    const why = (o: Outcome) => (o.ok ? {} : { message: o.message });
    for (const [name, count] of held) {
      if (count <= 0) continue;
      const step: Step = { op: 'references', args: { session: name } };
      const r = this.execute(ref, step).text;
      const c = this.execute(cand, step);
      if (r !== c.text) return { what: `references(${name})`, reference: r, candidate: c.text, ...why(c.outcome) };
    }
    const stats: Step = { op: 'stats' };
    const rsOutcome = this.execute(ref, stats);
    const rs = rsOutcome.text;
    if (rsOutcome.outcome.ok) {
      const v = rsOutcome.outcome.value as Record<string, number>;
      this.lastStats = v;
      state.good = v.acceptGood + v.connectGood;
      if (this.recording) {
        for (const k of ['hits', 'misses', 'cbHits', 'timeouts', 'cacheFull']) {
          if (v[k] > (state.counters[k] ?? 0)) this.count(`counter ${k} moved`);
          state.counters[k] = v[k];
        }
      }
    }
    const csOutcome = this.execute(cand, stats);
    const cs = csOutcome.text;
    if (!equalModulo('stats', rs, cs, this.declared, this.tally)) return { what: 'stats()', reference: rs, candidate: cs, ...why(csOutcome.outcome) };
    const list: Step = { op: 'sessions' };
    const rl = this.execute(ref, list);
    const cl = this.execute(cand, list);
    freeOutcome(ref.cache, rl.outcome);
    if (cl.outcome.ok) freeOutcome(cand.cache, cl.outcome);
    if (rl.text !== cl.text) return { what: 'sessions()', reference: rl.text, candidate: cl.text, ...why(cl.outcome) };
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
  if (d.what === 'stats()') for (const f of statsFieldDiffs(d.reference, d.candidate, referenceLabel, candidateLabel)) lines.push(`    differs: ${f}`);
  return lines.join('\n');
}

/** Cache options as JSON (ids as hex). */
export function formatOptions(options: SessionCacheOptions): string {
  return JSON.stringify(options, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v,
  );
}
