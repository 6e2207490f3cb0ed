/**
 * Caches not written in JavaScript: a `SessionCache` whose every call is one JSON line to
 * a program (the shim) and one JSON line back, over its stdin and stdout. The protocol is
 * in docs/conformance.md ("Shims"); examples/shim/map_cache.py is one.
 *
 * The runner is synchronous; a worker thread talks to the program and the calling thread
 * waits on a shared buffer (Atomics.wait) for at most `stepTimeout` milliseconds, so a
 * shim that hangs fails that step (ERR_SHIM_TIMEOUT) instead of the run.
 */

import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { codedError, ErrorCode, foreignCodedError } from '../common/coded_error';
import { CreateSessionOptions, HandshakeOptions, HandshakeResult, Protocol, SessionCache, SessionCacheOptions, SessionCacheStats, SessionEvent, SessionHandle } from '../model/session_cache';
import { CacheFactory } from './cache_factory';
import { DeclaredDifferences, validateDeclared } from './declared';
import { UsageError } from './usage_error';

export const ERR_SHIM_TIMEOUT = ErrorCode.SHIM_TIMEOUT;
export const ERR_SHIM_EXITED = ErrorCode.SHIM_EXITED;
export const ERR_SHIM_PROTOCOL = ErrorCode.SHIM_PROTOCOL;

/** milliseconds `hello` and `new` wait at least: they may start the program (node and a module load take a while on a busy machine) */
const STARTUP_ALLOWANCE = 10000;

/** Buffers travel as `{ "hex": "…" }`. */
function encode(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (Array.isArray(v)) return v.map(encode);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, encode(x)]));
  return v;
}

function decodeBuffer(v: unknown, method: string): Buffer {
  const hex = (v as { hex?: unknown } | null)?.hex;
  if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(hex)) throw codedError(ERR_SHIM_PROTOCOL, `${method}: the shim must answer { "hex": "…" }`);
  return Buffer.from(hex, 'hex');
}

export interface ShimOptions {
  /** milliseconds a call may take (default 10000) */
  stepTimeout?: number;
  cwd?: string;
  /** what messages call the program (default `shim`; a hosted `--model` is `model`) */
  noun?: string;
}

/** The program that hosts a JavaScript module as a shim (model_host.ts), as a command and its arguments. */
export function modelHostCommand(moduleName: string, cwd: string): { command: string; args: string[] } {
  return { command: process.execPath, args: [path.join(__dirname, 'model_host.js'), moduleName, cwd] };
}

/** A running shim program: makes caches, and is closed at the end of the run. */
export class Shim {
  readonly name: string;
  declared?: DeclaredDifferences;
  private readonly worker: Worker;
  private readonly state: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly timeout: number;
  private readonly noun: string;
  private nextId = 1;

