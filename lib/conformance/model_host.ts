/**
 * The built-in shim that hosts a JavaScript `SessionCache` module in a child process
 * (`--model MODULE --step-timeout MS`): `node model_host.js MODULE CWD` loads the module
 * as `--model` does (model_loader.ts) and serves its caches over the JSON-lines shim
 * protocol (docs/conformance.md, "Shims"). The runner waits for each answer at most the
 * step timeout and kills this process when it is up, so a call that loops forever or a
 * promise that never settles fails that step instead of hanging the run. A method that
 * returns a promise (a thenable) is awaited here, so asynchronous caches can be tested too.
 */

import * as readline from 'node:readline';
import { SessionCache } from '../model/session_cache';
import { CacheFactory, disposeCache } from './cache_factory';
import { loadCacheFactory, loadDeclaredExport } from './model_loader';
import { errorKind } from './step_executor';
import { OPERATIONS } from './scenario';

/** `{ "hex": "…" }` → Buffer, recursively (ids, id contexts). */
function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o.hex === 'string') return Buffer.from(o.hex, 'hex');
    return Object.fromEntries(keys.map((k) => [k, decode(o[k])]));
  }
  return v;
}

/** Buffer → `{ "hex": "…" }`, undefined → null (JSON has no undefined). */
function encode(v: unknown): unknown {
  if (v === undefined) return null;
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (v instanceof Uint8Array) return { hex: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(encode);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, encode(x)]));
  return v;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';

interface Request {
  id?: unknown;
  method?: unknown;
  cache?: unknown;
  args?: unknown;
  options?: unknown;
}

export function serve(moduleName: string, cwd: string): void {
  let factory: CacheFactory | undefined;
  const caches = new Map<number, SessionCache>();
  let next = 1;
  const methods = new Set<string>(OPERATIONS);

  async function handle(r: Request): Promise<unknown> {
    const method = String(r.method);
    if (method === 'hello') {
      factory = loadCacheFactory(moduleName, cwd);
      return { declaredDifferences: loadDeclaredExport(moduleName, cwd) };
    }
    if (factory === undefined) factory = loadCacheFactory(moduleName, cwd);
    if (method === 'new') {
      const cache = factory((decode(r.options) ?? {}) as Parameters<CacheFactory>[0]);
      const n = next++;
      caches.set(n, cache);
      return n;
    }
    const cache = caches.get(Number(r.cache));
    if (cache === undefined) throw Object.assign(new Error(`no cache ${String(r.cache)}`), { code: 'ERR_SHIM_PROTOCOL' });
    if (method === 'dispose') {
      caches.delete(Number(r.cache));
      disposeCache(cache);
      return null;
    }
    if (!methods.has(method)) throw Object.assign(new Error(`unknown method ${method}`), { code: 'ERR_SHIM_PROTOCOL' });
    const args = Array.isArray(r.args) ? (decode(r.args) as unknown[]) : [];
    const fn = (cache as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
    let result = fn.apply(cache, args);
    if (isThenable(result)) result = await result;
    return result;
  }

  // one request at a time, in order: the runner sends the next only after this answer
  let queue: Promise<void> = Promise.resolve();
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      let r: Request = {};
      let reply: Record<string, unknown>;
      try {
        r = JSON.parse(line) as Request;
        reply = { id: r.id, result: encode(await handle(r)) };
      } catch (e) {
        reply = { id: r.id, error: { code: errorKind(e), message: e instanceof Error ? e.message : String(e) } };
      }
      process.stdout.write(JSON.stringify(reply) + '\n');
    });
  });
  lines.on('close', () => {
    void queue.then(() => process.exit(0));
  });
}

if (require.main === module) serve(process.argv[2] ?? '', process.argv[3] ?? process.cwd());
