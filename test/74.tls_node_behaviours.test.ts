// Behaviours of node:tls's server that a drop-in must share, each run as one scenario
// against node's tls.createServer (which must pass first) and ours, met by node's client
// (maxVersion TLSv1.2): ALPN by the server's preference and a fatal alert without overlap,
// servername / authorizationError / getEphemeralKeyInfo / the issuer chain, an untrusted
// client refused before 'secureConnection', the peer address on 'tlsClientError', node's
// error codes for non-TLS and TLS 1.3-only clients, and destroy() with a pending write.
import { once } from 'events';
import * as net from 'net';
import * as tls from 'tls';
import { connect } from '../lib';
import type { TLSSocket } from '../lib';
import { revocationPki } from './helpers/pki';
import { listen } from './helpers/sockets';
import { makeServer, observe, Side } from './helpers/tls_parity';

const P = revocationPki();
const base = { cert: P.server, key: P.serverKey };
const client = { ca: P.ca, servername: 'localhost' };
const sides: Side[] = ['node', 'ours'];

test.each(sides)("ALPN (%s): the server's preference order wins", async (side) => {
  const seen = await observe(side, { ...base, ALPNProtocols: ['a', 'b'] }, { ...client, ALPNProtocols: ['c', 'b', 'a'] });
  expect(seen.secureConnection?.alpnProtocol).toBe('a');
  expect(seen.client.alpnProtocol).toBe('a');
}, 30000);

test.each(sides)('ALPN (%s): no protocol in common fails the handshake with a no_application_protocol alert', async (side) => {
  const seen = await observe(side, { ...base, ALPNProtocols: ['a', 'b'] }, { ...client, ALPNProtocols: ['c'] });
  expect(seen.secureConnection).toBeUndefined();
  expect(seen.tlsClientError?.code).toBe('ERR_SSL_NO_APPLICATION_PROTOCOL');
  expect(seen.client.outcome).toBe('ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL');
}, 30000);

test.each(sides)('ALPN (%s): a client that offers none is served without ALPN', async (side) => {
  const seen = await observe(side, { ...base, ALPNProtocols: ['a'] }, client);
  expect(seen.secureConnection?.alpnProtocol).toBe(false);
}, 30000);

test.each(sides)('servername is false without SNI, authorizationError null, getEphemeralKeyInfo() null on the server (%s)', async (side) => {
  const seen = await observe(side, base, { ca: P.ca, checkServerIdentity: () => undefined });
  expect(seen.secureConnection).toMatchObject({ servername: false, authorizationError: null, ephemeralKeyInfo: null, authorized: false });
  const named = await observe(side, base, client);
  expect(named.secureConnection?.servername).toBe('localhost');
}, 30000);

test.each(sides)('an authorized client: authorized true, authorizationError null (%s)', async (side) => {
  const seen = await observe(side, { ...base, ca: P.ca, requestCert: true }, { ...client, cert: P.client, key: P.clientKey });
  expect(seen.secureConnection).toMatchObject({ authorized: true, authorizationError: null });
}, 30000);

test.each(sides)("getPeerCertificate(true) on node's client has the issuerCertificate chain (%s)", async (side) => {
  const seen = await observe(side, { ...base, cert: P.server + P.ca }, client);
  expect(seen.client.chain).toEqual(['localhost', 'Revocation Test CA']);
}, 30000);

test.each(sides)('rejectUnauthorized: an untrusted client never reaches secureConnection, nor its own secureConnect (%s)', async (side) => {
  const seen = await observe(side, { ...base, ca: P.ca, requestCert: true, rejectUnauthorized: true }, { ...client, cert: P.stranger, key: P.strangerKey });
  expect(seen.secureConnection).toBeUndefined();
  expect(seen.tlsClientError).toBeDefined();
  expect(seen.client.outcome).toBe('ECONNRESET');
}, 30000);

