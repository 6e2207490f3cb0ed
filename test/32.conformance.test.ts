/**
 * The conformance runner: the built-in catalogue passes against real
 * OpenSSL 1.0.2h (OpenSSLCache) and against the reference model; wrong expectations and
 * broken implementations are reported with what differed; the CLI's table, exit status
 * and --json output. The CLI tests run dist/cli.js (compiled by `npm install`'s prepare).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CacheModel } from '../lib/model';
import { OpenSSLCache } from '../lib/conformance/openssl_cache';
import {
  CATALOGUE,
  DifferentialRunner,
  Scenario,
  ScenarioRunner,
  readScenarioFile,
  runConformance,
} from '../lib/conformance';
import { runCli } from './helpers/conformance_cli';

const root = path.resolve(__dirname, '..');
const brokenModel = path.join(__dirname, 'fixtures', 'broken_model.js');
const example = path.join(root, 'examples', 'scenarios', 'full-control.json');

const real = new ScenarioRunner((options) => new OpenSSLCache(options));
const model = new ScenarioRunner((options) => new CacheModel(options));

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function writeScenario(name: string, scenario: unknown): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, JSON.stringify(scenario, null, 2));
  return file;
}

const wrongExpectation: Scenario = {
  name: 'wrong-reference-count',
  steps: [
    { op: 'createSession', args: { id: '0a0b0c0d', time: 1000, timeout: 300 }, as: 'a' },
    { op: 'add', args: { session: 'a' }, expect: 1 },
    { op: 'references', args: { session: 'a' }, expect: 1, note: 'wrong: the cache holds one too' },
    { op: 'count', expect: 1 },
  ],
};

describe('the catalogue', () => {
  test('has the man page behaviours that fit the SessionCache interface', () => {
    const names = CATALOGUE.map((s) => s.name);
    for (const name of [
      'full-handshake-caches-and-announces',
      'offered-session-resumes',
      'removed-session-misses',
      'no-internal-store-full-control',
      'expired-session-times-out',
      'size-limit-evicts-oldest-first',
      'same-key-replaces-quietly',
      'identical-add-returns-0',
      'flush-boundary',
      'auto-flush-in-256th-handshake',
      'no-auto-clear-keeps-expired',
      'protocol-is-part-of-the-key',
    ]) {
      expect(names).toContain(name);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  test.each(CATALOGUE.map((s) => [s.name, s] as const))('%s passes against real OpenSSL', (_name, scenario) => {
    expect(real.run(scenario)).toEqual({ name: scenario.name, passed: true, steps: scenario.steps.length, differences: [] });
  });

  test.each(CATALOGUE.map((s) => [s.name, s] as const))('%s passes against CacheModel', (_name, scenario) => {
    expect(model.run(scenario)).toEqual({ name: scenario.name, passed: true, steps: scenario.steps.length, differences: [] });
  });
});

describe('scenario files', () => {
  test('the example scenario parses and passes against real OpenSSL and the model', () => {
    const scenario = readScenarioFile(example);
    expect(scenario.name).toBe('full-control');
    expect(real.run(scenario).passed).toBe(true);
    expect(model.run(scenario).passed).toBe(true);
  });

  test('a wrong expectation fails with a readable difference and stops at that step', () => {
    const file = writeScenario('wrong.json', wrongExpectation);
    const result = runConformance({ scenarioFiles: [file], noCatalogue: true });
    expect(result.passed).toBe(false);
    expect(result.rows).toEqual([
      {
        scenario: 'wrong-reference-count',
        source: 'file',
        passed: false,
        differences: ['step 3 (references {"session":"a"}): expected 1, got 2'],
        time: expect.any(Number),
      },
    ]);
  });

  test('sessions are compared by name, errors by code, objects partially', () => {
    const scenario: Scenario = {
      name: 'mismatches',
      steps: [
        { op: 'handshake', args: { now: 1000 }, as: 's1' },
        { op: 'createSession', args: { id: '0a0b0c0d', time: 1000, timeout: 300 }, as: 'a' },
        { op: 'add', args: { session: 'a' } },
        { op: 'sessions', expect: ['s1', 'a'] },
      ],
    };
    expect(real.run(scenario).differences).toEqual(['step 4 (sessions): expected ["s1","a"], got ["a","s1"]']);
    const thrown: Scenario = {
      name: 'throws',
      steps: [{ op: 'references', args: { session: 7 }, expect: { throws: 'ERR_SSL_FREED' } }],
    };
    expect(real.run(thrown).differences).toEqual([
      expect.stringMatching(/^step 1 \(references \{"session":7\}\): expected it to throw ERR_SSL_FREED, it threw ERR_INVALID_HANDLE/),
    ]);
    const stats: Scenario = { name: 'stats', steps: [{ op: 'stats', expect: { accept: 0, hits: 1 } }] };
    expect(real.run(stats).differences).toEqual(['step 1 (stats): hits: expected 1, got 0']);
  });

  test('malformed scenarios are reported, not crashed on', () => {
    const unknownName: Scenario = { name: 'unknown-name', steps: [{ op: 'add', args: { session: 'nobody' } }] };
    expect(real.run(unknownName)).toMatchObject({
      passed: false,
      differences: ['step 1: scenario error: add: argument "session": no session is named "nobody" yet'],
    });
    // an invalid scenario FILE is a usage error (the CLI exits 2), raised before anything runs
    const file = writeScenario('bad.json', { name: 'bad', steps: [{ op: 'addSession' }] });
    expect(() => runConformance({ scenarioFiles: [file], noCatalogue: true })).toThrow(
      expect.objectContaining({ name: 'UsageError', message: expect.stringMatching(/step 1: unknown "op" "addSession"/) }),
    );
  });
});

describe('differential mode', () => {
  test('a model whose identical add returns 1 diverges, reported as a minimal trace', () => {
     
    const broken = require(brokenModel) as { createCache: (o: object) => CacheModel };
    const found = new DifferentialRunner((o) => new OpenSSLCache(o), broken.createCache).search(300, 1);
    expect(found.divergence).toBeDefined();
    const d = found.divergence!;
    // minimal: a session gets cached (created + added, or a full handshake), then added again
    expect(d.trace.length).toBeLessThanOrEqual(3);
    expect(d.trace[d.trace.length - 1].step.op).toBe('add');
    expect(d).toMatchObject({ what: 'result', reference: '0', candidate: '1' });
  });

  test('the reference model does not diverge from real OpenSSL', () => {
    const found = new DifferentialRunner((o) => new OpenSSLCache(o), (o) => new CacheModel(o)).search(200, 42);
    expect(found).toEqual({ runs: 200 });
  });
});

describe('the CLI', () => {
  test('prints an all-pass table for the catalogue against real OpenSSL and exits 0', () => {
    const r = runCli(['conformance']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[1]).toMatch(/^scenario\s+result\s+what differed$/);
    for (const s of CATALOGUE) expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${s.name}\\s+pass$`)));
    expect(r.stdout).toContain(`all ${CATALOGUE.length} passed`);
  });

  test('exits 1 and shows what differed when a scenario file fails', () => {
    const file = writeScenario('wrong-cli.json', wrongExpectation);
    const r = runCli(['conformance', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/wrong-reference-count\s+FAIL\s+step 3 \(references \{"session":"a"\}\): expected 1, got 2/);
    expect(r.stdout).toContain(`1 of ${CATALOGUE.length + 1} failed`);
  });

  test('--json gives machine-readable results', () => {
    const file = writeScenario('wrong-json.json', wrongExpectation);
    const r = runCli(['conformance', '--json', file]);
    expect(r.status).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.passed).toBe(false);
    expect(json.rows).toHaveLength(CATALOGUE.length + 1);
    expect(json.rows.filter((row: { passed: boolean }) => !row.passed).map((row: { scenario: string }) => row.scenario)).toEqual([
      'wrong-reference-count',
    ]);
    const ok = runCli(['conformance', '--json']);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ passed: true, implementation: 'OpenSSL 1.0.2h (OpenSSLCache)' });
  });

  test('--model with the reference model passes the catalogue and the random sequences', () => {
    const r = runCli(['conformance', '--model', './dist/model/index.js', '--runs', '100']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/random sequences \(100, seed 1\)\s+pass/);
  });

  test('--model with a broken model reports the divergence with a minimal trace and exits 1', () => {
    const r = runCli(['conformance', '--model', brokenModel]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/identical-add-returns-0\s+FAIL\s+step 5 \(add \{"session":"a"\}\): expected 0, got 1/);
    expect(r.stdout).toMatch(/random sequences \(300, seed 1\)\s+FAIL\s+sequence \d+ of seed 1 diverged after [1-3] step\(s\)/);
    // the implementation is named by its module
    expect(r.stdout).toMatch(/^implementation: broken_model$/m);
    const trace = r.stdout.slice(r.stdout.indexOf('minimal trace'));
    expect(trace).toMatch(/OpenSSL 1\.0\.2h: 0\n\s+broken_model: 1/);
  });

  test('--json traces are structured: steps with operation, arguments, expected and actual', () => {
    const json = JSON.parse(runCli(['conformance', '--json', '--model', brokenModel]).stdout);
    const row = json.rows.find((r: { source: string }) => r.source === 'random');
    expect(row.passed).toBe(false);
    expect(Array.isArray(row.trace)).toBe(true);
    for (const step of row.trace) expect(Object.keys(step)).toEqual(expect.arrayContaining(['operation', 'arguments', 'expected', 'actual']));
    const last = row.trace[row.trace.length - 1];
    expect(last).toMatchObject({ operation: 'add', expected: 0, actual: 1, diverged: true });
    // the steps before the divergence agree
    for (const step of row.trace.slice(0, -1)) expect(step.actual).toEqual(step.expected);
  });

  test('usage errors exit 2 with a one-line reason', () => {
    const oneLine = (r: { status: number | null; stderr: string; stdout: string }, reason: RegExp) => {
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(reason);
    };
    oneLine(runCli(['conformance', '--bogus']), /unknown option --bogus/);
    oneLine(runCli(['conformance', '--model', path.join(tmp, 'missing.js')]), /cannot load --model/);
    oneLine(runCli(['conformance', path.join(tmp, 'no-such-scenario.json')]), /no-such-scenario\.json: cannot read the scenario file \(ENOENT\)/);
    fs.writeFileSync(path.join(tmp, 'not-json.json'), '{ "name": ');
    oneLine(runCli(['conformance', path.join(tmp, 'not-json.json')]), /not-json\.json: not valid JSON/);
    const invalid = writeScenario('invalid.json', { name: 'x', steps: [{ op: 'frobnicate' }] });
    oneLine(runCli(['conformance', invalid]), /invalid\.json: step 1: unknown "op" "frobnicate"/);
    oneLine(runCli(['conformance', '--reporter', 'xml']), /--reporter must be one of table, json, junit, tap/);
    oneLine(runCli(['frobnicate']), /unknown command/);
  });

  test('a --model whose cache lacks SessionCache methods is refused once, naming them', () => {
    const partial = path.join(tmp, 'partial_model.js');
    fs.writeFileSync(
      partial,
      `const { CacheModel } = require(${JSON.stringify(path.join(root, 'dist', 'model', 'index.js'))});\n` +
        'module.exports = { createCache(o) { const c = new CacheModel(o); c.handshake = undefined; c.takeEvents = undefined; return c; } };\n',
    );
    const r = runCli(['conformance', '--model', partial]);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/lacks SessionCache methods takeEvents, handshake/);
    expect(r.stdout).toBe('');
  });
});

describe('reporters for CI', () => {
  let failing: string;
  beforeAll(() => {
    failing = writeScenario('wrong-report.json', wrongExpectation);
  });

  test('--reporter junit: one <testcase> per scenario, the failure text with what differed and the minimal trace', () => {
    const r = runCli(['conformance', '--reporter', 'junit', '--model', brokenModel, '--runs', '50', failing]);
    expect(r.status).toBe(1);
    const out = r.stdout;
    expect(out.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    const cases = out.match(/<testcase /g) ?? [];
    expect(cases).toHaveLength(CATALOGUE.length + 2);
    const failures = [...out.matchAll(/<testcase name="([^"]*)" classname="([^"]*)" time="\d+\.\d{3}">\n\s*<failure message="([^"]*)"[^>]*>([^<]*)<\/failure>/g)];
    const byName = new Map(failures.map((m) => [m[1], m]));
    expect(byName.get('wrong-reference-count')?.[4]).toContain('step 3 (references {&#34;session&#34;:&#34;a&#34;}): expected 1, got 2');
    const random = failures.find((m) => m[2] === 'conformance.random');
    expect(random?.[4]).toContain('minimal trace:');
    expect(random?.[4]).toMatch(/OpenSSL 1\.0\.2h: 0\n\s+broken_model: 1/);
    expect(out).toMatch(/tests="\d+" failures="\d+"/);
    // JUnit time and timestamp (ISO 8601 without a zone, as the JUnit schema has it)
    expect(out).toMatch(/<testsuite [^>]* time="\d+\.\d{3}" timestamp="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"/);
    const [, tests, fails] = /<testsuite name="[^"]*" tests="(\d+)" failures="(\d+)"/.exec(out) ?? [];
    expect(Number(tests)).toBe(CATALOGUE.length + 2);
    expect(Number(fails)).toBe(failures.length);
  });

  test('--reporter tap: a TAP 13 stream with a YAML block for each failure', () => {
    const r = runCli(['conformance', '--reporter', 'tap', '--model', brokenModel, '--runs', '50', failing]);
    expect(r.status).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('TAP version 13');
    expect(lines[1]).toBe(`1..${CATALOGUE.length + 2}`);
    const points = lines.filter((l) => /^(not )?ok \d+ - /.test(l));
    expect(points).toHaveLength(CATALOGUE.length + 2);
    points.forEach((p, i) => expect(p).toMatch(new RegExp(`^(not )?ok ${i + 1} - `)));
    const failed = lines.findIndex((l) => /^not ok \d+ - wrong-reference-count \(file\)$/.test(l));
    expect(lines.slice(failed + 1, failed + 3)).toEqual(['  ---', '  message: "step 3 (references {\\"session\\":\\"a\\"}): expected 1, got 2"']);
    expect(r.stdout).toMatch(/not ok \d+ - random sequences \(50, seed 1\) \(random\)\n {2}---\n[\s\S]*minimal trace:/);
    const ok = runCli(['conformance', '--reporter', 'tap']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).not.toMatch(/^not ok/m);
  });
});
