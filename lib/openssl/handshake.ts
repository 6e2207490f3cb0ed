import { native } from '../binding/native';
import { kFromHandle, kHandle, kListed } from './internal';
import { callOpenSSL } from './openssl_call';
import { SslContext } from './ssl_context';
import { SslSession } from './ssl_session';
import { optionsObject } from '../common/validate';
import type { TlsProtocol } from '../binding/constants';

export interface HandshakeOptions {
  /** a session the client offers (SSL_set_session) */
  session?: SslSession;
  /** SNI host name the client sends */
  serverName?: string;
  /** shut both sides down cleanly before freeing them (default true). 1.0.2 removes the
   * session of a finished connection freed without SSL_shutdown from the cache. */
  shutdown?: boolean;
}

export interface HandshakeResult {
  /** the server resumed the offered session (SSL_session_reused) */
  resumed: boolean;
  clientResumed: boolean;
  serverResumed: boolean;
  clientSession: SslSession;
  serverSession: SslSession;
  /** SSL_get_version: the negotiated protocol, e.g. 'TLSv1.2' */
  protocol: TlsProtocol;
  /** SSL_get_cipher_name, e.g. 'ECDHE-RSA-AES128-GCM-SHA256' */
  cipher: string;
}

/**
 * Runs a complete TLS handshake between a client SSL on `clientCtx` and a server SSL on
 * `serverCtx`, in process, over an OpenSSL BIO pair — the server consults its session
 * cache exactly as it would for a socket. Events of both contexts are delivered after
 * OpenSSL returns; an exception thrown by the server's getSessionCallback (treated as
 * "no session" during the handshake) is rethrown afterwards. Failures → OpenSSLError.
 */
export function handshake(clientCtx: SslContext, serverCtx: SslContext, options?: HandshakeOptions): HandshakeResult {
  if (!(clientCtx instanceof SslContext)) throw new TypeError('clientCtx must be an SslContext');
  if (!(serverCtx instanceof SslContext)) throw new TypeError('serverCtx must be an SslContext');
  const o = optionsObject(options, 'options');
  if (o.session !== undefined && !(o.session instanceof SslSession)) throw new TypeError('options.session must be an SslSession');
  if (o.serverName !== undefined && typeof o.serverName !== 'string') throw new TypeError('options.serverName must be a string');
  if (o.shutdown !== undefined && typeof o.shutdown !== 'boolean') throw new TypeError('options.shutdown must be a boolean');
  const session = o.session as SslSession | undefined;
  const r = callOpenSSL(
    [serverCtx, clientCtx],
    'handshake',
    () =>
      native.handshake(
        clientCtx[kHandle],
        serverCtx[kHandle],
        session ? session[kHandle] : undefined,
        o.serverName as string | undefined,
        o.shutdown !== false,
        session !== undefined && session[kListed](),
      ),
    // nobody will see the result: drop its references now rather than at the next GC
    (dropped) => {
      dropped.clientSession?.free();
      dropped.serverSession?.free();
    },
  );
  return {
    resumed: r.serverResumed,
    clientResumed: r.clientResumed,
    serverResumed: r.serverResumed,
    // a resumption that kept the offered SSL_SESSION: the offered object itself, as the
    // identity table would answer, without a second handle to make and drop
    clientSession: r.clientIsOffer ? (session as SslSession) : SslSession[kFromHandle](r.clientSession),
    serverSession: SslSession[kFromHandle](r.serverSession),
    protocol: r.protocol as TlsProtocol,
    cipher: r.cipher,
  };
}
