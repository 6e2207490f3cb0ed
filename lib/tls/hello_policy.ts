// What node:tls's server refuses from a ClientHello that OpenSSL 1.0.2 would accept or
// answer differently, decided in lib from the parsed hello before OpenSSL reads it, and
// answered as node's OpenSSL 3 answers: a fatal alert record and the error node reports.
// - ALPN offered with no protocol in common with the server's: no_application_protocol
//   (1.0.2 ignores a fatal answer from the ALPN callback and would go on without ALPN).
// - A client that offers TLS 1.3 and nothing below it (supported_versions): protocol_version
//   (1.0.2 does not read supported_versions and would fail with "no shared cipher").
// - A client whose versions all lie below the server's minVersion: protocol_version (1.0.2
//   closes the connection without an alert).
import { codedError, ErrorCode, ErrorCodeValue } from '../common/coded_error';
import type { ClientHelloInfo } from './client_hello_parser';

const ALERT_PROTOCOL_VERSION = 70;
const ALERT_NO_APPLICATION_PROTOCOL = 120;
const TLS1_2 = 0x0303;

export interface HelloRefusal {
  /** the fatal alert record to send before closing */
  alert: Buffer;
  error: Error;
}

/**
 * The fatal alert node's server sends for `hello`, or undefined when OpenSSL may go on.
 * `minVersion`: the lowest protocol the server allows, as a wire version (0x0301 = TLSv1).
 */
export function helloRefusal(hello: ClientHelloInfo, serverAlpn: Buffer | undefined, minVersion: number): HelloRefusal | undefined {
  const versions = hello.supportedVersions?.filter((v) => !isGrease(v));
  if (versions !== undefined && versions.length > 0 && versions.every((v) => v > TLS1_2)) {
    return refusal(ALERT_PROTOCOL_VERSION, ErrorCode.SSL_UNSUPPORTED_PROTOCOL, 'unsupported protocol (the client offers only TLS 1.3; OpenSSL 1.0.2 speaks up to TLS 1.2)');
  }
  // a client whose highest version is below the server's lowest (1.0.2 closes without an alert)
  if (hello.kind === 'tls' && hello.version !== undefined && hello.version < minVersion && (versions === undefined || versions.every((v) => v < minVersion))) {
    return refusal(ALERT_PROTOCOL_VERSION, ErrorCode.SSL_UNSUPPORTED_PROTOCOL, 'unsupported protocol (the client speaks only versions below minVersion)');
  }
  if (serverAlpn !== undefined && hello.alpn !== undefined && hello.alpn.length > 0) {
    const ours = alpnNames(serverAlpn);
    if (!hello.alpn.some((p) => ours.some((o) => o.equals(p)))) {
      return refusal(ALERT_NO_APPLICATION_PROTOCOL, ErrorCode.SSL_NO_APPLICATION_PROTOCOL, 'no application protocol');
    }
  }
  return undefined;
}

function refusal(description: number, code: ErrorCodeValue, message: string): HelloRefusal {
  return { alert: Buffer.from([21, 3, 3, 0, 2, 2, description]), error: codedError(code, message) };
}

/** RFC 8701 GREASE values (0x?a?a) carry no version */
function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

/** the names of an ALPN list in wire format */
export function alpnNames(wire: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < wire.length; off += 1 + wire[off]) out.push(wire.subarray(off + 1, off + 1 + wire[off]));
  return out;
}
