// Where a fleet's session-ticket keys come from: one value per time slot, claimed once by
// whichever server asks first (set-if-absent) and then read by all the others, so that no
// two servers hold different keys for the same slot. The values are opaque to the source:
// TicketKeyRing (lib/tls/ticket_key_ring.ts) seals each key under the application's
// key-encryption key before it claims, so a source never sees a key in plain.
import { integer } from '../common/validate';

export interface TicketKeySource {
  /**
   * Stores `sealed` for `slot` unless a value is there already (atomically: of two servers
   * claiming the same slot, exactly one wins), expiring after `ttlMs`. Resolves with the
   * value the slot holds afterwards: `sealed` itself, or the one another server claimed first.
   */
  claim(slot: number, sealed: Buffer, ttlMs: number): Promise<Buffer>;
  /** the value claimed for `slot`, undefined (or null) when nobody claimed it or it expired */
  get(slot: number): Promise<Buffer | undefined | null>;
}

export function isTicketKeySource(v: unknown): v is TicketKeySource {
  const s = v as TicketKeySource;
  return typeof v === 'object' && v !== null && typeof s.claim === 'function' && typeof s.get === 'function';
}

/** a slot number as the sources take it: a non-negative safe integer */
export function slotNumber(slot: unknown): number {
  return integer(slot, 'slot', 0, Number.MAX_SAFE_INTEGER);
}

/** a claim's lifetime in ms: at least 1 */
export function claimTtl(ttlMs: unknown): number {
  return integer(ttlMs, 'ttlMs', 1, 2 ** 31 - 1);
}

/**
 * A TicketKeySource in this process's memory: for several servers of one process (the
 * claims of a fleet need a shared store: RedisTicketKeySource, ClusterTicketKeySource).
 */
export class MemoryTicketKeySource implements TicketKeySource {
  readonly #slots = new Map<number, { sealed: Buffer; expiresAt: number }>();

  async claim(slot: number, sealed: Buffer, ttlMs: number): Promise<Buffer> {
    const s = slotNumber(slot);
    const ttl = claimTtl(ttlMs);
    if (!Buffer.isBuffer(sealed)) throw new TypeError('sealed must be a Buffer');
    const held = this.#live(s);
    if (held) return Buffer.from(held);
    this.#slots.set(s, { sealed: Buffer.from(sealed), expiresAt: Date.now() + ttl });
    return Buffer.from(sealed);
  }

  async get(slot: number): Promise<Buffer | undefined> {
    const held = this.#live(slotNumber(slot));
    return held ? Buffer.from(held) : undefined;
  }

  #live(slot: number): Buffer | undefined {
    const now = Date.now();
    for (const [s, e] of this.#slots) if (e.expiresAt <= now) this.#slots.delete(s);
    return this.#slots.get(slot)?.sealed;
  }
}
