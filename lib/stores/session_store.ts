/**
 * Where a server keeps sessions outside OpenSSL (all promises). Ids and DER are Buffers;
 * `ttlSeconds` is the session's timeout. `get` resolves undefined (or null) on a miss.
 */
export interface SessionStore {
  get(id: Buffer): Promise<Buffer | undefined | null>;
  set(id: Buffer, der: Buffer, ttlSeconds: number): Promise<void>;
  delete(id: Buffer): Promise<void>;
  /**
   * Optional: fleet-wide revocation. Calls onRevoked(id) whenever any user of the same
   * store (another process, another server in this one, or this very caller) deleted id,
   * so that servers drop the session from their own OpenSSL cache too. Returns the
   * unsubscribe function. TlsServer subscribes when the method exists.
   *
   * `onResync`, when given, is called each time the store's revocation feed was
   * interrupted and is listening again (revocations sent meanwhile may have been missed):
   * TlsServer then drops every session its local cache holds from the store. The first
   * time the feed is listening counts as a resync too.
   *
   * `onDown`, when given, is called when the feed stops listening (connection lost,
   * subscription refused, heartbeat unanswered), with an Error saying why; and at once,
   * without an error, from subscribe() itself while the feed is not listening yet. Until
   * the next `onResync()`, TlsServer caches nothing from the store (each ClientHello asks it).
   * A store that never calls onDown is trusted to deliver every revocation.
   */
  subscribe?(onRevoked: (id: Buffer) => void, onResync?: () => void, onDown?: (err?: Error) => void): () => void;
}

export function isSessionStore(v: unknown): v is SessionStore {
  const s = v as SessionStore;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof s.get === 'function' &&
    typeof s.set === 'function' &&
    typeof s.delete === 'function' &&
    (s.subscribe === undefined || typeof s.subscribe === 'function')
  );
}
