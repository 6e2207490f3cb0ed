/** SSL_CTX_set_session_cache_mode flags of OpenSSL 1.0.2. */
export const SessionCacheMode = {
  OFF: 0x0,
  CLIENT: 0x1,
  SERVER: 0x2,
  BOTH: 0x3,
  NO_AUTO_CLEAR: 0x80,
  NO_INTERNAL_LOOKUP: 0x100,
  NO_INTERNAL_STORE: 0x200,
  NO_INTERNAL: 0x300,
} as const;

/** every bit 1.0.2 defines for the cache mode */
export const ALL_SESSION_CACHE_MODE_BITS = 0x3 | 0x80 | 0x300;
