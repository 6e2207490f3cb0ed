// The event engine of an SslContext: which events the native queue records (the mask), the
// package's own consumers, and the delivery after each OpenSSL call (kSettle).
//
// OpenSSL's callbacks only record (1.0.2 runs the remove callback with CRYPTO_LOCK_SSL_CTX
// held); the events are delivered after the OpenSSL call has returned, in the order OpenSSL
// produced them: to the package's own consumers first, then to each user listener.
import type { EventEmitter } from 'events';
import type { NativeContextHandle, NativeSessionEvent } from '../binding/native';
import { SESSION_EVENT_EVICTED, SessionEventKind } from '../binding/constants';
import type { ListenerEvents } from '../common/typed_events';
import { kFromHandle } from './internal';
import type { Failure } from './openssl_call';
import { SslSession } from './ssl_session';

/**
 * Why OpenSSL removed a session (second argument of 'removeSession'):
 * 'remove' removeSession()/raw remove; 'evict' an add pushed the cache over its size
 * (whatever call made the add: also a handshake's own insert);
 * 'flush' flushSessions(); 'free' the context was freed; 'handshake' a handshake found
 * it expired, or a connection that ended without a clean shutdown dropped it.
 */
export type RemoveReason = 'remove' | 'evict' | 'flush' | 'free' | 'handshake';

/** The events of an SslContext and their listeners' arguments. */
export interface SslContextEvents extends ListenerEvents {
  /** a handshake made a new session (mode SERVER/CLIENT, id not empty); `session` is the thread's one object of it (may be shared) */
  newSession: [session: SslSession];
  /** OpenSSL removed `session` from the cache, for `reason` */
  removeSession: [session: SslSession, reason: RemoveReason];
}

/** a consumer of new sessions as bytes (the session stores): id, DER (undefined when
 * i2d_SSL_SESSION failed), timeout in seconds — no SslSession is made for it */
export type NewSessionDERConsumer = (id: Buffer, der: Buffer | undefined, timeout: number) => void;

type SessionConsumer = (s: SslSession, reason: RemoveReason) => void;

