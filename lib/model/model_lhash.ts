/**
 * A behavioural model of OpenSSL 1.0.2's linear hash table (crypto/lhash/lhash.c), used
 * by CacheModel to reproduce the exact order in which `SSL_CTX_flush_sessions` visits
 * sessions (`lh_doall_arg` walks the buckets from the top down, each chain front to back).
 *
 * What the model reproduces, because it decides that order:
 * - the table starts with 8 live buckets out of 16 allocated (p = 0, pmax = 8);
 * - insert first grows the table by one bucket when items * 256 / nodes >= 512 — even
 *   when the insert then only replaces an equal key — and appends new keys at the end
 *   of their chain; replacing keeps the node where it is;
 * - growing splits bucket p into p and p + pmax; the nodes that move are pushed onto the
 *   front of the new bucket, so they end up in reverse order;
 * - delete shrinks the table by one bucket when nodes > 16 and
 *   down_load >= items * 256 / nodes; shrinking appends the top bucket's chain to bucket p;
 * - a key lives in bucket hash % pmax, or hash % (2 * pmax) when that is below p;
 * - doall reads the bucket count once, saves each node's successor before calling the
 *   function (which may delete that node), and re-reads each bucket head as it gets there.
 */

interface LhNode<T> {
  data: T;
  hash: number;
  next: LhNode<T> | null;
}

interface Slot<T> {
  bucket: number;
  prev: LhNode<T> | null;
  node: LhNode<T> | null;
  hash: number;
}

const MIN_NODES = 16;
const LOAD_MULT = 256;

/** Shape of the table, for tests and diagnostics. */
export interface LinearHashShape {
  numNodes: number;
  numAllocNodes: number;
  p: number;
  pmax: number;
  numItems: number;
}

export class LinearHash<T, P = T> {
  private buckets: Array<LhNode<T> | null> = new Array<LhNode<T> | null>(MIN_NODES).fill(null);
  private numNodes = MIN_NODES / 2;
  private numAllocNodes = MIN_NODES;
  private p = 0;
  private pmax = MIN_NODES / 2;
  private numItems = 0;
  private readonly upLoad = 2 * LOAD_MULT;
  /** `lh->down_load`; SSL_CTX_flush_sessions sets it to 0 while it walks the table. */
  downLoad = LOAD_MULT;

  /**
   * @param hashOf the table's hash function (an unsigned value below 2^32)
   * @param equal  the table's comparison: true when `stored` has the key of `probe`
   */
  constructor(
    private readonly hashOf: (x: T | P) => number,
    private readonly equal: (stored: T, probe: T | P) => boolean,
  ) {}

  /** `lh_num_items`. */
  get count(): number {
    return this.numItems;
  }

  shape(): LinearHashShape {
    return { numNodes: this.numNodes, numAllocNodes: this.numAllocNodes, p: this.p, pmax: this.pmax, numItems: this.numItems };
  }

  /** `lh_insert`: returns the replaced item with an equal key, or null when `data` was added. */
  insert(data: T): T | null {
    if (this.upLoad <= Math.floor((this.numItems * LOAD_MULT) / this.numNodes)) this.expand();
    const slot = this.find(data);
    if (slot.node === null) {
      const node: LhNode<T> = { data, hash: slot.hash, next: null };
      if (slot.prev === null) this.buckets[slot.bucket] = node;
      else slot.prev.next = node;
      this.numItems++;
      return null;
    }
    const replaced = slot.node.data;
    slot.node.data = data;
    return replaced;
  }

  /** `lh_delete`: removes the item with the key of `probe`; returns it, or null. */
  delete(probe: T | P): T | null {
    const slot = this.find(probe);
    if (slot.node === null) return null;
    if (slot.prev === null) this.buckets[slot.bucket] = slot.node.next;
    else slot.prev.next = slot.node.next;
    // The C code frees the node; its `next` stays untouched, which is what lets
    // doall continue from a successor it saved before the delete.
    this.numItems--;
    if (this.numNodes > MIN_NODES && this.downLoad >= Math.floor((this.numItems * LOAD_MULT) / this.numNodes)) {
      this.contract();
    }
    return slot.node.data;
  }

  /** `lh_retrieve`. */
  retrieve(probe: T | P): T | null {
    const slot = this.find(probe);
    return slot.node === null ? null : slot.node.data;
  }

  /** `lh_doall_arg`: calls `fn` for every item in bucket order; `fn` may delete the item it is given. */
  doall(fn: (data: T) => void): void {
    for (let i = this.numNodes - 1; i >= 0; i--) {
      let node = this.buckets[i] ?? null;
      while (node !== null) {
        const next = node.next;
        fn(node.data);
        node = next;
      }
    }
  }

  /** The items in the order `doall` would visit them (no callbacks, no changes). */
  order(): T[] {
    const out: T[] = [];
    this.doall((data) => out.push(data));
    return out;
  }

  /** `getrn`: the bucket, the link before the matching node, and the node (null when absent). */
  private find(probe: T | P): Slot<T> {
    const hash = this.hashOf(probe);
    let bucket = hash % this.pmax;
    if (bucket < this.p) bucket = hash % this.numAllocNodes;
    let prev: LhNode<T> | null = null;
    let node = this.buckets[bucket] ?? null;
    while (node !== null) {
      if (node.hash === hash && this.equal(node.data, probe)) break;
      prev = node;
      node = node.next;
    }
    return { bucket, prev, node, hash };
  }

  /** `expand`: split bucket p. */
  private expand(): void {
    this.numNodes++;
    const from = this.p++;
    const to = from + this.pmax;
    const modulus = this.numAllocNodes;
    this.buckets[to] = null;
    let prev: LhNode<T> | null = null;
    let node = this.buckets[from] ?? null;
    while (node !== null) {
      const next: LhNode<T> | null = node.next;
      if (node.hash % modulus !== from) {
        // unlink, then push onto the front of the new bucket
        if (prev === null) this.buckets[from] = next;
        else prev.next = next;
        node.next = this.buckets[to] ?? null;
        this.buckets[to] = node;
      } else {
        prev = node;
      }
      node = next;
    }
    if (this.p >= this.pmax) {
      const size = this.numAllocNodes * 2;
      for (let i = this.numAllocNodes; i < size; i++) this.buckets[i] = null;
      this.pmax = this.numAllocNodes;
      this.numAllocNodes = size;
      this.p = 0;
    }
  }

  /** `contract`: fold the top bucket into bucket p (after stepping p back). */
  private contract(): void {
    const top = this.p + this.pmax - 1;
    const moved = this.buckets[top] ?? null;
    this.buckets[top] = null;
    if (this.p === 0) {
      this.buckets.length = this.pmax; // realloc down to pmax slots
      this.numAllocNodes /= 2;
      this.pmax /= 2;
      this.p = this.pmax - 1;
    } else {
      this.p--;
    }
    this.numNodes--;
    let tail = this.buckets[this.p] ?? null;
    if (tail === null) {
      this.buckets[this.p] = moved;
    } else {
      while (tail.next !== null) tail = tail.next;
      tail.next = moved;
    }
  }
}
