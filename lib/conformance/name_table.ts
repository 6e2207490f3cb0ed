import { SessionHandle } from '../model/session_cache';

/**
 * Names of session handles for one run against one implementation. A handle gets a
 * canonical name when it is first bound (a step's `"as"`, an unbound name in an
 * expectation) or first shown (an automatic `#1`, `#2`, … in order of appearance);
 * further names become aliases.
 */
export class NameTable {
  private readonly byName = new Map<string, SessionHandle>();
  private readonly canonical = new Map<SessionHandle, string>();
  private autoCount = 0;

  /** The handle a name is bound to, or undefined. */
  lookup(name: string): SessionHandle | undefined {
    return this.byName.get(name);
  }

  /** Whether the handle has any name yet. */
  named(handle: SessionHandle): boolean {
    return this.canonical.has(handle);
  }

  /** Binds `name` to `handle` (an alias if the handle already has a name). Throws on rebinding a name. */
  bind(name: string, handle: SessionHandle): void {
    const existing = this.byName.get(name);
    if (existing !== undefined && existing !== handle) {
      throw new Error(`name ${JSON.stringify(name)} already names another session`);
    }
    this.byName.set(name, handle);
    if (!this.canonical.has(handle)) this.canonical.set(handle, name);
  }

  /** The canonical name of a handle, giving it the next automatic name if it has none. */
  nameOf(handle: SessionHandle): string {
    let name = this.canonical.get(handle);
    if (name === undefined) {
      do name = `#${++this.autoCount}`;
      while (this.byName.has(name));
      this.bind(name, handle);
    }
    return name;
  }

  /** Every canonical name, in order of binding. */
  names(): string[] {
    return [...this.canonical.values()];
  }
}
