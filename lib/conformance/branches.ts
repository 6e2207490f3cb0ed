/**
 * Branch coverage of the random sequences, mapped to the catalogue: which OpenSSL 1.0.2h
 * code paths (`ssl_get_prev_session`, `ssl_update_cache`, `SSL_CTX_add_session`, …, each
 * named with its docs/semantics.md section) real OpenSSL took in the drawn sequences, and
 * so which catalogue scenarios' behaviours the random part exercised. A branch is
 * recognised from the step, real OpenSSL's result, how its `stats()` moved and what the
 * run knows of the context (role, mode, context timeout, id context, session times).
 */

import { SessionCacheOptions } from '../model/session_cache';
import { Outcome } from './step_executor';
import { Step } from './scenario';

export interface Branch {
  /** a short stable key */
  key: string;
  /** the OpenSSL function (and file) the branch is in */
  where: string;
  /** what happens there */
  what: string;
  /** the docs/semantics.md section that describes it */
  semantics: string;
}

const LOOKUP = 'Resumption on a server: ssl_get_prev_session';
const UPDATE = 'New sessions: ssl_update_cache';
const ADD = 'Adding: SSL_CTX_add_session';
const REMOVE = 'Removing: SSL_CTX_remove_session';
const FLUSH = 'Flushing: SSL_CTX_flush_sessions';
const OBJECTS = 'Objects and defaults';

