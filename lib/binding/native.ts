// The raw binding, typed separately from the public API (node-pty / node-argon2 style).
import { loadAddon } from './addon_loader';
import type { CacheStats } from '../common/cache_stats';
import { OpenSSLError } from '../common/openssl_error';

export interface NativeSessionHandle {
  /** names this handle to the slot fast paths (SslContextHandle.addSlot, ...) */
  slot(): number;
  toDER(): Buffer;
  /** i2d into target at offset: bytes written, or -(bytes needed) when they do not fit */
  toDERInto(target: Buffer, offset: number): number;
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
  /** a new handle owning one more reference to the same SSL_SESSION */
  retain(): NativeSessionHandle;
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
  /** the identity key of a real, live handle's SSL_SESSION (tag checked): TypeError for anything else */
  keyOf(handle: NativeSessionHandle): number;
}

export interface NativeContextHandle {
  /** names this handle to the slot fast paths */
  readonly slot: number;
  flush(t: number): void;
  get(id: Buffer, version: number): NativeSessionHandle | undefined;
  /** SSL_CTX_add_session's int for the session `der` encodes (fromDER's decoder), when its
   * id is `id`; constants.ADD_OTHER_ID: another id, constants.ADD_UNDECODABLE: not a session
   * fromDER accepts (nothing added) */
  addDER(id: Buffer, der: Buffer): number;
  /** SSL_CTX_remove_session's int for the cached session with this id and protocol (0: none cached); no handle is made */
  removeId(id: Buffer, version: number): number;
  list(): NativeSessionHandle[];
  /** the identity keys of the cached sessions, list order (native/session_identity.cc) */
  listKeys(): Float64Array;
  /** list() with a handle only where mask[i] != 0 (right after listKeys(): same positions) */
  listSome(mask: Uint8Array): (NativeSessionHandle | undefined)[];
  count(): number;
  stats(): NativeContextStats;
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
  /** X509_STORE_add_crl for each CRL of the PEM, then CRL_CHECK | CRL_CHECK_ALL; how many were added */
  addCrl(pem: string | Buffer): number;
  /** SSL_CTX_set1_curves_list */
  setCurves(list: string): void;
  /** SSL_CTX_set_tmp_dh from PEM DH parameters; the prime's bits */
  setDhParams(pem: string | Buffer): number;
  /** SSL_CTX_set1_sigalgs_list */
  setSigalgs(list: string): void;
  /** PKCS12_parse: certificate, key (checked) and the other certificates as chain and trust anchors */
  usePkcs12(der: Buffer, passphrase?: string | Buffer): void;
  setVerify(mode: number): void;
  setNextSessionId(id: Buffer | undefined): void;
  setGetCallback(fn: ((id: Buffer) => NativeSessionHandle | undefined) | undefined): void;
  setEventMask(mask: number): void;
  takeEvents(): NativeSessionEvent[];
  discardEvents(): void;
  takeCallbackError(): unknown;
  /** keys: n × 48 bytes (name | HMAC secret | AES key), the first encrypts; empty: the keys are wiped */
  setTicketKeys(keys: Buffer): void;
  getTicketKeys(): Buffer;
  /** the ticket key callback's counters, by name */
  ticketKeyStats(): { issued: number; current: number; previous: number; unknownKey: number; revoked: number };
  free(): void;
  freed(): boolean;
}

/** SslContextHandle.stats(): the SSL_CTX_sess_* counters, by name */
export type NativeContextStats = CacheStats;

/** one entry of SslContextHandle.takeEvents(), in OpenSSL's order */
export interface NativeSessionEvent {
  /** constants.EVENT_NEW_SESSION, or constants.EVENT_REMOVE_SESSION (| EVENT_EVICTED) */
  type: number;
  /** a new handle holding the reference the event kept; undefined for a new-session event
   * recorded for its DER only (mask EVENT_NEW_SESSION_DER without EVENT_NEW_SESSION) */
  session: NativeSessionHandle | undefined;
  /** new-session events under mask EVENT_NEW_SESSION_DER: the session id */
  id?: Buffer;
  /** ... its i2d_SSL_SESSION, made inside the callback; undefined when it could not be encoded */
  der?: Buffer | undefined;
  /** ... its timeout, seconds */
  timeout?: number;
}

