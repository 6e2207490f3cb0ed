// node:tls's TLSSocket queries, one implementation for both connection paths: the TLSSocket
// of the node path (over its TlsConnection) and the NativeTlsSocket of the native path (over
// the native listener's connection, found by id) extend TlsSocketQueries and say only where
// their connection and their local address are. The answers come from native/ssl_queries.h,
// the same functions of an SSL* for both. Also here: the client-certificate policy of a
// server (verify mode, who is authorized) and the 'keylog' line, which both paths share.
import { Duplex } from 'stream';
import type { AddressInfo } from 'net';
import { codedError, ErrorCode } from '../common/coded_error';
import { SslVerify } from '../binding/constants';
import { querySession, querySessionDER, TlsQuerySource } from '../openssl/tls_connection';
import type { SslSession } from '../openssl/ssl_session';
import type { TlsProtocol } from '../binding/constants';
import { certificateObject, PeerCertificate, peerCertificate, verifyPeer } from './peer_certificate';

/** what a socket's queries read: its connection while it is open, and which side it is */
export interface TlsQueryState {
  readonly source: TlsQuerySource;
  /** the handshake finished (protocol, cipher, keying material are answered then only) */
  readonly secure: boolean;
  readonly isServer: boolean;
}

/** the socket's own end of the TCP connection */
export interface LocalEndpoint {
  readonly address?: string;
  readonly port?: number;
  readonly family?: string;
}

export const kTlsQueryState = Symbol('tlsQueryState');
export const kLocalEndpoint = Symbol('localEndpoint');

/** the largest exportKeyingMaterial() length (RFC 5705 allows more; nobody needs it) */
const MAX_KEYING_MATERIAL = 65536;

/** node:tls's ephemeral key shapes */
export type EphemeralKeyInfo = { type: 'ECDH'; name: string; size: number } | { type: 'DH'; size: number } | Record<string, never>;

/**
 * A Duplex with node:tls's TLSSocket queries. Subclasses answer [kTlsQueryState]() (their
 * connection while open, undefined once closed) and [kLocalEndpoint]().
 */
export abstract class TlsSocketQueries extends Duplex {
  /** @internal */
  protected abstract [kTlsQueryState](): TlsQueryState | undefined;
  /** @internal */
  protected abstract [kLocalEndpoint](): LocalEndpoint | undefined;

