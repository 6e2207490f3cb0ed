import { native, NativeSessionHandle } from '../binding/native';
import { kFromHandle, kHandle, kListed, kLive, kRetain } from './internal';
import { own, disown } from './lifetimes';
import { forget, IdentityCell, lookup, remember, unlisted } from './identity';
import { toOpenSSL102, toOpenSSL3 } from './openssl3_session';
import { protocolName, protocolNumber } from '../binding/protocol_version';
import type { UnknownProtocol } from '../binding/protocol_version';
import { MAX_MASTER_KEY_LENGTH, MAX_SID_CTX_LENGTH } from '../binding/constants';
import type { Protocol } from '../binding/constants';
import { checkLength, checkSessionId, integer, LONG_MAX, optionsObject, toBuffer, toBufferOrString } from '../common/validate';
import { OpenSSLError } from '../common/openssl_error';
import { ErrorCode } from '../common/coded_error';
import { explainNewerSession, pemSessionBody } from './session_der_probe';

export interface SslSessionCreateOptions {
  /** the session id, 1 to 32 bytes */
  id: Buffer | Uint8Array;
  /** protocol version, part of the cache key; default 'TLSv1.2' */
  protocol?: Protocol;
  /** session id context (sid_ctx), at most 32 bytes */
  idContext?: Buffer | Uint8Array | string;
  /** creation time, seconds since the epoch; default now (SSL_SESSION_new) */
  time?: number;
  /** lifetime in seconds; default 304 (SSL_SESSION_new's value) */
  timeout?: number;
  /** master secret, at most 48 bytes */
  masterKey?: Buffer | Uint8Array;
  /** an OpenSSL cipher name, e.g. 'ECDHE-RSA-AES128-GCM-SHA256'; needed for toDER() */
  cipher?: string;
}

/** Which OpenSSL wrote (`from`) or will read (`to`) a session's DER; default 'openssl102'. */
export interface SessionDerOptions {
  from?: 'openssl102' | 'openssl3';
}

function derFormat(options: unknown, key: 'from' | 'to'): 'openssl102' | 'openssl3' {
  if (options === undefined) return 'openssl102';
  const o = optionsObject(options, 'options');
  const v = o[key] ?? 'openssl102';
  if (v !== 'openssl102' && v !== 'openssl3') {
    throw new (typeof v === 'string' ? RangeError : TypeError)(`options.${key} must be 'openssl102' or 'openssl3'`);
  }
  return v;
}

/** @internal the handle's slot number, asked from native code once per object */
export const kSlot = Symbol('openssl-session-cache.slot');

const slotOf = native.SslSessionHandle.slotOf;
const keyOf = native.SslSessionHandle.keyOf;
/** the key (and table membership) of the object being made by this module, see the constructor */
let trusted: { key: number; listed: boolean } | undefined;

/**
 * An OpenSSL 1.0.2 SSL_SESSION. Each SslSession owns one native reference, dropped by
 * free() or when the object is garbage-collected; the cache holds its own reference, so a
 * cached session outlives its JS object. A thread has at most one live SslSession per
 * native session: objects returned by the library (lookups, sessions(), events, handshake
 * results, sockets) are that object when it exists (`ctx.getSession(s.id) === s`), else a
 * new one (lib/openssl/identity.ts). So a returned object may be shared with other holders
 * in the thread, and free() frees it for all of them.
 */
export class SslSession {
  /** @internal */
  [kHandle]: NativeSessionHandle;
  #slot = -1;
  readonly #cell: IdentityCell;

  /**
   * The key comes from native code (keyOf checks the handle's type tag), or from this
   * module's own callers through `trusted`: never from the arguments, so a subclass posing
   * a fake handle gets TypeError instead of taking another session's place in the table.
   */
  private constructor(handle: NativeSessionHandle) {
    const t = trusted;
    trusted = undefined;
    const key = t?.key ?? keyOf(handle);
    this[kHandle] = handle;
    this.#cell = t?.listed === false ? unlisted(key, handle) : remember(key, handle, this);
    own(this, this.#cell);
  }

  /** a new object around a handle native code just made, with the key it has */
  static #make(handle: NativeSessionHandle, key: number, listed: boolean): SslSession {
    trusted = { key, listed };
    return new SslSession(handle);
  }

  /**
   * @internal wraps a handle that already owns its reference: the live SslSession of that
   * native session when the thread has one (the handle's reference is dropped then), else
   * a new object that keeps it. The key is asked from native code (the handle's type tag is
   * checked), never taken from a caller.
   */
  static [kFromHandle](handle: NativeSessionHandle): SslSession {
    const key = keyOf(handle);
    const live = lookup(key) as SslSession | undefined;
    if (live !== undefined) {
      handle.free();
      return live;
    }
    return SslSession.#make(handle, key, true);
  }

