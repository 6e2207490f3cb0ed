// What may delete or revoke a session fleet-wide, and what revocation stops:
//  - a stranger who knows a session id (it travels in clear in TLS 1.2) makes 1.0.2 drop
//    that session with one raw ClientHello offering the id and a cipher list without the
//    session's cipher (fatal alert, reason 'handshake'): the session is invalidated in that
//    server's cache only, the store keeps it and its owner resumes;
//  - server.revoke(id) stops a ticket session too, on every server sharing the ticket key
//    and the store (the id is the one OpenSSL clients send with their ticket);
//  - a 'resumeSession' answer that arrives after its connection is gone is neither added
//    to the cache nor counted as a hit.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { createServer, MemorySessionStore, SessionStore, TlsServer, TLSSocket } from '../lib';
import { certs, close, listen, next, resumesWith, storedFullHandshake, track } from './helpers/sockets';
import { run102 } from './helpers/openssl102';

const { cert, key } = certs();
const servers: { server: TlsServer; sockets: Set<{ destroy(): unknown }> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await close(s.server, s.sockets);
});

async function serve(options: Parameters<typeof createServer>[0]): Promise<{ server: TlsServer; port: number; sessionIds: Buffer[]; ticketIds: (Buffer | undefined)[] }> {
  const sessionIds: Buffer[] = [];
  const ticketIds: (Buffer | undefined)[] = [];
  const server = createServer(options, (s: TLSSocket) => {
    const sess = s.getSslSession();
    if (sess) sessionIds.push(sess.id);
    ticketIds.push(s.ticketId);
    s.resume();
    s.on('end', () => s.end());
  });
  server.on('tlsClientError', () => undefined);
  servers.push({ server, sockets: track(server) });
  return { server, port: await listen(server), sessionIds, ticketIds };
}

/** a MemorySessionStore that records every delete(id) */
class CountingStore extends MemorySessionStore implements SessionStore {
  readonly deletes: string[] = [];
  override async delete(id: Buffer): Promise<void> {
    this.deletes.push(id.toString('hex'));
    return super.delete(id);
  }
}

/** a TLS 1.2 ClientHello offering `id` with the given cipher suites only, written by hand */
function clientHello(id: Buffer, suites: number[]): Buffer {
  const list = Buffer.alloc(2 + suites.length * 2);
  list.writeUInt16BE(suites.length * 2, 0);
  suites.forEach((c, i) => list.writeUInt16BE(c, 2 + i * 2));
  const body = Buffer.concat([Buffer.from([3, 3]), randomBytes(32), Buffer.from([id.length]), id, list, Buffer.from([1, 0])]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([22, 3, 1, hs.length >> 8, hs.length & 0xff]), hs]);
}

describe('a stranger who knows a session id', () => {
  test('a ClientHello with the id and a cipher list lacking its cipher: dropped locally (fatal alert), not deleted from the store; the owner resumes', async () => {
    const store = new CountingStore();
    const { server, port } = await serve({ cert, key, sessionStore: store });
    const victim = await storedFullHandshake(server, port);
    // node:tls negotiates an ECDHE suite with this server; AES128-SHA (0x002f) is one the
    // server supports that is not the session's (the refusal below says so)
    const otherSuite = 0x002f;
    // the attack: one raw ClientHello, read by the prefetch (the session comes from the store
    // into the cache), then refused by 1.0.2 with REQUIRED_CIPHER_MISSING
    const removed = new Promise<string>((resolve) => server.context.once('removeSession', (_s, reason) => resolve(reason)));
    const failed = next<Error>(server, 'tlsClientError');
    const attacker = net.connect(port, '127.0.0.1');
    attacker.on('error', () => undefined);
    attacker.write(clientHello(victim.id, [otherSuite]));
    expect((await failed).message).toMatch(/required cipher missing/i);
    expect(await removed).toBe('handshake');
    attacker.destroy();
    expect(server.context.sessionCount).toBe(0); // invalidated in this server's cache
    expect(store.deletes).toEqual([]); // … and nowhere else
    expect(await store.get(victim.id)).toBeDefined();
    expect(await resumesWith(port, victim.session)).toBe(true);
    // the application's own decision still reaches the store
    await server.revoke(victim.id);
    expect(store.deletes).toEqual([victim.id.toString('hex')]);
    expect(await resumesWith(port, victim.session)).toBe(false);
  });
});

