// TicketKeyRing: the session-ticket keys of a fleet, on a schedule every server computes
// alone. Time is cut into slots of `rotationInterval` ms (slot = floor(now / interval));
// slot s's key encrypts new tickets while s is the current slot, is known one slot
// earlier as the *next* key (so a server whose clock runs ahead, which starts encrypting
// with it first, only makes tickets its peers already decrypt), and keeps decrypting as a
// *previous* key until (s + 1) * interval + decryptWindow + maxClockSkew, when it is wiped.
//
// Each slot's key comes from one of two places, chosen by the application:
// - `source` + `keyEncryptionKey`: the first server that needs a slot's key makes 48
//   random bytes, seals them (AES-256-GCM under the key-encryption key, the slot as
//   associated data) and claims the slot in the shared store with set-if-absent; every
//   other server reads the winner's value. The store holds sealed keys only, expiring at
//   the end of the slot's decrypt window: after that no copy of the key exists anywhere.
// - `fleetSecret`: the slot's key is HKDF-SHA256(fleetSecret, slot); nothing to
//   distribute, but whoever learns the secret can derive every slot's key, past and future.
//
// The keys live in this process's memory only: the ring's own copy is zeroed when a key
// leaves the ring, the native copy is wiped with OPENSSL_cleanse (SslContext#setTicketKeys
// / clearTicketKeys). No key is ever made by one server alone: when a server cannot reach
// the source, it keeps using what it holds until the decrypt windows end, and then turns
// tickets off (full handshakes) until the source answers again.
import { hkdfSync, randomBytes } from 'crypto';
import { EventEmitter } from 'events';
import { SslContext, TICKET_KEY_LENGTH } from '../openssl/ssl_context';
import { isTicketKeySource, TicketKeySource } from '../stores/ticket_key_source';
import { codedError, ErrorCode } from '../common/coded_error';
import { noteTicketKeysSet } from '../common/diagnostics';
import { integer, optionsObject, toBuffer } from '../common/validate';
import { SessionSealer, SessionSealingKeys } from '../stores/sealing';
import type { EventListener, ListenerEvents } from '../common/typed_events';
import type { TlsServer } from './tls_server';

const HOUR = 3_600_000;
/** the additional data of a sealed slot key: never a session id (those are at most 32 bytes) */
const SEAL_CONTEXT = Buffer.from('openssl-session-cache ticket key ring v1, slot ');
const HKDF_SALT = Buffer.from('openssl-session-cache ticket key ring v1');

export interface TicketKeyRingOptions {
  /** the fleet's shared store of sealed slot keys (with keyEncryptionKey); or fleetSecret */
  source?: TicketKeySource;
  /** the AES-256-GCM key that seals every slot key in the source: 32 bytes, or named keys
   * (`{ current, previous }`, the stores' sealing keys) to rotate it without a flag day */
  keyEncryptionKey?: Buffer | SessionSealingKeys;
  /** at least 32 bytes: derive each slot's key from this secret instead of a source */
  fleetSecret?: Buffer;
  /** how long one key encrypts new tickets, ms (default 1 h) */
  rotationInterval?: number;
  /** how long after its slot ended a key still decrypts, ms (default 1 h) */
  decryptWindow?: number;
  /** the largest difference between two servers' clocks, ms (default 5 s; at most rotationInterval / 2) */
  maxClockSkew?: number;
  /** the clock, ms since the epoch (default Date.now) */
  clock?: () => number;
}

/** one key of the ring: its slot and its key name (the first 16 bytes, sent in every ticket) */
export interface TicketKeyRingKey {
  slot: number;
  name: Buffer;
}

/** what the ring holds, as reported by 'rotate' and TicketKeyRing#state */
export interface TicketKeyRingState {
  /** the ring's clock when the state was taken */
  at: number;
  /** the current slot by the ring's clock */
  slot: number;
  /** the slot whose key encrypts new tickets; undefined: tickets are off */
  encrypting: number | undefined;
  /** every key held (they all decrypt), newest first */
  keys: TicketKeyRingKey[];
  /** slots whose keys left the ring (wiped) since the previous state */
  dropped: number[];
}

