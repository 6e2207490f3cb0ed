// Protocol names (as node:tls spells them) <-> OpenSSL 1.0.2 version numbers.
import { native } from './native';

// SSLv3, TLSv1, TLSv1.1, TLSv1.2, DTLSv1, DTLSv1.2, DTLSv0.9 (DTLS1_BAD_VER, pre-RFC OpenSSL DTLS)
const BY_NAME: Record<string, number> = { ...native.constants.PROTOCOL_VERSIONS };

const BY_NUMBER = new Map<number, string>(Object.entries(BY_NAME).map(([k, v]) => [v, k]));

export const PROTOCOL_NAMES = Object.keys(BY_NAME);

/** The version number for a protocol name; RangeError for names 1.0.2 does not know. */
export function protocolNumber(name: unknown, what = 'protocol'): number {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a string (one of ${PROTOCOL_NAMES.join(', ')})`);
  const v = BY_NAME[name];
  if (v === undefined) throw new RangeError(`${what} must be one of ${PROTOCOL_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  return v;
}

export function protocolName(version: number): string {
  return BY_NUMBER.get(version) ?? `unknown (0x${version.toString(16).padStart(4, '0')})`;
}
