// Metrics an operator scrapes: observeMetrics' plain snapshot, registerMetrics on a
// prom-client registry (Prometheus naming), the example that serves /metrics fetched with
// curl after real traffic, and the dashboard example opened in headless Chromium.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, execFile, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { Registry } from 'prom-client';
import { createServer, ErrorCode, handshake, MemorySessionStore, observeMetrics, registerContextMetrics, registerMetrics, SslContext, TlsServer, TLSSocket } from '../lib';
import type { TlsServerOptions } from '../lib';
import { certs, close, endNode, listen, nodeClient, resumesWith, storedFullHandshake, track } from './helpers/sockets';
import { runNode } from './helpers/children';
const { resolveChromium } = require('../deps/chromium') as { resolveChromium(): { command: string; env: NodeJS.ProcessEnv } };

const { cert, key } = certs();
const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;
const root = path.resolve(__dirname, '..');

const servers: { server: TlsServer; sockets: Set<{ destroy(): unknown }> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await close(s.server, s.sockets);
});

async function start(opts: TlsServerOptions = {}): Promise<{ server: TlsServer; port: number }> {
  const server = createServer({ cert, key, ...opts }, (s: TLSSocket) => {
    s.resume();
    s.on('end', () => s.end());
  });
  servers.push({ server, sockets: track(server) });
  return { server, port: await listen(server) };
}

/** the value of one series in Prometheus text (undefined when absent) */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    if (line.slice(0, i) === series) return Number(line.slice(i + 1));
  }
  return undefined;
}

/** a session id no server here made */
async function foreignSession(): Promise<Buffer> {
  const other = await start();
  const c = await nodeClient(other.port, { secureOptions: NO_TICKET });
  const s = await c.session();
  await endNode(c.socket);
  return s;
}

describe('observeMetrics: the plain snapshot', () => {
  test('handshakes, resumptions, lookups, store durations, misses by reason, cache gauges', async () => {
    const a = await start({ sessionStore: new MemorySessionStore() });
    const m = observeMetrics(a.server);
    const { session } = await storedFullHandshake(a.server, a.port);
    expect(await resumesWith(a.port, session)).toBe(true);
    expect(await resumesWith(a.port, session)).toBe(true);
    expect(await resumesWith(a.port, await foreignSession())).toBe(false);
    const s = m.metrics();
    expect(s.handshakes).toEqual({ full: 2, resumed: 2, failed: 0 });
    expect(s.resumptions).toEqual({ id: 2, ticket: 0 });
    expect(s.resumptionRatio).toBe(0.5);
    expect(s.handshakeDuration.count).toBe(4);
    expect(s.handshakeDuration.p99).toBeGreaterThan(0);
    expect(s.handshakeDuration.p50).toBeLessThanOrEqual(s.handshakeDuration.p99);
    // the second resumption found the session in the local cache: no lookup
    expect(s.lookups).toEqual({ hit: 1, miss: 1 });
    expect(s.storeDuration.get.count).toBe(2);
    expect(s.storeDuration.set.count).toBe(2);
    expect(s.sessionsStored).toBe(2);
    expect(s.resumptionMisses).toEqual({ 'unknown-id': 1 });
    expect(s.cache).toEqual({ entries: 1, limit: a.server.context.sessionCacheSize });
    expect(s.tickets).toEqual({ issued: 0, current: 0, previous: 0, unknownKey: 0, revoked: 0 });
    expect(s.storeErrors).toBe(0);
    expect(s.ticketKeyAgeSeconds).toBeGreaterThanOrEqual(0);
    m.close();
    // closed: no longer counting
    expect(await resumesWith(a.port, session)).toBe(true);
    expect(m.metrics().handshakes.resumed).toBe(2);
  });

  test('a server that is not one is a TypeError', () => {
    expect(() => observeMetrics({} as TlsServer)).toThrow(TypeError);
    expect(() => observeMetrics(undefined as unknown as TlsServer)).toThrow(TypeError);
  });
});

