// Interoperability with peers nobody here wrote: Node's own TLS (OpenSSL 3) as client and
// as server, the machine's `openssl s_client`, and two server processes sharing a store.
import { execFileSync, spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tls from 'tls';
import { connect, createServer, MemorySessionStore, TlsServer, TLSSocket } from '../lib';
import { certFiles, certs, close, closed, endNode, listen, next, nodeClient, readAll, track } from './helpers/sockets';
import { IpcChild } from './helpers/children';
import { requireOpensslCli, sClient } from './helpers/openssl_cli';

const { cert, key } = certs();
let files: ReturnType<typeof certFiles>;
let dir: string;
let certFile: string;
let keyFile: string;

let server: TlsServer | undefined;
let sockets: Set<{ destroy(): unknown }> = new Set();

beforeAll(() => {
  files = certFiles('osc-interop-');
  ({ dir, certFile, keyFile } = files);
});

afterAll(() => {
  files?.remove();
});

afterEach(async () => {
  await close(server, sockets);
  server = undefined;
});

/** clientsReset: the clients end connections with a TCP reset, which a socket may report as
 * 'error' ECONNRESET (node:tls's sockets do too): the echo handles that one and no other */
async function startEcho(opts: { sessionStore?: MemorySessionStore } = {}, clientsReset = false): Promise<number> {
  server = createServer({ cert, key, ...opts }, (s: TLSSocket) => {
    if (clientsReset) {
      s.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ECONNRESET') throw e;
      });
    }
    s.pipe(s);
  });
  sockets = track(server);
  return listen(server);
}

describe("Node's tls (OpenSSL 3)", () => {
  test('as client, TLS 1.2: full handshake, then resumption with `session`, reused on both sides', async () => {
    const port = await startEcho();
    let serverSide = next<TLSSocket>(server!, 'secureConnection');
    const first = await nodeClient(port);
    expect(first.socket.getProtocol()).toBe('TLSv1.2');
    expect(first.socket.isSessionReused()).toBe(false);
    expect((await serverSide).isSessionReused()).toBe(false);
    const session = await first.session();
    await endNode(first.socket);
    serverSide = next<TLSSocket>(server!, 'secureConnection');
    const second = await nodeClient(port, { session });
    expect(second.socket.isSessionReused()).toBe(true);
    expect((await serverSide).isSessionReused()).toBe(true);
    await endNode(second.socket);
    expect(server!.context.stats.hits).toBe(1);
  });

  test('as client: 10 MB echoed intact', async () => {
    const port = await startEcho();
    const { socket } = await nodeClient(port);
    const data = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    const echoed = readAll(socket);
    socket.end(data);
    const got = await echoed;
    expect(got.length).toBe(data.length);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    await closed(socket);
  });

  test('as server: our connect() does a full handshake and data flows both ways', async () => {
    const node = tls.createServer({ cert, key }, (s) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => s.end(`node got ${Buffer.concat(parts).toString()}`));
    });
    const t = track(node);
    try {
      const port = await listen(node);
      const c = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' });
      await next(c, 'secureConnect');
      expect(c.authorized).toBe(true);
      expect(c.getProtocol()).toBe('TLSv1.2');
      expect(c.isSessionReused()).toBe(false);
      const reply = readAll(c);
      c.write('hello ');
      c.end('from 1.0.2');
      expect((await reply).toString()).toBe('node got hello from 1.0.2');
      await closed(c);
      // and a big payload from Node's side
      const big = tls.createServer({ cert, key }, (s) => {
        s.resume();
        s.end(Buffer.alloc(3 * 1024 * 1024, 0x5a));
      });
      const tb = track(big);
      try {
        const bp = await listen(big);
        const d = connect({ host: '127.0.0.1', port: bp, ca: cert, servername: 'localhost' });
        const got = await readAll(d);
        expect(got.length).toBe(3 * 1024 * 1024);
        expect(got.every((b) => b === 0x5a)).toBe(true);
        d.end();
        await closed(d);
      } finally {
        await close(big, tb);
      }
    } finally {
      await close(node, t);
    }
  });
});

