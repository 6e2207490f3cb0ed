// A SessionStore on Redis (ioredis): keys are prefix + the raw session id bytes, values the
// session's DER (sealed with AES-256-GCM when `keys` is given), TTL the session timeout.
// delete() also PUBLISHes the id on a channel so that every server of the fleet drops the
// session from its own OpenSSL cache; the subscriber connection is watched (a PING
// heartbeat) and its state reported to the subscribers (onDown / onResync).
//
// On a Redis Cluster (an ioredis Cluster, given or made from `cluster`) every command names
// one key, so each goes to its key's shard; delete()'s MULTI holds one key (its slot's
// node runs it) and PUBLISH, which names no key, is broadcast by the cluster to every node.
// The subscriber is then a plain connection to one node of the cluster (any node hears
// every PUBLISH); when that node fails or stops answering the feed moves to another.
//
// ioredis is an optional peer dependency: only its types are imported here, and the module
// itself is required the first time a RedisSessionStore is made, so that
// require('openssl-session-cache') works (and stays fast) without it.
import { EventEmitter } from 'events';
import type { ConnectionOptions } from 'tls';
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { SessionStore } from './session_store';
import { codedError, ErrorCode } from '../common/coded_error';
import { publishStoreConnection } from '../common/diagnostics';
import type { EventListener, ListenerEvents } from '../common/typed_events';
import { integer, optionsObject, toBuffer, toBufferOrString } from '../common/validate';
import { SessionSealer, SessionSealingKeys } from './sealing';
import { storeError, storeFailure, storeFailureOf } from './store_errors';
import { keepConnecting, sentinelDefaults } from './redis_sentinel';

/** RedisSessionStoreOptions#cluster: a Redis Cluster client the store makes */
export interface RedisSessionStoreClusterOptions {
  /** startup nodes (any nodes of the cluster; the client discovers the rest) */
  nodes: ClusterNode[];
  /** ioredis ClusterOptions (`redisOptions` for the per-node connections: password, …);
   * the store's fail-fast settings (no offline queue, no retries on CLUSTERDOWN or a lost
   * node) win over the same options given here */
  options?: ClusterOptions;
}

export interface RedisSessionStoreOptions {
  /** an existing ioredis client (Redis or Cluster); the store does not quit it on close()
   * unless `ownsClient` */
  client?: Redis | Cluster;
  /** quit `client` on close() (default false for a given client) */
  ownsClient?: boolean;
  /** connection options for a new client (ioredis RedisOptions or a redis:// URL);
   * not allowed together with `client` or `cluster` */
  redis?: RedisOptions | string;
  /** a Redis Cluster: the store makes an ioredis Cluster of these startup nodes; not allowed
   * together with `client` or `redis` */
  cluster?: RedisSessionStoreClusterOptions;
  /** with a Cluster: the node the revocation feed subscribes to first (default: a node of
   * the cluster picked at random, replicas included); should it fail, the feed moves on */
  subscriberNode?: { host: string; port: number };
  /** TLS to Redis (node:tls options such as `ca`, `cert`, `key`, `servername`) for the
   * clients the store makes (every node's connection with `cluster`); with a `rediss://`
   * URL it completes the URL's settings */
  tls?: ConnectionOptions;
  /** key prefix, binary-safe (default 'tls-session:') */
  prefix?: string | Buffer;
  /** revocation channel (default prefix + 'revoked') */
  channel?: string | Buffer;
  /** how long a command of the client the store makes may wait for Redis, ms (default 500;
   * 0 = none): a command outstanding longer resets the connection (every command waiting on
   * it fails as a timeout, ioredis reconnects), so calls never pile up at a silent Redis */
  commandTimeout?: number;
  /** AES-256-GCM encryption of every value (see docs/api.md): new values sealed under
   * `current`, `previous` keys still open older values; a value that does not open is a miss
   * (counted in `stats.unauthenticated`). Without it values are the plain DER. */
  keys?: SessionSealingKeys;
  /** largest value read from Redis, bytes (default 65536): a longer one is not read past
   * this bound (GETRANGE) and is a miss counted in `stats.oversize` */
  maxValueBytes?: number;
  /** PING on the subscriber connection every this many ms (default 1000) */
  heartbeatInterval?: number;
  /** a PING unanswered for this long (ms, default 2000) marks the revocation feed down and
   * reconnects the subscriber */
  heartbeatTimeout?: number;
  /** longest pause between reconnection attempts of the clients the store makes, ms (default 500) */
  maxReconnectDelay?: number;
}

