// Bad peers: garbage, truncated records, stalls, disconnects. Each ends that socket with
// an error ('tlsClientError' on the server); the server and its cache keep working.
import * as net from 'net';
import { connect, createServer, MemorySessionStore, TlsServer, TLSSocket } from '../lib';
import { captureClientHello, certs, close, closed, listen, next, track } from './helpers/sockets';
import { isError } from './helpers/util';

const { cert, key } = certs();

let server: TlsServer;
let sockets: Set<{ destroy(): unknown }>;
let port: number;
let store: MemorySessionStore;
let der: Buffer; // a session made before any bad peer came
let hello: Buffer; // a real ClientHello of our client

beforeAll(async () => {
  store = new MemorySessionStore();
  server = createServer({ cert, key, sessionStore: store, handshakeTimeout: 200 }, (s) => s.pipe(s));
  sockets = track(server);
  port = await listen(server);
  const stored = next(server, 'sessionStored');
  const c = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' });
  await next(c, 'secureConnect');
  der = c.getSession()!;
  c.end();
  await closed(c);
  await stored;
  hello = await captureClientHello((p) => connect({ host: '127.0.0.1', port: p, rejectUnauthorized: false }));
});

afterAll(async () => {
  await close(server, sockets);
});

/** after each bad peer: a full handshake and a resumption still work, the store intact */
async function stillWorks(): Promise<void> {
  expect(server.listening).toBe(true);
  expect(store.size).toBeGreaterThanOrEqual(1);
  const full = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' });
  await next(full, 'secureConnect');
  expect(full.isSessionReused()).toBe(false);
  full.end('echo');
  const got: Buffer[] = [];
  full.on('data', (d: Buffer) => got.push(d));
  await closed(full);
  expect(Buffer.concat(got).toString()).toBe('echo');
  const again = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', session: der });
  await next(again, 'secureConnect');
  expect(again.isSessionReused()).toBe(true);
  again.end();
  await closed(again);
}

/** connects a raw TCP peer, runs `act`, resolves with the server's tlsClientError */
async function badPeer(act: (raw: net.Socket) => void | Promise<void>): Promise<{ err: any; socket: TLSSocket | undefined }> {
  const failed = new Promise<{ err: any; socket: TLSSocket | undefined }>((resolve) =>
    server.once('tlsClientError', (err: any, socket: TLSSocket | undefined) => resolve({ err, socket })),
  );
  const raw = net.connect({ host: '127.0.0.1', port });
  raw.on('error', () => {});
  raw.on('data', () => {});
  await next(raw, 'connect');
  await act(raw);
  const r = await failed;
  raw.destroy();
  if (r.socket) await closed(r.socket);
  return r;
}

test('garbage bytes: an OpenSSL error, the socket is destroyed', async () => {
  const { err, socket } = await badPeer((raw) => {
    raw.write(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
  });
  expect(isError(err)).toBe(true);
  expect(err.message).toMatch(/http request|unknown protocol/i);
  expect(socket!.destroyed).toBe(true);
  await stillWorks();
});

test('random binary garbage after a valid record header', async () => {
  const junk = Buffer.alloc(600);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 167 + 13) & 0xff;
  const { err } = await badPeer((raw) => {
    raw.write(Buffer.concat([Buffer.from([22, 3, 1, 2, 0x50]), junk]));
  });
  expect(isError(err)).toBe(true);
  expect(err.code).toBeDefined();
  await stillWorks();
});

test('a truncated ClientHello record, then FIN: ECONNRESET-style error, not a hang', async () => {
  const { err } = await badPeer((raw) => {
    raw.end(hello.subarray(0, hello.length - 10));
  });
  expect(isError(err)).toBe(true);
  expect(err.code).toBe('ECONNRESET');
  await stillWorks();
});

test('a record truncated after the ClientHello (bad second record): an OpenSSL error', async () => {
  const { err } = await badPeer((raw) => {
    // a full ClientHello, then a record header announcing 300 bytes of which 3 arrive, then FIN
    raw.end(Buffer.concat([hello, Buffer.from([22, 3, 3, 1, 44, 1, 2, 3])]));
  });
  expect(isError(err)).toBe(true);
  await stillWorks();
});

test('a peer that stalls mid-handshake is cut off by handshakeTimeout', async () => {
  const { err, socket } = await badPeer((raw) => {
    raw.write(hello.subarray(0, 20)); // part of the ClientHello, then nothing
  });
  expect(err.code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
  expect(socket!.destroyed).toBe(true);
  await stillWorks();
});

test('a peer that stalls after its ClientHello (never sends its key exchange) is cut off too', async () => {
  let serverBytes = 0;
  const { err } = await badPeer((raw) => {
    raw.on('data', (d: Buffer) => (serverBytes += d.length));
    raw.write(hello);
  });
  expect(err.code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
  expect(serverBytes).toBeGreaterThan(0); // the server did answer with its hello first
  await stillWorks();
});

test('a peer that says nothing at all is cut off by handshakeTimeout', async () => {
  const { err } = await badPeer(() => {});
  expect(err.code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
  await stillWorks();
});

test('a peer that disconnects mid-handshake (reset after the ClientHello)', async () => {
  const { err } = await badPeer(async (raw) => {
    raw.write(hello);
    await next(raw, 'data'); // the server's first flight
    raw.resetAndDestroy();
  });
  expect(isError(err)).toBe(true);
  expect(err.code).toMatch(/ECONNRESET/);
  await stillWorks();
});

test('a resumption offer whose connection drops right after the ClientHello', async () => {
  // capture the hello that offers our stored session, send it, and vanish at once
  const offer = await captureClientHello((p) => connect({ host: '127.0.0.1', port: p, rejectUnauthorized: false, session: der }));
  const { err } = await badPeer((raw) => {
    raw.write(offer);
    raw.resetAndDestroy();
  });
  expect(isError(err)).toBe(true);
  await stillWorks();
});

test('our client against a server that sends garbage: an error on the client, nothing thrown', async () => {
  const liar = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
  });
  const p = await listen(liar);
  try {
    const c = connect({ host: '127.0.0.1', port: p, ca: cert, servername: 'localhost' });
    const err: any = await next(c, 'secureConnect').catch((e: any) => e);
    expect(isError(err)).toBe(true);
    expect(err.message).toMatch(/wrong version number|unknown protocol|record/i);
    await closed(c);
  } finally {
    await close(liar);
  }
});

test('after all of that the cache and the store still hold the session and the counters add up', async () => {
  await stillWorks();
  expect(store.size).toBeGreaterThanOrEqual(1);
  const stats = server.context.stats;
  expect(stats.hits).toBeGreaterThanOrEqual(10);
  expect(stats.acceptGood).toBeLessThan(stats.accept);
});