export const BRANCHES: readonly Branch[] = [
  { key: 'lookup-hit', where: 'ssl_get_prev_session (ssl_sess.c)', what: 'the internal lookup finds a live session: hits +1, resumed', semantics: LOOKUP },
  { key: 'lookup-miss', where: 'ssl_get_prev_session (ssl_sess.c)', what: 'the internal lookup finds nothing: misses +1', semantics: LOOKUP },
  { key: 'lookup-disabled', where: 'ssl_get_prev_session (ssl_sess.c)', what: 'NO_INTERNAL_LOOKUP: an offered session is not looked up', semantics: LOOKUP },
  { key: 'lookup-callback-hit', where: 'ssl_get_prev_session (ssl_sess.c)', what: 'the get-session callback returns the session: cbHits +1, cached', semantics: LOOKUP },
  { key: 'lookup-callback-none', where: 'ssl_get_prev_session (ssl_sess.c)', what: 'the get-session callback finds nothing: full handshake', semantics: LOOKUP },
  { key: 'lookup-expired', where: 'ssl_get_prev_session (ssl_sess.c)', what: 'timeout < now - time: timeouts +1, removed', semantics: LOOKUP },
  { key: 'lookup-expired-callback', where: 'ssl_get_prev_session (ssl_sess.c)', what: 'the callback session has expired: cbHits and timeouts +1', semantics: LOOKUP },
  { key: 'lookup-id-context-mismatch', where: 'ssl_get_prev_session (ssl_sess.c)', what: 'the found session has another session-id context: a miss no counter sees', semantics: LOOKUP },
  { key: 'lookup-verify-empty-context', where: 'ssl_get_prev_session (ssl_sess.c)', what: 'SSL_VERIFY_PEER with an empty id context: SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED', semantics: LOOKUP },
  { key: 'update-server-store', where: 'ssl_update_cache (ssl_lib.c)', what: 'SERVER: a full handshake adds its session and announces it', semantics: UPDATE },
  { key: 'update-no-internal-store', where: 'ssl_update_cache (ssl_lib.c)', what: 'NO_INTERNAL_STORE: announced, not stored', semantics: UPDATE },
  { key: 'update-cache-off', where: 'ssl_update_cache (ssl_lib.c)', what: 'mode without SERVER: an empty session id, nothing stored', semantics: UPDATE },
  { key: 'update-client-store', where: 'ssl_update_cache (ssl_lib.c)', what: 'CLIENT: a client session is stored', semantics: UPDATE },
  { key: 'update-client-not-stored', where: 'ssl_update_cache (ssl_lib.c)', what: 'a client context without CLIENT stores nothing', semantics: UPDATE },
  { key: 'auto-flush', where: 'ssl_update_cache (ssl_lib.c)', what: 'the 256th good handshake flushes (SERVER, no NO_AUTO_CLEAR)', semantics: UPDATE },
  { key: 'auto-flush-disabled', where: 'ssl_update_cache (ssl_lib.c)', what: 'NO_AUTO_CLEAR: the 256th good handshake flushes nothing', semantics: UPDATE },
  { key: 'method-default-timeout', where: 'ssl_get_new_session (ssl_sess.c)', what: 'a context timeout of 0: the method default', semantics: OBJECTS },
  { key: 'session-id-conflict', where: 'ssl_get_new_session (ssl_sess.c)', what: 'a new id already cached: SSL_R_SSL_SESSION_ID_CONFLICT', semantics: UPDATE },
  { key: 'offered-id-sent-back', where: 'ssl3_get_server_hello (s3_clnt.c)', what: 'the server answers the offered id without resuming: the client aborts', semantics: UPDATE },
  { key: 'foreign-resumption-refused', where: 'SSL_set_session (ssl_sess.c)', what: 'offering an object whose key another cached object holds: RangeError', semantics: LOOKUP },
  { key: 'add-new', where: 'SSL_CTX_add_session (ssl_sess.c)', what: 'a new key is added: 1', semantics: ADD },
  { key: 'add-replaces-same-key', where: 'SSL_CTX_add_session (ssl_sess.c)', what: 'another object under the same key is replaced quietly: 1', semantics: ADD },
  { key: 'add-identical', where: 'SSL_CTX_add_session (ssl_sess.c)', what: 'the very object is cached already: 0', semantics: ADD },
  { key: 'add-expired', where: 'SSL_CTX_add_session (ssl_sess.c)', what: 'an expired session is added all the same', semantics: ADD },
  { key: 'add-evicts-when-full', where: 'SSL_CTX_add_session (ssl_sess.c)', what: 'the cache is full: the oldest are evicted, cacheFull +1', semantics: ADD },
  { key: 'remove-cached', where: 'remove_session_lock (ssl_sess.c)', what: 'a cached session is removed: 1', semantics: REMOVE },
  { key: 'remove-not-cached', where: 'remove_session_lock (ssl_sess.c)', what: 'nothing to remove: 0', semantics: REMOVE },
  { key: 'flush-removes', where: 'SSL_CTX_flush_sessions (ssl_sess.c)', what: 'expired sessions are removed', semantics: FLUSH },
  { key: 'flush-removes-several', where: 'SSL_CTX_flush_sessions (ssl_sess.c)', what: 'several sessions are removed in one flush (lhash bucket order)', semantics: FLUSH },
  { key: 'flush-keeps', where: 'SSL_CTX_flush_sessions (ssl_sess.c)', what: 'a flush with sessions cached removes none', semantics: FLUSH },
  { key: 'set-cache-size', where: 'SSL_CTX_sess_set_cache_size (ssl_lib.c)', what: 'the cache size changes', semantics: ADD },
  { key: 'set-cache-mode', where: 'SSL_CTX_set_session_cache_mode (ssl_lib.c)', what: 'the mode changes, the old one is returned', semantics: OBJECTS },
  { key: 'set-session-time', where: 'SSL_SESSION_set_time (ssl_sess.c)', what: 'a session time changes in place', semantics: OBJECTS },
  { key: 'set-session-timeout', where: 'SSL_SESSION_set_timeout (ssl_sess.c)', what: 'a session timeout changes in place', semantics: OBJECTS },
  { key: 'freed-handle', where: 'the contract (SSL_SESSION_free)', what: 'a handle whose references are gone: ERR_SSL_FREED', semantics: OBJECTS },
  { key: 'invalid-handle', where: 'the contract', what: 'a handle never handed out: ERR_INVALID_HANDLE', semantics: OBJECTS },
  { key: 'argument-range', where: 'the contract', what: 'an argument outside the contract: RangeError', semantics: OBJECTS },
];

/** The branches each catalogue scenario pins; the random runs reach its behaviour when they reach all of them. */
export const CATALOGUE_BRANCHES: Readonly<Record<string, readonly string[]>> = {
  'full-handshake-caches-and-announces': ['update-server-store'],
  'offered-session-resumes': ['lookup-hit'],
  'removed-session-misses': ['remove-cached', 'lookup-miss'],
  'no-internal-store-full-control': ['update-no-internal-store'],
  'no-internal-lookup-never-resumes': ['lookup-disabled'],
  'expired-session-times-out': ['lookup-expired'],
  'size-limit-evicts-oldest-first': ['add-evicts-when-full'],
  'set-cache-size-evicts-on-next-add': ['set-cache-size', 'add-evicts-when-full'],
  'same-key-replaces-quietly': ['add-replaces-same-key'],
  'identical-add-returns-0': ['add-identical'],
  'expired-session-is-still-added': ['add-expired'],
  'flush-boundary': ['flush-removes', 'flush-keeps'],
  'flush-visits-hash-buckets': ['flush-removes-several'],
  'auto-flush-in-256th-handshake': ['auto-flush'],
  'no-auto-clear-keeps-expired': ['auto-flush-disabled'],
  'protocol-is-part-of-the-key': ['add-new', 'lookup-hit'],
  'session-id-conflict': ['session-id-conflict'],
  'offered-id-sent-back-fails': ['offered-id-sent-back'],
  'foreign-resumption-is-refused': ['foreign-resumption-refused'],
  'cache-off-gives-empty-ids': ['update-cache-off'],
  'timeout-zero-uses-method-default': ['method-default-timeout'],
  'cache-mode-round-trip': ['set-cache-mode'],
  'session-time-changes-in-place': ['set-session-time', 'set-session-timeout'],
  'handles-and-references': ['freed-handle', 'invalid-handle'],
  'argument-ranges': ['argument-range'],
  'id-context-mismatch-is-an-uncounted-miss': ['lookup-id-context-mismatch'],
  'verify-peer-with-empty-id-context-fails': ['lookup-verify-empty-context'],
  'get-callback-hit-is-cached': ['lookup-callback-hit'],
  'expired-callback-session-is-counted-and-removed': ['lookup-expired-callback'],
  'client-mode-stores-client-sessions': ['update-client-store', 'update-client-not-stored'],
};

