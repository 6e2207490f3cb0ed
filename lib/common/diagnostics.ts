// The package's node:diagnostics_channel channels and the shape of each message: one place
// for every name and type (docs/operating.md lists them). Publishers check
// `hasSubscribers` before they build a message, so a channel nobody subscribes to costs a
// boolean read. In lib/common because the cache and store layers publish too.
//
// TracingChannels (a start and an end) publish one context object on
// `tracing:<name>:start`, `:end` (the synchronous part returned), `:error` (it failed),
// `:asyncStart` and `:asyncEnd` (it finished); the fields of the result are set on the
// same object before `:asyncStart`. Plain channels publish one message per event.
import * as dc from 'diagnostics_channel';
import type { EventEmitter } from 'events';
import type { Duplex } from 'stream';

/** the prefix of every channel name */
export const CHANNEL_PREFIX = 'openssl-session-cache';

/** How a handshake that resumed found its session. */
export type ResumptionMechanism = 'id' | 'ticket';

/** What a client offered in its ClientHello: a session id, a non-empty ticket, or nothing. */
export type OfferedSession = 'id' | 'ticket' | 'none';

/**
 * `tracing:openssl-session-cache:handshake:*` — one server handshake, from the TCP
 * connection's TLSSocket to 'secure' (asyncStart/asyncEnd) or its failure (error, then
 * asyncStart/asyncEnd). The result fields are set before asyncStart.
 */
export interface HandshakeMessage {
  /** the TlsServer that accepted the connection */
  server: EventEmitter;
  /** the connection's TLSSocket */
  socket: Duplex;
  /** what the ClientHello offered (undefined when the hello was not read: a failure before it) */
  offered?: OfferedSession;
  /** the session id the client offered, when it offered one */
  sessionId?: Buffer;
  /** the server_name the client asked for (read from the hello with an SNICallback, else set at the end) */
  servername?: string;
  /** set at the end: true when the session was resumed */
  resumed?: boolean;
  /** set at the end when resumed */
  mechanism?: ResumptionMechanism;
  /** set at the end of a completed handshake: 'TLSv1.2', ... */
  protocol?: string;
  /** set at the end of a completed handshake: the IANA name of the cipher suite */
  cipher?: string;
  /** set at the end: milliseconds from the TCP connection to the end of the handshake */
  durationMs?: number;
  /** set on failure: what failed the handshake */
  error?: Error;
  /** set on failure: the error's code, else its message */
  failureReason?: string;
}

/** What a store lookup (or a 'resumeSession' listener) answered for an offered id. */
export type LookupResult =
  /** a session was added to the local cache */
  | 'hit'
  /** nothing for the id */
  | 'miss'
  /** an answer that is not a usable session for the id (bad DER, another id's session) */
  | 'invalid'
  /** the store did not answer within sessionStoreTimeout */
  | 'timeout'
  /** the store failed */
  | 'error'
  /** the store's session is for another session id context (another application's): refused */
  | 'sid-ctx-mismatch'
  /** not asked: sessionStoreConcurrency lookups were in flight, or this peer address had its share */
  | 'over-limit'
  /** not asked: the id missed recently (the negative cache) */
  | 'negative'
  /** the id was revoked while the store answered, or recently (a store restarted from an
   * older snapshot may hand it back): the answer is dropped */
  | 'revoked';

/** `tracing:openssl-session-cache:lookup:*` — a ClientHello's id asked of the store and the 'resumeSession' listeners. */
export interface LookupMessage {
  server: EventEmitter;
  /** the offered session id */
  id: Buffer;
  /** set at the end */
  result?: LookupResult;
  /** set at the end: milliseconds from the start of the lookup */
  durationMs?: number;
  /** set on failure (a 'resumeSession' listener's error, which fails the connection) */
  error?: unknown;
}

/** `openssl-session-cache:session:stored` — the store accepted a new session (store.set resolved). */
export interface SessionStoredMessage {
  server: EventEmitter;
  id: Buffer;
  /** milliseconds store.set took */
  durationMs: number;
}

/** `openssl-session-cache:session:revoked` — a session was revoked. */
export interface SessionRevokedMessage {
  server: EventEmitter;
  id: Buffer;
  /** 'local': server.revoke(id); 'store': heard on the store's revocation feed */
  origin: 'local' | 'store';
}

/** Why a session left a context's cache (the SslContext 'removeSession' reason). */
export type RemovalReason = 'remove' | 'evict' | 'flush' | 'free' | 'handshake';

/**
 * `openssl-session-cache:session:removed` — a session left a server's cache: 'evict' (the
 * cache was full), 'flush' (expired, swept by flushSessions or OpenSSL's automatic flush),
 * 'handshake' (found expired by a lookup, or the session of a failed connection),
 * 'remove' (removeSession / a revocation), 'free' (the context was freed). Published for a
 * server's context once a connection arrived while someone subscribed (or a metrics
 * recorder watches it): the context then records its removals.
 */
export interface SessionRemovedMessage {
  server: EventEmitter;
  /** the server's SslContext */
  context: EventEmitter;
  id: Buffer;
  reason: RemovalReason;
}

/** Which key decrypted an offered ticket. */
export type TicketKeyResult = 'current' | 'previous' | 'unknown';

/**
 * `openssl-session-cache:ticket` — a ticket the client offered met the ticket key callback
 * (installed by ticketKeys / setTicketKeys): decrypted under the current key, a previous
 * one, or a key the server does not hold (a full handshake follows).
 */
