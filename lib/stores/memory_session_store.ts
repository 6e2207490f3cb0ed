import { SessionStore } from './session_store';
import { integer, toBuffer } from '../common/validate';

export interface MemorySessionStoreOptions {
  /** most entries kept; the oldest insertion goes first (default 10000) */
  maxEntries?: number;
  /** clock in milliseconds (default Date.now), for tests: it must return a finite number
   * >= 0 of milliseconds (a clock in seconds is refused: RangeError) */
  now?: () => number;
}

/** the clock's reading, checked: finite, >= 0, and not a clock in seconds (Date.now() / 1000) */
function checkedNow(now: () => number): number {
  const t = now();
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw new RangeError(`options.now must return a finite number of milliseconds >= 0, got ${String(t)}`);
  const secs = Date.now() / 1000;
  if (Math.abs(t - secs) < secs / 100) throw new RangeError('options.now must return milliseconds: it returned about Date.now() / 1000 (seconds)');
  return t;
}

/** An in-process SessionStore with per-entry TTL and a bound on entries. */
export class MemorySessionStore implements SessionStore {
  readonly maxEntries: number;
  #entries = new Map<string, { der: Buffer; expiresAt: number }>();
  #now: () => number;
  readonly #subscribers = new Set<(id: Buffer) => void>();

  constructor(options: MemorySessionStoreOptions = {}) {
    this.maxEntries = integer(options.maxEntries ?? 10000, 'options.maxEntries', 1, 2 ** 31 - 1);
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('options.now must be a function');
    const now = options.now ?? Date.now;
    this.#now = options.now === undefined ? now : () => checkedNow(now);
    if (options.now !== undefined) checkedNow(now);
  }

  get size(): number {
    return this.#entries.size;
  }

  async get(id: Buffer): Promise<Buffer | undefined> {
    const key = toBuffer(id, 'id').toString('hex');
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return Buffer.from(e.der);
  }

  async set(id: Buffer, der: Buffer, ttlSeconds: number): Promise<void> {
    const key = toBuffer(id, 'id').toString('hex');
    const value = Buffer.from(toBuffer(der, 'der'));
    if (typeof ttlSeconds !== 'number' || !(ttlSeconds >= 0) || !Number.isFinite(ttlSeconds)) throw new RangeError('ttlSeconds must be a finite number >= 0');
    this.#entries.delete(key);
    if (ttlSeconds === 0) return; // already expired: nothing to keep
    this.#entries.set(key, { der: value, expiresAt: this.#now() + ttlSeconds * 1000 });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** removes the entry and tells every subscriber (in a microtask), present or not */
  async delete(id: Buffer): Promise<void> {
    const b = toBuffer(id, 'id');
    this.#entries.delete(b.toString('hex'));
    if (this.#subscribers.size === 0) return;
    const copy = Buffer.from(b);
    queueMicrotask(() => {
      for (const f of [...this.#subscribers]) {
        try {
          f(Buffer.from(copy));
        } catch {
          // one subscriber's failure must not keep the others from revoking
        }
      }
    });
  }

  /** in-process revocation: servers sharing this store hear every delete(id) */
  subscribe(onRevoked: (id: Buffer) => void): () => void {
    if (typeof onRevoked !== 'function') throw new TypeError('onRevoked must be a function');
    // a wrapper per call, so that subscribing the same function twice unsubscribes separately
    const f = (id: Buffer) => onRevoked(id);
    this.#subscribers.add(f);
    return () => {
      this.#subscribers.delete(f);
    };
  }

  clear(): void {
    this.#entries.clear();
  }
}
