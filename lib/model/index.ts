// Entry point `openssl-session-cache/model`: the pure-TypeScript reference model of the
// OpenSSL 1.0.2h session cache and the `SessionCache` contract it shares with the
// adapter over the real library (`OpenSSLCache`, in the conformance entry point).
export { CacheModel } from './cache_model';
export * from './session_cache';
