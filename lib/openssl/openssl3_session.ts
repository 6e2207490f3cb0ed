/**
 * DER rewriting between the `SSL_SESSION` encodings of OpenSSL 1.1.1/3.x and 1.0.2
 * (both: `SEQUENCE { version 1, ssl_version, cipher, session_id, master_key, [0] … [n] }`,
 * context-tagged fields optional).
 *
 * 1.1.1/3.x → 1.0.2 (`toOpenSSL102`): 1.0.2's `d2i_SSL_SESSION` reads the tags [0]–[12]
 * in ascending order and fails on anything after them, so the fields it has no place for
 * are dropped: [13] flags, [14] ticket age add, [15] max early data, [16] ALPN, [17] max
 * fragment length, [18] ticket app data, [19] key-exchange group, [20] raw public key.
 * Refused (RangeError with `code`): TLS 1.3 sessions (`ERR_SESSION_TLS13`: 1.0.2 has no
 * TLS 1.3 — no resumption PSK, no HKDF schedule), and sessions whose flags say the
 * extended master secret was used (`ERR_SESSION_EXTMS`: 1.0.2 does not implement RFC
 * 7627, and a compliant client refuses to resume such a session without it). Anything
 * that is not this DER shape: `ERR_SESSION_DER`.
 *
 * 1.0.2 → 1.1.1/3.x (`toOpenSSL3`): exact. The later `d2i` is an ASN.1 template that
 * wants the context tags in ascending order, while 1.0.2's `i2d` writes [9] and [10]
 * (ticket lifetime, ticket) before [6] (host name); the fields are reordered, nothing else
 * changes (1.0.2 never uses the extended master secret, so the absent flags are right).
 * A Kerberos principal (an untagged field 1.0.2 may write after the master key, with no
 * place in the later format) is refused.
 */

import { codedError, ErrorCode, ErrorCodeValue } from '../common/coded_error';
import { decodeTlv, DerTag, sequence, Tlv, unsignedValue } from '../common/der';

const TLS1_3_VERSION = 0x0304;
/** SSL_SESS_FLAG_EXTMS (ssl_local.h of 1.1.0+): the session used the extended master secret */
const SSL_SESS_FLAG_EXTMS = 0x1;
/** the highest context tag 1.0.2's d2i_SSL_SESSION reads */
const LAST_102_TAG = 12;

function refuse(code: ErrorCodeValue, message: string): never {
  throw codedError(code, message, RangeError);
}

function malformed(why: string): never {
  refuse(ErrorCode.SESSION_DER, `not an SSL_SESSION DER encoding: ${why}`);
}

/** One DER TLV at `offset` (single-byte tags, definite lengths). */
function readTlv(buf: Buffer, offset: number): Tlv {
  const t = decodeTlv(buf, offset);
  if (typeof t === 'string') malformed(t);
  if ((t.tag & 0x1f) === 0x1f) malformed('multi-byte tag');
  return t;
}

function readAll(buf: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = 0; offset < buf.length; ) {
    const t = readTlv(buf, offset);
    out.push(t);
    offset = t.end;
  }
  return out;
}

interface Parsed {
  /** version, ssl_version, cipher, session_id, master_key */
  head: Tlv[];
  /** untagged fields after the master key (1.0.2's Kerberos principal) */
  extra: Tlv[];
  /** context-tagged fields by tag number */
  tagged: Map<number, Tlv>;
  sslVersion: number;
}

function parse(der: Buffer): Parsed {
  const outer = readTlv(der, 0);
  if (outer.tag !== DerTag.SEQUENCE) malformed('not a SEQUENCE');
  if (outer.raw.length !== der.length) malformed('trailing bytes');
  const fields = readAll(outer.value);
  const head = fields.slice(0, 5);
  if (head.length < 5) malformed('fewer than five leading fields');
  const [version, sslVersion, cipher, id, master] = head;
  if (version.tag !== DerTag.INTEGER || unsignedValue(version.value) !== 1) malformed('version is not 1');
  if (sslVersion.tag !== DerTag.INTEGER) malformed('ssl_version is not an INTEGER');
  for (const f of [cipher, id, master]) if (f.tag !== DerTag.OCTET_STRING) malformed('cipher, session id and master key must be OCTET STRINGs');
  const extra: Tlv[] = [];
  const tagged = new Map<number, Tlv>();
  for (const f of fields.slice(5)) {
    if ((f.tag & 0xc0) === 0x80) {
      const n = f.tag & 0x1f;
      if (tagged.has(n)) malformed(`field [${n}] twice`);
      tagged.set(n, f);
    } else if (tagged.size === 0) extra.push(f);
    else malformed('an untagged field after the tagged ones');
  }
  return { head, extra, tagged, sslVersion: unsignedValue(sslVersion.value) };
}

/** The INTEGER inside an EXPLICIT [n] field. */
function explicitInteger(f: Tlv): number {
  const inner = readTlv(f.value, 0);
  if (inner.tag !== DerTag.INTEGER) malformed(`field [${f.tag & 0x1f}] is not an INTEGER`);
  return unsignedValue(inner.value);
}

/** A 1.1.1/3.x session's DER as 1.0.2 reads it (see the module comment). */
export function toOpenSSL102(der: Buffer): Buffer {
  const p = parse(der);
  if (p.sslVersion === TLS1_3_VERSION) {
    refuse(ErrorCode.SESSION_TLS13, 'this is a TLS 1.3 session: OpenSSL 1.0.2 has no TLS 1.3 and cannot import or resume it');
  }
  if (p.extra.length > 0) malformed('an untagged field after the master key');
  const flags = p.tagged.get(13);
  if (flags !== undefined && explicitInteger(flags) & SSL_SESS_FLAG_EXTMS) {
    refuse(
      ErrorCode.SESSION_EXTMS,
      'this session used the extended master secret (RFC 7627), which OpenSSL 1.0.2 does not implement; ' +
        'a compliant client would refuse to resume it without',
    );
  }
  const kept = [...p.tagged.entries()].filter(([n]) => n <= LAST_102_TAG).sort((a, b) => a[0] - b[0]);
  return sequence([...p.head.map((f) => f.raw), ...kept.map(([, f]) => f.raw)]);
}

/** A 1.0.2 session's DER as 1.1.1/3.x read it (see the module comment). */
export function toOpenSSL3(der: Buffer): Buffer {
  const p = parse(der);
  if (p.extra.length > 0) refuse(ErrorCode.SESSION_DER, 'this session has a Kerberos principal, which OpenSSL 1.1.1/3.x sessions cannot carry');
  const ordered = [...p.tagged.entries()].sort((a, b) => a[0] - b[0]);
  return sequence([...p.head.map((f) => f.raw), ...ordered.map(([, f]) => f.raw)]);
}