  /** @internal this object is the one lookups return for its session (not a kRetain copy) */
  [kListed](): boolean {
    return this.#cell.ref !== undefined;
  }

  /** @internal the live SslSession for an identity key, if any (no native call) */
  static [kLive](key: number): SslSession | undefined {
    return lookup(key) as SslSession | undefined;
  }

  /**
   * @internal one more native reference to `session`'s SSL_SESSION as a private object,
   * outside the identity table (never returned by a lookup). For the model adapter, whose
   * contract counts one reference per caller handle (lib/conformance/openssl_cache.ts).
   */
  static [kRetain](session: SslSession): SslSession {
    const h = session[kHandle];
    return SslSession.#make(h.retain(), keyOf(h), false);
  }

  /**
   * @internal the slot that names this session's handle to SslContext's fast paths. Asked
   * from native code (slotOf checks the handle's type tag), never from the handle object
   * itself: an object posing as a handle (a forged SslSession) gets TypeError, not the slot
   * of some other live session. Reading #slot also brands `this` (TypeError for objects
   * that merely inherit SslSession.prototype).
   */
  [kSlot](): number {
    return this.#slot >= 0 ? this.#slot : (this.#slot = slotOf(this[kHandle]));
  }

  /** SSL_SESSION_new, then the given fields. */
  static create(options: SslSessionCreateOptions): SslSession {
    const o = optionsObject(options, 'options');
    if (o.id === undefined) throw new TypeError('options.id must be a Buffer');
    const id = checkSessionId(toBuffer(o.id, 'options.id'), 'options.id');
    const version = protocolNumber(o.protocol ?? 'TLSv1.2', 'options.protocol');
    const idContext =
      o.idContext === undefined ? null : checkLength(toBufferOrString(o.idContext, 'options.idContext'), 0, MAX_SID_CTX_LENGTH, 'options.idContext');
    const time = o.time === undefined ? null : integer(o.time, 'options.time', 0, LONG_MAX);
    const timeout = o.timeout === undefined ? null : integer(o.timeout, 'options.timeout', 0, LONG_MAX);
    const masterKey =
      o.masterKey === undefined ? null : checkLength(toBuffer(o.masterKey, 'options.masterKey'), 0, MAX_MASTER_KEY_LENGTH, 'options.masterKey');
    let cipher: string | null = null;
    if (o.cipher !== undefined) {
      if (typeof o.cipher !== 'string') throw new TypeError('options.cipher must be a string');
      cipher = o.cipher;
    }
    return new SslSession(native.SslSessionHandle.create(id, version, idContext, time, timeout, masterKey, cipher));
  }

  /**
   * d2i_SSL_SESSION; OpenSSLError on malformed input or trailing bytes, with code
   * ERR_SESSION_FROM_NEWER_OPENSSL when the bytes are a session of OpenSSL 1.1/3 (or Node's
   * getSession() wrapper around one) and no `from` says so.
   * `{ from: 'openssl3' }`: the DER was written by OpenSSL 1.1.1/3.x (e.g. Node's
   * `tlsSocket.getSession()`, `openssl s_client -sess_out`); fields 1.0.2 has no place
   * for are dropped first, TLS 1.3 sessions and sessions that used the extended master
   * secret are refused with a RangeError (`code` ERR_SESSION_TLS13 / ERR_SESSION_EXTMS;
   * ERR_SESSION_DER for something that is not a session). See lib/openssl/openssl3_session.ts.
   */
  static fromDER(der: Buffer | Uint8Array, options?: SessionDerOptions): SslSession {
    const bytes = toBuffer(der, 'der');
    const from = derFormat(options, 'from');
    if (from === 'openssl3') return new SslSession(native.SslSessionHandle.fromDER(toOpenSSL102(bytes)));
    try {
      return new SslSession(native.SslSessionHandle.fromDER(bytes));
    } catch (e) {
      throw whyNotParsed(e, bytes);
    }
  }

  /** PEM_read_bio_SSL_SESSION ("-----BEGIN SSL SESSION PARAMETERS-----"); errors as fromDER. */
  static fromPEM(pem: string | Buffer): SslSession {
    if (typeof pem !== 'string' && !Buffer.isBuffer(pem)) throw new TypeError('pem must be a string or Buffer');
    try {
      return new SslSession(native.SslSessionHandle.fromPEM(pem));
    } catch (e) {
      const body = pemSessionBody(pem);
      throw body ? whyNotParsed(e, body) : e;
    }
  }

