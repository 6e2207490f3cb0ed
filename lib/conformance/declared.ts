/**
 * Declared differences: behaviours an implementation does differently from OpenSSL on
 * purpose, listed by its author (a JSON file given with `--declared FILE`, or the module's
 * `declaredDifferences` export). The runners compare modulo exactly these and count each
 * time one of them made two results equal; anything not declared still fails.
 *
 * ```json
 * { "removeOrder": "flush walks a Map, not OpenSSL's hash buckets",
 *   "stats": { "cacheFull": "not kept" } }
 * ```
 */

import type { CacheStats } from '../common/cache_stats';
import { UsageError } from './usage_error';

export const STATS_FIELDS = [
  'number',
  'connect',
  'connectGood',
  'connectRenegotiate',
  'accept',
  'acceptGood',
  'acceptRenegotiate',
  'hits',
  'cbHits',
  'misses',
  'timeouts',
  'cacheFull',
] as const satisfies readonly (keyof CacheStats)[];

export type StatsField = (typeof STATS_FIELDS)[number];

export interface DeclaredDifferences {
  /**
   * The order of consecutive `remove` events (a flush, an automatic flush) differs: such a
   * run of events compares as a set of sessions. The value says why.
   */
  removeOrder?: string;
  /** `stats()` fields the implementation does not keep (or keeps otherwise): not compared. */
  stats?: Partial<Record<StatsField, string>>;
}

/** How often each declared difference made two results equal, by name (`removeOrder`, `stats.cacheFull`). */
export type DeclaredTally = Map<string, number>;

export interface DeclaredReport {
  /** `removeOrder`, `stats.cacheFull`, … */
  name: string;
  reason: string;
  /** how many comparisons it decided */
  masked: number;
}

/** Checks a parsed declaration; a UsageError (exit 2) names the first problem. */
export function validateDeclared(value: unknown, source: string): DeclaredDifferences {
  const fail = (m: string): never => {
    throw new UsageError(`${source}: ${m}`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('declared differences must be a JSON object');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (key !== 'removeOrder' && key !== 'stats') fail(`unknown declared difference "${key}" (removeOrder, stats)`);
  if (v.removeOrder !== undefined && (typeof v.removeOrder !== 'string' || v.removeOrder === '')) fail('"removeOrder" must be a non-empty reason');
  if (v.stats !== undefined) {
    if (v.stats === null || typeof v.stats !== 'object' || Array.isArray(v.stats)) fail('"stats" must be an object of field: reason');
    for (const [field, reason] of Object.entries(v.stats as Record<string, unknown>)) {
      if (!(STATS_FIELDS as readonly string[]).includes(field)) fail(`"stats": unknown field "${field}" (${STATS_FIELDS.join(', ')})`);
      if (typeof reason !== 'string' || reason === '') fail(`"stats.${field}" must be a non-empty reason`);
    }
  }
  return v as DeclaredDifferences;
}

/** The declarations as report entries, with their tallies. */
export function declaredReport(declared: DeclaredDifferences, tally: DeclaredTally): DeclaredReport[] {
  const out: DeclaredReport[] = [];
  if (declared.removeOrder !== undefined) out.push({ name: 'removeOrder', reason: declared.removeOrder, masked: tally.get('removeOrder') ?? 0 });
  for (const [field, reason] of Object.entries(declared.stats ?? {})) {
    out.push({ name: `stats.${field}`, reason: reason as string, masked: tally.get(`stats.${field}`) ?? 0 });
  }
  return out;
}

function bump(tally: DeclaredTally | undefined, name: string): void {
  if (tally !== undefined) tally.set(name, (tally.get(name) ?? 0) + 1);
}

/** Maximal runs [start, end) of `remove` events in a rendered takeEvents result. */
function removeRuns(events: readonly { type?: unknown }[]): [number, number][] {
  const runs: [number, number][] = [];
  let i = 0;
  while (i < events.length) {
    if (events[i]?.type !== 'remove') {
      i++;
      continue;
    }
    let j = i;
    while (j < events.length && events[j]?.type === 'remove') j++;
    runs.push([i, j]);
    i = j;
  }
  return runs;
}

/** A rendered takeEvents result with each run of remove events sorted (by the rendered session). */
function sortRemoveRuns(events: { type?: unknown; session?: unknown }[]): { type?: unknown; session?: unknown }[] {
  const out = [...events];
  for (const [a, b] of removeRuns(events)) {
    const run = out.slice(a, b).sort((x, y) => (JSON.stringify(x.session) < JSON.stringify(y.session) ? -1 : JSON.stringify(x.session) > JSON.stringify(y.session) ? 1 : 0));
    out.splice(a, b - a, ...run);
  }
  return out;
}

/**
 * Whether two rendered results of `op` (JSON texts, or `throws CODE`) are equal modulo the
 * declared differences; counts the declaration that decided it. Equal texts are equal
 * without counting anything.
 */
export function equalModulo(op: string, reference: string, candidate: string, declared: DeclaredDifferences, tally?: DeclaredTally): boolean {
  if (reference === candidate) return true;
  let r: unknown;
  let c: unknown;
  try {
    r = JSON.parse(reference);
    c = JSON.parse(candidate);
  } catch {
    return false;
  }
  if (op === 'takeEvents' && declared.removeOrder !== undefined && Array.isArray(r) && Array.isArray(c) && r.length === c.length) {
    const rr = removeRuns(r as { type?: unknown }[]);
    const cr = removeRuns(c as { type?: unknown }[]);
    if (JSON.stringify(rr) === JSON.stringify(cr) && JSON.stringify(sortRemoveRuns(r)) === JSON.stringify(sortRemoveRuns(c))) {
      bump(tally, 'removeOrder');
      return true;
    }
    return false;
  }
  if (op === 'stats' && declared.stats !== undefined && r !== null && c !== null && typeof r === 'object' && typeof c === 'object') {
    const ignored = Object.keys(declared.stats);
    const rs = { ...(r as Record<string, unknown>) };
    const cs = { ...(c as Record<string, unknown>) };
    const masked = ignored.filter((f) => rs[f] !== cs[f]);
    for (const f of ignored) {
      delete rs[f];
      delete cs[f];
    }
    if (JSON.stringify(rs) === JSON.stringify(cs)) {
      for (const f of masked) bump(tally, `stats.${f}`);
      return true;
    }
  }
  return false;
}

/** Per-field differences of two rendered `stats()` results: `misses: OpenSSL 1, model 0`. */
export function statsFieldDiffs(reference: string, candidate: string, referenceLabel: string, candidateLabel: string): string[] {
  let r: Record<string, unknown>;
  let c: Record<string, unknown>;
  try {
    r = JSON.parse(reference) as Record<string, unknown>;
    c = JSON.parse(candidate) as Record<string, unknown>;
  } catch {
    return [];
  }
  if (r === null || c === null || typeof r !== 'object' || typeof c !== 'object') return [];
  const keys = [...new Set([...Object.keys(r), ...Object.keys(c)])];
  return keys
    .filter((k) => JSON.stringify(r[k]) !== JSON.stringify(c[k]))
    .map((k) => `${k}: ${referenceLabel} ${JSON.stringify(r[k])}, ${candidateLabel} ${JSON.stringify(c[k])}`);
}
