// A SessionStore for node:cluster, without Redis: the primary holds the sessions (bounded,
// LRU, TTL = the session's timeout); workers ask it over the cluster IPC channel; a delete
// from any worker is fanned out to every worker, whose servers drop the id from their
// OpenSSL cache (subscribe). nginx's `ssl_session_cache shared:` for a Node cluster.
import cluster from 'cluster';
import { randomBytes } from 'crypto';
import type { Worker } from 'cluster';
import { SessionStore } from './session_store';
import { checkSessionId, integer, toBuffer } from '../common/validate';
import { codedError, ErrorCode } from '../common/coded_error';
import { SessionSealer, SessionSealingKeys } from './sealing';

const TAG = 'openssl-session-cache:cluster-store';

interface Request {
  [TAG]: 'get' | 'set' | 'delete';
  /** the asking store instance (several may live in one worker) */
  inst?: string;
  seq: number;
  id: string; // hex
  der?: string; // base64
  ttl?: number;
}
interface Reply {
  [TAG]: 'reply';
  inst?: string;
  seq: number;
  der?: string;
}
interface Revoked {
  [TAG]: 'revoked';
  id: string;
}

export interface ClusterSessionStorePrimaryOptions {
  /** most sessions held; the least recently used goes first (default 20480) */
  maxEntries?: number;
  /** largest session DER held, bytes; a larger one is not stored (default 16384) */
  maxEntryBytes?: number;
  /** longest time an entry is held, seconds, whatever TTL a worker asks for (default 86400) */
  maxTtl?: number;
  /** the clock, ms (default Date.now) */
  now?: () => number;
  /** most bytes of session values held (default 64 MiB); the least recently used go first */
  maxBytes?: number;
}

export interface ClusterSessionStoreOptions {
  /** longest wait for the primary, ms (default 1000) */
  timeout?: number;
  /** AES-256-GCM encryption of each value before it leaves the worker (the primary holds
   * only sealed values); the same option as RedisSessionStore's */
  keys?: SessionSealingKeys;
}

/** The primary's half: holds the sessions and answers the workers. */
export class ClusterSessionStorePrimary {
  readonly maxEntries: number;
  readonly maxEntryBytes: number;
  readonly maxTtl: number;
  readonly #entries = new Map<string, { der: string; expiresAt: number }>();
  readonly #now: () => number;
  readonly maxBytes: number;
  #bytes = 0;
  readonly #onMessage: (worker: Worker, msg: unknown) => void;

