// SECURITY.md "The client paths of connect()": resumption does not skip
// the hostname check, an offered session does not lower the protocol below minVersion,
// and connect() that throws leaves no TCP connection behind.
import * as net from 'net';
import { connect, createServer, TlsServer, TLSSocket } from '../lib';
import { certs, closed, listen, next, track } from './helpers/sockets';

const { cert, key } = certs(); // valid for localhost and 127.0.0.1

const servers: net.Server[] = [];
const sockets: { destroy(): unknown }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) if (s.listening) await new Promise<void>((r) => s.close(() => r()));
});

async function server(opts: object = {}): Promise<[TlsServer, number]> {
  const s = createServer({ cert, key, ...opts }, (t) => {
    sockets.push(t);
    t.resume();
  });
  s.on('tlsClientError', () => {});
  const tracked = track(s);
  s.on('connection', (c: net.Socket) => sockets.push(c));
  s.on('close', () => tracked.clear());
  servers.push(s);
  return [s, await listen(s)];
}

function result(s: TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    s.once('secureConnect', () => resolve('ok'));
    s.once('error', (e: any) => resolve(e.code ?? e.message));
  });
}

test('identity: a session made for localhost, resumed with servername evil.example, fails the identity check', async () => {
  const [, port] = await server();
  const good = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' });
  sockets.push(good);
  expect(await result(good)).toBe('ok');
  const der = good.getSession()!;
  good.end();
  await closed(good);
  // a full handshake to the wrong name is refused
  const full = connect({ host: '127.0.0.1', port, ca: cert, servername: 'evil.example' });
  sockets.push(full);
  expect(await result(full)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  // so is a resumption of the good session under the wrong name
  const resumed = connect({ host: '127.0.0.1', port, ca: cert, servername: 'evil.example', session: der, rejectUnauthorized: false });
  sockets.push(resumed);
  expect(await result(resumed)).toBe('ok');
  expect(resumed.isSessionReused()).toBe(true);
  expect(resumed.authorized).toBe(false);
  expect(resumed.authorizationError).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  const strict = connect({ host: '127.0.0.1', port, ca: cert, servername: 'evil.example', session: der });
  sockets.push(strict);
  expect(await result(strict)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  // a custom checkServerIdentity runs on the resumed connection too
  const hosts: string[] = [];
  const custom = connect({
    host: '127.0.0.1', port, ca: cert, servername: 'localhost', session: der,
    checkServerIdentity: (host) => {
      hosts.push(host);
      return undefined;
    },
  });
  sockets.push(custom);
  expect(await result(custom)).toBe('ok');
  expect(custom.isSessionReused()).toBe(true);
  expect(hosts).toEqual(['localhost']);
});

test('protocol range: a TLSv1 session offered with minVersion TLSv1.2 is not used; the handshake is TLSv1.2', async () => {
  const [, port] = await server({ minVersion: 'TLSv1' });
  const old = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', maxVersion: 'TLSv1' });
  sockets.push(old);
  expect(await result(old)).toBe('ok');
  expect(old.getProtocol()).toBe('TLSv1');
  const der = old.getSession()!;
  old.end();
  await closed(old);
  const c = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', minVersion: 'TLSv1.2', session: der });
  sockets.push(c);
  expect(await result(c)).toBe('ok');
  expect(c.getProtocol()).toBe('TLSv1.2');
  expect(c.isSessionReused()).toBe(false);
});

test.each([
  ['a servername over 255 bytes', { servername: 'a'.repeat(256) }],
  ['a freed session', { session: 'freed' }],
])('validation before net.connect: connect() that throws for %s opens no TCP connection', async (_name, extra: any) => {
  const accepted: number[] = [];
  const plain = net.createServer((s) => {
    accepted.push(s.remotePort!);
    sockets.push(s);
    plain.emit('accepted');
  });
  servers.push(plain);
  const port = await listen(plain);
  const opts: any = { host: '127.0.0.1', port, ca: cert, ...extra };
  if (extra.session === 'freed') {
    const [, tlsPort] = await server();
    const c = connect({ host: '127.0.0.1', port: tlsPort, ca: cert, servername: 'localhost' });
    sockets.push(c);
    expect(await result(c)).toBe('ok');
    const s = c.getSslSession()!;
    s.free();
    opts.session = s;
  }
  expect(() => connect(opts)).toThrow();
  // a connection made afterwards is accepted after any the throwing call made: only it arrives
  const probe = net.connect(port, '127.0.0.1');
  sockets.push(probe);
  await next(probe, 'connect');
  await new Promise<void>((resolve) => {
    const check = () => (accepted.includes(probe.localPort!) ? resolve() : plain.once('accepted', check));
    check();
  });
  expect(accepted).toEqual([probe.localPort]);
});
