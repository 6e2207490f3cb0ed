/**
 * Random operation sequences for differential runs. A `RandomOp` is abstract (small
 * numbers choosing among pools); `resolveOp` turns it into a concrete scenario `Step`
 * against the state of the run so far (the sessions named until then, the clock), so
 * that any sub-sequence is again a valid sequence (which makes shrinking simple).
 *
 * The pools keep the sequences inside the contract's deterministic domain: ids of
 * handshakes (new or offered) are never 1–3 bytes long, times and sizes are
 * non-negative, modes use defined bits only, `get` never asks for the empty id.
 */

import { SessionCacheOptions } from '../model/session_cache';
import { Prng } from './prng';
import { Step } from './scenario';

/**
 * The contexts a sequence runs on (one per sequence): the default server, a client
 * context (CLIENT-mode stores), a server whose id context differs from some sessions',
 * an empty id context, and servers verifying peers with and without an id context.
 */
export const RUN_OPTIONS: readonly SessionCacheOptions[] = [
  {},
  {},
  {},
  { role: 'client' },
  { role: 'client', mode: 0x1 },
  { idContext: Buffer.alloc(0) },
  { idContext: Buffer.alloc(0), verifyPeer: true },
  { verifyPeer: true },
  // a server with SSL_SESS_CACHE_NO_AUTO_CLEAR from the start: drawn by the guided plan only
  { mode: 0x82 },
];

/** How often each entry of RUN_OPTIONS is drawn (relative). */
export const RUN_OPTION_WEIGHTS: readonly number[] = [6, 0, 0, 1, 1, 1, 1, 1, 0];

/** Draws the options of one sequence. */
export function randomRunOptions(prng: Prng, weights: readonly number[] = RUN_OPTION_WEIGHTS): SessionCacheOptions {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = prng.next() * total;
  for (let i = 0; i < RUN_OPTIONS.length; i++) {
    x -= weights[i];
    if (x < 0) return RUN_OPTIONS[i];
  }
  return RUN_OPTIONS[0];
}

/** Session-id contexts created sessions may carry besides the context's own: another one, the empty one. */
const ID_CONTEXT_POOL: readonly string[] = ['6f74686572', ''];

export const RANDOM_OP_KINDS = [
  'create',
  'free',
  'add',
  'remove',
  'query',
  'setSessionTime',
  'setSessionTimeout',
  'flush',
  'advance',
  'get',
  'sessions',
  'takeEvents',
  'settings',
  'setCacheSize',
  'setTimeout',
  'setCacheMode',
  'handshake',
  'burst',
] as const;

export type RandomOpKind = (typeof RANDOM_OP_KINDS)[number];

export interface RandomOp {
  kind: RandomOpKind;
  a: number;
  b: number;
  c: number;
  d: number;
  /**
   * a concrete value instead of the one the pool numbers choose (set by shrinking, see
   * `concreteValues`): seconds of a clock advance, a session or context timeout, a cache
   * size, the length of a burst
   */
  v?: number;
  /** a second concrete value: how many seconds before the clock a session's time is (create, setSessionTime) */
  w?: number;
}

/** A concrete value of an op that shrinking may lower (to `least` at most): which field overrides it. */
export interface ConcreteValue {
  field: 'v' | 'w';
  value: number;
  least: number;
  /** what it is, for reports */
  what: 'advance' | 'timeout' | 'age' | 'size' | 'repeat';
}

/**
 * The concrete values `op` resolves to in `state` (before `resolveOp` runs it): what the
 * shrinker lowers by setting `v` / `w`. Ids stay pool entries (their pool numbers shrink
 * towards the first, smallest entries).
 */
export function concreteValues(op: RandomOp, state: RunState): ConcreteValue[] {
  const { a, b, c, d } = op;
  switch (op.kind) {
    case 'create':
      return [
        { field: 'v', value: op.v ?? at(SESSION_TIMEOUTS, d), least: 0, what: 'timeout' },
        { field: 'w', value: op.w ?? c % 20, least: 0, what: 'age' },
      ];
    case 'setSessionTime':
      return [{ field: 'w', value: op.w ?? b % 30, least: 0, what: 'age' }];
    case 'setSessionTimeout':
      return [{ field: 'v', value: op.v ?? at(SESSION_TIMEOUTS, b), least: 0, what: 'timeout' }];
    case 'advance':
      return [{ field: 'v', value: op.v ?? at(ADVANCES, a), least: 0, what: 'advance' }];
    case 'setCacheSize':
      return [{ field: 'v', value: op.v ?? at(CACHE_SIZES, a), least: 0, what: 'size' }];
    case 'setTimeout':
      return [{ field: 'v', value: op.v ?? at(CONTEXT_TIMEOUTS, a), least: 0, what: 'timeout' }];
    case 'burst':
      return [{ field: 'v', value: op.v ?? burstLength(state, c), least: 1, what: 'repeat' }];
    default:
      return [];
  }
}

