// Soak, the fast part: `npm run soak` for 8 seconds in a child process —
// mixed cache operations, in-process handshakes and loopback TLS with random client
// disconnects. It must finish with no unexpected error, handles back to their starting
// count, RSS not growing between the second and the last quarter, and a summary.
// (`npm run soak` runs 10 minutes, `-- --quick` 1 minute.)
import * as path from 'path';
import { runNode } from './helpers/children';

const root = path.resolve(__dirname, '..');

// bounded by jest's timeout only (a spawnSync timeout would decide the outcome on a busy machine)
test('an 8-second soak stays bounded and reports its figures', async () => {
  const r = await runNode(path.join(root, 'scripts/soak.js'), ['--seconds', '8'], { cwd: root, nodeArgs: ['--expose-gc'] });
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
}, 180000);
