// A picture of the cache over time: a server with a session store takes rounds of traffic
// (new clients, returning ones, clients with an id no server knows), the metrics recorder
// is sampled after each round, and a self-contained HTML page with SVG charts is written:
// resumption rate, store hits and misses, store latency p50/p99, cache entries.
// Run: node dist/examples/dashboard.js [out.html] [rounds]   then open out.html
import { constants } from 'crypto';
import * as fs from 'fs';
import * as tls from 'tls';
import { createServer, DURATION_BUCKETS, generateSelfSigned, MemorySessionStore, observeMetrics } from 'openssl-session-cache';
import type { MetricsSnapshot } from 'openssl-session-cache';

const out = process.argv[2] ?? 'dashboard.html';
const rounds = Number(process.argv[3] ?? 12);
const { cert, key } = generateSelfSigned({ commonName: 'localhost' });

interface Sample {
  round: number;
  resumptionRate: number;
  hits: number;
  misses: number;
  p50ms: number;
  p99ms: number;
  entries: number;
}

/** one client connection (tickets off: resumption by id through the store); its session */
function visit(port: number, session?: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const c = tls.connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', maxVersion: 'TLSv1.2', secureOptions: constants.SSL_OP_NO_TICKET, session });
    let got: Buffer | undefined;
    c.on('session', (s: Buffer) => (got = s));
    c.once('secureConnect', () => c.end());
    c.resume();
    c.once('error', reject);
    c.once('close', () => resolve(got ?? c.getSession()));
  });
}

/** a quantile of the observations between two cumulative histograms (as histogram_quantile) */
function quantile(before: [number, number][], after: [number, number][], total: number, q: number): number {
  if (total === 0) return 0;
  const rank = q * total;
  let prev = 0;
  for (let i = 0; i < after.length; i++) {
    const cum = after[i][1] - before[i][1];
    if (cum >= rank) {
      const lo = i === 0 ? 0 : DURATION_BUCKETS[i - 1];
      const inBucket = cum - prev;
      return lo + (after[i][0] - lo) * (inBucket === 0 ? 1 : (rank - prev) / inBucket);
    }
    prev = cum;
  }
  return DURATION_BUCKETS[DURATION_BUCKETS.length - 1];
}

