import * as fs from 'fs';
import type { TlsProtocol } from '../binding/constants';
import * as net from 'net';
import { SslContext } from '../cache/ssl_context';
import { SslSession } from '../cache/ssl_session';
import { TLSSocket } from './tls_socket';
import { integer, optionsObject } from '../common/validate';

export interface TlsConnectOptions {
  host?: string;
  port?: number;
  /** an already connected (or connecting) socket to run TLS over */
  socket?: net.Socket;
  /** SNI name, and the name the certificate must carry (default: host unless an IP) */
  servername?: string;
  /** trusted CAs (PEM); default the system bundle if present */
  ca?: string | Buffer;
  /** client certificate and key (PEM) */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** pass phrase of an encrypted `key` (as node:tls); without it an encrypted key fails at once */
  passphrase?: string | Buffer;
  ciphers?: string;
  minVersion?: TlsProtocol;
  maxVersion?: TlsProtocol;
  /** refuse a server whose certificate does not verify (default true) */
  rejectUnauthorized?: boolean;
  /** session to offer: DER (node:tls) or an SslSession */
  session?: Buffer | SslSession;
  /** share one client SslContext across connections */
  context?: SslContext;
  /** ms (default 30000; 0 = never) */
  handshakeTimeout?: number;
  timeout?: number;
  /** node:net's allowHalfOpen: keep writing after the server ended (default false) */
  allowHalfOpen?: boolean;
}

const SYSTEM_CA_FILES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

function systemCa(): string | undefined {
  for (const f of SYSTEM_CA_FILES) {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** node:tls-style client on OpenSSL 1.0.2. */
export function connect(options: TlsConnectOptions, secureConnectListener?: () => void): TLSSocket {
  const o = optionsObject(options, 'options') as TlsConnectOptions;
  const rejectUnauthorized = o.rejectUnauthorized !== false;
  let context = o.context;
  let ownsContext = false;
  if (context !== undefined) {
    if (!(context instanceof SslContext)) throw new TypeError('options.context must be an SslContext');
  } else {
    const ca = o.ca ?? (rejectUnauthorized ? systemCa() : undefined);
    context = new SslContext({
      role: 'client',
      ca,
      cert: o.cert,
      key: o.key,
      passphrase: o.passphrase,
      ciphers: o.ciphers,
      minVersion: o.minVersion as TlsProtocol | undefined,
      maxVersion: o.maxVersion as TlsProtocol | undefined,
    });
    ownsContext = true;
  }
  let session: SslSession | undefined;
  let ownsSession = false;
  if (o.session !== undefined) {
    if (o.session instanceof SslSession) session = o.session;
    else if (Buffer.isBuffer(o.session)) {
      session = SslSession.fromDER(o.session);
      ownsSession = true;
    } else throw new TypeError('options.session must be a Buffer or an SslSession');
  }
  const host = o.host ?? 'localhost';
  const servername = o.servername ?? (net.isIP(host) ? undefined : host);
  let socket = o.socket;
  if (socket === undefined) {
    const port = integer(o.port, 'options.port', 1, 65535);
    // half-open capable TCP: the TLSSocket decides when to send FIN
    socket = net.connect({ host, port, allowHalfOpen: true });
  } else if (!(socket instanceof net.Socket)) {
    throw new TypeError('options.socket must be a net.Socket');
  }
  const tls = new TLSSocket({
    socket,
    isServer: false,
    context,
    serverName: servername,
    session,
    verifyPeer: false, // verified after the handshake, so rejectUnauthorized decides
    verifyHost: servername ?? host,
    rejectUnauthorized,
    handshakeTimeout: o.handshakeTimeout,
    allowHalfOpen: o.allowHalfOpen === true,
  });
  if (ownsSession) session!.free();
  if (ownsContext) tls.once('close', () => context!.free());
  if (o.timeout !== undefined) tls.setTimeout(o.timeout);
  if (secureConnectListener) tls.once('secureConnect', secureConnectListener);
  return tls;
}
