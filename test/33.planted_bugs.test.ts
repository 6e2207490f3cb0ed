/**
 * The handshake-level differential run catches a broken model: each subclass
 * of CacheModel below breaks ONE behaviour of OpenSSL 1.0.2h's handshake path, and the
 * random search against the real library (OpenSSLCache) finds a divergence and shrinks
 * it to a short trace that shows the behaviour.
 */
import { CacheModel } from '../lib/model';
import type { ModelSession } from '../lib/model/cache_model';
import { OpenSSLCache } from '../lib/conformance/openssl_cache';
import { DifferentialRunner, Divergence, RandomOpWeights, formatDivergence } from '../lib/conformance';
import { SSL_SESS_CACHE_SERVER } from '../lib/model/session_cache';

/** ssl_get_prev_session without the sid_ctx comparison: resumes sessions of another id context. */
class IgnoresIdContext extends CacheModel {
  protected override idContextMatches(): boolean {
    return true;
  }
}

/** Counts an expired session at lookup but leaves it in the cache. */
class KeepsExpiredSessions extends CacheModel {
  protected override expireAtLookup(session: ModelSession): void {
    super.expireAtLookup({ ...session, handle: session.handle, idContext: session.idContext }); // a copy: nothing is removed
  }
}

/** Flushes one handshake late (when accept_good is already 256, 512, …). */
class FlushesLate extends CacheModel {
  protected override autoFlushDue(good: number): boolean {
    return good > 0 && (good & 0xff) === 0;
  }
}

/** ssl_update_cache looking at the SERVER bit for clients too. */
class StoresByServerBit extends CacheModel {
  protected override storesNewSessions(mode: number): boolean {
    return (mode & SSL_SESS_CACHE_SERVER) !== 0;
  }
}

function hunt(
  model: new (options: object) => CacheModel,
  runs: number,
  seed: number,
  weights: RandomOpWeights = {},
): { runs: number; divergence?: Divergence } {
  const runner = new DifferentialRunner(
    (options) => new OpenSSLCache(options),
    (options) => new model(options),
  );
  return runner.search(runs, seed, 50, weights);
}

function expectCaught(found: { runs: number; divergence?: Divergence }, shows: RegExp, maxSteps = 8): string {
  expect(found.divergence).toBeDefined();
  const d = found.divergence as Divergence;
  const text = formatDivergence(d, 'OpenSSL 1.0.2h', 'planted bug');
  expect(text).toMatch(shows);
  // shrunk: only what the behaviour needs is left
  expect(d.trace.length).toBeLessThanOrEqual(maxSteps);
  return text;
}

test('a model that ignores the session-id context is caught, with a trace offering a session of another context', () => {
  const text = expectCaught(hunt(IgnoresIdContext, 2000, 1), /idContext/);
  expect(text).toMatch(/handshake \{[^}]*"offered"/);
});

test('a model that leaves an expired session in the cache at lookup is caught', () => {
  // a session that has expired by the handshake's `now`, offered (or found by the callback)
  const text = expectCaught(hunt(KeepsExpiredSessions, 2000, 1), /handshake \{[^}]*"offered"/);
  expect(text).toMatch(/"timeout":\d+/);
});

test('a model whose automatic flush runs one handshake late is caught, with the burst of handshakes that reaches it', () => {
  // 255 handshakes are needed before the flush: the search favours the bursts that
  // reach it (the default weights find it too, only after many more sequences)
  const text = expectCaught(hunt(FlushesLate, 2000, 1, { burst: 3 }), /×\d{2,3}/, 16);
  expect(text).toMatch(/handshake/);
});

test('a model that stores client sessions by the SERVER bit is caught in a client-role run', () => {
  const text = expectCaught(hunt(StoresByServerBit, 2000, 1), /"role":"client"/);
  expect(text).toMatch(/handshake/);
});
