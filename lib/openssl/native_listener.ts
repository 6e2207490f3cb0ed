// The native connection path's OpenSSL side: a NativeListener (lib/binding/native_listener.ts)
// running its handshakes on an SslContext's SSL_CTX, and the settling of the context's
// events and get-callback errors after the native calls that ran them.
import { newNativeListener, NativeListenerCallback, NativeListenerHandle, NativeListenerOptions } from '../binding/native_listener';
import { kHandle } from './internal';
import { Failure, settleContexts } from './openssl_call';
import type { SslContext } from './ssl_context';
import type { TlsAnswers, TlsQuerySource } from './tls_connection';

export { NativeListenerEvent } from '../binding/native_listener';
export type { NativeAddresses, NativeTcpState, NativeConnectionInfo, NativePeerAddress, NativeListenerAddress, NativeListenerCallback, NativeListenerHandle, NativeListenerOptions, NativeTicketInfo } from '../binding/native_listener';

/** a native TCP listener whose connections handshake on `ctx`'s SSL_CTX (its cache, callbacks and stores) */
export function openNativeListener(ctx: SslContext, onEvent: NativeListenerCallback, opts: NativeListenerOptions): NativeListenerHandle {
  return newNativeListener(ctx[kHandle], onEvent, opts);
}

/** delivers what the native handshakes on `ctx` recorded (events, a get callback's exception) */
export function settleNativeHandshakes(ctx: SslContext): Failure | undefined {
  return settleContexts([ctx], 'handshake');
}

/** after HELLO: OpenSSL reads the held ClientHello, on `ctx` (an SNICallback's answer) when given */
export function proceedNativeHello(listener: NativeListenerHandle, id: number, ctx: SslContext | undefined): void {
  listener.proceed(id, ctx && !ctx.freed ? ctx[kHandle] : undefined);
}

/** the TLS queries of the listener's connection `id` (undefined answers once it is gone) */
export function nativeQuerySource(listener: NativeListenerHandle, id: number): TlsQuerySource {
  return { query: <K extends keyof TlsAnswers>(name: K, ...args: unknown[]) => listener.query(id, name, ...args) as TlsAnswers[K] | undefined };
}

/**
 * The ticket connection `id`'s ClientHello offers is not decrypted: a full handshake, counted
 * as `revoked` in the context's ticketKeyStats (the ClientHello gate's answer for a revoked
 * ticket). Call it before OpenSSL reads the hello (on HELLO before proceed(), or on
 * OBSERVED_HELLO); false when the connection is gone.
 */
export function refuseNativeTicket(listener: NativeListenerHandle, id: number): boolean {
  return listener.refuseTicket(id);
}
