// Typed events for the package's emitters. Each emitter class declares an interface of the
// same name with on/once/off/emit… over its events map (declaration merging: types only, no
// runtime code; TypeScript cannot merge them from a shared base interface), so that `on('newSession', (s) => …)` infers `s: SslSession`, a misspelt event
// name or a listener of the wrong shape does not compile, and `emit` checks its arguments.

/** event name → the listener's arguments */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/** the listener of event K */
export type EventListener<E extends EventMap<E>, K extends keyof E> = (...args: E[K]) => void;

/** what every EventEmitter emits about its own listeners */
export interface ListenerEvents {
  newListener: [event: string | symbol, listener: (...args: unknown[]) => void];
  removeListener: [event: string | symbol, listener: (...args: unknown[]) => void];
}
