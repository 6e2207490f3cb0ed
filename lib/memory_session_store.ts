import { SessionStore } from './session_store';
import { integer, toBuffer } from './validate';

export interface MemorySessionStoreOptions {
  /** most entries kept; the oldest insertion goes first (default 10000) */
  maxEntries?: number;
  /** clock in milliseconds (default Date.now), for tests */
  now?: () => number;
}

/** An in-process SessionStore with per-entry TTL and a bound on entries. */
export class MemorySessionStore implements SessionStore {
  readonly maxEntries: number;
  #entries = new Map<string, { der: Buffer; expiresAt: number }>();
  #now: () => number;

  constructor(options: MemorySessionStoreOptions = {}) {
    this.maxEntries = integer(options.maxEntries ?? 10000, 'options.maxEntries', 1, 2 ** 31 - 1);
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('options.now must be a function');
    this.#now = options.now ?? Date.now;
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
    if (typeof ttlSeconds !== 'number' || !(ttlSeconds >= 0)) throw new RangeError('ttlSeconds must be a number >= 0');
    this.#entries.delete(key);
    this.#entries.set(key, { der: value, expiresAt: this.#now() + ttlSeconds * 1000 });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  async delete(id: Buffer): Promise<void> {
    this.#entries.delete(toBuffer(id, 'id').toString('hex'));
  }

  clear(): void {
    this.#entries.clear();
  }
}
