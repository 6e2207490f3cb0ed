// The id by which a client will offer the ticket a server connection issued. In TLS 1.2
// the server's NewSessionTicket message goes out before its ChangeCipherSpec, so it is in
// the clear in the flight the server writes; OpenSSL clients (1.0.2, 1.1, 3, node:tls) set
// the session id of a ticket session to SHA-256 of the ticket and send it with that ticket,
// and a 1.0.2 server reports that id for the resumption. So the hash of the ticket in our
// own outgoing flight names the ticket session before it was ever resumed (1.0.2 gives the
// full handshake that issued it an empty id), and server.revoke() can be given it.
import { createHash } from 'crypto';

const RECORD_HANDSHAKE = 22;
const RECORD_CHANGE_CIPHER_SPEC = 20;
const NEW_SESSION_TICKET = 4;

/** SHA-256 of the ticket of a NewSessionTicket in `flight` (server records), or undefined */
export function issuedTicketId(flight: Buffer): Buffer | undefined {
  let i = 0;
  while (i + 5 <= flight.length) {
    const type = flight[i];
    const len = flight.readUInt16BE(i + 3);
    const end = i + 5 + len;
    if (end > flight.length || type === RECORD_CHANGE_CIPHER_SPEC) return undefined; // the rest is encrypted
    if (type === RECORD_HANDSHAKE) {
      // 1.0.2 writes each handshake message in records of its own
      let j = i + 5;
      while (j + 4 <= end) {
        const msgLen = (flight[j + 1] << 16) | (flight[j + 2] << 8) | flight[j + 3];
        if (j + 4 + msgLen > end) break;
        if (flight[j] === NEW_SESSION_TICKET && msgLen >= 6) {
          const ticketLen = flight.readUInt16BE(j + 8);
          if (ticketLen === 0 || 10 + ticketLen > 4 + msgLen) return undefined;
          return createHash('sha256').update(flight.subarray(j + 10, j + 10 + ticketLen)).digest();
        }
        j += 4 + msgLen;
      }
    }
    i = end;
  }
  return undefined;
}
