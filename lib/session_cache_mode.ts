import { native } from './native';

const c = native.constants;

/** SSL_CTX_set_session_cache_mode flags of OpenSSL 1.0.2. */
export const SessionCacheMode = {
  OFF: c.SSL_SESS_CACHE_OFF,
  CLIENT: c.SSL_SESS_CACHE_CLIENT,
  SERVER: c.SSL_SESS_CACHE_SERVER,
  BOTH: c.SSL_SESS_CACHE_BOTH,
  NO_AUTO_CLEAR: c.SSL_SESS_CACHE_NO_AUTO_CLEAR,
  NO_INTERNAL_LOOKUP: c.SSL_SESS_CACHE_NO_INTERNAL_LOOKUP,
  NO_INTERNAL_STORE: c.SSL_SESS_CACHE_NO_INTERNAL_STORE,
  NO_INTERNAL: c.SSL_SESS_CACHE_NO_INTERNAL,
} as const;

/** every bit 1.0.2 defines for the cache mode */
export const ALL_SESSION_CACHE_MODE_BITS = c.SSL_SESS_CACHE_BOTH | c.SSL_SESS_CACHE_NO_AUTO_CLEAR | c.SSL_SESS_CACHE_NO_INTERNAL;
