// node:tls's server and context options: each one is implemented (the same scenario against
// node's tls.createServer and ours, met by node's client, gives the same answer) or refused
// at construction with a coded error; names nobody knows (typos) are refused too.
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { createServer, SslContext } from '../lib';
import { CONTEXT_OPTIONS } from '../lib/openssl/context_options';
import { SERVER_OPTIONS } from '../lib/tls/server_options';
import { revocationPki } from './helpers/pki';
import { observe, Side } from './helpers/tls_parity';
import { isError } from './helpers/util';

const P = revocationPki();
const base = { cert: P.server, key: P.serverKey };
const sides: Side[] = ['node', 'ours'];

function caught(f: () => unknown): (Error & { code?: string }) | undefined {
  try {
    const r = f() as { close?: () => void } | undefined;
    if (r && typeof r.close === 'function') r.close();
  } catch (e) {
    return isError(e) ? (e as Error & { code?: string }) : undefined;
  }
  return undefined;
}

/** files the machine's openssl makes once: DH parameters and a PKCS#12 of the server */
const made = (() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-opts-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  fs.writeFileSync(path.join(dir, 'server.pem'), P.server);
  fs.writeFileSync(path.join(dir, 'server.key'), P.serverKey);
  fs.writeFileSync(path.join(dir, 'ca.pem'), P.ca);
  run('dhparam', '-dsaparam', '-out', 'dh.pem', '2048');
  run('dhparam', '-dsaparam', '-out', 'dh512.pem', '512');
  run('pkcs12', '-export', '-in', 'server.pem', '-inkey', 'server.key', '-certfile', 'ca.pem', '-out', 'server.pfx', '-passout', 'pass:pfx-pass',
    '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1');
  const out = { dh: fs.readFileSync(path.join(dir, 'dh.pem'), 'utf8'), dh512: fs.readFileSync(path.join(dir, 'dh512.pem'), 'utf8'), pfx: fs.readFileSync(path.join(dir, 'server.pfx')) };
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
})();

