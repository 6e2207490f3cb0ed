// node:tls's external session cache API on our server — 'newSession' (id, data, callback)
// and 'resumeSession' (id, callback) — run side by side with node:tls (OpenSSL 3) itself:
// the same scenario, the same real client, the counts compared.
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { createServer, TlsServer } from '../lib';
import { certs, close, endNode, listen, nodeClient, track } from './helpers/sockets';
import { sClient } from './helpers/openssl_cli';

const { cert, key } = certs();
let dir: string;
let certFile: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-node-api-'));
  certFile = path.join(dir, 'cert.pem');
  fs.writeFileSync(certFile, cert);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

type Kind = 'node:tls' | 'ours';

interface Counts {
  connections: number;
  resumed: number;
  newSession: number;
  resumeSession: number;
}

interface Harness {
  server: net.Server;
  port: number;
  counts: Counts;
  /** resolves once the server saw n secure connections */
  connections(n: number): Promise<void>;
  stop(): Promise<void>;
}

interface HarnessOptions {
  /** tickets on (node:tls's default; ours with noTicket: false) */
  tickets?: boolean;
  /** what resumeSession answers: the stored DER (default), nothing, garbage, or an error */
  answer?: 'stored' | 'null' | 'garbage' | 'error';
  /** register the two listeners (default true) */
  listeners?: boolean;
}

