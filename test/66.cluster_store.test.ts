// ClusterSessionStore with real node:cluster workers (test/fixtures/cluster_store.js): the
// primary holds the sessions, the workers ask it over IPC. Node's tls client connects to
// the shared port; the kernel/cluster spreads connections over the workers.
import { execFile } from 'child_process';
import * as path from 'path';

const fixture = path.join(__dirname, 'fixtures', 'cluster_store.js');

function run(mode: 'cluster' | 'internal', workers: number, connections: number): Promise<any> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [fixture, mode, String(workers), String(connections)], { timeout: 120000 }, (e, out, err) =>
      e ? reject(new Error(`${e.message}\n${err}`)) : resolve(JSON.parse(out.trim().split('\n').pop()!)),
    ),
  );
}

test('2 workers: resumption across workers with the cluster store (all of them) versus about 1/N with internal caches only', async () => {
  const internal = await run('internal', 2, 40);
  const shared = await run('cluster', 2, 40);
  // round-robin over 2 workers: the first connection's worker gets every other one
  expect(internal.resumed).toBeLessThanOrEqual(25);
  expect(internal.resumed).toBeGreaterThanOrEqual(15);
  expect(shared.resumed / shared.connections).toBeGreaterThanOrEqual(0.99);
  // a revocation from one worker reached every worker's OpenSSL cache: nobody resumes it
  expect(shared.revokedOnWorkers).toBe(2);
  expect(shared.resumedAfterRevocation).toBe(0);
  // a worker killed and replaced: the new one (empty cache) resumes from the primary
  expect(shared.afterReplacement.resumed).toBe(10);
  expect(shared.afterReplacement.resumedByReplacement).toBeGreaterThanOrEqual(1);
  expect(shared.primaryEntries).toBeGreaterThanOrEqual(1);
}, 240000);
