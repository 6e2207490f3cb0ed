// FinalizationRegistry-based ownership: every JS SslSession / SslContext owns exactly one
// native reference; when the JS object is collected only that reference is dropped.
interface Freeable {
  free(): void;
  discardEvents?(): void;
}

const registry = new FinalizationRegistry<Freeable>((handle) => {
  handle.free();
  // events produced by freeing a collected context have nobody to deliver to
  if (handle.discardEvents) handle.discardEvents();
});

export function own(owner: object, handle: Freeable): void {
  registry.register(owner, handle, owner);
}

export function disown(owner: object): void {
  registry.unregister(owner);
}
