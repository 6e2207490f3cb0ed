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

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CacheFactory, disposeCache } from './cache_factory';
import { DeclaredDifferences, validateDeclared } from './declared';
import { OPERATIONS } from './scenario';
import { UsageError } from './usage_error';
import { SessionCache, SessionCacheOptions } from '../model/session_cache';

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

/**
 * The factory a module exports, checked once: a cache it makes with default options must
 * have every `SessionCache` method. Throws a UsageError (one line) when the module cannot
 * be loaded, exports no factory, or its cache lacks methods (all of them named).
 */
export function loadCacheFactory(moduleName: string, cwd = process.cwd()): CacheFactory {
  const factory = findCacheFactory(moduleName, cwd);
  let cache: SessionCache;
  try {
    cache = factory({});
  } catch (e) {
    throw new UsageError(`${moduleName}: making a cache with default options threw: ${firstLine(e)}`);
  }
  const missing = OPERATIONS.filter((op) => typeof (cache as unknown as Record<string, unknown>)[op] !== 'function');
  try {
    disposeCache(cache);
  } catch {
    // a broken dispose shows up in the runs themselves
  }
  if (missing.length > 0) {
    throw new UsageError(`${moduleName}: the cache lacks SessionCache method${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  return factory;
}

/**
 * The declared differences a model module exports as `declaredDifferences` (see
 * declared.ts), checked; undefined when it exports none.
 */
export function loadDeclaredExport(moduleName: string, cwd = process.cwd()): DeclaredDifferences | undefined {
  const resolved = resolveModuleName(moduleName, cwd);
  let loaded: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(require.resolve(resolved, { paths: [cwd] }));
  } catch (e) {
    throw new UsageError(`cannot load --model ${moduleName}: ${firstLine(e)}`);
  }
  const value = loaded !== null && (typeof loaded === 'object' || typeof loaded === 'function') ? (loaded as { declaredDifferences?: unknown }).declaredDifferences : undefined;
  return value === undefined ? undefined : validateDeclared(value, `${moduleName}: declaredDifferences`);
}

/** A path (relative to `cwd`, also without a leading `./` when such a file exists) or a package name. */
function resolveModuleName(moduleName: string, cwd: string): string {
  if (moduleName.startsWith('.') || path.isAbsolute(moduleName) || fs.existsSync(path.resolve(cwd, moduleName))) return path.resolve(cwd, moduleName);
  return moduleName;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

function findCacheFactory(moduleName: string, cwd: string): CacheFactory {
  const resolved = resolveModuleName(moduleName, cwd);
  let loaded: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(require.resolve(resolved, { paths: [cwd] }));
  } catch (e) {
    throw new UsageError(`cannot load --model ${moduleName}: ${firstLine(e)}`);
  }
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
  throw new UsageError(
    `${moduleName} exports no SessionCache factory: export createCache(options), a class (module.exports or default), ` +
      'or a function (options) => cache',
  );
}
