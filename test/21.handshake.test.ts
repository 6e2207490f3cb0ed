// Handshakes through the real OpenSSL 1.0.2h: self-signed
// certificates made with 1.0.2's own X509/RSA API, complete in-process handshakes over a
// BIO pair, protocol limits, failures as OpenSSLError, the unshut-connection rule of
// ssl_clear_bad_session, and client-side certificate verification.
import { X509Certificate, createPrivateKey } from 'crypto';
import { OpenSSLError, SslContext, generateSelfSigned, handshake } from '../lib';
import type { SslContextOptions } from '../lib';
import { catchError, nowSec, contextsPerTest, localhostPki } from './helpers/util';

let pki: { cert: string; key: string };
let otherPki: { cert: string; key: string };

beforeAll(() => {
  pki = localhostPki();
  // a second, unrelated self-signed certificate (only its certificate and key are used)
  otherPki = generateSelfSigned({ commonName: 'localhost', days: 10, bits: 1024 });
});

const ctx = contextsPerTest();
const server = (options: SslContextOptions = {}) => ctx({ cert: pki.cert, key: pki.key, ...options });
const client = (options: SslContextOptions = {}) => ctx({ role: 'client', ...options });

/** the reasons of an OpenSSLError's queue entries */
const reasons = (e: OpenSSLError): string[] => e.opensslErrors.map((x) => x.reason ?? '');

describe('generateSelfSigned', () => {
  test('returns a PEM certificate and a PEM private key that belong together', () => {
    const { cert, key } = generateSelfSigned({ commonName: 'example.test', days: 10, bits: 1024 });
    expect(cert).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/);
    expect(key).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END (RSA )?PRIVATE KEY-----\n?$/);
    // parsed by Node's own OpenSSL 3, independently of the addon
    const x = new X509Certificate(cert);
    const k = createPrivateKey(key);
    expect(x.checkPrivateKey(k)).toBe(true);
    expect(k.asymmetricKeyType).toBe('rsa');
    expect(k.asymmetricKeyDetails?.modulusLength).toBe(1024);
    expect(x.subject).toBe('CN=example.test');
    expect(x.issuer).toBe(x.subject); // self-signed
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.ca).toBe(true);
    expect(x.subjectAltName).toContain('DNS:example.test');
    expect(x.subjectAltName).toContain('127.0.0.1');
    const validTo = Date.parse(x.validTo) / 1000;
    expect(validTo).toBeGreaterThan(nowSec() + 9 * 86400);
    expect(validTo).toBeLessThanOrEqual(nowSec() + 11 * 86400);
  });

  test('the pair is usable by a server context; a mismatched key is refused by OpenSSL', () => {
    const s = server();
    const r = handshake(client(), s);
    expect(r.protocol).toBe('TLSv1.2');
    // SSL_CTX_use_PrivateKey checks the key against the certificate (X509_check_private_key)
    const err = catchError(() => new SslContext({ cert: pki.cert, key: otherPki.key }));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(reasons(err)).toContain('key values mismatch');
  });
});

describe('handshake basics', () => {
  test('a first handshake is full, TLS 1.2 by default, and counts on both contexts', () => {
    const c = client();
    const s = server();
    const r = handshake(c, s);
    expect(r.resumed).toBe(false);
    expect(r.clientResumed).toBe(false);
    expect(r.serverResumed).toBe(false);
    expect(r.protocol).toBe('TLSv1.2');
    expect(typeof r.cipher).toBe('string');
    expect(r.cipher.length).toBeGreaterThan(0);
    expect(r.serverSession.protocol).toBe('TLSv1.2');
    expect(r.clientSession.protocol).toBe('TLSv1.2');
    expect(r.serverSession.cipher).toBe(r.cipher);
    expect(r.clientSession.cipher).toBe(r.cipher);
    // accept/connect counters go to the connection's SSL_CTX
    expect(s.stats).toMatchObject({ accept: 1, acceptGood: 1, connect: 0, connectGood: 0 });
    expect(c.stats).toMatchObject({ connect: 1, connectGood: 1, accept: 0, acceptGood: 0 });
  });

  test('with SSL_OP_NO_TICKET both sides hold the same 32-byte session id', () => {
    const r = handshake(client(), server({ noTicket: true }));
    expect(r.serverSession.id.length).toBe(32);
    expect(r.clientSession.id.equals(r.serverSession.id)).toBe(true);
  });

  test('with tickets (the default) the 1.0.2 server session has an empty id', () => {
    // ssl_get_new_session: tlsext_ticket_expected → session_id_length = 0
    const r = handshake(client(), server());
    expect(r.serverSession.id.length).toBe(0);
  });

  test('the cipher list of the server decides the cipher', () => {
    const r = handshake(client(), server({ ciphers: 'AES128-SHA' }));
    expect(r.cipher).toBe('AES128-SHA');
  });

  test('serverName (SNI) does not disturb the handshake', () => {
    const r = handshake(client(), server(), { serverName: 'localhost' });
    expect(r.protocol).toBe('TLSv1.2');
  });

  test('argument validation', () => {
    const c = client();
    const s = server();
    expect(catchError(() => handshake({} as SslContext, s)).name).toBe('TypeError');
    expect(catchError(() => handshake(c, {} as SslContext)).name).toBe('TypeError');
    expect(catchError(() => handshake(c, s, { shutdown: 'no' as unknown as boolean })).name).toBe('TypeError');
  });
});

