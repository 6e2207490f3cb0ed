// One check for option objects whose whole set of names is known: a name the set does not
// have is refused (a typo such as `sessionTimout` would otherwise be ignored), and a name
// the set knows but refuses (a node:tls option OpenSSL 1.0.2 or this package cannot honour)
// is refused with its reason — unless its value asks for nothing (undefined, null, false).

/** an option name → true (implemented) or why it is refused */
export type OptionTable = Readonly<Record<string, true | string>>;

import { codedError, ErrorCode } from './coded_error';

const ERR_UNKNOWN_OPTION = ErrorCode.UNKNOWN_OPTION;
const ERR_OPTION_NOT_SUPPORTED = ErrorCode.OPTION_NOT_SUPPORTED;

export function checkOptionNames(options: Record<string, unknown>, tables: readonly OptionTable[], what: string, api: string): void {
  const unknown: string[] = [];
  for (const name of Object.keys(options)) {
    const entry = lookup(tables, name);
    if (entry === undefined) {
      unknown.push(name);
      continue;
    }
    if (entry === true) continue;
    const v = options[name];
    if (v === undefined || v === null || v === false) continue;
    throw codedError(ERR_OPTION_NOT_SUPPORTED, `${what}.${name} is not supported: ${entry}`, TypeError);
  }
  if (unknown.length === 0) return;
  const hints = unknown.map((n) => {
    const near = nearest(n, tables);
    return near ? `${n} (did you mean ${near}?)` : n;
  });
  throw codedError(ERR_UNKNOWN_OPTION, `${api} does not know ${unknown.length === 1 ? 'the option' : 'the options'} ${hints.map((h) => `${what}.${h}`).join(', ')}`, TypeError);
}

function lookup(tables: readonly OptionTable[], name: string): true | string | undefined {
  for (const t of tables) if (Object.prototype.hasOwnProperty.call(t, name)) return t[name];
  return undefined;
}


/** the known name closest to `name` (at most 2 edits, or the same letters ignoring case) */
function nearest(name: string, tables: readonly OptionTable[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const t of tables) {
    for (const known of Object.keys(t)) {
      const d = known.toLowerCase() === name.toLowerCase() ? 0 : distance(name, known);
      if (d < bestDistance) {
        best = known;
        bestDistance = d;
      }
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
