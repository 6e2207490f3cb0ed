// Metrics of a TlsServer, built from the diagnostics channels (lib/common/diagnostics.ts)
// and the counters the server already keeps: a plain snapshot (ServerMetrics#metrics())
// and, when the application passes a prom-client registry, Prometheus series
// (registerMetrics). prom-client is an optional peer dependency, loaded only there.
import * as dc from 'diagnostics_channel';
import { codedError, ErrorCode } from '../common/coded_error';
import {
  CHANNELS,
  HandshakeMessage,
  LookupMessage,
  LookupResult,
  RemovalReason,
  ResumptionMissedMessage,
  ResumptionMissReason,
  SessionRemovedMessage,
  SessionRevokedMessage,
  SessionStoredMessage,
  ticketKeysSetTime,
} from '../common/diagnostics';
import type { TlsServer } from './tls_server';
import { SslContext } from '../openssl/ssl_context';
import { watchRemovals } from './observe';
import { refreshNativeObservation } from './native_observe';

/** the upper bounds (seconds) of the duration histograms */
export const DURATION_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A duration histogram: counts per bucket (cumulative as Prometheus has them), the sum and quantiles estimated from the buckets. */
export interface DurationSummary {
  count: number;
  /** seconds */
  sum: number;
  /** estimated median, seconds (0 without observations) */
  p50: number;
  /** estimated 99th percentile, seconds (0 without observations) */
  p99: number;
  /** [upper bound in seconds, observations <= it] */
  buckets: [number, number][];
}

/** ServerMetrics#metrics(): the counters since the recorder was made, and the server's gauges now. */
export interface MetricsSnapshot {
  /** handshakes by result: 'full' (a new session), 'resumed', 'failed' */
  handshakes: { full: number; resumed: number; failed: number };
  /** resumed handshakes by mechanism */
  resumptions: { id: number; ticket: number };
  /** resumed / (full + resumed); 0 before any */
  resumptionRatio: number;
  handshakeDuration: DurationSummary;
  /** handshakes that did not resume although the client offered a session, by reason */
  resumptionMisses: Partial<Record<ResumptionMissReason, number>>;
  /** store lookups by result */
  lookups: Partial<Record<LookupResult, number>>;
  /** store.get (lookups that reached the store or the listeners) and store.set */
  storeDuration: { get: DurationSummary; set: DurationSummary };
  /** 'sessionStoreError' events */
  storeErrors: number;
  sessionsStored: number;
  revocations: { local: number; store: number };
  /** sessions that left the local cache, by reason */
  removals: Partial<Record<RemovalReason, number>>;
  /** the local cache now: entries (SSL_CTX_sess_number) and its size limit (0: none) */
  cache: { entries: number; limit: number };
  /** the ticket key callback's counters (0 until ticket keys were set) */
  tickets: { issued: number; current: number; previous: number; unknownKey: number; revoked: number };
  /** seconds since the ticket keys were last set (since the recorder started, if never) */
  ticketKeyAgeSeconds: number;
  /** store lookups outstanding now */
  lookupsInFlight: number;
}

class Durations {
  readonly counts = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  count = 0;
  sum = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i += 1;
    this.counts[i] += 1;
    this.count += 1;
    this.sum += seconds;
  }

  // linear inside the bucket that holds the rank, as PromQL's histogram_quantile does
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = q * this.count;
    let below = 0;
    for (let i = 0; i < this.counts.length; i += 1) {
      const c = this.counts[i];
      if (below + c >= rank && c > 0) {
        const lo = i === 0 ? 0 : DURATION_BUCKETS[i - 1];
        const hi = i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i] : DURATION_BUCKETS[DURATION_BUCKETS.length - 1];
        return lo + (hi - lo) * ((rank - below) / c);
      }
      below += c;
    }
    return DURATION_BUCKETS[DURATION_BUCKETS.length - 1];
  }

  summary(): DurationSummary {
    let n = 0;
    const buckets: [number, number][] = DURATION_BUCKETS.map((b, i) => [b, (n += this.counts[i])]);
    return { count: this.count, sum: this.sum, p50: this.quantile(0.5), p99: this.quantile(0.99), buckets };
  }
}

type Counts<K extends string> = Partial<Record<K, number>>;
function bump<K extends string>(c: Counts<K>, k: K): void {
  c[k] = (c[k] ?? 0) + 1;
}

