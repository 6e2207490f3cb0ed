// One TLS connection of the OpenSSL layer: an SSL over two memory BIOs
// (native/tls_connection.h), its pump step and the settling of the events that step
// recorded. It owns the native connection; the tls layer (lib/tls/tls_socket.ts) speaks
// to it only through this class, as node's _tls_wrap.js speaks to TLSWrap.
import { native, NativeTlsConnection } from '../binding/native';
import type { TlsQueryAnswers } from '../binding/native';
import { kFromHandle, kHandle } from './internal';
import { settleContexts } from './openssl_call';
import { toError } from '../common/to_error';
import type { SslContext } from './ssl_context';
import { SslSession } from './ssl_session';

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

/** What one OpenSSL step (pump, write, shutdown) produced. */
export interface TlsStep {
  /** TlsConnectionFlag bits */
  readonly flags: number;
  /** ciphertext to send to the peer */
  readonly out: Buffer | undefined;
  /** plaintext read from the peer */
  readonly clear: Buffer | undefined;
  /** the step's OpenSSL failure (with TlsConnectionFlag.FAILED) */
  readonly error: Error | undefined;
}

/** A peer certificate as OpenSSL reads it: names as ordered [field, value] pairs. */
export interface PeerCertificateFields {
  readonly subject: readonly [string, string][];
  readonly issuer: readonly [string, string][];
  readonly valid_from: string;
  readonly valid_to: string;
  readonly serialNumber?: string;
  readonly fingerprint: string;
  readonly fingerprint256: string;
  readonly raw?: Buffer;
  readonly subjectaltname?: string;
}

/** The negotiated cipher: OpenSSL's name, the IANA name ('' when unknown), the lowest protocol of the suite. */
export interface CipherDetails {
  readonly name: string;
  readonly standardName: string;
  readonly version: string;
}

/** what each TLSSocket query (native/ssl_queries.h) answers, undefined where there is nothing
 * (the session is asked for through querySession / querySessionDER) */
export type TlsAnswers = Omit<TlsQueryAnswers, 'session'>;

/**
 * What a socket's TLS queries read (lib/tls/native_queries.ts): a TlsConnection, or a
 * native listener's connection by its id (lib/openssl/native_listener.ts). Every answer is
 * undefined once the connection is gone.
 */
export interface TlsQuerySource {
  query<K extends keyof TlsAnswers>(name: K, ...args: unknown[]): TlsAnswers[K] | undefined;
}

/** the session query, answered with the addon's handle (kept in this layer) */
function sessionHandle(source: TlsQuerySource): TlsQueryAnswers['session'] {
  return (source.query as (name: 'session') => TlsQueryAnswers['session'])('session');
}

/** SSL_get1_session as an SslSession (the thread's live one of that session, else a new one), or undefined */
export function querySession(source: TlsQuerySource): SslSession | undefined {
  const h = sessionHandle(source);
  return h ? SslSession[kFromHandle](h) : undefined;
}

/**
 * The session as DER, or undefined (none, or not encodable): no SslSession is made, so
 * nothing another holder shares can be freed, and the reference is dropped at once.
 */
export function querySessionDER(source: TlsQuerySource): Buffer | undefined {
  const h = sessionHandle(source);
  if (!h) return undefined;
  try {
    return h.toDER();
  } catch {
    return undefined;
  } finally {
    h.free();
  }
}

/** client: the server's ephemeral key of the key exchange */
export interface EphemeralKey {
  readonly type: 'ECDH' | 'DH';
  readonly name?: string;
  readonly size: number;
}

/**
 * One SSL (server or client side) created on an SslContext. `pump()` is one step of
 * OpenSSL (ciphertext in, handshake, plaintext out, ciphertext out) followed by the
 * settling of the events and callback errors it recorded on the context; `close()` frees
 * the SSL and settles likewise. After close() every query answers as for no connection.
 */
export class TlsConnection implements TlsQuerySource {
  readonly context: SslContext;
  #native: NativeTlsConnection | undefined;
  #pumping = false;

