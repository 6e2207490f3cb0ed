/**
 * Where a server keeps sessions outside OpenSSL (all promises). Ids and DER are Buffers;
 * `ttlSeconds` is the session's timeout. `get` resolves undefined (or null) on a miss.
 */
export interface SessionStore {
  get(id: Buffer): Promise<Buffer | undefined | null>;
  set(id: Buffer, der: Buffer, ttlSeconds: number): Promise<void>;
  delete(id: Buffer): Promise<void>;
}

export function isSessionStore(v: unknown): v is SessionStore {
  const s = v as SessionStore;
  return (
    typeof v === 'object' && v !== null && typeof s.get === 'function' && typeof s.set === 'function' && typeof s.delete === 'function'
  );
}
