/**
 * Caches not written in JavaScript: the JSON-lines shim protocol (docs/conformance.md,
 * "Shims"). The Python example in examples/shim passes the catalogue and random sequences
 * against real OpenSSL with its declared differences; a shim that hangs, dies or answers
 * nonsense fails that step and the run goes on with a fresh shim.
 */
import { CATALOGUE } from '../lib/conformance';
import type { ConformanceResult } from '../lib/conformance';
import { runCli, scratchDir } from './helpers/conformance_cli';

const example = 'python3 examples/shim/map_cache.py';

const scratch = scratchDir('conformance-shim-');
const write = scratch.write;

test('the Python example shim passes the catalogue and random sequences, its differences declared in its hello', () => {
  const r = runCli(['conformance', '--json', '--shim', example, '--runs', '60']);
  expect(r.stderr).toBe('');
  const result = JSON.parse(r.stdout) as ConformanceResult;
  expect(result.rows.filter((row) => !row.passed)).toEqual([]);
  expect(r.status).toBe(0);
  expect(result.implementation).toBe('map_cache.py');
  expect(result.rows).toHaveLength(CATALOGUE.length + 1);
  expect(result.declared.map((d) => d.name).sort()).toEqual(['removeOrder', 'stats.cacheFull']);
  expect(result.coverage?.['handshake resumed']).toBeGreaterThan(0);
});

/** A shim in Python that serves a cache answering only getCacheSize, and misbehaves on count. */
function misbehaving(name: string, onCount: string): string {
  return write(
    name,
    [
      'import json, sys, threading',
      'for line in sys.stdin:',
      '    r = json.loads(line)',
      '    m = r["method"]',
      '    if m == "count":',
      ...onCount.split('\n').map((l) => `        ${l}`),
      '    result = {"hello": {"name": "misbehaving"}, "new": 1, "dispose": None, "getCacheSize": 20480}.get(m)',
      '    sys.stdout.write(json.dumps({"id": r["id"], "result": result}) + "\\n")',
      '    sys.stdout.flush()',
      '',
    ].join('\n'),
  );
}

describe('a shim that misbehaves fails that step; the next scenario gets a fresh shim', () => {
  let count: string;
  let size: string;
  beforeAll(() => {
    count = write('count.json', { name: 'count', steps: [{ op: 'count', expect: 0 }] });
    size = write('size.json', { name: 'size', steps: [{ op: 'getCacheSize', expect: 20480 }] });
  });

  test.each([
    ['hangs', 'threading.Event().wait()', /ERR_SHIM_TIMEOUT/],
    ['exits', 'sys.exit(3)', /ERR_SHIM_EXITED.*exited \(status 3\)/],
    ['answers a line that is not JSON', 'sys.stdout.write("hello\\n"); sys.stdout.flush(); continue', /ERR_SHIM_PROTOCOL.*not JSON/],
  ])('%s', (name, onCount, reason) => {
    const shim = misbehaving(`shim_${name.replace(/\W/g, '_')}.py`, onCount);
    const r = runCli(['conformance', '--json', '--no-catalogue', '--runs', '0', '--step-timeout', '5000', '--shim', `python3 ${shim}`, count, size]);
    expect(r.status).toBe(1);
    const result = JSON.parse(r.stdout) as ConformanceResult;
    const [first, second] = result.rows;
    expect(first).toMatchObject({ scenario: 'count', passed: false });
    expect(first.differences[0]).toMatch(reason);
    expect(second).toMatchObject({ scenario: 'size', passed: true });
  });

  test('a shim that cannot start is a usage error (exit 2)', () => {
    const r = runCli(['conformance', '--shim', 'no-such-shim-program']);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--shim no-such-shim-program: the shim could not run \(spawn no-such-shim-program ENOENT\)/);
    expect(runCli(['conformance', '--shim', example, '--model', 'x.js']).status).toBe(2);
  });
});
