// The one way the package calls OpenSSL on behalf of SslContexts.
//
// OpenSSL's callbacks only record (rule 3 of docs/architecture.md: no JS runs while
// OpenSSL holds a lock): the new/remove callbacks queue events, and the get callback — the
// one callback that must answer synchronously — turns a JS exception into "no session"
// and keeps the exception. After the call returns, each context involved settles: its
// kept exception is taken and its events are emitted. callOpenSSL() does both steps and
// throws the first failure.
import { kSettle } from './internal';
import type { RemoveReason, SslContext } from './ssl_context';

/** a thrown value, boxed so that `undefined` and `null` can be thrown and kept too */
export interface Failure {
  error: unknown;
  /** thrown by a get callback during the call (rather than by a listener) */
  fromCallback?: boolean;
}

/**
 * After an OpenSSL call that ended with `failure` (or none): settles every context once
 * (a context freed meanwhile only gives up its callback's exception) and returns the first
 * failure, in this order: an exception a get callback threw (the cause of what followed),
 * the call's own failure, then the first exception a listener threw. Every event is
 * delivered whatever fails.
 */
export function settleContexts(contexts: readonly SslContext[], reason: RemoveReason, failure?: Failure): Failure | undefined {
  let callback: Failure | undefined;
  let listener: Failure | undefined;
  // one or two contexts (every socket pump step, handshake()): no de-duplication set to allocate
  const seen = contexts.length > 2 ? new Set<SslContext>() : undefined;
  for (let i = 0; i < contexts.length; i++) {
    const ctx = contexts[i];
    if (seen) {
      if (seen.has(ctx)) continue;
      seen.add(ctx);
    } else if (i === 1 && ctx === contexts[0]) {
      continue;
    }
    const f = ctx[kSettle](reason);
    if (f === undefined) continue;
    // kSettle reports the callback's exception before a listener's
    if (callback === undefined && f.fromCallback) callback = f;
    else listener ??= f;
  }
  return callback ?? failure ?? listener;
}

/**
 * Runs `call` (one OpenSSL call through the binding), then settles `contexts`. Returns the
 * call's result, or throws the first failure (see settleContexts); `discard` receives a
 * result nobody will see, to release what it holds at once.
 */
export function callOpenSSL<T>(contexts: readonly SslContext[], reason: RemoveReason, call: () => T, discard?: (result: T) => void): T {
  let result: T | undefined;
  let failure: Failure | undefined;
  let returned = false;
  try {
    result = call();
    returned = true;
  } catch (error) {
    failure = { error };
  }
  failure = settleContexts(contexts, reason, failure);
  if (failure) {
    if (returned && discard) discard(result as T);
    throw failure.error;
  }
  return result as T;
}