const SERVER = 0x2;
const CLIENT = 0x1;
const NO_AUTO_CLEAR = 0x80;
const NO_INTERNAL_LOOKUP = 0x100;
const NO_INTERNAL_STORE = 0x200;
/** the id context a context has when its options give none (the bytes of `openssl-session-cache`) */
const DEFAULT_ID_CONTEXT = Buffer.from('openssl-session-cache').toString('hex');

type Stats = Record<string, number>;

/**
 * Follows one run (one context) step by step and says which branches each step of real
 * OpenSSL took. `step` is called after every run of a step, with the reference's outcome,
 * its `stats()` after the step and the session names its result handed out.
 */
export class BranchTracker {
  private mode: number;
  private contextTimeout: number;
  private readonly role: 'server' | 'client';
  private readonly contextHex: string;
  private readonly verifyPeer: boolean;
  private previous: Stats | undefined;
  /** sessions whose id context differs from the context's */
  private readonly foreign = new Set<string>();
  /** what the run set a session's time and timeout to */
  private readonly times = new Map<string, { time: number; timeout: number }>();

  constructor(options: SessionCacheOptions) {
    this.role = options.role ?? 'server';
    this.mode = options.mode ?? SERVER;
    this.contextTimeout = options.timeout ?? 300;
    this.contextHex = options.idContext !== undefined ? Buffer.from(options.idContext).toString('hex') : DEFAULT_ID_CONTEXT;
    this.verifyPeer = options.verifyPeer === true;
  }

  /** The branches of this step. `goodBefore`: completed handshakes before it; `clock`: the run's time. */
  step(step: Step, outcome: Outcome, stats: Stats | undefined, gained: string[], goodBefore: number, clock: number): string[] {
    const before = this.previous ?? {};
    const d = (k: string) => (stats?.[k] ?? 0) - (before[k] ?? 0);
    if (stats !== undefined) this.previous = stats;
    const out: string[] = [];
    const args = step.args ?? {};
    if (!outcome.ok) {
      if (outcome.error === 'ERR_SSL_FREED') out.push('freed-handle');
      if (outcome.error === 'ERR_INVALID_HANDLE') out.push('invalid-handle');
      if (step.op === 'handshake') {
        if (outcome.error === 'ERR_SESSION_ID_CONFLICT') out.push('session-id-conflict');
        if (outcome.error === 'ERR_HANDSHAKE_FAILED') out.push(this.role === 'client' ? 'offered-id-sent-back' : 'lookup-verify-empty-context');
        // real OpenSSL's adapter names the refused resumption (model/openssl_cache.ts); other RangeErrors are argument ranges
        if (outcome.error === 'RangeError') out.push(/has its key in the cache/.test(outcome.message) ? 'foreign-resumption-refused' : 'argument-range');
      } else if (outcome.error === 'RangeError') out.push('argument-range');
      return out;
    }
    switch (step.op) {
      case 'createSession': {
        const name = gained[0];
        if (name !== undefined) {
          if (typeof args.idContext === 'string' && args.idContext.toLowerCase() !== this.contextHex) this.foreign.add(name);
          this.times.set(name, { time: Number(args.time), timeout: Number(args.timeout) });
        }
        break;
      }
      case 'setSessionTime':
      case 'setSessionTimeout': {
        out.push(step.op === 'setSessionTime' ? 'set-session-time' : 'set-session-timeout');
        const t = typeof args.session === 'string' ? this.times.get(args.session) : undefined;
        if (t !== undefined) {
          if (step.op === 'setSessionTime') t.time = Number(args.time);
          else t.timeout = Number(args.timeout);
        }
        break;
      }
      case 'add': {
        if (outcome.value === 0) out.push('add-identical');
        else if (d('cacheFull') > 0) out.push('add-evicts-when-full');
        else if (d('number') > 0) out.push('add-new');
        else out.push('add-replaces-same-key');
        const t = typeof args.session === 'string' ? this.times.get(args.session) : undefined;
        if (outcome.value === 1 && t !== undefined && t.timeout < clock - t.time) out.push('add-expired');
        break;
      }
      case 'remove':
        out.push(outcome.value === 1 ? 'remove-cached' : 'remove-not-cached');
        break;
      case 'flush':
        if (d('number') < 0) out.push('flush-removes');
        if (d('number') < -1) out.push('flush-removes-several');
        if (d('number') === 0 && (stats?.number ?? 0) > 0) out.push('flush-keeps');
        break;
      case 'setCacheSize':
        out.push('set-cache-size');
        break;
      case 'setCacheMode':
        out.push('set-cache-mode');
        this.mode = Number(args.mode);
        break;
      case 'setTimeout':
        this.contextTimeout = Number(args.timeout);
        break;
      case 'handshake':
        out.push(...this.handshake(step, outcome, d, gained, goodBefore));
        break;
      default:
        break;
    }
    return out;
  }

