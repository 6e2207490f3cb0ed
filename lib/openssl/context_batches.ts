// The slot arguments of SslContext's cache calls: a session's slot (the native fast path's
// name for it) and the reused slot buffer of the batch calls (addSessions, removeSessions).
import { codedError, ErrorCode } from '../common/coded_error';
import { kSlot, SslSession } from './ssl_session';

/**
 * The batch calls' slot buffer, reused: a new 4 KiB typed array per call cost more than the
 * native loop saves (its backing store is a large malloc, which makes glibc consolidate the
 * small blocks OpenSSL's hash just freed, and it is external memory for the GC to track).
 * Taken while in use, so a call made while filling it (an index getter on the array) gets
 * its own; given back after the native call (not after a throw: the next call makes one).
 */
let spareSlots: Uint32Array | undefined;
const SPARE_SLOTS_MAX = 65536;

export function batchLength(sessions: readonly SslSession[]): number {
  if (!Array.isArray(sessions)) throw new TypeError('sessions must be an array of SslSession');
  return sessions.length;
}

/** the first `n` sessions' slots in the first `n` entries of a buffer */
export function takeSlots(sessions: readonly SslSession[], n: number): Uint32Array {
  let slots = spareSlots;
  spareSlots = undefined;
  if (slots === undefined || slots.length < n) slots = new Uint32Array(Math.max(n, 1024));
  for (let i = 0; i < n; i++) slots[i] = sessionSlot(sessions[i]);
  return slots;
}

export function giveSlots(slots: Uint32Array): void {
  if (slots.length <= SPARE_SLOTS_MAX) spareSlots = slots;
}

export function sessionSlot(s: SslSession): number {
  if (!(s instanceof SslSession)) throw new TypeError('session must be an SslSession');
  return s[kSlot]();
}

export function inOtherContext(): Error {
  return codedError(
    ErrorCode.SESSION_IN_OTHER_CONTEXT,
    'the session is cached by another SslContext; OpenSSL 1.0.2 would corrupt both caches. ' +
      'Add a copy instead: SslSession.fromDER(session.toDER())',
  );
}
