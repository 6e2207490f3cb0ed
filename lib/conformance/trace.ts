/**
 * Structured traces of a divergence (`--json`, the reporters): one entry per executed
 * step with its operation, arguments, what real OpenSSL returned (`expected`) and what
 * the implementation under test returned (`actual`); a last entry for an observation
 * (`stats`, `references`, `sessions`) when that is what differed.
 */

import { Divergence, formatOptions } from './differential_runner';
import { formatStep } from './step_executor';
import { Operation } from './scenario';
import { SessionCacheOptions } from '../model/session_cache';

export interface TraceStep {
  operation: Operation;
  arguments: Record<string, unknown>;
  /** real OpenSSL's result: a value (sessions by name), or `{ throws: CODE }` */
  expected: unknown;
  /** the implementation's result (equal to `expected` except in the diverging entry) */
  actual: unknown;
  /** `true` on the entry where the two differ */
  diverged?: boolean;
  /** a step repeated N times (a burst of handshakes); the results are those of the last run */
  repeat?: number;
  /** the step gave back the references its result handed out */
  free?: boolean;
}

/** An outcome as rendered by the step executor (`JSON` or `throws CODE`), as a value. */
function outcomeValue(text: string): unknown {
  const t = text.replace(/ \(run \d+ of \d+\)$/, '');
  if (t.startsWith('throws ')) return { throws: t.slice('throws '.length) };
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return t;
  }
}

/** The trace of a divergence as structured steps. */
export function traceSteps(d: Divergence): TraceStep[] {
  const steps: TraceStep[] = d.trace.map((line, i) => {
    const last = i === d.trace.length - 1;
    const expected = outcomeValue(line.outcome);
    const entry: TraceStep = {
      operation: line.step.op,
      arguments: { ...(line.step.args ?? {}) },
      expected,
      actual: last && d.what === 'result' ? outcomeValue(d.candidate) : expected,
    };
    if (last && d.what === 'result') entry.diverged = true;
    if (line.step.repeat !== undefined && line.step.repeat > 1) entry.repeat = line.step.repeat;
    if (line.step.free) entry.free = true;
    return entry;
  });
  if (d.what !== 'result') {
    const m = /^(\w+)\((.*)\)$/.exec(d.what);
    const op = (m?.[1] ?? d.what) as Operation;
    steps.push({
      operation: op,
      arguments: m !== null && m[2] !== '' ? { session: m[2] } : {},
      expected: outcomeValue(d.reference),
      actual: outcomeValue(d.candidate),
      diverged: true,
    });
  }
  return steps;
}

/** Structured steps as readable lines (the same shape formatDivergence prints). */
export function formatTraceSteps(
  steps: readonly TraceStep[],
  options?: SessionCacheOptions,
  referenceLabel = 'OpenSSL 1.0.2h',
  candidateLabel = 'model',
): string {
  const lines = options !== undefined && Object.keys(options).length > 0 ? [`  options ${formatOptions(options)}`] : [];
  steps.forEach((s, i) => {
    const step = formatStep({ op: s.operation, args: s.arguments, repeat: s.repeat, free: s.free });
    const shown = (v: unknown) => JSON.stringify(v);
    if (s.diverged) {
      lines.push(`  ${String(i + 1).padStart(2)}. ${step}`);
      lines.push(`      ${referenceLabel}: ${shown(s.expected)}`);
      lines.push(`      ${candidateLabel}: ${shown(s.actual)}`);
    } else {
      lines.push(`  ${String(i + 1).padStart(2)}. ${step}  →  ${shown(s.expected)}`);
    }
  });
  return lines.join('\n');
}