describe('unknown and refused option names', () => {
  test('a typo in createServer options is a TypeError with a code naming it (and the option it resembles)', () => {
    const e = caught(() => createServer({ ...base, sessionTimout: 300 } as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e!.code).toBe('ERR_TLS_UNKNOWN_OPTION');
    expect(e!.message).toMatch(/options\.sessionTimout/);
    expect(e!.message).toMatch(/did you mean sessionTimeout/);
  });

  test('a typo in new SslContext options is refused the same way; several are listed together', () => {
    const e = caught(() => new SslContext({ ...base, honorCipherOrdr: true, ecdhCurv: 'P-256' } as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e!.code).toBe('ERR_TLS_UNKNOWN_OPTION');
    expect(e!.message).toMatch(/options\.honorCipherOrdr.*options\.ecdhCurv/);
  });

  test.each([
    ['pskCallback', () => null],
    ['clientCertEngine', 'dynamic'],
    ['privateKeyEngine', 'dynamic'],
    ['enableTrace', true],
    ['secureContext', tls.createSecureContext({})],
    ['ALPNCallback', () => 'h2'],
  ])('node:tls option %s that 1.0.2 (or this package) cannot honour is refused with its reason', (name, value) => {
    const e = caught(() => createServer({ ...base, [name]: value } as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e!.code).toBe('ERR_TLS_OPTION_NOT_SUPPORTED');
    expect(e!.message).toContain(`options.${name} is not supported: `);
  });

  test('a refused option whose value asks for nothing (undefined, null, false) is accepted, as node:tls reads it', () => {
    expect(caught(() => createServer({ ...base, enableTrace: false, pskCallback: undefined, clientCertEngine: null } as never))).toBeUndefined();
  });

  test("every option name node:tls's createSecureContext reads is in the context table", () => {
    // the names configSecureContext and createSecureContext destructure (node v20)
    const nodeNames = ['ca', 'cert', 'ciphers', 'clientCertEngine', 'crl', 'dhparam', 'ecdhCurve', 'key', 'passphrase', 'pfx', 'privateKeyIdentifier',
      'privateKeyEngine', 'sessionIdContext', 'sessionTimeout', 'sigalgs', 'honorCipherOrder', 'secureOptions', 'secureProtocol', 'minVersion', 'maxVersion'];
    const missing = nodeNames.filter((n) => !(n in CONTEXT_OPTIONS) && !(n in SERVER_OPTIONS));
    expect(missing).toEqual([]);
  });

  test('context options next to options.context would be ignored: refused', () => {
    const ctx = new SslContext(base);
    const e = caught(() => createServer({ context: ctx, ciphers: 'AES128-SHA' }));
    expect(e!.code).toBe('ERR_TLS_OPTION_NOT_SUPPORTED');
    expect(e!.message).toMatch(/options\.ciphers cannot be combined with options\.context/);
    ctx.free();
  });
});

describe('values node:tls refuses are refused with the same code', () => {
  test.each([
    ['minVersion', 'TLSv9', 'ERR_TLS_INVALID_PROTOCOL_VERSION', TypeError],
    ['maxVersion', 'TLSv0', 'ERR_TLS_INVALID_PROTOCOL_VERSION', TypeError],
    ['minVersion', 3, 'ERR_TLS_INVALID_PROTOCOL_VERSION', TypeError],
    ['secureProtocol', 'SSLv3_method', 'ERR_TLS_INVALID_PROTOCOL_METHOD', TypeError],
    ['secureProtocol', 'nope', 'ERR_TLS_INVALID_PROTOCOL_METHOD', TypeError],
    ['ecdhCurve', 'no-such-curve', 'ERR_CRYPTO_OPERATION_FAILED', Error], // ours: an OpenSSLError (an Error)
    ['dhparam', made.dh512, 'ERR_INVALID_ARG_VALUE', TypeError],
  ])('%s %p → %s', (name, value, code, cls) => {
    // node's errors come from another realm under jest: compare the class by name
    const theirs = caught(() => tls.createServer({ ...base, [name]: value }));
    expect(theirs!.name).toBe(cls.name);
    expect(theirs!.code).toBe(code);
    const ours = caught(() => createServer({ ...base, [name]: value } as never));
    expect(ours).toBeInstanceOf(cls);
    expect(ours!.name).toBe(cls === Error ? 'OpenSSLError' : cls.name);
    expect(ours!.code).toBe(code);
  });

  test('a key that does not match the certificate: ERR_OSSL_X509_KEY_VALUES_MISMATCH, as node:tls', () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(caught(() => tls.createSecureContext({ cert: P.server, key: other }))!.code).toBe('ERR_OSSL_X509_KEY_VALUES_MISMATCH');
    const e = caught(() => new SslContext({ cert: P.server, key: other }));
    expect(e!.name).toBe('OpenSSLError');
    expect(e!.code).toBe('ERR_OSSL_X509_KEY_VALUES_MISMATCH');
  });

  test.each(['wrong', undefined])('an encrypted key with passphrase %p: ERR_OSSL_BAD_DECRYPT, as node:tls', (passphrase) => {
    const key = crypto.createPrivateKey(P.serverKey).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right' }) as string;
    expect(caught(() => tls.createSecureContext({ cert: P.server, key, passphrase }))!.code).toBe('ERR_OSSL_BAD_DECRYPT');
    const e = caught(() => new SslContext({ cert: P.server, key, passphrase }));
    expect(e!.name).toBe('OpenSSLError');
    expect(e!.code).toBe('ERR_OSSL_BAD_DECRYPT');
  });

  test("X25519 (node's first default curve) does not exist in 1.0.2: refused by name", () => {
    const e = caught(() => createServer({ ...base, ecdhCurve: 'X25519:P-256' }));
    expect(e!.code).toBe('ERR_CRYPTO_OPERATION_FAILED');
    expect(e!.message).toMatch(/X25519 is not available in OpenSSL 1\.0\.2/);
  });

  test("minVersion 'TLSv1.3' is refused (no TLS 1.3 in 1.0.2); maxVersion 'TLSv1.3' caps at TLSv1.2", () => {
    const e = caught(() => createServer({ ...base, minVersion: 'TLSv1.3' as never }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e!.code).toBe('ERR_TLS_INVALID_PROTOCOL_VERSION');
    expect(caught(() => createServer({ ...base, maxVersion: 'TLSv1.3' as never }))).toBeUndefined();
  });

  test('secureOptions: SSL_OP_NO_RENEGOTIATION has no 1.0.2 meaning and is refused; unknown bits too', () => {
    const e = caught(() => createServer({ ...base, secureOptions: crypto.constants.SSL_OP_NO_RENEGOTIATION }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e!.message).toMatch(/SSL_OP_NO_RENEGOTIATION/);
    expect(caught(() => createServer({ ...base, secureOptions: 'x' as never }))).toBeInstanceOf(TypeError);
  });

  test("dhparam 'auto' needs OpenSSL 3's built-in groups: refused with its reason", () => {
    expect(caught(() => createServer({ ...base, dhparam: 'auto' }))!.code).toBe('ERR_TLS_OPTION_NOT_SUPPORTED');
  });
});

describe('implemented options: node:tls and ours give node clients the same answer', () => {
  const mtls = { ca: P.ca, requestCert: true, rejectUnauthorized: true };

  test.each(sides)('crl (%s): a revoked client is refused, the others are served', async (side) => {
    const good = await observe(side, { ...base, ...mtls, crl: P.crl }, { ca: P.ca, servername: 'localhost', cert: P.client, key: P.clientKey });
    expect(good.secureConnection).toMatchObject({ authorized: true, authorizationError: null });
    expect(good.client.received).toBe('hello');
    const revoked = await observe(side, { ...base, ...mtls, crl: [P.crl] }, { ca: P.ca, servername: 'localhost', cert: P.revoked, key: P.revokedKey });
    expect(revoked.secureConnection).toBeUndefined();
    expect(revoked.tlsClientError).toBeDefined();
    expect(revoked.client.outcome).toBe('ECONNRESET');
    // without rejectUnauthorized the client is served and the reason is on the socket
    const told = await observe(side, { ...base, ...mtls, rejectUnauthorized: false, crl: P.crl }, { ca: P.ca, servername: 'localhost', cert: P.revoked, key: P.revokedKey });
    expect(told.secureConnection).toMatchObject({ authorized: false, authorizationError: 'CERT_REVOKED' });
  }, 30000);

  test.each(sides)('honorCipherOrder (%s): the server order wins when true (the default of a server), the client order when false', async (side) => {
    const client = { ca: P.ca, servername: 'localhost', ciphers: 'AES256-SHA:AES128-SHA' };
    const server = { ...base, ciphers: 'AES128-SHA:AES256-SHA' };
    expect((await observe(side, { ...server, honorCipherOrder: true }, client)).client.cipher).toBe('AES128-SHA');
    expect((await observe(side, server, client)).client.cipher).toBe('AES128-SHA');
    expect((await observe(side, { ...server, honorCipherOrder: false }, client)).client.cipher).toBe('AES256-SHA');
  }, 30000);

  test.each(sides)("ecdhCurve (%s): the named curve is the key exchange's", async (side) => {
    const seen = await observe(side, { ...base, ecdhCurve: 'P-384' }, { ca: P.ca, servername: 'localhost' });
    expect(seen.client.ephemeralKeyInfo).toEqual({ type: 'ECDH', name: 'secp384r1', size: 384 });
    const list = await observe(side, { ...base, ecdhCurve: 'P-521:P-384' }, { ca: P.ca, servername: 'localhost', ecdhCurve: 'P-384:P-521' });
    // a list: the server's order wins (a server honours its own order by default)
    expect(list.client.ephemeralKeyInfo).toEqual({ type: 'ECDH', name: 'secp521r1', size: 521 });
  }, 30000);

  test.each(sides)('dhparam (%s): DHE suites work with the given group', async (side) => {
    const seen = await observe(side, { ...base, dhparam: made.dh, ciphers: 'DHE-RSA-AES128-GCM-SHA256' }, { ca: P.ca, servername: 'localhost' });
    expect(seen.client.cipher).toBe('DHE-RSA-AES128-GCM-SHA256');
    expect(seen.client.ephemeralKeyInfo).toEqual({ type: 'DH', size: 2048 });
  }, 30000);

  test.each(sides)('sigalgs (%s): a client without a shared signature algorithm is refused', async (side) => {
    const ok = await observe(side, { ...base, sigalgs: 'RSA+SHA384:RSA+SHA256' }, { ca: P.ca, servername: 'localhost' });
    expect(ok.client.outcome).toBe('secureConnect');
    const refused = await observe(side, { ...base, sigalgs: 'RSA+SHA384' }, { ca: P.ca, servername: 'localhost', sigalgs: 'RSA+SHA256' });
    expect(refused.secureConnection).toBeUndefined();
    expect(refused.client.outcome).toMatch(/^ERR_SSL_/);
  }, 30000);

  test.each(sides)('pfx with passphrase (%s): the PKCS#12 certificate and chain are served', async (side) => {
    const seen = await observe(side, { pfx: made.pfx, passphrase: 'pfx-pass' }, { ca: P.ca, servername: 'localhost' });
    expect(seen.client.outcome).toBe('secureConnect');
    expect(seen.client.chain?.[0]).toBe('localhost');
  }, 30000);

  // OpenSSL 3 needs security level 0 for TLS 1.1 (its default refuses it); 1.0.2 has no levels
  const legacy = (side: Side) => (side === 'node' ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {});

  test.each(sides)('secureOptions (%s): SSL_OP_NO_TLSv1_2 leaves TLSv1.1', async (side) => {
    const seen = await observe(side, { ...base, ...legacy(side), secureOptions: crypto.constants.SSL_OP_NO_TLSv1_2, minVersion: 'TLSv1' }, { ca: P.ca, servername: 'localhost', minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(seen.client.protocol).toBe('TLSv1.1');
  }, 30000);

  test.each(sides)("secureProtocol (%s): 'TLSv1_1_method' pins TLSv1.1", async (side) => {
    const seen = await observe(side, { ...base, ...legacy(side), secureProtocol: 'TLSv1_1_method', ...(side === 'node' ? { maxVersion: undefined } : {}) }, { ca: P.ca, servername: 'localhost', minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(seen.client.protocol).toBe('TLSv1.1');
  }, 30000);

  test('a wrong pfx passphrase fails at construction (OpenSSLError, PKCS12 mac verify failure)', () => {
    const e = caught(() => createServer({ pfx: made.pfx, passphrase: 'wrong' }));
    expect(e!.name).toBe('OpenSSLError');
    expect(e!.code).toBe('ERR_OSSL_PKCS12_MAC_VERIFY_FAILURE');
  });
});
