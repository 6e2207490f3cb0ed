/**
 * The `SSL_CTX_sess_*` counters of one `SSL_CTX` (`number` is `SSL_CTX_sess_number`, the
 * cache's item count). One type for the real library (`SslContext#stats`) and for the
 * `SessionCache` contract of the model (`SessionCache#stats`).
 */
export interface CacheStats {
  number: number;
  connect: number;
  connectGood: number;
  connectRenegotiate: number;
  accept: number;
  acceptGood: number;
  acceptRenegotiate: number;
  hits: number;
  cbHits: number;
  misses: number;
  timeouts: number;
  cacheFull: number;
}
