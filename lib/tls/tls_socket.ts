import { Duplex } from 'stream';
import * as net from 'net';
import { codedError, ErrorCode } from '../common/coded_error';
import { settleContexts } from '../cache/openssl_call';
import { TlsConnectionFlag } from '../binding/constants';
import { connectionSession, CycleResult, NativeTlsConnection, openTlsConnection } from '../cache/tls_connection';
import { SslContext } from '../cache/ssl_context';
import { SslSession } from '../cache/ssl_session';
import { ClientHelloInfo, ClientHelloParser } from './client_hello_parser';
import type { EventListener, ListenerEvents } from '../common/typed_events';
import type { TlsProtocol } from '../binding/constants';

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
}

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
  prefetch?: (hello: ClientHelloInfo) => Promise<void> | void;
  /** server only: called after each OpenSSL step once its events were delivered; a
   * promise holds the step's output and 'secure' until it settles (node:tls's
   * 'newSession' callback); a rejection fails the connection */
  holdStep?: () => Promise<void> | undefined;
  /** keep the writable side open after the peer ended (node:net semantics; default false) */
  allowHalfOpen?: boolean;
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
export class TLSSocket extends Duplex {
  readonly encrypted = true;
  /** true once the peer certificate verified (client side; false when unverified) */
  authorized = false;
  authorizationError: string | undefined;
  readonly socket: net.Socket;
  readonly context: SslContext;
  readonly #isServer: boolean;
  #conn: NativeTlsConnection | undefined;
  #secure = false;
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

  constructor(setup: TLSSocketSetup) {
    super({ allowHalfOpen: setup.allowHalfOpen === true });
    this.socket = setup.socket;
    this.context = setup.context;
    this.#isServer = setup.isServer;
    this.#rejectUnauthorized = setup.rejectUnauthorized ?? true;
    this.#servername = setup.serverName;
    this.#conn = openTlsConnection(setup.context, setup.isServer, {
      serverName: setup.serverName,
      session: setup.session,
      verifyPeer: setup.verifyPeer ?? false,
      verifyHost: setup.verifyHost,
    });
    this.#holdStep = setup.isServer ? setup.holdStep : undefined;
    if (setup.isServer && setup.prefetch) {
      this.#hello = new ClientHelloParser();
      this.#prefetch = setup.prefetch;
    }
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
    s.on('drain', () => this.#flushDrainWaiters());
    if (!setup.isServer) {
      if ((s as net.Socket & { connecting?: boolean }).connecting) s.once('connect', () => this.#cycle(undefined));
      else process.nextTick(() => this.#cycle(undefined));
    }
  }

  #prefetch: ((hello: ClientHelloInfo) => Promise<void> | void) | undefined;
  #holdStep: (() => Promise<void> | undefined) | undefined;
  /** input that arrived while a step was held */
  #heldInput: Buffer[] | undefined;
  #drainWaiters: (() => void)[] = [];

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  get servername(): string | undefined {
    if (this.#isServer && this.#conn) return this.#conn.info().servername;
    return this.#servername;
  }

  #onData(chunk: Buffer): void {
    if (!this.#conn) return;
    if (this.#hello) {
      const parsed = this.#hello.push(chunk);
      if (!parsed) return;
      const buffered = this.#hello.buffered();
      this.#hello = undefined;
      const prefetch = this.#prefetch!;
      this.#prefetch = undefined;
      let pending: Promise<void> | void;
      try {
        pending = prefetch(parsed);
      } catch {
        pending = undefined;
      }
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
    try {
      r = conn.cycle(input);
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
    if (out) this.socket.write(out);
    if (flags & TlsConnectionFlag.FAILED) {
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
    if (failure) process.nextTick(() => this.destroy(toError(failure.error)));
  }

  #onSecure(): void {
    this.#secure = true;
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    const info = this.#conn!.info();
    // SSL_get_verify_result stays X509_V_OK when the peer sent no certificate at all
    // (a server with `ca` but a client without one): that is not "authorized"
    const hasPeerCert = this.#conn!.peerCertificate() !== undefined;
    this.authorized = info.verifyResult === 0 && hasPeerCert;
    this.authorizationError = info.verifyError ?? (hasPeerCert ? undefined : 'peer did not return a certificate');
    if (!this.#isServer) {
      if (!this.authorized && this.#rejectUnauthorized && this.#verifyRequested()) {
        this.destroy(codedError(ErrorCode.TLS_CERT_VERIFY, info.verifyError ?? 'certificate verify failed'));
        return;
      }
      const der = this.#sessionDER();
      if (der) this.emit('session', der);
    }
    this.emit('secure');
    if (!this.#isServer) this.emit('secureConnect');
    const pending = this.#pendingWrites;
    this.#pendingWrites = [];
    for (const w of pending) this._write(w.data, 'buffer' as BufferEncoding, w.cb);
  }

  #verifyRequested(): boolean {
    return this.#rejectUnauthorized;
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
    if (out && !this.socket.write(out)) this.#drainWaiters.push(() => cb());
    else cb();
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
        conn.free(); // SSL_free: an unshut, finished connection drops its session (1.0.2)
      } catch {
        /* reentrant free is refused; the GC frees it later */
      }
      this.#afterOpenSSL();
    }
    if (!this.socket.destroyed) {
      if (err) this.socket.destroy();
      // flush what is queued (close_notify), send FIN, then close: nothing more is read
      else this.socket.destroySoon();
    }
    cb(err);
  }

  #sessionDER(): Buffer | undefined {
    const s = this.getSslSession();
    if (!s) return undefined;
    try {
      return s.toDER();
    } catch {
      return undefined;
    } finally {
      s.free();
    }
  }

  /** The negotiated session as DER (node:tls shape), or undefined. */
  getSession(): Buffer | undefined {
    return this.#sessionDER();
  }

  /** The negotiated session as an SslSession (a new reference), or undefined. */
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

  getCipher(): { name: string; standardName: string; version: string } | undefined {
    if (!this.#conn || !this.#secure) return undefined;
    const { cipherName, cipherVersion } = this.#conn.info();
    if (!cipherName) return undefined;
    return { name: cipherName, standardName: cipherName, version: cipherVersion ?? 'unknown' };
  }

  getPeerCertificate(): PeerCertificate | Record<string, never> {
    const raw = this.#conn?.peerCertificate();
    if (!raw) return {};
    const obj = (pairs: [string, string][]) => {
      const o: Record<string, string> = {};
      for (const [k, v] of pairs) o[k] = k in o ? `${o[k]}\n${v}` : v;
      return o;
    };
    return { ...raw, subject: obj(raw.subject), issuer: obj(raw.issuer) };
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

/** a thrown value as an Error (the value itself when it is one; kept as `cause` otherwise) */
function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(`a callback threw ${String(thrown)}`, { cause: thrown });
}