/** enough handshakes to take the good-handshake counter just below, to or just past the automatic flush */
function burstLength(state: RunState, c: number): number {
  return Math.max(1, 255 - (state.good % 256) + (c % 3));
}

/** How often each kind is drawn (relative). */
export const RANDOM_OP_WEIGHTS: Readonly<Record<RandomOpKind, number>> = {
  create: 14,
  free: 6,
  add: 14,
  remove: 5,
  query: 6,
  setSessionTime: 3,
  setSessionTimeout: 3,
  flush: 4,
  advance: 6,
  get: 5,
  sessions: 3,
  takeEvents: 8,
  settings: 2,
  setCacheSize: 3,
  setTimeout: 2,
  setCacheMode: 3,
  handshake: 16,
  burst: 0.05,
};

/** Ids for created sessions: shared first bytes (one hash bucket), other lengths, short ids, one too long. */
const ID_POOL: readonly string[] = [
  '01000000',
  '0100000000000000',
  '01000000' + 'ab'.repeat(28),
  '02000000' + '11'.repeat(12),
  '11000000aa',
  '0200000011111111111111111111111111111111111111111111111111111111',
  'ff00ff00' + '33'.repeat(8),
  '0102',
  '07',
  '00'.repeat(33),
  '21436587' + '44'.repeat(28),
];

/** Ids handshakes give their new sessions (4–32 bytes); some equal created ids. */
const HANDSHAKE_ID_POOL: readonly string[] = [
  '01000000',
  '0100000000000000',
  'c0ffee00' + '55'.repeat(28),
  '0200000011111111111111111111111111111111111111111111111111111111',
  '11000000aa',
  'd00dfeed',
];

const PROTOCOLS = ['TLSv1.2', 'TLSv1.2', 'TLSv1.2', 'TLSv1', 'TLSv1.1', 'DTLSv1', 'SSLv3'] as const;
const SESSION_TIMEOUTS = [0, 1, 5, 10, 60, 300, 100000] as const;
const CONTEXT_TIMEOUTS = [0, 1, 10, 300] as const;
const CACHE_SIZES = [0, 1, 2, 3, 4, 20480] as const;
const ADVANCES = [1, 2, 5, 10, 60, 400] as const;
/** SERVER, with NO_AUTO_CLEAR, NO_INTERNAL_STORE, NO_INTERNAL_LOOKUP, NO_INTERNAL; OFF; CLIENT; BOTH */
const MODES = [0x2, 0x82, 0x202, 0x102, 0x302, 0x0, 0x1, 0x3, 0x2] as const;
const QUERIES = ['references', 'resumable', 'getSessionId', 'getSessionProtocol', 'getSessionTime', 'getSessionTimeout'] as const;
const SETTINGS = ['count', 'getCacheSize', 'getTimeout', 'getCacheMode', 'stats'] as const;
/** a handle no implementation allocates in a run of at most a few hundred steps */
export const INVALID_HANDLE = 999999;
export const START_TIME = 1000000;

const at = <T>(pool: readonly T[], n: number): T => pool[n % pool.length];

/** The run's state that resolution reads; the differential runner keeps it up to date. */
export interface RunState {
  clock: number;
  /** every session name seen so far, in order */
  names: string[];
  /** the hex id a session is known to have (created, or given by a handshake) */
  idOf: Map<string, string>;
  /** the role of the context (get callbacks are offered to servers only) */
  role: 'server' | 'client';
  /** the reference's completed handshakes so far (acceptGood + connectGood) */
  good: number;
  /** the reference's lookup counters after the last step (behaviour coverage) */
  counters: Record<string, number>;
}

export function newRunState(options: SessionCacheOptions = {}): RunState {
  return { clock: START_TIME, names: [], idOf: new Map(), role: options.role ?? 'server', good: 0, counters: {} };
}

function pick(state: RunState, n: number): string | number {
  if (state.names.length === 0 || n % 23 === 22) return INVALID_HANDLE;
  return state.names[n % state.names.length];
}

/** Whether a session may be offered in a handshake: its id is not known to be 1–3 bytes. */
function offerable(state: RunState, name: string | number): name is string {
  if (typeof name !== 'string') return false;
  const hex = state.idOf.get(name);
  return hex === undefined || hex.length === 0 || hex.length >= 8;
}

