// new SslContext(options): every option checked and converted before anything native is
// made (prepareContext), then applied to the new SSL_CTX in one place (applyContext).
import type { NativeContextHandle } from '../binding/native';
import { ALL_SESSION_CACHE_MODE_BITS, MAX_SID_CTX_LENGTH, NO_PROTOCOL_OPTION, SslOption, SslVerify, TLS_PROTOCOLS, TlsProtocol } from '../binding/constants';
import { codedError, ErrorCode } from '../common/coded_error';
import { checkLength, integer, INT_MAX, LONG_MAX, optionsObject, toBufferOrString } from '../common/validate';
import { checkOptionNames } from '../common/option_names';
import { checkDhBits, CONTEXT_OPTIONS, curveList, pem, pemList, pfxList, protocolRange, secureOptionBits, sigalgsList } from './context_options';

/** SSLv23 method per role (the native constructor's `kind`) */
export const ROLES = { server: 0, client: 1, both: 2 } as const;

export type SslContextRole = keyof typeof ROLES;

export interface SslContextOptions {
  /** SSLv23 server / client / generic method; default 'server' */
  role?: SslContextRole;
  /** SessionCacheMode flags; default OpenSSL's SERVER */
  sessionCacheMode?: number;
  /** SSL_CTX_sess_set_cache_size; default 20480, 0 = unlimited */
  sessionCacheSize?: number;
  /** SSL_CTX_set_timeout, seconds; default 300 */
  sessionTimeout?: number;
  /** SSL_CTX_set_session_id_context, at most 32 bytes */
  sessionIdContext?: Buffer | string;
  /** SslOption.NO_TICKET: no session tickets, so servers cache sessions by id */
  noTicket?: boolean;
  /** PEM certificate (leaf first, then chain) */
  cert?: string | Buffer;
  /** PEM private key */
  key?: string | Buffer;
  /** pass phrase of an encrypted `key` (as node:tls); without it an encrypted PEM fails at once */
  passphrase?: string | Buffer;
  /** OpenSSL cipher list */
  ciphers?: string;
  /** trusted CA certificates (PEM, or an array of PEMs); given → the peer's certificate is verified (SSL_VERIFY_PEER) */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** lowest protocol allowed: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' (SSL_OP_NO_* below it) */
  minVersion?: TlsProtocol;
  /** highest protocol allowed (SSL_OP_NO_* above it). JavaScript callers may pass node's
   * default 'TLSv1.3': it means TLSv1.2, the highest 1.0.2 has (the type says there is none) */
  maxVersion?: TlsProtocol;
  /** node:tls: certificate revocation lists (PEM, or an array of PEMs); given → every
   * certificate of a verified chain is checked (X509_V_FLAG_CRL_CHECK | CRL_CHECK_ALL) */
  crl?: string | Buffer | readonly (string | Buffer)[];
  /** node:tls: the server's cipher order wins (SSL_OP_CIPHER_SERVER_PREFERENCE) */
  honorCipherOrder?: boolean;
  /** node:tls: 'auto' (default), one curve name or a ':'-list ('P-256:P-384'); no X25519 in 1.0.2 */
  ecdhCurve?: string;
  /** node:tls: PEM DH parameters (at least 1024 bits), enabling DHE suites */
  dhparam?: string | Buffer;
  /** node:tls: SSL_OP_* bits (crypto.constants) 1.0.2 defines with the same meaning */
  secureOptions?: number;
  /** node:tls: signature algorithms, 1.0.2's form ('RSA+SHA256:ECDSA+SHA256') */
  sigalgs?: string;
  /** node:tls: PKCS#12 certificate and key (decrypted with `passphrase`), or several */
  pfx?: string | Buffer | readonly (string | Buffer | { buf: string | Buffer; passphrase?: string | Buffer })[];
  /** node:tls: an OpenSSL method name ('TLSv1_2_method', 'TLS_method', ...) as a protocol range */
  secureProtocol?: string;
}

/** the options of new SslContext(), checked and converted: what applyContext() sets */
export interface PreparedContext {
  role: SslContextRole;
  versionRange: [TlsProtocol, TlsProtocol];
  mode?: number;
  size?: number;
  timeout?: number;
  sidCtx?: Buffer;
  noTicket: boolean;
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string | Buffer;
  ciphers?: string;
  ca?: string | Buffer;
  crl?: string | Buffer;
  honorCipherOrder: boolean;
  curves?: string;
  dhparam?: string | Buffer;
  secureOptions: number;
  sigalgs?: string;
  pfx?: ReturnType<typeof pfxList>;
  noVersions: number;
}

