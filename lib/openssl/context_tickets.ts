// Session-ticket keys of an SslContext: their layout and checks, and the counters of the
// native ticket key callback (native/ssl_context_tickets.cc).
import type { NativeContextHandle } from '../binding/native';
import { noteTicketKeysSet } from '../common/diagnostics';
import { toBuffer } from '../common/validate';

/** bytes of one session-ticket key: name (16) | HMAC secret (16) | AES key (16) */
export const TICKET_KEY_LENGTH = 48;

/** SslContext#ticketKeyStats */
export interface TicketKeyStats {
  issued: number;
  current: number;
  previous: number;
  unknownKey: number;
  /** tickets not decrypted because the server revoked their session (TlsServer#revoke): full handshakes */
  revoked: number;
}

/** setTicketKeys(current, previous): each key checked, all handed to native code in one
 * buffer, which is wiped afterwards (the native side holds its own copy) */
export function setTicketKeys(h: NativeContextHandle, owner: object, current: Buffer, previous: readonly Buffer[]): void {
  const all = [current, ...(Array.isArray(previous) ? previous : toArrayError())].map((k, i) => {
    const b = toBuffer(k as unknown, i === 0 ? 'keys' : `previous[${i - 1}]`);
    if (b.length !== TICKET_KEY_LENGTH) throw new RangeError(`${i === 0 ? 'keys' : `previous[${i - 1}]`} must be ${TICKET_KEY_LENGTH} bytes, got ${b.length}`);
    return b;
  });
  const joined = Buffer.concat(all);
  try {
    h.setTicketKeys(joined);
    noteTicketKeysSet(owner);
  } finally {
    joined.fill(0);
  }
}

/** the previous keys that still decrypt, newest first (copies) */
export function previousTicketKeys(h: NativeContextHandle): Buffer[] {
  const all = h.getTicketKeys();
  const out: Buffer[] = [];
  for (let o = TICKET_KEY_LENGTH; o < all.length; o += TICKET_KEY_LENGTH) out.push(Buffer.from(all.subarray(o, o + TICKET_KEY_LENGTH)));
  return out;
}

function toArrayError(): never {
  throw new TypeError('previous must be an array of Buffers');
}
