// Renegotiation is refused on both sides. A renegotiation runs inside SSL_read after the
// connection was accepted, so a peer could present another certificate (a server: another
// name; a client: another, unverified identity) while `authorized` and
// getPeerCertificate() kept describing the first handshake — and 1.0.2 has no extended
// master secret (the triple-handshake precondition). The native info callback sees a
// handshake start after the first one finished; the pump then fails the connection before
// anything of that handshake goes out (ERR_TLS_RENEGOTIATION_DISABLED).
// The peers are 1.0.2h's own programs: `s_client` renegotiates on "R" on its stdin,
// `s_server` sends a HelloRequest on "r"; and test/fixtures/renegotiating_client.c, built
// here against the same 1.0.2h library, which swaps its client certificate for a
// self-signed one and renegotiates (the attack itself).
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { connect, createServer, generateSelfSigned, TlsServer, TLSSocket } from '../lib';
import { accepting, close, listen, next, track } from './helpers/sockets';
import * as tls from 'tls';
import { compile102, interactive102, InteractivePeer, openssl102 } from './helpers/openssl102';
import { pki } from './helpers/pki';

let dir: string;
const file = (name: string) => path.join(dir, name);
const running = new Set<ChildProcess>();
const servers: net.Server[] = [];

beforeAll(() => {
  const p = pki();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-reneg-'));
  fs.writeFileSync(file('ca.pem'), p.ca);
  fs.writeFileSync(file('leaf.pem'), p.leaf);
  fs.writeFileSync(file('leaf.key'), p.leafKey);
  // CN=admin, self-signed: refused in a first handshake by a server that trusts the CA only
  const admin = generateSelfSigned({ commonName: 'admin' });
  fs.writeFileSync(file('admin.pem'), admin.cert);
  fs.writeFileSync(file('admin.key'), admin.key);
  compile102(path.join(__dirname, 'fixtures', 'renegotiating_client.c'), file('renegotiating_client'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const s of servers.splice(0)) if (s.listening) await new Promise((resolve) => s.close(resolve));
  for (const c of running) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = next(c, 'exit');
      c.kill();
      await gone;
    }
  }
  running.clear();
});

type Peer = InteractivePeer;

function start102(args: string[]): Peer {
  return start102Binary(openssl102(), args);
}

function start102Binary(program: string, args: string[]): Peer {
  const peer = interactive102(args, program);
  running.add(peer.proc);
  return peer;
}

/** s_client with the CA-issued client certificate, stdin kept open (it reads commands there) */
function sClient(port: number): Peer {
  return start102(['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', file('ca.pem'), '-cert', file('leaf.pem'), '-key', file('leaf.key'), '-no_ticket']);
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** the server side of the scenario: the first handshake authorizes the client, its renegotiation fails the connection */
interface ServerSide {
  port: number;
  requestCert: boolean;
  /** the first server-side socket, once the handshake was accepted */
  secure: Promise<{ authorized: boolean; cn: string | undefined; socket: TLSSocket }>;
  stop: () => Promise<void>;
}

async function clientRenegotiates(side: ServerSide): Promise<{ error: Error & { code?: string }; stillOpen: boolean; peerOut: string }> {
  const peer = sClient(side.port);
  const first = await side.secure;
  if (side.requestCert) {
    expect(first.authorized).toBe(true);
    expect(first.cn).toBe('localhost');
  }
  const failed = next<Error & { code?: string }>(first.socket, 'error').catch((e: Error & { code?: string }) => e);
  const closed = new Promise((resolve) => first.socket.once('close', resolve));
  peer.proc.stdin!.write('R\n');
  await peer.saw('RENEGOTIATING');
  await closed;
  const error = await failed;
  await peer.exited;
  return { error, stillOpen: !first.socket.destroyed, peerOut: peer.out() };
}

function ourServer(requestCert = true): ServerSide & { server: TlsServer } {
  const p = pki();
  let resolveSecure!: (v: { authorized: boolean; cn: string | undefined; socket: TLSSocket }) => void;
  const secure = new Promise<{ authorized: boolean; cn: string | undefined; socket: TLSSocket }>((r) => (resolveSecure = r));
  const server = createServer({ cert: p.leaf, key: p.leafKey, ca: p.ca, requestCert, rejectUnauthorized: true }, (s) => {
    s.on('error', () => undefined);
    const cert = s.getPeerCertificate();
    resolveSecure({ authorized: s.authorized, cn: 'subject' in cert ? cert.subject.CN : undefined, socket: s });
    s.resume();
  });
  const sockets = track(server);
  return { server, port: 0, requestCert, secure, stop: () => close(server, sockets) };
}

describe('a client-initiated renegotiation (1.0.2h s_client, "R")', () => {
  test.each([true, false])('requestCert %s: the server fails the connection (ERR_TLS_RENEGOTIATION_DISABLED); s_client\'s renegotiation never completes', async (requestCert) => {
    const side = ourServer(requestCert);
    side.port = await listen(side.server);
    try {
      const r = await clientRenegotiates(side);
      expect(r.stillOpen).toBe(false);
      expect(r.error.code).toBe('ERR_TLS_RENEGOTIATION_DISABLED');
      // the server sent nothing of the second handshake: s_client verified the server once
      expect(r.peerOut.match(/^depth=0 /gm)).toHaveLength(1);
    } finally {
      await side.stop();
    }
  });

  test('the session of the connection stays what the first handshake made; a new connection resumes it', async () => {
    const side = ourServer();
    side.port = await listen(side.server);
    try {
      await clientRenegotiates(side);
      expect(side.server.context.sessionCount).toBe(1);
      const sid = start102(['s_client', '-connect', `127.0.0.1:${side.port}`, '-CAfile', file('ca.pem'), '-cert', file('leaf.pem'), '-key', file('leaf.key'), '-no_ticket', '-reconnect']);
      sid.proc.stdin!.end();
      await sid.exited;
      expect(sid.out()).toMatch(/^Reused, /m);
    } finally {
      await side.stop();
    }
  });
});

describe('a server-initiated renegotiation (1.0.2h s_server, HelloRequest on "r")', () => {
  test('our client fails the connection with ERR_TLS_RENEGOTIATION_DISABLED and sends no ClientHello', async () => {
    const port = await freePort();
    const server = start102(['s_server', '-accept', String(port), '-cert', file('leaf.pem'), '-key', file('leaf.key'), '-no_ticket']);
    await server.saw('ACCEPT');
    await accepting(port);
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki().ca });
    await next(socket, 'secureConnect');
    expect(socket.authorized).toBe(true);
    expect(socket.getPeerCertificate()).toMatchObject({ subject: { CN: 'localhost' } });
    const written = socket.socket.bytesWritten;
    const failed = next<Error & { code?: string }>(socket, 'error').catch((e: Error & { code?: string }) => e);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    server.proc.stdin!.write('r\n');
    const err = await failed;
    expect(err.code).toBe('ERR_TLS_RENEGOTIATION_DISABLED');
    await closed;
    expect(socket.destroyed).toBe(true);
    // nothing of the renegotiation went out: no ClientHello followed the HelloRequest
    expect(socket.socket.bytesWritten).toBe(written);
  });
});

