import { isIP } from 'net';
import { native } from '../binding/native';
import { integer, optionsObject } from '../common/validate';

/** One subject alternative name: a DNS host name or an IP address (v4 or v6). */
export type AltName = { dns: string } | { ip: string };

export interface SelfSignedOptions {
  /** subject CN; default 'localhost'. Never parsed for names: see altNames */
  commonName?: string;
  /**
   * The certificate's subjectAltNames, exactly these (each a validated DNS name — letters,
   * digits, hyphens, dots, an optional leading `*.` — or an IP literal). Default: the
   * common name (as DNS if it is a valid host name, as IP if it is an IP literal, else
   * nothing) and 127.0.0.1.
   */
  altNames?: readonly AltName[];
  /** validity in days; default 30 */
  days?: number;
  /** RSA key size; default 2048 */
  bits?: number;
}

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** A host name OpenSSL may put in a dNSName: LDH labels, optionally a leading '*' label. */
export function isValidHostname(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((l, i) => LABEL.test(l) || (i === 0 && l === '*' && labels.length > 2));
}

const KIND_DNS = 0;
const KIND_IP = 1;

function altNameList(list: unknown): (number | string)[] {
  if (!Array.isArray(list)) throw new TypeError('options.altNames must be an array of { dns } or { ip } objects');
  if (list.length > 100) throw new RangeError('options.altNames has more than 100 names');
  const out: (number | string)[] = [];
  list.forEach((n: unknown, i) => {
    const what = `options.altNames[${i}]`;
    if (typeof n !== 'object' || n === null) throw new TypeError(`${what} must be { dns: string } or { ip: string }`);
    const keys = Object.keys(n);
    const o = n as Record<string, unknown>;
    if (keys.length !== 1 || (keys[0] !== 'dns' && keys[0] !== 'ip')) {
      throw new TypeError(`${what} must have exactly one key, dns or ip`);
    }
    const v = o[keys[0]];
    if (typeof v !== 'string') throw new TypeError(`${what}.${keys[0]} must be a string`);
    if (keys[0] === 'dns') {
      if (!isValidHostname(v)) throw new RangeError(`${what}.dns is not a valid host name: ${JSON.stringify(v)}`);
      out.push(KIND_DNS, v);
    } else {
      if (isIP(v) === 0) throw new RangeError(`${what}.ip is not an IP address: ${JSON.stringify(v)}`);
      out.push(KIND_IP, v);
    }
  });
  return out;
}

/**
 * A self-signed RSA certificate and key (PEM), made with OpenSSL 1.0.2's own X509/RSA API,
 * so tests and demos need no `openssl` binary. The certificate is its own CA
 * (basicConstraints CA:TRUE). Its subjectAltNames come only from `altNames` (or the
 * default described there), built as GENERAL_NAME objects: no common name can add names.
 */
export function generateSelfSigned(options?: SelfSignedOptions): { cert: string; key: string } {
  const o = optionsObject(options, 'options');
  const cn = o.commonName ?? 'localhost';
  if (typeof cn !== 'string') throw new TypeError('options.commonName must be a string');
  if (cn.length === 0 || cn.length > 64) throw new RangeError('options.commonName must be 1 to 64 characters');
  const days = integer(o.days ?? 30, 'options.days', 1, 36500);
  const bits = integer(o.bits ?? 2048, 'options.bits', 512, 8192);
  let names: (number | string)[];
  if (o.altNames !== undefined) {
    names = altNameList(o.altNames);
  } else {
    names = [];
    if (isIP(cn) !== 0) names.push(KIND_IP, cn);
    else if (isValidHostname(cn)) names.push(KIND_DNS, cn);
    if (cn !== '127.0.0.1') names.push(KIND_IP, '127.0.0.1');
  }
  return native.generateSelfSigned(cn, days, bits, names);
}
