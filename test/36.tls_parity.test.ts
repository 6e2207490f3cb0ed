// node:tls parity (issue 12): each behaviour checked against node:tls itself as the peer or
// as the reference (the same server seen by Node's client and by ours), plus the event
// delivery rules: a throwing listener loses neither the other listeners nor the server's
// own store bookkeeping, and errors reach 'tlsClientError' with the thrown value kept.
import * as net from 'net';
import * as tls from 'tls';
import { connect, createServer, generateSelfSigned, MemorySessionStore, SslContext, SslSession, TlsServer, TLSSocket } from '../lib';
import type { TlsConnectOptions, TlsServerOptions } from '../lib';
import { certs, closed, listen, next, track } from './helpers/sockets';
import { pki } from './helpers/pki';
import { isError } from './helpers/util';

const { cert, key } = certs();
const other = generateSelfSigned({ commonName: 'localhost' });
const clientId = generateSelfSigned({ commonName: 'client' });

const servers: net.Server[] = [];
const sockets: { destroy(): unknown }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) if (s.listening) await new Promise<void>((r) => s.close(() => r()));
});

async function ourServer(opts: TlsServerOptions, onSecure: (s: TLSSocket) => void = (s) => s.resume()): Promise<[TlsServer, number]> {
  // a shared context brings its own certificate: the options then name no other
  const server = createServer(opts.context ? opts : { cert, key, ...opts }, (s) => {
    sockets.push(s);
    onSecure(s);
  });
  servers.push(server);
  const tracked = track(server);
  server.on('close', () => tracked.clear());
  server.on('connection', (s: net.Socket) => sockets.push(s));
  return [server, await listen(server)];
}

async function nodeServer(opts: tls.TlsOptions): Promise<number> {
  const server = tls.createServer({ maxVersion: 'TLSv1.2', ...opts }, (s) => {
    sockets.push(s);
    s.resume();
    s.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  servers.push(server);
  return listen(server);
}

function ours(port: number, opts: TlsConnectOptions = {}): TLSSocket {
  const c = connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts });
  sockets.push(c);
  return c;
}

function nodeConnect(port: number, opts: tls.ConnectionOptions = {}): tls.TLSSocket {
  const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', maxVersion: 'TLSv1.2', ...opts });
  sockets.push(c);
  return c;
}

/** the outcome of a connection: 'ok' or the error's code */
async function outcome(s: tls.TLSSocket | TLSSocket): Promise<string> {
  return new Promise<string>((resolve) => {
    s.once('secureConnect', () => resolve('ok'));
    s.once('error', (e: any) => resolve(e.code ?? e.message));
  });
}

describe('event delivery cannot lose the library its work', () => {
  test('a throwing listener does not stop the next listener of the same event; the error is rethrown after', () => {
    const ctx = new SslContext();
    const seen: string[] = [];
    ctx.on('removeSession', () => {
      seen.push('first');
      throw new Error('listener one');
    });
    ctx.on('removeSession', () => seen.push('second'));
    const s = SslSession.create({ id: Buffer.alloc(8, 1) });
    ctx.addSession(s);
    expect(() => ctx.removeSession(s)).toThrow('listener one');
    expect(seen).toEqual(['first', 'second']);
    expect(ctx.sessionCount).toBe(0);
    s.free();
    ctx.free();
  });

  test("a throwing user 'removeSession' listener does not keep a revoked session in the server's store", async () => {
    const store = new MemorySessionStore();
    const [server, port] = await ourServer({ sessionStore: store });
    server.context.on('removeSession', () => {
      throw 'user bug';
    });
    const stored = next<Buffer>(server, 'sessionStored');
    const c = ours(port, { ca: cert });
    await next(c, 'secureConnect');
    const id = await stored;
    expect(await store.get(id)).toBeDefined();
    const der = c.getSession()!;
    c.end();
    await closed(c);
    // the session in the server's cache (as a prefetch from the store would put it), then revoked
    const s = SslSession.fromDER(der);
    expect(s.id).toEqual(id);
    server.context.addSession(s);
    expect(() => server.context.removeSession(s)).toThrow();
    s.free();
    // the store's delete went out although the user's listener threw first
    await new Promise<void>((resolve) => {
      const check = async () => ((await store.get(id)) === undefined ? resolve() : setImmediate(check));
      void check();
    });
    expect(await store.get(id)).toBeUndefined();
  });

  test.each([['a string', 'str'], ['a number', 42], ['null', null]])(
    'a getSessionCallback that throws %s during a socket handshake reaches tlsClientError with the value kept',
    async (_name, thrown) => {
      const ctx = new SslContext({ role: 'server', cert, key, noTicket: true, sessionIdContext: 'x' });
      const [server, port] = await ourServer({ context: ctx });
      const first = ours(port, { ca: cert });
      await next(first, 'secureConnect');
      const der = first.getSession()!;
      first.end();
      await closed(first);
      ctx.flushSessions(0); // the internal lookup misses: OpenSSL asks the callback
      ctx.getSessionCallback = () => {
        throw thrown;
      };
      const failed = next<Error>(server, 'tlsClientError');
      const c = ours(port, { ca: cert, session: der });
      c.on('error', () => {});
      const err: any = await failed;
      expect(isError(err)).toBe(true);
      expect(err.cause).toBe(thrown);
      ctx.getSessionCallback = undefined;
      await new Promise<void>((r) => server.close(() => r()));
      ctx.free();
    },
  );

  test("a throwing 'newSession' listener during a socket handshake fails that connection as 'tlsClientError' (not silently)", async () => {
    const [server, port] = await ourServer({});
    server.context.on('newSession', () => {
      throw new Error('listener bug');
    });
    let secure = 0;
    server.on('secureConnection', () => secure++);
    const failed = next<Error>(server, 'tlsClientError');
    const c = ours(port, { ca: cert });
    c.on('error', () => {});
    expect((await failed).message).toBe('listener bug');
    expect(secure).toBe(0);
  });
});

