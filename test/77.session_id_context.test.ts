// The default session id context of createServer. OpenSSL resumes a session only under the
// id context it was made in; with one fixed default, two applications with different
// client-certificate trust sharing one store resumed each other's sessions, and the one
// that would refuse the client's certificate in a full handshake reported it authorized.
// The default is now derived from the client-acceptance policy and the certificate
// (defaultSessionIdContext); an explicit sessionIdContext wins.
import * as tls from 'tls';
import { createServer, defaultSessionIdContext, MemorySessionStore, SslSession, TlsServer, TlsServerOptions } from '../lib';
import { certs, close, listen, next, track } from './helpers/sockets';
import { pki } from './helpers/pki';

const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;
const servers: { server: TlsServer; sockets: Set<{ destroy(): unknown }> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await close(s.server, s.sockets);
});

/** an application: the CA-issued server certificate, its trust for client certificates, a shared store */
async function app(trust: string, store: MemorySessionStore, extra: Partial<TlsServerOptions> = {}): Promise<{ server: TlsServer; port: number; seen: { authorized: boolean; reused: boolean; cn?: string }[] }> {
  const p = pki();
  const seen: { authorized: boolean; reused: boolean; cn?: string }[] = [];
  const server = createServer({ cert: p.leaf, key: p.leafKey, ca: trust, requestCert: true, rejectUnauthorized: true, sessionStore: store, ...extra }, (s) => {
    const cert = s.getPeerCertificate();
    seen.push({ authorized: s.authorized, reused: s.isSessionReused(), cn: 'subject' in cert ? cert.subject.CN : undefined });
    s.resume();
    s.on('end', () => s.end());
  });
  server.on('tlsClientError', () => undefined);
  const sockets = track(server);
  servers.push({ server, sockets });
  return { server, port: await listen(server), seen };
}

/** a node:tls client with the certificate CA X issued; resolves how its connection ended */
function client(port: number, session?: Buffer): Promise<{ ok: boolean; reused: boolean; session?: Buffer; error?: string }> {
  const p = pki();
  return new Promise((resolve) => {
    let session2: Buffer | undefined;
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca, cert: p.leaf, key: p.leafKey, maxVersion: 'TLSv1.2', secureOptions: NO_TICKET, session });
    s.on('session', (b: Buffer) => (session2 = b));
    let reused = false;
    let secure = false;
    s.on('secureConnect', () => {
      secure = true;
      reused = s.isSessionReused();
      s.write('x');
      s.end();
    });
    s.resume();
    let error: string | undefined;
    s.on('error', (e: Error & { code?: string }) => (error = e.code ?? e.message));
    s.on('close', () => resolve({ ok: secure && error === undefined, reused, session: session2, error }));
  });
}

test('two applications with different client trust sharing one store never resume each other', async () => {
  const store = new MemorySessionStore();
  const x = await app(pki().ca, store); // trusts CA X, which issued the client's certificate
  const y = await app(certs().cert, store); // trusts another CA only
  const stored = next<Buffer>(x.server, 'sessionStored');
  const first = await client(x.port);
  expect(first.ok).toBe(true);
  expect(x.seen).toEqual([{ authorized: true, reused: false, cn: 'localhost' }]);
  const id = await stored;
  expect(await store.get(id)).toBeDefined();
  // the attack: the session X made, offered to Y (Y fetches it from the shared store)
  const refused = next<Error & { code?: string }>(y.server, 'tlsClientError');
  const second = await client(y.port, first.session);
  expect(second.reused).toBe(false);
  // Y ran a full handshake and refused the certificate it does not trust
  expect((await refused).code).toMatch(/UNABLE_TO_GET_ISSUER_CERT|CERT|SELF_SIGNED/);
  expect(y.seen).toEqual([]);
  // the session carries X's context, which is not Y's: OpenSSL never resumes it on Y
  const s = SslSession.fromDER((await store.get(id))!);
  expect(s.idContext).toEqual(defaultSessionIdContext({ cert: pki().leaf, ca: pki().ca, requestCert: true, rejectUnauthorized: true }));
  expect(s.idContext.equals(defaultSessionIdContext({ cert: pki().leaf, ca: certs().cert, requestCert: true, rejectUnauthorized: true }))).toBe(false);
  s.free();
});

test('every server of one application (the same options, made separately) computes the same context and resumes the others\' sessions', async () => {
  const store = new MemorySessionStore();
  const a = await app(pki().ca, store);
  const b = await app(pki().ca, store);
  const stored = next<Buffer>(a.server, 'sessionStored');
  const first = await client(a.port);
  expect(first.ok).toBe(true);
  const id = await stored;
  const second = await client(b.port, first.session);
  expect(second).toMatchObject({ ok: true, reused: true });
  expect(b.seen).toEqual([{ authorized: true, reused: true, cn: 'localhost' }]);
  const s = SslSession.fromDER((await store.get(id))!);
  expect(s.idContext).toEqual(defaultSessionIdContext({ cert: pki().leaf, ca: [pki().ca][0], requestCert: true }));
  s.free();
});

test('the default depends on each part of the policy and on the certificate; an explicit sessionIdContext wins', async () => {
  const p = pki();
  const base = { cert: p.leaf, ca: p.ca, requestCert: true, rejectUnauthorized: true };
  const d = defaultSessionIdContext(base);
  expect(d).toHaveLength(32);
  expect(defaultSessionIdContext({ ...base })).toEqual(d);
  for (const changed of [
    { ...base, ca: certs().cert },
    { ...base, ca: [p.ca, certs().cert] },
    { ...base, requestCert: false },
    { ...base, rejectUnauthorized: false },
    { ...base, crl: '-----BEGIN X509 CRL-----' },
    { ...base, cert: certs().cert },
  ]) {
    expect(defaultSessionIdContext(changed).equals(d)).toBe(false);
  }
  // rejectUnauthorized decides nothing without requestCert
  expect(defaultSessionIdContext({ cert: p.leaf, rejectUnauthorized: false })).toEqual(defaultSessionIdContext({ cert: p.leaf }));
  // explicit: two applications that choose to share sessions
  const store = new MemorySessionStore();
  const x = await app(p.ca, store, { sessionIdContext: 'shared-app' });
  const y = await app(certs().cert, store, { sessionIdContext: 'shared-app', requestCert: false });
  const stored = next<Buffer>(x.server, 'sessionStored');
  const first = await client(x.port);
  const id = await stored;
  const s = SslSession.fromDER((await store.get(id))!);
  expect(s.idContext.toString()).toBe('shared-app');
  s.free();
  // the applications chose to share: Y (another policy) resumes X's session
  expect(await client(y.port, first.session)).toMatchObject({ ok: true, reused: true });
});
