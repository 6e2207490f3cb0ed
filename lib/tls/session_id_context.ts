// The default session id context of a server made by createServer: OpenSSL resumes a
// session only on a context whose sid_ctx equals the one the session was made under, so
// the sid_ctx is what keeps two applications that share a session store from resuming
// each other's sessions. It is derived from everything that decides whether a client is
// accepted — the trust (`ca`, `crl`), `requestCert`, `rejectUnauthorized` — and from the
// server's own certificate (`cert`, `pfx`): servers that would accept the same clients as
// the same server share it, any other policy gets another value. It depends on nothing
// else (not the process, host or start time), so every process of one application in a
// fleet computes the same 32 bytes. An explicit `sessionIdContext` replaces it.
import { createHash } from 'crypto';

/** what the default depends on (options of createServer; the rest are ignored) */
export interface SessionIdContextPolicy {
  cert?: unknown;
  pfx?: unknown;
  ca?: unknown;
  crl?: unknown;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
}

/** SHA-256 of a length-prefixed encoding of the policy: 32 bytes, SSL_MAX_SID_CTX_LENGTH */
export function defaultSessionIdContext(o: SessionIdContextPolicy): Buffer {
  const h = createHash('sha256');
  h.update('openssl-session-cache sid_ctx v1\0');
  const field = (name: string, value: unknown) => {
    const parts = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
    h.update(`${name}:${parts.length}\0`);
    for (const p of parts) {
      const b = Buffer.isBuffer(p) || p instanceof Uint8Array ? Buffer.from(p) : Buffer.from(String(p), 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      h.update(len);
      h.update(b);
    }
  };
  field('cert', o.cert);
  field('pfx', o.pfx);
  field('ca', o.ca);
  field('crl', o.crl);
  const requestCert = o.requestCert === true;
  h.update(`requestCert:${requestCert}\0`);
  // rejectUnauthorized decides only when a certificate is asked for
  h.update(`rejectUnauthorized:${requestCert && o.rejectUnauthorized !== false}\0`);
  return h.digest();
}
