// ALPNProtocols as node:tls takes them (an array of strings, Buffers or Uint8Arrays, or one
// Buffer already in wire format) → the wire format OpenSSL wants: length-prefixed names.
export type AlpnProtocols = readonly (string | Uint8Array)[] | Uint8Array;

export function alpnWire(v: unknown, what: string): Buffer | undefined {
  if (v === undefined) return undefined;
  if (v instanceof Uint8Array && !Array.isArray(v)) {
    const b = Buffer.from(v);
    // validate the framing: every name 1..255 bytes, nothing left over
    let off = 0;
    while (off < b.length) {
      if (b[off] === 0) throw new RangeError(`${what} has an empty protocol name`);
      off += 1 + b[off];
    }
    if (off !== b.length || b.length === 0) throw new RangeError(`${what} is not in ALPN wire format`);
    return b;
  }
  if (!Array.isArray(v)) throw new TypeError(`${what} must be an array of strings or Buffers, or a Buffer`);
  if (v.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const [i, p] of v.entries()) {
    let b: Buffer;
    if (typeof p === 'string') b = Buffer.from(p, 'utf8');
    else if (p instanceof Uint8Array) b = Buffer.from(p);
    else throw new TypeError(`${what}[${i}] must be a string or Buffer`);
    if (b.length < 1 || b.length > 255) throw new RangeError(`${what}[${i}] must be 1 to 255 bytes`);
    parts.push(Buffer.from([b.length]), b);
  }
  return Buffer.concat(parts);
}
