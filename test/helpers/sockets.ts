// Helpers for the socket tests (test/4*): listening on 127.0.0.1:0, waiting for events,
// capturing what a client sends. Nothing here stands in for OpenSSL.
import { EventEmitter, once } from 'events';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { generateSelfSigned, TlsServer } from '../../lib';

let cached: { cert: string; key: string } | undefined;
/** one self-signed certificate (CN localhost, SAN localhost + 127.0.0.1) per test file */
export function certs(): { cert: string; key: string } {
  if (!cached) cached = generateSelfSigned({ commonName: 'localhost' });
  return cached;
}

/** certs() written to cert.pem and key.pem in a fresh temporary directory (for child processes and CLI tools) */
export function certFiles(prefix: string): { dir: string; certFile: string; keyFile: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  fs.writeFileSync(certFile, certs().cert);
  fs.writeFileSync(keyFile, certs().key);
  return { dir, certFile, keyFile, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** listens on 127.0.0.1, port 0; resolves the port */
export async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** closes a server; its open connections are destroyed first */
export async function close(server: net.Server | undefined, sockets: Iterable<{ destroy(): unknown }> = []): Promise<void> {
  if (!server || !server.listening) return;
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** every TLSSocket/net.Socket a server accepts, to destroy in afterEach */
export function track(server: TlsServer | net.Server): Set<net.Socket | { destroy(): unknown }> {
  const set = new Set<net.Socket | { destroy(): unknown }>();
  server.on('connection', (s: net.Socket) => {
    set.add(s);
    s.on('close', () => set.delete(s));
  });
  return set;
}

/** resolves with the first event of `name`; rejects on 'error' first (unless name is 'error') */
export function next<T = unknown>(e: EventEmitter, name: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const ok = (...args: unknown[]) => {
      e.off('error', bad);
      resolve(args[0] as T);
    };
    const bad = (err: Error) => {
      e.off(name, ok);
      reject(err);
    };
    e.once(name, ok);
    if (name !== 'error') e.once('error', bad);
  });
}

/** resolves once the stream emitted 'close' (immediately if it already did) */
export function closed(s: { closed?: boolean; destroyed?: boolean } & EventEmitter): Promise<void> {
  if (s.closed) return Promise.resolve();
  // not events.once: that rejects on 'error', and a socket may well error before closing
  return new Promise<void>((resolve) => s.once('close', () => resolve()));
}

/** reads a stream to its 'end' (without destroying it, unlike an async iterator) */
export function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer | string) => parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

/** a Node (OpenSSL 3) TLS 1.2 client; resolves once secure, with the session it received */
export async function nodeClient(
  port: number,
  opts: tls.ConnectionOptions = {},
): Promise<{ socket: tls.TLSSocket; session: () => Promise<Buffer> }> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca: certs().cert,
    maxVersion: 'TLSv1.2',
    ...opts,
  });
  let session: Buffer | undefined;
  const waiters: ((b: Buffer) => void)[] = [];
  socket.on('session', (s: Buffer) => {
    session = s;
    for (const w of waiters.splice(0)) w(s);
  });
  await next(socket, 'secureConnect');
  return {
    socket,
    session: () => (session ? Promise.resolve(session) : new Promise<Buffer>((r) => waiters.push(r))),
  };
}

/** ends a Node TLS client cleanly (close_notify) and waits until it closed */
export async function endNode(socket: tls.TLSSocket): Promise<void> {
  socket.resume();
  socket.end();
  await closed(socket);
}

/** one Node TLS 1.2 client connection: whether it resumed, and its session afterwards
 * (with the ticket the server sent last: OpenSSL 3 emits no 'session' for a ticket renewed
 * on a resumed TLS 1.2 connection, but getSession() carries it) */
export async function visit(port: number, session?: Buffer): Promise<{ reused: boolean; session: Buffer }> {
  const c = await nodeClient(port, session ? { session } : {});
  const reused = c.socket.isSessionReused();
  const got = c.socket.getSession()!;
  await endNode(c.socket);
  return { reused, session: got };
}

/**
 * Captures the first TLS record(s) a client sends to 127.0.0.1 (a ClientHello), then
 * destroys that connection. `start(port)` makes the client connect.
 */
export async function captureClientHello(start: (port: number) => { on(ev: string, f: (...a: any[]) => void): unknown; destroy(): unknown }): Promise<Buffer> {
  const server = net.createServer();
  const port = await listen(server);
  let client: { on(ev: string, f: (...a: any[]) => void): unknown; destroy(): unknown } | undefined;
  try {
    const got = new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (s: net.Socket) => {
        let buf = Buffer.alloc(0);
        s.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
            s.destroy();
            resolve(buf.subarray(0, 5 + buf.readUInt16BE(3)));
          }
        });
        s.on('error', reject);
      });
    });
    client = start(port);
    client.on('error', () => {}); // the capture server hangs up on it
    return await got;
  } finally {
    client?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** TLS record header */
export function record(type: number, body: Buffer, version = 0x0301): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt16BE(version, 1);
  h.writeUInt16BE(body.length, 3);
  return Buffer.concat([h, body]);
}

/** the handshake bytes carried by a byte string of records (all of them type 22) */
export function handshakeBytes(records: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < records.length; ) {
    const len = records.readUInt16BE(off + 3);
    parts.push(records.subarray(off + 5, off + 5 + len));
    off += 5 + len;
  }
  return Buffer.concat(parts);
}

/** re-frames the handshake bytes of `hello` into records cut at the given offsets */
export function reframe(hello: Buffer, cuts: number[]): Buffer {
  const hs = handshakeBytes(hello);
  const version = hello.readUInt16BE(1);
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, hs.length]) {
    out.push(record(22, hs.subarray(at, c), version));
    at = c;
  }
  return Buffer.concat(out);
}

const NO_TICKET_OPTION = require('constants').SSL_OP_NO_TICKET as number;

/**
 * A full handshake of Node's tls client (tickets off) against a server with a session
 * store; resolves with the session (DER, as OpenSSL 3 wrote it) and its id once the
 * server reported it stored.
 */
export async function storedFullHandshake(server: EventEmitter, port: number): Promise<{ session: Buffer; id: Buffer }> {
  const stored = next<Buffer>(server, 'sessionStored');
  const c = await nodeClient(port, { secureOptions: NO_TICKET_OPTION });
  if (c.socket.isSessionReused()) throw new Error('the first handshake resumed');
  const session = await c.session();
  await endNode(c.socket);
  return { session, id: await stored };
}

/** whether Node's tls client (tickets off) resumes `session` on the server at `port` */
export async function resumesWith(port: number, session: Buffer): Promise<boolean> {
  const c = await nodeClient(port, { session, secureOptions: NO_TICKET_OPTION });
  const r = c.socket.isSessionReused();
  await endNode(c.socket);
  return r;
}

/** until a TCP connection to 127.0.0.1:port succeeds: 1.0.2h's s_server prints ACCEPT
 * before it binds its port (each attempt waits for its own 'connect' or 'error') */
export async function accepting(port: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = net.connect(port, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (ok) return;
  }
}
