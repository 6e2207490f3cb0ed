// How a TLSSocket is set up, and the socket options validated where TlsServer and
// connect() read them (node keeps its option handling, internal/tls/common.js, apart from
// the socket too).
import type * as net from 'net';
import type { TlsProtocol } from '../binding/constants';
import type { SslContext } from '../openssl/ssl_context';
import type { SslSession } from '../openssl/ssl_session';
import type { ClientHelloInfo } from './client_hello_parser';
import type { HandshakeObserver } from './observe';
import type { CheckServerIdentity } from './peer_certificate';

/** How a TLSSocket is set up (by TlsServer and connect(), which are the usual ways to get one). */
export interface TLSSocketSetup {
  socket: net.Socket;
  isServer: boolean;
  context: SslContext;
  serverName?: string;
  session?: SslSession;
  verifyPeer?: boolean;
  verifyHost?: string;
  rejectUnauthorized?: boolean;
  handshakeTimeout?: number;
  /** @internal server only: called with the ClientHello's session id before OpenSSL sees it */
  prefetch?: (hello: ClientHelloInfo, live: () => boolean) => Promise<void> | void;
  /** server only: called after each OpenSSL step once its events were delivered; a
   * promise holds the step's output and 'secure' until it settles (node:tls's
   * 'newSession' callback); a rejection fails the connection */
  holdStep?: () => Promise<void> | undefined;
  /** keep the writable side open after the peer ended (node:net semantics; default false) */
  allowHalfOpen?: boolean;
  /** what SSL_free does to the session of an accepted connection that ends without
   * close_notify: 'keep' (default) or 'remove' (OpenSSL 1.0.2's own rule) */
  sessionOnUncleanClose?: SessionOnUncleanClose;
  /** ALPN protocol list in wire format */
  alpnProtocols?: Buffer;
  /** server: ask for a client certificate; with rejectUnauthorized a missing or bad one fails */
  requestCert?: boolean;
  /** client: checked on every connection, resumed or not (undefined: no check) */
  checkServerIdentity?: CheckServerIdentity;
  /** client: the negotiated protocol must lie in this range, whatever session was offered */
  protocolRange?: readonly [TlsProtocol, TlsProtocol];
  /** server: the context for the ClientHello's server name (SNICallback, addContext), resolved
   * before OpenSSL reads it; asked without a name too when `sniWithoutName` (setSecureContext) */
  sni?: (servername: string | undefined) => Promise<SslContext | undefined>;
  /** server: ask `sni` also for a ClientHello without a server name */
  sniWithoutName?: boolean;
  /** @internal server: true when the ClientHello offers a revoked id; its ticket is then not decrypted */
  refuseTicket?: (hello: ClientHelloInfo) => boolean;
  /** server: where 'keylog' lines go besides the socket's own listeners */
  onKeylog?: (line: Buffer) => void;
  /** @internal server: the diagnostics of this handshake (lib/tls/observe.ts) */
  observer?: HandshakeObserver;
}

/**
 * What happens to the session of a connection whose handshake completed and was accepted
 * but which ends without close_notify (a TCP FIN or reset, destroy(), a timeout):
 * - 'keep' (default): it stays in the cache and resumable — what node:tls users see (its
 *   sessions live in tickets and the 'newSession' store), what nginx and 1.0.2's own
 *   s_server do (SSL_set_shutdown before SSL_free), and what TLS 1.1+ allows (RFC 4346
 *   §7.2.1). Clients that just close the socket (browsers, `openssl s_time`) still resume.
 * - 'remove': OpenSSL 1.0.2's SSL_free rule (ssl_clear_bad_session) — the session is
 *   removed from the cache ('removeSession').
 * A connection that failed (a fatal alert, a verification or protocol-range refusal, a
 * listener or callback error during the handshake) loses its session either way.
 */
export type SessionOnUncleanClose = 'keep' | 'remove';

/** validates the sessionOnUncleanClose option of createServer / connect */
export function sessionOnUncleanCloseOption(v: unknown, what: string): SessionOnUncleanClose {
  if (v === undefined) return 'keep';
  if (v === 'keep' || v === 'remove') return v;
  if (typeof v !== 'string') throw new TypeError(`${what} must be 'keep' or 'remove'`);
  throw new RangeError(`${what} must be 'keep' or 'remove', got '${v}'`);
}
