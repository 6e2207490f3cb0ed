'use strict';
// Editing real SSL_SESSION DER (as i2d_SSL_SESSION of 1.0.2 writes it) field by field, for
// the tests and fuzz families that need sessions no handshake makes: an empty or oversized
// id, a ticket without an id, extreme times. Definite-length DER only.
//
//   SEQUENCE { INTEGER version, INTEGER ssl_version, OCTET STRING cipher,
//              OCTET STRING session_id, OCTET STRING master_key, [0] key_arg OPTIONAL,
//              [1] EXPLICIT INTEGER time, [2] EXPLICIT INTEGER timeout, [3] peer, ...,
//              [10] EXPLICIT OCTET STRING ticket, ... }

// The reading and encoding are the package's own (lib/common/der.ts, from dist/).
const der = require('./load').load('common/der.js');

const readTlv = (buf, off) => {
  const t = der.readTlv(buf, off);
  return { tag: t.tag, bytes: t.raw, value: t.value };
};
const tlv = der.tlv;
const integer = der.integer;

/** the top-level fields of a session's DER: [{ tag, bytes, value }] */
function fields(session) {
  return der.children(der.readTlv(session, 0).value).map((t) => ({ tag: t.tag, bytes: t.raw, value: t.value }));
}

function build(list) {
  return der.sequence(list.map((f) => f.bytes));
}

const wrap = (bytes) => ({ tag: bytes[0], bytes, value: readTlv(bytes, 0).value });

/** the same session with session_id replaced (any length, also 0 or more than 32) */
function withId(der, id) {
  const f = fields(der);
  f[3] = wrap(tlv(0x04, id));
  return build(f);
}

/** the same session with master_key replaced */
function withMasterKey(der, key) {
  const f = fields(der);
  f[4] = wrap(tlv(0x04, key));
  return build(f);
}

/** the same session with [1] time and/or [2] timeout set (BigInt or number) */
function withTimes(der, { time, timeout } = {}) {
  let f = fields(der);
  const set = (tagNo, v) => {
    if (v === undefined) return;
    const t = wrap(tlv(0xa0 + tagNo, integer(v)));
    const i = f.findIndex((x) => x.tag === 0xa0 + tagNo);
    if (i >= 0) f[i] = t;
    else {
      // keep the context tags in order
      const at = f.findIndex((x, k) => k >= 5 && x.tag > 0xa0 + tagNo && x.tag >= 0xa0);
      f = at < 0 ? [...f, t] : [...f.slice(0, at), t, ...f.slice(at)];
    }
  };
  set(1, time);
  set(2, timeout);
  return build(f);
}

/** the ticket ([10]) of the session, or undefined */
function ticket(der) {
  const t = fields(der).find((x) => x.tag === 0xaa);
  return t ? readTlv(t.value, 0).value : undefined;
}

/** the same session with a [10] ticket (replacing any) */
function withTicket(der, tick) {
  const f = fields(der).filter((x) => x.tag !== 0xaa);
  const t = wrap(tlv(0xaa, tlv(0x04, tick)));
  const at = f.findIndex((x, k) => k >= 5 && x.tag > 0xaa);
  return build(at < 0 ? [...f, t] : [...f.slice(0, at), t, ...f.slice(at)]);
}

module.exports = { fields, withId, withMasterKey, withTimes, ticket, withTicket, integer, tlv };

/** the same session with context field [n] EXPLICIT OCTET STRING set to `value` (psk identity [8], srp user [12], ...) */
function withOctets(der, n, value) {
  const f = fields(der).filter((x) => x.tag !== 0xa0 + n);
  const t = wrap(tlv(0xa0 + n, tlv(0x04, value)));
  const at = f.findIndex((x, k) => k >= 5 && x.tag > 0xa0 + n);
  return build(at < 0 ? [...f, t] : [...f.slice(0, at), t, ...f.slice(at)]);
}
module.exports.withOctets = withOctets;
