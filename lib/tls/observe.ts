// What a server publishes on the diagnostics channels (lib/common/diagnostics.ts) and logs
// under NODE_DEBUG=openssl-session-cache: one HandshakeObserver per connection, made only
// when someone subscribes (or NODE_DEBUG is on) when the connection arrives.
import { performance } from 'perf_hooks';
import type { EventEmitter } from 'events';
import type { Duplex } from 'stream';
import {
  handshakeChannel,
  HandshakeMessage,
  lookupChannel,
  LookupMessage,
  LookupResult,
  noteRevoked,
  ResumptionMissedMessage,
  resumptionMissedChannel,
  ResumptionMissReason,
  sessionRemovedChannel,
  SessionRemovedMessage,
  sessionRevokedChannel,
  SessionRevokedMessage,
  sessionStoredChannel,
  SessionStoredMessage,
  TicketKeyResult,
  ticketChannel,
  TicketMessage,
  wasRevoked,
} from '../common/diagnostics';
import type { Protocol } from '../binding/constants';
import { RemoveReason, SslContext, TicketKeyStats } from '../openssl/ssl_context';
import { kHasSession, kInternalOn } from '../openssl/internal';
import type { SslSession } from '../openssl/ssl_session';
import type { ClientHelloInfo } from './client_hello_parser';
import type { TLSSocket } from './tls_socket';
import { debug } from './debug';

const PROTOCOLS: readonly Protocol[] = ['TLSv1.2', 'TLSv1.1', 'TLSv1', 'SSLv3'];

/** contexts whose removals are published, and the server each belongs to */
const watched = new WeakMap<SslContext, EventEmitter>();

/**
 * Publishes `context`'s removals on `session:removed` from now on (the context records its
 * removal events for that, which costs a session object per removal: done only once
 * someone subscribes or a metrics recorder asks).
 */
export function watchRemovals(server: EventEmitter, context: SslContext): void {
  if (watched.has(context) || context.freed) return;
  watched.set(context, server);
  context[kInternalOn]('removeSession', (s: SslSession, reason: RemoveReason) => {
    if (!sessionRemovedChannel.hasSubscribers) return;
    sessionRemovedChannel.publish({ server, context, id: s.id, reason } satisfies SessionRemovedMessage);
  });
}

/** whether a connection arriving now would get an observer (someone subscribes to a
 * per-handshake channel, or NODE_DEBUG names the package): a few property reads */
export function observingHandshakes(): boolean {
  return handshakeChannel.hasSubscribers || resumptionMissedChannel.hasSubscribers || ticketChannel.hasSubscribers || debug.enabled;
}

/** the observer of a new connection, or undefined when nobody would see what it reports */
export function observeConnection(server: EventEmitter, context: SslContext): HandshakeObserver | undefined {
  if (sessionRemovedChannel.hasSubscribers) watchRemovals(server, context);
  const handshake = handshakeChannel.hasSubscribers;
  const missed = resumptionMissedChannel.hasSubscribers || debug.enabled;
  const ticket = ticketChannel.hasSubscribers;
  if (!handshake && !missed && !ticket) return undefined;
  return new HandshakeObserver(server, context, handshake, missed, ticket);
}

/** what a completed handshake reports, read from its connection (a TLSSocket, or a native connection) */
export interface HandshakeFacts {
  socket: Duplex;
  resumed: boolean;
  servername: string | undefined;
  protocol: string | undefined;
  /** the cipher suite's IANA name */
  cipher: string | undefined;
  /** the connection's session now (why a session was not resumed) */
  session(): SslSession | undefined;
}

function socketFacts(socket: TLSSocket): HandshakeFacts {
  return {
    socket,
    resumed: socket.isSessionReused(),
    servername: socket.servername || undefined,
    protocol: socket.getProtocol() ?? undefined,
    cipher: socket.getCipher()?.standardName,
    session: () => socket.getSslSession(),
  };
}

/** @internal per connection: the handshake trace, the ticket key result, why it did not resume */
export class HandshakeObserver {
  readonly #server: EventEmitter;
  readonly #context: SslContext;
  readonly #trace: boolean;
  readonly #missed: boolean;
  readonly #ticket: boolean;
  readonly #start = performance.now();
  #message: HandshakeMessage | undefined;
  #hello: ClientHelloInfo | undefined;
  #lookup: LookupResult | undefined;
  /** whether the local cache held the offered id when OpenSSL read the hello (no object is
   * made for it: a resumed handshake, the common case, pays a lookup only) */
  #present: boolean | undefined;
  #ticketKey: TicketKeyResult | undefined;
  #done = false;

