// The peer's certificate as node:tls shows it (getPeerCertificate), translated from what
// the OpenSSL layer reads, and node:tls's peer verification rules over it.
import { certificateError, noPeerCertificateError } from './cert_errors';
import { toError } from '../common/to_error';
import type { PeerCertificateFields, TlsQuerySource } from '../openssl/tls_connection';

/** What getPeerCertificate() returns (the node:tls shape, main fields). */
export interface PeerCertificate {
  subject: Record<string, string>;
  issuer: Record<string, string>;
  valid_from: string;
  valid_to: string;
  serialNumber?: string;
  fingerprint: string;
  fingerprint256: string;
  raw?: Buffer;
  subjectaltname?: string;
  /** getPeerCertificate(true): the issuer's certificate (itself for a self-signed one) */
  issuerCertificate?: PeerCertificate;
}

/** node:tls's checkServerIdentity shape: an Error when `cert` is not valid for `host` */
export type CheckServerIdentity = (host: string, cert: PeerCertificate) => Error | undefined;

/**
 * The peer's certificate (node:tls shape), {} when none. detailed: each certificate
 * carries its issuer's as issuerCertificate, from the chain the peer sent (a self-signed
 * certificate is its own issuer, as in node:tls).
 */
export function peerCertificate(conn: TlsQuerySource, detailed?: boolean): PeerCertificate | Record<string, never> {
  const raw = conn.query('peerCertificate');
  if (!raw) return {};
  const leaf = certificateObject(raw);
  if (detailed !== true) return leaf;
  const chain = [leaf, ...(conn.query('peerCertificateChain') ?? []).map(certificateObject)];
  for (const c of chain) {
    if (c.issuerCertificate) continue;
    const issuer = chain.find((x) => x !== c && sameName(x.subject, c.issuer) && x.fingerprint256 !== c.fingerprint256);
    if (issuer) c.issuerCertificate = issuer;
    else if (sameName(c.subject, c.issuer)) c.issuerCertificate = c;
  }
  return leaf;
}

/** who checks what: a TLSSocket's verification settings */
export interface PeerVerification {
  isServer: boolean;
  requestCert: boolean;
  checkServerIdentity: CheckServerIdentity | undefined;
  /** the name the client checks the certificate against (verifyHost, else the servername) */
  host: string | undefined;
}

/**
 * node:tls's rules: a client always checks the server's chain, then its identity (on every
 * connection: a resumed session keeps the first connection's verify result, which says
 * nothing about the name asked for now); a server only when it asked (requestCert).
 * Returns the reason the peer is not authorized, undefined when it is.
 */
export function verifyPeer(conn: TlsQuerySource, v: PeerVerification): Error | undefined {
  if (v.isServer && !v.requestCert) return undefined;
  const cert = conn.query('peerCertificate');
  if (!cert) return noPeerCertificateError();
  const result = conn.query('verifyResult') ?? 0;
  if (result !== 0) return certificateError(result);
  if (v.isServer || !v.checkServerIdentity) return undefined;
  if (v.host === undefined) return undefined;
  try {
    return v.checkServerIdentity(v.host, peerCertificate(conn, true) as PeerCertificate) ?? undefined;
  } catch (e) {
    return toError(e);
  }
}

/** node:tls's shape of a certificate OpenSSL read (names as objects) */
export function certificateObject(raw: PeerCertificateFields): PeerCertificate {
  const obj = (pairs: readonly [string, string][]) => {
    const o: Record<string, string> = {};
    for (const [k, v] of pairs) o[k] = k in o ? `${o[k]}\n${v}` : v;
    return o;
  };
  return { ...raw, subject: obj(raw.subject), issuer: obj(raw.issuer) };
}

function sameName(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