describe('protocol limits (SSL_OP_NO_*)', () => {
  test("server maxVersion 'TLSv1.1' → TLSv1.1", () => {
    const r = handshake(client(), server({ maxVersion: 'TLSv1.1' }));
    expect(r.protocol).toBe('TLSv1.1');
    expect(r.serverSession.protocol).toBe('TLSv1.1');
  });

  test("client maxVersion 'TLSv1' → TLSv1", () => {
    const r = handshake(client({ maxVersion: 'TLSv1' }), server());
    expect(r.protocol).toBe('TLSv1');
  });

  test("server minVersion 'TLSv1.2' with a client limited to TLSv1.1 fails", () => {
    // ssl23_get_client_hello refuses the TLS 1.1 hello: SSL_R_UNSUPPORTED_PROTOCOL on the server
    const err = catchError(() => handshake(client({ maxVersion: 'TLSv1.1' }), server({ minVersion: 'TLSv1.2' })));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(err.opensslErrors.length).toBeGreaterThan(0);
    expect(reasons(err)).toContain('unsupported protocol');
  });
});

describe('incompatible settings → OpenSSLError with the failing side\u2019s reasons', () => {
  test('client minVersion TLSv1.2 against server maxVersion TLSv1.1', () => {
    // The server answers TLS 1.1; the 1.0.2 client (ssl23_get_server_hello) refuses it with
    // SSL_R_UNSUPPORTED_PROTOCOL.
    const err = catchError(() => handshake(client({ minVersion: 'TLSv1.2' }), server({ maxVersion: 'TLSv1.1' })));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(err.opensslErrors.length).toBeGreaterThan(0);
    expect(reasons(err)).toContain('unsupported protocol');
  });

  test('disjoint cipher lists', () => {
    // ssl3_get_client_hello: SSL_R_NO_SHARED_CIPHER on the server
    const err = catchError(() => handshake(client({ ciphers: 'AES128-SHA' }), server({ ciphers: 'AES256-SHA' })));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(err.opensslErrors.length).toBeGreaterThan(0);
    expect(reasons(err)).toContain('no shared cipher');
  });

  test('a failed handshake caches nothing and counts no good accept', () => {
    const s = server({ noTicket: true, ciphers: 'AES256-SHA' });
    expect(() => handshake(client({ ciphers: 'AES128-SHA' }), s)).toThrow(OpenSSLError);
    expect(s.sessionCount).toBe(0);
    expect(s.stats.accept).toBe(1);
    expect(s.stats.acceptGood).toBe(0);
  });
});

describe('shutdown: false — SSL_free of a finished, unshut connection (ssl_clear_bad_session)', () => {
  test('the server session is cached, then removed from the cache when the connection is freed', () => {
    const c = client();
    const s = server({ noTicket: true });
    const events: string[] = [];
    s.on('newSession', (x) => events.push('new:' + x.id.toString('hex')));
    s.on('removeSession', (x) => events.push('remove:' + x.id.toString('hex')));
    const r = handshake(c, s, { shutdown: false });
    const id = r.serverSession.id.toString('hex');
    // ssl_update_cache added it (newSession), SSL_free → SSL_CTX_remove_session (removeSession)
    expect(events).toEqual(['new:' + id, 'remove:' + id]);
    expect(s.sessionCount).toBe(0);
    expect(r.serverSession.resumable).toBe(false); // remove_session sets not_resumable
    // the client's context never cached it, so its copy is untouched
    expect(r.clientSession.resumable).toBe(true);
    // offering it is a cache miss → full handshake
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(r2.resumed).toBe(false);
    expect(s.stats.misses).toBe(1);
    expect(s.stats.hits).toBe(0);
  });

  test('with the default clean shutdown the session stays cached and resumes', () => {
    const c = client();
    const s = server({ noTicket: true });
    const removed: string[] = [];
    s.on('removeSession', (x) => removed.push(x.id.toString('hex')));
    const r = handshake(c, s);
    expect(removed).toEqual([]);
    expect(s.sessionCount).toBe(1);
    expect(r.serverSession.resumable).toBe(true);
    expect(handshake(c, s, { session: r.clientSession }).resumed).toBe(true);
  });

  test('a resumed, unshut connection removes the resumed session too', () => {
    const c = client();
    const s = server({ noTicket: true });
    const r = handshake(c, s);
    const r2 = handshake(c, s, { session: r.clientSession, shutdown: false });
    expect(r2.resumed).toBe(true);
    expect(s.sessionCount).toBe(0);
    expect(r.serverSession.resumable).toBe(false);
  });
});

describe('client-side verification (ca → SSL_VERIFY_PEER)', () => {
  test('a ca that did not issue the server certificate → certificate verify failed', () => {
    const err = catchError(() => handshake(client({ ca: otherPki.cert }), server()));
    expect(err).toBeInstanceOf(OpenSSLError);
    // ssl3_get_server_certificate: SSL_R_CERTIFICATE_VERIFY_FAILED on the client
    expect(reasons(err)).toContain('certificate verify failed');
    expect(err.message).toMatch(/certificate verify failed/);
  });

  test('the right ca → the handshake succeeds', () => {
    const r = handshake(client({ ca: pki.cert }), server());
    expect(r.protocol).toBe('TLSv1.2');
    expect(r.resumed).toBe(false);
  });

  test('without ca the client does not verify (an unrelated self-signed server is accepted)', () => {
    const r = handshake(client(), ctx({ cert: otherPki.cert, key: otherPki.key }));
    expect(r.protocol).toBe('TLSv1.2');
  });
});
