// TLSSocket over real sockets: our server with our client and Node's, the node:tls-shaped
// API, clean and unclean endings, backpressure, half-close and the options.
import { createHash, X509Certificate } from 'crypto';
import * as net from 'net';
import * as tls from 'tls';
import { connect, createServer, generateSelfSigned, MemorySessionStore, SslContext, SslSession, TlsServer, TLSSocket } from '../lib';
import type { TlsConnectOptions, TlsServerOptions } from '../lib';
import { isError } from './helpers/util';
import { certs, close, closed, endNode, listen, next, nodeClient, readAll, track } from './helpers/sockets';

const { cert, key } = certs();
const other = generateSelfSigned({ commonName: 'localhost' }); // same name, another key: not trusted
const clientId = generateSelfSigned({ commonName: 'client' });

let server: TlsServer | undefined;
let sockets: Set<{ destroy(): unknown }> = new Set();
const clients: { destroy(): unknown }[] = [];

async function start(opts: TlsServerOptions = {}, onSecure?: (s: TLSSocket) => void): Promise<number> {
  server = createServer({ cert, key, ...opts });
  sockets = track(server);
  server.on('tlsClientError', () => {});
  server.on('secureConnection', (s: TLSSocket) => {
    sockets.add(s);
    if (onSecure) onSecure(s);
    else s.pipe(s); // echo
  });
  return listen(server);
}

function ours(port: number, opts: TlsConnectOptions = {}): TLSSocket {
  const c = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', ...opts });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await close(server, sockets);
  server = undefined;
});

const secureServerSocket = (s: TlsServer) => next<TLSSocket>(s, 'secureConnection');

