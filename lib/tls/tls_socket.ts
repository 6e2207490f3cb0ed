import { Duplex } from 'stream';
import * as net from 'net';
import { codedError, ErrorCode } from '../common/coded_error';
import { settleContexts } from '../openssl/openssl_call';
import { SslVerify, TLS_PROTOCOLS, TlsConnectionFlag } from '../binding/constants';
import { connectionSession, connectionSessionDER, CycleResult, NativeTlsConnection, openTlsConnection, RawPeerCertificate, setSniContext } from '../openssl/tls_connection';
import { certificateError, noPeerCertificateError } from './cert_errors';
import { debug } from './debug';
import { SslContext } from '../openssl/ssl_context';
import { SslSession } from '../openssl/ssl_session';
import { ClientHelloInfo, ClientHelloParser } from './client_hello_parser';
import { issuedTicketId } from './issued_ticket';
import { helloRefusal } from './hello_policy';
import { kVersionRange } from '../openssl/internal';
import type { EventListener, ListenerEvents } from '../common/typed_events';
import type { TlsProtocol } from '../binding/constants';
import type { HandshakeObserver } from './observe';

/** What getPeerCertificate() returns (the node:tls shape, main fields). */
export interface PeerCertificate {
  subject: Record<string, string>;
  issuer: Record<string, string>;
  valid_from: string;
  valid_to: string;
  serialNumber?: string;
  fingerprint: string;
  fingerprint256: string;
  raw?: Buffer;
  subjectaltname?: string;
  /** getPeerCertificate(true): the issuer's certificate (itself for a self-signed one) */
  issuerCertificate?: PeerCertificate;
}

/** node:tls's checkServerIdentity shape: an Error when `cert` is not valid for `host` */
export type CheckServerIdentity = (host: string, cert: PeerCertificate) => Error | undefined;

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

