// Argument checks and conversions of the `SessionCache` contract (session_cache.ts),
// shared by its two implementations: the model (cache_model.ts) and the adapter over the
// real library (lib/conformance/openssl_cache.ts). Nothing here loads the addon.
import { createHash } from 'node:crypto';
import { codedError } from '../common/coded_error';
import { checkLength, checkSessionId } from '../common/validate';
import {
  DEFAULT_CACHE_SIZE,
  DEFAULT_CONTEXT_TIMEOUT,
  DEFAULT_ID_CONTEXT,
  MAX_ID_CONTEXT_LENGTH,
  Protocol,
  PROTOCOL_VERSIONS,
  SSL_SESS_CACHE_SERVER,
  SessionCacheOptions,
} from './session_cache';

export { codedError };

const PROTOCOL_BY_VERSION = new Map<number, Protocol>(Object.entries(PROTOCOL_VERSIONS).map(([k, v]) => [v, k as Protocol]));

function isProtocol(name: string): name is Protocol {
  return Object.prototype.hasOwnProperty.call(PROTOCOL_VERSIONS, name);
}

/** every number of the contract is a safe integer (OpenSSL's `long`) */
export function checkInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be a safe integer, got ${String(value)}`);
}

/** a session id of `min`–32 bytes */
export function checkId(name: string, id: Buffer, min = 0): void {
  if (!Buffer.isBuffer(id)) throw new TypeError(`${name} must be a Buffer`);
  checkSessionId(id, name, min);
}

/** a session-id context of 0–32 bytes */
export function checkIdContext(name: string, ctx: Buffer): void {
  if (!Buffer.isBuffer(ctx)) throw new TypeError(`${name} must be a Buffer`);
  checkLength(ctx, 0, MAX_ID_CONTEXT_LENGTH, name);
}

/** The options of a `SessionCache` checked, with their defaults filled in. */
export function checkCacheOptions(options: SessionCacheOptions): Required<SessionCacheOptions> {
  const o: Required<SessionCacheOptions> = {
    mode: options.mode ?? SSL_SESS_CACHE_SERVER,
    cacheSize: options.cacheSize ?? DEFAULT_CACHE_SIZE,
    timeout: options.timeout ?? DEFAULT_CONTEXT_TIMEOUT,
    role: options.role ?? 'server',
    idContext: options.idContext ?? DEFAULT_ID_CONTEXT,
    verifyPeer: options.verifyPeer ?? false,
  };
  checkInteger('mode', o.mode);
  checkInteger('cacheSize', o.cacheSize);
  checkInteger('timeout', o.timeout);
  if (o.role !== 'server' && o.role !== 'client') throw new RangeError(`role must be 'server' or 'client', got ${String(o.role)}`);
  checkIdContext('idContext', o.idContext);
  if (typeof o.verifyPeer !== 'boolean') throw new TypeError('verifyPeer must be a boolean');
  if (o.verifyPeer && o.role === 'client') throw new RangeError('verifyPeer is a server setting (role: client)');
  o.idContext = Buffer.from(o.idContext);
  return o;
}

/** `SSL_SESSION.ssl_version` of a protocol name; RangeError for other names */
export function versionOf(protocol: Protocol): number {
  const version = Object.prototype.hasOwnProperty.call(PROTOCOL_VERSIONS, protocol) ? PROTOCOL_VERSIONS[protocol] : undefined;
  if (version === undefined) throw new RangeError(`unknown protocol ${String(protocol)}`);
  return version;
}

/** the protocol name of an `ssl_version` the real library reported */
export function protocolOfVersion(version: number): Protocol {
  const p = PROTOCOL_BY_VERSION.get(version);
  if (p === undefined) throw new Error(`internal error: OpenSSL session has unknown ssl_version 0x${version.toString(16)}`);
  return p;
}

/** the protocol of a session the real library reported by name (SslSession#protocol) */
export function protocolOfName(name: string): Protocol {
  if (!isProtocol(name)) throw new Error(`internal error: OpenSSL session has unknown protocol ${name}`);
  return name;
}

/**
 * The id both implementations give a full handshake's new session when the caller leaves
 * it open: derived from the handle that session is about to get (and a retry counter),
 * so it does not depend on how often either implementation looked for one.
 */
export function generatedId(handle: number, attempt: number): Buffer {
  return createHash('sha256').update(`openssl-session-cache model id ${handle}/${attempt}`).digest();
}
