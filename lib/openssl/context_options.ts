// The whole option set of an SslContext (node:tls's createSecureContext options and this
// package's own), in one table: each name is implemented or refused with its reason. The
// checks and conversions of the node:tls options OpenSSL 1.0.2 can honour live here too;
// SslContext makes the native calls.
import { SECURE_OPTIONS_MASK, TLS_PROTOCOLS, TlsProtocol } from '../binding/constants';
import { codedError, ErrorCode } from '../common/coded_error';
import { OptionTable } from '../common/option_names';
import { toBuffer } from '../common/validate';

const ENGINES = 'OpenSSL engines are not available (no ENGINE support is built)';

/** every option name of new SslContext(): true, or why it is refused */
export const CONTEXT_OPTIONS: OptionTable = Object.freeze({
  // this package
  role: true,
  sessionCacheMode: true,
  sessionCacheSize: true,
  noTicket: true,
  // node:tls createSecureContext
  sessionTimeout: true,
  sessionIdContext: true,
  cert: true,
  key: true,
  passphrase: true,
  pfx: true,
  ca: true,
  crl: true,
  ciphers: true,
  honorCipherOrder: true,
  ecdhCurve: true,
  dhparam: true,
  sigalgs: true,
  secureOptions: true,
  secureProtocol: true,
  minVersion: true,
  maxVersion: true,
  clientCertEngine: ENGINES,
  privateKeyEngine: ENGINES,
  privateKeyIdentifier: ENGINES,
});

/** node:tls's TypeError for a minVersion / maxVersion it does not know */
export function invalidProtocolVersion(v: unknown, which: 'minimum' | 'maximum', why = ''): TypeError {
  return codedError(ErrorCode.TLS_INVALID_PROTOCOL_VERSION, `${JSON.stringify(v)} is not a valid ${which} TLS protocol version${why}`, TypeError);
}

/**
 * minVersion / maxVersion (and secureProtocol's pin) as indexes into TLS_PROTOCOLS.
 * 'TLSv1.3' is refused as a minimum (1.0.2 has no TLS 1.3) and means "the highest there
 * is" (TLSv1.2) as a maximum, since node's default maximum is 'TLSv1.3'.
 */
export function protocolRange(min: unknown, max: unknown, secureProtocol: unknown): [number, number] {
  const index = (v: unknown, which: 'minimum' | 'maximum', dflt: number): number => {
    if (v === undefined) return dflt;
    if (v === 'TLSv1.3') {
      if (which === 'maximum') return TLS_PROTOCOLS.length - 1;
      throw invalidProtocolVersion(v, which, ': OpenSSL 1.0.2 has no TLS 1.3');
    }
    const i = typeof v === 'string' ? TLS_PROTOCOLS.indexOf(v as TlsProtocol) : -1;
    if (i < 0) throw invalidProtocolVersion(v, which);
    return i;
  };
  let [lo, hi] = [0, TLS_PROTOCOLS.length - 1];
  if (secureProtocol !== undefined) [lo, hi] = secureProtocolRange(secureProtocol);
  lo = index(min, 'minimum', lo);
  hi = index(max, 'maximum', hi);
  if (lo > hi) throw new RangeError('options.minVersion is above options.maxVersion');
  return [lo, hi];
}

/** node:tls's secureProtocol method names OpenSSL 1.0.2 has, as a protocol range */
function secureProtocolRange(v: unknown): [number, number] {
  if (typeof v !== 'string') throw new TypeError('options.secureProtocol must be a string');
  const m = /^(TLS|SSLv23|TLSv1|TLSv1_1|TLSv1_2)_(?:server_|client_)?method$/.exec(v);
  const all: [number, number] = [0, TLS_PROTOCOLS.length - 1];
  const pinned: Record<string, [number, number]> = { TLS: all, SSLv23: all, TLSv1: [0, 0], TLSv1_1: [1, 1], TLSv1_2: [2, 2] };
  if (!m) {
    throw codedError(ErrorCode.TLS_INVALID_PROTOCOL_METHOD, `Unknown method: ${v}`, TypeError);
  }
  return pinned[m[1]];
}

/** a PEM, or an array of PEMs joined into one text */
export function pemList(v: unknown, what: string): string | Buffer {
  if (!Array.isArray(v)) return pem(v, what);
  if (v.length === 0) throw new RangeError(`${what} must not be an empty array`);
  return Buffer.concat(v.map((x, i) => Buffer.concat([Buffer.from(pem(x, `${what}[${i}]`) as string), Buffer.from('\n')])));
}

