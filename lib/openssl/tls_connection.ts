// The native TLS pump (native/tls_connection.h: one SSL over two memory BIOs) as the tls
// layer uses it: created on an SslContext, offering an SslSession, handing back the
// negotiated session as an SslSession. The tls layer never sees a native handle.
import { native, NativeTlsConnection } from '../binding/native';
import { kFromHandle, kHandle } from './internal';
import type { SslContext } from './ssl_context';
import { SslSession } from './ssl_session';

export type { CycleResult, NativeTlsConnection, RawPeerCertificate } from '../binding/native';

export interface TlsConnectionOptions {
  serverName?: string;
  /** the session a client offers (SSL_set_session) */
  session?: SslSession;
  verifyPeer: boolean;
  verifyHost?: string;
  /** ALPN protocol list in wire format (both sides) */
  alpnProtocols?: Buffer;
  /** server: SSL_VERIFY_* bits (SslVerify); verification never fails the handshake itself */
  verifyMode?: number;
  /** server: the servername callback switches to the context given to setSniContext() */
  sni?: boolean;
}

/** SSL_new on `ctx` (server or client side) over a fresh pair of memory BIOs */
export function openTlsConnection(ctx: SslContext, isServer: boolean, o: TlsConnectionOptions): NativeTlsConnection {
  return new native.TlsConnection(ctx[kHandle], isServer, {
    serverName: o.serverName,
    session: o.session ? o.session[kHandle] : undefined,
    verifyPeer: o.verifyPeer,
    verifyHost: o.verifyHost,
    alpnProtocols: o.alpnProtocols,
    verifyMode: o.verifyMode,
    sni: o.sni,
  });
}

/** the SSL switches to `ctx` when OpenSSL's servername callback runs (SSL_set_SSL_CTX) */
export function setSniContext(conn: NativeTlsConnection, ctx: SslContext): void {
  conn.setSniContext(ctx[kHandle]);
}

/** SSL_get1_session as an SslSession (the thread's live one of that session, else a new one), or undefined */
export function connectionSession(conn: NativeTlsConnection): SslSession | undefined {
  const h = conn.session();
  return h ? SslSession[kFromHandle](h) : undefined;
}

/**
 * The connection's session as DER, or undefined (none, or not encodable): no SslSession is
 * made, so nothing another holder shares can be freed, and the reference is dropped at once.
 */
export function connectionSessionDER(conn: NativeTlsConnection): Buffer | undefined {
  const h = conn.session();
  if (!h) return undefined;
  try {
    return h.toDER();
  } catch {
    return undefined;
  } finally {
    h.free();
  }
}