  constructor(server: EventEmitter, context: SslContext, trace: boolean, missed: boolean, ticket: boolean) {
    this.#server = server;
    this.#context = context;
    this.#trace = trace;
    this.#missed = missed;
    this.#ticket = ticket;
  }

  /** the TLSSocket exists: the handshake starts */
  attach(socket: TLSSocket): void {
    this.#begin(socket);
    socket.once('secure', () => this.#secure(socketFacts(socket)));
    socket.once('close', () => this.#failed(undefined));
    socket.on('error', (e: Error) => this.#failed(e));
  }

  #begin(socket: Duplex): void {
    if (!this.#trace || this.#message) return;
    this.#message = { server: this.#server, socket };
    if (this.#hello) this.#fromHello(this.#message, this.#hello);
    handshakeChannel.start.publish(this.#message);
    handshakeChannel.end.publish(this.#message);
  }

  /** a connection without a socket until its handshake ends (the native path): it completed.
   * The trace starts now (start, end, asyncStart, asyncEnd in a row), timed from the observer's making */
  completed(facts: HandshakeFacts): void {
    this.#begin(facts.socket);
    this.#secure(facts);
  }

  /** the same, for a connection that failed (`e` undefined: it closed) */
  failedWith(e: Error | undefined, socket: () => Duplex): void {
    if (this.#done) return;
    this.#begin(socket());
    this.#failed(e);
  }

  /** the native path: what the ticket key callback answered for this connection's ticket
   * ('refused': a revoked ticket, not decrypted; not published, as on the TLSSocket path) */
  ticketKey(key: TicketKeyResult | 'refused' | undefined, socket: Duplex): void {
    if (this.#done || this.#ticketKey !== undefined || key === undefined || key === 'refused' || this.#offered() !== 'ticket') return;
    this.#ticketKey = key;
    if (this.#ticket) ticketChannel.publish({ server: this.#server, socket, key } satisfies TicketMessage);
  }

  /** the ClientHello was read */
  hello(h: ClientHelloInfo): void {
    this.#hello = h;
    if (this.#message) this.#fromHello(this.#message, h);
  }

  #fromHello(m: HandshakeMessage, h: ClientHelloInfo): void {
    m.offered = this.#offered() ?? 'none';
    if (h.sessionId) m.sessionId = h.sessionId;
    if (h.servername !== undefined) m.servername = h.servername;
  }

  /** what the store lookup for the offered id answered */
  lookup(r: LookupResult | undefined): void {
    this.#lookup = r;
  }

  #offered(): 'id' | 'ticket' | undefined {
    const h = this.#hello;
    if (!h) return undefined;
    if (h.ticket && this.#context.ticketsEnabled) return 'ticket';
    return h.sessionId ? 'id' : undefined;
  }

  /** before an OpenSSL step: what the ticket key callback counted so far */
  beforeCycle(): TicketKeyStats | undefined {
    if (this.#done || !this.#hello) return undefined;
    const offered = this.#offered();
    if (offered === 'id' && this.#missed && this.#present === undefined) this.#present = this.#has(this.#hello.sessionId!);
    if (offered !== 'ticket' || this.#ticketKey !== undefined || this.#context.freed) return undefined;
    return this.#context.ticketKeyStats;
  }

  /** after an OpenSSL step: the ticket key callback's answer, if it ran */
  afterCycle(before: TicketKeyStats | undefined, socket: TLSSocket): void {
    if (!before || this.#context.freed) return;
    const after = this.#context.ticketKeyStats;
    const key: TicketKeyResult | undefined =
      after.current > before.current ? 'current' : after.previous > before.previous ? 'previous' : after.unknownKey > before.unknownKey ? 'unknown' : undefined;
    if (key === undefined) return;
    this.#ticketKey = key;
    if (this.#ticket) ticketChannel.publish({ server: this.#server, socket, key } satisfies TicketMessage);
  }

  #has(id: Buffer): boolean {
    return !this.#context.freed && PROTOCOLS.some((p) => this.#context[kHasSession](id, p));
  }

  #cached(id: Buffer): SslSession | null {
    if (this.#context.freed) return null;
    for (const p of PROTOCOLS) {
      const s = this.#context.getSession(id, p);
      if (s) return s;
    }
    return null;
  }

  #secure(facts: HandshakeFacts): void {
    if (this.#done) return;
    this.#done = true;
    const { socket, resumed } = facts;
    const offered = this.#offered();
    const m = this.#message;
    if (m) {
      m.resumed = resumed;
      if (resumed) m.mechanism = offered === 'ticket' ? 'ticket' : 'id';
      m.servername ??= facts.servername;
      m.protocol = facts.protocol;
      m.cipher = facts.cipher;
      m.durationMs = performance.now() - this.#start;
      handshakeChannel.asyncStart.publish(m);
      handshakeChannel.asyncEnd.publish(m);
    }
    if (!this.#missed || resumed) return;
    if (offered === undefined) {
      if (debug.enabled) debug('full handshake: the client offered no session');
      return;
    }
    const reason = this.#missReason(offered, facts);
    if (resumptionMissedChannel.hasSubscribers) {
      resumptionMissedChannel.publish({ server: this.#server, socket, offered, sessionId: this.#hello?.sessionId, reason } satisfies ResumptionMissedMessage);
    }
    if (debug.enabled) debug('not resumed: the client offered a %s (%s): %s', offered === 'id' ? 'session id' : 'ticket', this.#hello?.sessionId?.toString('hex') ?? '-', reason);
  }

  #missReason(offered: 'id' | 'ticket', facts: HandshakeFacts): ResumptionMissReason {
    if (offered === 'ticket') return this.#ticketKey === 'unknown' ? 'ticket-key-unknown' : 'ticket-rejected';
    const id = this.#hello!.sessionId!;
    switch (this.#lookup) {
      case 'over-limit':
        return 'lookup-over-limit';
      case 'timeout':
        return 'lookup-timeout';
      case 'error':
        return 'lookup-error';
      case 'negative':
        return 'lookup-negative';
      case 'invalid':
        return 'lookup-invalid';
      case 'revoked':
        return 'revoked';
      case 'sid-ctx-mismatch':
        return 'sid-ctx-mismatch';
      default:
    }
    if (!this.#present) return wasRevoked(id.toString('hex')) ? 'revoked' : 'unknown-id';
    // there when the hello arrived, gone now: OpenSSL's lookup found it expired and removed it
    const prev = this.#cached(id);
    if (!prev) return 'expired';
    // the new session of this full handshake carries the server's context, protocol and clock
    const now = facts.session();
    if (!now) return 'unknown-id';
    if (prev.time + prev.timeout <= now.time) return 'expired';
    if (!prev.idContext.equals(now.idContext)) return 'sid-ctx-mismatch';
    if (prev.protocol !== now.protocol) return 'protocol-mismatch';
    return 'cipher-mismatch';
  }

  #failed(e: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    const m = this.#message;
    if (!m) return;
    const error = e ?? new Error('the connection closed before the TLS handshake completed');
    m.error = error;
    m.failureReason = (error as Error & { code?: string }).code ?? error.message;
    m.durationMs = performance.now() - this.#start;
    handshakeChannel.error.publish(m);
    handshakeChannel.asyncStart.publish(m);
    handshakeChannel.asyncEnd.publish(m);
  }
}

/** a lookup's trace, started when someone subscribes (undefined otherwise) */
export function lookupStart(server: EventEmitter, id: Buffer): { m: LookupMessage; t: number } | undefined {
  if (!lookupChannel.hasSubscribers) return undefined;
  const m: LookupMessage = { server, id };
  lookupChannel.start.publish(m);
  lookupChannel.end.publish(m);
  return { m, t: performance.now() };
}

/** the lookup's result (or the listener error that fails the connection) */
export function lookupEnd(trace: { m: LookupMessage; t: number } | undefined, result: LookupResult | undefined, error?: unknown): void {
  if (!trace) return;
  const m = trace.m;
  m.durationMs = performance.now() - trace.t;
  if (error !== undefined) {
    m.error = error;
    lookupChannel.error.publish(m);
  } else m.result = result;
  lookupChannel.asyncStart.publish(m);
  lookupChannel.asyncEnd.publish(m);
}

/** `session:revoked`; the id is remembered for the 'revoked' reason of a later full handshake */
export function publishRevoked(server: EventEmitter, id: Buffer, origin: 'local' | 'store'): void {
  noteRevoked(id.toString('hex'));
  if (sessionRevokedChannel.hasSubscribers) sessionRevokedChannel.publish({ server, id, origin } satisfies SessionRevokedMessage);
}

/** the start time of a store.set when `session:stored` has subscribers */
export function storeSetStart(): number | undefined {
  return sessionStoredChannel.hasSubscribers ? performance.now() : undefined;
}

export function publishStored(server: EventEmitter, id: Buffer, t: number | undefined): void {
  if (t !== undefined && sessionStoredChannel.hasSubscribers) sessionStoredChannel.publish({ server, id, durationMs: performance.now() - t } satisfies SessionStoredMessage);
}