export function pem(v: unknown, what: string, kind = 'a PEM string or Buffer'): string | Buffer {
  if (typeof v === 'string' || Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return toBuffer(v, what);
  throw new TypeError(`${what} must be ${kind}`);
}

/**
 * ecdhCurve: 'auto' (OpenSSL picks from its own list, SSL_CTX_set_ecdh_auto), or one curve
 * name or a ':'-list of them ('P-256', 'prime256v1', 'secp384r1:P-521'). X25519 and X448
 * do not exist in 1.0.2 and are refused by name. Returns the list to set, or undefined.
 */
export function curveList(v: unknown): string | undefined {
  if (v === undefined || v === 'auto') return undefined;
  if (typeof v !== 'string') throw new TypeError('options.ecdhCurve must be a string');
  if (v.length === 0) throw new RangeError('options.ecdhCurve must not be empty');
  const missing = v.split(':').filter((n) => /^(X25519|X448)$/i.test(n));
  if (missing.length > 0) {
    throw codedError(ErrorCode.CRYPTO_OPERATION_FAILED, `Failed to set ECDH curve: ${missing.join(', ')} is not available in OpenSSL 1.0.2 (use 'auto', or P-256, P-384, P-521)`);
  }
  return v;
}

/**
 * secureOptions: SSL_OP_* bits, node's crypto.constants values. SSL_OP_NO_TLSv1_3 is what
 * 1.0.2 does anyway (it has no TLS 1.3) and is dropped; any bit 1.0.2 does not define with
 * node's meaning (SSL_OP_NO_RENEGOTIATION, SSL_OP_ALLOW_NO_DHE_KEX, SSL_OP_PRIORITIZE_CHACHA,
 * unknown bits) is refused.
 */
export function secureOptionBits(v: unknown): number {
  if (typeof v !== 'number') throw new TypeError('options.secureOptions must be a number');
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`options.secureOptions must be an integer from 0 to 0xffffffff, got ${v}`);
  const bits = (v & ~NO_TLS_1_3) >>> 0;
  const unknown = (bits & ~SECURE_OPTIONS_MASK) >>> 0;
  if (unknown !== 0) {
    const names = Object.entries(NODE_ONLY_OPTIONS)
      .filter(([, b]) => (unknown & b) !== 0)
      .map(([n]) => n);
    throw new RangeError(
      `options.secureOptions has bits OpenSSL 1.0.2 cannot honour: 0x${unknown.toString(16)}${names.length ? ` (${names.join(', ')})` : ''}`,
    );
  }
  return bits;
}

/** node's (OpenSSL 3's) SSL_OP_NO_TLSv1_3 */
const NO_TLS_1_3 = 0x20000000;
/** OpenSSL 3 options with no 1.0.2 meaning, named in the refusal */
const NODE_ONLY_OPTIONS: Record<string, number> = {
  SSL_OP_NO_RENEGOTIATION: 0x40000000,
  SSL_OP_ALLOW_NO_DHE_KEX: 0x400,
  SSL_OP_PRIORITIZE_CHACHA: 0x200000,
};

/** sigalgs: a non-empty string ('RSA+SHA256:ECDSA+SHA256', 1.0.2's form) */
export function sigalgsList(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new TypeError('options.sigalgs must be a string');
  if (v === '') throw new RangeError('options.sigalgs must not be empty');
  return v;
}

/** pfx: PKCS#12 bytes, or an array of them or of { buf, passphrase } (node:tls's shapes) */
export function pfxList(v: unknown, passphrase: string | Buffer | undefined): { der: Buffer; passphrase?: string | Buffer }[] {
  const one = (x: unknown, what: string): { der: Buffer; passphrase?: string | Buffer } => {
    if (typeof x === 'string' || x instanceof Uint8Array) return { der: typeof x === 'string' ? Buffer.from(x) : toBuffer(x, what), passphrase };
    if (x !== null && typeof x === 'object' && 'buf' in x) {
      const o = x as { buf: unknown; passphrase?: unknown };
      const p = o.passphrase === undefined ? passphrase : (pem(o.passphrase, `${what}.passphrase`, 'a string or Buffer') as string | Buffer);
      return { der: typeof o.buf === 'string' ? Buffer.from(o.buf) : toBuffer(o.buf, `${what}.buf`), passphrase: p };
    }
    throw new TypeError(`${what} must be a Buffer or { buf, passphrase }`);
  };
  if (!Array.isArray(v)) return [one(v, 'options.pfx')];
  if (v.length === 0) throw new RangeError('options.pfx must not be an empty array');
  return v.map((x, i) => one(x, `options.pfx[${i}]`));
}

/** node:tls's answer to small DH parameters: refused under 1024 bits, a SecurityWarning under 2048 */
export function checkDhBits(bits: number): void {
  if (bits < 1024) {
    throw codedError(ErrorCode.INVALID_ARG_VALUE, `DH parameter is less than 1024 bits (${bits})`, TypeError);
  }
  if (bits < 2048) process.emitWarning('DH parameter is less than 2048 bits', 'SecurityWarning');
}