describe('the node:tls surface', () => {
  test("our client and server: 'secureConnect' / 'secureConnection', protocol, cipher, certificate", async () => {
    const port = await start({}, () => {});
    const serverSide = secureServerSocket(server!);
    const c = ours(port);
    await next(c, 'secureConnect');
    const s = await serverSide;
    expect(c.encrypted).toBe(true);
    expect(c.authorized).toBe(true);
    expect(c.authorizationError).toBeNull(); // node:tls: null when verified
    expect(c.getProtocol()).toBe('TLSv1.2');
    expect(s.getProtocol()).toBe('TLSv1.2');
    const cipher = c.getCipher()!;
    expect(cipher.name).toMatch(/^[A-Z0-9-]+$/);
    expect(s.getCipher()!.name).toBe(cipher.name);
    // node:tls's shape: the lowest protocol of the suite and its IANA name
    expect(cipher.version).toBe('TLSv1.2');
    expect(cipher.standardName).toMatch(/^TLS_[A-Z0-9_]+$/);
    expect(c.isSessionReused()).toBe(false);
    expect(s.isSessionReused()).toBe(false);
    expect(s.servername).toBe('localhost');
    expect(c.remotePort).toBe(port);
    expect(s.localPort).toBe(port);
    // the certificate as Node's own X509 parser reads it
    const x = new X509Certificate(cert);
    const pc = c.getPeerCertificate() as any;
    expect(pc.subject).toEqual({ CN: 'localhost' });
    expect(pc.issuer).toEqual({ CN: 'localhost' });
    expect(pc.valid_from).toBe(x.validFrom);
    expect(pc.valid_to).toBe(x.validTo);
    expect(pc.fingerprint).toBe(x.fingerprint);
    expect(pc.fingerprint256).toBe(x.fingerprint256);
    expect(pc.serialNumber).toBe(x.serialNumber);
    expect(Buffer.compare(pc.raw, x.raw)).toBe(0);
    expect(pc.subjectaltname).toBe('DNS:localhost, IP Address:127.0.0.1');
    // no client certificate was asked for
    expect(s.getPeerCertificate()).toEqual({});
    // before the handshake nothing is known
    const early = ours(port);
    expect(early.getProtocol()).toBeNull();
    expect(early.getCipher()).toBeUndefined();
    await next(early, 'secureConnect');
  });

  test('Node tls client: the same facts seen from node:tls', async () => {
    const port = await start({}, (s) => s.resume());
    const serverSide = secureServerSocket(server!);
    const { socket } = await nodeClient(port);
    clients.push(socket);
    const s = await serverSide;
    expect(socket.authorized).toBe(true);
    expect(socket.getProtocol()).toBe('TLSv1.2');
    expect(s.getProtocol()).toBe('TLSv1.2');
    expect(socket.getCipher().name).toBe(s.getCipher()!.name);
    expect(socket.getPeerCertificate().fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
    await endNode(socket);
  });

  test('a server with `ca` and requestCert asks for a client certificate: cert/key on connect()', async () => {
    const port = await start({ ca: clientId.cert, requestCert: true, rejectUnauthorized: false }, (s) => s.resume());
    let serverSide = secureServerSocket(server!);
    const c = ours(port, { cert: clientId.cert, key: clientId.key });
    await next(c, 'secureConnect');
    let s = await serverSide;
    expect((s.getPeerCertificate() as any).subject).toEqual({ CN: 'client' });
    expect(s.authorized).toBe(true);
    expect(s.authorizationError).toBeNull();
    // rejectUnauthorized false: a client without a certificate gets in, but is not authorized
    serverSide = secureServerSocket(server!);
    const anon = ours(port);
    await next(anon, 'secureConnect');
    s = await serverSide;
    expect(s.getPeerCertificate()).toEqual({});
    expect(s.authorized).toBe(false);
    expect(s.authorizationError).toBe('UNABLE_TO_GET_ISSUER_CERT'); // what node:tls says here
    // an untrusted client certificate: not authorized, with Node's code
    serverSide = secureServerSocket(server!);
    const d = ours(port, { cert: other.cert, key: other.key });
    await next(d, 'secureConnect');
    s = await serverSide;
    expect(s.authorized).toBe(false);
    expect(s.authorizationError).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  test("setTimeout emits 'timeout' after inactivity (both sides)", async () => {
    // listened to from the moment the timer is set: on a busy machine the 30 ms may be
    // over before the test gets hold of the server socket (it then waited forever)
    let serverTimedOut!: Promise<unknown>;
    const port = await start({}, (s) => {
      serverTimedOut = next(s, 'timeout');
      s.setTimeout(30);
      s.resume();
    });
    const serverSide = secureServerSocket(server!);
    const c = ours(port);
    await next(c, 'secureConnect');
    const s = await serverSide;
    await serverTimedOut;
    expect(s.destroyed).toBe(false); // like net: a timeout only notifies
    let called = 0;
    c.setTimeout(20, () => (called += 1));
    await next(c, 'timeout');
    expect(called).toBe(1);
    c.setTimeout(0);
    s.setTimeout(0);
  });

  test("destroy(): 'close' on both sides, writes fail afterwards, destroy(err) emits that error", async () => {
    const port = await start({}, (s) => s.resume());
    const serverSide = secureServerSocket(server!);
    const c = ours(port);
    await next(c, 'secureConnect');
    const s = await serverSide;
    const serverClosed = closed(s);
    c.destroy();
    expect(c.destroyed).toBe(true);
    await closed(c);
    await serverClosed;
    expect(c.getProtocol()).toBeNull();
    const writeErr = await new Promise<Error | null | undefined>((r) => {
      c.on('error', () => {});
      c.write('late', (e) => r(e));
    });
    expect(isError(writeErr)).toBe(true);
    const d = ours(port);
    await next(d, 'secureConnect');
    const boom = new Error('boom');
    const got = next(d, 'error').catch((e: any) => e);
    d.destroy(boom);
    expect(await got).toBe(boom);
    await closed(d);
  });
});

describe('endings and the server cache (sessionOnUncleanClose: keep by default, remove = 1.0.2\'s SSL_free rule)', () => {
  async function fullThenEnd(port: number, how: (c: TLSSocket | tls.TLSSocket) => Promise<void>, node: boolean) {
    const serverClosed = next<TLSSocket>(server!, 'secureConnection').then((s) => closed(s));
    if (node) {
      const { socket } = await nodeClient(port);
      clients.push(socket);
      await how(socket);
    } else {
      const c = ours(port);
      await next(c, 'secureConnect');
      await how(c);
    }
    await serverClosed;
  }

  for (const node of [false, true]) {
    const who = node ? 'Node client' : 'our client';
    test(`${who}: end() is a clean shutdown and the session stays cached`, async () => {
      const port = await start();
      const removed: string[] = [];
      server!.context.on('removeSession', (_s: SslSession, reason: string) => removed.push(reason));
      await fullThenEnd(
        port,
        async (c) => {
          c.resume();
          c.end();
          await closed(c as TLSSocket);
        },
        node,
      );
      expect(server!.context.sessionCount).toBe(1);
      expect(removed).toEqual([]);
    });

    async function resetAfterHandshake(port: number): Promise<void> {
      const raw = net.connect({ host: '127.0.0.1', port });
      const serverClosed = next<TLSSocket>(server!, 'secureConnection').then((s) => closed(s));
      const c = node
        ? tls.connect({ socket: raw, ca: cert, servername: 'localhost', maxVersion: 'TLSv1.2' })
        : connect({ socket: raw, ca: cert, servername: 'localhost' });
      clients.push(c);
      c.on('error', () => {});
      await next(c, 'secureConnect');
      raw.resetAndDestroy();
      await serverClosed;
    }

    test(`${who}: a TCP reset right after the handshake keeps the session (default 'keep', like s_server and nginx)`, async () => {
      const port = await start();
      const removed: string[] = [];
      server!.context.on('removeSession', (_s: SslSession, reason: string) => removed.push(reason));
      await resetAfterHandshake(port);
      expect(removed).toEqual([]);
      expect(server!.context.sessionCount).toBe(1);
    });

    test(`${who}: sessionOnUncleanClose 'remove': a TCP reset right after the handshake drops the session (1.0.2's SSL_free rule)`, async () => {
      const port = await start({ sessionOnUncleanClose: 'remove' });
      const removed: string[] = [];
      server!.context.on('removeSession', (_s: SslSession, reason: string) => removed.push(reason));
      await resetAfterHandshake(port);
      expect(removed).toEqual(['handshake']);
      expect(server!.context.sessionCount).toBe(0);
    });
  }

  test('a FIN without close_notify ends the stream like node:tls; our server answers with close_notify and keeps the session', async () => {
    const port = await start();
    const serverSide = secureServerSocket(server!);
    const { socket } = await nodeClient(port);
    const s = await serverSide;
    const ended = next(s, 'end');
    socket.destroy(); // Node's destroy(): no close_notify, just FIN
    await ended;
    await closed(s);
    expect(server!.context.sessionCount).toBe(1);
  });

  test('the server destroying an accepted connection without end() keeps its session (default)', async () => {
    const port = await start({}, (s) => s.destroy());
    const serverClosed = next<TLSSocket>(server!, 'secureConnection').then((s) => closed(s));
    const c = ours(port);
    c.on('error', () => {});
    await next(c, 'secureConnect');
    await serverClosed;
    expect(server!.context.sessionCount).toBe(1);
    // and it resumes
    const again = ours(port, { session: c.getSession() });
    again.on('error', () => {});
    await next(again, 'secureConnect');
    expect(again.isSessionReused()).toBe(true);
  });

  test("a refused client certificate loses its session even with 'keep': only accepted connections keep theirs", async () => {
    const port = await start({ ca: clientId.cert, requestCert: true }, (s) => s.resume());
    const refused = next<Error>(server!, 'tlsClientError');
    const removed = next<SslSession>(server!.context, 'removeSession');
    const d = ours(port, { cert: other.cert, key: other.key });
    d.on('error', () => {});
    expect(((await refused) as Error & { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect((await removed).resumable).toBe(false);
    expect(server!.context.sessionCount).toBe(0);
  });

  test("sessionOnUncleanClose 'remove': the server destroying a finished connection without end() drops that session", async () => {
    const port = await start({ sessionOnUncleanClose: 'remove' }, (s) => s.destroy());
    const removed = next<SslSession>(server!.context, 'removeSession');
    const c = ours(port);
    c.on('error', () => {});
    await next(c, 'secureConnect');
    const s = await removed;
    expect(s.resumable).toBe(false);
    expect(server!.context.sessionCount).toBe(0);
  });
});

describe('backpressure', () => {
  const TOTAL = 48 * 1024 * 1024;
  const CHUNK = 1024 * 1024;

  for (const writerSide of ['client', 'server'] as const) {
    test(`a ${writerSide} writing faster than the peer reads: write() false, the reader stops reading TCP, 'drain' after it reads`, async () => {
      const payload = Buffer.alloc(CHUNK);
      for (let i = 0; i < CHUNK; i++) payload[i] = (i * 31 + (i >> 10)) & 0xff;
      const expected = createHash('sha256');
      for (let i = 0; i < TOTAL / CHUNK; i++) expected.update(payload);

      // a TLSSocket over its net.Socket on both ends: the server on the node path (the native
      // path's NativeTlsSocket has no net.Socket; its back-pressure is test/105's)
      const port = await start({ connectionPath: 'node' }, () => {});
      const serverSide = secureServerSocket(server!);
      const c = ours(port);
      await next(c, 'secureConnect');
      const s = await serverSide;
      const [writer, reader] = writerSide === 'client' ? [c, s] : [s, c];

      let rawPaused = 0;
      let rawResumed = 0; // after it first paused and before the test reads: never
      reader.socket.on('pause', () => (rawPaused += 1));
      reader.socket.on('resume', () => {
        if (rawPaused > 0 && !reading) rawResumed += 1;
      });
      let sawFalse = false;
      let drains = 0;
      let drainsBeforeRead = 0;
      let reading = false;
      writer.on('drain', () => {
        drains += 1;
        if (!reading) drainsBeforeRead += 1;
      });

      // Where the two ends stand still, observed on the state changes themselves (no clock):
      // - the reader's TCP socket no longer reads: every read it makes goes through its
      //   push(), and Node stops reading the socket (readStop) when push() returns false;
      //   only a resume() (the reader reading) starts it again. The wrapper only observes.
      // - the writer's TCP socket holds bytes the kernel did not take: a write the kernel
      //   takes at once completes synchronously (writableLength back to 0), so > 0 after the
      //   writer's last write() means a full kernel buffer, which only the reader can drain.
      // Checked after each read of the reader's socket and each write() of the writer.
      let rawStopped = false;
      let held!: () => void;
      const heldBack = new Promise<void>((r) => (held = r));
      const check = () => {
        if (!reading && rawStopped && reader.socket.isPaused() && writer.socket.writableLength > 0) held();
      };
      const rawPush = reader.socket.push.bind(reader.socket);
      reader.socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
        const more = rawPush(chunk, encoding);
        rawStopped = !more;
        check();
        return more;
      };
      let accepted = 0; // bytes whose write callback ran
      const writing = (async () => {
        for (let sent = 0; sent < TOTAL; sent += CHUNK) {
          const ok = writer.write(payload, () => (accepted += CHUNK));
          check();
          if (!ok) {
            sawFalse = true;
            await next(writer, 'drain');
          }
        }
        writer.end();
      })();

      // held back, or (a broken backpressure) the writer got everything out unread
      await Promise.race([heldBack, writing]);
      // then a round trip the other way (the reader writes, the writer reads): real I/O and
      // event-loop turns in which anything deferred that would restart the reader's socket
      // gets its chance. What the reader took from TCP must not have moved.
      const readAtHold = reader.socket.bytesRead;
      const ping = next<Buffer>(writer, 'data');
      reader.write('ping');
      expect((await ping).toString()).toBe('ping');
      expect(reader.socket.bytesRead).toBe(readAtHold);
      expect(rawResumed).toBe(0);
      expect(sawFalse).toBe(true);
      expect(rawPaused).toBeGreaterThan(0);
      expect(reader.socket.isPaused()).toBe(true);
      // what the reader took from TCP stays bounded (≈ one 1 MiB cycle plus buffers)
      expect(reader.readableLength).toBeLessThanOrEqual(2 * CHUNK);
      expect(reader.socket.bytesRead).toBeLessThan(4 * CHUNK);
      // the writer is held back: callbacks withheld, most of the payload not accepted
      expect(writer.writableLength).toBeGreaterThan(0);
      expect(accepted).toBeLessThan(TOTAL / 2);
      expect(drainsBeforeRead).toBe(drains);

      reading = true;
      const hash = createHash('sha256');
      let received = 0;
      const done = new Promise<void>((resolve, reject) => {
        reader.on('data', (d: Buffer) => {
          hash.update(d);
          received += d.length;
        });
        reader.on('end', resolve);
        reader.on('error', reject);
      });
      await writing;
      await done;
      expect(received).toBe(TOTAL);
      expect(hash.digest('hex')).toBe(expected.digest('hex'));
      expect(drains - drainsBeforeRead).toBeGreaterThan(0);
    });
  }
});

describe('half-close', () => {
  test("default (allowHalfOpen false): a reply written in the server's 'end' listener reaches a client that ended", async () => {
    const port = await start({}, (s) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => {
        s.end(`got ${Buffer.concat(parts).toString()}`);
        setImmediate(() => expect(s.writableEnded).toBe(true));
      });
    });
    const c = ours(port);
    c.end('ping');
    expect((await readAll(c)).toString()).toBe('got ping');
    // Node's client too
    const { socket } = await nodeClient(port);
    socket.end('pong');
    expect((await readAll(socket)).toString()).toBe('got pong');
  });

  test('default: after the peer ended, the writable side ends by itself (node:net semantics)', async () => {
    const port = await start({}, () => {});
    const serverSide = secureServerSocket(server!);
    const c = ours(port);
    await next(c, 'secureConnect');
    const s = await serverSide;
    s.resume();
    c.end();
    await next(s, 'end');
    if (!s.writableFinished) await next(s, 'finish'); // the writable side ending by itself
    expect(s.writableEnded).toBe(true);
    await closed(c);
    expect(server!.context.sessionCount).toBe(1);
  });

  test('allowHalfOpen: true: the server keeps writing after the client ended, then ends', async () => {
    const port = await start({ allowHalfOpen: true }, (s) => {
      s.resume();
      s.on('end', () => {
        expect(s.writable).toBe(true);
        s.write('one,');
        setImmediate(() => setImmediate(() => s.end('two')));
      });
    });
    const c = ours(port);
    c.end('bye');
    expect((await readAll(c)).toString()).toBe('one,two');
    await closed(c);
    expect(server!.context.sessionCount).toBe(1);
  });

  test('a client with allowHalfOpen: true writes after the server ended', async () => {
    const port = await start({}, (s) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => serverGot.resolve(Buffer.concat(parts).toString()));
      s.end('server done');
    });
    let resolveGot!: (v: string) => void;
    const serverGot = { resolve: (v: string) => resolveGot(v), promise: new Promise<string>((r) => (resolveGot = r)) };
    const c = ours(port, { allowHalfOpen: true });
    expect((await readAll(c)).toString()).toBe('server done');
    expect(c.writable).toBe(true);
    c.end('client still here');
    expect(await serverGot.promise).toBe('client still here');
  });
});

describe('options', () => {
  test("sessionOnUncleanClose: 'keep' or 'remove'; another string is a RangeError, another type a TypeError", () => {
    expect(() => createServer({ cert, key, sessionOnUncleanClose: 'drop' as never })).toThrow(RangeError);
    expect(() => createServer({ cert, key, sessionOnUncleanClose: true as never })).toThrow(TypeError);
    expect(() => connect({ port: 1, sessionOnUncleanClose: 'maybe' as never })).toThrow(RangeError);
    expect(() => connect({ port: 1, sessionOnUncleanClose: 0 as never })).toThrow(TypeError);
    const s = createServer({ cert, key, sessionOnUncleanClose: 'remove' });
    s.context.free();
  });

  test('rejectUnauthorized: a wrong ca fails with true; with false it connects, authorized false and authorizationError set', async () => {
    const port = await start();
    const bad = ours(port, { ca: other.cert });
    const err: any = await next(bad, 'secureConnect').catch((e: any) => e);
    expect(isError(err)).toBe(true);
    expect(err.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT'); // node:tls's code for X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    expect(err.message).toMatch(/certificate/);
    const ok = ours(port, { ca: other.cert, rejectUnauthorized: false });
    await next(ok, 'secureConnect');
    expect(ok.authorized).toBe(false);
    expect(ok.authorizationError).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    ok.end('x');
    expect((await readAll(ok)).toString()).toBe('x');
    // no ca at all and rejectUnauthorized false: still works
    const none = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    clients.push(none);
    await next(none, 'secureConnect');
    expect(none.authorized).toBe(false);
  });

  test('servername: sent as SNI; a name the certificate does not carry fails verification', async () => {
    const port = await start({}, (s) => s.resume());
    const serverSide = secureServerSocket(server!);
    const c = ours(port, { servername: 'elsewhere.test', rejectUnauthorized: false });
    await next(c, 'secureConnect');
    expect((await serverSide).servername).toBe('elsewhere.test');
    expect(c.servername).toBe('elsewhere.test');
    expect(c.authorized).toBe(false);
    const strict = ours(port, { servername: 'elsewhere.test' });
    const err: any = await next(strict, 'secureConnect').catch((e: any) => e);
    expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID'); // tls.checkServerIdentity's error
    // an IP literal host without servername: checked against the IP subjectAltName
    const byIp = ours(port, { servername: undefined });
    await next(byIp, 'secureConnect');
    expect(byIp.authorized).toBe(true);
  });

  test('ciphers: the server list decides; disjoint lists fail on both sides', async () => {
    const port = await start({ ciphers: 'AES128-SHA' }, (s) => s.resume());
    const serverSide = secureServerSocket(server!);
    const c = ours(port);
    await next(c, 'secureConnect');
    expect(c.getCipher()!.name).toBe('AES128-SHA');
    expect((await serverSide).getCipher()!.name).toBe('AES128-SHA');
    const { socket } = await nodeClient(port);
    clients.push(socket);
    expect(socket.getCipher().name).toBe('AES128-SHA');
    const serverErr = next(server!, 'tlsClientError');
    const d = ours(port, { ciphers: 'AES256-SHA' });
    const err: any = await next(d, 'secureConnect').catch((e: any) => e);
    expect(isError(err)).toBe(true);
    expect(String(((await serverErr) as Error).message)).toMatch(/no shared cipher/);
  });

  test('minVersion / maxVersion', async () => {
    const port = await start({ minVersion: 'TLSv1.1' }, (s) => s.resume());
    const serverSide = secureServerSocket(server!);
    const c = ours(port, { maxVersion: 'TLSv1.1' });
    await next(c, 'secureConnect');
    expect(c.getProtocol()).toBe('TLSv1.1');
    expect((await serverSide).getProtocol()).toBe('TLSv1.1');
    const serverErr = next(server!, 'tlsClientError');
    const old = ours(port, { maxVersion: 'TLSv1' });
    const err: any = await next(old, 'secureConnect').catch((e: any) => e);
    expect(isError(err)).toBe(true);
    expect(String(((await serverErr) as Error).message)).toMatch(/unsupported protocol/);
    const modern = ours(port, { minVersion: 'TLSv1.2' });
    await next(modern, 'secureConnect');
    expect(modern.getProtocol()).toBe('TLSv1.2');
  });

  test('session: our client resumes with a DER Buffer (getSession) or an SslSession (getSslSession)', async () => {
    const port = await start({}, (s) => s.resume());
    const a = ours(port);
    await next(a, 'secureConnect');
    const der = a.getSession()!;
    const sess = a.getSslSession()!;
    expect(Buffer.isBuffer(der)).toBe(true);
    expect(sess.toDER().equals(der)).toBe(true);
    a.end();
    await closed(a);
    const serverSide = secureServerSocket(server!);
    const b = ours(port, { session: der });
    await next(b, 'secureConnect');
    expect(b.isSessionReused()).toBe(true);
    expect((await serverSide).isSessionReused()).toBe(true);
    b.end();
    await closed(b);
    const c = ours(port, { session: sess });
    await next(c, 'secureConnect');
    expect(c.isSessionReused()).toBe(true);
    expect(c.getSslSession()!.id.equals(sess.id)).toBe(true);
    sess.free();
    expect(server!.context.stats.hits).toBe(2);
  });

  test('context: one SslContext shared by two servers; a session made on one resumes on the other', async () => {
    const ctx = new SslContext({ cert, key, noTicket: true, sessionIdContext: 'shared' });
    const one = createServer({ context: ctx }, (s) => s.resume());
    const two = createServer({ context: ctx }, (s) => s.resume());
    const t1 = track(one);
    const t2 = track(two);
    try {
      expect(one.context).toBe(ctx);
      expect(two.context).toBe(ctx);
      const p1 = await listen(one);
      const p2 = await listen(two);
      const a = ours(p1);
      await next(a, 'secureConnect');
      const der = a.getSession()!;
      a.end();
      await closed(a);
      const b = ours(p2, { session: der });
      await next(b, 'secureConnect');
      expect(b.isSessionReused()).toBe(true);
      b.end();
      await closed(b);
      expect(ctx.stats.hits).toBe(1);
      await close(one, t1);
      expect(ctx.freed).toBe(false); // a server does not free a context it was given
      await close(two, t2);
      expect(ctx.freed).toBe(false);
    } finally {
      await close(one, t1);
      await close(two, t2);
      ctx.free();
    }
  });

  test('sessionTimeout: the lifetime the server gives new sessions', async () => {
    const port = await start({ sessionTimeout: 77 }, (s) => s.resume());
    const serverSide = secureServerSocket(server!);
    const c = ours(port);
    await next(c, 'secureConnect');
    const s = (await serverSide).getSslSession()!;
    expect(s.timeout).toBe(77);
    expect(server!.context.sessionTimeout).toBe(77);
    s.free();
  });

  test('sessionCacheSize: the oldest session is evicted and its offer is a full handshake', async () => {
    const port = await start({ sessionCacheSize: 2 }, (s) => s.resume());
    const ders: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      const c = ours(port);
      await next(c, 'secureConnect');
      ders.push(c.getSession()!);
      c.end();
      await closed(c);
    }
    expect(server!.context.sessionCount).toBe(2);
    expect(server!.context.stats.cacheFull).toBe(1);
    const first = ours(port, { session: ders[0] });
    await next(first, 'secureConnect');
    expect(first.isSessionReused()).toBe(false);
    const last = ours(port, { session: ders[2] });
    await next(last, 'secureConnect');
    expect(last.isSessionReused()).toBe(true);
  });

  test('sessionIdContext: servers sharing a store resume each other only with the same id context', async () => {
    const store = new MemorySessionStore();
    const mk = (sid: string) => createServer({ cert, key, sessionStore: store, sessionIdContext: sid }, (s) => s.resume());
    const a = mk('app-1');
    const b = mk('app-1');
    const c = mk('app-2');
    const tracked = [a, b, c].map(track);
    try {
      const [pa, pb, pc] = [await listen(a), await listen(b), await listen(c)];
      const stored = next(a, 'sessionStored');
      const first = ours(pa);
      await next(first, 'secureConnect');
      const der = first.getSession()!;
      first.end();
      await closed(first);
      await stored;
      const sameCtx = ours(pb, { session: der });
      await next(sameCtx, 'secureConnect');
      expect(sameCtx.isSessionReused()).toBe(true);
      const otherCtx = ours(pc, { session: der });
      await next(otherCtx, 'secureConnect');
      expect(otherCtx.isSessionReused()).toBe(false);
      expect(c.context.stats.cbHits + c.context.stats.hits).toBe(0);
    } finally {
      for (const [i, srv] of [a, b, c].entries()) await close(srv, tracked[i]);
    }
  });
});
