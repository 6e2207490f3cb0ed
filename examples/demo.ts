// npm start: our OpenSSL 1.0.2 server, Node's own tls (OpenSSL 3) as the client, and the
// application deciding — through the session cache — who resumes.
import * as http from 'http';
import * as http2 from 'http2';
import * as tls from 'tls';
import { createHttp2SecureServer, createServer, generateSelfSigned, MemorySessionStore, SslContext, TlsServer } from 'openssl-session-cache';

const { cert, key } = generateSelfSigned({ commonName: 'localhost' });
const store = new MemorySessionStore();

function line(s = ''): void {
  process.stdout.write(`${s}\n`);
}

function startServer(label: string): Promise<{ server: TlsServer; port: number }> {
  return new Promise((resolve) => {
    const server = createServer({ cert, key, sessionStore: store }, (socket) => {
      socket.on('data', (d) => socket.write(d));
      socket.on('end', () => socket.end());
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      line(`${label}: our server (OpenSSL 1.0.2h, tickets off, NO_INTERNAL_STORE + a session store) on 127.0.0.1:${port}`);
      resolve({ server, port });
    });
  });
}

interface Visit {
  reused: boolean;
  session: Buffer | undefined;
  protocol: string | null;
}

// a Node tls client: connect, say hello, wait for the echo, end cleanly
function visit(port: number, session?: Buffer): Promise<Visit> {
  return new Promise((resolve, reject) => {
    let saved: Buffer | undefined;
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', session }, () => {
      c.write('hello');
    });
    c.on('session', (s) => (saved = s));
    c.once('data', () => {
      const v = { reused: c.isSessionReused(), session: saved ?? c.getSession(), protocol: c.getProtocol() };
      c.end();
      c.once('close', () => resolve(v));
    });
    c.on('error', reject);
  });
}

function waitStored(server: TlsServer): Promise<void> {
  return new Promise((resolve) => server.once('sessionStored', () => resolve()));
}

function table(ctx: SslContext): void {
  const now = Math.floor(Date.now() / 1000);
  const rows = ctx.sessions().map((s) => ({
    id: `${s.id.toString('hex').slice(0, 16)}…`,
    age: `${now - s.time} s`,
    timeout: `${s.timeout} s`,
    resumable: s.resumable ? 'yes' : 'no',
  }));
  if (rows.length === 0) line('    cached sessions: (none)');
  else {
    line('    cached sessions:');
    line('      id                 age    timeout  resumable');
    for (const r of rows) line(`      ${r.id.padEnd(18)} ${r.age.padEnd(6)} ${r.timeout.padEnd(8)} ${r.resumable}`);
  }
  const st = ctx.stats;
  line(`    counters: accept ${st.accept}, acceptGood ${st.acceptGood}, hits ${st.hits}, misses ${st.misses}, timeouts ${st.timeouts}, cacheFull ${st.cacheFull}; store entries ${store.size}`);
}

function report(step: string, v: Visit): void {
  line(`\n${step}`);
  line(`    client saw: ${v.reused ? 'RESUMED (abbreviated handshake)' : 'FULL handshake'} over ${v.protocol}`);
}

async function main(): Promise<void> {
  line(`openssl-session-cache demo — Node ${process.version} (its own tls: OpenSSL ${process.versions.openssl})\n`);
  const first = await startServer('1');
  const ctx = first.server.context;

  const stored = waitStored(first.server);
  const a = await visit(first.port);
  await stored;
  report('A. first visit: no session to offer', a);
  line('    the new session went to the store (newSession → store.set); NO_INTERNAL_STORE kept it out of the cache');
  table(ctx);

  const b = await visit(first.port, a.session);
  report('B. second visit offering that session', b);
  line('    the ClientHello\'s id was not cached → store.get → addSession(fromDER) → OpenSSL\'s lookup hit');
  table(ctx);

  const cached = ctx.sessions();
  for (const s of cached) ctx.removeSession(s); // revoke: removeSession → store.delete
  line(`\nC. the application revokes it: server.context.removeSession() → ${cached.length} removed (also deleted from the store)`);
  const c = await visit(first.port, a.session);
  report('   third visit offering the revoked session', c);
  table(ctx);

  const storedAgain = waitStored(first.server);
  const d = await visit(first.port);
  await storedAgain;
  report('D. a fresh visit makes a new session (stored)', d);
  await new Promise<void>((resolve) => first.server.close(() => resolve()));
  line('\nE. server 1 shut down (its cache is gone); server 2 starts with an empty cache and the same store');
  const second = await startServer('2');
  const e = await visit(second.port, d.session);
  report('   visit to server 2 offering the session made on server 1', e);
  line('    pre-warmed from the store: the session was added to the new cache before OpenSSL read the hello');
  table(second.server.context);
  await new Promise<void>((resolve) => second.server.close(() => resolve()));

  const web = await httpsVisits();
  const ok = !a.reused && b.reused && !c.reused && !d.reused && e.reused && web;
  line(`\nsummary: full, resumed, full after revocation, full, resumed after restart; HTTP/2 full, HTTP/1.1 resumed → ${ok ? 'as expected' : 'UNEXPECTED'}`);
  process.exitCode = ok ? 0 : 1;
}

// F. HTTPS on the same OpenSSL 1.0.2: one request over HTTP/2, then one over HTTP/1.1 on a
// new connection resuming the first one's session (ALPN picks the protocol)
async function httpsVisits(): Promise<boolean> {
  const server = createHttp2SecureServer({ cert, key, allowHTTP1: true }, (req, res) => {
    res.end(`hello over HTTP/${req.httpVersion}`);
  });
  const seen: { alpn: string | false; resumed: boolean }[] = [];
  server.on('secureConnection', (s) => seen.push({ alpn: s.alpnProtocol, resumed: s.isSessionReused() }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const tlsOptions = { host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2' as const };
  let session: Buffer | undefined;
  // HTTP/2 with Node's http2 client
  const h2body = await new Promise<string>((resolve, reject) => {
    const client = http2.connect(`https://localhost:${port}`, {
      createConnection: () => {
        const socket = tls.connect({ ...tlsOptions, ALPNProtocols: ['h2'] });
        socket.on('session', (s) => (session = s));
        return socket;
      },
    });
    client.on('error', reject);
    const req = client.request({ ':path': '/' });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      client.close();
      resolve(body);
    });
    req.end();
  });
  line(`
F. HTTPS on OpenSSL 1.0.2 (createHttp2SecureServer): "${h2body}" — protocol ${seen[0]?.alpn}, ${seen[0]?.resumed ? 'resumed' : 'full handshake'}`);
  // HTTP/1.1 with Node's https client, offering the session of the HTTP/2 connection
  const h1body = await new Promise<string>((resolve, reject) => {
    // node:http over Node's TLS socket (https.get would pick its own connection)
    const req = http.get(
      { host: 'localhost', path: '/', createConnection: () => tls.connect({ ...tlsOptions, session, ALPNProtocols: ['http/1.1'] }) } as http.RequestOptions,
      (res: http.IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
  });
  line(`   then "${h1body}" — protocol ${seen[1]?.alpn}, ${seen[1]?.resumed ? 'resumed' : 'full handshake'} (the HTTP/2 connection's session)`);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return seen.length === 2 && seen[0].alpn === 'h2' && !seen[0].resumed && seen[1].alpn === 'http/1.1' && seen[1].resumed;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
