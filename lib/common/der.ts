// The package's one DER reader and writer (definite lengths only), for SSL_SESSION
// encodings: `SEQUENCE { INTEGER version, INTEGER ssl_version, OCTET STRING cipher,
// OCTET STRING session_id, OCTET STRING master_key, [0] … [n] }`. Used by the probe that
// explains sessions of a newer OpenSSL, the 1.1/3.x ↔ 1.0.2 rewriting (lib/openssl), the
// test helpers and the scripts' session editing (from dist/common/der.js). No addon: the
// limits below are 1.0.2's (test/98 checks them against the addon's constants).

/** 1.0.2's field limits: `SSL_MAX_SSL_SESSION_ID_LENGTH`, `SSL_MAX_SID_CTX_LENGTH`, `SSL_MAX_MASTER_KEY_LENGTH` */
export const DER_LIMITS = Object.freeze({ sessionId: 32, sidContext: 32, masterKey: 48 } as const);

/** the identifier octet of a SEQUENCE, an INTEGER, an OCTET STRING; of [n] EXPLICIT is 0xa0 + n */
export const DerTag = Object.freeze({ INTEGER: 0x02, OCTET_STRING: 0x04, SEQUENCE: 0x30, CONTEXT: 0x80, CONTEXT_CONSTRUCTED: 0xa0 } as const);

export interface Tlv {
  /** the identifier octet (the first byte) */
  readonly tag: number;
  /** the tag's class bits (0x00 universal, 0x80 context, …) */
  readonly cls: number;
  /** the tag number (multi-byte tags decoded) */
  readonly number: number;
  /** offsets in the buffer read: the TLV's first byte, its content's first byte, its end */
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
  /** header bytes (tag and length) and content bytes */
  readonly header: number;
  readonly len: number;
  /** header + len */
  readonly total: number;
  /** the content octets */
  readonly value: Buffer;
  /** the whole encoding */
  readonly raw: Buffer;
}

/** One TLV at `off` (inside `limit`), or why it is not one: 'truncated', 'tag too long', 'unsupported length'. */
export function decodeTlv(buf: Buffer, off = 0, limit = buf.length): Tlv | string {
  if (off + 2 > limit) return 'truncated';
  const first = buf[off];
  let p = off + 1;
  let number = first & 0x1f;
  if (number === 0x1f) {
    number = 0;
    for (let i = 0; ; i++) {
      if (p >= limit) return 'truncated';
      if (i > 3) return 'tag too long';
      const b = buf[p++];
      number = number * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (p >= limit) return 'truncated';
  let len = buf[p++];
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) return 'unsupported length';
    if (p + n > limit) return 'truncated length';
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
  }
  const end = p + len;
  if (end > limit) return 'truncated value';
  return { tag: first, cls: first & 0xc0, number, start: off, valueStart: p, end, header: p - off, len, total: end - off, value: buf.subarray(p, end), raw: buf.subarray(off, end) };
}

/** One TLV at `off`, or undefined when the bytes there are not one. */
export function tryReadTlv(buf: Buffer, off = 0, limit = buf.length): Tlv | undefined {
  const t = decodeTlv(buf, off, limit);
  return typeof t === 'string' ? undefined : t;
}

/** One TLV at `off`; a RangeError when the bytes there are not one. */
export function readTlv(buf: Buffer, off = 0, limit = buf.length): Tlv {
  const t = decodeTlv(buf, off, limit);
  if (typeof t === 'string') throw new RangeError(`not DER: ${t} at offset ${off}`);
  return t;
}

/** The TLVs one after another in `value` (a SEQUENCE's content); RangeError when one is not a TLV. */
export function children(value: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let off = 0; off < value.length; ) {
    const t = readTlv(value, off);
    out.push(t);
    off = t.end;
  }
  return out;
}

/** The value of a non-negative INTEGER's content octets (the small numbers of a session). */
export function unsignedValue(value: Buffer): number {
  let n = 0;
  for (const b of value) n = n * 256 + b;
  return n;
}

/** A DER length. */
export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A TLV of `tag` around `value`. */
export function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(value.length), value]);
}

/** A SEQUENCE of the encoded `parts`. */
export function sequence(parts: readonly Buffer[]): Buffer {
  return tlv(DerTag.SEQUENCE, Buffer.concat(parts));
}

export const octets = (b: Buffer): Buffer => tlv(DerTag.OCTET_STRING, b);

/** [n] EXPLICIT around an encoded value */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(DerTag.CONTEXT_CONSTRUCTED + n, inner);

/** A DER INTEGER (two's complement, minimal) of a number or BigInt, negative ones too. */
export function integer(value: number | bigint): Buffer {
  let n = BigInt(value);
  const bytes: number[] = [];
  if (n >= 0n) {
    do {
      bytes.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n > 0n);
    if (bytes[0] & 0x80) bytes.unshift(0);
  } else {
    do {
      bytes.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n < -1n || (n === -1n && !(bytes[0] & 0x80)));
  }
  return tlv(DerTag.INTEGER, Buffer.from(bytes));
}