  /** `commandLine` is split at spaces; `{ command, args }` is taken as it is. */
  constructor(commandLine: string | { command: string; args: string[] }, options: ShimOptions = {}) {
    const [command, ...args] = typeof commandLine === 'string' ? commandLine.trim().split(/\s+/) : [commandLine.command, ...commandLine.args];
    if (command === undefined || command === '') throw new UsageError('--shim needs a command');
    this.timeout = options.stepTimeout ?? 10000;
    this.noun = options.noun ?? 'shim';
    // a hosted module's own messages name it already (`cannot load --model …`)
    const shown = typeof commandLine === 'string' ? `--shim ${commandLine}: ` : '';
    const control = new SharedArrayBuffer(8);
    const data = new SharedArrayBuffer(4 * 1024 * 1024);
    this.state = new Int32Array(control);
    this.bytes = new Uint8Array(data);
    this.worker = new Worker(path.join(__dirname, 'shim_worker.js'), { workerData: { command, args, cwd: options.cwd ?? process.cwd(), control, data } });
    this.worker.unref();
    this.name = path.basename(args.length > 0 && !args[args.length - 1].startsWith('-') ? args[args.length - 1] : command).replace(/\.[a-z]+$/, '');
    let hello: unknown;
    try {
      hello = this.request({ method: 'hello' }, true);
    } catch (e) {
      this.close();
      throw new UsageError(`${shown}${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
    }
    const h = hello as { name?: unknown; declaredDifferences?: unknown } | null;
    if (typeof h?.name === 'string' && h.name !== '') this.name = h.name;
    if (h?.declaredDifferences !== undefined) this.declared = validateDeclared(h.declaredDifferences, `${shown}declaredDifferences`);
  }

  /** One request line, one answer line: the result, or the shim's error thrown as an Error with its code. */
  request(message: Record<string, unknown>, restart = false): unknown {
    const id = this.nextId++;
    Atomics.store(this.state, 0, 0);
    this.worker.postMessage({ line: JSON.stringify({ id, ...message }), restart });
    // a wake-up is not an answer (a late notify of the previous answer can wake this wait):
    // wait until the state says answered, or the time is up
    // a request that may start the program (hello, new) also waits for it to start
    const allowed = restart ? Math.max(this.timeout, STARTUP_ALLOWANCE) : this.timeout;
    const deadline = Date.now() + allowed;
    while (Atomics.load(this.state, 0) === 0) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.state, 0, 0, left) === 'timed-out') {
        if (Atomics.load(this.state, 0) !== 0) break;
        this.worker.postMessage({ stop: true });
        throw codedError(ERR_SHIM_TIMEOUT, `the ${this.noun} did not answer ${String(message.method)} within ${allowed} ms (stopped; the next cache starts it again)`);
      }
    }
    const text = Buffer.from(this.bytes.subarray(0, Atomics.load(this.state, 1))).toString('utf8');
    let reply: { id?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
    try {
      reply = JSON.parse(text) as typeof reply;
    } catch {
      throw codedError(ERR_SHIM_PROTOCOL, `the shim answered a line that is not JSON: ${text.slice(0, 200)}`);
    }
    if (reply.error !== undefined) {
      const code = typeof reply.error.code === 'string' ? reply.error.code : 'Error';
      const msg = typeof reply.error.message === 'string' ? reply.error.message : code;
      if (code === 'RangeError') throw new RangeError(msg);
      if (code === 'TypeError') throw new TypeError(msg);
      throw foreignCodedError(code, msg);
    }
    if (reply.id !== id) throw codedError(ERR_SHIM_PROTOCOL, `the shim answered id ${JSON.stringify(reply.id)} to request ${id}`);
    return reply.result ?? null;
  }

  /** The factory of the run: each cache is `new` in the shim, `dispose` at the end of its scenario. */
  factory(): CacheFactory {
    return (options) => new ShimCache(this, this.request({ method: 'new', options: encode(options) }, true) as number);
  }

  close(): void {
    void this.worker.terminate();
  }
}

/** A cache living in the shim program. */
class ShimCache implements SessionCache {
  constructor(
    private readonly shim: Shim,
    private readonly cache: number,
  ) {}

  private call(method: string, ...args: unknown[]): unknown {
    return this.shim.request({ cache: this.cache, method, args: encode(args) });
  }

  createSession(o: CreateSessionOptions): SessionHandle {
    return this.call('createSession', o) as SessionHandle;
  }
  freeSession(h: SessionHandle): void {
    this.call('freeSession', h);
  }
  references(h: SessionHandle): number {
    return this.call('references', h) as number;
  }
  resumable(h: SessionHandle): boolean {
    return this.call('resumable', h) as boolean;
  }
  getSessionId(h: SessionHandle): Buffer {
    return decodeBuffer(this.call('getSessionId', h), 'getSessionId');
  }
  getSessionProtocol(h: SessionHandle): Protocol {
    return this.call('getSessionProtocol', h) as Protocol;
  }
  getSessionTime(h: SessionHandle): number {
    return this.call('getSessionTime', h) as number;
  }
  setSessionTime(h: SessionHandle, t: number): void {
    this.call('setSessionTime', h, t);
  }
  getSessionTimeout(h: SessionHandle): number {
    return this.call('getSessionTimeout', h) as number;
  }
  setSessionTimeout(h: SessionHandle, t: number): void {
    this.call('setSessionTimeout', h, t);
  }
  add(h: SessionHandle): 0 | 1 {
    return this.call('add', h) as 0 | 1;
  }
  remove(h: SessionHandle): 0 | 1 {
    return this.call('remove', h) as 0 | 1;
  }
  flush(t: number): void {
    this.call('flush', t);
  }
  get(id: Buffer, protocol?: Protocol): SessionHandle | undefined {
    const r = protocol === undefined ? this.call('get', id) : this.call('get', id, protocol);
    return r === null ? undefined : (r as SessionHandle);
  }
  sessions(): SessionHandle[] {
    return this.call('sessions') as SessionHandle[];
  }
  count(): number {
    return this.call('count') as number;
  }
  setCacheSize(size: number): number {
    return this.call('setCacheSize', size) as number;
  }
  getCacheSize(): number {
    return this.call('getCacheSize') as number;
  }
  setTimeout(timeout: number): number {
    return this.call('setTimeout', timeout) as number;
  }
  getTimeout(): number {
    return this.call('getTimeout') as number;
  }
  setCacheMode(mode: number): number {
    return this.call('setCacheMode', mode) as number;
  }
  getCacheMode(): number {
    return this.call('getCacheMode') as number;
  }
  stats(): SessionCacheStats {
    return this.call('stats') as SessionCacheStats;
  }
  takeEvents(): SessionEvent[] {
    return this.call('takeEvents') as SessionEvent[];
  }
  handshake(o: HandshakeOptions): HandshakeResult {
    return this.call('handshake', o) as HandshakeResult;
  }
  dispose(): void {
    try {
      this.shim.request({ cache: this.cache, method: 'dispose' });
    } catch {
      // a shim that died or hung has lost its caches anyway
    }
  }
}

export type { SessionCacheOptions };
