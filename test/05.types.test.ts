// The published types catch mistakes: test/types/probes.ts compiles against dist/*.d.ts
// (test/types/tsconfig.json maps the package's entry points there), its correct uses infer
// without annotations, and every line marked with an expect-error directive is rejected
// on its own: with the directives blanked out, tsc reports an error on exactly those lines.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const typesDir = path.join(root, 'test', 'types');
const DIRECTIVE = /^\s*\/\/ @ts-expect-error\b/;

function compile(project: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [tsc, '-p', project, '--pretty', 'false'], { cwd: root, encoding: 'utf8', timeout: 120000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('probes.ts compiles against the published declarations', () => {
  const r = compile(path.join(typesDir, 'tsconfig.json'));
  expect(r.out).toBe('');
  expect(r.status).toBe(0);
});

test('each expect-error probe is an error of its own (at least 12 of them)', () => {
  const lines = fs.readFileSync(path.join(typesDir, 'probes.ts'), 'utf8').split('\n');
  const probeLines = lines.flatMap((l, i) => (DIRECTIVE.test(l) ? [i + 2] : [])); // 1-based line after the directive
  expect(probeLines.length).toBeGreaterThanOrEqual(12);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-probes-'));
  try {
    fs.writeFileSync(path.join(tmp, 'probes.ts'), lines.map((l) => (DIRECTIVE.test(l) ? '//' : l)).join('\n'));
    fs.writeFileSync(
      path.join(tmp, 'tsconfig.json'),
      JSON.stringify({ extends: path.join(typesDir, 'tsconfig.json'), files: [path.join(tmp, 'probes.ts')] }),
    );
    const r = compile(path.join(tmp, 'tsconfig.json'));
    expect(r.status).not.toBe(0);
    const errorLines = [...r.out.matchAll(/probes\.ts\((\d+),\d+\): error TS\d+/g)].map((m) => Number(m[1]));
    expect([...new Set(errorLines)].sort((a, b) => a - b)).toEqual(probeLines);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
