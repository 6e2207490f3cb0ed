// A SessionStore on Redis (ioredis): keys are prefix + the raw session id bytes, values the
// session's DER, TTL the session timeout. delete() also PUBLISHes the id on a channel so
// that every server of the fleet drops the session from its own OpenSSL cache.
//
// ioredis is an optional peer dependency: only its types are imported here, and the module
// itself is required the first time a RedisSessionStore is made, so that
// require('openssl-session-cache') works (and stays fast) without it.
import { EventEmitter } from 'events';
import type { ConnectionOptions } from 'tls';
import type { Redis, RedisOptions } from 'ioredis';
import { SessionStore } from './session_store';
import { codedError, ErrorCode } from '../common/coded_error';
import { publishStoreConnection } from '../common/diagnostics';
import type { EventListener, ListenerEvents } from '../common/typed_events';
import { integer, optionsObject, toBuffer, toBufferOrString } from '../common/validate';

export interface RedisSessionStoreOptions {
  /** an existing ioredis client; the store does not quit it on close() unless `ownsClient` */
  client?: Redis;
  /** quit `client` on close() (default false for a given client) */
  ownsClient?: boolean;
  /** connection options for a new client (ioredis RedisOptions or a redis:// URL);
   * ignored when `client` is given */
  redis?: RedisOptions | string;
  /** TLS to Redis (node:tls options such as `ca`, `cert`, `key`, `servername`) for the
   * clients the store makes; with a `rediss://` URL it completes the URL's settings */
  tls?: ConnectionOptions;
  /** key prefix, binary-safe (default 'tls-session:') */
  prefix?: string | Buffer;
  /** revocation channel (default prefix + 'revoked') */
  channel?: string | Buffer;
  /** per-command timeout of the client the store makes, ms (default 500; 0 = none) */
  commandTimeout?: number;
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
  /** the subscriber is subscribed again after a disconnection (revocations may have been missed) */
  resync: [];
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
 * 'resync' () each time the subscriber is subscribed again after a disconnection.
 *
 * Made for being down: commands are never queued while disconnected (they reject at once)
 * and each has a timeout, so a TlsServer falls back to full handshakes; ioredis keeps
 * reconnecting in the background and the store works again once Redis is back.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class RedisSessionStore extends EventEmitter implements SessionStore {
  readonly client: Redis;
  readonly prefix: Buffer;
  readonly channel: Buffer;
  readonly #ownsClient: boolean;
  readonly #maxReconnectDelay: number;
  #subscriber: Redis | undefined;
  #subscribing: Promise<unknown> | undefined;
  readonly #listeners = new Set<(id: Buffer) => void>();
  readonly #resyncListeners = new Set<() => void>();
  #closed = false;

  constructor(options: RedisSessionStoreOptions = {}) {
    super();
    const o = optionsObject(options, 'options') as RedisSessionStoreOptions;
    const { Redis } = loadIoredis();
    this.prefix = Buffer.from(o.prefix === undefined ? Buffer.from(DEFAULT_PREFIX) : toBufferOrString(o.prefix, 'options.prefix'));
    this.channel = Buffer.from(
      o.channel === undefined ? Buffer.concat([this.prefix, Buffer.from('revoked')]) : toBufferOrString(o.channel, 'options.channel'),
    );
    if (this.channel.length === 0) throw new RangeError('options.channel must not be empty');
    const commandTimeout = integer(o.commandTimeout ?? 500, 'options.commandTimeout', 0, 2 ** 31 - 1);
    this.#maxReconnectDelay = integer(o.maxReconnectDelay ?? 500, 'options.maxReconnectDelay', 1, 2 ** 31 - 1);
    if (o.client !== undefined) {
      if (!(o.client instanceof Redis)) throw new TypeError('options.client must be an ioredis Redis client');
      this.client = o.client;
      this.#ownsClient = o.ownsClient === true;
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
        commandTimeout: commandTimeout === 0 ? undefined : commandTimeout,
        retryStrategy: (times: number) => Math.min(times * 50, this.#maxReconnectDelay),
      };
      this.client =
        typeof o.redis === 'string' ? new Redis(o.redis, ours) : new Redis({ ...ours, ...(o.redis ?? {}) } as RedisOptions);
      this.#ownsClient = true;
      // without a listener ioredis prints every connection error to the console
      this.client.on('error', (e: Error) => this.#connectionError(e));
    }
    this.client.on('ready', () => (publishStoreConnection(this, 'ready'), this.emit('ready')));
  }

  #connectionError(e: Error): void {
    publishStoreConnection(this, 'error', e);
    if (this.listenerCount('connectionError') > 0) this.emit('connectionError', e);
  }

  /** the command connection's state is 'ready' */
  get connected(): boolean {
    return this.client.status === 'ready';
  }

  /** resolves once the command connection (and the subscriber, if any) is ready */
  async ready(): Promise<void> {
    const wait = (c: Redis) =>
      c.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            if (c.status === 'end') {
              reject(new Error('the Redis connection was closed'));
              return;
            }
            const ok = () => {
              c.off('end', gone);
              resolve();
            };
            const gone = () => {
              c.off('ready', ok);
              reject(new Error('the Redis connection was closed'));
            };
            c.once('ready', ok);
            c.once('end', gone);
          });
    await wait(this.client);
    const sub = this.#subscriber;
    if (sub) {
      await wait(sub);
      await this.#subscribing;
      // after a reconnection ioredis re-sends SUBSCRIBE right after 'ready'; a PING on the
      // same connection answers after it, so the channel is listened to from here on
      await sub.ping();
    }
  }

  /** the Redis key of a session id */
  key(id: Buffer): Buffer {
    return Buffer.concat([this.prefix, toBuffer(id, 'id')]);
  }

  async get(id: Buffer): Promise<Buffer | undefined> {
    const v = await this.client.getBuffer(this.key(id));
    return v === null ? undefined : v;
  }

  async set(id: Buffer, der: Buffer, ttlSeconds: number): Promise<void> {
    const key = this.key(id);
    const value = toBuffer(der, 'der');
    if (typeof ttlSeconds !== 'number' || !(ttlSeconds >= 0)) throw new RangeError('ttlSeconds must be a number >= 0');
    const ttl = Math.ceil(ttlSeconds);
    if (ttl < 1) {
      // already expired: make sure no older copy survives, nothing to store
      await this.client.del(key);
      return;
    }
    await this.client.set(key, value, 'EX', ttl);
  }

  /** DEL + PUBLISH of the id in one MULTI: every subscribed server drops its local copy */
  async delete(id: Buffer): Promise<void> {
    const key = this.key(id);
    const raw = toBuffer(id, 'id');
    const results = await this.client.multi().del(key).publish(this.channel, raw).exec();
    if (!results) throw new Error('Redis aborted the DEL/PUBLISH transaction');
    for (const [err] of results) if (err) throw err;
  }

  /**
   * Calls onRevoked(id) for every id deleted by any RedisSessionStore on the same Redis and
   * channel (this one included). One subscriber connection per store, made on first use.
   * Ids published while this store's subscriber is disconnected are not seen: once it is
   * connected and subscribed again, `onResync()` is called (and 'resync' emitted), so that
   * the caller can drop whatever it kept on the strength of the feed.
   */
  subscribe(onRevoked: (id: Buffer) => void, onResync?: () => void): () => void {
    if (typeof onRevoked !== 'function') throw new TypeError('onRevoked must be a function');
    if (onResync !== undefined && typeof onResync !== 'function') throw new TypeError('onResync must be a function');
    if (this.#closed) throw new Error('the store is closed');
    const f = (id: Buffer) => onRevoked(id); // one entry per call
    const r = onResync ? () => onResync() : undefined;
    this.#listeners.add(f);
    if (r) this.#resyncListeners.add(r);
    this.#ensureSubscriber();
    return () => {
      this.#listeners.delete(f);
      if (r) this.#resyncListeners.delete(r);
    };
  }

  // the subscriber is connected again: ioredis re-sent SUBSCRIBE before emitting 'ready';
  // a PING on the same connection answers after it, so the channel is heard from here on
  #resubscribed(sub: Redis): void {
    sub.ping().then(
      () => {
        if (this.#closed) return;
        publishStoreConnection(this, 'resync');
        this.emit('resync');
        for (const f of [...this.#resyncListeners]) {
          try {
            f();
          } catch (e) {
            this.#connectionError(e as Error);
          }
        }
      },
      (e: Error) => this.#connectionError(e),
    );
  }

  #ensureSubscriber(): void {
    if (this.#subscriber) return;
    const sub = this.client.duplicate({
      // SUBSCRIBE may wait for the connection; ioredis re-subscribes after reconnecting
      enableOfflineQueue: true,
      commandTimeout: undefined,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
      retryStrategy: (times: number) => Math.min(times * 50, this.#maxReconnectDelay),
    });
    this.#subscriber = sub;
    sub.on('error', (e: Error) => this.#connectionError(e));
    let readies = 0;
    sub.on('ready', () => {
      readies += 1;
      if (readies > 1) this.#resubscribed(sub);
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
    this.#subscribing = sub.subscribe(this.channel).catch((e: Error) => this.#connectionError(e));
  }

  /** closes the connections the store owns (QUIT when connected, else disconnect) */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    publishStoreConnection(this, 'closed');
    this.#listeners.clear();
    this.#resyncListeners.clear();
    const conns: Redis[] = [];
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
          timer = setTimeout(r, 2000); // a bound, should 'end' never come
        });
        let quit = false;
        if (c.status === 'ready') {
          try {
            await c.quit();
            quit = true;
          } catch {
            // fall through to disconnect
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
