// A bounded parser that reads the session id of a TLS ClientHello before OpenSSL sees it,
// so a server can fetch that session from an external store first. It never throws:
// anything it does not understand is "no session".

/** What the parser learned once it has seen enough bytes. */
export interface ClientHelloInfo {
  /** the legacy session id the client offers; undefined when it offers none */
  sessionId: Buffer | undefined;
  /** how the hello was framed */
  kind: 'tls' | 'sslv2' | 'invalid';
  /** true: the hello carries a non-empty session_ticket extension (RFC 5077), and a server
   * with tickets on resumes from the ticket or not at all, never from the session id.
   * Absent: no ticket, or not known (the rest of the hello had not arrived with the id) */
  ticket?: true;
}

const RECORD_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const MAX_RECORD = 16384 + 2048; // 2^14 plus the largest expansion a peer may use
/** stop buffering after this many bytes (a ClientHello's id sits in its first 39+32) */
export const CLIENT_HELLO_PARSE_LIMIT = 64 * 1024;

export class ClientHelloParser {
  #chunks: Buffer[] = [];
  #length = 0;
  #result: ClientHelloInfo | undefined;

  /** Adds bytes from the socket; returns the result once known, else undefined. */
  push(chunk: Buffer): ClientHelloInfo | undefined {
    if (this.#result) return this.#result;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [all];
    this.#result = parse(all);
    if (!this.#result && this.#length >= CLIENT_HELLO_PARSE_LIMIT) this.#result = { sessionId: undefined, kind: 'invalid' };
    return this.#result;
  }

  /** Everything pushed so far, to hand to OpenSSL unchanged. */
  buffered(): Buffer {
    return this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#length);
  }
}

function invalid(): ClientHelloInfo {
  return { sessionId: undefined, kind: 'invalid' };
}

// undefined = need more bytes
function parse(b: Buffer): ClientHelloInfo | undefined {
  if (b.length < 1) return undefined;
  if (b[0] & 0x80) return parseSSLv2(b);
  if (b[0] !== RECORD_HANDSHAKE) return invalid();
  // reassemble the handshake message from consecutive handshake records
  const body: Buffer[] = [];
  let bodyLength = 0;
  let off = 0;
  for (;;) {
    if (b.length < off + 5) return undefined;
    if (b[off] !== RECORD_HANDSHAKE || b[off + 1] !== 3) return invalid();
    const len = b.readUInt16BE(off + 3);
    if (len === 0 || len > MAX_RECORD) return invalid();
    const end = off + 5 + len;
    const available = Math.min(end, b.length);
    body.push(b.subarray(off + 5, available));
    bodyLength += available - (off + 5);
    const hs = body.length === 1 ? body[0] : Buffer.concat(body, bodyLength);
    const r = parseHandshake(hs);
    if (r) return r;
    if (available < end) return undefined; // the rest of this record has not arrived
    off = end;
  }
}

// the ClientHello: type(1) length(3) version(2) random(32) id_len(1) id, then (when
// already buffered) cipher suites, compression methods, extensions (for session_ticket)
function parseHandshake(h: Buffer): ClientHelloInfo | undefined {
  if (h.length < 1) return undefined;
  if (h[0] !== HANDSHAKE_CLIENT_HELLO) return invalid();
  if (h.length < 4) return undefined;
  const msgLength = h.readUIntBE(1, 3);
  if (msgLength < 2 + 32 + 1) return invalid();
  if (h.length < 4 + 2 + 32 + 1) return undefined;
  if (h[4] !== 3) return invalid();
  const idLength = h[4 + 2 + 32];
  if (idLength > 32 || 2 + 32 + 1 + idLength > msgLength) return invalid();
  if (h.length < 4 + 2 + 32 + 1 + idLength) return undefined;
  const start = 4 + 2 + 32 + 1;
  const sessionId = idLength === 0 ? undefined : Buffer.from(h.subarray(start, start + idLength));
  // decided here, as soon as the id is known; the session_ticket extension is reported when
  // the rest of the hello is already at hand (a client sends its hello in one write), and
  // left unknown otherwise (the server then looks the id up anyway, which is harmless)
  const end = 4 + msgLength;
  if (h.length >= end && hasTicket(h, start + idLength, end)) return { sessionId, kind: 'tls', ticket: true };
  return { sessionId, kind: 'tls' };
}

const EXTENSION_SESSION_TICKET = 35;

function hasTicket(h: Buffer, off: number, end: number): boolean {
  if (off + 2 > end) return false;
  off += 2 + h.readUInt16BE(off); // cipher suites
  if (off + 1 > end) return false;
  off += 1 + h[off]; // compression methods
  if (off + 2 > end) return false;
  const extEnd = Math.min(end, off + 2 + h.readUInt16BE(off));
  off += 2;
  while (off + 4 <= extEnd) {
    const type = h.readUInt16BE(off);
    const len = h.readUInt16BE(off + 2);
    if (type === EXTENSION_SESSION_TICKET) return len > 0;
    off += 4 + len;
  }
  return false;
}

// SSLv2-compatible hello: 1.0.2 converts it with "no session-id reuse" (s23_srvr.c)
function parseSSLv2(b: Buffer): ClientHelloInfo | undefined {
  if (b.length < 3) return undefined;
  const len = ((b[0] & 0x7f) << 8) | b[1];
  if (len < 9 || b[2] !== 1) return invalid();
  return { sessionId: undefined, kind: 'sslv2' };
}
