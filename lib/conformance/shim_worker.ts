/**
 * The worker thread behind a shim (shim_cache.ts): runs the shim program, writes each
 * request line to its stdin, and puts the first line it answers into the shared buffer for
 * the blocked main thread. Restarts the program on `new` after it died or was stopped.
 */

import { ChildProcess, spawn } from 'node:child_process';
import { parentPort, workerData } from 'node:worker_threads';
import { ErrorCode } from '../common/coded_error';

interface Data {
  command: string;
  args: string[];
  cwd: string;
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

const { command, args, cwd, control, data } = workerData as Data;
const state = new Int32Array(control);
const bytes = new Uint8Array(data);
let child: ChildProcess | undefined;
let buffered = '';
let stderrTail = '';
let waiting = false;

function answer(text: string): void {
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length > bytes.length) {
    answer(JSON.stringify({ error: { code: ErrorCode.SHIM_PROTOCOL, message: `the shim's answer is longer than ${bytes.length} bytes` } }));
    return;
  }
  bytes.set(encoded);
  Atomics.store(state, 1, encoded.length);
  Atomics.store(state, 0, 1);
  Atomics.notify(state, 0);
  waiting = false;
}

function failure(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

function start(): ChildProcess {
  const c = spawn(command, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  buffered = '';
  stderrTail = '';
  c.stdout?.setEncoding('utf8');
  c.stdout?.on('data', (chunk: string) => {
    if (child !== c) return;
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (waiting) answer(line);
    }
  });
  c.stderr?.setEncoding('utf8');
  c.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-500);
  });
  const died = (why: string) => {
    if (child !== c) return; // a program stopped after a timeout: another may be serving now
    child = undefined;
    if (waiting) answer(failure(ErrorCode.SHIM_EXITED, `the shim ${why}${stderrTail ? `: ${stderrTail.trim().split('\n').pop()}` : ''}`));
  };
  c.on('error', (e) => died(`could not run (${e.message})`));
  c.on('exit', (code, signal) => died(`exited (${signal ?? `status ${String(code)}`})`));
  c.stdin?.on('error', () => undefined); // a dead shim shows up as its exit
  return c;
}

parentPort?.on('message', (m: { line?: string; stop?: boolean; restart?: boolean }) => {
  if (m.stop) {
    // the main thread gave up waiting (step timeout): stop the program; `new` starts another
    waiting = false;
    child?.kill('SIGKILL');
    child = undefined;
    return;
  }
  if (m.line === undefined) return;
  if (child === undefined) {
    if (!m.restart) {
      answer(failure(ErrorCode.SHIM_EXITED, 'the shim is not running (it exited or was stopped after a timeout)'));
      return;
    }
    child = start();
  }
  waiting = true;
  child.stdin?.write(m.line + '\n');
});
