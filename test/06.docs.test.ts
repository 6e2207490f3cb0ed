// The docs are true: every ```ts / ```js code block of README.md and docs/*.md compiles
// against the published types (dist/*.d.ts, through test/types/tsconfig.json), and the blocks
// marked `<!-- run -->` run against the built package and print what their comments say
// (`console.log(x); // 0: …` must print `0`).
//
// A block marked `<!-- fragment -->` is a piece of a program: its imports stay at the top,
// the rest goes into an async function (so `await` works), names of the package root it
// uses without importing are imported, and `cert`, `key` (PEM strings) and `id` (a Buffer)
// are declared. Keep fragments rare: a block that can stand alone should.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import * as pkg from '../lib';

const root = path.resolve(__dirname, '..');
const tscBin = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const DOCS = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface Block {
  doc: string;
  line: number; // of the opening fence, 1-based
  lang: 'ts' | 'js';
  mark: 'run' | 'fragment' | undefined;
  code: string;
}

function blocks(doc: string): Block[] {
  const lines = fs.readFileSync(path.join(root, doc), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript|js|javascript)\s*$/.exec(lines[i]);
    if (!open) {
      if (/^```/.test(lines[i])) {
        // another language: skip to its closing fence
        for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++);
      }
      continue;
    }
    let j = i - 1;
    while (j >= 0 && lines[j].trim() === '') j--;
    const m = j >= 0 ? /^<!--\s*(run|fragment)\s*-->$/.exec(lines[j].trim()) : null;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    out.push({
      doc,
      line: start + 1,
      lang: open[1].startsWith('t') ? 'ts' : 'js',
      mark: m ? (m[1] as 'run' | 'fragment') : undefined,
      code: body.join('\n'),
    });
  }
  return out;
}

const ALL = DOCS.flatMap(blocks);
const ROOT_NAMES = Object.keys(pkg);

/** the source compiled for a block: fragments get their imports, declarations and a function */
function source(b: Block): string {
  if (b.mark !== 'fragment') return `${b.code}\nexport {};\n`;
  const lines = b.code.split('\n');
  const imports = lines.filter((l) => /^import\s/.test(l));
  const rest = lines.filter((l) => !/^import\s/.test(l));
  const imported = new Set(imports.flatMap((l) => [...l.matchAll(/[A-Za-z_$][\w$]*/g)].map((m) => m[0])));
  const used = ROOT_NAMES.filter((n) => !imported.has(n) && new RegExp(`\\b${n}\\b`).test(rest.join('\n')));
  return [
    ...imports,
    used.length ? `import { ${used.join(', ')} } from 'openssl-session-cache';` : '',
    'declare const cert: string;',
    'declare const key: string;',
    'declare const id: Buffer;',
    'export async function fragment(): Promise<void> {',
    ...rest,
    '}',
  ].join('\n');
}

function fileName(b: Block, i: number): string {
  return `block${i}_${b.doc.replace(/[^A-Za-z0-9]+/g, '_')}_${b.line}.${b.lang}`;
}

test('the docs have code blocks, few fragments, and at least one block that runs', () => {
  expect(ALL.length).toBeGreaterThanOrEqual(4);
  expect(ALL.filter((b) => b.mark === 'run').length).toBeGreaterThanOrEqual(1);
  expect(ALL.filter((b) => b.mark === 'fragment').length).toBeLessThanOrEqual(3);
});

test('every ts/js block of README.md and docs/*.md compiles against the published types', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-docs-'));
  try {
    const names = ALL.map((b, i) => {
      const f = path.join(dir, fileName(b, i));
      fs.writeFileSync(f, source(b));
      return f;
    });
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: path.join(root, 'test', 'types', 'tsconfig.json'),
        compilerOptions: { allowJs: true, checkJs: false },
        files: names,
      }),
    );
    const r = spawnSync(process.execPath, [tscBin, '-p', path.join(dir, 'tsconfig.json'), '--pretty', 'false'], { encoding: 'utf8', timeout: 120000 });
    // name each error by the document and line it comes from
    const errors = (r.stdout + r.stderr)
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const m = /block(\d+)_[^(]*\((\d+),\d+\): (.*)$/.exec(l);
        if (!m) return l;
        const b = ALL[Number(m[1])];
        return `${b.doc}, block at line ${b.line}${b.mark === 'fragment' ? ' (fragment)' : ''}, its line ${m[2]}: ${m[3]}`;
      });
    expect(errors).toEqual([]);
    expect(r.status).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// docs/fleet.md's blocks compile above; its prose names options and members too
// (`heartbeatInterval`, `maxEntries`, `sessionStoreStats.fallbackKept`, …): each camelCase or
// PascalCase name quoted there must be one the published types declare, so that renaming an
// option breaks this test rather than leaving the runbook wrong.
test('every option and member name docs/fleet.md quotes in its prose is declared by the published types', () => {
  const fleet = fs.readFileSync(path.join(root, 'docs', 'fleet.md'), 'utf8');
  expect(ALL.filter((b) => b.doc === 'docs/fleet.md').length).toBeGreaterThanOrEqual(4);
  const declared = new Set<string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.d.ts')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/[A-Za-z_$][\w$]*/g)) declared.add(m[0]);
    }
  };
  walk(path.join(root, 'dist'));
  const prose = fleet.replace(/^```[\s\S]*?^```$/gm, '');
  const quoted = [...prose.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  const names = new Set(quoted.flatMap((q) => [...q.matchAll(/\b(?:[a-z]+[A-Z]|[A-Z][a-z]+[A-Z])[A-Za-z]*\b/g)].map((m) => m[0])));
  expect(names.size).toBeGreaterThan(15);
  const unknown = [...names].filter((n) => !declared.has(n));
  expect(unknown).toEqual([]);
});

const RUN = ALL.filter((b) => b.mark === 'run');

test.each(RUN.map((b) => [`${b.doc}:${b.line}`, b] as const))('%s runs and prints what its comments say', (_name, b) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-docs-run-'));
  try {
    // the package, as a user requires it: the built dist/
    const js = ts
      .transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } })
      .outputText.replace(/require\("openssl-session-cache(\/[a-z]+)?"\)/g, (_m, sub: string | undefined) =>
        `require(${JSON.stringify(path.join(root, 'dist', sub ? (sub === '/redis' ? 'redis.js' : `${sub.slice(1)}/index.js`) : 'index.js'))})`,
      );
    const file = path.join(dir, 'block.js');
    fs.writeFileSync(file, js);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const printed = r.stdout.split('\n').filter((l) => l !== '');
    const logs = b.code.split('\n').filter((l) => /console\.log\(/.test(l));
    expect(printed).toHaveLength(logs.length);
    logs.forEach((l, i) => {
      const comment = /\/\/\s*(.+)$/.exec(l);
      if (comment) expect({ line: l.trim(), printed: printed[i] }).toEqual({ line: l.trim(), printed: comment[1].split(':')[0].trim() });
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every error code the package sets (lib/, native/) is documented, ErrorCode with key and value', () => {
  const api = fs.readFileSync(path.join(root, 'docs', 'api.md'), 'utf8');
  const conformance = fs.readFileSync(path.join(root, 'docs', 'conformance.md'), 'utf8');
  const sources: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|cc|h)$/.test(e.name)) sources.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(root, 'lib'));
  walk(path.join(root, 'native'));
  const codes = new Set(sources.flatMap((s) => [...s.matchAll(/['"](ERR_[A-Z0-9_]+|ECONNRESET)['"]/g)].map((m) => m[1])));
  expect(codes.size).toBeGreaterThan(10);
  for (const code of codes) {
    expect({ code, documented: api.includes(code) || conformance.includes(code) }).toEqual({ code, documented: true });
  }
  for (const [k, v] of Object.entries(pkg.ErrorCode)) {
    const row = api.split('\n').find((l) => l.startsWith(`| \`${k}\` | \`${v}\` |`));
    expect({ k, row: row !== undefined }).toEqual({ k, row: true });
  }
});