export interface TicketMessage {
  server: EventEmitter;
  socket: Duplex;
  key: TicketKeyResult;
}

/**
 * Why a handshake did not resume although the client offered a session:
 * - 'unknown-id': the id is in neither the local cache nor the store (nor known to the
 *   'resumeSession' listeners)
 * - 'expired': the session was found but its lifetime had passed
 * - 'sid-ctx-mismatch': the session belongs to another session id context
 * - 'protocol-mismatch': the session was made under another protocol version
 * - 'cipher-mismatch': the session's cipher is not one the client offers now
 * - 'ticket-key-unknown': the ticket was encrypted under a key the server does not hold
 * - 'ticket-rejected': the ticket decrypted (or was not checked by a key callback) but did
 *   not resume (expired, another context or protocol)
 * - 'revoked': the id was revoked
 * - 'lookup-over-limit', 'lookup-timeout', 'lookup-error', 'lookup-negative': the store
 *   was not asked or did not answer (see LookupResult)
 * - 'lookup-invalid': the store answered with something that is not a session for the id
 */
export type ResumptionMissReason =
  | 'unknown-id'
  | 'expired'
  | 'sid-ctx-mismatch'
  | 'protocol-mismatch'
  | 'cipher-mismatch'
  | 'ticket-key-unknown'
  | 'ticket-rejected'
  | 'revoked'
  | 'lookup-over-limit'
  | 'lookup-timeout'
  | 'lookup-error'
  | 'lookup-negative'
  | 'lookup-invalid';

/** `openssl-session-cache:resumption:missed` — a handshake completed in full although the client offered a session. */
export interface ResumptionMissedMessage {
  server: EventEmitter;
  socket: Duplex;
  offered: 'id' | 'ticket';
  /** the offered session id (with a ticket: the id the client sent along, if any) */
  sessionId?: Buffer;
  reason: ResumptionMissReason;
}

/** The state of a store's connection. */
export type StoreConnectionState = 'ready' | 'error' | 'resync' | 'closed';

/**
 * `openssl-session-cache:store:connection` — a RedisSessionStore's connection became ready,
 * failed (the error), resubscribed after a disconnection ('resync': revocations may have
 * been missed) or was closed.
 */
export interface StoreConnectionMessage {
  store: object;
  state: StoreConnectionState;
  error?: Error;
}

export const handshakeChannel = dc.tracingChannel<HandshakeMessage, HandshakeMessage>(`${CHANNEL_PREFIX}:handshake`);
export const lookupChannel = dc.tracingChannel<LookupMessage, LookupMessage>(`${CHANNEL_PREFIX}:lookup`);
export const sessionStoredChannel = dc.channel(`${CHANNEL_PREFIX}:session:stored`);
export const sessionRevokedChannel = dc.channel(`${CHANNEL_PREFIX}:session:revoked`);
export const sessionRemovedChannel = dc.channel(`${CHANNEL_PREFIX}:session:removed`);
export const ticketChannel = dc.channel(`${CHANNEL_PREFIX}:ticket`);
export const resumptionMissedChannel = dc.channel(`${CHANNEL_PREFIX}:resumption:missed`);
export const storeConnectionChannel = dc.channel(`${CHANNEL_PREFIX}:store:connection`);

/** the plain channels' names, for subscribers (diagnostics_channel.subscribe(name, fn)) */
export const CHANNELS = {
  handshake: `${CHANNEL_PREFIX}:handshake`,
  lookup: `${CHANNEL_PREFIX}:lookup`,
  sessionStored: `${CHANNEL_PREFIX}:session:stored`,
  sessionRevoked: `${CHANNEL_PREFIX}:session:revoked`,
  sessionRemoved: `${CHANNEL_PREFIX}:session:removed`,
  ticket: `${CHANNEL_PREFIX}:ticket`,
  resumptionMissed: `${CHANNEL_PREFIX}:resumption:missed`,
  storeConnection: `${CHANNEL_PREFIX}:store:connection`,
} as const;

/** a store's connection state (RedisSessionStore), when someone subscribes */
export function publishStoreConnection(store: object, state: StoreConnectionState, error?: Error): void {
  if (storeConnectionChannel.hasSubscribers) storeConnectionChannel.publish({ store, state, error } satisfies StoreConnectionMessage);
}

/** when each context's ticket keys were last set (the key age metric) */
const ticketKeysSetAt = new WeakMap<object, number>();

/** records that `context` got new ticket keys now (or, from a TicketKeyRing, since when its current key encrypts) */
export function noteTicketKeysSet(context: object, since: number = Date.now()): void {
  ticketKeysSetAt.set(context, since);
}

/** when `context`'s ticket keys were last set (ms since the epoch), undefined if never */
export function ticketKeysSetTime(context: object): number | undefined {
  return ticketKeysSetAt.get(context);
}

/** recently revoked ids (hex), bounded: the 'revoked' reason of a later full handshake */
const recentlyRevoked = new Set<string>();
const RECENTLY_REVOKED_MAX = 4096;

export function noteRevoked(hex: string): void {
  recentlyRevoked.delete(hex);
  recentlyRevoked.add(hex);
  if (recentlyRevoked.size > RECENTLY_REVOKED_MAX) recentlyRevoked.delete(recentlyRevoked.values().next().value as string);
}

export function wasRevoked(hex: string): boolean {
  return recentlyRevoked.has(hex);
}