function sampleOf(round: number, a: MetricsSnapshot, b: MetricsSnapshot): Sample {
  const resumed = b.handshakes.resumed - a.handshakes.resumed;
  const done = resumed + b.handshakes.full - a.handshakes.full;
  const g0 = a.storeDuration.get;
  const g1 = b.storeDuration.get;
  const n = g1.count - g0.count;
  return {
    round,
    resumptionRate: done === 0 ? 0 : resumed / done,
    hits: (b.lookups.hit ?? 0) - (a.lookups.hit ?? 0),
    misses: (b.lookups.miss ?? 0) - (a.lookups.miss ?? 0),
    p50ms: quantile(g0.buckets, g1.buckets, n, 0.5) * 1000,
    p99ms: quantile(g0.buckets, g1.buckets, n, 0.99) * 1000,
    entries: b.cache.entries,
  };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** one chart: a polyline per series over the rounds */
function chart(id: string, title: string, unit: string, samples: Sample[], series: { key: keyof Sample; label: string; color: string }[]): string {
  const W = 460;
  const H = 200;
  const pad = 36;
  const max = Math.max(1e-9, ...samples.flatMap((s) => series.map((x) => s[x.key])));
  const x = (i: number) => pad + (samples.length <= 1 ? 0 : (i * (W - 2 * pad)) / (samples.length - 1));
  const y = (v: number) => H - pad - (v / max) * (H - 2 * pad);
  const lines = series
    .map((sr) => {
      const pts = samples.map((s, i) => `${x(i).toFixed(1)},${y(s[sr.key]).toFixed(1)}`).join(' ');
      return `<polyline class="series" data-series="${sr.key}" data-points="${samples.length}" fill="none" stroke="${sr.color}" stroke-width="2" points="${pts}"/>`;
    })
    .join('\n    ');
  const legend = series.map((sr, i) => `<text x="${pad + i * 130}" y="16" fill="${sr.color}">${esc(sr.label)}</text>`).join('');
  return `<figure id="${id}">
  <figcaption>${esc(title)}</figcaption>
  <svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
    <line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#888"/>
    <line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#888"/>
    <text x="2" y="${pad}" font-size="10">${max.toPrecision(3)} ${esc(unit)}</text>
    <text x="2" y="${H - pad}" font-size="10">0</text>
    <text x="${W - pad}" y="${H - 8}" font-size="10" text-anchor="end">round ${samples.length}</text>
    ${legend}
    ${lines}
  </svg>
</figure>`;
}

function page(samples: Sample[], final: MetricsSnapshot): string {
  const charts = [
    chart('resumption-rate', 'Resumption rate per round', '', samples, [{ key: 'resumptionRate', label: 'resumed / handshakes', color: '#1b7f3b' }]),
    chart('lookups', 'Store lookups per round', '', samples, [
      { key: 'hits', label: 'hit', color: '#1f5fbf' },
      { key: 'misses', label: 'miss', color: '#c0392b' },
    ]),
    chart('store-latency', 'Store get latency', 'ms', samples, [
      { key: 'p50ms', label: 'p50', color: '#7d3c98' },
      { key: 'p99ms', label: 'p99', color: '#d35400' },
    ]),
    chart('cache-entries', 'Local cache entries', '', samples, [{ key: 'entries', label: 'entries', color: '#2c3e50' }]),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>openssl-session-cache dashboard</title>
<style>
body { font-family: sans-serif; margin: 1em; }
main { display: grid; grid-template-columns: repeat(2, 480px); gap: 1em; }
figure { margin: 0; border: 1px solid #ddd; padding: 4px; }
figcaption { font-weight: bold; }
</style>
</head>
<body>
<h1>Session cache over ${samples.length} rounds</h1>
<p>${final.handshakes.full} full and ${final.handshakes.resumed} resumed handshakes; ${final.lookups.hit ?? 0} store hits, ${final.lookups.miss ?? 0} misses.</p>
<main>
${charts.join('\n')}
</main>
<script type="application/json" id="samples">${JSON.stringify(samples).replace(/</g, '\\u003c')}</script>
<script>
// what the browser drew: each series' drawn width, for a reader (or a test) of the DOM
for (const p of document.querySelectorAll('polyline.series')) p.setAttribute('data-rendered-width', String(Math.round(p.getBBox().width)));
document.body.setAttribute('data-rendered', String(document.querySelectorAll('polyline.series').length));
</script>
</body>
</html>
`;
}

async function main(): Promise<void> {
  const server = createServer({ cert, key, sessionStore: new MemorySessionStore(), sessionStoreNegativeCacheTtl: 0 }, (s) => {
    s.resume();
    s.on('end', () => s.end());
  });
  const recorder = observeMetrics(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const other = createServer({ cert, key }, (s) => s.resume().on('end', () => s.end()));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
  const foreign = await visit((other.address() as { port: number }).port);

  const known: Buffer[] = [];
  const samples: Sample[] = [];
  let before = recorder.metrics();
  for (let round = 1; round <= rounds; round++) {
    // more returning clients as the population grows; a few unknown ids each round
    const fresh = Math.max(1, 6 - round);
    for (let i = 0; i < fresh; i++) {
      const s = await visit(port);
      if (s) known.push(s);
    }
    for (let i = 0; i < Math.min(known.length, round * 2); i++) await visit(port, known[(round + i) % known.length]);
    if (round % 3 === 0) await visit(port, foreign);
    const now = recorder.metrics();
    samples.push(sampleOf(round, before, now));
    before = now;
  }
  fs.writeFileSync(out, page(samples, before));
  console.log(`${out}: ${samples.length} rounds, ${before.handshakes.full} full and ${before.handshakes.resumed} resumed handshakes`);
  recorder.close();
  await new Promise<void>((r) => server.close(() => r()));
  await new Promise<void>((r) => other.close(() => r()));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
