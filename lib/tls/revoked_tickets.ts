// Revocation of ticket sessions. A session resumed from a ticket is in no cache and no
// store: deleting its id there stops nothing. What identifies it is the session id the
// client sends with the ticket: OpenSSL clients (1.0.2, 1.1, 3, so node:tls too) set it to
// SHA-256 of the ticket when they receive one and offer it with that ticket every time, and
// a 1.0.2 server gives the resumed session exactly that id (tls_decrypt_ticket), which is
// what the server's socket reports. So the ids a server revokes are remembered here, and a
// ClientHello that offers one has its ticket refused for that connection (the ticket key
// callback answers "unknown key", native/ssl_context_tickets.cc): a full handshake.
//
// Bounds: an id is remembered for the session timeout (no ticket session outlives it) and
// at most `limit` ids are kept (the oldest go first). Clients that send a fresh random id
// with each ticket cannot be told apart by id: rotate the ticket key for those
// (setTicketKeys; with previousTicketKeys 0 every older ticket is a full handshake).

/** ids (hex) revoked for tickets → when that stops mattering (ms) */
export class RevokedTickets {
  readonly #ids = new Map<string, number>();
  readonly #limit: number;
  readonly #now: () => number;

  constructor(limit = 100_000, now: () => number = Date.now) {
    this.#limit = limit;
    this.#now = now;
  }

  get size(): number {
    return this.#ids.size;
  }

  add(id: Buffer, ttlMs: number): void {
    const hex = id.toString('hex');
    this.#ids.delete(hex);
    this.#ids.set(hex, this.#now() + ttlMs);
    while (this.#ids.size > this.#limit) this.#ids.delete(this.#ids.keys().next().value as string);
  }

  has(id: Buffer): boolean {
    const hex = id.toString('hex');
    const until = this.#ids.get(hex);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#ids.delete(hex);
    return false;
  }
}
