// The ClientHello hand-off of the native connection path: the listener holds a connection's
// whole ClientHello (its HELLO event) until the server's ClientHello gate has decided — the
// same HelloGate as on the Node-socket path (hello_gate.ts): node:tls's refusals
// (hello_policy.ts; the alert goes out natively and the connection fails with the same
// 'tlsClientError'), the revoked-ticket check, the session store prefetch (setup.prefetch)
// and the context for the server name (SNICallback, addContext, setSecureContext).
// Also the socket-like object 'tlsClientError' gets for a native connection.
import { EventEmitter } from 'events';
import { toError } from '../common/to_error';
import { NativeListenerHandle, NativePeerAddress, proceedNativeHello } from '../openssl/native_listener';
import type { SslContext } from '../openssl/ssl_context';
import { HelloGate, HelloGateSetup } from './hello_gate';

/** the server the native path's connections belong to ('tlsClientError') */
interface ErrorTarget {
  emit(event: 'tlsClientError', err: Error, socket: never): boolean;
}

/** The ClientHello gates of a native listener's connections. */
export class NativeHelloGates {
  readonly #server: ErrorTarget;
  readonly #context: SslContext;
  readonly #setup: () => HelloGateSetup;
  /** connections whose ClientHello waits for the gate */
  readonly #waiting = new Set<number>();
  /** connections handed to OpenSSL with a context of their own (OpenSSL's servername callback switches to it) */
  readonly #switched = new Set<number>();

  /** `setup`: the gate's setup of one connection (the server's, as on the Node-socket path) */
  constructor(server: ErrorTarget, context: SslContext, setup: () => HelloGateSetup) {
    this.#server = server;
    this.#context = context;
    this.#setup = setup;
  }

  /**
   * The gate for the ClientHello `bytes` of connection `id` (everything the listener held:
   * the whole hello, or what arrived when it is none); the listener goes on with proceed()
   * — on the gate's context for the server name — or refuse(). `prefetch`: this
   * connection's store prefetch, in place of the setup's.
   */
  hello(listener: NativeListenerHandle, id: number, bytes: Buffer, prefetch?: HelloGateSetup['prefetch']): void {
    this.#waiting.add(id);
    let verdict: ReturnType<HelloGate['push']>;
    let sniContext: SslContext | undefined;
    try {
      const target = {
        refuseTicket: () => listener.refuseTicket(id),
        setSniContext: (ctx: SslContext) => {
          sniContext = ctx;
        },
      };
      // the store prefetch runs here too: the setup's prefetch(hello, live)
      const setup = this.#setup();
      const gate = new HelloGate(prefetch ? { ...setup, prefetch } : setup, this.#context, target, () => this.#waiting.has(id));
      verdict = gate.push(bytes);
    } catch (e) {
      this.#fail(listener, id, toError(e));
      return;
    }
    if (verdict?.refused) {
      const { alert, error } = verdict.refused;
      if (!this.#waiting.delete(id)) return;
      const socket = new NativeClientErrorSocket(listener, id);
      listener.refuse(id, alert);
      this.#server.emit('tlsClientError', error, socket as never);
      return;
    }
    const proceed = (): void => {
      if (!this.#waiting.delete(id)) return;
      if (sniContext && sniContext !== this.#context && !sniContext.freed) this.#switched.add(id);
      proceedNativeHello(listener, id, sniContext);
    };
    // no verdict: the gate's parser wants more (an SSLv2 hello cut short); OpenSSL reads on
    if (verdict?.ready) verdict.ready.then(proceed, (e: unknown) => this.#fail(listener, id, toError(e)));
    else proceed();
  }

  /** the connection failed or closed (the listener reported it) */
  gone(id: number): void {
    this.#waiting.delete(id);
    this.#switched.delete(id);
  }

  /** the connection's handshake finished: whether it runs on the context for its server name (TLSSocket's sniContextSwitched) */
  secure(id: number): boolean {
    return this.#switched.delete(id);
  }

  // destroys a waiting connection, then 'tlsClientError' with `err`
  #fail(listener: NativeListenerHandle, id: number, err: Error): void {
    if (!this.#waiting.delete(id)) return;
    const socket = new NativeClientErrorSocket(listener, id);
    listener.destroy(id);
    this.#server.emit('tlsClientError', err, socket as never);
  }
}

/**
 * The socket of a native connection that failed before its handshake completed, as
 * 'tlsClientError' (and an HTTPS server's 'clientError') gets it: the peer's and the local
 * address, to log or block the client. The listener is already closing the connection
 * (destroyed is true, as a node:tls socket's there); destroy() closes it at once.
 */
export class NativeClientErrorSocket extends EventEmitter {
  readonly encrypted = true;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly destroyed = true;
  /** the connection is closing already (net.Socket's `closed`) */
  readonly closed = true;
  readonly writable = false;
  readonly #listener: NativeListenerHandle;
  readonly #id: number;

  /** @internal made by the server's native path while the connection is still known */
  constructor(listener: NativeListenerHandle, id: number) {
    super();
    const a: NativePeerAddress = listener.peer(id) ?? {};
    this.remoteAddress = a.remoteAddress;
    this.remotePort = a.remotePort;
    this.remoteFamily = a.remoteFamily;
    this.localAddress = a.localAddress;
    this.localPort = a.localPort;
    this.#listener = listener;
    this.#id = id;
  }

  /** closes the connection now (what it still had queued is dropped) */
  destroy(): this {
    this.#listener.destroy(this.#id);
    return this;
  }

  /** net.Socket's end(): the connection is already failing; it closes */
  end(): this {
    return this.destroy();
  }
}
