// The whole option set of a TlsServer: node:tls's createServer options (its own, net.Server's
// and createSecureContext's, see lib/openssl/context_options.ts) and this package's, each
// implemented or refused with its reason. createServer refuses any other name.
import { CONTEXT_OPTIONS } from '../openssl/context_options';
import { checkOptionNames, OptionTable } from '../common/option_names';

/** every option name of createServer() besides the context's: true, or why it is refused */
export const SERVER_OPTIONS: OptionTable = Object.freeze({
  // node:tls createServer
  ALPNProtocols: true,
  SNICallback: true,
  requestCert: true,
  rejectUnauthorized: true,
  handshakeTimeout: true,
  ticketKeys: true,
  ALPNCallback: 'choose among ALPNProtocols (the server\'s preference order wins, as in node:tls)',
  pskCallback: 'PSK cipher suites are not offered',
  pskIdentityHint: 'PSK cipher suites are not offered',
  enableTrace: 'OpenSSL 1.0.2 is built without SSL_trace',
  secureContext: 'a node:tls SecureContext belongs to Node\'s OpenSSL; pass options.context (an SslContext) instead',
  NPNProtocols: 'NPN was removed from node:tls; use ALPNProtocols',
  // net.Server
  allowHalfOpen: true,
  pauseOnConnect: true,
  noDelay: true,
  keepAlive: true,
  keepAliveInitialDelay: true,
  highWaterMark: 'the TLS sockets use the stream default',
  // this package
  context: true,
  sessionStore: true,
  sessionStoreTimeout: true,
  sessionStoreConcurrency: true,
  sessionStoreNegativeCacheSize: true,
  sessionStoreNegativeCacheTtl: true,
  previousTicketKeys: true,
  sessionOnUncleanClose: true,
  connectionPath: true,
});

/**
 * Refuses names neither table knows (and refused options); `extra` are names a wrapper
 * (createHttpsServer, createHttp2SecureServer) handles itself.
 */
export function checkServerOptions(o: Record<string, unknown>, extra: OptionTable | undefined, api: string): void {
  checkOptionNames(o, extra ? [SERVER_OPTIONS, CONTEXT_OPTIONS, extra] : [SERVER_OPTIONS, CONTEXT_OPTIONS], 'options', api);
}

/** the options of `o` that configure the SslContext (what new SslContext() takes) */
export function contextOptionsOf(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (Object.prototype.hasOwnProperty.call(CONTEXT_OPTIONS, k) && o[k] !== undefined) out[k] = o[k];
  return out;
}
