// npm run example:cluster [workers] [connections]: one machine, node:cluster with N workers
// on one port. Each worker has its own OpenSSL cache, so a client that lands on another
// worker resumes nowhere — unless the workers share a ClusterSessionStore (sessions held by
// the primary, asked for over the cluster IPC channel). Node's tls client measures both.
import cluster from 'cluster';
import * as tls from 'tls';
import { ClusterSessionStore, createServer, generateSelfSigned } from 'openssl-session-cache';

const WORKERS = Number(process.argv[2] ?? 4);
const CONNECTIONS = Number(process.argv[3] ?? 200);
const mode = process.env.OSC_CLUSTER_MODE;

if (cluster.isWorker) {
  const { cert, key } = JSON.parse(process.env.OSC_CERT!) as { cert: string; key: string };
  const store = mode === 'cluster' ? new ClusterSessionStore() : undefined;
  const server = createServer({ cert, key, sessionStore: store }, (s) => s.end());
  server.on('sessionStored', () => process.send!({ stored: true }));
  server.listen(0, '127.0.0.1');
} else {
  const { cert, key } = generateSelfSigned({ commonName: 'localhost' });
  const primary = ClusterSessionStore.primary();

  const visit = (port: number, session?: Buffer) =>
    new Promise<{ reused: boolean; session?: Buffer }>((resolve, reject) => {
      let got: Buffer | undefined;
      let reused = false;
      const c = tls.connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', maxVersion: 'TLSv1.2', session }, () => {
        reused = c.isSessionReused();
      });
      c.on('session', (s: Buffer) => (got = s));
      c.on('error', reject);
      c.resume();
      c.on('close', () => resolve({ reused, session: got }));
    });

  const run = async (which: 'internal' | 'cluster'): Promise<number> => {
    let port = 0;
    for (let i = 0; i < WORKERS; i++) {
      const listening = new Promise<number>((resolve) => cluster.once('listening', (_w, a) => resolve(a.port)));
      cluster.fork({ OSC_CERT: JSON.stringify({ cert, key }), OSC_CLUSTER_MODE: which });
      port = await listening;
    }
    const stored = new Promise<void>((resolve) => (which === 'cluster' ? cluster.once('message', () => resolve()) : resolve()));
    const first = await visit(port);
    await stored;
    let resumed = 0;
    for (let i = 0; i < CONNECTIONS; i++) if ((await visit(port, first.session)).reused) resumed++;
    const exits = Object.values(cluster.workers ?? {}).map((w) => new Promise((r) => w!.once('exit', r)));
    for (const w of Object.values(cluster.workers ?? {})) w!.kill();
    await Promise.all(exits);
    return resumed;
  };

  void (async () => {
    console.log(`${WORKERS} workers, ${CONNECTIONS} connections offering the first connection's session`);
    const internal = await run('internal');
    console.log(`  internal caches only:  ${internal}/${CONNECTIONS} resumed (about 1/${WORKERS})`);
    const shared = await run('cluster');
    console.log(`  ClusterSessionStore:   ${shared}/${CONNECTIONS} resumed (primary holds ${primary.size})`);
    primary.close();
  })();
}
