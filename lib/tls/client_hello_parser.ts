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
  /** the server_name extension's host name, when the parser was asked for extensions */
  servername?: string;
  /** the ALPN protocol names offered (the extension is there), when asked for extensions */
  alpn?: Buffer[];
  /** the supported_versions extension's versions (TLS 1.3 clients send it), when asked for extensions */
  supportedVersions?: number[];
  /** the hello's client_version (the highest the client speaks without supported_versions), when asked for extensions */
  version?: number;
}

export interface ClientHelloParserOptions {
  /** read the whole ClientHello, extensions included (for SNI), not only up to the id */
  extensions?: boolean;
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
  readonly #extensions: boolean;

  constructor(options?: ClientHelloParserOptions) {
    this.#extensions = options?.extensions === true;
  }

  /** Adds bytes from the socket; returns the result once known, else undefined. */
  push(chunk: Buffer): ClientHelloInfo | undefined {
    if (this.#result) return this.#result;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [all];
    this.#result = parse(all, this.#extensions);
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
function parse(b: Buffer, extensions: boolean): ClientHelloInfo | undefined {
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
    const r = parseHandshake(hs, extensions);
    if (r) return r;
    if (available < end) return undefined; // the rest of this record has not arrived
    off = end;
  }
}

// the ClientHello: type(1) length(3) version(2) random(32) id_len(1) id, then (when
// buffered, or always with `extensions`) cipher suites, compression methods, extensions
function parseHandshake(h: Buffer, extensions: boolean): ClientHelloInfo | undefined {
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
  const info: ClientHelloInfo = {
    sessionId: idLength === 0 ? undefined : Buffer.from(h.subarray(start, start + idLength)),
    kind: 'tls',
  };
  const end = 4 + msgLength;
  if (!extensions) {
    // decided as soon as the id is known; the session_ticket extension is reported when the
    // rest of the hello is already at hand (a client sends its hello in one write), and left
    // unknown otherwise (the server then looks the id up anyway, which is harmless)
    if (h.length >= end && helloExtensions(h.subarray(start + idLength, end), false).ticket) info.ticket = true;
    return info;
  }
  if (h.length < end) return undefined;
  const ext = helloExtensions(h.subarray(start + idLength, end), true);
  if (ext.ticket) info.ticket = true;
  if (ext.servername !== undefined) info.servername = ext.servername;
  info.version = h.readUInt16BE(4);
  if (ext.alpn !== undefined) info.alpn = ext.alpn;
  if (ext.supportedVersions !== undefined) info.supportedVersions = ext.supportedVersions;
  return info;
}

const EXTENSION_SERVER_NAME = 0;
const EXTENSION_SESSION_TICKET = 35;
const EXTENSION_ALPN = 16;
const EXTENSION_SUPPORTED_VERSIONS = 43;

// after the session id: cipher suites, compression methods, extensions; whether a non-empty
// session_ticket is there, and (`servername`) the host_name of server_name (undefined when
// absent or malformed). Without `servername` no extension is copied or decoded: this runs on
// every ClientHello of a server with a store, and the name is only wanted for SNI.
function helloExtensions(m: Buffer, servername: boolean): { ticket: boolean; servername?: string; alpn?: Buffer[]; supportedVersions?: number[] } {
  const out: { ticket: boolean; servername?: string; alpn?: Buffer[]; supportedVersions?: number[] } = { ticket: false };
  let off = 0;
  if (m.length < off + 2) return out;
  off += 2 + m.readUInt16BE(off);
  if (m.length < off + 1) return out;
  off += 1 + m[off];
  if (m.length < off + 2) return out;
  const end = Math.min(m.length, off + 2 + m.readUInt16BE(off));
  off += 2;
  while (off + 4 <= end) {
    const type = m.readUInt16BE(off);
    const len = m.readUInt16BE(off + 2);
    if (type === EXTENSION_SESSION_TICKET) out.ticket = len > 0;
    else if (type === EXTENSION_SERVER_NAME && servername) out.servername = hostName(m.subarray(off + 4, Math.min(end, off + 4 + len)));
    else if (type === EXTENSION_ALPN && servername) out.alpn = protocolNames(m.subarray(off + 4, Math.min(end, off + 4 + len)));
    else if (type === EXTENSION_SUPPORTED_VERSIONS && servername) out.supportedVersions = versions(m.subarray(off + 4, Math.min(end, off + 4 + len)));
    off += 4 + len;
  }
  return out;
}

// server_name: list length(2), name type(1) = host_name(0), name length(2), name
function hostName(data: Buffer): string | undefined {
  if (data.length < 5 || data[2] !== 0) return undefined;
  const n = data.readUInt16BE(3);
  if (n === 0 || 5 + n > data.length) return undefined;
  const name = data.subarray(5, 5 + n).toString('latin1');
  return /^[\x21-\x7e]+$/.test(name) ? name.toLowerCase() : undefined;
}

// ALPN: list length(2), then length-prefixed names
function protocolNames(data: Buffer): Buffer[] {
  const names: Buffer[] = [];
  if (data.length < 2) return names;
  const end = Math.min(data.length, 2 + data.readUInt16BE(0));
  for (let off = 2; off < end && off + 1 + data[off] <= end; off += 1 + data[off]) names.push(data.subarray(off + 1, off + 1 + data[off]));
  return names;
}

// supported_versions (client): list length(1), then 2-byte versions
function versions(data: Buffer): number[] {
  const out: number[] = [];
  if (data.length < 1) return out;
  const end = Math.min(data.length, 1 + data[0]);
  for (let off = 1; off + 2 <= end; off += 2) out.push(data.readUInt16BE(off));
  return out;
}

// SSLv2-compatible hello: 1.0.2 converts it with "no session-id reuse" (s23_srvr.c)
function parseSSLv2(b: Buffer): ClientHelloInfo | undefined {
  if (b.length < 3) return undefined;
  const len = ((b[0] & 0x7f) << 8) | b[1];
  if (len < 9 || b[2] !== 1) return invalid();
  return { sessionId: undefined, kind: 'sslv2' };
}
