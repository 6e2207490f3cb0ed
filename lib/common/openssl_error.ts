/** One entry of OpenSSL's error queue, as ERR_get_error_line_data reported it. */
export interface OpenSSLErrorEntry {
  library: string | null;
  function: string | null;
  reason: string | null;
  /** the packed OpenSSL error code (ERR_PACK(lib, func, reason)) */
  code: number;
  data?: string;
}

function codeFrom(entries: OpenSSLErrorEntry[], fallback: string): string {
  const e = entries.find((x) => x.reason);
  if (!e) return fallback;
  const part = (s: string | null) => (s ?? '').toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '');
  const lib = part(e.library).replace(/_ROUTINES$/, '');
  return `ERR_OSSL_${lib ? lib + '_' : ''}${part(e.reason)}`;
}

/**
 * A failure reported by OpenSSL 1.0.2. `opensslErrors` is the thread's error queue at the
 * time of the failure (oldest first); `code` is derived from the first entry with a
 * reason, Node-style (`ERR_OSSL_<LIBRARY>_<REASON>`), or names the failed operation when
 * OpenSSL queued nothing.
 */
export class OpenSSLError extends Error {
  readonly code: string;
  readonly opensslErrors: OpenSSLErrorEntry[];

  /** `options.code` replaces the derived code when the package knows better (e.g. ERR_SESSION_FROM_NEWER_OPENSSL) */
  constructor(message: string, opensslErrors: OpenSSLErrorEntry[] = [], fallbackCode = 'ERR_OPENSSL_FAILED', options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OpenSSLError';
    this.opensslErrors = opensslErrors;
    this.code = options?.code ?? codeFrom(opensslErrors, fallbackCode);
  }
}
