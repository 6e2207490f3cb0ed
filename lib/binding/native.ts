// The raw binding, typed separately from the public API (node-pty / node-argon2 style).
import bindings from 'bindings';
import { OpenSSLError } from '../common/openssl_error';

export interface NativeSessionHandle {
  /** names this handle to the slot fast paths (SslContextHandle.addSlot, ...) */
  slot(): number;
  toDER(): Buffer;
  toPEM(): string;
  toText(): string;
  id(): Buffer;
  idContext(): Buffer;
  setIdContext(ctx: Buffer): void;
  time(): number;
  setTime(t: number): void;
  timeout(): number;
  setTimeout(t: number): void;
  version(): number;
  cipher(): string | undefined;
  notResumable(): boolean;
  references(): number;
  same(other: NativeSessionHandle): boolean;
  serial(): number;
  free(): void;
  freed(): boolean;
}

export interface NativeSessionHandleClass {
  create(
    id: Buffer,
    version: number,
    idContext: Buffer | null,
    time: number | null,
    timeout: number | null,
    masterKey: Buffer | null,
    cipher: string | null,
  ): NativeSessionHandle;
  fromDER(der: Buffer): NativeSessionHandle;
  fromPEM(pem: string | Buffer): NativeSessionHandle;
  /** the slot of a real, live handle (type tag checked natively): TypeError for anything else */
  slotOf(handle: NativeSessionHandle): number;
}

export interface NativeContextHandle {
  /** names this handle to the slot fast paths */
  readonly slot: number;
  flush(t: number): void;
  get(id: Buffer, version: number): NativeSessionHandle | undefined;
  list(): NativeSessionHandle[];
  count(): number;
  stats(): number[];
  setMode(mode: number): number;
  mode(): number;
  setCacheSize(n: number): number;
  cacheSize(): number;
  setTimeout(t: number): number;
  timeout(): number;
  setSessionIdContext(ctx: Buffer): void;
  setOptions(o: number): number;
  clearOptions(o: number): number;
  useCertificate(pem: string | Buffer): void;
  /** an encrypted key needs `passphrase`; without one it fails at once (never prompts) */
  usePrivateKey(pem: string | Buffer, passphrase?: string | Buffer): void;
  setCipherList(list: string): void;
  addCaCertificates(pem: string | Buffer): number;
  setVerify(mode: number): void;
  setNextSessionId(id: Buffer | undefined): void;
  setGetCallback(fn: ((id: Buffer) => NativeSessionHandle | undefined) | undefined): void;
  setEventMask(mask: number): void;
  takeEvents(): (number | NativeSessionHandle)[];
  discardEvents(): void;
  takeCallbackError(): unknown;
  free(): void;
  freed(): boolean;
}

/** TlsConnection#cycle / write / shutdown: [flags (TlsConnectionFlag), ciphertext out, plaintext in, error] */
export type CycleResult = [number, Buffer | undefined, Buffer | undefined, Error | undefined];

/** One SSL over two memory BIOs (native/tls_connection.h): the socket pump. */
export interface NativeTlsConnection {
  cycle(input?: Buffer): CycleResult;
  write(data: Buffer): CycleResult;
  shutdown(): CycleResult;
  info(): [boolean, string, string | undefined, string | undefined, number, string | undefined, string | undefined];
  peerCertificate(): RawPeerCertificate | undefined;
  session(): NativeSessionHandle | undefined;
  free(): void;
}

export interface RawPeerCertificate {
  subject: [string, string][];
  issuer: [string, string][];
  valid_from: string;
  valid_to: string;
  serialNumber?: string;
  fingerprint: string;
  fingerprint256: string;
  raw?: Buffer;
  subjectaltname?: string;
}

export interface NativeTlsConnectionOptions {
  serverName?: string;
  session?: NativeSessionHandle;
  verifyPeer: boolean;
  verifyHost?: string;
}

export interface NativeBinding {
  TlsConnection: new (ctx: NativeContextHandle, server: boolean, opts: NativeTlsConnectionOptions) => NativeTlsConnection;
  SslSessionHandle: NativeSessionHandleClass;
  SslContextHandle: {
    /** state: a Uint32Array over a SharedArrayBuffer; state[0] = queued events (never detachable) */
    new (kind: number, state: Uint32Array): NativeContextHandle;
    /** add() / remove() by slot: no object unwrapping on the hot path */
    addSlot(ctx: number, session: number): number;
    removeSlot(ctx: number, session: number): number;
    /** batches: the number of 1 results; addMany → -(i + 1) when sessions[i] is cached elsewhere */
    addMany(ctx: number, sessions: Uint32Array): number;
    removeMany(ctx: number, sessions: Uint32Array): number;
  };
  setup(o: { OpenSSLError: typeof OpenSSLError; Error: ErrorConstructor; TypeError: TypeErrorConstructor; RangeError: RangeErrorConstructor }): void;
  errorQueueDepth(): number;
  setClock(seconds: number | undefined): void;
  handshake(
    client: NativeContextHandle,
    server: NativeContextHandle,
    session: NativeSessionHandle | undefined,
    serverName: string | undefined,
    shutdown: boolean,
  ): unknown;
  /** altNames: flat [kind, value, ...]: 0 = DNS name, 1 = IP address (validated by lib/cache/self_signed.ts) */
  generateSelfSigned(commonName: string, days: number, bits: number, altNames: (number | string)[]): { cert: string; key: string };
  version: string;
  versionNumber: number;
  headerVersionNumber: number;
}

function load(): NativeBinding {
  const b = bindings('openssl_session_cache') as NativeBinding;
  // the error classes of this realm, so native errors pass instanceof in vm contexts too
  b.setup({ OpenSSLError, Error, TypeError, RangeError });
  return b;
}

export const native: NativeBinding = load();
