// Argument checks shared by the facade: TypeError for wrong types, RangeError for bad values.
import { DER_LIMITS } from './der';

export function isBufferLike(v: unknown): v is Buffer | Uint8Array {
  return v instanceof Uint8Array;
}

export function toBuffer(v: unknown, what: string): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`${what} must be a Buffer`);
}

export function toBufferOrString(v: unknown, what: string): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return toBuffer(v, what);
  throw new TypeError(`${what} must be a Buffer or a string`);
}

export function checkLength(b: Buffer, min: number, max: number, what: string): Buffer {
  if (b.length < min || b.length > max) {
    throw new RangeError(`${what} must be ${min === max ? min : `${min} to ${max}`} bytes, got ${b.length}`);
  }
  return b;
}

/**
 * A session id 1.0.2 can hold (SSL_MAX_SSL_SESSION_ID_LENGTH): `min` (1 unless said: the
 * native lookups refuse the empty id) to 32 bytes; RangeError otherwise. The one check of
 * a session id's length, wherever an id comes in.
 */
export function checkSessionId(b: Buffer, what = 'id', min = 1): Buffer {
  return checkLength(b, min, DER_LIMITS.sessionId, what);
}

export function integer(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number') throw new TypeError(`${what} must be a number`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${v}`);
  }
  return v;
}

/** OpenSSL's `long` on LP64, limited to what a JS number holds exactly */
export const LONG_MAX = Number.MAX_SAFE_INTEGER;
export const INT_MAX = 0x7fffffff;

export function optionsObject(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object') throw new TypeError(`${what} must be an object`);
  return v as Record<string, unknown>;
}