/** what native.handshake() returns */
export interface NativeHandshakeResult {
  /** SSL_session_reused of each side */
  clientResumed: boolean;
  serverResumed: boolean;
  /** SSL_get1_session of each side, a new handle each */
  clientSession: NativeSessionHandle;
  serverSession: NativeSessionHandle;
  /** SSL_get_version of the server */
  protocol: string;
  /** SSL_get_cipher_name of the server */
  cipher: string;
}

/** native.handshake()'s arguments */
export type NativeHandshakeArgs = [
  client: NativeContextHandle,
  server: NativeContextHandle,
  session: NativeSessionHandle | undefined,
  serverName: string | undefined,
  shutdown: boolean,
];

/** what native.handshake() returns when told the offer is the listed object (offerListed):
 * no client handle when the client kept the offered SSL_SESSION itself */
export type NativeHandshakeResultOfferListed = Omit<NativeHandshakeResult, 'clientSession'> &
  ({ clientSession: NativeSessionHandle; clientIsOffer?: undefined } | { clientSession?: undefined; clientIsOffer: true });

/** TlsConnection.info() */
export interface NativeTlsInfo {
  /** SSL_session_reused */
  reused: boolean;
  /** SSL_get_version: 'TLSv1.2', ... */
  protocol: string;
  /** SSL_CIPHER_get_name of the current cipher; undefined before one is chosen */
  cipherName: string | undefined;
  /** SSL_CIPHER_get_version of the current cipher */
  cipherVersion: string | undefined;
  /** SSL_get_verify_result (0 = X509_V_OK) */
  verifyResult: number;
  /** X509_verify_cert_error_string of verifyResult; undefined when it is X509_V_OK */
  verifyError: string | undefined;
  /** the SNI name the client sent (servers) or set (clients) */
  servername: string | undefined;
}

/** cycle() / write() / shutdown(): { flags (constants.CYCLE_*), out: ciphertext to send, clear: plaintext, error } */
export interface CycleResult {
  /** CYCLE_* bits (TlsConnectionFlag) */
  flags: number;
  /** ciphertext to send to the peer */
  out: Buffer | undefined;
  /** plaintext read from the peer */
  clear: Buffer | undefined;
  error: Error | undefined;
}

/** TlsConnection.peerCertificate() */
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

/** what each query of native/ssl_queries.h answers (undefined: nothing to answer) */
export interface TlsQueryAnswers {
  peerCertificate: RawPeerCertificate | undefined;
  /** SSL_get_peer_cert_chain (a server's does not carry the client's leaf) */
  peerCertificateChain: RawPeerCertificate[] | undefined;
  /** SSL_get_verify_result */
  verifyResult: number;
  /** NSS key log line "CLIENT_RANDOM <hex> <hex>" */
  keylogLine: string | undefined;
  /** IANA name or '', lowest protocol of the suite ('TLSv1.2' | 'TLSv1' | 'SSLv3'), OpenSSL's name */
  cipher: { standardName: string; version: string; name: string } | undefined;
  /** client: the server's ephemeral key (SSL_get_server_tmp_key), undefined without one */
  ephemeralKeyInfo: { type: 'ECDH' | 'DH'; name?: string; size: number } | undefined;
  /** SSL_get0_alpn_selected */
  alpnProtocol: string | undefined;
  /** the certificate this side presented (SSL_get_certificate) */
  certificate: RawPeerCertificate | undefined;
  /** the Finished message this side sent */
  finished: Buffer | undefined;
  /** the Finished message the peer sent */
  peerFinished: Buffer | undefined;
  /** the session's ticket (a client's session holds one) */
  tlsTicket: Buffer | undefined;
  /** 'RSA+SHA256', ... */
  sharedSigalgs: string[];
  /** SSL_get_version */
  protocol: string;
  /** SSL_session_reused */
  reused: boolean;
  /** SSL_get1_session once the handshake finished */
  session: NativeSessionHandle | undefined;
  /** RFC 5705 keying material */
  exportKeyingMaterial: Buffer;
}

/** query(name, ...args); exportKeyingMaterial takes (length, label[, context]) */
export interface TlsQuery {
  (name: 'exportKeyingMaterial', length: number, label: string, context?: Buffer): Buffer;
  <K extends Exclude<keyof TlsQueryAnswers, 'exportKeyingMaterial'>>(name: K): TlsQueryAnswers[K];
}