  /** SSL_new on `context` (server or client side) over a fresh pair of memory BIOs */
  constructor(context: SslContext, isServer: boolean, o: TlsConnectionOptions) {
    this.context = context;
    this.#native = new native.TlsConnection(context[kHandle], isServer, {
      serverName: o.serverName,
      session: o.session ? o.session[kHandle] : undefined,
      verifyPeer: o.verifyPeer,
      verifyHost: o.verifyHost,
      alpnProtocols: o.alpnProtocols,
      verifyMode: o.verifyMode,
      sni: o.sni,
    });
  }

  /** a pump step is running (a listener re-entered the connection) */
  get pumping(): boolean {
    return this.#pumping;
  }

  /** false once close() ran */
  get open(): boolean {
    return this.#native !== undefined;
  }

  /**
   * One pump step. Undefined when the connection is closed or a step is already running
   * (a listener re-entered it). `afterCall` runs right after OpenSSL returns, before the
   * events are settled. A throwing OpenSSL call throws (its events settle at close()).
   * `failure`: the first exception a get callback or an event listener threw.
   */
  pump(input: Buffer | undefined, afterCall?: () => void): { step: TlsStep; failure: Error | undefined } | undefined {
    const conn = this.#native;
    if (!conn || this.#pumping) return undefined;
    this.#pumping = true;
    let step: TlsStep;
    try {
      step = conn.cycle(input);
      afterCall?.();
    } finally {
      this.#pumping = false;
    }
    return { step, failure: this.#settle() };
  }

  /** SSL_write of plaintext; the ciphertext to send is in `out` */
  write(data: Buffer): TlsStep {
    return this.#live().write(data);
  }

  /** SSL_shutdown: our close_notify, in `out` */
  shutdown(): TlsStep {
    return this.#live().shutdown();
  }

  /**
   * SSL_free (keepSession: SSL_set_shutdown(SENT|RECEIVED) first, so a finished
   * connection's session stays cached), then the events it recorded are settled; returns
   * the first failure of a listener. A free refused (reentrant) leaves the SSL to the GC.
   */
  close(keepSession: boolean): Error | undefined {
    const conn = this.#native;
    if (!conn) return undefined;
    this.#native = undefined;
    try {
      conn.free(keepSession);
    } catch {
      /* reentrant free is refused; the GC frees it later */
    }
    return this.#settle();
  }

  /** the servername callback switches to `ctx` (SSL_set_SSL_CTX) */
  setSniContext(ctx: SslContext): void {
    this.#native?.setSniContext(ctx[kHandle]);
  }

  /** server: decrypt no ticket for this connection (the ticket key callback answers "unknown key") */
  refuseTicket(): void {
    this.#native?.refuseTicket();
  }

  /** whether the servername callback switched contexts */
  get contextSwitched(): boolean {
    return this.#native ? this.#native.contextSwitched() : false;
  }

  /** SSL_session_reused */
  get reused(): boolean {
    return this.#native ? this.#native.info().reused : false;
  }

  /** SSL_get_version ('TLSv1.2', ...), undefined when closed */
  get protocol(): string | undefined {
    return this.#native?.info().protocol;
  }

  /** the SNI name the client sent (servers) or set (clients) */
  get servername(): string | undefined {
    return this.#native?.info().servername;
  }

  /** SSL_get0_alpn_selected */
  get alpnProtocol(): string | undefined {
    return this.query('alpnProtocol');
  }

  get cipher(): CipherDetails | undefined {
    return this.query('cipher');
  }

  /** client: SSL_get_server_tmp_key, undefined without one */
  get ephemeralKey(): EphemeralKey | undefined {
    return this.query('ephemeralKeyInfo');
  }

  /** SSL_get_verify_result (0 = X509_V_OK) */
  get verifyResult(): number {
    return this.query('verifyResult') ?? 0;
  }

  peerCertificate(): PeerCertificateFields | undefined {
    return this.query('peerCertificate');
  }

  /** SSL_get_peer_cert_chain */
  peerCertificateChain(): readonly PeerCertificateFields[] | undefined {
    return this.query('peerCertificateChain');
  }

  /** NSS key log line "CLIENT_RANDOM <hex> <hex>" */
  keylogLine(): string | undefined {
    return this.query('keylogLine');
  }

  /** one of the TLSSocket queries both connection paths answer alike (native/ssl_queries.h); undefined once closed */
  query<K extends keyof TlsAnswers>(name: K, ...args: unknown[]): TlsAnswers[K] | undefined {
    const conn = this.#native;
    return conn ? (conn.query as (name: K, ...args: unknown[]) => TlsAnswers[K])(name, ...args) : undefined;
  }

  /** SSL_get1_session as an SslSession (the thread's live one of that session, else a new one), or undefined */
  session(): SslSession | undefined {
    return querySession(this);
  }

  /** the session as DER, or undefined (querySessionDER) */
  sessionDER(): Buffer | undefined {
    return querySessionDER(this);
  }

  #live(): NativeTlsConnection {
    if (!this.#native) throw new Error('the TLS connection is closed');
    return this.#native;
  }

  // events and get-callback errors recorded during the OpenSSL call
  #settle(): Error | undefined {
    const failure = settleContexts([this.context], 'handshake');
    return failure ? toError(failure.error) : undefined;
  }
}
