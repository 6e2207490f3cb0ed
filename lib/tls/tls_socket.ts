// TLSSocket: node:tls's socket over an OpenSSL-layer TlsConnection (lib/openssl/tls_connection.ts,
// which owns the SSL, its pump step and the settling of its events). This file is the
// stream plumbing: ciphertext between the net.Socket and the connection, plaintext
// through the Duplex, backpressure both ways, the handshake's outcome and the shutdown.
import * as net from 'net';
import { codedError, ErrorCode } from '../common/coded_error';
import { toError } from '../common/to_error';
import { TLS_PROTOCOLS, TlsConnectionFlag } from '../binding/constants';
import { TlsConnection, TlsStep } from '../openssl/tls_connection';
import { debug } from './debug';
import { SslContext } from '../openssl/ssl_context';
import { issuedTicketId } from './issued_ticket';
import { HelloGate } from './hello_gate';
import { CheckServerIdentity, verifyPeer } from './peer_certificate';
import { keylogLine, kLocalEndpoint, kTlsQueryState, LocalEndpoint, serverVerifyMode, TlsQueryState, TlsSocketQueries } from './native_queries';
import type { TLSSocketSetup } from './socket_options';
import type { EventListener, ListenerEvents } from '../common/typed_events';
import type { TlsProtocol } from '../binding/constants';
import type { HandshakeObserver } from './observe';


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
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class TLSSocket extends TlsSocketQueries {
  readonly encrypted = true;
  /** true once the peer certificate verified (client side; false when unverified) */
  authorized = false;
  /** the verification error's code (node:tls), null when there is none */
  authorizationError: string | null = null;
  readonly socket: net.Socket;
  readonly context: SslContext;
  readonly #isServer: boolean;
  readonly #tls: TlsConnection;
  #secure = false;
  /** the handshake completed and this library accepted it ('secure' was emitted) */
  #accepted = false;
  readonly #keepSessionOnUncleanClose: boolean;
  #pendingWrites: { data: Buffer; cb: (e?: Error | null) => void }[] = [];
  #readPaused = false;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #hello: HelloGate | undefined;
  #helloWaiting = false;
  #peerClosed = false;
  #sentShutdown = false;
  #rejectUnauthorized: boolean;
  #servername: string | undefined;
  readonly #checkServerIdentity: CheckServerIdentity | undefined;
  readonly #verifyHost: string | undefined;
  readonly #requestCert: boolean;
  readonly #protocolRange: readonly [TlsProtocol, TlsProtocol] | undefined;
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
    this.#onKeylog = setup.onKeylog;
    this.#keepSessionOnUncleanClose = (setup.sessionOnUncleanClose ?? 'keep') === 'keep';
    this.#tls = new TlsConnection(setup.context, setup.isServer, {
      serverName: setup.serverName,
      session: setup.session,
      verifyPeer: setup.verifyPeer ?? false,
      // the host is checked in lib (checkServerIdentity) on every connection, resumed or not
      verifyHost: undefined,
      alpnProtocols: setup.alpnProtocols,
      verifyMode: setup.isServer ? serverVerifyMode(this.#requestCert, this.#rejectUnauthorized) : undefined,
      sni: setup.isServer && setup.sni !== undefined,
    });
    this.#holdStep = setup.isServer ? setup.holdStep : undefined;
    this.#watchTickets = setup.isServer && setup.context.ticketsEnabled;
    this.#observer = setup.observer;
    if (setup.isServer) {
      // always read: node:tls's refusals (hello_policy.ts) need the whole hello
      this.#hello = new HelloGate(
        { prefetch: setup.prefetch, refuseTicket: setup.refuseTicket, sni: setup.sni, sniWithoutName: setup.sniWithoutName, alpnWire: setup.alpnProtocols },
        setup.context,
        this.#tls,
        () => !this.destroyed,
      );
    }
    this.#remote = {
      address: setup.socket.remoteAddress,
      port: setup.socket.remotePort,
      family: setup.socket.remoteFamily,
      localAddress: setup.socket.localAddress,
      localPort: setup.socket.localPort,
    };
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
      if (!this.destroyed) this.destroy(this.#secure ? undefined : codedError(ErrorCode.CONNECTION_RESET, 'socket closed before the TLS handshake completed'));
    });
    if (!setup.isServer) {
      if ((s as net.Socket & { connecting?: boolean }).connecting) s.once('connect', () => this.#cycle(undefined));
      else process.nextTick(() => this.#cycle(undefined));
    }
  }

  #observer: HandshakeObserver | undefined;
  #holdStep: (() => Promise<void> | undefined) | undefined;
  /** input that arrived while a step was held */
  #heldInput: Buffer[] | undefined;
  #drainWaiters: (() => void)[] = [];
  #drainListening = false;

  /** the peer's address as the TCP socket had it when this TLSSocket was made: still there
   * once the socket is destroyed (a 'tlsClientError' listener logs or blocks the client) */
  #remote: { address?: string; port?: number; family?: string; localAddress?: string; localPort?: number };
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

  /** the SNI name; on the server false when the client sent none (node:tls) */
  get servername(): string | false | undefined {
    if (this.#isServer) return this.#tls.servername ?? false;
    return this.#servername;
  }

  #onData(chunk: Buffer): void {
    if (!this.#tls.open) return;
    if (this.#hello) {
      const verdict = this.#hello.push(chunk);
      if (!verdict) return;
      this.#hello = undefined;
      if (verdict.refused) {
        this.socket.write(verdict.refused.alert);
        this.#flushBeforeClose = true;
        this.destroy(verdict.refused.error);
        return;
      }
      const { ready, buffered } = verdict;
      if (ready) {
        this.#helloWaiting = true;
        this.socket.pause();
        ready.then(
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

  #resumeAfterHello(buffered: Buffer): void {
    this.#helloWaiting = false;
    if (this.destroyed || !this.#tls.open) return;
    this.#cycle(buffered);
    if (!this.#readPaused) this.socket.resume();
  }

  // one pump step: ciphertext in, handshake, plaintext out, ciphertext out
  #cycle(input: Buffer | undefined): void {
    const tls = this.#tls;
    if (!tls.open || tls.pumping) return;
    if (this.#heldInput) {
      if (input) this.#heldInput.push(input);
      return;
    }
    let pumped: ReturnType<TlsConnection['pump']>;
    const seen = this.#observer?.beforeCycle();
    try {
      pumped = tls.pump(input, seen ? () => this.#observer!.afterCycle(seen, this) : undefined);
    } catch (e) {
      this.destroy(e as Error);
      return;
    }
    if (!pumped) return;
    const { step: r, failure } = pumped;
    // a get callback or a listener that threw fails this connection at once, before
    // 'secure' (the server reports it as 'tlsClientError')
    if (failure) this.destroy(failure);
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
  #afterStep(r: TlsStep): void {
    const { flags, out, clear, error } = r;
    // node:tls: a client whose certificate does not verify (requestCert + rejectUnauthorized)
    // is dropped before the server's last flight goes out: it never sees 'secureConnect'
    if (flags & TlsConnectionFlag.HANDSHAKE_DONE && this.#isServer && this.#requestCert && this.#rejectUnauthorized && this.#tls.open) {
      const refused = this.#verifyPeer();
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

  #onSecure(): void {
    this.#secure = true;
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    const conn = this.#tls;
    this.alpnProtocol = conn.alpnProtocol ?? false;
    const verifyError = this.#verifyPeer();
    this.authorized = verifyError === undefined && (!this.#isServer || this.#requestCert);
    this.authorizationError = verifyError ? ((verifyError as Error & { code?: string }).code ?? verifyError.message) : null;
    // debug() is a no-op without NODE_DEBUG, but its arguments would still be computed:
    // three native calls and an object per handshake
    if (debug.enabled) {
      debug('%s handshake done: %s %s resumed=%s alpn=%s authorized=%s %s', this.#isServer ? 'server' : 'client', this.getProtocol(), conn.cipher?.standardName, this.isSessionReused(), this.alpnProtocol, this.authorized, this.authorizationError ?? '');
    }
    // the key log line (the master secret, hex) is only built when someone listens
    if (this.#onKeylog || this.listenerCount('keylog') > 0) {
      const b = keylogLine(conn);
      if (b !== undefined) {
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

  // lib/tls/peer_certificate.ts: node:tls's rules of who verifies what
  #verifyPeer(): Error | undefined {
    return verifyPeer(this.#tls, {
      isServer: this.#isServer,
      requestCert: this.#requestCert,
      checkServerIdentity: this.#checkServerIdentity,
      host: this.#verifyHost ?? this.#servername,
    });
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
    if (this.#sentShutdown || !this.#tls.open || !this.#secure) return;
    this.#sentShutdown = true;
    try {
      const { out } = this.#tls.shutdown();
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
        this.destroy(codedError(ErrorCode.CONNECTION_RESET, 'the peer closed the connection during the TLS handshake'));
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
    if (!this.#tls.open) {
      cb(codedError(ErrorCode.FREED, 'the TLS connection is closed'));
      return;
    }
    if (!this.#secure) {
      this.#pendingWrites.push({ data: chunk, cb });
      return;
    }
    let r: TlsStep;
    try {
      r = this.#tls.write(chunk);
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
    if (!this.#secure && this.#tls.open) {
      // end() before the handshake finished: finish it first, then close
      this.once('secure', finish);
      return;
    }
    finish();
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    for (const w of this.#pendingWrites) w.cb(err ?? codedError(ErrorCode.STREAM_DESTROYED, 'socket destroyed'));
    this.#pendingWrites = [];
    // the peer closed cleanly (close_notify) and we never answered, e.g. nobody read the
    // stream to its end: answer now, so SSL_free keeps the session of a clean connection
    if (!err && this.#closeNotifyReceived) this.#sendShutdown();
    if (this.#tls.open) {
      // SSL_free drops the session of an unshut, finished connection (1.0.2) unless it
      // was accepted and the policy keeps it (SessionOnUncleanClose)
      const failure = this.#tls.close(this.#accepted && this.#keepSessionOnUncleanClose);
      if (failure) this.destroy(failure);
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
    return this.#tls.sessionDER();
  }

  /** @internal the queries of lib/tls/native_queries.ts read this connection while it is open */
  protected [kTlsQueryState](): TlsQueryState | undefined {
    return this.#tls.open ? { source: this.#tls, secure: this.#secure, isServer: this.#isServer } : undefined;
  }

  /** @internal */
  protected [kLocalEndpoint](): LocalEndpoint | undefined {
    // kept from the TCP socket as it was made: still there once it closed (a 'tlsClientError' listener logs it)
    const s = this.socket;
    return { address: s.localAddress ?? this.#remote.localAddress, port: s.localPort ?? this.#remote.localPort, family: s.localFamily };
  }

  /** the SSL_CTX the connection ended up on switched by SNI (server) */
  get sniContextSwitched(): boolean {
    return this.#tls.contextSwitched;
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
}
