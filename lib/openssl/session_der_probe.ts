// Why d2i_SSL_SESSION refused a session: looks at the bytes after OpenSSL 1.0.2 failed to
// parse them, for the two things a user most likely handed over:
//  - DER written by OpenSSL 1.1.x / 3.x (`openssl s_client -sess_out`, SSL_SESSION_to_DER,
//    Node's tls): the outer SEQUENCE carries context-tagged fields [13] and above (flags,
//    TLS 1.3 ticket data, ALPN, the key-exchange group…) that 1.0.2 does not know, and maybe
//    protocol 0x0304 (TLS 1.3);
//  - Node's `tls` `socket.getSession()` of Node 22 and later: a header
//    ("\0nodejs:tls:session:…") before that DER.
// docs/api.md "Sessions from a newer OpenSSL" says what to do about it.
import { DerTag, tryReadTlv, unsignedValue } from '../common/der';

/** where the error message points */
export const NEWER_OPENSSL_DOCS = 'docs/api.md#sessions-from-a-newer-openssl';

/** the highest context tag 1.0.2's SSL_SESSION knows ([12] srp username) */
const LAST_102_TAG = 12;
const NODE_HEADER = Buffer.from('\0nodejs:tls:session:', 'latin1');

/** what newer OpenSSL fields are called, by context tag */
const FIELD_NAMES: Record<number, string> = {
  13: 'flags',
  14: 'ticket age add',
  15: 'max early data',
  16: 'ALPN',
  17: 'max fragment length',
  18: 'ticket app data',
  19: 'key exchange group',
};

/** the DER inside Node's getSession() header, if `buf` has that header */
function unwrapNodeSession(buf: Buffer): Buffer | undefined {
  if (buf.length < NODE_HEADER.length || !buf.subarray(0, NODE_HEADER.length).equals(NODE_HEADER)) return undefined;
  // the DER is the SEQUENCE that runs exactly to the end of the buffer
  for (let off = NODE_HEADER.length; off < buf.length; off++) {
    if (buf[off] !== 0x30) continue;
    const t = tryReadTlv(buf, off);
    if (t && t.end === buf.length) return buf.subarray(off);
  }
  return undefined;
}

/**
 * A sentence saying why 1.0.2 cannot read `buf` when it looks like a session from a newer
 * OpenSSL (or Node's wrapper around one); undefined otherwise.
 */
export function explainNewerSession(buf: Buffer): string | undefined {
  const inner = unwrapNodeSession(buf);
  const der = inner ?? buf;
  const reasons: string[] = [];
  if (inner !== undefined) reasons.push(`this is Node's tls getSession() format (a "nodejs:tls:session" header before the DER)`);
  const top = tryReadTlv(der);
  if (top && top.tag === DerTag.SEQUENCE) {
    const newer: number[] = [];
    let protocol: number | undefined;
    for (let off = top.valueStart, index = 0; off < top.end; index++) {
      const t = tryReadTlv(der, off, top.end);
      if (!t) break;
      // the second field is ssl_version, an INTEGER
      if (index === 1 && t.cls === 0 && t.number === DerTag.INTEGER && t.len <= 2) {
        protocol = unsignedValue(t.value);
      }
      if (t.cls === DerTag.CONTEXT && t.number > LAST_102_TAG) newer.push(t.number);
      off = t.end;
    }
    if (newer.length > 0) {
      const names = newer.map((n) => `[${n}]${FIELD_NAMES[n] ? ` ${FIELD_NAMES[n]}` : ''}`).join(', ');
      reasons.push(`the session was written by a newer OpenSSL (1.1 or 3): it has field${newer.length > 1 ? 's' : ''} ${names}, unknown to OpenSSL 1.0.2`);
    }
    if (protocol === 0x0304) {
      reasons.push(`it is a TLS 1.3 session${newer.length > 0 ? '' : ', written by a newer OpenSSL (1.1 or 3)'}, a protocol 1.0.2 does not speak`);
    }
  }
  return reasons.length === 0 ? undefined : `${reasons.join('; ')}. See ${NEWER_OPENSSL_DOCS}`;
}

/** the DER of a PEM "SSL SESSION PARAMETERS" block, if `pem` holds one */
export function pemSessionBody(pem: string | Buffer): Buffer | undefined {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  const m = /-----BEGIN SSL SESSION PARAMETERS-----([\s\S]*?)-----END SSL SESSION PARAMETERS-----/.exec(text);
  return m ? Buffer.from(m[1].replace(/\s+/g, ''), 'base64') : undefined;
}