/** The events of a TLSSocket (node:tls's names, and stream.Duplex's) and their listeners' arguments. */
export interface TLSSocketEvents extends ListenerEvents {
  /** client: the handshake completed (after 'secure') */
  secureConnect: [];
  /** either side: the handshake completed */
  secure: [];
  /** client: the session to resume with later, as DER (node:tls's 'session') */
  session: [session: Buffer];
  /** setTimeout(): the underlying socket was idle */
  timeout: [];
  /** NSS key log line of this connection (node:tls's 'keylog') */
  keylog: [line: Buffer];
  data: [chunk: Buffer];
  end: [];
  close: [hadError: boolean];
  error: [err: Error];
  drain: [];
  finish: [];
  pause: [];
  resume: [];
  readable: [];
  pipe: [src: NodeJS.ReadableStream];
  unpipe: [src: NodeJS.ReadableStream];
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- types only (lib/common/typed_events.ts)
export interface TLSSocket {
  on<K extends keyof TLSSocketEvents>(event: K, listener: EventListener<TLSSocketEvents, K>): this;
  once<K extends keyof TLSSocketEvents>(event: K, listener: EventListener<TLSSocketEvents, K>): this;
  off<K extends keyof TLSSocketEvents>(event: K, listener: EventListener<TLSSocketEvents, K>): this;
  addListener<K extends keyof TLSSocketEvents>(event: K, listener: EventListener<TLSSocketEvents, K>): this;
  removeListener<K extends keyof TLSSocketEvents>(event: K, listener: EventListener<TLSSocketEvents, K>): this;
  prependListener<K extends keyof TLSSocketEvents>(event: K, listener: EventListener<TLSSocketEvents, K>): this;
  prependOnceListener<K extends keyof TLSSocketEvents>(event: K, listener: EventListener<TLSSocketEvents, K>): this;
  emit<K extends keyof TLSSocketEvents>(event: K, ...args: TLSSocketEvents[K]): boolean;
  listenerCount<K extends keyof TLSSocketEvents>(event: K): number;
}

/**
 * A TLS connection run by OpenSSL 1.0.2 over a net.Socket: a stream.Duplex of plaintext,
 * shaped like node:tls's TLSSocket. Ciphertext from the socket is pumped through two
 * memory BIOs (native TlsConnection); plaintext backpressure pauses the socket, socket
 * backpressure holds back write callbacks.
 */
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

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class TLSSocket extends Duplex {
  readonly encrypted = true;
  /** true once the peer certificate verified (client side; false when unverified) */
  authorized = false;
  /** the verification error's code (node:tls), null when there is none */
  authorizationError: string | null = null;
  readonly socket: net.Socket;
  readonly context: SslContext;
  readonly #isServer: boolean;
  #conn: NativeTlsConnection | undefined;
  #secure = false;
  /** the handshake completed and this library accepted it ('secure' was emitted) */
  #accepted = false;
  readonly #keepSessionOnUncleanClose: boolean;
  #pendingWrites: { data: Buffer; cb: (e?: Error | null) => void }[] = [];
  #readPaused = false;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #hello: ClientHelloParser | undefined;
  #helloWaiting = false;
  #peerClosed = false;
  #sentShutdown = false;
  #rejectUnauthorized: boolean;
  #cycling = false;
  #servername: string | undefined;
  readonly #checkServerIdentity: CheckServerIdentity | undefined;
  readonly #verifyHost: string | undefined;
  readonly #requestCert: boolean;
  readonly #protocolRange: readonly [TlsProtocol, TlsProtocol] | undefined;
  readonly #sni: ((servername: string | undefined) => Promise<SslContext | undefined>) | undefined;
  readonly #sniWithoutName: boolean;
  readonly #onKeylog: ((line: Buffer) => void) | undefined;
  /** the negotiated ALPN protocol, false when none (node:tls) */
  alpnProtocol: string | false = false;
  /** server with tickets on: the id a client will offer with the ticket this connection
   * issued (SHA-256 of the ticket, lib/tls/issued_ticket.ts), for server.revoke(); undefined
   * when none was issued */
  ticketId: Buffer | undefined;
  readonly #watchTickets: boolean;

  constructor(setup: TLSSocketSetup) {
    super({ allowHalfOpen: setup.allowHalfOpen === true });
    this.socket = setup.socket;
    this.context = setup.context;
    this.#isServer = setup.isServer;
    this.#rejectUnauthorized = setup.rejectUnauthorized ?? true;
    this.#servername = setup.serverName;
    this.#checkServerIdentity = setup.checkServerIdentity;
    this.#verifyHost = setup.verifyHost;
    this.#requestCert = setup.requestCert === true;
    this.#protocolRange = setup.protocolRange;
    this.#sni = setup.sni;
    this.#sniWithoutName = setup.sniWithoutName === true;
    this.#onKeylog = setup.onKeylog;
    this.#keepSessionOnUncleanClose = (setup.sessionOnUncleanClose ?? 'keep') === 'keep';
    this.#conn = openTlsConnection(setup.context, setup.isServer, {
      serverName: setup.serverName,
      session: setup.session,
      verifyPeer: setup.verifyPeer ?? false,
      // the host is checked in lib (checkServerIdentity) on every connection, resumed or not
      verifyHost: undefined,
      alpnProtocols: setup.alpnProtocols,
      verifyMode: setup.isServer
        ? this.#requestCert
          ? SslVerify.PEER | (this.#rejectUnauthorized ? SslVerify.FAIL_IF_NO_PEER_CERT : 0)
          : SslVerify.NONE
        : undefined,
      sni: setup.isServer && setup.sni !== undefined,
    });
    this.#holdStep = setup.isServer ? setup.holdStep : undefined;
    this.#watchTickets = setup.isServer && setup.context.ticketsEnabled;
    this.#observer = setup.observer;
    if (setup.isServer) {
      // always read: node:tls's refusals (hello_policy.ts) need the whole hello
      this.#hello = new ClientHelloParser({ extensions: true });
      this.#prefetch = setup.prefetch;
      this.#refuseTicket = setup.refuseTicket;
      this.#alpnWire = setup.alpnProtocols;
    }
    this.#remote = { address: setup.socket.remoteAddress, port: setup.socket.remotePort, family: setup.socket.remoteFamily };
    const timeout = setup.handshakeTimeout ?? 30000;
    if (timeout > 0) {
      this.#handshakeTimer = setTimeout(() => {
        this.destroy(codedError(ErrorCode.TLS_HANDSHAKE_TIMEOUT, `TLS handshake timed out after ${timeout} ms`));
      }, timeout);
      this.#handshakeTimer.unref?.();
    }
    const s = this.socket;
    s.on('data', (chunk: Buffer) => this.#onData(chunk));
    s.on('end', () => this.#onSocketEnd());
    s.on('error', (err: Error) => this.destroy(err));
    s.on('close', () => {
      if (!this.destroyed) this.destroy(this.#secure ? undefined : codedError('ECONNRESET', 'socket closed before the TLS handshake completed'));
    });
    if (!setup.isServer) {
      if ((s as net.Socket & { connecting?: boolean }).connecting) s.once('connect', () => this.#cycle(undefined));
      else process.nextTick(() => this.#cycle(undefined));
    }
  }

  #prefetch: ((hello: ClientHelloInfo, live: () => boolean) => Promise<void> | void) | undefined;
  #refuseTicket: ((hello: ClientHelloInfo) => boolean) | undefined;
  #observer: HandshakeObserver | undefined;
  #holdStep: (() => Promise<void> | undefined) | undefined;
  /** input that arrived while a step was held */
  #heldInput: Buffer[] | undefined;
  #drainWaiters: (() => void)[] = [];
  #drainListening = false;

  /** the server's ALPN list (wire format), for the hello policy */
  #alpnWire: Buffer | undefined;
  /** the peer's address as the TCP socket had it when this TLSSocket was made: still there
   * once the socket is destroyed (a 'tlsClientError' listener logs or blocks the client) */
  #remote: { address?: string; port?: number; family?: string };
  /** the connection fails after this alert is flushed (a refused ClientHello) */
  #flushBeforeClose = false;

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress ?? this.#remote.address;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort ?? this.#remote.port;
  }

  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily ?? this.#remote.family;
  }

  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /** the SNI name; on the server false when the client sent none (node:tls) */
  get servername(): string | false | undefined {
    if (this.#isServer) return (this.#conn ? this.#conn.info().servername : undefined) ?? false;
    return this.#servername;
  }

  #onData(chunk: Buffer): void {
    if (!this.#conn) return;
    if (this.#hello) {
      const parsed = this.#hello.push(chunk);
      if (!parsed) return;
      const buffered = this.#hello.buffered();
      this.#hello = undefined;
      const refused = helloRefusal(parsed, this.#alpnWire, 0x0301 + TLS_PROTOCOLS.indexOf(this.context[kVersionRange][0]));
      if (refused) {
        this.socket.write(refused.alert);
        this.#flushBeforeClose = true;
        this.destroy(refused.error);
        return;
      }
      const prefetch = this.#prefetch;
      this.#prefetch = undefined;
      if (this.#refuseTicket?.(parsed)) this.#conn.refuseTicket();
      this.#refuseTicket = undefined;
      let pending: Promise<void> | void;
      try {
        pending = prefetch?.(parsed, () => !this.destroyed);
      } catch {
        pending = undefined;
      }
      if (this.#sni && (parsed.servername !== undefined || this.#sniWithoutName)) pending = this.#resolveSni(parsed.servername, pending);
      if (pending && typeof (pending as Promise<void>).then === 'function') {
        this.#helloWaiting = true;
        this.socket.pause();
        (pending as Promise<void>).then(
          () => this.#resumeAfterHello(buffered),
          (e: unknown) => this.destroy(toError(e)),
        );
        return;
      }
      this.#cycle(buffered);
      return;
    }
    if (this.#helloWaiting) {
      // cannot happen while paused, but never lose bytes
      this.#hello = undefined;
    }
    if (this.#heldInput) {
      this.#heldInput.push(chunk);
      return;
    }
    this.#cycle(chunk);
  }

  // the SNICallback's context, handed to native before OpenSSL reads the ClientHello; its
  // servername callback then switches to it (SSL_set_SSL_CTX)
  async #resolveSni(servername: string | undefined, prefetch: Promise<void> | void): Promise<void> {
    const [ctx] = await Promise.all([
      this.#sni!(servername).catch((e: unknown) => {
        process.nextTick(() => this.destroy(toError(e)));
        return undefined;
      }),
      prefetch,
    ]);
    debug('SNI %s → %s', servername, ctx ? 'its own context' : 'the default context');
    if (ctx && this.#conn && !ctx.freed) setSniContext(this.#conn, ctx);
  }

  #resumeAfterHello(buffered: Buffer): void {
    this.#helloWaiting = false;
    if (this.destroyed || !this.#conn) return;
    this.#cycle(buffered);
    if (!this.#readPaused) this.socket.resume();
  }

  // one pump step: ciphertext in, handshake, plaintext out, ciphertext out
  #cycle(input: Buffer | undefined): void {
    const conn = this.#conn;
    if (!conn || this.#cycling) return;
    if (this.#heldInput) {
      if (input) this.#heldInput.push(input);
      return;
    }
    this.#cycling = true;
    let r: CycleResult;
    const seen = this.#observer?.beforeCycle();
    try {
      r = conn.cycle(input);
      if (seen) this.#observer!.afterCycle(seen, this);
    } catch (e) {
      this.#cycling = false;
      this.destroy(e as Error);
      return;
    } finally {
      this.#cycling = false;
    }
    this.#afterOpenSSL();
    const hold = this.#holdStep?.();
    if (hold) {
      this.#heldInput = [];
      this.socket.pause();
      hold.then(
        () => {
          const held = this.#heldInput ?? [];
          this.#heldInput = undefined;
          if (this.destroyed) return;
          this.#afterStep(r);
          for (const chunk of held) this.#cycle(chunk);
          if (!this.destroyed && !this.#readPaused && !this.#helloWaiting) this.socket.resume();
        },
        (e: unknown) => this.destroy(toError(e)),
      );
      return;
    }
    this.#afterStep(r);
  }

  // the rest of a step: ciphertext out, then what the flags say
  #afterStep(r: CycleResult): void {
    const { flags, out, clear, error } = r;
    // node:tls: a client whose certificate does not verify (requestCert + rejectUnauthorized)
    // is dropped before the server's last flight goes out: it never sees 'secureConnect'
    if (flags & TlsConnectionFlag.HANDSHAKE_DONE && this.#isServer && this.#requestCert && this.#rejectUnauthorized && this.#conn) {
      const refused = this.#verifyPeer(this.#conn);
      if (refused) {
        this.destroy(refused);
        return;
      }
    }
    if (out) {
      if (this.#watchTickets && !this.#secure) this.ticketId = issuedTicketId(out) ?? this.ticketId;
      this.socket.write(out);
    }
    if (this.destroyed) return; // a callback or listener failed this connection
    if (flags & TlsConnectionFlag.FAILED) {
      // a refused renegotiation: what the verified peer sent before it is still delivered
      if (clear && clear.length > 0 && flags & TlsConnectionFlag.RENEGOTIATION) this.push(clear);
      this.destroy(error ?? codedError(ErrorCode.TLS_FAILED, 'TLS failure'));
      return;
    }
    if (flags & TlsConnectionFlag.HANDSHAKE_DONE) this.#onSecure();
    if (this.destroyed) return;
    if (clear && clear.length > 0) {
      if (!this.push(clear)) {
        this.#readPaused = true;
        this.socket.pause();
      }
    }
    if (flags & TlsConnectionFlag.PEER_CLOSED) this.#onPeerClosed();
    else if (flags & TlsConnectionFlag.MORE_PLAINTEXT && !this.#readPaused) setImmediate(() => this.#cycle(undefined));
  }

  // events and get-callback errors recorded during the OpenSSL call: a get callback or a
  // listener that threw fails this connection (the server reports it as 'tlsClientError')
  #afterOpenSSL(): void {
    const failure = settleContexts([this.context], 'handshake');
    // at once, before 'secure': the server reports it as 'tlsClientError'
    if (failure) this.destroy(toError(failure.error));
  }

  #onSecure(): void {
    this.#secure = true;
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    const conn = this.#conn!;
    this.alpnProtocol = conn.alpnProtocol() ?? false;
    const verifyError = this.#verifyPeer(conn);
    this.authorized = verifyError === undefined && (!this.#isServer || this.#requestCert);
    this.authorizationError = verifyError ? ((verifyError as Error & { code?: string }).code ?? verifyError.message) : null;
    // debug() is a no-op without NODE_DEBUG, but its arguments would still be computed:
    // three native calls and an object per handshake
    if (debug.enabled) {
      debug('%s handshake done: %s %s resumed=%s alpn=%s authorized=%s %s', this.#isServer ? 'server' : 'client', this.getProtocol(), conn.cipherDetails()?.standardName, this.isSessionReused(), this.alpnProtocol, this.authorized, this.authorizationError ?? '');
    }
    // the key log line (the master secret, hex) is only built when someone listens
    if (this.#onKeylog || this.listenerCount('keylog') > 0) {
      const line = conn.keylogLine();
      if (line !== undefined) {
        const b = Buffer.from(`${line}\n`);
        this.emit('keylog', b);
        this.#onKeylog?.(b);
      }
    }
    if (verifyError && this.#rejectUnauthorized && (!this.#isServer || this.#requestCert)) {
      this.destroy(verifyError);
      return;
    }
    const range = this.#protocolRange;
    // the protocol (a native call and an object) is only asked for when there is a range to check
    const protocol = range ? this.getProtocol() : null;
    if (range && protocol !== null) {
      const i = TLS_PROTOCOLS.indexOf(protocol as TlsProtocol);
      if (i < TLS_PROTOCOLS.indexOf(range[0]) || i > TLS_PROTOCOLS.indexOf(range[1])) {
        this.destroy(codedError(ErrorCode.TLS_PROTOCOL_VERSION, `negotiated ${protocol}, outside ${range[0]}..${range[1]}`));
        return;
      }
    }
    this.#accepted = true;
    if (!this.#isServer) {
      const der = this.#sessionDER();
      if (der) this.emit('session', der);
    }
    this.emit('secure');
    if (!this.#isServer) this.emit('secureConnect');
    const pending = this.#pendingWrites;
    this.#pendingWrites = [];
    for (const w of pending) this._write(w.data, 'buffer' as BufferEncoding, w.cb);
  }

  // node:tls's rules: a client always checks the server's chain, then its identity (here on
  // every connection: a resumed session keeps the first connection's verify result, which
  // says nothing about the name asked for now); a server only when it asked (requestCert)
  #verifyPeer(conn: NativeTlsConnection): Error | undefined {
    if (this.#isServer && !this.#requestCert) return undefined;
    const cert = conn.peerCertificate();
    if (!cert) return noPeerCertificateError();
    const result = conn.verifyResult();
    if (result !== 0) return certificateError(result);
    if (this.#isServer || !this.#checkServerIdentity) return undefined;
    const host = this.#verifyHost ?? this.#servername;
    if (host === undefined) return undefined;
    try {
      return this.#checkServerIdentity(host, this.getPeerCertificate(true) as PeerCertificate) ?? undefined;
    } catch (e) {
      return toError(e);
    }
  }

  #onPeerClosed(): void {
    this.#closeNotifyReceived = true;
    if (this.#peerClosed) return;
    this.#peerClosed = true;
    // our close_notify goes out when our writable side ends (_final): with allowHalfOpen
    // false that is right after 'end', so writes made in 'end' listeners still go out
    this.push(null);
  }
  #closeNotifyReceived = false;

  #sendShutdown(): void {
    if (this.#sentShutdown || !this.#conn || !this.#secure) return;
    this.#sentShutdown = true;
    try {
      const { out } = this.#conn.shutdown();
      if (out && !this.socket.destroyed) this.socket.write(out);
    } catch {
      /* the connection is going away anyway */
    }
  }

  #onSocketEnd(): void {
    // TCP FIN; without a close_notify first this is a truncation: end the stream anyway
    if (!this.#peerClosed) {
      this.#peerClosed = true;
      if (!this.#secure) {
        this.destroy(codedError('ECONNRESET', 'the peer closed the connection during the TLS handshake'));
        return;
      }
      this.push(null);
    }
    if (this.writableEnded || this.writableFinished) this.socket.end();
  }

  #flushDrainWaiters(): void {
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const f of w) f();
  }

  override _read(): void {
    if (this.#readPaused) {
      this.#readPaused = false;
      this.#cycle(undefined); // plaintext OpenSSL already holds
      if (!this.#readPaused && !this.#helloWaiting && !this.socket.destroyed) this.socket.resume();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (error?: Error | null) => void): void {
    if (!this.#conn) {
      cb(codedError(ErrorCode.FREED, 'the TLS connection is closed'));
      return;
    }
    if (!this.#secure) {
      this.#pendingWrites.push({ data: chunk, cb });
      return;
    }
    let r: CycleResult;
    try {
      r = this.#conn.write(chunk);
    } catch (e) {
      cb(e as Error);
      return;
    }
    const { flags, out, error } = r;
    if (flags & TlsConnectionFlag.FAILED) {
      cb(error ?? codedError(ErrorCode.TLS_FAILED, 'SSL_write failed'));
      return;
    }
    if (out && !this.socket.write(out)) {
      // the 'drain' listener is added the first time a write waits for one
      if (!this.#drainListening) {
        this.#drainListening = true;
        this.socket.on('drain', () => this.#flushDrainWaiters());
      }
      this.#drainWaiters.push(() => cb());
    } else cb();
  }

  // node's TLSWrap: the chunks of one writev (node:http's corked headers, chunk framing and
  // body; node:http2's frames) go into one SSL_write, so one record and one TCP write
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (error?: Error | null) => void): void {
    this._write(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), 'buffer' as BufferEncoding, cb);
  }

  override _final(cb: (error?: Error | null) => void): void {
    const finish = () => {
      this.#sendShutdown();
      this.socket.end();
      cb();
    };
    if (!this.#secure && this.#conn) {
      // end() before the handshake finished: finish it first, then close
      this.once('secure', finish);
      return;
    }
    finish();
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    for (const w of this.#pendingWrites) w.cb(err ?? codedError('ERR_STREAM_DESTROYED', 'socket destroyed'));
    this.#pendingWrites = [];
    // the peer closed cleanly (close_notify) and we never answered, e.g. nobody read the
    // stream to its end: answer now, so SSL_free keeps the session of a clean connection
    if (!err && this.#closeNotifyReceived) this.#sendShutdown();
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn) {
      try {
        // SSL_free drops the session of an unshut, finished connection (1.0.2) unless it
        // was accepted and the policy keeps it (SessionOnUncleanClose)
        conn.free(this.#accepted && this.#keepSessionOnUncleanClose);
      } catch {
        /* reentrant free is refused; the GC frees it later */
      }
      this.#afterOpenSSL();
    }
    if (!this.socket.destroyed) {
      if (err && !this.#flushBeforeClose) this.socket.destroy();
      // flush what is queued (close_notify), send FIN, then close: nothing more is read
      else this.socket.destroySoon();
    }
    cb(err);
  }

  #sessionDER(): Buffer | undefined {
    // not through getSslSession(): freeing that object would free it for every holder
    return this.#conn ? connectionSessionDER(this.#conn) : undefined;
  }

  /** The negotiated session as DER (node:tls shape), or undefined. */
  getSession(): Buffer | undefined {
    return this.#sessionDER();
  }

  /**
   * The negotiated session as an SslSession, or undefined: the thread's live SslSession of
   * that session when there is one (possibly shared: free() frees it for every holder),
   * else a new one with its own reference.
   */
  getSslSession(): SslSession | undefined {
    return this.#conn ? connectionSession(this.#conn) : undefined;
  }

  isSessionReused(): boolean {
    return this.#conn ? this.#conn.info().reused : false;
  }

  /** 'TLSv1.2', ... or null before the handshake */
  getProtocol(): TlsProtocol | null {
    if (!this.#conn || !this.#secure) return null;
    return this.#conn.info().protocol as TlsProtocol;
  }

  /** node:tls's shape: OpenSSL name, IANA name, lowest protocol version of the suite */
  getCipher(): { name: string; standardName: string; version: string } | undefined {
    if (!this.#conn || !this.#secure) return undefined;
    const details = this.#conn.cipherDetails();
    if (!details) return undefined;
    const { name, standardName, version } = details;
    return { name, standardName: standardName || name, version: version === 'TLSv1' ? 'TLSv1.0' : version };
  }

  /**
   * The peer's certificate (node:tls shape), {} when none. detailed: each certificate
   * carries its issuer's as issuerCertificate, from the chain the peer sent (a
   * self-signed certificate is its own issuer, as in node:tls).
   */
  getPeerCertificate(detailed?: boolean): PeerCertificate | Record<string, never> {
    const raw = this.#conn?.peerCertificate();
    if (!raw) return {};
    const leaf = certificateObject(raw);
    if (detailed !== true) return leaf;
    const chain = [leaf, ...(this.#conn!.peerCertificateChain() ?? []).map(certificateObject)];
    for (const c of chain) {
      if (c.issuerCertificate) continue;
      const issuer = chain.find((x) => x !== c && sameName(x.subject, c.issuer) && x.fingerprint256 !== c.fingerprint256);
      if (issuer) c.issuerCertificate = issuer;
      else if (sameName(c.subject, c.issuer)) c.issuerCertificate = c;
    }
    return leaf;
  }

  /**
   * node:tls: the ephemeral key of the key exchange, client side ({ type: 'ECDH', name,
   * size } or { type: 'DH', size }; {} without one); null on the server side.
   */
  getEphemeralKeyInfo(): { type: 'ECDH'; name: string; size: number } | { type: 'DH'; size: number } | Record<string, never> | null {
    if (this.#isServer) return null;
    if (!this.#conn || !this.#secure) return null;
    return (this.#conn.ephemeralKeyInfo() ?? {}) as ReturnType<TLSSocket['getEphemeralKeyInfo']>;
  }

  /** the SSL_CTX the connection ended up on switched by SNI (server) */
  get sniContextSwitched(): boolean {
    return this.#conn ? this.#conn.contextSwitched() : false;
  }

  /** node:net's setTimeout: 'timeout' after `ms` of socket inactivity */
  setTimeout(ms: number, callback?: () => void): this {
    this.socket.setTimeout(ms);
    if (callback) this.once('timeout', callback);
    if (!this.#timeoutForwarded) {
      this.#timeoutForwarded = true;
      this.socket.on('timeout', () => this.emit('timeout'));
    }
    return this;
  }
  #timeoutForwarded = false;

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }

  address(): net.AddressInfo | object {
    return this.socket.address();
  }
}

function certificateObject(raw: RawPeerCertificate): PeerCertificate {
  const obj = (pairs: [string, string][]) => {
    const o: Record<string, string> = {};
    for (const [k, v] of pairs) o[k] = k in o ? `${o[k]}\n${v}` : v;
    return o;
  };
  return { ...raw, subject: obj(raw.subject), issuer: obj(raw.issuer) };
}

function sameName(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** a thrown value as an Error (the value itself when it is one; kept as `cause` otherwise) */
function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(`a callback threw ${String(thrown)}`, { cause: thrown });
}
