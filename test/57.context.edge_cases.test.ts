// Edge cases of SslContext listeners, get callbacks, handshake() and empty Buffers, each
// once a crash or a wrong result.
import { generateSelfSigned, handshake, SslContext, SslSession } from '../lib';

const pki = generateSelfSigned({ bits: 1024 });
const id = (b: number) => Buffer.alloc(32, b);

test('events caused by a call inside a listener carry that call\'s own reason', () => {
  const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'r' });
  const client = new SslContext({ role: 'client' });
  const s = SslSession.create({ id: id(1) });
  server.addSession(s);
  const reasons: string[] = [];
  server.on('removeSession', (x: SslSession, why: string) => reasons.push(why));
  server.once('newSession', () => server.flushSessions(0));
  handshake(client, server);
  expect(reasons).toEqual(['flush', 'flush']); // the pre-added session and the new one

  const ctx = new SslContext();
  ctx.addSession(SslSession.create({ id: id(2) }));
  const b = SslSession.create({ id: id(3) });
  ctx.addSession(b);
  const r2: string[] = [];
  ctx.on('removeSession', (_x: SslSession, why: string) => {
    r2.push(why);
    if (r2.length === 1) ctx.free();
  });
  ctx.removeSession(b);
  expect(r2).toEqual(['remove', 'free']);
});

test('a get callback that frees its own context: no crash, a full handshake, ERR_SSL_FREED surfaces', () => {
  const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'r' });
  const client = new SslContext({ role: 'client' });
  const first = handshake(client, server);
  const other = SslSession.create({ id: id(7), cipher: 'AES128-SHA' });
  server.addSession(other); // linked into the (soon detached) cache
  const cached = server.getSession(first.serverSession.id)!;
  server.removeSession(cached); // force a miss for `first`
  server.getSessionCallback = () => {
    server.free();
    return other;
  };
  let error: (Error & { code?: string }) | undefined;
  try {
    handshake(client, server, { session: first.clientSession });
  } catch (e) {
    error = e as Error & { code?: string };
  }
  expect(error?.code).toBe('ERR_SSL_FREED');
  expect(server.freed).toBe(true);
  expect(other.references).toBe(1); // the freed cache gave its reference back
});

test('handshake() that rethrows a listener error frees its result at once', () => {
  const server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionIdContext: 'r' });
  const client = new SslContext({ role: 'client' });
  let made: SslSession | undefined;
  server.once('newSession', (s: SslSession) => {
    made = s;
    throw new Error('listener');
  });
  expect(() => handshake(client, server)).toThrow('listener');
  // the cache + the event's object; no reference left behind by the unreturned result
  expect(made!.references).toBe(2);
});

test('empty Buffers for idContext and masterKey are accepted (no NULL into memcpy)', () => {
  const s = SslSession.create({ id: id(9), idContext: Buffer.alloc(0), masterKey: Buffer.alloc(0) });
  expect(s.idContext.length).toBe(0);
  s.idContext = Buffer.alloc(0);
  expect(s.idContext.length).toBe(0);
  const ctx = new SslContext({ sessionIdContext: Buffer.alloc(0) });
  ctx.setSessionIdContext(Buffer.alloc(0));
  expect(ctx.addSession(s)).toBe(true);
});
