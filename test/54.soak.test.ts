// Soak (issue 6, part 6), the fast part: `npm run soak` for 8 seconds in a child process —
// mixed cache operations, in-process handshakes and loopback TLS with random client
// disconnects. It must finish with no unexpected error, handles back to their starting
// count, RSS not growing between the second and the last quarter, and a summary.
// (`npm run soak` runs 10 minutes, `-- --quick` 1 minute.)
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.resolve(__dirname, '..');

test('an 8-second soak stays bounded and reports its figures', () => {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(root, 'scripts/soak.js'), '--seconds', '8'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('SOAK-RESULT '));
  expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  expect(line).toBeDefined();
  const s = JSON.parse(line!.slice('SOAK-RESULT '.length));
  expect(s.ok).toBe(true);
  expect(s.handlesEnd).toBeLessThanOrEqual(s.handlesStart);
  expect(s.socketHandshakes).toBeGreaterThan(10);
  expect(s.inProcessHandshakes).toBeGreaterThan(10);
  expect(s.resumed).toBeGreaterThan(0);
  expect(s.disconnects).toBeGreaterThan(0);
  expect(s.ops).toBeGreaterThan(1000);
  expect(r.stdout).toMatch(/soak: RSS start \d+ MB, .* end \d+ MB/);
}, 70000);
