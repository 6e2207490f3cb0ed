// What a server does with the ClientHello before OpenSSL reads it: node:tls's refusals
// (hello_policy.ts), the revoked-ticket check, the session store prefetch and the
// SNICallback's context. The TLSSocket holds the hello's bytes until the gate opens.
import { TLS_PROTOCOLS } from '../binding/constants';
import { kVersionRange } from '../openssl/internal';
import type { SslContext } from '../openssl/ssl_context';
import type { TlsConnection } from '../openssl/tls_connection';
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

/** What to do once the whole ClientHello arrived. */
export type HelloVerdict =
  /** send `alert`, then fail with `error` */
  | { readonly refused: { alert: Buffer; error: Error }; readonly buffered: Buffer }
  /** hand `buffered` to OpenSSL, after `ready` settles when there is one */
  | { readonly refused?: undefined; readonly ready: Promise<void> | undefined; readonly buffered: Buffer };

export class HelloGate {
  readonly #parser = new ClientHelloParser({ extensions: true });
  readonly #setup: HelloGateSetup;
  readonly #context: SslContext;
  readonly #conn: TlsConnection;
  readonly #live: () => boolean;
  readonly #fail: (e: Error) => void;

  /** `live`: the connection is still wanted; `fail`: fails it (an SNICallback that rejected) */
  constructor(setup: HelloGateSetup, context: SslContext, conn: TlsConnection, live: () => boolean, fail: (e: Error) => void) {
    this.#setup = setup;
    this.#context = context;
    this.#conn = conn;
    this.#live = live;
    this.#fail = fail;
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
  // servername callback then switches to it (SSL_set_SSL_CTX)
  async #resolveSni(sni: (servername: string | undefined) => Promise<SslContext | undefined>, servername: string | undefined, prefetch: Promise<void> | void): Promise<void> {
    const [ctx] = await Promise.all([
      sni(servername).catch((e: unknown) => {
        process.nextTick(() => this.#fail(toError(e)));
        return undefined;
      }),
      prefetch,
    ]);
    debug('SNI %s → %s', servername, ctx ? 'its own context' : 'the default context');
    if (ctx && !ctx.freed) this.#conn.setSniContext(ctx);
  }
}