describe('openssl s_client (the machine OpenSSL 3)', () => {
  test('-sess_out then -sess_in resumes against our server (with a store)', async () => {
    const version = execFileSync('openssl', ['version']).toString();
    expect(version).toMatch(/^OpenSSL 3\./);
    const store = new MemorySessionStore();
    const port = await startEcho({ sessionStore: store });
    const sessFile = path.join(dir, 's_client.sess');
    const base = ['-connect', `127.0.0.1:${port}`, '-tls1_2', '-servername', 'localhost', '-CAfile', certFile];
    const stored = next(server!, 'sessionStored');
    const a = await sClient([...base, '-sess_out', sessFile]);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/^New, TLSv1\.2, Cipher is /m);
    expect(a.out).toMatch(/Verify return code: 0 \(ok\)/);
    await stored;
    expect(store.size).toBe(1);
    expect(fs.readFileSync(sessFile, 'utf8')).toMatch(/BEGIN SSL SESSION PARAMETERS/);
    const b = await sClient([...base, '-sess_in', sessFile]);
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/^Reused, TLSv1\.2, Cipher is /m);
    expect(server!.context.stats.hits).toBe(1);
    // revoked on the server: the same file no longer resumes
    const cached = server!.context.sessions();
    expect(cached).toHaveLength(1);
    server!.context.removeSession(cached[0]);
    cached[0].free();
    const c = await sClient([...base, '-sess_in', sessFile]);
    expect(c.out).toMatch(/^New, TLSv1\.2, Cipher is /m);
  });
});

describe('openssl s_time (the machine OpenSSL 3, C, connections that end with a TCP reset)', () => {
  test('-reuse: every reconnection resumes — the sessions of clients that never send close_notify stay cached', async () => {
    requireOpensslCli();
    const port = await startEcho({}, true);
    const r = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const p = spawn('openssl', ['s_time', '-connect', `127.0.0.1:${port}`, '-reuse', '-tls1_2', '-time', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, out }));
    });
    expect(r.code).toBe(0);
    const counted = /(\d+) connections in [\d.]+s;/.exec(r.out);
    expect(counted).not.toBeNull();
    const stats = server!.context.stats;
    // one full handshake, then resumptions only: s_time ends each connection by closing
    // its socket (a reset here), which 1.0.2's SSL_free rule would punish with a miss
    expect(stats.misses).toBe(0);
    expect(stats.hits).toBe(stats.accept - 1);
    expect(stats.hits).toBeGreaterThanOrEqual(Number(counted![1]));
    expect(server!.context.sessionCount).toBe(1);
  });
});

describe('two server processes sharing one store', () => {
  interface Child {
    ipc: IpcChild;
    port: number;
    secure: { reused: boolean; id: string | null }[];
    stored: string[];
    ops: string[];
  }

  async function spawnChild(store: MemorySessionStore): Promise<Child> {
    const ipc = IpcChild.fork('store server', path.join(__dirname, 'fixtures', 'store_server.js'), [certFile, keyFile]);
    const child: Child = { ipc, port: 0, secure: [], stored: [], ops: [] };
    const proc = ipc.proc;
    ipc.on('secure', (m: any) => child.secure.push({ reused: m.reused, id: m.id }));
    ipc.on('stored', (m: any) => child.stored.push(m.id));
    ipc.on('store', (m: any) => {
      child.ops.push(m.op);
      const id = Buffer.from(m.id, 'hex');
      const op =
        m.op === 'get'
          ? store.get(id)
          : m.op === 'set'
            ? store.set(id, Buffer.from(m.der, 'base64'), m.ttl)
            : store.delete(id);
      op.then(
        (der) => proc.connected && proc.send({ type: 'reply', seq: m.seq, der: der ? der.toString('base64') : undefined }),
        (e: Error) => proc.connected && proc.send({ type: 'reply', seq: m.seq, error: e.message }),
      );
    });
    child.port = (await ipc.next('ready')).port as number;
    return child;
  }

  const stop = (c: Child | undefined): Promise<void> => (c ? c.ipc.stop() : Promise.resolve());

  test('a session made on one process resumes on the other', async () => {
    const store = new MemorySessionStore();
    let a: Child | undefined;
    let b: Child | undefined;
    try {
      [a, b] = await Promise.all([spawnChild(store), spawnChild(store)]);
      expect(a.port).not.toBe(b.port);
      const first = await nodeClient(a.port);
      const session = await first.session();
      await endNode(first.socket);
      // wait until the store holds it (the child reports 'stored' after the parent's reply)
      if (a.stored.length === 0) await a.ipc.next('stored');
      expect(store.size).toBe(1);
      const second = await nodeClient(b.port, { session });
      expect(second.socket.isSessionReused()).toBe(true);
      await endNode(second.socket);
      if (b.secure.length === 0) await b.ipc.next('secure');
      expect(a.secure).toEqual([{ reused: false, id: a.stored[0] }]);
      expect(b.secure).toEqual([{ reused: true, id: a.stored[0] }]);
      expect(a.ops).toEqual(['set']);
      expect(b.ops).toEqual(['get']);
      // and back: a session made on b resumes on a
      const third = await nodeClient(b.port);
      const s3 = await third.session();
      await endNode(third.socket);
      if (b.stored.length === 0) await b.ipc.next('stored');
      const fourth = await nodeClient(a.port, { session: s3 });
      expect(fourth.socket.isSessionReused()).toBe(true);
      await endNode(fourth.socket);
    } finally {
      await Promise.all([stop(a), stop(b)]);
    }
  });
});
