// A TicketKeySource on Redis (ioredis): one key per slot, prefix + the slot in decimal,
// claimed with SET … NX PX (the first server wins, the value expires with the slot's
// decrypt window) and read with GET. The values are sealed by TicketKeyRing: Redis never
// holds a ticket key in plain. Any ioredis client works (single Redis, Cluster, Sentinel):
// each slot is one key, so no command spans hash slots.
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { claimTtl, slotNumber, TicketKeySource } from './ticket_key_source';
import { codedError, ErrorCode } from '../common/coded_error';
import { integer, optionsObject, toBufferOrString } from '../common/validate';
import { keepConnecting, sentinelDefaults } from './redis_sentinel';

export interface RedisTicketKeySourceOptions {
  /** an existing ioredis client (Redis or Cluster); close() leaves it open */
  client?: Redis | Cluster;
  /** connection options for a client of the source's own (ioredis RedisOptions or a
   * redis:// URL); not allowed together with `client` */
  redis?: RedisOptions | string;
  /** a Redis Cluster client of the source's own: startup nodes and ioredis ClusterOptions;
   * not allowed together with `client` or `redis` */
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions };
  /** key prefix (default 'tls-ticket-key:') */
  prefix?: string | Buffer;
  /** per-command timeout of the client the source makes, ms (default 500; 0 = none) */
  commandTimeout?: number;
}

function loadIoredis(): typeof import('ioredis') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('ioredis') as typeof import('ioredis');
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND') throw e;
    throw codedError(ErrorCode.IOREDIS_MISSING, 'RedisTicketKeySource needs the optional peer dependency ioredis (>=5): npm install ioredis');
  }
}

export class RedisTicketKeySource implements TicketKeySource {
  readonly client: Redis | Cluster;
  readonly prefix: Buffer;
  readonly #owns: boolean;
  #closed = false;

  constructor(options: RedisTicketKeySourceOptions = {}) {
    const o = optionsObject(options, 'options') as RedisTicketKeySourceOptions;
    if (o.client !== undefined && o.redis !== undefined) throw new TypeError('options.client and options.redis exclude each other');
    if (o.cluster !== undefined && (o.client !== undefined || o.redis !== undefined)) {
      throw new TypeError('options.cluster excludes options.client and options.redis (a given Cluster goes in options.client)');
    }
    const p = o.prefix ?? 'tls-ticket-key:';
    this.prefix = Buffer.from(toBufferOrString(p as unknown, 'options.prefix'));
    const commandTimeout = integer(o.commandTimeout ?? 500, 'options.commandTimeout', 0, 2 ** 31 - 1);
    if (o.client !== undefined) {
      if (typeof o.client !== 'object' || o.client === null || typeof (o.client as Redis).getBuffer !== 'function') {
        throw new TypeError('options.client must be an ioredis client');
      }
      this.client = o.client;
      this.#owns = false;
    } else if (o.cluster !== undefined) {
      const c = o.cluster as unknown as { nodes?: unknown; options?: unknown };
      if (typeof c !== 'object' || c === null || !Array.isArray(c.nodes)) throw new TypeError('options.cluster must be { nodes: [...], options? }');
      if (c.nodes.length === 0) throw new RangeError('options.cluster.nodes must name at least one node');
      if (c.options !== undefined && (typeof c.options !== 'object' || c.options === null)) throw new TypeError('options.cluster.options must be ioredis ClusterOptions');
      const given = (c.options ?? {}) as ClusterOptions;
      const { Cluster } = loadIoredis();
      const cluster = new Cluster(c.nodes as ClusterNode[], {
        ...given,
        enableOfflineQueue: false,
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 0,
        clusterRetryStrategy: (times: number) => Math.min(times * 50, 500),
        redisOptions: {
          ...(given.redisOptions ?? {}),
          maxRetriesPerRequest: 0,
          commandTimeout: commandTimeout === 0 ? undefined : commandTimeout,
        },
      });
      cluster.on('error', () => {}); // failures reject the commands; the ring reports them
      cluster.on('node error', () => {});
      this.client = cluster;
      this.#owns = true;
    } else {
      if (o.redis !== undefined && typeof o.redis !== 'string' && (typeof o.redis !== 'object' || o.redis === null)) {
        throw new TypeError('options.redis must be ioredis options or a redis:// URL');
      }
      const { Redis } = loadIoredis();
      const ours: RedisOptions = {
        lazyConnect: false,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: commandTimeout === 0 ? undefined : commandTimeout,
        retryStrategy: (times: number) => Math.min(times * 50, 500),
      };
      const sentinel = sentinelDefaults(o.redis, 'options.redis', { maxReconnectDelay: 500, commandTimeout });
      const c = typeof o.redis === 'string' ? new Redis(o.redis, ours) : new Redis({ ...ours, ...sentinel, ...(o.redis ?? {}) } as RedisOptions);
      c.on('error', () => {}); // failures reject the commands; the ring reports them
      if (Object.keys(sentinel).length > 0) keepConnecting(c, () => this.#closed, 500);
      this.client = c;
      this.#owns = true;
    }
  }

  #key(slot: number): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(String(slotNumber(slot)))]);
  }

  /** resolves once the client is connected (at once when it already is, a given client
   * included); until then the commands of a client the source made fail at once (no offline
   * queue), so start a TicketKeyRing after this */
  async ready(): Promise<void> {
    const c = this.client;
    if (c.status === 'ready') return;
    await new Promise<void>((resolve) => c.once('ready', () => resolve()));
  }

  async claim(slot: number, sealed: Buffer, ttlMs: number): Promise<Buffer> {
    const key = this.#key(slot);
    const ttl = claimTtl(ttlMs);
    if (!Buffer.isBuffer(sealed)) throw new TypeError('sealed must be a Buffer');
    const set = await this.client.set(key, sealed, 'PX', ttl, 'NX');
    if (set === 'OK') return sealed;
    const held = await this.client.getBuffer(key);
    if (held === null) throw codedError(ErrorCode.TICKET_KEY_SOURCE, `the claim of slot ${slot} expired before it was read`);
    return held;
  }

  async get(slot: number): Promise<Buffer | undefined> {
    return (await this.client.getBuffer(this.#key(slot))) ?? undefined;
  }

  /** closes the client the source made (a given client stays open) */
  async close(): Promise<void> {
    if (!this.#owns) return;
    this.#closed = true;
    const c = this.client;
    try {
      if (c.status === 'ready') {
        await c.quit();
        // QUIT leaves the connections of ioredis's Sentinel failover detector open
        c.disconnect();
      } else c.disconnect();
    } catch {
      c.disconnect();
    }
  }
}
