// `npm start` runs the demo: our 1.0.2 server, Node tls clients, and the application
// deciding who resumes. It must run to completion, exit 0 and tell what happened.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { runNode } from './helpers/children';

const root = path.resolve(__dirname, '..');
const demo = path.join(root, 'dist', 'examples', 'demo.js');

// bounded by jest's timeout only (a spawnSync timeout would decide the outcome on a busy machine)
test('the demo is compiled by npm install (prepare) and runs to completion', async () => {
  expect(fs.existsSync(demo)).toBe(true);
  const r = await runNode(demo, [], { cwd: root });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = r.stdout;
  // each visit, in order: full, resumed, full after revocation, full, resumed after restart
  const seen = [...out.matchAll(/client saw: (RESUMED|FULL)/g)].map((m) => m[1]);
  expect(seen).toEqual(['FULL', 'RESUMED', 'FULL', 'FULL', 'RESUMED']);
  expect(out).toMatch(/OpenSSL 1\.0\.2h/);
  expect(out).toMatch(/cached sessions:\n\s+id\s+age\s+timeout\s+resumable/);
  expect(out).toMatch(/counters: accept 2, acceptGood 2, hits 1, misses 0/);
  expect(out).toMatch(/summary: .* as expected/);
  // F: one HTTPS request over HTTP/2, then one over HTTP/1.1 resuming its session
  expect(out).toMatch(/"hello over HTTP\/2\.0" — protocol h2, full handshake/);
  expect(out).toMatch(/"hello over HTTP\/1\.1" — protocol http\/1\.1, resumed/);
});

test('the README example (examples/quickstart.ts) prints what its comments say', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const example = fs.readFileSync(path.join(root, 'examples', 'quickstart.ts'), 'utf8');
  // the README shows the example's code verbatim (from the import to the last line)
  const body = example.slice(example.indexOf('import '));
  expect(readme).toContain(body.trim());
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'examples', 'quickstart.js')], { cwd: root, encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout.trim().split('\n')).toEqual(['0', 'true 1', 'true']);
});
