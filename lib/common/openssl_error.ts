import { ErrorCode } from './coded_error';

/** One entry of OpenSSL's error queue, as ERR_get_error_line_data reported it. */
export interface OpenSSLErrorEntry {
  library: string | null;
  function: string | null;
  reason: string | null;
  /** the packed OpenSSL error code (ERR_PACK(lib, func, reason)) */
  code: number;
  data?: string;
}

/**
 * ERR_GET_LIB numbers of OpenSSL 1.0.2 (err.h) → the ERR_LIB_* name node:tls puts in its
 * codes. Node names a library by its macro, not by its text ("x509 certificate routines"
 * is X509); a library it does not name gives ERR_OSSL_<REASON>.
 */
const LIBRARY_NAMES: Record<number, string> = {
  2: 'SYS', 3: 'BN', 4: 'RSA', 5: 'DH', 6: 'EVP', 7: 'BUF', 8: 'OBJ', 9: 'PEM', 10: 'DSA', 11: 'X509',
  13: 'ASN1', 14: 'CONF', 15: 'CRYPTO', 16: 'EC', 20: 'SSL', 32: 'BIO', 33: 'PKCS7', 34: 'X509V3',
  35: 'PKCS12', 36: 'RAND', 37: 'DSO', 38: 'ENGINE', 39: 'OCSP', 40: 'UI', 41: 'COMP', 42: 'ECDSA',
  43: 'ECDH', 45: 'FIPS', 46: 'CMS', 47: 'TS', 48: 'HMAC',
};

/**
 * Reasons whose failure node:tls (OpenSSL 3) reports under another code: a wrong or missing
 * pass phrase of an encrypted PEM is ERR_OSSL_BAD_DECRYPT there (1.0.2 says "bad decrypt"
 * in PEM or EVP, or "bad password read" when no pass phrase was given); bytes that are
 * not TLS are ERR_SSL_WRONG_VERSION_NUMBER.
 */
const NODE_CODES: Record<string, string> = {
  'bad decrypt': ErrorCode.BAD_DECRYPT,
  'bad password read': ErrorCode.BAD_DECRYPT,
  // bytes that are no TLS record at all: 1.0.2's SSLv23 server says "unknown protocol"
  'unknown protocol': ErrorCode.WRONG_VERSION_NUMBER,
};

function codeFrom(entries: OpenSSLErrorEntry[], fallback: string): string {
  const e = entries.find((x) => x.reason);
  if (!e) return fallback;
  const known = NODE_CODES[e.reason!.toLowerCase()];
  if (known) return known;
  const reason = e.reason!.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '');
  // ERR_GET_LIB of 1.0.2's packed code: the top byte
  const lib = LIBRARY_NAMES[(e.code >>> 24) & 0xff];
  // node: "ERR_SSL_<REASON>" for the SSL library, "ERR_OSSL_<LIB>_<REASON>" for the others
  if (lib === 'SSL') return `ERR_SSL_${reason}`;
  return `ERR_OSSL_${lib ? lib + '_' : ''}${reason}`;
}

/**
 * A failure reported by OpenSSL 1.0.2. `opensslErrors` is the thread's error queue at the
 * time of the failure (oldest first); `code` is derived from the first entry with a
 * reason as node:tls derives it (`ERR_SSL_<REASON>` for the SSL library,
 * `ERR_OSSL_<LIBRARY>_<REASON>` for the others, node's own code where OpenSSL 3 reports
 * the same failure differently), or names the failed operation when OpenSSL queued nothing.
 */
export class OpenSSLError extends Error {
  readonly code: string;
  readonly opensslErrors: OpenSSLErrorEntry[];

  /** `options.code` replaces the derived code when the package knows better (e.g. ERR_SESSION_FROM_NEWER_OPENSSL) */
  constructor(message: string, opensslErrors: OpenSSLErrorEntry[] = [], fallbackCode: string = ErrorCode.OPENSSL_FAILED, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OpenSSLError';
    this.opensslErrors = opensslErrors;
    this.code = options?.code ?? codeFrom(opensslErrors, fallbackCode);
  }
}
