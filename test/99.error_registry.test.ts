// One error registry (lib/common/coded_error.ts, ErrorCode): every code the sources throw
// is in it, every code in it is documented in docs/api.md's ErrorCode table, and every
// code that table documents is in it. The sources are scanned: lib/ for `'ERR_…'` string
// literals and `ErrorCode.X` uses, native/ for `"ERR_…"` strings.
import * as fs from 'fs';
import * as path from 'path';
import { ErrorCode } from '../lib/common/coded_error';

const root = path.resolve(__dirname, '..');

function files(dir: string, ext: RegExp, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files(p, ext, out);
    else if (ext.test(e.name)) out.push(p);
  }
  return out;
}

const registry = new Set<string>(Object.values(ErrorCode));
const keys = new Set(Object.keys(ErrorCode));

/** the ErrorCode table of docs/api.md: [keys cell, codes cell] per row */
function documentedRows(): [string[], string[]][] {
  const api = fs.readFileSync(path.join(root, 'docs', 'api.md'), 'utf8');
  const section = api.slice(api.indexOf('### `ErrorCode`'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| key |')));
  return table
    .split('\n')
    .filter((l) => l.startsWith('| `') || l.startsWith('| —'))
    .map((l) => {
      const [, k, c] = l.split('|');
      const ticks = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      return [ticks(k), ticks(c)];
    });
}

/** codes named in the sources, with where */
function thrownCodes(): Map<string, string> {
  const found = new Map<string, string>();
  const note = (code: string, where: string) => {
    if (!found.has(code)) found.set(code, where);
  };
  for (const f of files(path.join(root, 'lib'), /\.ts$/)) {
    const rel = path.relative(root, f);
    if (rel === path.join('lib', 'common', 'coded_error.ts')) continue; // the registry itself
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(['"`])(ERR_[A-Z0-9_]+)\1/g)) {
      // a code read from another API's error, not thrown: `code === 'ERR_PARSE_ARGS_…'`
      const before = text.slice(Math.max(0, m.index! - 5), m.index!);
      if (/===?\s*$/.test(before)) continue;
      note(m[2], rel);
    }
    for (const m of text.matchAll(/\bErrorCode\.([A-Z0-9_]+)\b/g)) note(`ErrorCode.${m[1]}`, rel);
  }
  for (const f of files(path.join(root, 'native'), /\.(cc|h)$/)) {
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/"(ERR_[A-Z0-9_]+)"/g)) note(m[1], path.relative(root, f));
  }
  return found;
}

test('the scan finds the codes it is meant to find', () => {
  const found = thrownCodes();
  // one of each kind: a lib literal, an ErrorCode use, a native string
  expect(found.get('ERR_SHIM_EXITED') ?? found.get('ErrorCode.SHIM_EXITED')).toBeDefined();
  expect(found.get('ErrorCode.FREED')).toMatch(/^lib\//);
  expect(found.get('ERR_PASSPHRASE_REQUIRED')).toMatch(/^native\//);
  expect(found.size).toBeGreaterThan(30);
});

test('every code thrown in lib/ and native/ is in ErrorCode', () => {
  const missing = [...thrownCodes()]
    .filter(([code]) => (code.startsWith('ErrorCode.') ? !keys.has(code.slice('ErrorCode.'.length)) : !registry.has(code)))
    .map(([code, where]) => `${code} (${where})`);
  expect(missing).toEqual([]);
});

test("every code of ErrorCode is documented in docs/api.md's table, under its key", () => {
  const rows = documentedRows();
  const documented = new Map<string, string>();
  for (const [ks, cs] of rows) cs.forEach((c, i) => documented.set(c, ks[i] ?? '—'));
  const wrong = Object.entries(ErrorCode)
    .filter(([key, code]) => documented.get(code) !== key)
    .map(([key, code]) => `${key}: ${code} (documented as ${documented.get(code) ?? 'nothing'})`);
  expect(wrong).toEqual([]);
});

test('every code docs/api.md documents in that table is in ErrorCode', () => {
  const rows = documentedRows();
  expect(rows.length).toBeGreaterThan(30);
  const unknown = rows.flatMap(([, cs]) => cs).filter((c) => !registry.has(c));
  expect(unknown).toEqual([]);
});