async function harness(kind: Kind, o: HarnessOptions = {}): Promise<Harness> {
  const server: net.Server & EventEmitter =
    kind === 'node:tls'
      ? tls.createServer({ cert, key, maxVersion: 'TLSv1.2', ...(o.tickets === false ? { secureOptions: require('constants').SSL_OP_NO_TICKET } : {}) })
      : createServer({ cert, key, noTicket: o.tickets !== true });
  const counts: Counts = { connections: 0, resumed: 0, newSession: 0, resumeSession: 0 };
  const waiters: { n: number; resolve: () => void }[] = [];
  const sockets = track(server as TlsServer);
  server.on('secureConnection', (s: tls.TLSSocket) => {
    counts.connections += 1;
    if (s.isSessionReused()) counts.resumed += 1;
    s.on('error', () => {});
    s.resume();
    s.on('end', () => s.end());
    for (const w of waiters.filter((x) => counts.connections >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  server.on('tlsClientError', () => {});
  if (o.listeners !== false) {
    const cache = new Map<string, Buffer>();
    server.on('newSession', (id: Buffer, data: Buffer, cb: () => void) => {
      counts.newSession += 1;
      cache.set(id.toString('hex'), data);
      setImmediate(cb); // asynchronously, as a real external cache would
    });
    server.on('resumeSession', (id: Buffer, cb: (err: Error | null, data?: Buffer | null) => void) => {
      counts.resumeSession += 1;
      setImmediate(() => {
        if (o.answer === 'error') cb(new Error('the cache is down'));
        else if (o.answer === 'garbage') cb(null, Buffer.from('definitely not a session'));
        else if (o.answer === 'null') cb(null, null);
        else cb(null, cache.get(id.toString('hex')) ?? null);
      });
    });
  }
  const port = await listen(server);
  return {
    server,
    port,
    counts,
    connections: (n) => (counts.connections >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    stop: () => close(server, sockets),
  };
}

/** `openssl s_client -reconnect` (first connection + 5 reconnections) against one harness */
async function reconnect(kind: Kind, o: HarnessOptions, extra: string[]): Promise<Counts & { clientReused: number; clientNew: number }> {
  const h = await harness(kind, o);
  try {
    const r = await sClient(['-connect', `127.0.0.1:${h.port}`, '-tls1_2', '-reconnect', '-servername', 'localhost', '-CAfile', certFile, ...extra]);
    const clientReused = (r.out.match(/^Reused, /gm) ?? []).length;
    const clientNew = (r.out.match(/^New, /gm) ?? []).length;
    // the server may finish its side of the last handshake after s_client exited
    await h.connections(clientReused + clientNew);
    return { ...h.counts, clientReused, clientNew };
  } finally {
    await h.stop();
  }
}

describe('openssl s_client -reconnect: node:tls and ours give the same counts', () => {
  test('-no_ticket: 6 connections, resumeSession 5 times, newSession once, 5 resumed', async () => {
    const node = await reconnect('node:tls', {}, ['-no_ticket']);
    const ours = await reconnect('ours', {}, ['-no_ticket']);
    expect(node).toEqual({ connections: 6, resumed: 5, newSession: 1, resumeSession: 5, clientReused: 5, clientNew: 1 });
    expect(ours).toEqual(node);
  });

  test('tickets on: neither event is called, 5 resumed by ticket', async () => {
    const node = await reconnect('node:tls', { tickets: true }, []);
    const ours = await reconnect('ours', { tickets: true }, []);
    expect(node).toEqual({ connections: 6, resumed: 5, newSession: 0, resumeSession: 0, clientReused: 5, clientNew: 1 });
    expect(ours).toEqual(node);
  });

  test('invalid data from resumeSession: every connection is a full handshake with its own newSession', async () => {
    const node = await reconnect('node:tls', { answer: 'garbage' }, ['-no_ticket']);
    const ours = await reconnect('ours', { answer: 'garbage' }, ['-no_ticket']);
    expect(node).toEqual({ connections: 6, resumed: 0, newSession: 6, resumeSession: 5, clientReused: 0, clientNew: 6 });
    expect(ours).toEqual(node);
  });

  test('resumeSession finding nothing: asked every time (no negative cache for listeners), full handshakes', async () => {
    const node = await reconnect('node:tls', { answer: 'null' }, ['-no_ticket']);
    const ours = await reconnect('ours', { answer: 'null' }, ['-no_ticket']);
    expect(node).toEqual({ connections: 6, resumed: 0, newSession: 6, resumeSession: 5, clientReused: 0, clientNew: 6 });
    expect(ours).toEqual(node);
  });

  test('no listeners, tickets off: node:tls never resumes (no internal server cache); ours resumes from its own cache', async () => {
    const node = await reconnect('node:tls', { listeners: false, tickets: false }, ['-no_ticket']);
    const ours = await reconnect('ours', { listeners: false }, ['-no_ticket']);
    expect(node).toMatchObject({ connections: 6, resumed: 0 });
    expect(ours).toMatchObject({ connections: 6, resumed: 5 });
  });
});

describe('Node clients offering sessions', () => {
  async function offer(kind: Kind, o: HarnessOptions): Promise<{ counts: Counts; reused: boolean[]; errors: number }> {
    const h = await harness(kind, o);
    let errors = 0;
    h.server.on('tlsClientError', () => (errors += 1));
    const reused: boolean[] = [];
    try {
      const first = await nodeClient(h.port, { ...(o.tickets ? {} : { secureOptions: require('constants').SSL_OP_NO_TICKET }) });
      reused.push(first.socket.isSessionReused());
      const session = await first.session();
      await endNode(first.socket);
      for (let i = 0; i < 3; i++) {
        try {
          const c = await nodeClient(h.port, { session, ...(o.tickets ? {} : { secureOptions: require('constants').SSL_OP_NO_TICKET }) });
          reused.push(c.socket.isSessionReused());
          await endNode(c.socket);
        } catch {
          reused.push(false);
        }
      }
      return { counts: { ...h.counts }, reused, errors };
    } finally {
      await h.stop();
    }
  }

  test('a session offered three times: resumed three times through resumeSession, same as node:tls', async () => {
    const node = await offer('node:tls', {});
    const ours = await offer('ours', {});
    expect(node.reused).toEqual([false, true, true, true]);
    expect(node.counts).toEqual({ connections: 4, resumed: 3, newSession: 1, resumeSession: 3 });
    expect(ours).toEqual(node);
  });

  test('resumeSession passing an error fails that connection (tlsClientError), as node:tls does', async () => {
    const node = await offer('node:tls', { answer: 'error' });
    const ours = await offer('ours', { answer: 'error' });
    expect(node.reused).toEqual([false, false, false, false]);
    expect(node.counts).toEqual({ connections: 1, resumed: 0, newSession: 1, resumeSession: 3 });
    expect(node.errors).toBe(3);
    expect(ours).toEqual(node);
  });
});

describe('timing: the handshake waits for the callbacks', () => {
  // order of: the server's newSession listener, its (deferred) callback, 'secureConnection'
  // and the client's 'secureConnect'
  async function order(kind: Kind): Promise<string[]> {
    const server: net.Server & EventEmitter = kind === 'node:tls' ? tls.createServer({ cert, key, maxVersion: 'TLSv1.2' }) : createServer({ cert, key });
    const sockets = track(server as TlsServer);
    const seen: string[] = [];
    server.on('newSession', (_id: Buffer, _data: Buffer, cb: () => void) => {
      seen.push('newSession');
      // two turns of the event loop later: long enough for an unheld handshake to finish
      setImmediate(() =>
        setImmediate(() => {
          seen.push('callback');
          cb();
        }),
      );
    });
    const secure = new Promise<void>((resolve) =>
      server.once('secureConnection', (s: tls.TLSSocket) => {
        seen.push('secureConnection');
        s.resume();
        resolve();
      }),
    );
    const port = await listen(server);
    try {
      const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert, maxVersion: 'TLSv1.2', secureOptions: require('constants').SSL_OP_NO_TICKET });
      c.on('secureConnect', () => seen.push('secureConnect'));
      await Promise.all([secure, new Promise((r) => c.once('secureConnect', r))]);
      await endNode(c);
      return seen;
    } finally {
      await close(server, sockets);
    }
  }

  test("'secureConnection' and the client's 'secureConnect' come only after the newSession callback", async () => {
    const node = await order('node:tls');
    const ours = await order('ours');
    expect(node.slice(0, 2)).toEqual(['newSession', 'callback']);
    expect(ours.slice(0, 2)).toEqual(['newSession', 'callback']);
    expect(ours.sort()).toEqual(node.sort());
  });

  test('a resumeSession callback that comes late still resumes; the DER handed over is our session', async () => {
    const server = createServer({ cert, key });
    const sockets = track(server);
    const cache = new Map<string, Buffer>();
    let pending: (() => void) | undefined;
    server.on('newSession', (id: Buffer, data: Buffer, cb: () => void) => {
      cache.set(id.toString('hex'), data);
      cb();
    });
    const asked = new Promise<void>((resolve) =>
      server.on('resumeSession', (id: Buffer, cb: (e: Error | null, d?: Buffer) => void) => {
        pending = () => cb(null, cache.get(id.toString('hex')));
        resolve();
      }),
    );
    server.on('secureConnection', (s) => s.resume());
    const port = await listen(server);
    try {
      const first = await nodeClient(port, { secureOptions: require('constants').SSL_OP_NO_TICKET });
      const session = await first.session();
      await endNode(first.socket);
      expect(cache.size).toBe(1);
      const der = [...cache.values()][0];
      // the data is the 1.0.2 session's DER: it parses and names the same id
      const { SslSession } = await import('../lib');
      const parsed = SslSession.fromDER(der);
      expect(parsed.id.toString('hex')).toBe([...cache.keys()][0]);
      parsed.free();
      let secure = false;
      const second = nodeClient(port, { session, secureOptions: require('constants').SSL_OP_NO_TICKET }).then((c) => {
        secure = true;
        return c;
      });
      await asked;
      expect(secure).toBe(false);
      pending!();
      const c = await second;
      expect(c.socket.isSessionReused()).toBe(true);
      await endNode(c.socket);
    } finally {
      await close(server, sockets);
    }
  });
});

describe('a sessionStore and the two events together', () => {
  test('new sessions go to both; a ClientHello tries the local cache, then the store, then resumeSession', async () => {
    const { MemorySessionStore } = await import('../lib');
    const store = new MemorySessionStore();
    const server = createServer({ cert, key, sessionStore: store });
    const sockets = track(server);
    const fromEvent = new Map<string, Buffer>();
    let newSessions = 0;
    let asked = 0;
    server.on('newSession', (id: Buffer, data: Buffer, cb: () => void) => {
      newSessions += 1;
      fromEvent.set(id.toString('hex'), data);
      cb();
    });
    server.on('resumeSession', (id: Buffer, cb: (e: Error | null, d?: Buffer) => void) => {
      asked += 1;
      cb(null, fromEvent.get(id.toString('hex')));
    });
    server.on('secureConnection', (s) => s.resume());
    const port = await listen(server);
    const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;
    const visit = async (session?: Buffer) => {
      const c = await nodeClient(port, { secureOptions: NO_TICKET, ...(session ? { session } : {}) });
      const r = { reused: c.socket.isSessionReused(), session: c.socket.getSession()! };
      await endNode(c.socket);
      return r;
    };
    try {
      const stored = new Promise((r) => server.once('sessionStored', r));
      const first = await visit();
      await stored;
      expect([newSessions, store.size, asked]).toEqual([1, 1, 0]);
      // the store has it: resumed, the listener not asked; now cached locally
      expect((await visit(first.session)).reused).toBe(true);
      expect(server.sessionStoreStats).toMatchObject({ storeGets: 1, hits: 1, resumeSessionCalls: 0 });
      expect((await visit(first.session)).reused).toBe(true);
      expect(server.sessionStoreStats.storeGets).toBe(1);
      // gone from the store and the local cache: resumeSession is the fallback
      store.clear();
      server.context.flushSessions(0);
      expect((await visit(first.session)).reused).toBe(true);
      expect(asked).toBe(1);
      expect(server.sessionStoreStats).toMatchObject({ storeGets: 2, hits: 2, resumeSessionCalls: 1 });
    } finally {
      await close(server, sockets);
    }
  });
});
