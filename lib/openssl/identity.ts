// One SslSession per native SSL_SESSION per thread while it lives (the API contract:
// `ctx.getSession(s.id) === s`). Module state, so each thread (isolate) has its own table.
//
// The table maps a session's key (its address, handed out by native code and never
// accepted back: native/session_identity.cc) to the WeakRef of the cell of the live
// SslSession around it (the WeakRef names the cell: each cell has its own).
// The cell is what the FinalizationRegistry holds for that SslSession (lifetimes.ts): it
// owns the object's one native reference and drops it together with its own entry.
//
// "Collected, finalizer not run yet": deref() is undefined from the moment the object is
// collected, so a lookup in that window makes a new object (with its own reference) and
// replaces the entry; the old cell's finalizer then drops only its own reference and
// deletes the entry only if it is still its own. A key is not reused by another session
// while its entry exists: the entry's handle holds a reference until free() or the
// finalizer, and both delete the entry before anything else can run.
import type { NativeSessionHandle } from '../binding/native';

export class IdentityCell {
  constructor(
    readonly key: number,
    readonly handle: NativeSessionHandle,
    /** undefined: an object outside the table (a private extra reference) */
    readonly ref: WeakRef<object> | undefined,
  ) {}

  /** drops the native reference and this cell's table entry (the FinalizationRegistry's call) */
  free(): void {
    forget(this);
    this.handle.free();
  }
}

/** key → the WeakRef of the cell that owns the entry (one hop less on the lookup path) */
const table = new Map<number, WeakRef<object>>();

/** the live object for `key`, if any */
export function lookup(key: number): object | undefined {
  return table.get(key)?.deref();
}

/** makes `owner` the object for `key` (replacing an entry whose object was collected) */
export function remember(key: number, handle: NativeSessionHandle, owner: object): IdentityCell {
  const c = new IdentityCell(key, handle, new WeakRef(owner));
  table.set(key, c.ref as WeakRef<object>);
  return c;
}

/** a cell outside the table: its object is never returned by a lookup */
export function unlisted(key: number, handle: NativeSessionHandle): IdentityCell {
  return new IdentityCell(key, handle, undefined);
}

/** deletes the entry of `cell` if the table still has it */
export function forget(cell: IdentityCell): void {
  if (cell.ref !== undefined && table.get(cell.key) === cell.ref) table.delete(cell.key);
}

/** @internal for tests: entries in this thread's table (live, or awaiting their finalizer) */
export function identityTableSize(): number {
  return table.size;
}
