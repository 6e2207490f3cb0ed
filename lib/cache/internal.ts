// Symbols that give the package's own modules access to native handles. Not exported
// from the package root.
export const kHandle = Symbol('openssl-session-cache.handle');
export const kFromHandle = Symbol('openssl-session-cache.fromHandle');
