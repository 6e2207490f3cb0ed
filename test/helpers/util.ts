// Shared helpers for the foundation tests. Nothing here fakes the library:
import { types } from 'util';
// these are only small conveniences (id builders, an event recorder, a DER reader).
import { generateSelfSigned, SslContext, SslSession } from '../../lib';
import type { SslContextOptions } from '../../lib';
import { integer, sequence, Tlv, unsignedValue } from '../../lib/common/der';

let counter = 0;

/** A fresh, unique session id of `len` bytes (default 32). */
export function newId(len = 32): Buffer {
  counter += 1;
  const b = Buffer.alloc(len, 0);
  // put a unique tag in the first bytes (the 1.0.2 hash reads the first 4)
  const tag = Buffer.alloc(4);
  tag.writeUInt32BE((counter * 2654435761) >>> 0);
  tag.copy(b, 0, 0, Math.min(4, len));
  for (let i = 4; i < len; i++) b[i] = (counter + i * 7) & 0xff;
  return b;
}

/** A session with a fresh unique id (other create options pass through). */
export function mkSession(opts: Partial<Parameters<typeof SslSession.create>[0]> = {}): SslSession {
  return SslSession.create({ id: newId(), ...opts } as Parameters<typeof SslSession.create>[0]);
}

export interface Recorder {
  removed: SslSession[];
  /** ids of the removed sessions, in event order (read when the event arrived) */
  ids(): string[];
  freeAll(): void;
}

/** Records every 'removeSession' event of a context (keeps the event objects). */
export function recordRemovals(ctx: SslContext): Recorder {
  const removed: SslSession[] = [];
  const idList: string[] = [];
  ctx.on('removeSession', (s: SslSession) => {
    removed.push(s);
    idList.push(s.id.toString('hex'));
  });
  return {
    removed,
    ids: () => [...idList],
    freeAll: () => {
      for (const s of removed) if (!s.freed) s.free();
    },
  };
}

export const hex = (b: Buffer): string => b.toString('hex');

/** a session's id in hex */
export const sessionHex = (s: SslSession): string => s.id.toString('hex');

/**
 * A fresh SslContext for each test, handed to `use` before it; after it the context's
 * listeners go, the context is freed unless the test did, and so is every session in
 * `pool()` (the file's pool of sessions, which a test may replace).
 */
export function contextPerTest(use: (ctx: SslContext) => void, pool: () => SslSession[]): void {
  let ctx: SslContext;
  beforeEach(() => {
    ctx = new SslContext();
    use(ctx);
  });
  afterEach(() => {
    ctx.removeAllListeners();
    if (!ctx.freed) ctx.free();
    for (const s of pool()) if (!s.freed) s.free();
  });
}

/**
 * ids of ctx.sessions() in list order. Nothing is freed: a listed session a test holds is
 * the test's own object (identity), and the others are left to the GC — one object per
 * session, so they change no reference count a test can read through its own objects.
 */
export function listIds(ctx: SslContext): string[] {
  return ctx.sessions().map((s) => s.id.toString('hex'));
}

/** `time` values of ctx.sessions() in list order (nothing freed, as listIds). */
export function listTimes(ctx: SslContext): number[] {
  return ctx.sessions().map((s) => s.time);
}

/** references of a session as seen by itself (no extra object created). */
export const refs = (s: SslSession): number => s.references;

export function catchError(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw, it returned normally');
}

// ---- DER: the package's reader and writer (lib/common/der.ts), to check what
// i2d_SSL_SESSION wrote and to build sessions no handshake makes
export { children, explicit, octets, readTlv, tlv, tryReadTlv } from '../../lib/common/der';
export type { Tlv } from '../../lib/common/der';

/** the value of a small non-negative INTEGER */
export const derInt = (t: Tlv): number => unsignedValue(t.value);
export const int = (n: number): Buffer => integer(n);
export const seq = (...parts: Buffer[]): Buffer => sequence(parts);

export const nowSec = (): number => Math.floor(Date.now() / 1000);

/**
 * True for any Error, whatever realm created it. Errors thrown by the native addon are
 * created in Node's main realm, while jest runs each test file in its own vm context, so
 * `instanceof Error` / `toThrow(TypeError)` would be false for them inside jest only.
 */
export function isError(e: unknown): e is Error & Record<string, any> {
  return e instanceof Error || types.isNativeError(e);
}

/** Asserts that fn throws an error of the given built-in kind (realm-independent). */
export function expectKind(fn: () => unknown, kind: 'TypeError' | 'RangeError' | 'Error'): any {
  const err = catchError(fn);
  expect(isError(err)).toBe(true);
  if (kind !== 'Error') expect(err.name).toBe(kind);
  return err;
}

/**
 * The context factory of the handshake tests: every context it makes is freed after the
 * test (its listeners removed first).
 */
export function contextsPerTest(): (options?: SslContextOptions) => SslContext {
  const contexts: SslContext[] = [];
  afterEach(() => {
    for (const c of contexts.splice(0)) {
      c.removeAllListeners();
      c.free();
    }
  });
  return (options: SslContextOptions = {}) => {
    const c = new SslContext(options);
    contexts.push(c);
    return c;
  };
}

let localhost: { cert: string; key: string } | undefined;
/** one self-signed 2048-bit certificate for localhost (10 days) per test file */
export function localhostPki(): { cert: string; key: string } {
  if (!localhost) localhost = generateSelfSigned({ commonName: 'localhost', days: 10, bits: 2048 });
  return localhost;
}
