/**
 * Differential test: random operation sequences run against the
 * adapter over the real OpenSSL 1.0.2h (OpenSSLCache) and the pure-TypeScript model
 * (CacheModel) in lockstep. After every step the runner compares the result (values,
 * thrown error codes, sessions handed out), the reference count of every session the
 * caller holds, stats() and the list order of sessions(); takeEvents steps (and one at
 * the end of every sequence) compare the event sequences. A failure prints the shrunk
 * sequence (abstract ops) and the concrete trace of steps with OpenSSL's results.
 */
import fc from 'fast-check';
import { CacheModel } from '../lib/model';
import { OpenSSLCache } from '../lib/conformance/openssl_cache';
import { SslSession, setOpenSSLClock } from '../lib';
import {
  DifferentialRunner,
  RANDOM_OP_KINDS,
  RANDOM_OP_WEIGHTS,
  RUN_OPTIONS,
  RUN_OPTION_WEIGHTS,
  formatOptions,
  RandomOp,
  formatDivergence,
  formatRandomOp,
} from '../lib/conformance';
import { ERR_SSL_FREED } from '../lib/model/session_cache';

/** An abstract op that prints itself readably in fast-check's counterexample. */
function printable(op: RandomOp): RandomOp {
  return Object.defineProperty({ ...op }, fc.toStringMethod, { value: () => formatRandomOp(op), enumerable: false });
}

const small = fc.nat(63);
const opArbitrary: fc.Arbitrary<RandomOp> = fc.oneof(
  ...RANDOM_OP_KINDS.map((kind) => ({
    weight: Math.max(1, Math.round(RANDOM_OP_WEIGHTS[kind] * 100)),
    arbitrary: fc.record({ a: small, b: small, c: small, d: small }).map((r) => printable({ kind, ...r })),
  })),
);

const runner = new DifferentialRunner(
  (options) => new OpenSSLCache(options),
  (options) => {
    const model = new CacheModel(options);
    return model;
  },
);

/** The context of a sequence (server, client role, id contexts, verify-peer), printed readably. */
const optionsArbitrary = fc.oneof(
  ...RUN_OPTIONS.map((options, i) => ({
    weight: RUN_OPTION_WEIGHTS[i],
    arbitrary: fc.constant(Object.defineProperty({ ...options }, fc.toStringMethod, { value: () => formatOptions(options), enumerable: false })),
  })).filter((x) => x.weight > 0),
);

test('OpenSSLCache and CacheModel agree on 1000 random sequences of up to 50 steps mixing cache calls and handshakes', () => {
  fc.assert(
    fc.property(optionsArbitrary, fc.array(opArbitrary, { minLength: 1, maxLength: 50, size: 'max' }), (options, ops) => {
      const divergence = runner.run(ops, options);
      if (divergence !== undefined) {
        throw new Error(`OpenSSL and the model diverged:\n${formatDivergence(divergence, 'OpenSSL 1.0.2h', 'CacheModel')}`);
      }
    }),
    { numRuns: 1000, includeErrorInReport: true },
  );
});

describe('OpenSSLCache itself', () => {
  test('handshake pins the OpenSSL clock to `now` and unpins it afterwards, also after a failure', () => {
    const cache = new OpenSSLCache();
    try {
      const r = cache.handshake({ now: 1000, id: Buffer.alloc(32, 1) });
      expect(cache.getSessionTime(r.session)).toBe(1000);
      expect(() => cache.handshake({ now: 2000, id: Buffer.alloc(32, 1) })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_ID_CONFLICT' }));
      // SSL_SESSION_new stamps time(NULL): the real clock again, not 1000 or 2000
      const probe = SslSession.create({ id: Buffer.alloc(8, 9) });
      try {
        expect(Math.abs(probe.time - Date.now() / 1000)).toBeLessThan(24 * 3600);
      } finally {
        probe.free();
      }
    } finally {
      setOpenSSLClock(undefined);
      cache.dispose();
    }
  });

  test('dispose frees everything and later calls are refused', () => {
    const cache = new OpenSSLCache({ cacheSize: 5 });
    const a = cache.createSession({ id: Buffer.alloc(8, 2), time: 1000, timeout: 300 });
    expect(cache.add(a)).toBe(1);
    expect(cache.remove(a)).toBe(1);
    expect(cache.references(a)).toBe(2); // the caller + the pending remove event
    cache.dispose();
    cache.dispose();
    expect(() => cache.references(a)).toThrow(expect.objectContaining({ code: ERR_SSL_FREED }));
    expect(() => cache.count()).toThrow(expect.objectContaining({ code: ERR_SSL_FREED }));
  });

  test('the RangeError cases of the contract leave OpenSSL untouched', () => {
    const cache = new OpenSSLCache();
    try {
      const a = cache.createSession({ id: Buffer.alloc(8, 3), time: 1000, timeout: 300 });
      const b = cache.createSession({ id: Buffer.alloc(8, 3), time: 1000, timeout: 300 });
      const dtls = cache.createSession({ id: Buffer.alloc(8, 4), protocol: 'DTLSv1', time: 1000, timeout: 300 });
      cache.add(a);
      expect(() => cache.handshake({ offered: b, now: 1001 })).toThrow(RangeError);
      expect(() => cache.handshake({ offered: dtls, now: 1001 })).toThrow(RangeError);
      expect(() => cache.createSession({ id: Buffer.alloc(33), time: 1, timeout: 1 })).toThrow(RangeError);
      expect(cache.stats()).toMatchObject({ accept: 0, hits: 0, misses: 0, number: 1 });
      expect(cache.references(b)).toBe(1);
      expect(cache.references(a)).toBe(2);
    } finally {
      cache.dispose();
    }
  });
});