/** A concrete step for `op` in `state`, or undefined when the op does not apply (it is skipped). */
export function resolveOp(op: RandomOp, state: RunState): Step | undefined {
  const { a, b, c, d } = op;
  switch (op.kind) {
    case 'create': {
      const args: Record<string, unknown> = { id: at(ID_POOL, a), protocol: at(PROTOCOLS, b), time: state.clock - (op.w ?? c % 20), timeout: op.v ?? at(SESSION_TIMEOUTS, d) };
      const ctx = (a * 7 + c) % 6;
      if (ctx < ID_CONTEXT_POOL.length) args.idContext = ID_CONTEXT_POOL[ctx];
      return { op: 'createSession', args };
    }
    case 'free':
      return { op: 'freeSession', args: { session: pick(state, a) } };
    case 'add':
      return { op: 'add', args: { session: pick(state, a) } };
    case 'remove':
      return { op: 'remove', args: { session: pick(state, a) } };
    case 'query':
      return { op: at(QUERIES, b), args: { session: pick(state, a) } };
    case 'setSessionTime':
      return { op: 'setSessionTime', args: { session: pick(state, a), time: state.clock - (op.w ?? b % 30) } };
    case 'setSessionTimeout':
      return { op: 'setSessionTimeout', args: { session: pick(state, a), timeout: op.v ?? at(SESSION_TIMEOUTS, b) } };
    case 'flush':
      return { op: 'flush', args: { t: a % 5 === 0 ? 0 : state.clock + (b % 21) - 10 } };
    case 'advance':
      state.clock += op.v ?? at(ADVANCES, a);
      return undefined;
    case 'get': {
      const known = typeof pick(state, b) === 'string' ? state.idOf.get(pick(state, b) as string) : undefined;
      const id = a % 3 === 0 && known !== undefined && known.length > 0 ? known : at(ID_POOL, b);
      return { op: 'get', args: { id, protocol: at(PROTOCOLS, c) }, free: d % 2 === 0 };
    }
    case 'sessions':
      return { op: 'sessions', free: a % 2 === 0 };
    case 'takeEvents':
      return { op: 'takeEvents', free: a % 3 !== 0 };
    case 'settings':
      return { op: at(SETTINGS, a) };
    case 'setCacheSize':
      return { op: 'setCacheSize', args: { size: op.v ?? at(CACHE_SIZES, a) } };
    case 'setTimeout':
      return { op: 'setTimeout', args: { timeout: op.v ?? at(CONTEXT_TIMEOUTS, a) } };
    case 'setCacheMode':
      return { op: 'setCacheMode', args: { mode: at(MODES, a) } };
    case 'handshake': {
      const args: Record<string, unknown> = { now: state.clock };
      const offered = a % 3 === 0 ? undefined : pick(state, b);
      if (offered !== undefined && (offerable(state, offered) || offered === INVALID_HANDLE)) args.offered = offered;
      if (c % 4 === 2) args.id = at(HANDSHAKE_ID_POOL, d);
      if (c % 4 === 3) {
        const other = pick(state, d);
        const hex = typeof other === 'string' ? state.idOf.get(other) : undefined;
        if (hex !== undefined && hex.length >= 8) args.id = hex;
      }
      // a get-session callback (servers): it returns the offered session, or finds nothing
      if (state.role === 'server' && typeof args.offered === 'string' && (b + c) % 3 === 0) args.callback = args.offered;
      else if (state.role === 'server' && (b + c) % 7 === 1) args.callback = null;
      return { op: 'handshake', args, free: d % 2 === 0 };
    }
    case 'burst': {
      // enough handshakes to take the good-handshake counter just below, to or just past
      // the automatic flush (inside the handshake that finds it at 255, 511, …)
      const offered = pick(state, a);
      if (!offerable(state, offered)) return undefined;
      return { op: 'handshake', args: { offered, now: state.clock }, repeat: op.v ?? burstLength(state, c), free: true };
    }
  }
}

/** A readable form of an abstract op (fast-check prints these for counterexamples). */
export function formatRandomOp(op: RandomOp): string {
  const extra = `${op.v !== undefined ? `,v=${op.v}` : ''}${op.w !== undefined ? `,w=${op.w}` : ''}`;
  return `${op.kind}(${op.a},${op.b},${op.c},${op.d}${extra})`;
}

/** Relative weights of op kinds; missing kinds keep RANDOM_OP_WEIGHTS. */
export type RandomOpWeights = Partial<Record<RandomOpKind, number>>;

/** Draws one op (with `weights` overriding some of RANDOM_OP_WEIGHTS, e.g. to favour bursts). */
export function randomOp(prng: Prng, weights: RandomOpWeights = {}): RandomOp {
  const w = (k: RandomOpKind): number => weights[k] ?? RANDOM_OP_WEIGHTS[k];
  const total = RANDOM_OP_KINDS.reduce((sum, k) => sum + w(k), 0);
  let x = prng.next() * total;
  let kind: RandomOpKind = RANDOM_OP_KINDS[0];
  for (const k of RANDOM_OP_KINDS) {
    x -= w(k);
    if (x < 0) {
      kind = k;
      break;
    }
  }
  return { kind, a: prng.below(64), b: prng.below(64), c: prng.below(64), d: prng.below(64) };
}

/** A sequence of 1..maxLength ops. */
export function randomSequence(prng: Prng, maxLength: number, weights: RandomOpWeights = {}): RandomOp[] {
  const n = 1 + prng.below(maxLength);
  return Array.from({ length: n }, () => randomOp(prng, weights));
}