/** hooks for registerMetrics: called as each event is recorded */
interface Sink {
  handshake?(result: 'full' | 'resumed' | 'failed', mechanism: string | undefined, seconds: number): void;
  missed?(reason: ResumptionMissReason): void;
  lookup?(result: LookupResult, seconds: number | undefined): void;
  stored?(seconds: number): void;
  revoked?(origin: 'local' | 'store'): void;
  removed?(reason: RemovalReason): void;
  storeError?(): void;
}

/**
 * Records a TlsServer's handshakes, lookups, store operations, revocations and removals
 * from the diagnostics channels (it subscribes while it is open; the server then reads each
 * ClientHello and its context records removals). Made by observeMetrics / registerMetrics;
 * close() unsubscribes (also done when the server closes).
 */
export class ServerMetrics {
  readonly server: TlsServer;
  readonly #started = Date.now();
  readonly #handshakes = { full: 0, resumed: 0, failed: 0 };
  readonly #resumptions = { id: 0, ticket: 0 };
  readonly #handshakeDuration = new Durations();
  readonly #misses: Counts<ResumptionMissReason> = {};
  readonly #lookups: Counts<LookupResult> = {};
  readonly #get = new Durations();
  readonly #set = new Durations();
  #storeErrors = 0;
  #stored = 0;
  readonly #revocations = { local: 0, store: 0 };
  readonly #removals: Counts<RemovalReason> = {};
  readonly #off: (() => void)[] = [];
  /** @internal */
  sink: Sink = {};

