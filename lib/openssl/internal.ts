// Symbols that give the package's own modules access to native handles and to the
// contexts' event machinery. Not exported from the package root; stripped from the
// published types (@internal).

/** @internal the native handle of an SslContext / SslSession */
export const kHandle = Symbol('openssl-session-cache.handle');
/** @internal SslSession: wraps a native handle that already owns its reference */
export const kFromHandle = Symbol('openssl-session-cache.fromHandle');
/** @internal SslContext: take the get-callback error and deliver the events of the last OpenSSL call */
export const kSettle = Symbol('openssl-session-cache.settle');
/** @internal SslContext: keep recording events without listeners (the package's own consumers) */
export const kRetainEvents = Symbol('openssl-session-cache.retainEvents');
/** @internal SslContext: register the package's own consumer of 'newSession' / 'removeSession',
 * called before any user listener and unaffected by them; returns the unregister function */
export const kInternalOn = Symbol('openssl-session-cache.internalOn');
/** @internal SslContext: the [lowest, highest] protocol its options allow */
export const kVersionRange = Symbol('openssl-session-cache.versionRange');
/** @internal SslContext: a store's DER into the cache for an offered id, with no SslSession made */
export const kAddSessionDER = Symbol('openssl-session-cache.addSessionDER');
/** @internal SslSession: the live object for an identity key (lib/openssl/identity.ts) */
export const kLive = Symbol('openssl-session-cache.live');
/** @internal SslSession#[kListed](): the object is the one lookups return for its session */
export const kListed = Symbol('openssl-session-cache.listed');
/** @internal SslSession: one more native reference as a private object outside the identity table */
export const kRetain = Symbol('openssl-session-cache.retain');
/** @internal SslContext: whether a session with this id and protocol is cached (no object made) */
export const kHasSession = Symbol('openssl-session-cache.hasSession');
/** @internal SslContext: register the package's own consumer of new sessions as bytes
 * (id, DER serialized natively, timeout), before any other consumer; returns the unregister function */
export const kNewSessionDER = Symbol('openssl-session-cache.newSessionDER');
/** @internal SslContext: remove the cached session with an id under given protocols, with no SslSession made */
export const kRemoveSessionId = Symbol('openssl-session-cache.removeSessionId');
