// The fleet simulation (bench/fleet_sim.js --quick): a few server processes behind a random
// load balancer, clients returning after log-normal intervals on a scaled clock, the same
// trace replayed against every store. Asserted here is the behaviour the numbers rest on,
// never a speed: every handshake completes; without a store only the server that issued
// a session resumes it; with a shared store a return within the session timeout resumes
// on whichever server it reaches; a return beyond the timeout is a full handshake
// everywhere. The script starts and stops its own redis-server(s) and server processes.
import * as path from 'path';
import { runNode } from './helpers/children';

const root = path.resolve(__dirname, '..');
const script = path.join(root, 'bench', 'fleet_sim.js');

interface ReturnClass {
  returns: number;
  resumed: number;
  sameServer: number;
  sameServerResumed: number;
  otherServerResumed: number;
}
interface StoreResult {
  handshakes: number;
  failed: number;
  failures: string[];
  firstVisits: number;
  firstVisitsResumed: number;
  returns: number;
  within: ReturnClass;
  boundary: ReturnClass;
  beyond: ReturnClass;
  lookups: Record<string, number>;
  lookupMs: { count: number };
  serverSide: { full: number; resumed: number; stored: number; storeErrors: number };
  redis?: { calls: Record<string, number>; storeOpsPerHandshake: number };
}
interface Run {
  model: { servers: number; clients: number; returns: number };
  results: Record<string, StoreResult>;
}

let run: Run;

beforeAll(async () => {
  // bounded by jest's timeout only (a child timeout would decide the outcome on a busy machine)
  const r = await runNode(script, ['--quick', '--no-write'], { cwd: root });
  if (r.status !== 0) throw new Error(`fleet_sim.js exited ${r.status}: ${r.stderr}`);
  run = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Run;
}, 180000);

// the stores that share sessions: ClusterSessionStore, RedisSessionStore on one Redis and on
// a Redis Cluster (deps/redis-cluster.js)
const shared = (): string[] => ['cluster', 'redis', 'rcluster'];

test('every store ran the whole trace and every handshake completed', () => {
  expect(Object.keys(run.results).sort()).toEqual(['internal', ...shared()].sort());
  const visits = run.model.clients * (1 + run.model.returns);
  expect(run.model.servers).toBeGreaterThanOrEqual(2);
  for (const [mode, r] of Object.entries(run.results)) {
    expect({ mode, failed: r.failed, failures: r.failures }).toEqual({ mode, failed: 0, failures: [] });
    expect(r.handshakes).toBe(visits);
    // the servers saw the same handshakes the clients did
    expect(r.serverSide.full + r.serverSide.resumed).toBe(visits);
    expect(r.firstVisits).toBe(run.model.clients);
    expect(r.firstVisitsResumed).toBe(0);
  }
});

test('without a store a session resumes only on the server that issued it', () => {
  const r = run.results.internal;
  for (const c of [r.within, r.boundary, r.beyond]) expect(c.otherServerResumed).toBe(0);
  // the returns to the issuing server within the timeout resume from its own cache
  expect(r.within.sameServer).toBeGreaterThan(0);
  expect(r.within.sameServerResumed).toBe(r.within.sameServer);
  // and the trace did send returns within the timeout to other servers: they were full
  expect(r.within.returns - r.within.sameServer).toBeGreaterThan(0);
  expect(r.within.resumed).toBe(r.within.sameServer);
  expect(r.lookupMs.count).toBe(0);
  expect(r.redis).toBeUndefined();
});

test.each(shared())('with a shared store (%s) every return within the timeout resumes, on any server', (mode) => {
  const r = run.results[mode];
  expect(r.within.returns - r.within.sameServer).toBeGreaterThan(0);
  expect(r.within.resumed).toBe(r.within.returns);
  expect(r.within.otherServerResumed).toBe(r.within.returns - r.within.sameServer);
  // a return to another server is a store lookup that found the session
  expect(r.lookups.hit ?? 0).toBeGreaterThanOrEqual(r.within.otherServerResumed);
  expect(r.serverSide.storeErrors).toBe(0);
  expect(r.serverSide.stored).toBe(r.serverSide.full);
});

test.each(['internal', ...shared()])('in %s a return beyond the session timeout is a full handshake', (mode) => {
  const r = run.results[mode];
  expect(r.beyond.returns).toBeGreaterThan(0);
  expect(r.beyond.resumed).toBe(0);
});

test.each(shared().filter((m) => m !== 'cluster'))('the Redis side of %s counted the store commands', (mode) => {
  const r = run.results[mode];
  expect(r.redis).toBeDefined();
  // one SET per stored session, one GETRANGE per lookup that reached the store
  expect(r.redis!.calls.set ?? 0).toBeGreaterThanOrEqual(r.serverSide.stored);
  expect(r.redis!.calls.getrange ?? 0).toBeGreaterThanOrEqual((r.lookups.hit ?? 0) + (r.lookups.miss ?? 0));
  expect(r.redis!.storeOpsPerHandshake).toBeGreaterThan(0);
});
