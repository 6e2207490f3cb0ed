// A real redis-server for the Redis tests (test/6*): 127.0.0.1, a free port, no
// persistence. deps/redis-server.js finds one (REDIS_SERVER, PATH) or fetches Debian's
// package into the cache; the jest global setup runs it once before any test. Every
// server started here is killed by killAllRedis() (call it in afterAll) and at exit.
import { ChildProcess } from 'child_process';
import * as net from 'net';
import * as path from 'path';
import { Redis, RedisOptions } from 'ioredis';
import { RedisSessionStore, TlsServer } from '../../lib';
import { close } from './sockets';

 
const { startRedisServer } = require(path.join(__dirname, '..', '..', 'deps', 'redis-server.js')) as {
  startRedisServer(port: number, extraArgs?: string[]): Promise<ChildProcess>;
};

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
  async start(extraArgs: string[] = []): Promise<void> {
    if (this.#proc) return;
    const proc = await startRedisServer(this.port, ['--loglevel', 'notice', ...extraArgs]);
    running.add(proc);
    this.#proc = proc;
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

/**
 * What a Redis test file makes — admin clients, RedisSessionStores, TLS servers — kept so
 * that one `afterAll(() => bed.close())` closes them all and kills the redis-servers. Errors
 * of the clients and stores are expected (the tests stop, freeze and cut Redis) and only
 * listened to, so that they never crash the file.
 */
export class RedisTestBed {
  readonly servers: { server: TlsServer; sockets: Set<{ destroy(): unknown }> }[] = [];
  readonly stores: RedisSessionStore[] = [];
  readonly admins: Redis[] = [];

  /** a plain ioredis client of the redis-server on `port` (reconnecting every ≤ 300 ms) */
  admin(port: number, opts: RedisOptions = {}): Redis {
    const a = new Redis({ host: '127.0.0.1', port, retryStrategy: (t) => Math.min(t * 50, 300), ...opts });
    a.on('error', () => {});
    this.admins.push(a);
    return a;
  }

  store(opts: ConstructorParameters<typeof RedisSessionStore>[0]): RedisSessionStore {
    const s = new RedisSessionStore(opts);
    s.on('connectionError', () => {});
    this.stores.push(s);
    return s;
  }

  /** a server made by the test, with its tracked sockets, closed with the rest */
  keep(server: TlsServer, sockets: Set<{ destroy(): unknown }>): void {
    this.servers.push({ server, sockets });
  }

  async close(): Promise<void> {
    for (const s of this.servers) await close(s.server, s.sockets);
    await Promise.all(this.stores.map((s) => s.close()));
    for (const a of this.admins) a.disconnect();
    await killAllRedis();
  }
}
