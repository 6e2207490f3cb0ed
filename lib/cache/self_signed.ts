import { native } from '../binding/native';
import { integer, optionsObject } from '../common/validate';

export interface SelfSignedOptions {
  /** subject CN and subjectAltName (DNS, or IP for an IPv4 literal); default 'localhost' */
  commonName?: string;
  /** validity in days; default 30 */
  days?: number;
  /** RSA key size; default 2048 */
  bits?: number;
}

/**
 * A self-signed RSA certificate and key (PEM), made with OpenSSL 1.0.2's own X509/RSA API,
 * so tests and demos need no `openssl` binary. The certificate is its own CA
 * (basicConstraints CA:TRUE) and names the common name and 127.0.0.1 as subjectAltNames.
 */
export function generateSelfSigned(options?: SelfSignedOptions): { cert: string; key: string } {
  const o = optionsObject(options, 'options');
  const cn = o.commonName ?? 'localhost';
  if (typeof cn !== 'string') throw new TypeError('options.commonName must be a string');
  if (cn.length === 0 || cn.length > 64) throw new RangeError('options.commonName must be 1 to 64 characters');
  const days = integer(o.days ?? 30, 'options.days', 1, 36500);
  const bits = integer(o.bits ?? 2048, 'options.bits', 512, 8192);
  return native.generateSelfSigned(cn, days, bits);
}