  constructor(options: ClusterSessionStorePrimaryOptions = {}) {
    if (!cluster.isPrimary) throw codedError(ErrorCode.CLUSTER_STORE_ROLE, 'ClusterSessionStore.primary() runs in the cluster primary');
    this.maxEntries = integer(options.maxEntries ?? 20480, 'options.maxEntries', 1, 2 ** 31 - 1);
    // a worker is not trusted with the primary's memory: each entry is bounded too
    this.maxEntryBytes = integer(options.maxEntryBytes ?? 16384, 'options.maxEntryBytes', 1, 2 ** 31 - 1);
    this.maxTtl = integer(options.maxTtl ?? 86400, 'options.maxTtl', 1, 2 ** 31 - 1);
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('options.now must be a function');
    this.#now = options.now ?? Date.now;
    this.maxBytes = integer(options.maxBytes ?? 64 * 1024 * 1024, 'options.maxBytes', 1, 2 ** 53 - 1);
    this.#onMessage = (worker, msg) => this.#handle(worker, msg);
    cluster.on('message', this.#onMessage);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** bytes of session values held (base64 characters) */
  get bytes(): number {
    return this.#bytes;
  }

  #drop(id: string): void {
    const e = this.#entries.get(id);
    if (!e) return;
    this.#entries.delete(id);
    this.#bytes -= e.der.length;
  }

  #handle(worker: Worker, msg: unknown): void {
    const m = msg as Request;
    if (typeof m !== 'object' || m === null || !(TAG in m) || typeof m.seq !== 'number' || typeof m.id !== 'string') return;
    if (!/^[0-9a-f]{2,64}$/.test(m.id)) return;
    const reply: Reply = { [TAG]: 'reply', seq: m.seq, ...(typeof m.inst === 'string' ? { inst: m.inst } : {}) };
    const now = this.#now();
    if (m[TAG] === 'get') {
      const e = this.#entries.get(m.id);
      if (e && e.expiresAt > now) {
        this.#entries.delete(m.id); // most recently used goes last
        this.#entries.set(m.id, e);
        reply.der = e.der;
      } else if (e) this.#drop(m.id);
    } else if (m[TAG] === 'set') {
      const ttl = typeof m.ttl === 'number' && m.ttl > 0 ? Math.min(m.ttl, this.maxTtl) : 0;
      this.#drop(m.id);
      if (typeof m.der === 'string' && ttl > 0 && m.der.length <= this.maxBytes && m.der.length <= Math.ceil(this.maxEntryBytes / 3) * 4 && Buffer.byteLength(m.der, 'base64') <= this.maxEntryBytes) {
        this.#entries.set(m.id, { der: m.der, expiresAt: now + ttl * 1000 });
        this.#bytes += m.der.length;
        while (this.#entries.size > this.maxEntries || this.#bytes > this.maxBytes) this.#drop(this.#entries.keys().next().value as string);
      }
    } else if (m[TAG] === 'delete') {
      this.#drop(m.id);
      const revoked: Revoked = { [TAG]: 'revoked', id: m.id };
      for (const w of Object.values(cluster.workers ?? {})) if (w && w.isConnected()) w.send(revoked);
    } else return;
    if (worker.isConnected()) worker.send(reply);
  }

  close(): void {
    cluster.off('message', this.#onMessage);
  }
}

/** The worker's half: a SessionStore whose sessions live in the primary. */
export class ClusterSessionStore implements SessionStore {
  /** call in the primary before forking */
  static primary(options?: ClusterSessionStorePrimaryOptions): ClusterSessionStorePrimary {
    return new ClusterSessionStorePrimary(options);
  }

  readonly timeout: number;
  /** values that did not open under `keys` (misses) */
  readonly stats = { unauthenticated: 0 };
  readonly #inst = randomBytes(8).toString('hex');
  readonly #sealer: SessionSealer | undefined;
  #seq = 0;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly #subscribers = new Set<(id: Buffer) => void>();
  readonly #onMessage: (msg: unknown) => void;

  constructor(options: ClusterSessionStoreOptions = {}) {
    if (!cluster.isWorker || typeof process.send !== 'function') {
      throw codedError(ErrorCode.CLUSTER_STORE_ROLE, 'ClusterSessionStore runs in a cluster worker (ClusterSessionStore.primary() in the primary)');
    }
    this.timeout = integer(options.timeout ?? 1000, 'options.timeout', 1, 2 ** 31 - 1);
    this.#sealer = options.keys === undefined ? undefined : new SessionSealer(options.keys);
    this.#onMessage = (msg) => {
      const m = msg as Reply | Revoked;
      if (typeof m !== 'object' || m === null || !(TAG in m)) return;
      if (m[TAG] === 'reply') {
        if (m.inst !== this.#inst) return; // another instance's reply
        const p = this.#pending.get(m.seq);
        if (!p) return;
        this.#pending.delete(m.seq);
        clearTimeout(p.timer);
        p.resolve(m);
      } else if (m[TAG] === 'revoked' && typeof m.id === 'string') {
        const id = Buffer.from(m.id, 'hex');
        for (const fn of this.#subscribers) fn(id);
      }
    };
    process.on('message', this.#onMessage);
  }

  #ask(op: Request[typeof TAG], id: Buffer, extra: Partial<Request> = {}): Promise<Reply> {
    const b = toBuffer(id, 'id');
    try {
      checkSessionId(b, 'id');
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const seq = ++this.#seq;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(codedError(ErrorCode.SESSION_STORE_TIMEOUT, `the cluster primary did not answer ${op} within ${this.timeout} ms`));
      }, this.timeout);
      timer.unref();
      this.#pending.set(seq, { resolve, reject, timer });
      process.send!({ [TAG]: op, inst: this.#inst, seq, id: b.toString('hex'), ...extra } as Request);
    });
  }

  async get(id: Buffer): Promise<Buffer | undefined> {
    const r = await this.#ask('get', id);
    if (typeof r.der !== 'string') return undefined;
    const value = Buffer.from(r.der, 'base64');
    if (!this.#sealer) return value;
    const der = this.#sealer.open(toBuffer(id, 'id'), value);
    if (!der) this.stats.unauthenticated += 1;
    return der;
  }

  async set(id: Buffer, der: Buffer, ttlSeconds: number): Promise<void> {
    const value = toBuffer(der, 'der');
    const ttl = integer(ttlSeconds, 'ttlSeconds', 0, 2 ** 31 - 1);
    const stored = this.#sealer ? this.#sealer.seal(toBuffer(id, 'id'), value) : value;
    await this.#ask('set', id, { der: stored.toString('base64'), ttl });
  }

  async delete(id: Buffer): Promise<void> {
    await this.#ask('delete', id);
  }

  subscribe(onRevoked: (id: Buffer) => void): () => void {
    if (typeof onRevoked !== 'function') throw new TypeError('onRevoked must be a function');
    this.#subscribers.add(onRevoked);
    return () => this.#subscribers.delete(onRevoked);
  }

  /** stops listening to the primary (pending requests time out) */
  close(): void {
    process.off('message', this.#onMessage);
  }
}
