// Argument checks and conversions of the `SessionCache` contract (session_cache.ts),
// shared by its two implementations: the model (cache_model.ts) and the adapter over the
// real library (openssl_cache.ts).
import { codedError } from '../common/coded_error';
import { isProtocol, protocolOf } from '../binding/protocol_version';
import { MAX_SESSION_ID_LENGTH, Protocol, PROTOCOL_VERSIONS } from './session_cache';

export { codedError };

/** every number of the contract is a safe integer (OpenSSL's `long`) */
export function checkInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be a safe integer, got ${String(value)}`);
}

/** a session id of `min`–32 bytes */
export function checkId(name: string, id: Buffer, min = 0): void {
  if (!Buffer.isBuffer(id)) throw new TypeError(`${name} must be a Buffer`);
  if (id.length < min || id.length > MAX_SESSION_ID_LENGTH) {
    throw new RangeError(`${name} must be ${min}-${MAX_SESSION_ID_LENGTH} bytes, got ${id.length}`);
  }
}

/** `SSL_SESSION.ssl_version` of a protocol name; RangeError for other names */
export function versionOf(protocol: Protocol): number {
  const version = Object.prototype.hasOwnProperty.call(PROTOCOL_VERSIONS, protocol) ? PROTOCOL_VERSIONS[protocol] : undefined;
  if (version === undefined) throw new RangeError(`unknown protocol ${String(protocol)}`);
  return version;
}

/** the protocol name of an `ssl_version` the real library reported */
export function protocolOfVersion(version: number): Protocol {
  const p = protocolOf(version);
  if (p === undefined) throw new Error(`internal error: OpenSSL session has unknown ssl_version 0x${version.toString(16)}`);
  return p;
}

/** the protocol of a session the real library reported by name (SslSession#protocol) */
export function protocolOfName(name: string): Protocol {
  if (!isProtocol(name)) throw new Error(`internal error: OpenSSL session has unknown protocol ${name}`);
  return name;
}