export interface TicketKeyRingEvents extends ListenerEvents {
  /** the keys installed in the attached contexts changed (or the current slot did) */
  rotate: [state: TicketKeyRingState];
  /** the source failed or handed back a value that does not open; the ring retries */
  sourceError: [err: Error];
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- types only (lib/common/typed_events.ts)
export interface TicketKeyRing {
  on<K extends keyof TicketKeyRingEvents>(event: K, listener: EventListener<TicketKeyRingEvents, K>): this;
  once<K extends keyof TicketKeyRingEvents>(event: K, listener: EventListener<TicketKeyRingEvents, K>): this;
  off<K extends keyof TicketKeyRingEvents>(event: K, listener: EventListener<TicketKeyRingEvents, K>): this;
  emit<K extends keyof TicketKeyRingEvents>(event: K, ...args: TicketKeyRingEvents[K]): boolean;
}

function slotBytes(slot: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(slot));
  return b;
}

/** a key-encryption key as the sealer takes it: 32 bytes, or named keys */
function sealer(kek: Buffer | SessionSealingKeys, what: string): SessionSealer {
  if (Buffer.isBuffer(kek) || kek instanceof Uint8Array) {
    const k = toBuffer(kek as unknown, what);
    if (k.length !== 32) throw new RangeError(`${what} must be 32 bytes, got ${k.length}`);
    return new SessionSealer({ current: { name: 'kek', key: Buffer.from(k) } }, what);
  }
  if (typeof kek !== 'object' || kek === null) throw new TypeError(`${what} must be a Buffer or { current, previous } sealing keys`);
  return new SessionSealer(kek, what);
}

function sealContext(slot: number): Buffer {
  return Buffer.concat([SEAL_CONTEXT, slotBytes(slot)]);
}

/**
 * seals a 48-byte ticket key for `slot` under `kek` (AES-256-GCM in the stores' sealed
 * format, the slot as additional data)
 */
export function sealTicketKey(kek: Buffer | SessionSealingKeys, slot: number, key: Buffer): Buffer {
  return sealer(kek, 'kek').seal(sealContext(slot), key);
}

/** opens what sealTicketKey made; ERR_TICKET_KEY_UNSEAL when it was not sealed for `slot` under `kek` */
export function openTicketKey(kek: Buffer | SessionSealingKeys, slot: number, sealed: Buffer): Buffer {
  return openWith(sealer(kek, 'kek'), slot, sealed);
}

function openWith(s: SessionSealer, slot: number, sealed: Buffer): Buffer {
  const key = Buffer.isBuffer(sealed) ? s.open(sealContext(slot), sealed) : undefined;
  if (key === undefined || key.length !== TICKET_KEY_LENGTH) {
    key?.fill(0);
    throw codedError(ErrorCode.TICKET_KEY_UNSEAL, `the value of slot ${slot} does not open under the key-encryption key (another key, tampered, or not a sealed ticket key)`);
  }
  return key;
}

