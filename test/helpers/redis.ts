// A real redis-server for the Redis tests (test/6*): 127.0.0.1, a free port, no
// persistence. `.ci/run` installs the package when the machine lacks it. Every server
// started here is killed by killAllRedis() (call it in afterAll) and at process exit.
import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** a port nobody listens on right now (127.0.0.1) */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  readonly port: number;
  #proc: ChildProcess | undefined;

  constructor(port: number) {
    this.port = port;
  }

  get running(): boolean {
    return this.#proc !== undefined;
  }

  /** spawns redis-server and resolves once it accepts connections */
  async start(): Promise<void> {
    if (this.#proc) return;
    const proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(proc);
    this.#proc = proc;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`redis-server did not start within 10 s:\n${out}`)), 10000);
      const fail = (e: Error) => {
        clearTimeout(timer);
        running.delete(proc);
        this.#proc = undefined;
        proc.kill('SIGKILL');
        reject(e);
      };
      proc.once('error', (e) => fail(new Error(`cannot run redis-server (install it: apt-get install redis-server): ${e.message}`)));
      proc.once('exit', (code) => fail(new Error(`redis-server exited (${code}) before it was ready:\n${out}`)));
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          proc.removeAllListeners('exit');
          proc.removeAllListeners('error');
          proc.stdout!.off('data', onData);
          proc.stdout!.resume();
          proc.stderr!.resume();
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    });
  }

  /** kills redis-server (SIGKILL: no clean goodbye to clients) and waits for its exit */
  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    this.#proc = undefined;
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGKILL');
      await gone;
    }
    running.delete(proc);
  }

  /** freezes (SIGSTOP) or thaws (SIGCONT) the server: a Redis that is there but silent */
  pause(on: boolean): void {
    this.#proc?.kill(on ? 'SIGSTOP' : 'SIGCONT');
  }
}

/** starts a redis-server on a free port */
export async function startRedis(): Promise<RedisServer> {
  const r = new RedisServer(await freePort());
  await r.start();
  return r;
}

/** kills every redis-server this process started */
export async function killAllRedis(): Promise<void> {
  const procs = [...running];
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGCONT');
          p.kill('SIGKILL');
        }),
    ),
  );
  for (const p of procs) running.delete(p);
}
