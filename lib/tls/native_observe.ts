// The native connection path's tickets and observability (lib/tls/native_connection_path.ts):
// the same JS as the TLSSocket path — the HandshakeObserver of observe.ts (diagnostics
// channels, NODE_DEBUG lines, hence metrics.ts), the server's ticket renewal tracking
// (SessionResumption.ticketRenewed) and `ticketId` — fed from what the native listener
// recorded for each connection's SSL (native/native_listener_tickets.cc).
//
// Cost with nobody observing: the listener holds no ClientHello and emits nothing more
// (observe(false)); a handshake pays a few property reads here, plus one native call when
// tickets are on. Whether someone observes is read when the server listens, at each
// handshake's end and by observeMetrics(): a subscriber that arrives while a server is idle is
// served from the connection after the next handshake ends (or at once through
// refreshNativeObservation()).
import type { Duplex } from 'stream';
import type { NativeListenerHandle, NativeTicketInfo } from '../openssl/native_listener';
import type { SslContext } from '../openssl/ssl_context';
import type { SslSession } from '../openssl/ssl_session';
import type { TlsServer } from './tls_server';
import { ClientHelloParser } from './client_hello_parser';
import { debug } from './debug';
import { HandshakeObserver, observeConnection, observingHandshakes } from './observe';

/** what the native path's server does with a connection's tickets */
export interface NativeTicketHooks {
  /** a resumption of the ticket named `id` issued a new ticket named `next` */
  ticketRenewed(id: Buffer, next: Buffer): void;
}

/** the queries a completed connection answers (a NativeTlsSocket) */
interface NativeSocketLike extends Duplex {
  ticketId: Buffer | undefined;
  isSessionReused(): boolean;
  getProtocol(): string | null;
  getCipher(): { name: string; standardName?: string; version: string } | undefined;
  readonly servername: string | false;
  readonly alpnProtocol: string | false;
  getSslSession?(): SslSession | undefined;
}

/** the listeners whose observation follows the channels' subscribers */
const live = new Set<NativeObservation>();

/** makes every listening native-path server read now whether someone observes handshakes
 * (observeMetrics calls it; so may an application right after subscribing) */
export function refreshNativeObservation(): void {
  for (const o of live) o.refresh();
}

/** per native-path server: the observers of its connections and their tickets */
export class NativeObservation {
  readonly #server: TlsServer;
  readonly #context: SslContext;
  readonly #hooks: NativeTicketHooks | undefined;
  #listener: NativeListenerHandle | undefined;
  #observing = false;
  readonly #observers = new Map<number, HandshakeObserver>();

  constructor(server: TlsServer, context: SslContext, hooks: NativeTicketHooks | undefined) {
    this.#server = server;
    this.#context = context;
    this.#hooks = hooks;
  }

  /** the server listens on `listener` (undefined: it closed) */
  bind(listener: NativeListenerHandle | undefined): void {
    this.#listener = listener;
    this.#observing = false;
    this.#observers.clear();
    if (listener) {
      live.add(this);
      this.refresh();
    } else live.delete(this);
  }

  refresh(): void {
    const on = observingHandshakes();
    if (on === this.#observing || !this.#listener) return;
    this.#observing = on;
    this.#listener.observe(on);
  }

  /** OBSERVED_HELLO: the connection's observer starts, before OpenSSL reads its ClientHello */
  hello(id: number, bytes: Buffer): void {
    const obs = observeConnection(this.#server, this.#context);
    if (!obs) return;
    this.#observers.set(id, obs);
    const h = new ClientHelloParser({ extensions: true }).push(bytes);
    if (h) {
      obs.hello(h);
      // what the local cache held for the offered id, before OpenSSL's lookup
      obs.beforeCycle();
    }
  }

  /** whether the end of connection `id` needs its socket (an observer, or tickets to track) */
  /** the observer of connection `id`'s handshake (the store prefetch reports its lookup to it) */
  observer(id: number): HandshakeObserver | undefined {
    return this.#observers.get(id);
  }

  wantsSocket(id: number): boolean {
    return this.#observers.has(id) || this.#context.ticketsEnabled || debug.enabled;
  }

  /** SECURE: the ticket it issued, a renewal, the observer's end, the debug line */
  secure(id: number, socket: NativeSocketLike): void {
    const obs = this.#observers.get(id);
    this.#observers.delete(id);
    const reused = socket.isSessionReused();
    let tickets: NativeTicketInfo | undefined;
    if (this.#context.ticketsEnabled && this.#listener) {
      tickets = this.#listener.ticketInfo(id);
      socket.ticketId = tickets?.ticketId;
      // a resumed ticket renewed (a previous key): the new ticket answers for the old id too
      if (reused && tickets?.ticketId && tickets.sessionId) this.#hooks?.ticketRenewed(tickets.sessionId, tickets.ticketId);
    }
    if (obs) {
      obs.ticketKey(tickets?.key, socket);
      obs.completed({
        socket,
        resumed: reused,
        servername: socket.servername || undefined,
        protocol: socket.getProtocol() ?? undefined,
        cipher: socket.getCipher()?.standardName,
        session: () => socket.getSslSession?.(),
      });
    }
    if (debug.enabled) {
      debug('server handshake done: %s %s resumed=%s alpn=%s authorized=%s %s', socket.getProtocol(), socket.getCipher()?.standardName, reused, socket.alpnProtocol, false, '');
    }
    this.refresh();
  }

  /** FAILED (or a failure found when it became secure): the observer's failure, the debug line */
  failed(id: number, error: Error, socket: () => Duplex): void {
    const obs = this.#observers.get(id) ?? observeConnection(this.#server, this.#context);
    this.#observers.delete(id);
    obs?.failedWith(error, socket);
    if (debug.enabled) debug('tlsClientError %s', error.message);
    this.refresh();
  }

  /** OBSERVED_GONE: an observed connection closed without a handshake result */
  gone(id: number, socket: () => Duplex): void {
    const obs = this.#observers.get(id);
    if (!obs) return;
    this.#observers.delete(id);
    obs.failedWith(undefined, socket);
  }
}
