// A share of the session store per peer address: at most `concurrency` lookups in flight
// and `rate` per second (a token bucket of `rate` tokens) for one address, so that one
// source offering random session ids cannot hold every lookup slot or all of the store's
// time while known clients from other addresses wait. IPv6 addresses count by their /64.
// The table of addresses is bounded (the least recently seen are forgotten first).

const MAX_PEERS = 10000;

interface Peer {
  inFlight: number;
  tokens: number;
  at: number; // ms of the last refill
}

/** the key of an address: IPv4 (also IPv4-mapped IPv6) as it is, IPv6 by its /64 */
export function peerKey(address: string | undefined): string {
  if (!address) return '';
  const a = address.toLowerCase();
  if (!a.includes(':')) return a;
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/.test(a)) return a.slice(7);
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}

export class PeerLimiter {
  readonly #peers = new Map<string, Peer>();

  constructor(
    readonly concurrency: number,
    readonly rate: number,
    readonly now: () => number,
  ) {}

  /** a release function when the peer may make one more lookup now, else undefined */
  take(address: string | undefined): (() => void) | undefined {
    const key = peerKey(address);
    const now = this.now();
    let p = this.#peers.get(key);
    if (p) {
      this.#peers.delete(key); // most recently seen goes last
      p.tokens = Math.min(this.rate, p.tokens + ((now - p.at) / 1000) * this.rate);
      p.at = now;
    } else {
      p = { inFlight: 0, tokens: this.rate, at: now };
    }
    this.#peers.set(key, p);
    if (this.#peers.size > MAX_PEERS) {
      // forget the least recently seen address that has nothing in flight
      for (const [k, v] of this.#peers) {
        if (v.inFlight === 0 && k !== key) {
          this.#peers.delete(k);
          break;
        }
      }
    }
    if (p.inFlight >= this.concurrency || p.tokens < 1) return undefined;
    p.inFlight += 1;
    p.tokens -= 1;
    const peer = p;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      peer.inFlight -= 1;
    };
  }
}
