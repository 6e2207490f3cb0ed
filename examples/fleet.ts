// npm run example:fleet [-- N [CONNECTIONS]]
// A fleet of N servers (default 4) behind a round-robin balancer, all sharing one Redis
// through RedisSessionStore, against the same fleet with only OpenSSL's internal caches.
// It starts its own redis-server (127.0.0.1, a free port) and kills it at exit.
import { ChildProcess } from 'child_process';
import * as path from 'path';
import * as net from 'net';
import * as tls from 'tls';
import { createServer, generateSelfSigned, RedisSessionStore, TlsServer } from 'openssl-session-cache';

const N = Number(process.argv[2] ?? 4);
const CONNECTIONS = Number(process.argv[3] ?? 200);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(CONNECTIONS) || CONNECTIONS < 1) {
  process.stderr.write('usage: fleet [servers >= 1] [connections >= 1]\n');
  process.exit(2);
}

const { cert, key } = generateSelfSigned({ commonName: 'localhost' });

function line(s = ''): void {
  process.stdout.write(`${s}\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let redisProc: ChildProcess | undefined;
process.on('exit', () => redisProc?.kill('SIGKILL'));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

// the project's redis-server resolver: REDIS_SERVER, PATH, or Debian's package unpacked
// into the cache (deps/redis-server.js; nothing is installed system-wide)
 
const { startRedisServer } = require(path.join(__dirname, '..', '..', 'deps', 'redis-server.js')) as {
  startRedisServer(port: number): Promise<ChildProcess>;
};

async function startRedis(): Promise<number> {
  const port = await freePort();
  redisProc = await startRedisServer(port);
  return port;
}

interface Fleet {
  servers: TlsServer[];
  ports: number[];
  shared: boolean;
  stop(): Promise<void>;
}

async function startFleet(redisPort: number | undefined, prefix: string): Promise<Fleet> {
  const servers: TlsServer[] = [];
  const stores: RedisSessionStore[] = [];
  const ports: number[] = [];
  for (let i = 0; i < N; i++) {
    // each server has its own store (its own connections), as separate machines would
    const store = redisPort === undefined ? undefined : new RedisSessionStore({ redis: { host: '127.0.0.1', port: redisPort }, prefix });
    if (store) stores.push(store);
    const server = createServer({ cert, key, sessionStore: store }, (socket) => {
      socket.resume();
      socket.on('end', () => socket.end());
    });
    server.on('sessionStoreError', (e: Error) => process.stderr.write(`server ${i}: session store: ${e.message}\n`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    servers.push(server);
    ports.push((server.address() as net.AddressInfo).port);
  }
  await Promise.all(stores.map((s) => s.ready()));
  return {
    servers,
    ports,
    shared: redisPort !== undefined,
    async stop() {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      await Promise.all(stores.map((s) => s.close()));
    },
  };
}

// one connection: offer `session`, return whether it was resumed and the session held after
function connectOnce(port: number, session: Buffer | undefined): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let got: Buffer | undefined;
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', session });
    c.on('session', (s: Buffer) => (got = s));
    c.once('secureConnect', () => {
      const reused = c.isSessionReused();
      c.end();
      c.resume();
      c.once('close', () => resolve({ reused, session: got ?? c.getSession() ?? session }));
    });
    c.on('error', reject);
  });
}

/**
 * CONNECTIONS sequential connections, server i % N for the i-th. 'first': the client keeps
 * the session of its first connection and offers it every time; 'newest': it offers the
 * newest session it was given (what a client that updates its session cache does).
 */
async function roundRobin(fleet: Fleet, client: 'first' | 'newest'): Promise<number> {
  let session: Buffer | undefined;
  let resumed = 0;
  for (let i = 0; i < CONNECTIONS; i++) {
    const server = fleet.servers[i % N];
    // a full handshake's session goes to Redis asynchronously: the next server may ask for
    // it at once, so wait for 'sessionStored' (or its failure) before moving on
    let onStored: () => void = () => {};
    const stored = new Promise<void>((resolve) => {
      onStored = () => resolve();
      server.once('sessionStored', onStored);
      server.once('sessionStoreError', onStored);
    });
    const r = await connectOnce(fleet.ports[i % N], session);
    if (r.reused) resumed += 1;
    else if (fleet.shared) await stored;
    server.off('sessionStored', onStored);
    server.off('sessionStoreError', onStored);
    if (session === undefined || client === 'newest') session = r.session;
  }
  return resumed;
}

function pct(n: number): string {
  return `${((100 * n) / CONNECTIONS).toFixed(1)}%`;
}

async function main(): Promise<void> {
  const redisPort = await startRedis();
  line(`redis-server on 127.0.0.1:${redisPort}; ${N} servers (OpenSSL 1.0.2h, tickets off); ${CONNECTIONS} connections, round robin`);

  const results: Record<string, Record<'first' | 'newest', number>> = {};
  for (const mode of ['shared', 'internal'] as const) {
    results[mode] = { first: 0, newest: 0 };
    for (const client of ['first', 'newest'] as const) {
      const fleet = await startFleet(mode === 'shared' ? redisPort : undefined, `fleet-${client}:`);
      results[mode][client] = await roundRobin(fleet, client);
      await fleet.stop();
    }
  }
  const shared = results.shared.first;
  const internal = results.internal.first;
  line();
  line('client offering the session of its first connection:');
  line(`  shared store (RedisSessionStore): ${shared}/${CONNECTIONS} resumed (${pct(shared)})`);
  line(`  internal-only (no store):         ${internal}/${CONNECTIONS} resumed (${pct(internal)}; about 1/N = ${(100 / N).toFixed(1)}%)`);
  line('client offering the newest session it was given:');
  line(`  shared store (RedisSessionStore): ${results.shared.newest}/${CONNECTIONS} resumed (${pct(results.shared.newest)})`);
  line(
    `  internal-only (no store):         ${results.internal.newest}/${CONNECTIONS} resumed (${pct(results.internal.newest)}; ` +
      `strict round robin never returns to the issuing server${N === 1 ? ', except with one server' : ''})`,
  );
  const all = shared === CONNECTIONS - 1 && results.shared.newest === CONNECTIONS - 1;
  line();
  line(`summary: with the shared store every connection after the first resumed: ${all ? 'yes' : 'no'}`);
  // a slow machine may miss a store deadline now and then; the store losing to no store is a failure
  if (shared <= internal && N > 1) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
