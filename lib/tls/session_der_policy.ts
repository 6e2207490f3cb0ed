// What a server accepts from a session store before OpenSSL sees it: the session must be
// for this server's session id context (1.0.2 would refuse to resume it anyway, but it would
// sit in the local cache as a hit), and its lifetime is capped at the server's own
// sessionTimeout whatever the store wrote: `time` no later than now, `timeout` no longer
// than sessionTimeout. Only the outer SEQUENCE of OpenSSL 1.0.2's SSL_SESSION encoding is
// walked ([1] time, [2] timeout, [4] session id context, all EXPLICIT); every other field
// is copied as it is and left to OpenSSL's decoder.

interface Tlv {
  tag: number;
  start: number; // of the tag
  valueStart: number;
  end: number;
}

function readTlv(b: Buffer, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = b[at];
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tags: not in a 1.0.2 session
  let len = b[at + 1];
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) return undefined; // indefinite or absurd
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i];
    p += n;
  }
  if (p + len > limit) return undefined;
  return { tag, start: at, valueStart: p, end: p + len };
}

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Buffer.from([0x80 | out.length, ...out]);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(value.length), value]);
}

/** the non-negative INTEGER's value (undefined when negative or longer than 6 bytes) */
function integerValue(b: Buffer, t: Tlv): number | undefined {
  const inner = readTlv(b, t.valueStart, t.end);
  if (!inner || inner.tag !== 0x02 || inner.end !== t.end) return undefined;
  const v = b.subarray(inner.valueStart, inner.end);
  if (v.length === 0 || v.length > 7 || v[0] & 0x80) return undefined;
  let n = 0;
  for (const x of v) n = n * 256 + x;
  return n;
}

function integerTlv(n: number): Buffer {
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  if (out.length === 0 || out[0] & 0x80) out.unshift(0);
  return tlv(0x02, Buffer.from(out));
}

export type DerVerdict = { ok: true; der: Buffer } | { ok: false; why: 'otherContext' | 'unparsable' };

/**
 * `der` with its lifetime capped (a new Buffer when something changed), or why it is
 * refused. `sidCtx` undefined: the context is not checked. `nowSeconds`, `maxTimeout`: seconds.
 */
export function applySessionPolicy(der: Buffer, sidCtx: Buffer | undefined, nowSeconds: number, maxTimeout: number): DerVerdict {
  const outer = readTlv(der, 0, der.length);
  if (!outer || outer.tag !== 0x30 || outer.end !== der.length) return { ok: false, why: 'unparsable' };
  const parts: Buffer[] = [];
  let changed = false;
  let ctx: Buffer = Buffer.alloc(0);
  for (let p = outer.valueStart; p < outer.end; ) {
    const t = readTlv(der, p, outer.end);
    if (!t) return { ok: false, why: 'unparsable' };
    let part = der.subarray(t.start, t.end);
    if (t.tag === 0xa1 || t.tag === 0xa2) {
      const v = integerValue(der, t);
      if (v === undefined) return { ok: false, why: 'unparsable' };
      const capped = t.tag === 0xa1 ? Math.min(v, nowSeconds) : Math.min(v, maxTimeout);
      if (capped !== v) {
        part = tlv(t.tag, integerTlv(capped));
        changed = true;
      }
    } else if (t.tag === 0xa4) {
      const inner = readTlv(der, t.valueStart, t.end);
      if (!inner || inner.tag !== 0x04 || inner.end !== t.end) return { ok: false, why: 'unparsable' };
      ctx = der.subarray(inner.valueStart, inner.end);
    }
    parts.push(part);
    p = t.end;
  }
  if (sidCtx !== undefined && !ctx.equals(sidCtx)) return { ok: false, why: 'otherContext' };
  if (!changed) return { ok: true, der };
  return { ok: true, der: tlv(0x30, Buffer.concat(parts)) };
}
