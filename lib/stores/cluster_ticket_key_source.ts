// A TicketKeySource for node:cluster, without Redis: the primary holds one sealed value per
// slot (claimed by the first worker that asks, expiring with the slot's decrypt window)
// and answers the workers over the cluster IPC channel, in messages of their own tag (the
// session store's messages are left alone). The primary handles one message at a time, so
// a claim is atomic: two workers claiming a slot get the same value.
import cluster from 'cluster';
import type { Worker } from 'cluster';
import { claimTtl, slotNumber, TicketKeySource } from './ticket_key_source';
import { integer, optionsObject } from '../common/validate';
import { codedError, ErrorCode } from '../common/coded_error';

const TAG = 'openssl-session-cache:cluster-ticket-keys';

interface Request {
  [TAG]: 'claim' | 'get';
  seq: number;
  slot: number;
  sealed?: string; // base64
  ttl?: number; // ms
}
interface Reply {
  [TAG]: 'reply';
  seq: number;
  sealed?: string;
}

/** The primary's half: holds the sealed slot keys and answers the workers. */
export class ClusterTicketKeySourcePrimary {
  readonly #slots = new Map<number, { sealed: string; expiresAt: number }>();
  readonly #onMessage: (worker: Worker, msg: unknown) => void;

  constructor() {
    if (!cluster.isPrimary) throw codedError(ErrorCode.CLUSTER_STORE_ROLE, 'ClusterTicketKeySource.primary() runs in the cluster primary');
    this.#onMessage = (worker, msg) => this.#handle(worker, msg);
    cluster.on('message', this.#onMessage);
  }

  /** slots held now */
  get size(): number {
    this.#expire(Date.now());
    return this.#slots.size;
  }

  #expire(now: number): void {
    for (const [s, e] of this.#slots) if (e.expiresAt <= now) this.#slots.delete(s);
  }

  #handle(worker: Worker, msg: unknown): void {
    const m = msg as Request;
    if (typeof m !== 'object' || m === null || !(TAG in m) || typeof m.seq !== 'number') return;
    if (typeof m.slot !== 'number' || !Number.isSafeInteger(m.slot) || m.slot < 0) return;
    const now = Date.now();
    this.#expire(now);
    const reply: Reply = { [TAG]: 'reply', seq: m.seq };
    if (m[TAG] === 'claim') {
      if (typeof m.sealed !== 'string' || typeof m.ttl !== 'number' || !(m.ttl >= 1)) return;
      if (!this.#slots.has(m.slot)) this.#slots.set(m.slot, { sealed: m.sealed, expiresAt: now + m.ttl });
      reply.sealed = this.#slots.get(m.slot)!.sealed;
    } else if (m[TAG] === 'get') {
      reply.sealed = this.#slots.get(m.slot)?.sealed;
    } else return;
    if (worker.isConnected()) worker.send(reply);
  }

  /** stops answering (the values held are dropped) */
  close(): void {
    cluster.off('message', this.#onMessage);
    this.#slots.clear();
  }
}

export interface ClusterTicketKeySourceOptions {
  /** longest wait for the primary, ms (default 1000) */
  timeout?: number;
}

/** The worker's half: a TicketKeySource whose values live in the primary. */
export class ClusterTicketKeySource implements TicketKeySource {
  /** call in the primary before forking */
  static primary(): ClusterTicketKeySourcePrimary {
    return new ClusterTicketKeySourcePrimary();
  }

  readonly timeout: number;
  #seq = 0;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly #onMessage: (msg: unknown) => void;

  constructor(options: ClusterTicketKeySourceOptions = {}) {
    const o = optionsObject(options, 'options') as ClusterTicketKeySourceOptions;
    if (!cluster.isWorker || typeof process.send !== 'function') {
      throw codedError(ErrorCode.CLUSTER_STORE_ROLE, 'ClusterTicketKeySource runs in a cluster worker (ClusterTicketKeySource.primary() in the primary)');
    }
    this.timeout = integer(o.timeout ?? 1000, 'options.timeout', 1, 2 ** 31 - 1);
    this.#onMessage = (msg) => {
      const m = msg as Reply;
      if (typeof m !== 'object' || m === null || !(TAG in m) || m[TAG] !== 'reply') return;
      const p = this.#pending.get(m.seq);
      if (!p) return;
      this.#pending.delete(m.seq);
      clearTimeout(p.timer);
      p.resolve(m);
    };
    process.on('message', this.#onMessage);
  }

  #ask(req: Omit<Request, 'seq'>): Promise<Reply> {
    const seq = ++this.#seq;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(codedError(ErrorCode.SESSION_STORE_TIMEOUT, `the cluster primary did not answer ${req[TAG]} within ${this.timeout} ms`));
      }, this.timeout);
      timer.unref();
      this.#pending.set(seq, { resolve, reject, timer });
      process.send!({ ...req, seq });
    });
  }

  async claim(slot: number, sealed: Buffer, ttlMs: number): Promise<Buffer> {
    const s = slotNumber(slot);
    const ttl = claimTtl(ttlMs);
    if (!Buffer.isBuffer(sealed)) throw new TypeError('sealed must be a Buffer');
    const r = await this.#ask({ [TAG]: 'claim', slot: s, sealed: sealed.toString('base64'), ttl });
    if (r.sealed === undefined) throw codedError(ErrorCode.TICKET_KEY_SOURCE, `the cluster primary held no value for slot ${s} after the claim`);
    return Buffer.from(r.sealed, 'base64');
  }

  async get(slot: number): Promise<Buffer | undefined> {
    const r = await this.#ask({ [TAG]: 'get', slot: slotNumber(slot) });
    return r.sealed === undefined ? undefined : Buffer.from(r.sealed, 'base64');
  }

  /** stops listening to the primary (pending requests time out) */
  close(): void {
    process.off('message', this.#onMessage);
  }
}
