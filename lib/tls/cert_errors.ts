// Certificate verification results as node:tls reports them: OpenSSL's X509_V_ERR_* number
// turned into an Error whose `code` is the macro's name without its prefix
// (DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED, ...), the codes node:tls uses.
import { foreignCodedError } from '../common/coded_error';

/** X509_V_ERR_* numbers of OpenSSL 1.0.2 (x509_vfy.h) → [code, OpenSSL's text] */
const X509_ERRORS: Record<number, [string, string]> = {
  2: ['UNABLE_TO_GET_ISSUER_CERT', 'unable to get issuer certificate'],
  3: ['UNABLE_TO_GET_CRL', 'unable to get certificate CRL'],
  4: ['UNABLE_TO_DECRYPT_CERT_SIGNATURE', "unable to decrypt certificate's signature"],
  5: ['UNABLE_TO_DECRYPT_CRL_SIGNATURE', "unable to decrypt CRL's signature"],
  6: ['UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'unable to decode issuer public key'],
  7: ['CERT_SIGNATURE_FAILURE', 'certificate signature failure'],
  8: ['CRL_SIGNATURE_FAILURE', 'CRL signature failure'],
  9: ['CERT_NOT_YET_VALID', 'certificate is not yet valid'],
  10: ['CERT_HAS_EXPIRED', 'certificate has expired'],
  11: ['CRL_NOT_YET_VALID', 'CRL is not yet valid'],
  12: ['CRL_HAS_EXPIRED', 'CRL has expired'],
  13: ['ERROR_IN_CERT_NOT_BEFORE_FIELD', "format error in certificate's notBefore field"],
  14: ['ERROR_IN_CERT_NOT_AFTER_FIELD', "format error in certificate's notAfter field"],
  15: ['ERROR_IN_CRL_LAST_UPDATE_FIELD', "format error in CRL's lastUpdate field"],
  16: ['ERROR_IN_CRL_NEXT_UPDATE_FIELD', "format error in CRL's nextUpdate field"],
  17: ['OUT_OF_MEM', 'out of memory'],
  18: ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self signed certificate'],
  19: ['SELF_SIGNED_CERT_IN_CHAIN', 'self signed certificate in certificate chain'],
  20: ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'],
  21: ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
  22: ['CERT_CHAIN_TOO_LONG', 'certificate chain too long'],
  23: ['CERT_REVOKED', 'certificate revoked'],
  24: ['INVALID_CA', 'invalid CA certificate'],
  25: ['PATH_LENGTH_EXCEEDED', 'path length constraint exceeded'],
  26: ['INVALID_PURPOSE', 'unsupported certificate purpose'],
  27: ['CERT_UNTRUSTED', 'certificate not trusted'],
  28: ['CERT_REJECTED', 'certificate rejected'],
  62: ['HOSTNAME_MISMATCH', 'Hostname mismatch'],
};

/** the Error node:tls would give for a verify result other than X509_V_OK (0) */
export function certificateError(verifyResult: number): Error {
  const known = X509_ERRORS[verifyResult];
  if (known) return foreignCodedError(known[0], known[1]);
  return foreignCodedError('UNSPECIFIED', `certificate verification failed (X509_V_ERR ${verifyResult})`);
}

/** a server asked for a client certificate and got none (node:tls reports this code) */
export function noPeerCertificateError(): Error {
  return foreignCodedError('UNABLE_TO_GET_ISSUER_CERT', 'the peer did not present a certificate');
}