describe('server.revoke(id) of a ticket session', () => {
  /** a node:tls client with tickets (its default); resolves whether it resumed and the session it holds */
  function ticketClient(port: number, session?: Buffer): Promise<{ reused: boolean; session: Buffer }> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', session });
      let latest = session;
      s.on('session', (b: Buffer) => (latest = b));
      s.on('error', reject);
      s.on('secureConnect', () => {
        const reused = s.isSessionReused();
        s.resume();
        s.end();
        s.on('close', () => resolve({ reused, session: latest! }));
      });
    });
  }

  test('stops the ticket on this server and on another sharing ticketKeys and the store; other tickets still resume', async () => {
    const ticketKeys = randomBytes(48);
    const store = new MemorySessionStore();
    const a = await serve({ cert, key, ticketKeys, sessionStore: store });
    const b = await serve({ cert, key, ticketKeys, sessionStore: store });
    const victim = await ticketClient(a.port);
    expect(victim.reused).toBe(false);
    const bystander = await ticketClient(a.port);
    // the ticket resumes on both servers, and both report the same id for its connection
    expect(await ticketClient(a.port, victim.session)).toMatchObject({ reused: true });
    expect(await ticketClient(b.port, victim.session)).toMatchObject({ reused: true });
    const id = a.sessionIds[2];
    expect(id.length).toBeGreaterThan(0);
    expect(b.sessionIds[0].equals(id)).toBe(true);
    // the full handshake that issued the ticket has no session id (1.0.2), but its socket
    // names the ticket by the id the client offers with it
    expect(a.sessionIds[0]).toHaveLength(0);
    expect(a.ticketIds[0]).toEqual(id);
    expect(a.ticketIds[2]).toBeUndefined(); // a resumption under the current key issues none
    const heard = next<Buffer>(b.server, 'sessionRevoked');
    await a.server.revoke(id);
    expect((await heard).equals(id)).toBe(true);
    expect((await ticketClient(a.port, victim.session)).reused).toBe(false);
    expect((await ticketClient(b.port, victim.session)).reused).toBe(false);
    expect(a.server.ticketKeyStats.revoked).toBe(1);
    expect(b.server.ticketKeyStats.revoked).toBe(1);
    // another client's ticket is not affected
    expect((await ticketClient(b.port, bystander.session)).reused).toBe(true);
  });
  test('a ticket renewed under a rotated key: revoking the old id (on another server) stops the renewed ticket everywhere', async () => {
    const store = new MemorySessionStore();
    const first = randomBytes(48);
    const a = await serve({ cert, key, ticketKeys: first, previousTicketKeys: 1, sessionStore: store });
    const b = await serve({ cert, key, ticketKeys: first, previousTicketKeys: 1, sessionStore: store });
    const victim = await ticketClient(a.port);
    const next48 = randomBytes(48);
    a.server.setTicketKeys(next48);
    b.server.setTicketKeys(next48);
    // resumed under the previous key on A: A renews the ticket in this connection
    const renewed = await ticketClient(a.port, victim.session);
    expect(renewed.reused).toBe(true);
    expect(a.server.ticketKeyStats.previous).toBe(1);
    const oldId = a.sessionIds[1];
    expect(a.ticketIds[1]).toBeDefined();
    expect(a.ticketIds[1]!.equals(oldId)).toBe(false);
    // the client now holds the renewed ticket; it resumes on B
    expect((await ticketClient(b.port, renewed.session)).reused).toBe(true);
    // revoked on B by the id the renewing connection reported; A knows the renewal and
    // revokes the new ticket's id through the store as well
    const heardByB = new Promise<void>((resolve) => b.server.on('sessionRevoked', (id: Buffer) => id.equals(a.ticketIds[1]!) && resolve()));
    await b.server.revoke(oldId);
    await heardByB;
    expect((await ticketClient(a.port, renewed.session)).reused).toBe(false);
    expect((await ticketClient(b.port, renewed.session)).reused).toBe(false);
  });

  test('1.0.2h s_client (-sess_out / -sess_in with a ticket): revoked by the id its resumption reported (the issuing socket\'s ticketId)', async () => {
    const { server, port, sessionIds, ticketIds } = await serve({ cert, key, ticketKeys: randomBytes(48) });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-ticket-revoke-'));
    const sess = path.join(dir, 'sess.pem');
    const base = ['s_client', '-connect', `127.0.0.1:${port}`];
    const first = (await run102([...base, '-sess_out', sess])).out;
    expect(first).toMatch(/^New, /m);
    expect((await run102([...base, '-sess_in', sess])).out).toMatch(/^Reused, /m);
    const id = sessionIds[1];
    expect(id.length).toBe(32);
    expect(ticketIds[0]).toEqual(id);
    await server.revoke(id);
    expect((await run102([...base, '-sess_in', sess])).out).toMatch(/^New, /m);
    expect(server.ticketKeyStats.revoked).toBe(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("a 'resumeSession' answer after its connection is gone", () => {
  test('is not added to the cache nor counted as a hit', async () => {
    const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;
    // the session to answer with, made by a full handshake on a server of the same application
    const a = await serve({ cert, key });
    const made = new Promise<{ id: Buffer; der: Buffer }>((resolve) =>
      a.server.on('newSession', (id: Buffer, der: Buffer, cb: () => void) => {
        resolve({ id, der });
        cb();
      }),
    );
    const first = tls.connect({ host: '127.0.0.1', port: a.port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', secureOptions: NO_TICKET });
    const clientSession = new Promise<Buffer>((resolve) => first.once('session', resolve));
    first.resume();
    first.on('secureConnect', () => first.end());
    const { id, der } = await made;
    const session = await clientSession;
    // a server whose 'resumeSession' listener answers after the connection is gone
    const { server, port } = await serve({ cert, key });
    let answer!: (err: Error | null, data?: Buffer) => void;
    const asked = new Promise<void>((resolve) =>
      server.on('resumeSession', (_id: Buffer, cb: (err: Error | null, data?: Buffer) => void) => {
        answer = cb;
        resolve();
      }),
    );
    const gone = next<Error & { code?: string }>(server, 'tlsClientError');
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', session, secureOptions: NO_TICKET });
    c.on('error', () => undefined);
    await asked;
    c.destroy(); // the client gives up (as a handshake timeout would end it on the server)
    expect((await gone).code).toBe('ECONNRESET');
    answer(null, der);
    // the lookup settles: every lookup is then a hit or a miss
    while (server.sessionStoreStats.hits + server.sessionStoreStats.misses < server.sessionStoreStats.lookups) await new Promise((r) => setImmediate(r));
    expect(server.sessionStoreStats).toMatchObject({ lookups: 1, hits: 0, misses: 1 });
    expect(server.context.getSession(id)).toBeUndefined();
    expect(server.context.sessionCount).toBe(0);
  });
});

describe('ClusterSessionStore primary: each entry is bounded', () => {
  // the primary's own message handler, fed what a (compromised) worker sends over IPC
  const cluster = require('cluster') as import('cluster').Cluster;
  const { ClusterSessionStore } = require('../lib') as typeof import('../lib');
  const TAG = 'openssl-session-cache:cluster-store';

  test('a DER over maxEntryBytes is not stored; a TTL over maxTtl is cut to maxTtl', async () => {
    let clock = 1_000_000;
    const primary = ClusterSessionStore.primary({ maxEntryBytes: 1024, maxTtl: 60, now: () => clock });
    const replies: { seq: number; der?: string }[] = [];
    const worker = { isConnected: () => true, send: (r: { seq: number; der?: string }) => replies.push(r) };
    const ask = (m: Record<string, unknown>) => cluster.emit('message', worker, { [TAG]: m.op, ...m });
    try {
      ask({ op: 'set', seq: 1, id: 'aa', der: Buffer.alloc(1025, 1).toString('base64'), ttl: 30 });
      ask({ op: 'set', seq: 2, id: 'bb', der: Buffer.alloc(1024, 2).toString('base64'), ttl: 2 ** 31 - 1 });
      expect(replies.map((r) => r.seq)).toEqual([1, 2]);
      expect(primary.size).toBe(1);
      ask({ op: 'get', seq: 3, id: 'aa' });
      ask({ op: 'get', seq: 4, id: 'bb' });
      expect(replies[2].der).toBeUndefined();
      expect(Buffer.from(replies[3].der!, 'base64')).toEqual(Buffer.alloc(1024, 2));
      clock += 60_000; // the worker asked for 2^31-1 s; the primary holds it 60 s
      ask({ op: 'get', seq: 5, id: 'bb' });
      expect(replies[4]).toMatchObject({ seq: 5 });
      expect(replies[4].der).toBeUndefined();
    } finally {
      primary.close();
    }
    expect(() => ClusterSessionStore.primary({ maxEntryBytes: 0 })).toThrow(RangeError);
  });
});
