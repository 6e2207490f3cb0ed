// C-shaped access for conformance work: OpenSSL's integers, unchanged. Arguments are
// checked exactly like the SslContext/SslSession setters: a value the setter refuses with a
// RangeError (a mode bit 1.0.2 does not define, a context timeout above INT_MAX) is refused
// here too, before OpenSSL runs.
import { kHandle } from './internal';
import type { CacheStats } from '../common/cache_stats';
import { callOpenSSL } from './openssl_call';
import { checkMode, SslContext } from './ssl_context';
import { SslSession } from './ssl_session';
import { INT_MAX, integer, LONG_MAX } from '../common/validate';

function ctxOf(ctx: SslContext) {
  if (!(ctx instanceof SslContext)) throw new TypeError('ctx must be an SslContext');
  return ctx[kHandle];
}

function sessOf(s: SslSession) {
  if (!(s instanceof SslSession)) throw new TypeError('session must be an SslSession');
  return s[kHandle];
}

function counter(name: keyof CacheStats) {
  return (ctx: SslContext): number => ctxOf(ctx).stats()[name];
}

export const raw = {
  SSL_CTX_add_session: (ctx: SslContext, s: SslSession): number => (ctxOf(ctx), ctx.rawAdd(s)),
  SSL_add_session: (ctx: SslContext, s: SslSession): number => (ctxOf(ctx), ctx.rawAdd(s)),
  SSL_CTX_remove_session: (ctx: SslContext, s: SslSession): number => (ctxOf(ctx), ctx.rawRemove(s)),
  SSL_remove_session: (ctx: SslContext, s: SslSession): number => (ctxOf(ctx), ctx.rawRemove(s)),
  /** SSL_CTX_add_session over an array in one native call: how many returned 1 */
  SSL_CTX_add_sessions: (ctx: SslContext, s: readonly SslSession[]): number => (ctxOf(ctx), ctx.addSessions(s)),
  /** SSL_CTX_remove_session over an array in one native call: how many returned 1 */
  SSL_CTX_remove_sessions: (ctx: SslContext, s: readonly SslSession[]): number => (ctxOf(ctx), ctx.removeSessions(s)),
  SSL_CTX_flush_sessions: (ctx: SslContext, t: number): void => {
    const h = ctxOf(ctx);
    callOpenSSL([ctx], 'flush', () => h.flush(integer(t, 't', 0, LONG_MAX)));
  },
  SSL_CTX_sess_number: counter('number'),
  SSL_CTX_sess_connect: counter('connect'),
  SSL_CTX_sess_connect_good: counter('connectGood'),
  SSL_CTX_sess_connect_renegotiate: counter('connectRenegotiate'),
  SSL_CTX_sess_accept: counter('accept'),
  SSL_CTX_sess_accept_good: counter('acceptGood'),
  SSL_CTX_sess_accept_renegotiate: counter('acceptRenegotiate'),
  SSL_CTX_sess_hits: counter('hits'),
  SSL_CTX_sess_cb_hits: counter('cbHits'),
  SSL_CTX_sess_misses: counter('misses'),
  SSL_CTX_sess_timeouts: counter('timeouts'),
  SSL_CTX_sess_cache_full: counter('cacheFull'),
  SSL_CTX_sess_set_cache_size: (ctx: SslContext, n: number): number => ctxOf(ctx).setCacheSize(integer(n, 'size', 0, LONG_MAX)),
  SSL_CTX_sess_get_cache_size: (ctx: SslContext): number => ctxOf(ctx).cacheSize(),
  SSL_CTX_set_timeout: (ctx: SslContext, t: number): number => ctxOf(ctx).setTimeout(integer(t, 't', 0, INT_MAX)),
  SSL_CTX_get_timeout: (ctx: SslContext): number => ctxOf(ctx).timeout(),
  SSL_CTX_set_session_cache_mode: (ctx: SslContext, m: number): number => ctxOf(ctx).setMode(checkMode(m, 'mode')),
  SSL_CTX_get_session_cache_mode: (ctx: SslContext): number => ctxOf(ctx).mode(),
  SSL_SESSION_get_time: (s: SslSession): number => sessOf(s).time(),
  SSL_SESSION_set_time: (s: SslSession, t: number): number => {
    sessOf(s).setTime(integer(t, 't', 0, LONG_MAX));
    return t;
  },
  SSL_SESSION_get_timeout: (s: SslSession): number => sessOf(s).timeout(),
  SSL_SESSION_set_timeout: (s: SslSession, t: number): number => {
    sessOf(s).setTimeout(integer(t, 't', 0, LONG_MAX));
    return 1;
  },
};