describe('requestCert / rejectUnauthorized against a node:tls client', () => {
  test('the server asks only with requestCert; rejectUnauthorized (default) refuses a missing or untrusted certificate', async () => {
    const [server, port] = await ourServer({ ca: clientId.cert, requestCert: true });
    // a trusted client certificate
    const secure = next<TLSSocket>(server, 'secureConnection');
    expect(await outcome(nodeConnect(port, { ca: cert, cert: clientId.cert, key: clientId.key }))).toBe('ok');
    const s = await secure;
    expect(s.authorized).toBe(true);
    expect((s.getPeerCertificate() as any).subject).toEqual({ CN: 'client' });
    // no certificate: the handshake fails (SSL_VERIFY_FAIL_IF_NO_PEER_CERT)
    let refused = next<Error>(server, 'tlsClientError');
    expect(await outcome(nodeConnect(port, { ca: cert }))).not.toBe('ok');
    await refused;
    // an untrusted certificate: refused with Node's code
    refused = next<Error>(server, 'tlsClientError');
    const n = nodeConnect(port, { ca: cert, cert: other.cert, key: other.key });
    n.on('error', () => {});
    expect(((await refused) as any).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  test("without requestCert a client's certificate is not asked for: authorized false, no error (as node:tls)", async () => {
    const [server, port] = await ourServer({ ca: clientId.cert });
    const secure = next<TLSSocket>(server, 'secureConnection');
    expect(await outcome(nodeConnect(port, { ca: cert, cert: clientId.cert, key: clientId.key }))).toBe('ok');
    const s = await secure;
    expect(s.getPeerCertificate()).toEqual({});
    expect(s.authorized).toBe(false);
    expect(s.authorizationError).toBeNull();
  });
});

describe('our client against node:tls servers, next to a node:tls client', () => {
  test('ca as a string, a Buffer and an array (trusted anchor anywhere in it)', async () => {
    const port = await nodeServer({ cert, key });
    for (const ca of [cert, Buffer.from(cert), [clientId.cert, cert], [Buffer.from(clientId.cert), Buffer.from(cert)]]) {
      const c = ours(port, { ca: ca as any });
      expect(await outcome(c)).toBe('ok');
      expect(c.authorized).toBe(true);
    }
    expect(await outcome(ours(port, { ca: [other.cert] }))).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  test("certificate errors carry node:tls's codes: the same server refused for the same reason by both clients", async () => {
    const p = pki();
    const cases: [tls.TlsOptions, TlsConnectOptions][] = [
      [{ cert, key }, { ca: other.cert }], // DEPTH_ZERO_SELF_SIGNED_CERT
      [{ cert: p.expired, key: p.leafKey }, { ca: p.ca }], // CERT_HAS_EXPIRED
      [{ cert: p.leaf, key: p.leafKey }, { ca: cert }], // UNABLE_TO_VERIFY_LEAF_SIGNATURE
      [{ cert: p.leaf + p.ca, key: p.leafKey }, { ca: cert }], // SELF_SIGNED_CERT_IN_CHAIN
      [{ cert: p.leaf, key: p.leafKey }, { ca: p.ca, servername: 'elsewhere.test' }], // ERR_TLS_CERT_ALTNAME_INVALID
    ];
    const codes: string[] = [];
    for (const [serverOpts, clientOpts] of cases) {
      const port = await nodeServer(serverOpts);
      const theirs = await outcome(nodeConnect(port, clientOpts as tls.ConnectionOptions));
      const mine = await outcome(ours(port, clientOpts));
      expect(mine).toBe(theirs);
      codes.push(mine);
    }
    expect(codes).toEqual([
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'CERT_HAS_EXPIRED',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ]);
  });

  test('getCipher() and getProtocol() equal what node:tls reports for the same suite', async () => {
    for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'AES128-SHA', 'ECDHE-RSA-AES128-SHA', 'AES256-SHA256']) {
      const port = await nodeServer({ cert, key, ciphers: suite });
      const n = nodeConnect(port, { ca: cert, ciphers: suite });
      const c = ours(port, { ca: cert, ciphers: suite });
      expect(await outcome(n)).toBe('ok');
      expect(await outcome(c)).toBe('ok');
      expect(c.getCipher()).toEqual(n.getCipher());
      expect(c.getProtocol()).toBe(n.getProtocol());
    }
  });

  test('getPeerCertificate(true): the issuerCertificate chain node:tls shows for the same server', async () => {
    const p = pki();
    const port = await nodeServer({ cert: p.leaf + p.ca, key: p.leafKey });
    const n = nodeConnect(port, { ca: p.ca });
    const c = ours(port, { ca: p.ca });
    expect(await outcome(n)).toBe('ok');
    expect(await outcome(c)).toBe('ok');
    const walk = (x: any) => {
      const out: string[] = [];
      for (let i = 0; x && i < 4; i++, x = x.issuerCertificate) out.push(`${x.subject.CN}:${x.fingerprint256}`);
      return out;
    };
    const mine = walk(c.getPeerCertificate(true));
    expect(mine).toEqual(walk(n.getPeerCertificate(true)));
    expect(mine[0]).toMatch(/^localhost:/);
    expect(mine[1]).toMatch(/^Test CA:/);
    expect((c.getPeerCertificate(false) as any).issuerCertificate).toBeUndefined();
  });
});

describe("Node's overloads, pauseOnConnect, setup errors", () => {
  test('connect(port, host, options, cb) and connect(port-as-string, options)', async () => {
    const [, port] = await ourServer({});
    const a = await new Promise<TLSSocket>((resolve, reject) => {
      const s: TLSSocket = connect(port, '127.0.0.1', { ca: cert, servername: 'localhost' }, () => resolve(s));
      sockets.push(s);
      s.on('error', reject);
    });
    expect(a.authorized).toBe(true);
    const b = connect(String(port), { host: '127.0.0.1', ca: cert, servername: 'localhost' });
    sockets.push(b);
    expect(await outcome(b)).toBe('ok');
  });

  test('createServer(listener) is the listener overload; without a certificate it throws at once', () => {
    expect(() => createServer(() => {})).toThrow(expect.objectContaining({ code: 'ERR_TLS_NO_CERTIFICATE' }));
    expect(() => createServer({})).toThrow(expect.objectContaining({ code: 'ERR_TLS_NO_CERTIFICATE' }));
    expect(() => createServer({ cert, key: other.key })).toThrow(/key values mismatch/);
  });

  test('a failed listen (EADDRINUSE) keeps the server: it listens on another port and serves', async () => {
    const [, port] = await ourServer({});
    const second = createServer({ cert, key });
    second.listen(port, '127.0.0.1');
    const err: any = await next(second, 'error');
    expect(err.code).toBe('EADDRINUSE');
    expect(second.context.freed).toBe(false);
    servers.push(second);
    second.on('connection', (s: net.Socket) => sockets.push(s));
    expect(await outcome(ours(await listen(second), { ca: cert }))).toBe('ok');
  });

  test("pauseOnConnect: the TCP socket arrives paused, and the handshake runs without a resume (node:tls's behaviour, test/74)", async () => {
    const [server, port] = await ourServer({ pauseOnConnect: true });
    const pausedInListener = new Promise<boolean>((resolve) => server.once('connection', (s: net.Socket) => resolve(s.isPaused())));
    const c = ours(port, { ca: cert });
    expect(await pausedInListener).toBe(true);
    expect(await outcome(c)).toBe('ok');
  });
});