  /**
   * i2d_SSL_SESSION (length first, then into a buffer of that length).
   * `{ to: 'openssl3' }`: the same session as OpenSSL 1.1.1/3.x read it (Node's
   * `tls.connect({ session })`, `openssl s_client -sess_in`); exact — only the order of
   * the optional fields changes (lib/openssl/openssl3_session.ts).
   */
  toDER(options?: { to?: 'openssl102' | 'openssl3' }): Buffer {
    const to = derFormat(options, 'to');
    const der = this[kHandle].toDER();
    return to === 'openssl3' ? toOpenSSL3(der) : der;
  }

  /**
   * i2d_SSL_SESSION into `target` from `offset` (default 0) — no Buffer is allocated (e.g. a
   * pooled buffer): the number of bytes written, in 1.0.2's format. RangeError, with nothing
   * written, when they do not fit (the message says how many are needed).
   */
  toDERInto(target: Uint8Array, offset = 0): number {
    if (!(target instanceof Uint8Array)) throw new TypeError('target must be a Buffer or Uint8Array');
    const at = integer(offset, 'offset', 0, target.length);
    const view = Buffer.isBuffer(target) ? target : Buffer.from(target.buffer, target.byteOffset, target.byteLength);
    const n = this[kHandle].toDERInto(view, at);
    if (n < 0) throw new RangeError(`toDERInto: the session needs ${-n} bytes, ${target.length - at} left after offset ${at}`);
    return n;
  }

  toPEM(): string {
    return this[kHandle].toPEM();
  }

  /** SSL_SESSION_print */
  toText(): string {
    return this[kHandle].toText();
  }

  get id(): Buffer {
    return this[kHandle].id();
  }

  get idContext(): Buffer {
    return this[kHandle].idContext();
  }

  set idContext(value: Buffer | Uint8Array | string) {
    const b = checkLength(toBufferOrString(value, 'idContext'), 0, MAX_SID_CTX_LENGTH, 'idContext');
    this[kHandle].setIdContext(b);
  }

  /** creation time, seconds since the epoch (SSL_SESSION_get_time) */
  get time(): number {
    return this[kHandle].time();
  }

  set time(value: number) {
    this[kHandle].setTime(integer(value, 'time', 0, LONG_MAX));
  }

  /** lifetime in seconds (SSL_SESSION_get_timeout) */
  get timeout(): number {
    return this[kHandle].timeout();
  }

  set timeout(value: number) {
    this[kHandle].setTimeout(integer(value, 'timeout', 0, LONG_MAX));
  }

  /** 'TLSv1.2', 'TLSv1.1', 'TLSv1', ... (the ssl_version part of the cache key) */
  get protocol(): Protocol | UnknownProtocol {
    return protocolName(this[kHandle].version());
  }

  get cipher(): string | undefined {
    return this[kHandle].cipher();
  }

  /** !not_resumable: OpenSSL marks a session not resumable when the cache drops it */
  get resumable(): boolean {
    return !this[kHandle].notResumable();
  }

  /** the native reference count (this object's reference, the cache's, OpenSSL's own) */
  get references(): number {
    return this[kHandle].references();
  }

  /** true when both objects are the same native SSL_SESSION (the man page's "identical") */
  equals(other: SslSession): boolean {
    if (!(other instanceof SslSession)) throw new TypeError('other must be an SslSession');
    return this[kHandle].same(other[kHandle]);
  }

  /**
   * A number naming the native SSL_SESSION object, the same for every SslSession around
   * it (e.g. the one a getSession() lookup returns); never reused within the process.
   */
  get serial(): number {
    return this[kHandle].serial();
  }

  get freed(): boolean {
    return this[kHandle].freed();
  }

  /**
   * Drops this object's reference now (SSL_SESSION_free). Idempotent. The object may be
   * shared (a returned session is the thread's one object for its native session): it is
   * freed for every holder, and a later lookup returns a new object.
   */
  free(): void {
    if (this[kHandle].freed()) return;
    disown(this);
    forget(this.#cell);
    this[kHandle].free();
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

/** OpenSSL's parse error, explained when the bytes come from a newer OpenSSL */
function whyNotParsed(e: unknown, bytes: Buffer): unknown {
  if (!(e instanceof OpenSSLError)) return e;
  const why = explainNewerSession(bytes);
  if (why === undefined) return e;
  return new OpenSSLError(`${e.message}: ${why}`, e.opensslErrors, undefined, { code: ErrorCode.SESSION_FROM_NEWER_OPENSSL, cause: e });
}