export interface NativeTlsConnection {
  cycle(input?: Buffer): CycleResult;
  write(data: Buffer): CycleResult;
  shutdown(): CycleResult;
  info(): NativeTlsInfo;
  /** SSL_free; keepSession: SSL_set_shutdown(SENT|RECEIVED) first, after a finished handshake */
  free(keepSession?: boolean): void;
  /** one of the TLSSocket queries both connection paths answer alike (native/ssl_queries.h) */
  query: TlsQuery;
  /** the context the servername callback switches to (SSL_set_SSL_CTX) */
  setSniContext(ctx: NativeContextHandle): void;
  /** whether the servername callback switched contexts */
  contextSwitched(): boolean;
  /** server: decrypt no ticket for this connection (the ticket key callback answers "unknown key") */
  refuseTicket(): void;
}

/** the options of `new TlsConnection(ctx, server, options)` */
export interface NativeTlsConnectionOptions {
  serverName?: string;
  session?: NativeSessionHandle;
  verifyPeer?: boolean;
  verifyHost?: string;
  /** ALPN protocol list in wire format */
  alpnProtocols?: Buffer;
  /** server: SSL_VERIFY_* bits; the certificate never fails the handshake by itself */
  verifyMode?: number;
  /** server: answer the servername callback from setSniContext() */
  sni?: boolean;
}

/**
 * The binding's `constants`: numbers from the OpenSSL 1.0.2 headers the addon is built
 * against and the addon's own flags and return codes (native/binding_constants.cc). The literal types
 * are 1.0.2's values (addon.cc refuses any other headers); test/25.native_boundary checks them.
 */
export interface NativeConstants {
  readonly SSL3_VERSION: 0x0300;
  readonly TLS1_VERSION: 0x0301;
  readonly TLS1_1_VERSION: 0x0302;
  readonly TLS1_2_VERSION: 0x0303;
  readonly DTLS1_VERSION: 0xfeff;
  readonly DTLS1_2_VERSION: 0xfefd;
  readonly DTLS1_BAD_VER: 0x0100;
  /** protocol names as node:tls spells them → version numbers, in this order */
  readonly PROTOCOL_VERSIONS: {
    readonly SSLv3: 0x0300;
    readonly TLSv1: 0x0301;
    readonly 'TLSv1.1': 0x0302;
    readonly 'TLSv1.2': 0x0303;
    readonly DTLSv1: 0xfeff;
    readonly 'DTLSv1.2': 0xfefd;
    readonly 'DTLSv0.9': 0x0100;
  };
  readonly SSL_OP_NO_TICKET: 0x00004000;
  readonly SSL_OP_NO_TLSv1: 0x04000000;
  readonly SSL_OP_NO_TLSv1_1: 0x10000000;
  readonly SSL_OP_NO_TLSv1_2: 0x08000000;
  readonly SSL_OP_CIPHER_SERVER_PREFERENCE: 0x00400000;
  readonly SSL_OP_ALL: number;
  readonly SSL_OP_NO_SSLv3: 0x02000000;
  readonly SSL_OP_NO_COMPRESSION: 0x00020000;
  readonly SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION: 0x00010000;
  readonly SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION: 0x00040000;
  readonly SSL_OP_LEGACY_SERVER_CONNECT: 0x00000004;
  readonly SSL_OP_TLS_ROLLBACK_BUG: 0x00800000;
  readonly SSL_OP_CRYPTOPRO_TLSEXT_BUG: number;
  readonly SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS: 0x00000800;
  readonly SSL_OP_CISCO_ANYCONNECT: 0x00008000;
  readonly SSL_OP_COOKIE_EXCHANGE: 0x00002000;
  readonly SSL_OP_NO_QUERY_MTU: 0x00001000;
  readonly SSL_OP_SINGLE_DH_USE: 0x00100000;
  readonly SSL_OP_SINGLE_ECDH_USE: 0x00080000;
  readonly SSL_VERIFY_NONE: 0x00;
  readonly SSL_VERIFY_PEER: 0x01;
  readonly SSL_VERIFY_FAIL_IF_NO_PEER_CERT: 0x02;
  readonly SSL_SESS_CACHE_OFF: 0x0;
  readonly SSL_SESS_CACHE_CLIENT: 0x1;
  readonly SSL_SESS_CACHE_SERVER: 0x2;
  readonly SSL_SESS_CACHE_BOTH: 0x3;
  readonly SSL_SESS_CACHE_NO_AUTO_CLEAR: 0x80;
  readonly SSL_SESS_CACHE_NO_INTERNAL_LOOKUP: 0x100;
  readonly SSL_SESS_CACHE_NO_INTERNAL_STORE: 0x200;
  readonly SSL_SESS_CACHE_NO_INTERNAL: 0x300;
  readonly SSL_MAX_SSL_SESSION_ID_LENGTH: 32;
  readonly SSL_MAX_SID_CTX_LENGTH: 32;
  readonly SSL_MAX_MASTER_KEY_LENGTH: 48;
  /** SslContextHandle event kinds (setEventMask bits, NativeSessionEvent.type) */
  readonly EVENT_NEW_SESSION: 1;
  readonly EVENT_REMOVE_SESSION: 2;
  /** setEventMask bit only: new-session events carry the session's id, DER and timeout */
  readonly EVENT_NEW_SESSION_DER: 4;
  /** flag on a REMOVE_SESSION event's type: SSL_CTX_add_session evicted the session */
  readonly EVENT_EVICTED: 0x100;
  /** addSlot / addDER refusals (nothing added): cached by another context, another id, not a session */
  readonly ADD_IN_OTHER_CONTEXT: -2;
  readonly ADD_OTHER_ID: -3;
  readonly ADD_UNDECODABLE: -4;
  /** TlsConnection cycle()/write()/shutdown() flags */
  readonly CYCLE_HANDSHAKE_DONE: 1;
  readonly CYCLE_PEER_CLOSED: 2;
  readonly CYCLE_FAILED: 4;
  readonly CYCLE_MORE_PLAINTEXT: 8;
  readonly CYCLE_WANTS_MORE_INPUT: 16;
  readonly CYCLE_RENEGOTIATION: 32;
}

