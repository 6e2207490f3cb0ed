// Child processes with an IPC channel (the server fixtures in test/fixtures/): every
// message { type, ... } is re-emitted as an event of that type, requests carry a seq and
// are answered by { type: 'reply', seq, ... }. Children still running when the test
// process exits are killed.
import { ChildProcess, fork, ForkOptions, spawn } from 'child_process';
import { EventEmitter } from 'events';

export interface Msg {
  type: string;
  seq?: number;
  [k: string]: unknown;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export class IpcChild extends EventEmitter {
  #seq = 0;
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    super();
    running.add(proc);
    proc.on('message', (m: Msg) => this.emit(m.type, m));
    this.exited = new Promise<void>((resolve) =>
      proc.once('exit', () => {
        running.delete(proc);
        this.emit('exited');
        resolve();
      }),
    );
  }

  /** forks `script` with stdout/stderr inherited and an IPC channel */
  static fork<T extends IpcChild>(
    this: new (name: string, proc: ChildProcess) => T,
    name: string,
    script: string,
    args: string[],
    options: ForkOptions = {},
  ): T {
    return new this(name, fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...options }));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** the next message of a type (optionally one that matches); rejects if the child exits first */
  next(type: string, match: (m: Msg) => boolean = () => true): Promise<Msg> {
    return new Promise((resolve, reject) => {
      if (!this.running) {
        reject(new Error(`${this.name} has exited, no '${type}' will come`));
        return;
      }
      const on = (m: Msg) => {
        if (!match(m)) return;
        this.off(type, on);
        this.off('exited', gone);
        resolve(m);
      };
      const gone = () => {
        this.off(type, on);
        reject(new Error(`${this.name} exited while waiting for '${type}'`));
      };
      this.on(type, on);
      this.once('exited', gone);
    });
  }

  /** sends { type, seq, ...fields } and resolves its reply; a reply with `error` rejects */
  async request(type: string, fields: Record<string, unknown> = {}): Promise<Msg> {
    this.#seq += 1;
    const seq = this.#seq;
    const reply = this.next('reply', (m) => m.seq === seq);
    this.proc.send({ type, seq, ...fields });
    const r = await reply;
    if (r.error) throw new Error(`${this.name}: ${String(r.error)}`);
    return r;
  }

  /** asks the child to stop ({ type: 'stop' }) and waits for its exit; kills it if the channel is gone */
  async stop(): Promise<void> {
    if (!this.running) return;
    if (this.proc.connected) this.proc.send({ type: 'stop' });
    else this.proc.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * Runs `node script ...args` to its end without blocking the event loop and without a
 * clock of its own: a hang is left to jest's test timeout. The child is killed should the
 * test process exit first.
 */
export function runNode(script: string, args: string[], options: { cwd?: string; nodeArgs?: string[] } = {}): Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    proc.once('error', reject);
    proc.once('close', (status, signal) => {
      running.delete(proc);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/**
 * Writes `input` (if any) to a child's stdin and closes it. A program that exits without
 * reading its stdin (`openssl version`, an s_client that has already finished) closes the
 * pipe first; the EPIPE that our write then gets says nothing about the test — the child's
 * exit code and output do — so only that error is swallowed, any other still fails.
 */
export function endStdin(child: ChildProcess, input?: string | Buffer, onError: (e: Error) => void = (e) => { throw e; }): void {
  const stdin = child.stdin;
  if (!stdin) return;
  stdin.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') onError(e);
  });
  if (input === undefined || input.length === 0) stdin.end();
  else stdin.end(input);
}