/** @internal one per SslContext */
export class ContextEvents {
  /** the pending-event count native code publishes (state[0]): a SharedArrayBuffer cannot
   * be transferred or detached, so native memory stays valid whatever user code does */
  readonly state = new Uint32Array(new SharedArrayBuffer(4));
  readonly #owner: EventEmitter;
  #handle: NativeContextHandle | undefined;
  #internalMask = 0;
  #delivering = false;
  /**
   * queued events: [event, reason] pairs. An event's handle (holding its reference) becomes
   * an SslSession only when the event is delivered: an earlier listener may have freed the
   * thread's object of that session (identity), and then this event gets a new one.
   */
  #pending: (NativeSessionEvent | RemoveReason)[] = [];
  /** the package's own consumers (stores, revocation): served first, never by emit() */
  readonly #internal: { newSession: SessionConsumer[]; removeSession: SessionConsumer[]; newSessionDER: NewSessionDERConsumer[] } = {
    newSession: [],
    removeSession: [],
    newSessionDER: [],
  };

  constructor(owner: EventEmitter) {
    this.#owner = owner;
  }

  /** the native handle, once made (it takes `state` at construction) */
  attach(handle: NativeContextHandle): void {
    this.#handle = handle;
  }

  /** from now on the owner's listeners set the mask (once the context is set up) */
  watchListeners(): void {
    this.#owner.on('newListener', (name: string | symbol) => this.updateMask(name, 1));
    this.#owner.on('removeListener', (name: string | symbol) => this.updateMask(name, 0));
  }

  /** the native mask: what some consumer or listener wants (`adding`: a listener being added for `name`) */
  updateMask(name: string | symbol, adding: number): void {
    if (name !== 'newSession' && name !== 'removeSession' && name !== '') return;
    const h = this.#handle;
    if (h === undefined || h.freed()) return;
    const n = (event: 'newSession' | 'removeSession') => this.#owner.listenerCount(event) + (event === name ? adding : 0);
    const mask =
      this.#internalMask |
      (this.#internal.newSession.length > 0 || n('newSession') > 0 ? SessionEventKind.NEW_SESSION : 0) |
      (this.#internal.removeSession.length > 0 || n('removeSession') > 0 ? SessionEventKind.REMOVE_SESSION : 0) |
      (this.#internal.newSessionDER.length > 0 ? SessionEventKind.NEW_SESSION_DER : 0);
    h.setEventMask(mask);
  }

  /** keep recording removals without listeners (the package's own consumers) */
  retain(): void {
    this.#internalMask = SessionEventKind.REMOVE_SESSION;
    this.updateMask('', 0);
  }

  /** registers a package consumer; returns the unregister function */
  internalOn(event: 'newSession' | 'removeSession', fn: SessionConsumer): () => void;
  internalOn(event: 'newSessionDER', fn: NewSessionDERConsumer): () => void;
  internalOn(event: 'newSession' | 'removeSession' | 'newSessionDER', fn: SessionConsumer | NewSessionDERConsumer): () => void {
    const list = this.#internal[event] as (SessionConsumer | NewSessionDERConsumer)[];
    list.push(fn);
    this.updateMask('', 0);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
      this.updateMask('', 0);
    };
  }

  /**
   * One event to the package's own consumers, then to each user listener on its own: a
   * listener that throws does not keep the others (or the package) from seeing the event.
   * Returns the first thrown value, boxed.
   */
  #deliver(event: 'newSession' | 'removeSession', session: SslSession, reason: RemoveReason): Failure | undefined {
    let failure: Failure | undefined;
    for (const fn of [...this.#internal[event]]) {
      try {
        fn(session, reason);
      } catch (error) {
        failure ??= { error };
      }
    }
    // rawListeners: once() wrappers remove themselves when called, as emit() would
    for (const fn of this.#owner.rawListeners(event) as ((...a: unknown[]) => void)[]) {
      try {
        if (event === 'newSession') fn.call(this.#owner, session);
        else fn.call(this.#owner, session, reason);
      } catch (error) {
        failure ??= { error };
      }
    }
    return failure;
  }

  /** a new session's bytes to the DER consumers, each with its own copies after the first */
  #deliverDER(e: NativeSessionEvent): Failure | undefined {
    let failure: Failure | undefined;
    let first = true;
    for (const fn of [...this.#internal.newSessionDER]) {
      const id = first ? (e.id as Buffer) : Buffer.from(e.id as Buffer);
      const der = first || e.der === undefined ? e.der : Buffer.from(e.der);
      first = false;
      try {
        fn(id, der, e.timeout as number);
      } catch (error) {
        failure ??= { error };
      }
    }
    return failure;
  }

  /**
   * After an OpenSSL call: takes the exception the get callback threw during it and
   * delivers the events OpenSSL recorded, tagged with the reason of the call. Returns the
   * first failure (the callback's exception first: it is the cause of what followed), or
   * undefined.
   */
  settle(reason: RemoveReason): Failure | undefined {
    const h = this.#handle as NativeContextHandle;
    const thrown = h.takeCallbackError(); // kept even if the callback freed the context
    let failure: Failure | undefined = thrown === undefined ? undefined : { error: thrown, fromCallback: true };
    // a context freed during the call (by a callback) has no listeners left to reach;
    // free() itself delivers its own 'free' events
    if (this.state[0] === 0 || (reason !== 'free' && h.freed())) return failure;
    // Take the events now, tagged with the reason of the call that caused them. A call
    // made by a listener (re-entrant) only queues: the outer loop below emits everything
    // in the order OpenSSL produced it.
    for (const e of h.takeEvents()) {
      // an eviction is 'evict' whatever call caused it (a handshake's own insert too)
      this.#pending.push(e, e.type & SESSION_EVENT_EVICTED ? 'evict' : reason);
    }
    if (this.#delivering) return failure;
    this.#delivering = true;
    const q = this.#pending;
    let i = 0;
    try {
      for (; i < q.length; i += 2) {
        const e = q[i] as NativeSessionEvent;
        const isNew = (e.type & ~SESSION_EVENT_EVICTED) === SessionEventKind.NEW_SESSION;
        // every consumer sees every event: deliver first, then keep the first failure
        if (isNew && e.id !== undefined) {
          const f = this.#deliverDER(e);
          failure ??= f;
        }
        if (e.session === undefined) continue;
        const session = SslSession[kFromHandle](e.session);
        e.session = undefined; // taken (its reference is the session's now)
        const f = this.#deliver(isNew ? 'newSession' : 'removeSession', session, q[i + 1] as RemoveReason);
        failure ??= f;
      }
    } finally {
      // only after an unexpected throw: the references of events nobody will see
      for (; i < q.length; i += 2) (q[i] as NativeSessionEvent).session?.free();
      this.#pending = [];
      this.#delivering = false;
    }
    return failure;
  }
}