  private handshake(step: Step, outcome: Outcome & { ok: true }, d: (k: string) => number, gained: string[], goodBefore: number): string[] {
    const out: string[] = [];
    const args = step.args ?? {};
    const resumed = (outcome.value as { resumed?: boolean }).resumed === true;
    const offered = typeof args.offered === 'string' ? args.offered : undefined;
    const lookupMoved = d('hits') + d('misses') + d('timeouts') + d('cbHits') > 0;
    if (this.role === 'server') {
      if (resumed && d('hits') > 0) out.push('lookup-hit');
      if (d('misses') > 0) out.push('lookup-miss');
      if (d('cbHits') > 0) out.push('lookup-callback-hit');
      if (d('timeouts') > 0) out.push(d('cbHits') > 0 ? 'lookup-expired-callback' : 'lookup-expired');
      if (args.callback === null && !resumed) out.push('lookup-callback-none');
      if (offered !== undefined && !resumed && !lookupMoved) {
        if (this.mode & NO_INTERNAL_LOOKUP) out.push('lookup-disabled');
        else if (this.foreign.has(offered)) out.push('lookup-id-context-mismatch');
      }
      if (!resumed) {
        if (!(this.mode & SERVER)) out.push('update-cache-off');
        else if (this.mode & NO_INTERNAL_STORE) out.push('update-no-internal-store');
        else if (d('number') > 0) out.push('update-server-store');
      }
    } else if (!resumed) {
      out.push(this.mode & CLIENT ? 'update-client-store' : 'update-client-not-stored');
    }
    if (!resumed && this.contextTimeout === 0) out.push('method-default-timeout');
    const flushBit = this.role === 'server' ? SERVER : CLIENT;
    if ((goodBefore & 0xff) === 0xff && this.mode & flushBit) out.push(this.mode & NO_AUTO_CLEAR ? 'auto-flush-disabled' : 'auto-flush');
    // a new session's time and timeout (the context's; 0 is the method default, longer than any run)
    const name = gained[0];
    if (!resumed && name !== undefined && !this.times.has(name)) this.times.set(name, { time: Number(args.now), timeout: this.contextTimeout === 0 ? 7200 : this.contextTimeout });
    return out;
  }
}

export interface BranchCoverage {
  /** every branch, with how often the random sequences reached it (0: never) */
  branches: (Branch & { count: number })[];
  /** every catalogue scenario, with its branches and how often the random sequences reached them all (the least of their counts; 0: never) */
  catalogue: { scenario: string; branches: string[]; semantics: string[]; count: number }[];
}

/** The report of branch counts: every branch and every catalogue scenario, reached or not. */
export function branchCoverage(counts: ReadonlyMap<string, number>): BranchCoverage {
  const byKey = new Map(BRANCHES.map((b) => [b.key, b]));
  return {
    branches: BRANCHES.map((b) => ({ ...b, count: counts.get(b.key) ?? 0 })),
    catalogue: Object.entries(CATALOGUE_BRANCHES).map(([scenario, keys]) => ({
      scenario,
      branches: [...keys],
      semantics: [...new Set(keys.map((k) => byKey.get(k)?.semantics ?? ''))],
      count: Math.min(...keys.map((k) => counts.get(k) ?? 0)),
    })),
  };
}
