// Session-ticket keys: node:tls's ticketKeys / getTicketKeys() / setTicketKeys() on our
// server, run side by side with node:tls (OpenSSL 3) — two servers sharing keys, a key
// replaced — and the rotation node:tls lacks: previous keys that still decrypt, with the
// ticket re-issued under the current key, counted by the native ticket key callback.
import { randomBytes } from 'crypto';
import * as net from 'net';
import * as tls from 'tls';
import { createServer, SslContext, TlsServer } from '../lib';
import { certs, close, endNode, listen, nodeClient, track, visit } from './helpers/sockets';

const { cert, key } = certs();

type Kind = 'node:tls' | 'ours';

interface Server {
  server: tls.Server | TlsServer;
  port: number;
  stop(): Promise<void>;
}

async function start(kind: Kind, opts: { ticketKeys?: Buffer; previousTicketKeys?: number } = {}): Promise<Server> {
  const server =
    kind === 'node:tls'
      ? tls.createServer({ cert, key, maxVersion: 'TLSv1.2', ...(opts.ticketKeys ? { ticketKeys: opts.ticketKeys } : {}) })
      : createServer({ cert, key, noTicket: false, ...opts });
  const sockets = track(server as TlsServer);
  // both servers' sockets are Duplexes with these methods (node:tls's and ours)
  (server as net.Server).on('secureConnection', (s: tls.TLSSocket) => {
    s.on('error', () => {});
    s.resume();
    s.on('end', () => s.end());
  });
  const port = await listen(server as net.Server);
  return { server, port, stop: () => close(server as net.Server, sockets) };
}

describe('the API, as node:tls has it', () => {
  test('getTicketKeys() is 48 bytes, setTicketKeys() round-trips, wrong sizes are RangeErrors; node:tls agrees', async () => {
    for (const kind of ['node:tls', 'ours'] as Kind[]) {
      const s = await start(kind);
      try {
        const srv = s.server as tls.Server & TlsServer;
        const k0 = srv.getTicketKeys();
        expect(k0.length).toBe(48);
        const k1 = randomBytes(48);
        srv.setTicketKeys(k1);
        expect(srv.getTicketKeys().equals(k1)).toBe(true);
        expect(() => srv.setTicketKeys(randomBytes(47))).toThrow(kind === 'ours' ? RangeError : /48/);
        expect(srv.getTicketKeys().equals(k1)).toBe(true);
      } finally {
        await s.stop();
      }
    }
    expect(() => createServer({ cert, key, ticketKeys: randomBytes(32) })).toThrow(RangeError);
    expect(() => createServer({ cert, key, ticketKeys: 'x' as unknown as Buffer })).toThrow(TypeError);
  });

  test('ticketKeys as an option is what getTicketKeys() returns, and turns tickets on', async () => {
    const k = randomBytes(48);
    const s = await start('ours', { ticketKeys: k });
    try {
      expect((s.server as TlsServer).getTicketKeys().equals(k)).toBe(true);
      const first = await visit(s.port);
      expect(first.reused).toBe(false);
      const again = await visit(s.port, first.session);
      expect(again.reused).toBe(true);
      // a ticketed session has an empty id and nothing is cached (1.0.2's stateless resumption)
      expect((s.server as TlsServer).context.sessionCount).toBe(0);
      expect((s.server as TlsServer).ticketKeyStats).toEqual({ issued: 1, current: 1, previous: 0, unknownKey: 0, revoked: 0 });
    } finally {
      await s.stop();
    }
  });
});

