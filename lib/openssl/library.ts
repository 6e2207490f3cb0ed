import { addonSource, native } from '../binding/native';

/** The OpenSSL this package runs: always its own 1.0.2, never Node's. */
export const openssl = Object.freeze({
  /** SSLeay_version(SSLEAY_VERSION), e.g. 'OpenSSL 1.0.2h  3 May 2016' */
  version: native.version,
  /** SSLeay(), e.g. 0x1000208f */
  versionNumber: native.versionNumber,
  /** OPENSSL_VERSION_NUMBER of the headers the addon was compiled against */
  headerVersionNumber: native.headerVersionNumber,
  /** where the addon was loaded from: 'source' (this package's build/Release) or the
   * platform package of the prebuilt binary, e.g. '@openssl-session-cache/linux-x64-gnu' */
  addon: addonSource,
  /** non-zero when the calling thread's OpenSSL error queue is not empty (diagnostics) */
  errorQueueDepth: (): number => native.errorQueueDepth(),
});
