// Worker threads: 4 worker_threads × 20k operations each, run in a child
// process (scripts/lib/workers.js) so that a crash cannot take jest down with it. Every
// worker has its own contexts, checks every result against its own model of the FIFO
// cache, and reports exact counters; DER moves between workers by postMessage. Workers are
// also terminated with contexts, sessions and ports alive and replaced by fresh ones: the
// addon's per-environment state loads and unloads each time.
import * as path from 'path';
import { runNode } from './helpers/children';

const root = path.resolve(__dirname, '..');

interface WorkerCounts {
  ops: number;
  added: number;
  removed: number;
  evictions: number;
  handshakes: number;
  resumed: number;
  derSent: number;
  derReceived: number;
  derAdded: number;
  listChecks: number;
}
interface Result {
  ok: boolean;
  errors: string[];
  rounds: { round: number; kind: string; workers: WorkerCounts[] }[];
  workersStarted: number;
  workersTerminated: number;
  workersCompleted: number;
  mainOps: number;
}

let result: Result;
let status: number | null;
let signal: NodeJS.Signals | null;
let stderr: string;

// bounded by jest's timeout only (a spawnSync timeout would decide the outcome on a busy machine)
beforeAll(async () => {
  const r = await runNode(
    path.join(root, 'scripts/lib/workers.js'),
    ['--workers', '4', '--ops', '20000', '--full-rounds', '2', '--terminate-rounds', '3', '--terminate-mode', 'busy'],
    { cwd: root },
  );
  status = r.status;
  signal = r.signal;
  stderr = r.stderr;
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('WORKERS-RESULT '));
  result = line ? JSON.parse(line.slice('WORKERS-RESULT '.length)) : ({ ok: false, errors: [`no result; stderr: ${r.stderr}`], rounds: [] } as unknown as Result);
}, 300000);

test('the child process exits normally (no crash, no abort)', () => {
  expect({ status, signal, stderr: stderr.slice(-2000) }).toEqual({ status: 0, signal: null, stderr: '' });
});

test('every worker of every full round finished its 20k operations with exact counts', () => {
  expect(result.errors).toEqual([]);
  expect(result.ok).toBe(true);
  const full = result.rounds.filter((r) => r.kind === 'full');
  expect(full).toHaveLength(2);
  for (const r of full) {
    expect(r.workers).toHaveLength(4);
    for (const w of r.workers) {
      expect(w.ops).toBe(20000);
      expect(w.listChecks).toBe(20); // sessions() compared with the model every 1000 ops
      expect(w.derReceived).toBe(w.derAdded);
      expect(w.added).toBeGreaterThan(5000);
      expect(w.handshakes).toBeGreaterThan(100);
      expect(w.resumed).toBeGreaterThan(0);
    }
    // the DER ring: what worker i sent, worker i+1 received
    for (let i = 0; i < 4; i++) expect(r.workers[(i + 1) % 4].derReceived).toBe(r.workers[i].derSent);
  }
});

test('workers were terminated with live state and replaced several times', () => {
  expect(result.rounds.filter((r) => r.kind === 'terminate')).toHaveLength(3);
  expect(result.workersTerminated).toBe(12);
  expect(result.workersCompleted).toBe(8);
  expect(result.workersStarted).toBe(20);
  // the main thread used the addon concurrently the whole time
  expect(result.mainOps).toBeGreaterThan(0);
});