const DEFAULT_PREFIX = 'tls-session:';

/** ioredis, loaded on first use; a clear error when the optional peer is not installed */
function loadIoredis(): typeof import('ioredis') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('ioredis') as typeof import('ioredis');
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND') throw e;
    throw codedError(ErrorCode.IOREDIS_MISSING, 'RedisSessionStore needs the optional peer dependency ioredis (>=5): npm install ioredis');
  }
}

/** The events of a RedisSessionStore and their listeners' arguments. */
export interface RedisSessionStoreEvents extends ListenerEvents {
  /** the command connection is usable */
  ready: [];
  /** a connection problem of either connection (emitted only while someone listens) */
  connectionError: [err: Error];
  /** an id seen on the revocation channel */
  revoked: [id: Buffer];
  /** the subscriber is subscribed (first time or again after a disconnection: revocations
   * may have been missed meanwhile) */
  resync: [];
  /** the revocation feed stopped listening: connection lost, SUBSCRIBE refused, or the
   * heartbeat PING unanswered (err.code says which) */
  feedDown: [err: Error];
}

/** RedisSessionStore#stats */
export interface RedisSessionStoreStats {
  /** values longer than maxValueBytes (misses) */
  oversize: number;
  /** values that did not open under the store's keys (misses) */
  unauthenticated: number;
  /** command connection resets because a command waited longer than commandTimeout */
  resets: number;
  /** heartbeat PINGs of the subscriber left unanswered */
  heartbeatMisses: number;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- types only (lib/common/typed_events.ts)
export interface RedisSessionStore {
  on<K extends keyof RedisSessionStoreEvents>(event: K, listener: EventListener<RedisSessionStoreEvents, K>): this;
  once<K extends keyof RedisSessionStoreEvents>(event: K, listener: EventListener<RedisSessionStoreEvents, K>): this;
  off<K extends keyof RedisSessionStoreEvents>(event: K, listener: EventListener<RedisSessionStoreEvents, K>): this;
  addListener<K extends keyof RedisSessionStoreEvents>(event: K, listener: EventListener<RedisSessionStoreEvents, K>): this;
  removeListener<K extends keyof RedisSessionStoreEvents>(event: K, listener: EventListener<RedisSessionStoreEvents, K>): this;
  prependListener<K extends keyof RedisSessionStoreEvents>(event: K, listener: EventListener<RedisSessionStoreEvents, K>): this;
  prependOnceListener<K extends keyof RedisSessionStoreEvents>(event: K, listener: EventListener<RedisSessionStoreEvents, K>): this;
  emit<K extends keyof RedisSessionStoreEvents>(event: K, ...args: RedisSessionStoreEvents[K]): boolean;
  listenerCount<K extends keyof RedisSessionStoreEvents>(event: K): number;
}

/**
 * SessionStore on Redis. Events: 'ready' (the command connection is usable),
 * 'connectionError' (err) for connection problems of either connection (commands that
 * fail reject instead), 'revoked' (id) for every id seen on the revocation channel,
 * 'resync' () each time the subscriber is subscribed (the first time included),
 * 'feedDown' (err) when the revocation feed stops listening.
 *
 * Made for being down: commands are never queued while disconnected (they reject at once,
 * `code` ERR_SESSION_STORE_UNREACHABLE), a command Redis leaves unanswered for
 * `commandTimeout` resets the connection (ERR_SESSION_STORE_TIMEOUT), so a TlsServer falls
 * back to full handshakes; ioredis keeps reconnecting in the background and the store works
 * again once Redis is back.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class RedisSessionStore extends EventEmitter implements SessionStore {
  readonly client: Redis | Cluster;
  /** the client is an ioredis Cluster */
  readonly isCluster: boolean;
  readonly prefix: Buffer;
  readonly channel: Buffer;
  readonly maxValueBytes: number;
  readonly stats: RedisSessionStoreStats = { oversize: 0, unauthenticated: 0, resets: 0, heartbeatMisses: 0 };
  readonly #ownsClient: boolean;
  readonly #maxReconnectDelay: number;
  readonly #commandTimeout: number;
  readonly #heartbeatInterval: number;
  readonly #heartbeatTimeout: number;
  readonly #sealer: SessionSealer | undefined;
  #subscriber: Redis | undefined;
  /** Cluster: the node to subscribe to first, the node that failed last, the pending move */
  readonly #subscriberNode: { host: string; port: number } | undefined;
  #leftNode: string | undefined;
  #moveTimer: NodeJS.Timeout | undefined;
  #moves = 0;
  readonly #listeners = new Set<(id: Buffer) => void>();
  readonly #resyncListeners = new Set<() => void>();
  readonly #downListeners = new Set<(err?: Error) => void>();
  /** the subscriber is subscribed and its heartbeat answered */
  #feedUp = false;
  /** the current down state was reported (with an error) */
  #downReported = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #pinging = false;
  #subscribeInFlight = false;
  /** commands of the client outstanding at Redis: when each started */
  readonly #pending = new Map<object, { started: number; timedOut: boolean }>();
  #watchdog: NodeJS.Timeout | undefined;
  #closed = false;
  /** the last connection error of the command connection (its AUTH refused, …) */
  #lastConnError: Error | undefined;

