/**
 * Compares an expectation of a scenario step with an actual outcome. Sessions are
 * compared by name (an unbound name binds to a session that has none yet), objects
 * partially (only the expected keys), arrays exactly, errors by code.
 */

import { NameTable } from './name_table';
import { Operation, parseMode } from './scenario';
import { Outcome, isHandleMark, renderOutcome, renderValue } from './step_executor';

function isThrows(expected: unknown): expected is { throws: string } {
  return (
    typeof expected === 'object' &&
    expected !== null &&
    !Array.isArray(expected) &&
    Object.keys(expected).length === 1 &&
    typeof (expected as { throws?: unknown }).throws === 'string'
  );
}

/** Expectations written in a friendlier form than the result (modes by name, hex with spaces). */
function normalizeExpected(op: Operation, expected: unknown): unknown {
  if ((op === 'getCacheMode' || op === 'setCacheMode') && typeof expected === 'string') return parseMode(expected);
  if (op === 'getSessionId' && typeof expected === 'string') return expected.replace(/[\s:]/g, '').toLowerCase();
  return expected;
}

function matchValue(expected: unknown, actual: unknown, names: NameTable, path: string, out: string[]): void {
  const at = path === '' ? '' : ` at ${path}`;
  if (isHandleMark(actual)) {
    if (typeof expected === 'number') {
      if (expected !== actual.$handle) out.push(`expected handle ${expected}${at}, got ${names.nameOf(actual.$handle)}`);
      return;
    }
    if (typeof expected !== 'string') {
      out.push(`expected ${JSON.stringify(expected)}${at}, got session ${names.nameOf(actual.$handle)}`);
      return;
    }
    const bound = names.lookup(expected);
    if (bound === undefined) {
      if (!names.named(actual.$handle)) {
        names.bind(expected, actual.$handle);
        return;
      }
      out.push(`expected a new session ${expected}${at}, got ${names.nameOf(actual.$handle)}`);
      return;
    }
    if (bound !== actual.$handle) out.push(`expected ${expected}${at}, got ${names.nameOf(actual.$handle)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) {
      out.push(`expected an array${at}, got ${JSON.stringify(renderValue(actual, names))}`);
      return;
    }
    const before = out.length;
    const n = Math.min(expected.length, actual.length);
    for (let i = 0; i < n; i++) matchValue(expected[i], actual[i], names, `${path}[${i}]`, out);
    if (expected.length !== actual.length || out.length > before) {
      out.splice(before);
      // bind what can be bound, then report the whole arrays (easier to read)
      out.push(`expected ${JSON.stringify(expected)}${at}, got ${JSON.stringify(renderValue(actual, names))}`);
    }
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      out.push(`expected an object${at}, got ${JSON.stringify(renderValue(actual, names))}`);
      return;
    }
    for (const [key, value] of Object.entries(expected)) {
      const sub = path === '' ? key : `${path}.${key}`;
      if (!(key in actual)) {
        out.push(`expected ${sub} = ${JSON.stringify(value)}, but the result has no ${key}`);
        continue;
      }
      matchValue(value, (actual as Record<string, unknown>)[key], names, sub, out);
    }
    return;
  }
  if (expected !== actual) {
    const label = path === '' ? '' : `${path}: `;
    out.push(`${label}expected ${JSON.stringify(expected)}, got ${JSON.stringify(renderValue(actual, names))}`);
  }
}

/** The differences between an expectation and an outcome (empty when it matches). */
export function matchExpectation(op: Operation, expected: unknown, outcome: Outcome, names: NameTable): string[] {
  if (isThrows(expected)) {
    if (outcome.ok) return [`expected it to throw ${expected.throws}, it returned ${renderOutcome(outcome, names)}`];
    if (outcome.error !== expected.throws) return [`expected it to throw ${expected.throws}, it threw ${outcome.error} (${outcome.message})`];
    return [];
  }
  if (!outcome.ok) {
    return [`expected ${JSON.stringify(expected)}, it threw ${outcome.error} (${outcome.message})`];
  }
  const out: string[] = [];
  matchValue(normalizeExpected(op, expected), outcome.value, names, '', out);
  return out;
}