  #secure(): TlsQueryState | undefined {
    const s = this[kTlsQueryState]();
    return s?.secure ? s : undefined;
  }

  /**
   * The peer's certificate (node:tls shape), {} when none. detailed: each certificate
   * carries its issuer's as issuerCertificate, from the chain the peer sent (a
   * self-signed certificate is its own issuer, as in node:tls).
   */
  getPeerCertificate(detailed?: boolean): PeerCertificate | Record<string, never> {
    const s = this[kTlsQueryState]();
    return s ? peerCertificate(s.source, detailed) : {};
  }

  /** the certificate this side presented (node:tls shape), {} without one, null once closed */
  getCertificate(): PeerCertificate | Record<string, never> | null {
    const s = this[kTlsQueryState]();
    if (!s) return null;
    const raw = s.source.query('certificate');
    return raw ? certificateObject(raw) : {};
  }

  /** The negotiated session as DER (node:tls shape), or undefined. */
  getSession(): Buffer | undefined {
    const s = this[kTlsQueryState]();
    return s ? querySessionDER(s.source) : undefined;
  }

  /**
   * The negotiated session as an SslSession, or undefined: the thread's live SslSession of
   * that session when there is one (possibly shared: free() frees it for every holder),
   * else a new one with its own reference.
   */
  getSslSession(): SslSession | undefined {
    const s = this[kTlsQueryState]();
    return s ? querySession(s.source) : undefined;
  }

  isSessionReused(): boolean {
    return this[kTlsQueryState]()?.source.query('reused') ?? false;
  }

  /** 'TLSv1.2', ... or null before the handshake and once closed */
  getProtocol(): TlsProtocol | null {
    return (this.#secure()?.source.query('protocol') as TlsProtocol | undefined) ?? null;
  }

  /** node:tls's shape: OpenSSL name, IANA name, lowest protocol version of the suite */
  getCipher(): { name: string; standardName: string; version: string } | undefined {
    const details = this.#secure()?.source.query('cipher');
    if (!details) return undefined;
    const { name, standardName, version } = details;
    return { name, standardName: standardName || name, version: version === 'TLSv1' ? 'TLSv1.0' : version };
  }

  /**
   * node:tls: the ephemeral key of the key exchange, client side ({ type: 'ECDH', name,
   * size } or { type: 'DH', size }; {} without one); null on the server side.
   */
  getEphemeralKeyInfo(): EphemeralKeyInfo | null {
    const s = this.#secure();
    if (!s || s.isServer) return null;
    return (s.source.query('ephemeralKeyInfo') ?? {}) as EphemeralKeyInfo;
  }

  /** the session ticket (a client's, as node:tls), undefined without one, null once closed */
  getTLSTicket(): Buffer | undefined | null {
    const s = this[kTlsQueryState]();
    return s ? s.source.query('tlsTicket') : null;
  }

  /** the Finished message this side sent, undefined before one, null once closed */
  getFinished(): Buffer | undefined | null {
    const s = this[kTlsQueryState]();
    return s ? s.source.query('finished') : null;
  }

  /** the Finished message the peer sent, undefined before one, null once closed */
  getPeerFinished(): Buffer | undefined | null {
    const s = this[kTlsQueryState]();
    return s ? s.source.query('peerFinished') : null;
  }

  /** the signature algorithms both sides support ('RSA+SHA256', ...), null once closed */
  getSharedSigalgs(): string[] | null {
    const s = this[kTlsQueryState]();
    return s ? (s.source.query('sharedSigalgs') ?? null) : null;
  }

  /**
   * RFC 5705 keying material (node:tls): `length` bytes (1..65536) for `label` and the
   * optional `context`. ERR_TLS_INVALID_STATE before the handshake finished or once closed.
   */
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    if (typeof length !== 'number') throw new TypeError('exportKeyingMaterial(length, label[, context]): length must be a number');
    if (!Number.isInteger(length) || length < 1 || length > MAX_KEYING_MATERIAL) {
      throw new RangeError(`exportKeyingMaterial(): length must be an integer from 1 to ${MAX_KEYING_MATERIAL}, got ${length}`);
    }
    if (typeof label !== 'string') throw new TypeError('exportKeyingMaterial(length, label[, context]): label must be a string');
    if (context !== undefined && !Buffer.isBuffer(context)) throw new TypeError('exportKeyingMaterial(length, label[, context]): context must be a Buffer');
    const s = this.#secure();
    const out = s?.source.query('exportKeyingMaterial', length, label, context);
    if (!out) throw codedError(ErrorCode.TLS_INVALID_STATE, 'TLS socket connection must be securely established');
    return out;
  }

  get localAddress(): string | undefined {
    return this[kLocalEndpoint]()?.address;
  }

  get localPort(): number | undefined {
    return this[kLocalEndpoint]()?.port;
  }

  get localFamily(): string | undefined {
    return this[kLocalEndpoint]()?.family;
  }

  /** net.Socket's address(): the local end ({} once closed) */
  address(): AddressInfo | Record<string, never> {
    const l = this[kLocalEndpoint]();
    return l?.address !== undefined && l.port !== undefined ? { address: l.address, family: l.family ?? '', port: l.port } : {};
  }
}

/** a server's SSL_VERIFY_* bits: node:tls's requestCert / rejectUnauthorized */
export function serverVerifyMode(requestCert: boolean, rejectUnauthorized: boolean): number {
  if (!requestCert) return SslVerify.NONE;
  return SslVerify.PEER | (rejectUnauthorized ? SslVerify.FAIL_IF_NO_PEER_CERT : 0);
}

/** a server's client-certificate settings */
export interface ClientCertificatePolicy {
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

/**
 * node:tls's answer for a server's client: why it is not authorized (an Error with node's
 * code), or undefined when it is, or when the server did not ask for a certificate.
 */
export function clientVerifyError(source: TlsQuerySource, p: ClientCertificatePolicy): Error | undefined {
  return verifyPeer(source, { isServer: true, requestCert: p.requestCert, checkServerIdentity: undefined, host: undefined });
}

/** `authorized` / `authorizationError` of a server's socket (node:tls) */
export function clientAuthorization(source: TlsQuerySource, p: ClientCertificatePolicy): { authorized: boolean; authorizationError: string | null } {
  const e = clientVerifyError(source, p);
  return { authorized: p.requestCert && e === undefined, authorizationError: e ? ((e as Error & { code?: string }).code ?? e.message) : null };
}

/** the NSS key log line of a connection as node:tls's 'keylog' hands it (with its newline), undefined without one */
export function keylogLine(source: TlsQuerySource): Buffer | undefined {
  const line = source.query('keylogLine');
  return line === undefined ? undefined : Buffer.from(`${line}\n`);
}