export interface NativeBinding {
  SslSessionHandle: NativeSessionHandleClass;
  SslContextHandle: {
    /** state: a Uint32Array over a SharedArrayBuffer; state[0] = queued events (never detachable) */
    new (kind: number, state: Uint32Array): NativeContextHandle;
    /** add() / remove() by slot: no object unwrapping on the hot path */
    addSlot(ctx: number, session: number): number;
    removeSlot(ctx: number, session: number): number;
    /** batches of the first `count` slots (default all): the number of 1 results; addMany → -(i + 1) when sessions[i] is cached elsewhere */
    addMany(ctx: number, sessions: Uint32Array, count?: number): number;
    removeMany(ctx: number, sessions: Uint32Array, count?: number): number;
    /** get() by slot without a handle or reference: the identity key, or undefined */
    findSlot(ctx: number, id: Buffer, version: number): number | undefined;
  };
  TlsConnection: new (ctx: NativeContextHandle, server: boolean, opts: NativeTlsConnectionOptions) => NativeTlsConnection;
  setup(o: { OpenSSLError: typeof OpenSSLError; Error: ErrorConstructor; TypeError: TypeErrorConstructor; RangeError: RangeErrorConstructor }): void;
  errorQueueDepth(): number;
  setClock(seconds: number | undefined): void;
  handshake(...args: NativeHandshakeArgs): NativeHandshakeResult;
  /** offerListed: `session` is the listed object's handle, so clientIsOffer may replace a new handle */
  handshake(...args: [...NativeHandshakeArgs, offerListed: boolean]): NativeHandshakeResultOfferListed;
  /** altNames: flat [kind, value, ...]: 0 = DNS name, 1 = IP address (validated by lib/openssl/self_signed.ts) */
  generateSelfSigned(commonName: string, days: number, bits: number, altNames: (number | string)[]): { cert: string; key: string };
  constants: NativeConstants;
  /** every `code` native code sets on the errors it throws or makes (native/error_codes.h), frozen */
  errorCodes: readonly string[];
  version: string;
  versionNumber: number;
  headerVersionNumber: number;
}

/** where the addon was loaded from: 'source' (build/Release) or the platform package's name */
export let addonSource = '';

function load(): NativeBinding {
  const { addon: b, from } = loadAddon<NativeBinding>('openssl_session_cache');
  addonSource = from;
  // the error classes of this realm, so native errors pass instanceof in vm contexts too
  b.setup({ OpenSSLError, Error, TypeError, RangeError });
  return b;
}

export const native: NativeBinding = load();