  constructor(server: TlsServer) {
    this.server = server;
    const mine = (m: { server?: unknown }) => m.server === server;
    const plain = (name: string, fn: (m: never) => void) => {
      const f = (m: unknown) => {
        if (mine(m as { server?: unknown })) fn(m as never);
      };
      dc.subscribe(name, f);
      this.#off.push(() => dc.unsubscribe(name, f));
    };
    const tracing = <T extends object>(name: string, fn: (m: T) => void) => {
      const handlers = { asyncEnd: (m: unknown) => mine(m as { server?: unknown }) && fn(m as T) };
      const ch = dc.tracingChannel<T, T>(name);
      ch.subscribe(handlers as unknown as dc.TracingChannelSubscribers<T>);
      this.#off.push(() => ch.unsubscribe(handlers as unknown as dc.TracingChannelSubscribers<T>));
    };
    tracing<HandshakeMessage>(CHANNELS.handshake, (m) => this.#onHandshake(m));
    tracing<LookupMessage>(CHANNELS.lookup, (m) => this.#onLookup(m));
    plain(CHANNELS.resumptionMissed, (m: ResumptionMissedMessage) => {
      bump(this.#misses, m.reason);
      this.sink.missed?.(m.reason);
    });
    plain(CHANNELS.sessionStored, (m: SessionStoredMessage) => {
      this.#stored += 1;
      this.#set.observe(m.durationMs / 1000);
      this.sink.stored?.(m.durationMs / 1000);
    });
    plain(CHANNELS.sessionRevoked, (m: SessionRevokedMessage) => {
      this.#revocations[m.origin] += 1;
      this.sink.revoked?.(m.origin);
    });
    plain(CHANNELS.sessionRemoved, (m: SessionRemovedMessage) => {
      bump(this.#removals, m.reason);
      this.sink.removed?.(m.reason);
    });
    const onStoreError = () => {
      this.#storeErrors += 1;
      this.sink.storeError?.();
    };
    server.on('sessionStoreError', onStoreError);
    this.#off.push(() => server.off('sessionStoreError', onStoreError));
    watchRemovals(server, server.context);
    // a native-path server that already listens reads the subscriptions above now
    refreshNativeObservation();
    const onClose = () => this.close();
    server.once('close', onClose);
    this.#off.push(() => server.off('close', onClose));
  }

  #onHandshake(m: HandshakeMessage): void {
    const seconds = (m.durationMs ?? 0) / 1000;
    const result = m.error ? 'failed' : m.resumed ? 'resumed' : 'full';
    this.#handshakes[result] += 1;
    if (m.resumed && m.mechanism) this.#resumptions[m.mechanism] += 1;
    if (!m.error) this.#handshakeDuration.observe(seconds);
    this.sink.handshake?.(result, m.resumed ? m.mechanism : undefined, seconds);
  }

  #onLookup(m: LookupMessage): void {
    if (!m.result) return; // a 'resumeSession' listener's error: the connection failed
    bump(this.#lookups, m.result);
    // only the lookups that asked the store (or the listeners) have a store duration
    const asked = m.result !== 'over-limit' && m.result !== 'negative';
    const seconds = asked ? (m.durationMs ?? 0) / 1000 : undefined;
    if (seconds !== undefined) this.#get.observe(seconds);
    this.sink.lookup?.(m.result, seconds);
  }

  /** seconds since the ticket keys were last set */
  ticketKeyAgeSeconds(): number {
    return (Date.now() - (ticketKeysSetTime(this.server.context) ?? this.#started)) / 1000;
  }

  /** the local cache's entries and size limit now (0 and 0 once the context is freed) */
  cache(): { entries: number; limit: number } {
    const ctx = this.server.context;
    return ctx.freed ? { entries: 0, limit: 0 } : { entries: ctx.sessionCount, limit: ctx.sessionCacheSize };
  }

  tickets(): { issued: number; current: number; previous: number; unknownKey: number; revoked: number } {
    const ctx = this.server.context;
    return ctx.freed ? { issued: 0, current: 0, previous: 0, unknownKey: 0, revoked: 0 } : ctx.ticketKeyStats;
  }

  metrics(): MetricsSnapshot {
    const h = this.#handshakes;
    const done = h.full + h.resumed;
    return {
      handshakes: { ...h },
      resumptions: { ...this.#resumptions },
      resumptionRatio: done === 0 ? 0 : h.resumed / done,
      handshakeDuration: this.#handshakeDuration.summary(),
      resumptionMisses: { ...this.#misses },
      lookups: { ...this.#lookups },
      storeDuration: { get: this.#get.summary(), set: this.#set.summary() },
      storeErrors: this.#storeErrors,
      sessionsStored: this.#stored,
      revocations: { ...this.#revocations },
      removals: { ...this.#removals },
      cache: this.cache(),
      tickets: this.tickets(),
      ticketKeyAgeSeconds: this.ticketKeyAgeSeconds(),
      lookupsInFlight: this.server.sessionStoreStats.inFlight,
    };
  }

  /** unsubscribes from the channels (the counters keep their values) */
  close(): void {
    for (const f of this.#off.splice(0)) f();
  }
}

/** Starts recording `server`'s metrics (no prom-client needed): `.metrics()` is the snapshot. */
export function observeMetrics(server: TlsServer): ServerMetrics {
  checkServer(server);
  return new ServerMetrics(server);
}

function checkServer(server: unknown): void {
  // the class itself is not imported (tls_server imports this layer's observe module)
  const s = server as TlsServer | null;
  if (typeof s !== 'object' || s === null || typeof (s as { context?: unknown }).context !== 'object' || typeof s.sessionStoreStats !== 'object') {
    throw new TypeError('server must be a TlsServer (createServer, createHttpsServer, createHttp2SecureServer)');
  }
}

/** registerMetrics options */
export interface RegisterMetricsOptions {
  /** prefix of every metric name (default 'openssl_session_cache_') */
  prefix?: string;
  /** labels added to every series, e.g. { server: 'edge-1' } */
  labels?: Record<string, string>;
}

// the part of prom-client used here (its own types are not needed to compile the package)
interface PromMetric {
  inc(labels: Record<string, string>, value?: number): void;
  observe(labels: Record<string, string>, value: number): void;
  set(labels: Record<string, string>, value: number): void;
  reset(): void;
}
type PromClass = new (config: Record<string, unknown>) => PromMetric;
interface PromClient {
  Counter: PromClass;
  Gauge: PromClass;
  Histogram: PromClass;
  Registry: new () => unknown;
}

function loadPromClient(): PromClient {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('prom-client') as PromClient;
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND') throw e;
    throw codedError(ErrorCode.PROM_CLIENT_MISSING, 'registerMetrics needs the optional peer dependency prom-client: npm install prom-client');
  }
}

/**
 * Registers `server`'s metrics on a prom-client `registry` (Prometheus naming: `_total`
 * counters, seconds, labels result / mechanism / reason / key); docs/operating.md lists
 * them with their HAProxy and Envoy equivalents. One server per registry and prefix.
 * Returns the recorder (its `.metrics()` is the same data as a plain object).
 */
export function registerMetrics(server: TlsServer, registry: object, options: RegisterMetricsOptions = {}): ServerMetrics {
  checkServer(server);
  if (typeof registry !== 'object' || registry === null || typeof (registry as { registerMetric?: unknown }).registerMetric !== 'function') {
    throw new TypeError('registry must be a prom-client Registry');
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const prefix = options.prefix ?? 'openssl_session_cache_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) throw new TypeError('options.prefix must be a string of Prometheus name characters');
  const base = options.labels ?? {};
  if (typeof base !== 'object' || base === null || Object.values(base).some((v) => typeof v !== 'string')) throw new TypeError('options.labels must be an object of strings');
  const prom = loadPromClient();
  const m = new ServerMetrics(server);
  const baseNames = Object.keys(base);
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[] = [], collect?: (this: PromMetric) => void) =>
    new prom.Counter({ name: prefix + name, help, labelNames: [...baseNames, ...labelNames], registers, ...(collect ? { collect } : {}) });
  const gauge = (name: string, help: string, collect: (this: PromMetric) => void) => new prom.Gauge({ name: prefix + name, help, labelNames: baseNames, registers, collect });
  const histogram = (name: string, help: string, labelNames: string[]) =>
    new prom.Histogram({ name: prefix + name, help, labelNames: [...baseNames, ...labelNames], buckets: [...DURATION_BUCKETS], registers });
  const L = (extra: Record<string, string> = {}) => ({ ...base, ...extra });

  const handshakes = counter('handshakes_total', 'TLS handshakes by result: full (a new session), resumed, failed', ['result']);
  const resumptions = counter('resumptions_total', 'resumed handshakes by mechanism: id (session cache / store) or ticket', ['mechanism']);
  const handshakeSeconds = histogram('handshake_duration_seconds', 'time from the TCP connection to the end of a completed handshake', ['result']);
  const misses = counter('resumption_misses_total', 'handshakes that did not resume although the client offered a session, by reason', ['reason']);
  const lookups = counter('store_lookups_total', 'session store lookups of offered ids, by result', ['result']);
  const storeSeconds = histogram('store_operation_duration_seconds', 'session store operation time (get: a lookup, set: storing a new session)', ['operation']);
  const storeErrors = counter('store_errors_total', "session store failures and timeouts ('sessionStoreError')");
  const stored = counter('sessions_stored_total', 'new sessions the store accepted');
  const revoked = counter('sessions_revoked_total', 'revocations: local (server.revoke) or heard from the store', ['origin']);
  const removed = counter('sessions_removed_total', 'sessions that left the local cache, by reason (evict: cache full, flush/handshake: expired, remove, free)', ['reason']);
  for (const r of ['full', 'resumed', 'failed']) handshakes.inc(L({ result: r }), 0);
  for (const k of ['id', 'ticket']) resumptions.inc(L({ mechanism: k }), 0);
  for (const r of ['hit', 'miss']) lookups.inc(L({ result: r }), 0);
  storeErrors.inc(L(), 0);
  stored.inc(L(), 0);
  m.sink = {
    handshake(result, mechanism, seconds) {
      handshakes.inc(L({ result }));
      if (mechanism) resumptions.inc(L({ mechanism }));
      if (result !== 'failed') handshakeSeconds.observe(L({ result }), seconds);
    },
    missed: (reason) => misses.inc(L({ reason })),
    lookup(result, seconds) {
      lookups.inc(L({ result }));
      if (seconds !== undefined) storeSeconds.observe(L({ operation: 'get' }), seconds);
    },
    stored(seconds) {
      stored.inc(L());
      storeSeconds.observe(L({ operation: 'set' }), seconds);
    },
    revoked: (origin) => revoked.inc(L({ origin })),
    removed: (reason) => removed.inc(L({ reason })),
    storeError: () => storeErrors.inc(L()),
  };
  gauge('sessions', 'sessions in the local cache (SSL_CTX_sess_number)', function () {
    this.set(L(), m.cache().entries);
  });
  gauge('sessions_limit', 'size limit of the local cache (SSL_CTX_sess_get_cache_size; 0: none)', function () {
    this.set(L(), m.cache().limit);
  });
  gauge('store_lookups_in_flight', 'store lookups outstanding now', function () {
    this.set(L(), server.sessionStoreStats.inFlight);
  });
  gauge('ticket_key_age_seconds', 'seconds since the ticket keys were last set', function () {
    this.set(L(), m.ticketKeyAgeSeconds());
  });
  counter('tickets_issued_total', 'session tickets issued under the current key', [], function () {
    this.reset();
    this.inc(L(), m.tickets().issued);
  });
  counter('ticket_decryptions_total', 'offered tickets by the key that decrypted them: current, previous, unknown (a full handshake), revoked (refused for a revoked session id: a full handshake)', ['key'], function () {
    const t = m.tickets();
    this.reset();
    this.inc(L({ key: 'current' }), t.current);
    this.inc(L({ key: 'previous' }), t.previous);
    this.inc(L({ key: 'unknown' }), t.unknownKey);
    this.inc(L({ key: 'revoked' }), t.revoked);
  });
  return m;
}

/**
 * Registers an SslContext's own counters on a prom-client `registry`, for contexts used
 * without a TlsServer (handshake(), raw connections, a client context): the cache's entries
 * and limit, OpenSSL's SSL_CTX_sess_* counters (lookups by result, cache full, handshakes
 * started and completed per side), the ticket key callback's counters and the key age. All
 * read at scrape time. Default prefix 'openssl_session_cache_context_'.
 */
export function registerContextMetrics(context: SslContext, registry: object, options: RegisterMetricsOptions = {}): void {
  if (!(context instanceof SslContext)) throw new TypeError('context must be an SslContext');
  if (typeof registry !== 'object' || registry === null || typeof (registry as { registerMetric?: unknown }).registerMetric !== 'function') {
    throw new TypeError('registry must be a prom-client Registry');
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const prefix = options.prefix ?? 'openssl_session_cache_context_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) throw new TypeError('options.prefix must be a string of Prometheus name characters');
  const base = options.labels ?? {};
  if (typeof base !== 'object' || base === null || Object.values(base).some((v) => typeof v !== 'string')) throw new TypeError('options.labels must be an object of strings');
  const prom = loadPromClient();
  const since = Date.now();
  const baseNames = Object.keys(base);
  const L = (extra: Record<string, string> = {}) => ({ ...base, ...extra });
  const registers = [registry];
  const zero = { number: 0, connect: 0, connectGood: 0, accept: 0, acceptGood: 0, hits: 0, cbHits: 0, misses: 0, timeouts: 0, cacheFull: 0 };
  const stats = () => (context.freed ? zero : context.stats);
  const tickets = () => (context.freed ? { issued: 0, current: 0, previous: 0, unknownKey: 0, revoked: 0 } : context.ticketKeyStats);
  const counter = (name: string, help: string, labelNames: string[], values: () => [Record<string, string>, number][]) =>
    new prom.Counter({
      name: prefix + name,
      help,
      labelNames: [...baseNames, ...labelNames],
      registers,
      collect(this: PromMetric) {
        this.reset();
        for (const [labels, v] of values()) this.inc(L(labels), v);
      },
    });
  const gauge = (name: string, help: string, value: () => number) =>
    new prom.Gauge({
      name: prefix + name,
      help,
      labelNames: baseNames,
      registers,
      collect(this: PromMetric) {
        this.set(L(), value());
      },
    });
  gauge('sessions', 'sessions in the cache (SSL_CTX_sess_number)', () => stats().number);
  gauge('sessions_limit', 'size limit of the cache (0: none)', () => (context.freed ? 0 : context.sessionCacheSize));
  counter('lookups_total', "server-side session lookups by result: hit (internal cache), callback_hit (getSessionCallback), miss, expired", ['result'], () => {
    const s = stats();
    return [
      [{ result: 'hit' }, s.hits],
      [{ result: 'callback_hit' }, s.cbHits],
      [{ result: 'miss' }, s.misses],
      [{ result: 'expired' }, s.timeouts],
    ];
  });
  counter('cache_full_total', 'sessions evicted because the cache was full (SSL_CTX_sess_cache_full)', [], () => [[{}, stats().cacheFull]]);
  counter('handshakes_total', 'handshakes started and completed, per side (SSL_CTX_sess_accept / _good, _connect / _good)', ['side', 'result'], () => {
    const s = stats();
    return [
      [{ side: 'server', result: 'started' }, s.accept],
      [{ side: 'server', result: 'completed' }, s.acceptGood],
      [{ side: 'client', result: 'started' }, s.connect],
      [{ side: 'client', result: 'completed' }, s.connectGood],
    ];
  });
  counter('tickets_issued_total', 'session tickets issued under the current key', [], () => [[{}, tickets().issued]]);
  counter('ticket_decryptions_total', 'offered tickets by the key that decrypted them: current, previous, unknown, revoked (refused)', ['key'], () => {
    const t = tickets();
    return [
      [{ key: 'current' }, t.current],
      [{ key: 'previous' }, t.previous],
      [{ key: 'unknown' }, t.unknownKey],
      [{ key: 'revoked' }, t.revoked],
    ];
  });
  gauge('ticket_key_age_seconds', 'seconds since the ticket keys were last set (since registration if never)', () => (Date.now() - (ticketKeysSetTime(context) ?? since)) / 1000);
}
