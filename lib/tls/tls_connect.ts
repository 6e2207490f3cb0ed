import * as fs from 'fs';
import type { TlsProtocol } from '../binding/constants';
import * as net from 'net';
import { SslContext } from '../openssl/ssl_context';
import { SslSession } from '../openssl/ssl_session';
import * as tls from 'tls';
import { CheckServerIdentity, PeerCertificate } from './peer_certificate';
import { SessionOnUncleanClose, sessionOnUncleanCloseOption } from './socket_options';
import { TLSSocket } from './tls_socket';
import { integer, optionsObject } from '../common/validate';
import { codedError, ErrorCode } from '../common/coded_error';
import { TLS_PROTOCOLS } from '../binding/constants';
import { kVersionRange } from '../openssl/internal';
import { alpnWire, AlpnProtocols } from './alpn';
import { debug } from './debug';

export interface TlsConnectOptions {
  host?: string;
  port?: number | string;
  /** an already connected (or connecting) socket to run TLS over */
  socket?: net.Socket;
  /** SNI name, and the name the certificate must carry (default: host unless an IP) */
  servername?: string;
  /** trusted CAs (PEM, or an array of PEMs); default the system bundle if present */
  ca?: string | Buffer | readonly (string | Buffer)[];
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
  /** the session of an accepted connection that ends without close_notify stays in the
   * client context's cache ('keep', default) or is removed as 1.0.2's SSL_free does */
  sessionOnUncleanClose?: SessionOnUncleanClose;
  /** ALPN protocols offered, most preferred first (node:tls) */
  ALPNProtocols?: AlpnProtocols;
  /** the server identity check, run on every connection, resumed or not (default tls.checkServerIdentity) */
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
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

/** the longest host name the server_name extension carries */
const MAX_SERVERNAME = 255;

/**
 * node:tls-style client on OpenSSL 1.0.2: connect(options[, cb]), connect(port[, host]
 * [, options][, cb]) or connect(path-less port as a string). Everything is validated and
 * made before the TCP connection is opened; a throw after that destroys the socket.
 */
export function connect(options: TlsConnectOptions, secureConnectListener?: () => void): TLSSocket;
export function connect(port: number | string, host?: string, options?: TlsConnectOptions, secureConnectListener?: () => void): TLSSocket;
export function connect(port: number | string, options?: TlsConnectOptions, secureConnectListener?: () => void): TLSSocket;
export function connect(port: number | string, host?: string, secureConnectListener?: () => void): TLSSocket;
export function connect(...args: unknown[]): TLSSocket {
  const [options, secureConnectListener] = normalizeArgs(args);
  const o = optionsObject(options, 'options') as TlsConnectOptions;
  const rejectUnauthorized = o.rejectUnauthorized !== false;
  // everything that can throw runs before net.connect (SECURITY.md, "The client paths of connect()", item 3)
  const host = o.host ?? 'localhost';
  if (typeof host !== 'string') throw new TypeError('options.host must be a string');
  if (o.servername !== undefined && typeof o.servername !== 'string') throw new TypeError('options.servername must be a string');
  const servername = o.servername ?? (net.isIP(host) ? undefined : host);
  if (servername !== undefined && (Buffer.byteLength(servername) > MAX_SERVERNAME || servername.length === 0)) {
    throw new RangeError(`options.servername must be 1 to ${MAX_SERVERNAME} bytes`);
  }
  const alpn = alpnWire(o.ALPNProtocols, 'options.ALPNProtocols');
  const checkServerIdentity = (o.checkServerIdentity ?? tls.checkServerIdentity) as CheckServerIdentity;
  if (typeof checkServerIdentity !== 'function') throw new TypeError('options.checkServerIdentity must be a function');
  let port: number | undefined;
  if (o.socket === undefined) port = toPort(o.port, 'options.port');
  else if (!(o.socket instanceof net.Socket)) throw new TypeError('options.socket must be a net.Socket');
  if (o.session !== undefined && !(o.session instanceof SslSession) && !Buffer.isBuffer(o.session)) {
    throw new TypeError('options.session must be a Buffer or an SslSession');
  }
  if (o.session instanceof SslSession && o.session.freed) throw codedError(ErrorCode.FREED, 'options.session has been freed');
  const sessionOnUncleanClose = sessionOnUncleanCloseOption(o.sessionOnUncleanClose, 'options.sessionOnUncleanClose');
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
  const range = context[kVersionRange];
  const failBeforeConnect = (e: unknown): never => {
    if (ownsSession) session?.free();
    if (ownsContext) context!.free();
    throw e;
  };
  try {
    if (o.session instanceof SslSession) session = o.session;
    else if (Buffer.isBuffer(o.session)) {
      session = SslSession.fromDER(o.session);
      ownsSession = true;
    }
    // SSL_set_session switches a 1.0.2 client to the session's protocol method: a session
    // from outside the configured range would lower the handshake below minVersion, so it
    // is not offered (SECURITY.md, "The client paths of connect()", item 2)
    if (session && !inRange(session.protocol, range)) {
      debug('not offering a %s session: outside %s..%s', session.protocol, range[0], range[1]);
      if (ownsSession) session.free();
      session = undefined;
      ownsSession = false;
    }
  } catch (e) {
    failBeforeConnect(e);
  }
  const socket = o.socket ?? net.connect({ host, port: port!, allowHalfOpen: true }); // the TLSSocket decides when to send FIN
  let tlsSocket: TLSSocket;
  try {
    tlsSocket = new TLSSocket({
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
      sessionOnUncleanClose,
      alpnProtocols: alpn,
      checkServerIdentity,
      protocolRange: range,
    });
  } catch (e) {
    if (o.socket === undefined) socket.destroy();
    return failBeforeConnect(e);
  } finally {
    if (ownsSession) session!.free();
    ownsSession = false;
  }
  if (ownsContext) tlsSocket.once('close', () => context!.free());
  if (o.timeout !== undefined) tlsSocket.setTimeout(o.timeout);
  if (secureConnectListener) tlsSocket.once('secureConnect', secureConnectListener);
  debug('connect %s:%s servername=%s session=%s', host, port ?? '(socket)', servername, session !== undefined);
  return tlsSocket;
}

function inRange(protocol: string, range: readonly [string, string]): boolean {
  const i = TLS_PROTOCOLS.indexOf(protocol as (typeof TLS_PROTOCOLS)[number]);
  return i >= TLS_PROTOCOLS.indexOf(range[0] as (typeof TLS_PROTOCOLS)[number]) && i <= TLS_PROTOCOLS.indexOf(range[1] as (typeof TLS_PROTOCOLS)[number]);
}

/** a port as node:net takes it: a number or a decimal string, 1..65535 here */
function toPort(v: unknown, what: string): number {
  if (typeof v === 'string' && /^[0-9]+$/.test(v.trim())) return integer(Number(v), what, 1, 65535);
  return integer(v, what, 1, 65535);
}

// connect(options[, cb]) | connect(port[, host][, options][, cb])
function normalizeArgs(args: unknown[]): [TlsConnectOptions, (() => void) | undefined] {
  const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
  if (typeof args[0] === 'object' && args[0] !== null) return [args[0] as TlsConnectOptions, cb];
  if (typeof args[0] !== 'number' && typeof args[0] !== 'string') return [args[0] as TlsConnectOptions, cb];
  const port = args[0];
  let host: string | undefined;
  let options: TlsConnectOptions = {};
  if (typeof args[1] === 'string') host = args[1];
  else if (typeof args[1] === 'object' && args[1] !== null) options = args[1] as TlsConnectOptions;
  else if (args[1] !== undefined) throw new TypeError('host must be a string');
  if (typeof args[2] === 'object' && args[2] !== null) options = args[2] as TlsConnectOptions;
  return [{ ...options, port, ...(host !== undefined ? { host } : {}) }, cb];
}
