// An HTTPS server (OpenSSL 1.0.2, a session store) that serves its own metrics:
// Prometheus text on /metrics (prom-client, an optional peer dependency) and the plain
// snapshot on /metrics.json. Run: node dist/examples/metrics.js [port]
// then: curl -k https://localhost:8444/ a few times (curl resumes within one command line:
//       curl -k https://localhost:8444/ https://localhost:8444/) and curl -k https://localhost:8444/metrics
import { Registry } from 'prom-client';
import { createHttpsServer, generateSelfSigned, MemorySessionStore, registerMetrics } from 'openssl-session-cache';

const { cert, key } = generateSelfSigned({ commonName: 'localhost' });
const registry = new Registry();

const server = createHttpsServer({ cert, key, sessionStore: new MemorySessionStore() }, (req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/metrics') {
    registry.metrics().then(
      (text) => {
        res.setHeader('content-type', registry.contentType);
        res.end(text);
      },
      (e: Error) => {
        res.statusCode = 500;
        res.end(`${e.message}\n`);
      },
    );
    return;
  }
  if (path === '/metrics.json') {
    res.setHeader('content-type', 'application/json');
    res.end(`${JSON.stringify(recorder.metrics(), null, 2)}\n`);
    return;
  }
  res.setHeader('content-type', 'text/plain');
  const tls = req.socket as unknown as { isSessionReused(): boolean };
  res.end(`hello, ${tls.isSessionReused() ? 'resumed' : 'full handshake'}\n`);
});
const recorder = registerMetrics(server, registry);

const port = Number(process.argv[2] ?? 8444);
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address() as { port: number };
  console.log(`https://localhost:${bound}/metrics`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