test.each(sides)("'tlsClientError' (%s): the socket carries the peer's address and port", async (side) => {
  const seen = await observe(side, { ...base, ca: P.ca, requestCert: true, rejectUnauthorized: true }, client);
  expect(seen.tlsClientError?.code).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
  expect(seen.tlsClientError?.remoteAddress).toBe('127.0.0.1');
  expect(seen.tlsClientError?.remotePort).toBe('number');
}, 30000);

test('our tlsClientError socket keeps the address after a refused (revoked) certificate closed the TCP socket', async () => {
  const seen = await observe('ours', { ...base, ca: P.ca, requestCert: true, rejectUnauthorized: true, crl: P.crl }, { ...client, cert: P.revoked, key: P.revokedKey });
  expect(seen.tlsClientError?.remoteAddress).toBe('127.0.0.1');
}, 30000);

/** what the server reports for bytes sent by a raw TCP client */
async function rawClient(side: Side, bytes: Buffer): Promise<unknown> {
  const server = makeServer(side, base, (s) => s.destroy());
  const error = new Promise<unknown>((resolve) => server.on('tlsClientError', (e: NodeJS.ErrnoException) => resolve(e.code)));
  const port = await listen(server);
  const c = net.connect(port, '127.0.0.1');
  c.on('error', () => {});
  c.end(bytes);
  try {
    return await error;
  } finally {
    c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

test.each(sides)('a plain HTTP request → ERR_SSL_HTTP_REQUEST (%s)', async (side) => {
  expect(await rawClient(side, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe('ERR_SSL_HTTP_REQUEST');
}, 30000);

test.each(sides)('bytes that are not TLS → ERR_SSL_WRONG_VERSION_NUMBER (%s)', async (side) => {
  expect(await rawClient(side, Buffer.from('this is not a TLS record at all\r\n'))).toBe('ERR_SSL_WRONG_VERSION_NUMBER');
}, 30000);

test.each(sides)('a TLS 1.3-only client: protocol_version alert, ERR_SSL_UNSUPPORTED_PROTOCOL on the server (%s)', async (side) => {
  const seen = await observe(side, base, { ...client, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
  expect(seen.tlsClientError?.code).toBe('ERR_SSL_UNSUPPORTED_PROTOCOL');
  expect(seen.client.outcome).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
}, 30000);

test('destroy() calls the callback of a write still waiting for the handshake, as node:tls', async () => {
  const run = async (mk: (port: number) => tls.TLSSocket | TLSSocket): Promise<string> => {
    // a server that never answers: the client's write waits for the handshake
    const silent = net.createServer((s) => s.on('error', () => {}));
    const port = await listen(silent);
    const accepted = once(silent, 'connection');
    const c = mk(port);
    c.on('error', () => {});
    const called = new Promise<string>((resolve) => c.write('pending', () => resolve('called')));
    await accepted;
    const closed = once(c, 'close');
    c.destroy();
    const r = await called;
    await closed;
    await new Promise<void>((res) => silent.close(() => res()));
    return r;
  };
  // (node passes no error, ours ERR_STREAM_DESTROYED: the data was never sent)
  expect(await run((port) => tls.connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', rejectUnauthorized: false }))).toBe('called');
  expect(await run((port) => connect({ host: '127.0.0.1', port, rejectUnauthorized: false }))).toBe('called');
}, 30000);

test.each(sides)("pauseOnConnect (%s): 'connection' sees the TCP socket paused; the handshake runs without a resume", async (side) => {
  const server = makeServer(side, { ...base, pauseOnConnect: true }, (s) => s.end('hello'));
  const paused: boolean[] = [];
  const connections: net.Socket[] = [];
  server.on('connection', (s: net.Socket) => {
    connections.push(s);
    paused.push(s.isPaused());
  });
  const port = await listen(server);
  const c = tls.connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', ...client });
  const [data] = await once(c, 'data');
  expect(String(data)).toBe('hello');
  c.destroy();
  for (const s of connections) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  expect(paused).toEqual([true]);
}, 30000);
