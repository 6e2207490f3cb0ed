// The `openssl` program of OpenSSL 1.0.2h — the same source tree the addon is built from —
// as an external peer. test/global-setup.js builds it (`node deps/build-openssl.js
// --apps`, cached); asking the script again here costs nothing and names the path.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as path from 'path';
import { endStdin } from './children';

let program: string | undefined;

/** The path of the 1.0.2h `openssl` program (built and cached by deps/build-openssl.js --apps). */
export function openssl102(): string {
  if (program !== undefined) return program;
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'deps', 'build-openssl.js'), '--apps'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`deps/build-openssl.js --apps failed: ${r.stderr}`);
  program = r.stdout.trim().split('\n').pop() as string;
  return program;
}

let prefix: string | undefined;

/** The install prefix (include/, lib/libssl.a, lib/libcrypto.a) of the 1.0.2h build the addon links. */
export function openssl102Prefix(): string {
  if (prefix !== undefined) return prefix;
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'deps', 'build-openssl.js'), '--prefix'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`deps/build-openssl.js --prefix failed: ${r.stderr}`);
  prefix = r.stdout.trim().split('\n').pop() as string;
  return prefix;
}

/** Compiles a C program of test/fixtures against that build (static libssl/libcrypto) into `out`. */
export function compile102(source: string, out: string): void {
  const p = openssl102Prefix();
  const r = spawnSync('cc', ['-o', out, source, `-I${path.join(p, 'include')}`, path.join(p, 'lib', 'libssl.a'), path.join(p, 'lib', 'libcrypto.a'), '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`cc ${source} failed (a C compiler is needed, as for the addon): ${r.error?.message ?? r.stderr}`);
}

/** Runs the 1.0.2h program to its exit; stdin is `input` (then EOF). */
export function run102(args: string[], input = ''): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(openssl102(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
    endStdin(p, input, reject);
  });
}

/** A program kept running with its stdin open (s_client reads commands there, "R" renegotiates). */
export interface InteractivePeer {
  proc: ChildProcess;
  out: () => string;
  /** resolves once stdout+stderr contain `text`; rejects if the program exits without it */
  saw: (text: string) => Promise<void>;
  exited: Promise<number | null>;
}

/** Starts `program` (default: the 1.0.2h `openssl`) with `args`, stdin open; the caller kills it. */
export function interactive102(args: string[], program: string = openssl102()): InteractivePeer {
  const proc = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.slice()) {
      if (out.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  proc.stdin!.on('error', () => undefined); // the program may be gone when we write
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    out: () => out,
    exited,
    saw: (text) =>
      new Promise<void>((resolve, reject) => {
        if (out.includes(text)) return resolve();
        waiters.push({ text, resolve });
        proc.once('exit', () => (out.includes(text) ? resolve() : reject(new Error(`exited without printing '${text}':\n${out}`))));
      }),
  };
}