/**
 * The session-ticket keys of a fleet (see the top of this file). `attach()` the contexts
 * (or TlsServers) that use it, then `start()`. Events: 'rotate' (TicketKeyRingState),
 * 'sourceError' (err).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- types only (lib/common/typed_events.ts)
export class TicketKeyRing extends EventEmitter {
  readonly rotationInterval: number;
  readonly decryptWindow: number;
  readonly maxClockSkew: number;
  readonly #source: TicketKeySource | undefined;
  readonly #sealer: SessionSealer | undefined;
  readonly #secret: Buffer | undefined;
  readonly #clock: () => number;
  readonly #keys = new Map<number, Buffer>(); // slot → 48-byte key (plain, this process only)
  readonly #contexts = new Set<SslContext>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #installed = ''; // the key set installed in the contexts
  #reported = ''; // the key set reported by the last 'rotate'
  #retry = false; // the last refresh failed: ask again soon
  #lastSlot = -1;
  #dropped: number[] = [];
  #stopped = false;

  constructor(options: TicketKeyRingOptions) {
    super();
    const o = optionsObject(options, 'options') as TicketKeyRingOptions;
    if ((o.source === undefined) === (o.fleetSecret === undefined)) {
      throw new TypeError('options: exactly one of source (with keyEncryptionKey) or fleetSecret');
    }
    if (o.source !== undefined) {
      if (!isTicketKeySource(o.source)) throw new TypeError('options.source must implement claim(slot, sealed, ttlMs) and get(slot)');
      if (o.keyEncryptionKey === undefined) throw new TypeError('options.keyEncryptionKey is required with options.source (keys are sealed in the store)');
      this.#sealer = sealer(o.keyEncryptionKey, 'options.keyEncryptionKey');
      this.#source = o.source;
    } else {
      if (o.keyEncryptionKey !== undefined) throw new TypeError('options.keyEncryptionKey goes with options.source, not fleetSecret');
      const s = toBuffer(o.fleetSecret as unknown, 'options.fleetSecret');
      if (s.length < 32) throw new RangeError(`options.fleetSecret must be at least 32 bytes, got ${s.length}`);
      this.#secret = Buffer.from(s);
    }
    this.rotationInterval = integer(o.rotationInterval ?? HOUR, 'options.rotationInterval', 1000, 2 ** 31 - 1);
    this.decryptWindow = integer(o.decryptWindow ?? HOUR, 'options.decryptWindow', 0, 2 ** 31 - 1);
    this.maxClockSkew = integer(o.maxClockSkew ?? 5000, 'options.maxClockSkew', 0, Math.floor(this.rotationInterval / 2));
    if (o.clock !== undefined && typeof o.clock !== 'function') throw new TypeError('options.clock must be a function');
    this.#clock = o.clock ?? Date.now;
  }

  /**
   * The forward-secrecy bound, ms: a ticket's master secret can be recovered from a
   * compromised server (or source + key-encryption key) for at most this long after the
   * ticket was issued — rotationInterval + decryptWindow + 2 * maxClockSkew.
   */
  get forwardSecrecyBound(): number {
    return this.rotationInterval + this.decryptWindow + 2 * this.maxClockSkew;
  }

  /** the slot of a time by the schedule (default: the ring's clock now) */
  slotAt(time: number = this.#clock()): number {
    return Math.floor(time / this.rotationInterval);
  }

  /** the time (ring clock) until which slot's key decrypts on this server */
  retainedUntil(slot: number): number {
    return (slot + 1) * this.rotationInterval + this.decryptWindow + this.maxClockSkew;
  }

  /** what the ring holds now */
  get state(): TicketKeyRingState {
    const at = this.#clock();
    const slot = this.slotAt(at);
    const keys = [...this.#keys.keys()].sort((a, b) => b - a).map((s) => ({ slot: s, name: Buffer.from(this.#keys.get(s)!.subarray(0, 16)) }));
    return { at, slot, encrypting: this.#encryptingSlot(slot), keys, dropped: [] };
  }

  /** uses the ring's keys in `target` (an SslContext, or a TlsServer's context): tickets on while a key encrypts */
  attach(target: SslContext | TlsServer): () => void {
    const ctx = target instanceof SslContext ? target : (target as TlsServer | undefined)?.context;
    if (!(ctx instanceof SslContext)) throw new TypeError('target must be an SslContext or a TlsServer');
    this.#contexts.add(ctx);
    this.#installInto(ctx, this.#clock());
    return () => {
      this.#contexts.delete(ctx);
    };
  }

  /**
   * Starts the schedule and resolves after the first fetch of the keys (rejects when the
   * source failed it; the ring keeps retrying until stop()).
   */
  async start(): Promise<void> {
    if (this.#stopped) throw new Error('the ring was stopped');
    this.#schedule();
    await this.refresh();
  }

  /** fetches (or claims) the keys the schedule needs now and installs them; rejects on a source failure */
  refresh(): Promise<void> {
    if (!this.#refreshing) {
      this.#refreshing = this.#refresh().finally(() => {
        this.#refreshing = undefined;
      });
    }
    return this.#refreshing;
  }

  /** stops the schedule, wipes every key (ring and attached contexts) and turns their tickets off */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const k of this.#keys.values()) k.fill(0);
    this.#keys.clear();
    for (const c of this.#contexts) if (!c.freed) c.clearTicketKeys();
    this.#contexts.clear();
  }

  // the slots the schedule needs at `now`: the current and next ones (claimed) and the previous ones still decrypting (read)
  #wanted(now: number): { claim: number[]; read: number[] } {
    const c = this.slotAt(now);
    const read: number[] = [];
    for (let s = c - 1; s >= 0 && this.retainedUntil(s) > now; s--) read.push(s);
    return { claim: [c, c + 1], read };
  }

  async #refresh(): Promise<void> {
    const now = this.#clock();
    const { claim, read } = this.#wanted(now);
    let failure: Error | undefined;
    for (const slot of [...claim, ...read]) {
      if (this.#keys.has(slot) || this.#stopped) continue;
      try {
        const key = await this.#fetch(slot, claim.includes(slot), now);
        if (key === undefined) continue;
        if (this.#stopped || this.#keys.has(slot) || this.retainedUntil(slot) <= this.#clock()) key.fill(0);
        else this.#keys.set(slot, key);
      } catch (e) {
        failure ??= e as Error;
      }
    }
    this.#retry = failure !== undefined;
    this.#update();
    if (failure) {
      this.emit('sourceError', failure);
      throw failure;
    }
  }

  async #fetch(slot: number, claim: boolean, now: number): Promise<Buffer | undefined> {
    if (this.#secret) {
      const k = Buffer.from(hkdfSync('sha256', this.#secret, HKDF_SALT, slotBytes(slot), TICKET_KEY_LENGTH));
      return k;
    }
    const source = this.#source!;
    const kek = this.#sealer!;
    if (!claim) {
      const held = await source.get(slot);
      return held === undefined || held === null ? undefined : openWith(kek, slot, held);
    }
    const mine = randomBytes(TICKET_KEY_LENGTH);
    // the value outlives the slot by the decrypt window and two skews (a peer whose clock runs behind)
    const ttl = Math.max(1, this.retainedUntil(slot) + this.maxClockSkew - now);
    try {
      const sealed = kek.seal(sealContext(slot), mine);
      const won = await source.claim(slot, sealed, ttl);
      return openWith(kek, slot, won);
    } finally {
      mine.fill(0);
    }
  }

  // the newest key held whose slot has begun: it encrypts (normally the current slot's)
  #encryptingSlot(current: number): number | undefined {
    let best: number | undefined;
    for (const s of this.#keys.keys()) if (s <= current && (best === undefined || s > best)) best = s;
    return best;
  }

  // drops the keys whose window ended, installs the rest, reports, and sets the next timer
  #update(): void {
    const now = this.#clock();
    for (const [s, k] of this.#keys) {
      if (this.retainedUntil(s) <= now) {
        k.fill(0);
        this.#keys.delete(s);
        this.#dropped.push(s);
      }
    }
    const slot = this.slotAt(now);
    const enc = this.#encryptingSlot(slot);
    const sig = `${enc}|${[...this.#keys.keys()].sort((a, b) => b - a).join(',')}`;
    if (sig !== this.#installed) {
      this.#installed = sig;
      for (const c of this.#contexts) this.#installInto(c, now);
    }
    if (this.#dropped.length > 0 || slot !== this.#lastSlot || this.#reported !== sig) {
      this.#lastSlot = slot;
      this.#reported = sig;
      const state = { ...this.state, dropped: this.#dropped };
      this.#dropped = [];
      this.emit('rotate', state);
    }
    if (!this.#stopped && this.#timer !== undefined) this.#schedule();
  }

  #installInto(ctx: SslContext, now: number): void {
    if (ctx.freed) {
      this.#contexts.delete(ctx);
      return;
    }
    const enc = this.#encryptingSlot(this.slotAt(now));
    if (enc === undefined) {
      ctx.clearTicketKeys(); // no key: full handshakes, never a key made here alone
      return;
    }
    const others = [...this.#keys.keys()].filter((s) => s !== enc).sort((a, b) => b - a);
    ctx.setTicketKeys(this.#keys.get(enc)!, others.map((s) => this.#keys.get(s)!));
    ctx.setTicketsEnabled(true);
    // the key age metric (ticket_key_age_seconds): since the encrypting key's slot began
    noteTicketKeysSet(ctx, Date.now() - (now - enc * this.rotationInterval));
  }

  // the next moment something changes: a slot begins, a key's window ends, or a retry
  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    const now = this.#clock();
    let at = (this.slotAt(now) + 1) * this.rotationInterval;
    for (const s of this.#keys.keys()) at = Math.min(at, this.retainedUntil(s));
    const { claim } = this.#wanted(now);
    if (this.#retry || claim.some((s) => !this.#keys.has(s))) {
      at = Math.min(at, now + Math.min(Math.max(Math.floor(this.rotationInterval / 10), 50), 5000));
    }
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, at - now));
    this.#timer.unref();
  }

  #tick(): void {
    this.#update();
    this.refresh().catch(() => {}); // reported as 'sourceError'; retried by the schedule
    this.#schedule();
  }
}