/** Checks every option of new SslContext() (TypeError / RangeError / refusals) and converts it; nothing native is made. */
export function prepareContext(options: SslContextOptions | undefined): PreparedContext {
  const o = optionsObject(options, 'options');
  checkOptionNames(o, [CONTEXT_OPTIONS], 'options', 'new SslContext()');
  const role = o.role ?? 'server';
  if (typeof role !== 'string' || !(role in ROLES)) {
    throw new (typeof role === 'string' ? RangeError : TypeError)(`options.role must be 'server', 'client' or 'both'`);
  }
  const mode = o.sessionCacheMode === undefined ? undefined : checkMode(o.sessionCacheMode, 'options.sessionCacheMode');
  const size = o.sessionCacheSize === undefined ? undefined : integer(o.sessionCacheSize, 'options.sessionCacheSize', 0, LONG_MAX);
  const timeout = o.sessionTimeout === undefined ? undefined : integer(o.sessionTimeout, 'options.sessionTimeout', 0, INT_MAX);
  const sidCtx =
    o.sessionIdContext === undefined
      ? undefined
      : checkLength(toBufferOrString(o.sessionIdContext, 'options.sessionIdContext'), 0, MAX_SID_CTX_LENGTH, 'options.sessionIdContext');
  if (o.noTicket !== undefined && typeof o.noTicket !== 'boolean') throw new TypeError('options.noTicket must be a boolean');
  const cert = o.cert === undefined ? undefined : pem(o.cert, 'options.cert');
  const key = o.key === undefined ? undefined : pem(o.key, 'options.key');
  const passphrase = o.passphrase === undefined ? undefined : pem(o.passphrase, 'options.passphrase', 'a string or Buffer');
  if (o.ciphers !== undefined && typeof o.ciphers !== 'string') throw new TypeError('options.ciphers must be a string');
  const ca = o.ca === undefined ? undefined : pemList(o.ca, 'options.ca');
  const crl = o.crl === undefined || o.crl === null ? undefined : pemList(o.crl, 'options.crl');
  if (o.honorCipherOrder !== undefined && typeof o.honorCipherOrder !== 'boolean') throw new TypeError('options.honorCipherOrder must be a boolean');
  const curves = curveList(o.ecdhCurve);
  const dhparam = o.dhparam === undefined || o.dhparam === null ? undefined : dhParams(o.dhparam);
  const secureOptions = o.secureOptions === undefined ? 0 : secureOptionBits(o.secureOptions);
  const sigalgs = sigalgsList(o.sigalgs);
  const pfx = o.pfx === undefined || o.pfx === null ? undefined : pfxList(o.pfx, passphrase);
  const [lo, hi] = protocolRange(o.minVersion, o.maxVersion, o.secureProtocol);
  return {
    role: role as SslContextRole,
    versionRange: [TLS_PROTOCOLS[lo], TLS_PROTOCOLS[hi]],
    mode,
    size,
    timeout,
    sidCtx,
    noTicket: o.noTicket === true,
    cert,
    key,
    passphrase,
    ciphers: o.ciphers as string | undefined,
    ca,
    crl,
    honorCipherOrder: o.honorCipherOrder === true,
    curves,
    dhparam,
    secureOptions,
    sigalgs,
    pfx,
    noVersions: versionBits(lo, hi),
  };
}

/** Sets the prepared options on a new SSL_CTX, in the order OpenSSL needs them (key after certificate). Throws what OpenSSL refuses. */
export function applyContext(h: NativeContextHandle, p: PreparedContext): void {
  if (p.mode !== undefined) h.setMode(p.mode);
  if (p.size !== undefined) h.setCacheSize(p.size);
  if (p.timeout !== undefined) h.setTimeout(p.timeout);
  if (p.sidCtx !== undefined) h.setSessionIdContext(p.sidCtx);
  if (p.noTicket) h.setOptions(SslOption.NO_TICKET);
  if (p.cert !== undefined) h.useCertificate(p.cert);
  if (p.key !== undefined) h.usePrivateKey(p.key, p.passphrase);
  if (p.pfx !== undefined) for (const x of p.pfx) h.usePkcs12(x.der, x.passphrase);
  if (p.ciphers !== undefined) h.setCipherList(p.ciphers);
  if (p.noVersions !== 0) h.setOptions(p.noVersions);
  if (p.honorCipherOrder) h.setOptions(SslOption.CIPHER_SERVER_PREFERENCE);
  if (p.secureOptions !== 0) h.setOptions(p.secureOptions);
  if (p.curves !== undefined) h.setCurves(p.curves);
  if (p.dhparam !== undefined) checkDhBits(h.setDhParams(p.dhparam));
  if (p.sigalgs !== undefined) h.setSigalgs(p.sigalgs);
  if (p.ca !== undefined) {
    h.addCaCertificates(p.ca);
    h.setVerify(SslVerify.PEER);
  }
  if (p.crl !== undefined) h.addCrl(p.crl);
}

/** a session cache mode: an integer made of OpenSSL 1.0.2's SSL_SESS_CACHE_* bits only (else RangeError) */
export function checkMode(mode: unknown, what: string): number {
  const m = integer(mode, what, 0, 0xffff);
  if ((m & ~ALL_SESSION_CACHE_MODE_BITS) !== 0) {
    throw new RangeError(`${what} has bits OpenSSL 1.0.2 does not define: 0x${(m & ~ALL_SESSION_CACHE_MODE_BITS).toString(16)}`);
  }
  return m;
}

/** the SSL_OP_NO_* bits outside TLS_PROTOCOLS[lo..hi] */
function versionBits(lo: number, hi: number): number {
  let bits = 0;
  TLS_PROTOCOLS.forEach((name, i) => {
    if (i < lo || i > hi) bits |= NO_PROTOCOL_OPTION[name];
  });
  return bits;
}

/** dhparam: PEM DH parameters ('auto' needs SSL_CTX_set_dh_auto, which 1.0.2 lacks) */
function dhParams(v: unknown): string | Buffer {
  if (v === 'auto') {
    throw codedError(ErrorCode.OPTION_NOT_SUPPORTED, "options.dhparam 'auto' is not supported: OpenSSL 1.0.2 has no built-in DH parameters; pass PEM parameters");
  }
  return pem(v, 'options.dhparam');
}
