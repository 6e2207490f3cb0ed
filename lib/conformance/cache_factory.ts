import { SessionCache, SessionCacheOptions } from '../model/session_cache';

/** Makes a fresh cache for one scenario or one random sequence. */
export type CacheFactory = (options: SessionCacheOptions) => SessionCache;

/** Releases a cache made by a factory, if it has `dispose()` or `free()`. */
export function disposeCache(cache: SessionCache): void {
  const c = cache as SessionCache & { dispose?: () => void; free?: () => void };
  if (typeof c.dispose === 'function') c.dispose();
  else if (typeof c.free === 'function') c.free();
}