describe('registerMetrics on a prom-client registry', () => {
  test('ticket decryptions by key, key age, evictions by reason; Prometheus names and labels', async () => {
    const t = await start({ ticketKeys: randomBytes(48), previousTicketKeys: 1, sessionCacheSize: 1 });
    const registry = new Registry();
    registerMetrics(t.server, registry, { labels: { server: 'edge-1' } });
    const visit = async (session?: Buffer, secureOptions?: number) => {
      const c = await nodeClient(t.port, { ...(session ? { session } : {}), ...(secureOptions ? { secureOptions } : {}) });
      const got = c.socket.getSession()!;
      await endNode(c.socket);
      return got;
    };
    const first = await visit();
    await visit(first);
    t.server.setTicketKeys(randomBytes(48));
    await visit(first);
    t.server.setTicketKeys(randomBytes(48));
    await visit(first); // under a key the server no longer holds
    // two id sessions in a cache of one: the first is evicted
    await visit(undefined, NO_TICKET);
    await visit(undefined, NO_TICKET);
    const text = await registry.metrics();
    const L = 'server="edge-1"';
    expect(sample(text, `openssl_session_cache_handshakes_total{${L},result="full"}`)).toBe(4);
    expect(sample(text, `openssl_session_cache_handshakes_total{${L},result="resumed"}`)).toBe(2);
    expect(sample(text, `openssl_session_cache_resumptions_total{${L},mechanism="ticket"}`)).toBe(2);
    expect(sample(text, `openssl_session_cache_ticket_decryptions_total{${L},key="current"}`)).toBe(1);
    expect(sample(text, `openssl_session_cache_ticket_decryptions_total{${L},key="previous"}`)).toBe(1);
    expect(sample(text, `openssl_session_cache_ticket_decryptions_total{${L},key="unknown"}`)).toBe(1);
    expect(sample(text, `openssl_session_cache_resumption_misses_total{${L},reason="ticket-key-unknown"}`)).toBe(1);
    expect(sample(text, `openssl_session_cache_sessions_removed_total{${L},reason="evict"}`)).toBe(1);
    expect(sample(text, `openssl_session_cache_sessions{${L}}`)).toBe(1);
    expect(sample(text, `openssl_session_cache_sessions_limit{${L}}`)).toBe(1);
    expect(sample(text, `openssl_session_cache_handshake_duration_seconds_count{${L},result="full"}`)).toBe(4);
    const age = sample(text, `openssl_session_cache_ticket_key_age_seconds{${L}}`)!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/# TYPE openssl_session_cache_handshakes_total counter/);
    expect(text).toMatch(/# TYPE openssl_session_cache_store_operation_duration_seconds histogram/);
  });

  test('bad arguments are refused before anything is registered', async () => {
    const a = await start();
    const registry = new Registry();
    expect(() => registerMetrics(a.server, {} as Registry)).toThrow(TypeError);
    expect(() => registerMetrics({} as TlsServer, registry)).toThrow(TypeError);
    expect(() => registerMetrics(a.server, registry, { prefix: 'bad prefix' })).toThrow(TypeError);
    expect(() => registerMetrics(a.server, registry, { labels: { a: 1 as unknown as string } })).toThrow(TypeError);
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    expect(ErrorCode.PROM_CLIENT_MISSING).toBe('ERR_PROM_CLIENT_MISSING');
  });
});

describe('registerContextMetrics: an SslContext without a server', () => {
  test("the cache's entries and limit, OpenSSL's lookup and handshake counters, tickets, read at scrape time", async () => {
    const server = new SslContext({ cert, key, sessionCacheSize: 7, noTicket: true });
    const client = new SslContext({ role: 'client' });
    try {
      const registry = new Registry();
      registerContextMetrics(server, registry);
      registerContextMetrics(client, registry, { prefix: 'client_' });
      const full = handshake(client, server);
      expect(full.resumed).toBe(false);
      expect(handshake(client, server, { session: full.clientSession }).resumed).toBe(true);
      const text = await registry.metrics();
      const P = 'openssl_session_cache_context_';
      expect(sample(text, `${P}sessions`)).toBe(1);
      expect(sample(text, `${P}sessions_limit`)).toBe(7);
      expect(sample(text, `${P}lookups_total{result="hit"}`)).toBe(1);
      expect(sample(text, `${P}lookups_total{result="miss"}`)).toBe(0);
      expect(sample(text, `${P}handshakes_total{side="server",result="completed"}`)).toBe(2);
      expect(sample(text, `client_handshakes_total{side="client",result="completed"}`)).toBe(2);
      expect(sample(text, `${P}cache_full_total`)).toBe(0);
      expect(sample(text, `${P}ticket_decryptions_total{key="unknown"}`)).toBe(0);
      expect(sample(text, `${P}ticket_key_age_seconds`)).toBeGreaterThanOrEqual(0);
      expect(() => registerContextMetrics({} as SslContext, new Registry())).toThrow(TypeError);
    } finally {
      server.free();
      client.free();
    }
  });
});

describe('the example that serves /metrics', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
  });

  test('curl /metrics after traffic shows the named series with non-zero values', async () => {
    child = spawn(process.execPath, [path.join(root, 'dist', 'examples', 'metrics.js'), '0'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /https:\/\/localhost:(\d+)\/metrics/.exec(out);
        if (m) resolve(`https://127.0.0.1:${m[1]}`);
      });
      child!.once('exit', (code) => reject(new Error(`the example exited (${code}) before listening`)));
    });
    const port = Number(new URL(url).port);
    // traffic: a full handshake, its id resumed (a store lookup), an unknown id offered
    const opts = { rejectUnauthorized: false, secureOptions: NO_TICKET };
    const first = await nodeClient(port, opts);
    const session = await first.session();
    await endNode(first.socket);
    const again = await nodeClient(port, { ...opts, session });
    expect(again.socket.isSessionReused()).toBe(true);
    await endNode(again.socket);
    const foreign = await foreignSession();
    const miss = await nodeClient(port, { ...opts, session: foreign });
    expect(miss.socket.isSessionReused()).toBe(false);
    await endNode(miss.socket);
    const curl = (p: string) =>
      new Promise<string>((resolve, reject) => execFile('curl', ['-sSk', '--tlsv1.2', '--tls-max', '1.2', `${url}${p}`], (e, out) => (e ? reject(e) : resolve(out))));
    const text = await curl('/metrics');
    const nonZero = [
      'openssl_session_cache_handshakes_total{result="full"}',
      'openssl_session_cache_handshakes_total{result="resumed"}',
      'openssl_session_cache_resumptions_total{mechanism="id"}',
      'openssl_session_cache_store_lookups_total{result="hit"}',
      'openssl_session_cache_store_lookups_total{result="miss"}',
      'openssl_session_cache_resumption_misses_total{reason="unknown-id"}',
      'openssl_session_cache_sessions_stored_total',
      'openssl_session_cache_store_operation_duration_seconds_count{operation="get"}',
      'openssl_session_cache_store_operation_duration_seconds_count{operation="set"}',
      'openssl_session_cache_sessions',
      'openssl_session_cache_sessions_limit',
    ];
    for (const series of nonZero) expect([series, sample(text, series)! > 0]).toEqual([series, true]);
    const json = JSON.parse(await curl('/metrics.json'));
    expect(json.resumptions.id).toBeGreaterThan(0);
    expect(json.lookups.hit).toBeGreaterThan(0);
  });
});

