// What a store failure was, in words and as a code: unreachable (no connection, or it was
// lost or reset), timeout, refused (the store answered no: an ACL, a read-only replica, out
// of memory) or auth (credentials refused). Errors from ioredis are recognised by their
// messages and Redis's error prefixes; the original error stays as `cause`.
import { codedError, ErrorCode, ErrorCodeValue } from '../common/coded_error';

export type StoreFailure = 'unreachable' | 'timeout' | 'refused' | 'auth';

const CODES: Record<StoreFailure, ErrorCodeValue> = {
  unreachable: ErrorCode.SESSION_STORE_UNREACHABLE,
  timeout: ErrorCode.SESSION_STORE_TIMEOUT,
  refused: ErrorCode.SESSION_STORE_REFUSED,
  auth: ErrorCode.SESSION_STORE_AUTH,
};

const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/** the kind of a store error, or undefined when it is none of the four */
export function storeFailureOf(e: unknown): StoreFailure | undefined {
  const err = e as { code?: unknown; message?: unknown; name?: unknown } | null;
  if (typeof err !== 'object' || err === null) return undefined;
  const code = typeof err.code === 'string' ? err.code : '';
  const msg = typeof err.message === 'string' ? err.message : '';
  if ((Object.values(CODES) as string[]).includes(code)) return (Object.keys(CODES) as StoreFailure[]).find((k) => CODES[k] === code);
  if (/^(NOAUTH|WRONGPASS)\b/.test(msg) || /invalid (username-password|password)/i.test(msg)) return 'auth';
  if (/^(NOPERM|READONLY|OOM|MISCONF|BUSY|LOADING|MASTERDOWN|ERR unknown command)\b/.test(msg)) return 'refused';
  if (/Command timed out/i.test(msg)) return 'timeout';
  // a MULTI that Redis discarded: what it is follows from the errors of its commands (ioredis
  // keeps them as previousErrors: CLUSTERDOWN, MOVED while a shard fails over, READONLY, ...)
  if (/^EXECABORT\b/.test(msg)) {
    const previous = (err as { previousErrors?: unknown }).previousErrors;
    for (const p of Array.isArray(previous) ? previous : []) {
      const kind = storeFailureOf(p);
      if (kind) return kind;
    }
    return 'refused';
  }
  if (NET_CODES.has(code) || /Stream isn't writeable|Connection is closed|Reached the max retries|connect ETIMEDOUT|Socket closed/i.test(msg)) return 'unreachable';
  // a Redis Cluster without a usable node for the key: a shard failing over, the cluster
  // client reconnecting or gone
  if (/^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK)\b|Cluster isn't ready|Too many Cluster redirections|None of startup nodes is available|Failed to refresh slots cache|Cluster is ended/.test(msg)) return 'unreachable';
  return undefined;
}

const WORDS: Record<StoreFailure, string> = {
  unreachable: 'the session store is unreachable',
  timeout: 'the session store did not answer in time',
  refused: 'the session store refused the command',
  auth: 'the session store refused the credentials',
};

/**
 * The error a store reports for `e` while doing `what`: a coded Error (`code`,
 * `reason` one of unreachable / timeout / refused / auth, the original as `cause`), or `e`
 * itself when it is none of these or already coded.
 */
export function storeError(e: unknown, what: string): unknown {
  const kind = storeFailureOf(e);
  if (!kind) return e;
  const original = e as Error & { code?: unknown; reason?: unknown };
  if (original.code === CODES[kind] && original.reason === kind) return e;
  const out = codedError(CODES[kind], `${WORDS[kind]} (${what}): ${original.message}`) as Error & { code: string; reason: StoreFailure; cause?: unknown };
  out.reason = kind;
  out.cause = e;
  return out;
}

/** A store's own failure of one of the four kinds: `code` and `reason` as storeError gives them. */
export function storeFailure(kind: StoreFailure, message: string): Error & { code: string; reason: StoreFailure } {
  const out = codedError(CODES[kind], message) as Error & { code: string; reason: StoreFailure };
  out.reason = kind;
  return out;
}
