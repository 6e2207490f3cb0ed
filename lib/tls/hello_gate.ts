// What a server does with the ClientHello before OpenSSL reads it: node:tls's refusals
// (hello_policy.ts), the revoked-ticket check, the session store prefetch and the
// SNICallback's context. One gate for both connection paths: the TLSSocket holds the hello's
// bytes until the gate opens (tls_socket.ts); the native listener holds them natively and
// hands the whole hello to the gate (native_hello.ts).
import { TLS_PROTOCOLS } from '../binding/constants';
import { kVersionRange } from '../openssl/internal';
import type { SslContext } from '../openssl/ssl_context';
import { toError } from '../common/to_error';
import { ClientHelloInfo, ClientHelloParser } from './client_hello_parser';
import { debug } from './debug';
import { helloRefusal } from './hello_policy';

export interface HelloGateSetup {
  /** called with the ClientHello's session id before OpenSSL sees it */
  prefetch?: (hello: ClientHelloInfo, live: () => boolean) => Promise<void> | void;
  /** true when the ClientHello offers a revoked id; its ticket is then not decrypted */
  refuseTicket?: (hello: ClientHelloInfo) => boolean;
  /** the context for the ClientHello's server name (SNICallback, addContext) */
  sni?: (servername: string | undefined) => Promise<SslContext | undefined>;
  /** ask `sni` also for a ClientHello without a server name (setSecureContext) */
  sniWithoutName?: boolean;
  /** the server's ALPN list (wire format), for the hello policy */
  alpnWire?: Buffer;
}

/** The connection the gate acts on before OpenSSL reads the hello (a TlsConnection, or a native listener's connection). */
export interface HelloTarget {
  /** the ticket the hello offers is not decrypted (a full handshake) */
  refuseTicket(): void;
  /** OpenSSL's servername callback switches to `ctx` */
  setSniContext(ctx: SslContext): void;
}

/** What to do once the whole ClientHello arrived. */
export type HelloVerdict =
  /** send `alert`, then fail with `error` */
  | { readonly refused: { alert: Buffer; error: Error }; readonly buffered: Buffer }
  /** hand `buffered` to OpenSSL once `ready` resolves, when there is one; when it rejects
   * (an SNICallback that failed), fail the connection with its error, OpenSSL reading nothing */
  | { readonly refused?: undefined; readonly ready: Promise<void> | undefined; readonly buffered: Buffer };

export class HelloGate {
  readonly #parser = new ClientHelloParser({ extensions: true });
  readonly #setup: HelloGateSetup;
  readonly #context: SslContext;
  readonly #conn: HelloTarget;
  readonly #live: () => boolean;

  /** `live`: the connection is still wanted */
  constructor(setup: HelloGateSetup, context: SslContext, conn: HelloTarget, live: () => boolean) {
    this.#setup = setup;
    this.#context = context;
    this.#conn = conn;
    this.#live = live;
  }

  /** ciphertext from the client; undefined until the whole ClientHello is there */
  push(chunk: Buffer): HelloVerdict | undefined {
    const parsed = this.#parser.push(chunk);
    if (!parsed) return undefined;
    const buffered = this.#parser.buffered();
    const refused = helloRefusal(parsed, this.#setup.alpnWire, 0x0301 + TLS_PROTOCOLS.indexOf(this.#context[kVersionRange][0]));
    if (refused) return { refused, buffered };
    if (this.#setup.refuseTicket?.(parsed)) this.#conn.refuseTicket();
    let pending: Promise<void> | void;
    try {
      pending = this.#setup.prefetch?.(parsed, this.#live);
    } catch {
      pending = undefined;
    }
    if (this.#setup.sni && (parsed.servername !== undefined || this.#setup.sniWithoutName)) pending = this.#resolveSni(this.#setup.sni, parsed.servername, pending);
    const ready = pending && typeof (pending as Promise<void>).then === 'function' ? (pending as Promise<void>) : undefined;
    return { ready, buffered };
  }

  // the SNICallback's context, handed to OpenSSL before it reads the ClientHello; its
  // servername callback then switches to it (SSL_set_SSL_CTX); a callback that fails rejects
  async #resolveSni(sni: (servername: string | undefined) => Promise<SslContext | undefined>, servername: string | undefined, prefetch: Promise<void> | void): Promise<void> {
    const [ctx] = await Promise.all([sni(servername).catch((e: unknown) => Promise.reject(toError(e))), prefetch]);
    debug('SNI %s → %s', servername, ctx ? 'its own context' : 'the default context');
    if (ctx && !ctx.freed) this.#conn.setSniContext(ctx);
  }
}