describe('the dashboard example, opened in headless Chromium', () => {
  test('the page written from recorded metrics renders its four charts and every series', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oss-dashboard-'));
    try {
      const file = path.join(dir, 'dashboard.html');
      const rounds = 6;
      const ran = await runNode(path.join(root, 'dist', 'examples', 'dashboard.js'), [file, String(rounds)], { cwd: root });
      expect([ran.status, ran.stderr]).toEqual([0, '']);
      expect(ran.stdout).toMatch(/6 rounds, \d+ full and \d+ resumed handshakes/);
      const html = fs.readFileSync(file, 'utf8');
      // self-contained: nothing is loaded from elsewhere
      expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
      const samples = JSON.parse(/<script type="application\/json" id="samples">([^<]*)<\/script>/.exec(html)![1]);
      expect(samples).toHaveLength(rounds);
      expect(samples[rounds - 1].resumptionRate).toBeGreaterThan(0);
      expect(samples.some((s: { hits: number }) => s.hits > 0)).toBe(true);
      expect(samples.some((s: { misses: number }) => s.misses > 0)).toBe(true);
      expect(samples[rounds - 1].p99ms).toBeGreaterThan(0);
      expect(samples[rounds - 1].entries).toBeGreaterThan(0);

      // the browser's view of the page: the inline script records what each series drew
      const chromium = resolveChromium();
      const dom = await new Promise<string>((resolve, reject) =>
        execFile(
          chromium.command,
          ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${path.join(dir, 'profile')}`, '--dump-dom', `file://${file}`],
          { env: { ...process.env, ...chromium.env }, maxBuffer: 16 * 1024 * 1024 },
          (e, stdout) => (e ? reject(e) : resolve(stdout)),
        ),
      );
      expect(dom).toMatch(/<body[^>]* data-rendered="6"/);
      for (const id of ['resumption-rate', 'lookups', 'store-latency', 'cache-entries']) expect(dom).toContain(`<figure id="${id}">`);
      const drawn = [...dom.matchAll(/<polyline class="series" data-series="(\w+)" data-points="(\d+)"[^>]* data-rendered-width="(\d+)"/g)].map((m) => [m[1], Number(m[2]), Number(m[3]) > 0]);
      expect(drawn).toEqual(['resumptionRate', 'hits', 'misses', 'p50ms', 'p99ms', 'entries'].map((s) => [s, rounds, true]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 600000);
});