  constructor(options: RedisSessionStoreOptions = {}) {
    super();
    const o = optionsObject(options, 'options') as RedisSessionStoreOptions;
    this.prefix = Buffer.from(o.prefix === undefined ? Buffer.from(DEFAULT_PREFIX) : toBufferOrString(o.prefix, 'options.prefix'));
    this.channel = Buffer.from(
      o.channel === undefined ? Buffer.concat([this.prefix, Buffer.from('revoked')]) : toBufferOrString(o.channel, 'options.channel'),
    );
    if (this.channel.length === 0) throw new RangeError('options.channel must not be empty');
    this.#commandTimeout = integer(o.commandTimeout ?? 500, 'options.commandTimeout', 0, 2 ** 31 - 1);
    this.#maxReconnectDelay = integer(o.maxReconnectDelay ?? 500, 'options.maxReconnectDelay', 1, 2 ** 31 - 1);
    this.maxValueBytes = integer(o.maxValueBytes ?? 65536, 'options.maxValueBytes', 1, 512 * 1024 * 1024);
    this.#heartbeatInterval = integer(o.heartbeatInterval ?? 1000, 'options.heartbeatInterval', 1, 2 ** 31 - 1);
    this.#heartbeatTimeout = integer(o.heartbeatTimeout ?? 2000, 'options.heartbeatTimeout', 1, 2 ** 31 - 1);
    this.#sealer = o.keys === undefined ? undefined : new SessionSealer(o.keys);
    const { Redis, Cluster } = loadIoredis();
    if (o.cluster !== undefined && o.client !== undefined) throw new TypeError('options.cluster and options.client exclude each other (a given Cluster goes in options.client)');
    if (o.cluster !== undefined && o.redis !== undefined) throw new TypeError('options.cluster and options.redis exclude each other');
    if (o.client !== undefined && o.redis !== undefined) throw new TypeError('options.client and options.redis exclude each other');
    if (o.client !== undefined && o.tls !== undefined) throw new TypeError('options.tls applies to the clients the store makes, not to options.client (give the client its own TLS options)');
    if (o.client !== undefined && !(o.client instanceof Redis) && !(o.client instanceof Cluster)) throw new TypeError('options.client must be an ioredis Redis or Cluster client');
    if (o.subscriberNode !== undefined) {
      const n = o.subscriberNode as unknown as { host?: unknown; port?: unknown };
      if (o.cluster === undefined && !(o.client instanceof Cluster)) {
        throw new TypeError('options.subscriberNode applies to a Redis Cluster only (options.cluster or a Cluster as options.client)');
      }
      if (typeof n !== 'object' || n === null || typeof n.host !== 'string' || n.host === '') throw new TypeError('options.subscriberNode must be { host, port }');
      this.#subscriberNode = { host: n.host, port: integer(n.port, 'options.subscriberNode.port', 1, 65535) };
    }
    if (o.client !== undefined) {
      this.client = o.client;
      this.#ownsClient = o.ownsClient === true;
    } else if (o.cluster !== undefined) {
      const c = o.cluster as unknown;
      if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new TypeError('options.cluster must be an object { nodes, options? }');
      const { nodes, options: clusterOptions } = c as RedisSessionStoreClusterOptions;
      if (!Array.isArray(nodes)) throw new TypeError('options.cluster.nodes must be an array of startup nodes');
      if (nodes.length === 0) throw new RangeError('options.cluster.nodes must name at least one node');
      if (clusterOptions !== undefined && (typeof clusterOptions !== 'object' || clusterOptions === null)) throw new TypeError('options.cluster.options must be ioredis ClusterOptions');
      if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null)) throw new TypeError('options.tls must be an object of node:tls options');
      const given = clusterOptions ?? {};
      this.client = new Cluster(nodes, {
        ...given,
        // fail fast, as for a single Redis: a command whose shard has no usable node (a
        // primary failing over, the client reconnecting) fails at once instead of being
        // retried or queued; MOVED answers still redirect it
        enableOfflineQueue: false,
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 0,
        clusterRetryStrategy: (times: number) => Math.min(times * 50, this.#maxReconnectDelay),
        redisOptions: {
          // a connection dropped (a node gone or silent, a slots refresh that timed out) is
          // destroyed at once instead of after ioredis's 2 s wait for the peer's FIN
          disconnectTimeout: 100,
          ...(given.redisOptions ?? {}),
          ...(o.tls ? { tls: o.tls } : {}),
          maxRetriesPerRequest: 0,
          commandTimeout: undefined,
        },
      });
      this.#ownsClient = true;
      this.client.on('error', (e: Error) => this.#connectionError(e));
      this.client.on('node error', (e: Error) => this.#connectionError(e));
      // ioredis connects to a node on its first command and, without an offline queue,
      // refuses the commands that come while that connection is being made: connect to each
      // node as soon as the client learns of it, so that a burst finds it ready
      this.client.on('+node', (node: Redis) => {
        if (node.status === 'wait') node.connect().catch(() => undefined);
      });
    } else {
      if (o.redis !== undefined && typeof o.redis !== 'string' && (typeof o.redis !== 'object' || o.redis === null)) {
        throw new TypeError('options.redis must be ioredis options or a redis:// URL');
      }
      if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null)) throw new TypeError('options.tls must be an object of node:tls options');
      const ours: RedisOptions = {
        ...(o.tls ? { tls: o.tls } : {}),
        // fail fast: a handshake must not wait for a Redis that is not there
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        // no per-command timeout: a command's promise settles when Redis answers or the
        // connection is reset (the watchdog below), so what is outstanding at Redis is known
        commandTimeout: undefined,
        retryStrategy: (times: number) => Math.min(times * 50, this.#maxReconnectDelay),
      };
      // Sentinels named: follow the primary through a failover (./redis_sentinel.ts)
      const sentinel = sentinelDefaults(o.redis, 'options.redis', { maxReconnectDelay: this.#maxReconnectDelay, commandTimeout: this.#commandTimeout });
      this.client =
        typeof o.redis === 'string' ? new Redis(o.redis, ours) : new Redis({ ...ours, ...sentinel, ...(o.redis ?? {}), commandTimeout: undefined } as RedisOptions);
      this.#ownsClient = true;
      if (Object.keys(sentinel).length > 0) this.#keepConnecting(this.client);
      // without a listener ioredis prints every connection error to the console
      this.client.on('error', (e: Error) => this.#connectionError(e));
    }
    this.isCluster = this.client instanceof Cluster;
    this.client.on('error', (e: Error) => (this.#lastConnError = e));
    this.client.on('ready', () => {
      this.#lastConnError = undefined;
      publishStoreConnection(this, 'ready');
      this.emit('ready');
    });
  }

  /** Sentinel clients the store connects again when ioredis ends them (./redis_sentinel.ts):
   * 'end' is not final for them until close() */
  readonly #revived = new WeakSet<Redis | Cluster>();

  #keepConnecting(c: Redis): void {
    this.#revived.add(c);
    keepConnecting(c, () => this.#closed, this.#maxReconnectDelay);
  }

  #connectionError(e: Error): void {
    publishStoreConnection(this, 'error', e);
    if (this.listenerCount('connectionError') > 0) this.emit('connectionError', e);
  }

  /** the command connection's state is 'ready' */
  get connected(): boolean {
    return this.client.status === 'ready';
  }

  /** the revocation feed is listening (subscribed, heartbeat answered) */
  get feedUp(): boolean {
    return this.#feedUp;
  }

  /** with a Cluster: the node the revocation feed's connection goes to now ({ host, port }),
   * undefined before subscribe() or with a single Redis */
  get subscriberNode(): { host: string; port: number } | undefined {
    const sub = this.#subscriber;
    if (!this.isCluster || !sub) return undefined;
    return { host: sub.options.host ?? '127.0.0.1', port: sub.options.port ?? 6379 };
  }

  /** commands outstanding at Redis now (until Redis answers or the connection is reset) */
  get pendingCommands(): number {
    return this.#pending.size;
  }

  /**
   * Resolves once the command connection (and the revocation feed, if subscribed) is ready;
   * rejects with ERR_SESSION_STORE_TIMEOUT after `timeout` ms (default 10000), or at once
   * when the connection was closed.
   */
  async ready(timeout = 10000): Promise<void> {
    const ms = integer(timeout, 'timeout', 1, 2 ** 31 - 1);
    let timer: NodeJS.Timeout | undefined;
    const cleanups: (() => void)[] = [];
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(storeFailure('timeout', `the Redis session store was not ready within ${ms} ms`)), ms);
    });
    const wait = (c: Redis | Cluster) =>
      c.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const final = () => this.#closed || !this.#revived.has(c);
            if (c.status === 'end' && final()) {
              reject(storeFailure('unreachable', 'the Redis connection was closed'));
              return;
            }
            const ok = () => resolve();
            const gone = () => {
              if (final()) reject(storeFailure('unreachable', 'the Redis connection was closed'));
            };
            c.once('ready', ok);
            c.once('end', gone);
            cleanups.push(() => {
              c.off('ready', ok);
              c.off('end', gone);
            });
          });
    const feed = () =>
      this.#subscriber === undefined || this.#feedUp
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const ok = () => resolve();
            this.once('resync', ok);
            cleanups.push(() => this.off('resync', ok));
          });
    try {
      await Promise.race([bound, (async () => {
        await wait(this.client);
        if (this.isCluster && this.#ownsClient) {
          // and the connection to each node the cluster client knows (a node that is gone
          // is skipped: its slots are another node's by the time it matters)
          for (const node of (this.client as Cluster).nodes('all')) {
            if (node.status === 'wait') node.connect().catch(() => undefined);
            await wait(node).catch(() => undefined);
          }
        }
        await feed();
      })()]);
    } finally {
      clearTimeout(timer);
      for (const f of cleanups) f();
    }
  }

  /** the Redis key of a session id */
  key(id: Buffer): Buffer {
    return Buffer.concat([this.prefix, toBuffer(id, 'id')]);
  }

  // Every command goes through here: its promise settles when Redis answers or the
  // connection is reset; one outstanding longer than commandTimeout resets the connection
  // (the store's own client only), and its failure then says timeout.
  async #run<T>(what: string, f: () => Promise<T>): Promise<T> {
    const token = {};
    const entry = { started: Date.now(), timedOut: false };
    this.#pending.set(token, entry);
    this.#armWatchdog();
    try {
      return await f();
    } catch (e) {
      if (entry.timedOut) {
        throw storeFailure('timeout', `the session store timed out (${what}): Redis left it unanswered for ${this.#commandTimeout} ms; the connection was reset`);
      }
      // not connected because Redis refused the credentials: say so, not just "unreachable"
      const last = this.#lastConnError;
      if (last && storeFailureOf(e) === 'unreachable' && storeFailureOf(last) === 'auth') throw storeError(last, what);
      throw storeError(e, what);
    } finally {
      this.#pending.delete(token);
    }
  }

  /** the oldest command outstanding that no reset has failed yet */
  #oldestLive(): { started: number; timedOut: boolean } | undefined {
    for (const e of this.#pending.values()) if (!e.timedOut) return e;
    return undefined;
  }

  #armWatchdog(): void {
    if (this.#watchdog || this.#commandTimeout === 0 || !this.#ownsClient) return;
    const oldest = this.#oldestLive();
    if (!oldest) return;
    const wait = Math.max(1, oldest.started + this.#commandTimeout - Date.now());
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      const now = Date.now();
      const first = this.#oldestLive();
      if (first && now - first.started >= this.#commandTimeout && !this.#closed) {
        // Redis is silent: every command waiting on this connection fails now, and no more
        // pile up behind them (commands are refused until the reconnection is ready). The
        // commands already failed by a reset count no more: one reset each, not one per ms
        // while the reset completes.
        for (const e of this.#pending.values()) e.timedOut = true;
        this.stats.resets += 1;
        if (this.isCluster) this.#resetClusterNodes();
        else this.client.disconnect(true);
      }
      this.#armWatchdog();
    }, wait);
    this.#watchdog.unref?.();
  }

  // Cluster: the connections of the nodes with commands outstanding are closed now (their
  // commands fail; the cluster client connects again when a command needs the node, and a
  // node that failed meanwhile is replaced through MOVED); the other shards go on.
  #resetClusterNodes(): void {
    const cluster = this.client as Cluster;
    let reset = 0;
    for (const node of cluster.nodes('all')) {
      // commandQueue: sent, unanswered; offlineQueue (private in the types): waiting for the
      // node's connection to be ready
      const queued = (node as unknown as { offlineQueue?: { length: number } }).offlineQueue?.length ?? 0;
      if (node.commandQueue.length + queued === 0) continue;
      reset += 1;
      node.disconnect();
      // at once, not after ioredis's grace period for a peer that does not answer the FIN
      (node.stream as { destroy?: () => void } | undefined)?.destroy?.();
    }
    // nothing outstanding at a node: the cluster client itself is stuck (a slots refresh)
    if (reset === 0) cluster.disconnect(true);
  }

  async get(id: Buffer): Promise<Buffer | undefined> {
    const key = this.key(id);
    // at most maxValueBytes + 1 bytes come back, however long the value is
    const v = await this.#run('get', () => this.client.getrangeBuffer(key, 0, this.maxValueBytes));
    if (!v || v.length === 0) return undefined;
    if (v.length > this.maxValueBytes) {
      this.stats.oversize += 1;
      return undefined;
    }
    if (!this.#sealer) return v;
    const der = this.#sealer.open(toBuffer(id, 'id'), v);
    if (!der) this.stats.unauthenticated += 1;
    return der;
  }

  async set(id: Buffer, der: Buffer, ttlSeconds: number): Promise<void> {
    const key = this.key(id);
    const value = toBuffer(der, 'der');
    if (typeof ttlSeconds !== 'number' || !(ttlSeconds >= 0) || !Number.isFinite(ttlSeconds)) throw new RangeError('ttlSeconds must be a finite number >= 0');
    const ttl = Math.ceil(ttlSeconds);
    if (ttl < 1) {
      // already expired: make sure no older copy survives, nothing to store
      await this.#run('set', () => this.client.del(key));
      return;
    }
    const stored = this.#sealer ? this.#sealer.seal(toBuffer(id, 'id'), value) : value;
    await this.#run('set', () => this.client.set(key, stored, 'EX', ttl));
  }

  /** DEL + PUBLISH of the id in one MULTI: every subscribed server drops its local copy */
  async delete(id: Buffer): Promise<void> {
    const key = this.key(id);
    const raw = toBuffer(id, 'id');
    const results = await this.#run('delete', () => this.client.multi().del(key).publish(this.channel, raw).exec());
    if (!results) throw new Error('Redis aborted the DEL/PUBLISH transaction');
    for (const [err] of results) if (err) throw storeError(err, 'delete');
  }

  /**
   * Calls onRevoked(id) for every id deleted by any RedisSessionStore on the same Redis and
   * channel (this one included). One subscriber connection per store, made on first use.
   * The feed is down until the SUBSCRIBE is confirmed, and whenever the subscriber's
   * connection is lost, its SUBSCRIBE refused, or a heartbeat PING goes unanswered for
   * heartbeatTimeout: `onDown(err)` is called then (and at once, without an error, from
   * subscribe() itself while the feed is not up yet). Each time the feed is up again —
   * the first time too — `onResync()` is called (and 'resync' emitted): ids published
   * while it was down were not seen.
   */
  subscribe(onRevoked: (id: Buffer) => void, onResync?: () => void, onDown?: (err?: Error) => void): () => void {
    if (typeof onRevoked !== 'function') throw new TypeError('onRevoked must be a function');
    if (onResync !== undefined && typeof onResync !== 'function') throw new TypeError('onResync must be a function');
    if (onDown !== undefined && typeof onDown !== 'function') throw new TypeError('onDown must be a function');
    if (this.#closed) throw new Error('the store is closed');
    const f = (id: Buffer) => onRevoked(id); // one entry per call
    const r = onResync ? () => onResync() : undefined;
    const d = onDown ? (err?: Error) => onDown(err) : undefined;
    this.#listeners.add(f);
    if (r) this.#resyncListeners.add(r);
    if (d) this.#downListeners.add(d);
    this.#ensureSubscriber();
    if (d && !this.#feedUp) d();
    return () => {
      this.#listeners.delete(f);
      if (r) this.#resyncListeners.delete(r);
      if (d) this.#downListeners.delete(d);
    };
  }

  #call<A extends unknown[]>(fns: Set<(...a: A) => void>, ...args: A): void {
    for (const fn of [...fns]) {
      try {
        fn(...args);
      } catch (e) {
        this.#connectionError(e as Error);
      }
    }
  }

  #feedDown(err: Error): void {
    if (this.#closed) return;
    const wasUp = this.#feedUp;
    this.#feedUp = false;
    if (!wasUp && this.#downReported) return;
    this.#downReported = true;
    this.emit('feedDown', err);
    this.#call(this.#downListeners, err);
  }

  #feedIsUp(): void {
    if (this.#closed || this.#feedUp) return;
    this.#feedUp = true;
    this.#downReported = false;
    publishStoreConnection(this, 'resync');
    this.emit('resync');
    this.#call(this.#resyncListeners);
  }

  // (re)subscribes on a ready subscriber; the SUBSCRIBE's answer is the confirmation
  #subscribeNow(sub: Redis): void {
    if (this.#subscribeInFlight || this.#closed || sub.status !== 'ready') return;
    this.#subscribeInFlight = true;
    sub.subscribe(this.channel).then(
      () => {
        this.#subscribeInFlight = false;
        this.#feedIsUp();
      },
      (e: Error) => {
        this.#subscribeInFlight = false;
        // an ACL without +subscribe or the channel: the feed stays down (retried with the heartbeat)
        this.#feedDown(storeError(e, 'subscribe') as Error);
      },
    );
  }

  #beat(): void {
    const sub = this.#subscriber;
    if (this.#closed || !sub || sub.status !== 'ready') return;
    if (!this.#feedUp) {
      this.#subscribeNow(sub);
      return;
    }
    if (this.#pinging) return;
    this.#pinging = true;
    let answered = false;
    const deadline = setTimeout(() => {
      if (answered || this.#closed) return;
      this.#pinging = false;
      this.stats.heartbeatMisses += 1;
      this.#feedDown(storeFailure('timeout', `the revocation feed did not answer PING within ${this.#heartbeatTimeout} ms; reconnecting`));
      sub.disconnect(true);
    }, this.#heartbeatTimeout);
    deadline.unref?.();
    sub.ping().then(
      () => {
        answered = true;
        clearTimeout(deadline);
        this.#pinging = false;
      },
      () => {
        // the connection failed: 'close' reports it
        answered = true;
        clearTimeout(deadline);
        this.#pinging = false;
      },
    );
  }

  #ensureSubscriber(): void {
    if (this.#subscriber || this.#heartbeat) return;
    this.#heartbeat = setInterval(() => this.#beat(), this.#heartbeatInterval);
    this.#heartbeat.unref?.();
    if (this.isCluster) {
      this.#clusterSubscriber();
      return;
    }
    const sub = (this.client as Redis).duplicate({
      // the store subscribes itself on each 'ready' (the SUBSCRIBE's answer confirms it)
      enableOfflineQueue: false,
      commandTimeout: undefined,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      retryStrategy: (times: number) => Math.min(times * 50, this.#maxReconnectDelay),
    });
    this.#watchSubscriber(sub);
  }

  /** the nodes of the cluster the client knows now ("host:port", replicas included) */
  #clusterNodeKeys(): string[] {
    const cluster = this.client as Cluster;
    const keys = new Set<string>();
    for (const owners of cluster.slots) for (const k of owners ?? []) keys.add(k);
    if (keys.size === 0) {
      for (const n of cluster.nodes('all')) keys.add(`${n.options.host ?? '127.0.0.1'}:${n.options.port ?? 6379}`);
    }
    return [...keys];
  }

  // Cluster: a plain connection to one node (classic PUBLISH reaches every node). It does
  // not reconnect by itself: once it ends (the node failed, or its heartbeat went
  // unanswered) another one is made, to another node when the cluster has one.
  #clusterSubscriber(): void {
    if (this.#closed) return;
    let target: { host: string; port: number } | undefined;
    if (this.#moves === 0 && this.#subscriberNode) target = this.#subscriberNode;
    else {
      const keys = this.#clusterNodeKeys();
      const others = keys.filter((k) => k !== this.#leftNode);
      const pool = others.length > 0 ? others : keys;
      if (pool.length > 0) {
        const k = pool[Math.floor(Math.random() * pool.length)];
        const colon = k.lastIndexOf(':');
        target = { host: k.slice(0, colon), port: Number(k.slice(colon + 1)) };
      }
    }
    if (!target) {
      // the cluster client knows no node yet: look again once it is ready or after a pause
      this.#scheduleMove();
      return;
    }
    const cluster = this.client as Cluster;
    const sub = new (loadIoredis().Redis)({
      ...(cluster.options.redisOptions ?? {}),
      host: target.host,
      port: target.port,
      lazyConnect: false,
      readOnly: false,
      enableOfflineQueue: false,
      commandTimeout: undefined,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      retryStrategy: () => null,
      // a node that stopped answering: the feed moves on at once, not after ioredis's 2 s
      // grace period for the FIN
      disconnectTimeout: 100,
    } as RedisOptions);
    this.#watchSubscriber(sub);
    sub.once('end', () => {
      if (this.#subscriber !== sub) return;
      this.#subscriber = undefined;
      this.#leftNode = `${target.host}:${target.port}`;
      this.#scheduleMove();
    });
  }

  #scheduleMove(): void {
    if (this.#closed || this.#moveTimer) return;
    this.#moves += 1;
    this.#moveTimer = setTimeout(() => {
      this.#moveTimer = undefined;
      this.#clusterSubscriber();
    }, Math.min(this.#moves * 50, this.#maxReconnectDelay));
    this.#moveTimer.unref?.();
  }

  #watchSubscriber(sub: Redis): void {
    this.#subscriber = sub;
    if ((sub.options as { failoverDetector?: boolean }).failoverDetector) this.#keepConnecting(sub);
    sub.on('error', (e: Error) => this.#connectionError(e));
    sub.on('ready', () => {
      if (this.isCluster) this.#moves = 0;
      this.#subscribeNow(sub);
    });
    sub.on('close', () => {
      if (this.#subscriber !== sub) return;
      this.#pinging = false;
      this.#subscribeInFlight = false;
      this.#feedDown(storeFailure('unreachable', 'the session store is unreachable: the revocation feed lost its connection'));
    });
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (!channel.equals(this.channel)) return;
      this.emit('revoked', message);
      for (const f of [...this.#listeners]) {
        try {
          f(Buffer.from(message));
        } catch (e) {
          this.#connectionError(e as Error);
        }
      }
    });
    if (sub.status === 'ready') this.#subscribeNow(sub);
  }

  /** closes the connections the store owns (QUIT when connected, else disconnect); resolves
   * within about 2 s even when Redis does not answer */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    publishStoreConnection(this, 'closed');
    clearInterval(this.#heartbeat);
    clearTimeout(this.#watchdog);
    clearTimeout(this.#moveTimer);
    this.#listeners.clear();
    this.#resyncListeners.clear();
    this.#downListeners.clear();
    const conns: (Redis | Cluster)[] = [];
    if (this.#subscriber) conns.push(this.#subscriber);
    if (this.#ownsClient) conns.push(this.client);
    await Promise.all(
      conns.map(async (c) => {
        if (c.status === 'end') return;
        if (c.status === 'wait') {
          c.disconnect(); // never connected (lazyConnect)
          return;
        }
        let timer: NodeJS.Timeout | undefined;
        const ended = new Promise<void>((r) => {
          c.once('end', () => r());
          timer = setTimeout(r, 1000); // a bound, should 'end' never come
        });
        let quit = false;
        if (c.status === 'ready') {
          let t: NodeJS.Timeout | undefined;
          try {
            // a silent Redis never answers QUIT: wait 1 s at most
            await Promise.race([c.quit(), new Promise((_, reject) => (t = setTimeout(() => reject(new Error('QUIT unanswered')), 1000)))]);
            quit = true;
            // QUIT leaves the connections of ioredis's Sentinel failover detector open
            c.disconnect();
          } catch {
            // fall through to disconnect
          } finally {
            clearTimeout(t);
          }
        }
        if (!quit) c.disconnect();
        if ((c.status as string) !== 'end') await ended;
        clearTimeout(timer);
      }),
    );
  }

  /** alias of close() */
  quit(): Promise<void> {
    return this.close();
  }
}
