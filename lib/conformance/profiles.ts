/**
 * Steering of random sequences: profiles (operation weights and the contexts drawn) and the
 * guided plan of the default run, which gives every fifth sequence a profile aimed at a
 * rare path (the automatic flush of the 256th handshake, the same handshake under
 * NO_AUTO_CLEAR, expiry at lookup, the cache-full boundary) so that those are reached within
 * the default 300 sequences.
 */

import { RandomOpWeights, RUN_OPTION_WEIGHTS, RUN_OPTIONS } from './random_ops';
import { UsageError } from './usage_error';

export interface Profile {
  /** relative weights of op kinds (missing kinds keep RANDOM_OP_WEIGHTS) */
  weights: RandomOpWeights;
  /** relative weights of RUN_OPTIONS (default RUN_OPTION_WEIGHTS) */
  runOptionWeights?: readonly number[];
  description: string;
}

const serverOnly = RUN_OPTIONS.map((o, i) => (o.role === 'client' ? 0 : RUN_OPTION_WEIGHTS[i]));

export const PROFILES = {
  default: { weights: {}, description: 'every operation and context; guided: every fifth sequence aims at a rare path' },
  'server-only': { weights: {}, runOptionWeights: serverOnly, description: 'server contexts only (for a cache without client support)' },
  expiry: {
    weights: { advance: 16, setSessionTime: 8, setSessionTimeout: 8, flush: 8, handshake: 24, burst: 0 },
    description: 'time moves often: expiry at lookup, flush boundaries',
  },
  'auto-flush': {
    // bursts, and sessions (some expired) in the cache for the flush to find
    weights: { burst: 3, create: 24, add: 24, setSessionTimeout: 6, handshake: 4, takeEvents: 2 },
    description: 'bursts of handshakes up to and past the automatic flush (256th handshake)',
  },
  'auto-flush-no-clear': {
    // the same bursts on a server that starts with NO_AUTO_CLEAR and keeps it
    weights: { burst: 3, create: 24, add: 24, setSessionTimeout: 6, handshake: 4, takeEvents: 2, setCacheMode: 0 },
    runOptionWeights: RUN_OPTIONS.map((o) => (o.mode === 0x82 ? 1 : 0)),
    description: 'bursts past the 256th handshake on a NO_AUTO_CLEAR server (the flush that does not happen)',
  },
  'cache-full': {
    weights: { setCacheSize: 10, create: 20, add: 24, handshake: 20, remove: 2, free: 2, burst: 0 },
    description: 'small cache sizes: eviction at the cache-full boundary',
  },
} as const satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;

/** The profile named on the command line; a UsageError for an unknown name. */
export function profileNamed(name: string): ProfileName {
  if (!Object.prototype.hasOwnProperty.call(PROFILES, name)) {
    throw new UsageError(`--profile must be one of ${Object.keys(PROFILES).join(', ')}, got ${JSON.stringify(name)}`);
  }
  return name as ProfileName;
}

/** What sequence `index` (1-based) of a run is drawn with. */
export type SequencePlan = (index: number) => { weights: RandomOpWeights; runOptionWeights?: readonly number[] };

const GUIDED: readonly ProfileName[] = ['auto-flush', 'expiry', 'auto-flush', 'cache-full', 'auto-flush-no-clear'];

/**
 * The plan of a profile: its own weights for every sequence; `default` with `guided` sends
 * sequences 5, 10, 15, 20, 25, … in turn to expiry, auto-flush, cache-full, auto-flush-no-clear,
 * auto-flush. `extra` weights
 * (`--weight kind=N`) apply on top of every sequence's.
 */
export function sequencePlan(profile: ProfileName = 'default', guided = true, extra: RandomOpWeights = {}): SequencePlan {
  const own: Profile = PROFILES[profile];
  return (index) => {
    let p: Profile = own;
    if (profile === 'default' && guided && index % 5 === 0) p = PROFILES[GUIDED[(index / 5) % GUIDED.length]];
    return { weights: { ...p.weights, ...extra }, runOptionWeights: p.runOptionWeights };
  };
}

/** `kind=N` pairs of `--weight` as weights; a UsageError for an unknown kind or a bad number. */
export function parseWeights(pairs: readonly string[], kinds: readonly string[]): RandomOpWeights {
  const out: Record<string, number> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z]+)=(\d+(?:\.\d+)?)$/.exec(pair);
    if (m === null) throw new UsageError(`--weight needs KIND=NUMBER, got ${JSON.stringify(pair)}`);
    if (!kinds.includes(m[1])) throw new UsageError(`--weight: unknown operation kind "${m[1]}" (${kinds.join(', ')})`);
    out[m[1]] = Number(m[2]);
  }
  return out as RandomOpWeights;
}
