// Session stores and node:tls's session events on the native connection path
// (lib/tls/native_connection_path.ts), through the same SessionResumption as the Node-socket
// path (lib/tls/session_resumption.ts):
// - the prefetch: the native listener hands each ClientHello over (HELLO) before OpenSSL
//   reads it; SessionResumption asks the store, then the 'resumeSession' listeners, and adds
//   the answer to the context; proceed(id) then lets OpenSSL read the hello. The answer may
//   come after the connection is gone (handshake timeout, peer closed): `live` says so, and
//   proceed() ignores an id that is gone.
// - the hold: a full handshake reports STEP before its last flight is sent; the context's
//   events are settled there (new sessions reach the store and the 'newSession' listeners)
//   and the flight, 'secureConnection' and what the client sent meanwhile wait until every
//   'newSession' callback ran (release(id)), as TLSSocket holds its step on the other path.
// Stats, revoke(), the revocation feed and the store-down fallback are SessionResumption's
// own and work unchanged.
import type { EventEmitter } from 'events';
import type { NativeListenerHandle } from '../openssl/native_listener';
import { settleNativeHandshakes } from '../openssl/native_listener';
import type { SslContext } from '../openssl/ssl_context';
import { toError } from '../common/to_error';
import type { ClientHelloInfo } from './client_hello_parser';
import type { SessionResumption } from './session_resumption';
import type { HandshakeObserver } from './observe';
import { NativeClientErrorSocket } from './native_hello';

/** a TlsServer's session resumption, wired to its native listener */
export class NativeSessionHooks {
  readonly #server: EventEmitter;
  readonly #resumption: SessionResumption;
  readonly #context: SslContext;
  #listener: NativeListenerHandle | undefined;
  /** connections whose prefetch is in flight → still wanted (false once FAILED came) */
  readonly #pending = new Map<number, boolean>();

  constructor(server: EventEmitter, resumption: SessionResumption, context: SslContext) {
    this.#server = server;
    this.#resumption = resumption;
    this.#context = context;
    // listeners added or removed while listening change what the listener reports
    // ('newListener' runs before the listener is added, 'removeListener' after it left)
    server.on('newListener', (name: string | symbol) => {
      if (name === 'newSession' || name === 'resumeSession') this.#apply(name);
    });
    server.on('removeListener', (name: string | symbol) => {
      if (name === 'newSession') this.#apply();
    });
  }

  /** the listener listen() opened */
  attach(listener: NativeListenerHandle): void {
    this.#listener = listener;
    this.#apply();
  }

  /** `adding`: the event a listener is being added for (not counted yet) */
  #apply(adding?: 'newSession' | 'resumeSession'): void {
    this.#listener?.storeHooks(this.#resumption.wantsPrefetch || adding === 'resumeSession', this.#server.listenerCount('newSession') > 0 || adding === 'newSession');
  }

  /**
   * The store prefetch for the connection `id`'s ClientHello, undefined when there is
   * nothing to look up (SessionResumption#answersLocally). Rejects only with a
   * 'resumeSession' listener's error (the connection then fails). `wanted`: whether the
   * caller still waits for this connection (a HelloGate's `live`), besides FAILED and the
   * listener knowing the id.
   */
  prefetch(listener: NativeListenerHandle, id: number, hello: ClientHelloInfo | undefined, wanted?: () => boolean, observer?: HandshakeObserver): Promise<void> | undefined {
    // a hello the local cache answers for goes on at once (most resumptions with a store)
    if (!hello || !this.#resumption.wantsPrefetch || this.#resumption.answersLocally(hello)) return undefined;
    const pending = this.#pending;
    pending.set(id, true);
    const live = () => pending.get(id) === true && listener.info(id) !== undefined && (wanted?.() ?? true);
    return this.#resumption.prefetch(hello, live, observer, listener.info(id)?.remoteAddress).finally(() => pending.delete(id));
  }

  /** FAILED for `id`: a lookup answered from now on is for a gone connection (FAILED comes
   * before the native close, and JS may run the answer in between) */
  failed(id: number): void {
    if (this.#pending.has(id)) this.#pending.set(id, false);
  }

  /**
   * STEP: the handshake of `id` made a session. Its events are delivered now; true when
   * 'newSession' callbacks are outstanding (the listener holds the step until they all ran,
   * then release(id)). A listener or callback that failed fails the connection.
   */
  step(listener: NativeListenerHandle, id: number): boolean {
    const failure = settleNativeHandshakes(this.#context);
    if (failure) {
      this.#fail(listener, id, toError(failure.error));
      return false;
    }
    const hold = this.#resumption.holdStep();
    if (!hold) return false;
    hold.then(
      () => listener.release(id),
      (e: unknown) => this.#fail(listener, id, toError(e)),
    );
    return true;
  }

  #fail(listener: NativeListenerHandle, id: number, error: Error): void {
    failConnection(this.#server, listener, id, error);
  }
}

/** fails the connection `id` as a TLSSocket destroyed before it is secure: 'tlsClientError', unless it is gone already */
export function failConnection(server: EventEmitter, listener: NativeListenerHandle, id: number, error: Error): void {
  if (listener.info(id) === undefined) return;
  const socket = new NativeClientErrorSocket(listener, id);
  listener.destroy(id);
  server.emit('tlsClientError', error, socket);
}