describe('the attack: a client renegotiates with a self-signed certificate in place of its CA-issued one', () => {
  /** what a server-side connection reported: at 'secure', then with each chunk of data */
  interface Seen {
    secure?: { authorized: boolean; cn?: string };
    data: { text: string; authorized: boolean; cn?: string }[];
    error?: string;
  }

  function record(s: TLSSocket | tls.TLSSocket, seen: Seen): void {
    const cn = () => {
      const c = s.getPeerCertificate() as { subject?: { CN?: string } } | null;
      return c?.subject?.CN;
    };
    seen.secure = { authorized: s.authorized, cn: cn() };
    s.on('data', (d: Buffer) => seen.data.push({ text: d.toString(), authorized: s.authorized, cn: cn() }));
    s.on('error', (e: Error & { code?: string }) => (seen.error = e.code ?? e.message));
  }

  test.each([
    ['node:tls', (o: tls.TlsOptions, l: (s: tls.TLSSocket) => void) => tls.createServer({ ...o, maxVersion: 'TLSv1.2' }, l)],
    ['ours', (o: tls.TlsOptions, l: (s: TLSSocket) => void) => createServer(o as Parameters<typeof createServer>[0], l)],
  ] as const)('%s server: the renegotiation fails the connection; the socket never describes the self-signed peer', async (name, make) => {
    const p = pki();
    const seen: Seen = { data: [] };
    const closed = new Promise<void>((resolve) => {
      const server = (make as (o: tls.TlsOptions, l: (s: TLSSocket | tls.TLSSocket) => void) => net.Server)(
        { cert: p.leaf, key: p.leafKey, ca: p.ca, requestCert: true, rejectUnauthorized: true },
        (s) => {
          record(s, seen);
          s.on('close', () => resolve());
        },
      );
      servers.push(server);
    });
    const server = servers[servers.length - 1];
    const port = await listen(server);
    const client = start102Binary(file('renegotiating_client'), [String(port), file('leaf.pem'), file('leaf.key'), file('admin.pem'), file('admin.key')]);
    await client.exited;
    await closed;
    expect(seen.secure).toEqual({ authorized: true, cn: 'localhost' });
    expect(client.out()).toMatch(/^CONNECTED$/m);
    expect(client.out()).toMatch(/^RENEGOTIATION-FAILED$/m);
    expect(client.out()).not.toMatch(/^RENEGOTIATED$/m);
    // only the first handshake's data arrived, from the verified peer
    expect(seen.data.map((d) => d.text).join('')).toBe('before\n');
    expect(seen.data.every((d) => d.authorized && d.cn === 'localhost')).toBe(true);
    if (name === 'ours') expect(seen.error).toBe('ERR_TLS_RENEGOTIATION_DISABLED');
  });
});
