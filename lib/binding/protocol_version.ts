// Protocol names (as node:tls spells them) <-> OpenSSL 1.0.2 version numbers.
import { Protocol, PROTOCOL_VERSIONS } from './constants';

const BY_NUMBER = new Map<number, Protocol>(Object.entries(PROTOCOL_VERSIONS).map(([k, v]) => [v, k as Protocol]));

export const PROTOCOL_NAMES = Object.keys(PROTOCOL_VERSIONS) as Protocol[];

/** true for the protocol names 1.0.2 knows */
export function isProtocol(name: unknown): name is Protocol {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(PROTOCOL_VERSIONS, name);
}

/** The version number for a protocol name; RangeError for names 1.0.2 does not know. */
export function protocolNumber(name: unknown, what = 'protocol'): number {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a string (one of ${PROTOCOL_NAMES.join(', ')})`);
  if (!isProtocol(name)) throw new RangeError(`${what} must be one of ${PROTOCOL_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  return PROTOCOL_VERSIONS[name];
}

/** what SslSession#protocol says for a version 1.0.2 has no name for */
export type UnknownProtocol = `unknown (0x${string})`;

/** The protocol name of a version number; `unknown (0x....)` for others. */
export function protocolName(version: number): Protocol | UnknownProtocol {
  return BY_NUMBER.get(version) ?? `unknown (0x${version.toString(16).padStart(4, '0')})`;
}

/** The protocol of a version number, or undefined when 1.0.2 has no name for it. */
export function protocolOf(version: number): Protocol | undefined {
  return BY_NUMBER.get(version);
}
