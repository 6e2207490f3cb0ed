/** Error codes this package sets on `Error.code` besides OpenSSL's own. */
export const ErrorCode = {
  /** a method was called on an SslContext or SslSession after free() */
  FREED: 'ERR_SSL_FREED',
  /** addSession of a session that another context's cache holds (1.0.2 would corrupt both) */
  SESSION_IN_OTHER_CONTEXT: 'ERR_SESSION_IN_OTHER_CONTEXT',
} as const;

export function codedError(code: string, message: string): Error & { code: string } {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  return e;
}
