import { native } from '../binding/native';
import { integer, LONG_MAX } from '../common/validate';

/**
 * Pins the time(NULL) that this package's OpenSSL reads (session creation times, expiry
 * checks, the automatic flush) to `seconds`, or back to the real clock with undefined.
 * Process-wide and affects only the addon's OpenSSL 1.0.2, never Node's. Meant for
 * conformance runs that compare OpenSSL with a model step by step.
 */
export function setOpenSSLClock(seconds: number | undefined): void {
  native.setClock(seconds === undefined ? undefined : integer(seconds, 'seconds', 0, LONG_MAX));
}