describe('two servers, node:tls and ours give the same results', () => {
  async function fleet(kind: Kind, shared: boolean): Promise<boolean> {
    const k = randomBytes(48);
    const a = await start(kind, { ticketKeys: k });
    const b = await start(kind, { ticketKeys: shared ? k : randomBytes(48) });
    try {
      const first = await visit(a.port);
      expect(first.reused).toBe(false);
      const onB = await nodeClient(b.port, { session: first.session });
      const reused = onB.socket.isSessionReused();
      await endNode(onB.socket);
      return reused;
    } finally {
      await a.stop();
      await b.stop();
    }
  }

  test('sharing ticketKeys: a ticket from one resumes on the other', async () => {
    const node = await fleet('node:tls', true);
    const ours = await fleet('ours', true);
    expect(node).toBe(true);
    expect(ours).toBe(node);
  });

  test('different keys: the ticket falls back to a full handshake', async () => {
    const node = await fleet('node:tls', false);
    const ours = await fleet('ours', false);
    expect(node).toBe(false);
    expect(ours).toBe(node);
  });

  test('setTicketKeys(new) with no previous keys kept (node:tls behaviour): the old ticket is a full handshake', async () => {
    const results: Record<Kind, boolean[]> = { 'node:tls': [], ours: [] };
    for (const kind of ['node:tls', 'ours'] as Kind[]) {
      const s = await start(kind, { ticketKeys: randomBytes(48) });
      try {
        const first = await visit(s.port);
        results[kind].push((await visit(s.port, first.session)).reused);
        (s.server as tls.Server).setTicketKeys(randomBytes(48));
        results[kind].push((await visit(s.port, first.session)).reused);
      } finally {
        await s.stop();
      }
    }
    expect(results['node:tls']).toEqual([true, false]);
    expect(results.ours).toEqual(results['node:tls']);
  });
});

describe('rotation: previous keys still decrypt, tickets are re-issued under the current key', () => {
  test('one previous key kept, then dropped', async () => {
    const k1 = randomBytes(48);
    const s = await start('ours', { ticketKeys: k1, previousTicketKeys: 1 });
    const server = s.server as TlsServer;
    try {
      const t1 = (await visit(s.port)).session; // a ticket under k1
      const k2 = randomBytes(48);
      server.setTicketKeys(k2);
      expect(server.getTicketKeys().equals(k2)).toBe(true);
      expect(server.context.getPreviousTicketKeys().map((k) => k.toString('hex'))).toEqual([k1.toString('hex')]);
      // t1 still resumes; the server re-issues the ticket under k2
      const r1 = await visit(s.port, t1);
      expect(r1.reused).toBe(true);
      expect(server.ticketKeyStats).toEqual({ issued: 2, current: 0, previous: 1, unknownKey: 0, revoked: 0 });
      const t2 = r1.session;
      expect(t2.equals(t1)).toBe(false);
      expect((await visit(s.port, t2)).reused).toBe(true);
      expect(server.ticketKeyStats).toMatchObject({ current: 1, previous: 1 });
      // k3: k2 becomes the previous key, k1 is dropped
      server.setTicketKeys(randomBytes(48));
      expect(server.context.getPreviousTicketKeys().map((k) => k.toString('hex'))).toEqual([k2.toString('hex')]);
      const again1 = await visit(s.port, t1);
      expect(again1.reused).toBe(false);
      expect(server.ticketKeyStats.unknownKey).toBe(1);
      const again2 = await visit(s.port, t2);
      expect(again2.reused).toBe(true);
      expect(server.ticketKeyStats.previous).toBe(2);
    } finally {
      await s.stop();
    }
  });

  test('SslContext.setTicketKeys(current, previous) validates every key; a freed context refuses', () => {
    const ctx = new SslContext({ role: 'server' });
    expect(() => ctx.setTicketKeys(randomBytes(48), [randomBytes(47)])).toThrow(RangeError);
    expect(() => ctx.setTicketKeys(randomBytes(48), 'x' as unknown as Buffer[])).toThrow(TypeError);
    expect(ctx.ticketKeyStats).toEqual({ issued: 0, current: 0, previous: 0, unknownKey: 0, revoked: 0 });
    const k = randomBytes(48);
    const p = [randomBytes(48), randomBytes(48)];
    ctx.setTicketKeys(k, p);
    expect(ctx.getTicketKeys().equals(k)).toBe(true);
    expect(ctx.getPreviousTicketKeys().map((b) => b.toString('hex'))).toEqual(p.map((b) => b.toString('hex')));
    ctx.free();
    expect(() => ctx.getTicketKeys()).toThrow(expect.objectContaining({ code: 'ERR_SSL_FREED' }));
  });
});
