/**
 * Loads a user's `SessionCache` implementation for `--model MODULE`. Accepted shapes
 * (CommonJS, or an ES module compiled to CommonJS):
 * - `module.exports = { createCache(options) { return cache; } }` (also as `exports.default.createCache`);
 * - a class: `module.exports = MyCache`, `exports.default = MyCache` or `exports.SessionCache = MyCache`,
 *   constructed as `new MyCache(options)`;
 * - a factory function: `module.exports = (options) => cache`;
 * - a module whose only exported class implements `handshake` (e.g. `{ CacheModel }`).
 * `options` is a `SessionCacheOptions` (`{ mode?, cacheSize?, timeout? }`). A cache with a
 * `dispose()` or `free()` method is released after each scenario or sequence.
 */

import * as path from 'node:path';
import { CacheFactory } from './cache_factory';
import { SessionCacheOptions } from '../model/session_cache';

function isClass(f: unknown): f is new (options: SessionCacheOptions) => unknown {
  if (typeof f !== 'function') return false;
  if (/^class[\s{]/.test(Function.prototype.toString.call(f))) return true;
  const proto = (f as { prototype?: Record<string, unknown> }).prototype;
  return proto !== undefined && typeof proto.handshake === 'function';
}

function asFactory(candidate: unknown): CacheFactory | undefined {
  if (isClass(candidate)) {
    const Cls = candidate;
    return (options) => new Cls(options) as ReturnType<CacheFactory>;
  }
  if (typeof candidate === 'function') return candidate as CacheFactory;
  if (candidate !== null && typeof candidate === 'object') {
    const createCache = (candidate as { createCache?: unknown }).createCache;
    if (typeof createCache === 'function') return (options) => createCache.call(candidate, options);
  }
  return undefined;
}

/** The factory a module exports; throws a readable error when it exports none. */
export function loadCacheFactory(moduleName: string, cwd = process.cwd()): CacheFactory {
  const resolved = moduleName.startsWith('.') || path.isAbsolute(moduleName) ? path.resolve(cwd, moduleName) : moduleName;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded: unknown = require(require.resolve(resolved, { paths: [cwd] }));
  const exported = loaded as Record<string, unknown> | undefined;
  const candidates: unknown[] = [
    exported !== null && typeof exported === 'object' && typeof exported.createCache === 'function' ? exported : undefined,
    exported?.default,
    exported?.SessionCache,
    loaded,
  ];
  for (const c of candidates) {
    if (c === undefined) continue;
    const factory = asFactory(c);
    if (factory !== undefined) return factory;
  }
  // a module exporting one class among others (e.g. openssl-session-cache/model's CacheModel)
  if (exported !== null && typeof exported === 'object') {
    const classes = Object.values(exported).filter(isClass);
    if (classes.length === 1) return asFactory(classes[0]) as CacheFactory;
  }
  throw new TypeError(
    `${moduleName} exports no SessionCache factory: export createCache(options), a class (module.exports or default), ` +
      'or a function (options) => cache',
  );
}
