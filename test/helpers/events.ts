// Waiting on events and promises, never on the clock: an inbox for callbacks, and a
// bound that turns a hang into a clear failure. (IpcChild.next in ./children waits for a
// child's message that matches a filter.)

/**
 * Collects what a callback receives (pass `inbox.push` as the callback) and lets a test
 * wait until a given number of items arrived.
 */
export class Inbox<T> {
  readonly items: T[] = [];
  #waiters: { n: number; resolve: (items: T[]) => void }[] = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    const ready = this.#waiters.filter((w) => this.items.length >= w.n);
    this.#waiters = this.#waiters.filter((w) => this.items.length < w.n);
    for (const w of ready) w.resolve(this.items);
  };

  get length(): number {
    return this.items.length;
  }

  /** resolves with the items once at least n arrived */
  atLeast(n: number): Promise<T[]> {
    if (this.items.length >= n) return Promise.resolve(this.items);
    return new Promise<T[]>((resolve) => this.#waiters.push({ n, resolve }));
  }
}

/**
 * Fails (instead of hanging until jest's timeout) when p takes longer than ms. Only a bound
 * for a failing run: a passing one never depends on it.
 */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms))),
  ]);
}
