// Terminate under load: busy workers terminated while they call into the addon once crashed the process
// (SIGSEGV, about 1 terminate round in 100-200 under CPU pressure): toDER() wrote through the
// NULL Data() of a Buffer that Node-API could no longer create because the env was stopping.
// A bounded form of scripts/stress-workers.js: 8 busy terminate rounds of workers.js and 16 hot
// terminations (scripts/lib/terminate-hot.js) beside 2 busy-looping processes, in a child process so a crash cannot take jest down. The outcome does not depend
// on timing: every round must end with its 4 workers terminated and the process alive.
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.resolve(__dirname, '..');

interface StressResult {
  runs: number;
  terminateRounds: number;
  crashes: number;
  failures: number;
  sanitizerReports: number;
  workersTerminated: number;
  crashedRuns: unknown[];
  failedRuns: unknown[];
}

function stress(args: string[]): { status: number | null; signal: string | null; result: Partial<StressResult> } {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/stress-workers.js'), ...args, '--pressure', '2', '--quiet'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('STRESS-RESULT '));
  return { status: r.status, signal: r.signal, result: line ? JSON.parse(line.slice('STRESS-RESULT '.length)) : {} };
}

test('8 busy terminate rounds of workers.js under CPU pressure: no crash, every worker terminated', () => {
  const { status, signal, result } = stress(['--runs', '2', '--terminate-rounds', '4', '--ops', '8000']);
  expect({ status, signal, crashedRuns: result.crashedRuns, failedRuns: result.failedRuns }).toEqual({ status: 0, signal: null, crashedRuns: [], failedRuns: [] });
  expect(result).toMatchObject({ runs: 2, terminateRounds: 8, crashes: 0, failures: 0, sanitizerReports: 0, workersTerminated: 32 });
}, 1800000); // only a net for a hung child: on a loaded 2-core machine a run takes minutes

test('16 workers terminated inside hot addon calls (toDER, toPEM, list, get, create, fromDER, context, handshake): no crash', () => {
  const { status, signal, result } = stress(['--hot', '--runs', '1', '--terminate-rounds', '16']);
  expect({ status, signal, crashedRuns: result.crashedRuns, failedRuns: result.failedRuns }).toEqual({ status: 0, signal: null, crashedRuns: [], failedRuns: [] });
  expect(result).toMatchObject({ runs: 1, terminateRounds: 16, crashes: 0, failures: 0, sanitizerReports: 0, workersTerminated: 16 });
}, 1800000); // only a net for a hung child: on a loaded 2-core machine a run takes minutes
