// RedisSessionStore as an attack surface (SECURITY.md, "The store path"), against real
// redis-servers on 127.0.0.1: revocations missed while the subscriber was out of contact
// do not survive its return (the server drops its store-fed cache on resubscribe), and the
// store talks to a Redis that wants a password, an ACL user, or TLS.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Redis, RedisOptions } from 'ioredis';
import { createServer, generateSelfSigned, RedisSessionStore, TlsServer, TLSSocket } from '../lib';
import { certs, endNode, listen, next, nodeClient, resumesWith, storedFullHandshake, track } from './helpers/sockets';
import { freePort, RedisServer, RedisTestBed, startRedis } from './helpers/redis';

const { cert, key } = certs();
const NO_TICKET = require('constants').SSL_OP_NO_TICKET as number;
const bed = new RedisTestBed();
afterAll(() => bed.close());
const admin = (port: number, opts?: RedisOptions): Redis => bed.admin(port, opts);
const store = (opts: ConstructorParameters<typeof RedisSessionStore>[0]): RedisSessionStore => bed.store(opts);

async function serve(sessionStore: RedisSessionStore): Promise<{ server: TlsServer; port: number }> {
  const server = createServer({ cert, key, sessionStore }, (s: TLSSocket) => {
    s.resume();
    s.on('end', () => s.end());
  });
  server.on('tlsClientError', () => {});
  server.on('sessionStoreError', () => {});
  const sockets = track(server);
  bed.keep(server, sockets);
  return { server, port: await listen(server) };
}

const fullHandshake = storedFullHandshake;
const resumes = resumesWith;

describe('revocations missed while out of contact', () => {
  test('a DEL whose PUBLISH the server never heard: resumable from the local cache until the subscriber reconnects, then not', async () => {
    const redis = await startRedis();
    const s = store({ redis: { host: '127.0.0.1', port: redis.port } });
    const { server, port } = await serve(s);
    await s.ready();
    const x = await fullHandshake(server, port);
    expect(await resumes(port, x.session)).toBe(true); // fetched from Redis into the local cache
    expect(server.context.sessionCount).toBe(1);
    // revoked in Redis without a message reaching this server (as when its subscriber
    // was disconnected at the moment of the PUBLISH)
    await admin(redis.port).del(s.key(x.id));
    expect(await resumes(port, x.session)).toBe(true); // the hole: the local copy still resumes
    // the subscriber's connection drops and comes back: the server drops its store-fed cache
    const resync = next(server, 'sessionStoreResync');
    await admin(redis.port).client('KILL', 'TYPE', 'pubsub');
    await resync;
    expect(server.context.sessionCount).toBe(0);
    expect(server.sessionStoreStats.resyncs).toBe(2); // the first subscription, then this one
    expect(await resumes(port, x.session)).toBe(false);
  });

  test('Redis killed and restarted empty: store-fed sessions stop resuming while it is down, the server’s own new ones resume; none of the old after it is back', async () => {
    const redis = new RedisServer(await freePort());
    await redis.start();
    const s = store({ redis: { host: '127.0.0.1', port: redis.port }, maxReconnectDelay: 100 });
    const { server, port } = await serve(s);
    await s.ready();
    const x = await fullHandshake(server, port);
    const y = await fullHandshake(server, port);
    expect(await resumes(port, x.session)).toBe(true);
    const down = next<Error & { code?: string }>(s, 'feedDown');
    await redis.stop();
    expect((await down).code).toBe('ERR_SESSION_STORE_UNREACHABLE');
    // out of contact: revocations cannot be heard, so the store-fed cache is not trusted
    expect(await resumes(port, x.session)).toBe(false);
    expect(await resumes(port, y.session)).toBe(false);
    expect(server.sessionStoreStats.feedDown).toBe(true);
    // a session this server makes while the store is down is kept here and resumes
    const notStored = next<Error & { code?: string }>(server, 'sessionStoreError');
    const c = await nodeClient(port, { secureOptions: NO_TICKET });
    const z = { session: await c.session() };
    await endNode(c.socket);
    expect((await notStored).code).toBe('ERR_SESSION_STORE_UNREACHABLE');
    expect(await resumes(port, z.session)).toBe(true);
    expect(server.sessionStoreStats.fallbackKept).toBeGreaterThanOrEqual(1);
    // back, without the sessions (no persistence: every one of them is gone from Redis)
    const resync = next(server, 'sessionStoreResync');
    await redis.start();
    await resync;
    expect(server.sessionStoreStats.feedDown).toBe(false);
    expect(await resumes(port, x.session)).toBe(false);
    expect(await resumes(port, z.session)).toBe(true); // still within its bound
    await redis.stop();
  });
});

describe('a Redis that wants credentials', () => {
  test('requirepass: the store authenticates from a redis:// URL; revocation reaches the other server; a wrong password is a store error, not a crash', async () => {
    const redis = new RedisServer(await freePort());
    await redis.start(['--requirepass', 'pw-0f5e']);
    const url = `redis://:pw-0f5e@127.0.0.1:${redis.port}`;
    const sa = store({ redis: url });
    const sb = store({ redis: url });
    const a = await serve(sa);
    const b = await serve(sb);
    await Promise.all([sa.ready(), sb.ready()]);
    const x = await fullHandshake(a.server, a.port);
    const raw = await admin(redis.port, { password: 'pw-0f5e' }).getBuffer(sa.key(x.id));
    expect(raw).not.toBeNull();
    expect(await resumes(b.port, x.session)).toBe(true);
    const revoked = next<Buffer>(b.server, 'sessionRevoked');
    await a.server.revoke(x.id);
    expect((await revoked).equals(x.id)).toBe(true);
    expect(await resumes(b.port, x.session)).toBe(false);

    const wrong = store({ redis: `redis://:nope@127.0.0.1:${redis.port}` });
    const w = await serve(wrong);
    const failed = next<Error>(w.server, 'sessionStoreError');
    const c = await nodeClient(w.port, { secureOptions: NO_TICKET });
    await endNode(c.socket);
    expect(await failed).toBeInstanceOf(Error);
    await redis.stop();
  });

  test('an ACL user limited to the store’s keys and channel works; the same user on another prefix gets NOPERM as a store error', async () => {
    const redis = new RedisServer(await freePort());
    await redis.start([
      '--requirepass',
      'admin-pw',
      '--user',
      'tls-app',
      'on',
      '>app-pw',
      '~tls-session:*',
      '&tls-session:*',
      '-@all',
      '+@connection',
      '+info',
      '+getrange',
      '+set',
      '+del',
      '+multi',
      '+exec',
      '+publish',
      '+subscribe',
    ]);
    const opts = { host: '127.0.0.1', port: redis.port, username: 'tls-app', password: 'app-pw' };
    const sa = store({ redis: opts });
    const sb = store({ redis: opts });
    const a = await serve(sa);
    const b = await serve(sb);
    await Promise.all([sa.ready(), sb.ready()]);
    const x = await fullHandshake(a.server, a.port);
    expect(await resumes(b.port, x.session)).toBe(true);
    const revoked = next<Buffer>(b.server, 'sessionRevoked');
    await a.server.revoke(x.id);
    await revoked;
    expect(await resumes(b.port, x.session)).toBe(false);

    const other = store({ redis: opts, prefix: 'elsewhere:' });
    await other.ready();
    await expect(other.set(Buffer.from('id'), Buffer.from('der'), 60)).rejects.toThrow(/NOPERM/);
    const o = await serve(other);
    const failed = next<Error>(o.server, 'sessionStoreError');
    const c = await nodeClient(o.port, { secureOptions: NO_TICKET });
    await endNode(c.socket);
    expect(String(await failed)).toMatch(/NOPERM/);
    await redis.stop();
  });
});

describe('TLS to Redis', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-rediss-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('rediss:// with the server’s CA: sessions stored and revoked over TLS; without the CA nothing connects', async () => {
    const redisCert = generateSelfSigned({ commonName: 'localhost' });
    fs.writeFileSync(path.join(dir, 'redis.crt'), redisCert.cert);
    fs.writeFileSync(path.join(dir, 'redis.key'), redisCert.key);
    const redis = new RedisServer(await freePort());
    await redis.start([
      '--port',
      '0',
      '--tls-port',
      String(redis.port),
      '--tls-cert-file',
      path.join(dir, 'redis.crt'),
      '--tls-key-file',
      path.join(dir, 'redis.key'),
      '--tls-auth-clients',
      'no',
    ]);
    const url = `rediss://127.0.0.1:${redis.port}`;
    const sa = store({ redis: url, tls: { ca: redisCert.cert } });
    const sb = store({ redis: { host: '127.0.0.1', port: redis.port, tls: { ca: redisCert.cert } } });
    const a = await serve(sa);
    const b = await serve(sb);
    await Promise.all([sa.ready(), sb.ready()]);
    const x = await fullHandshake(a.server, a.port);
    expect(await resumes(b.port, x.session)).toBe(true);
    const revoked = next<Buffer>(b.server, 'sessionRevoked');
    await a.server.revoke(x.id);
    await revoked;
    expect(await resumes(b.port, x.session)).toBe(false);

    // a store that does not trust the certificate never gets a connection
    const untrusting = store({ redis: url });
    const err = await new Promise<Error>((resolve) => untrusting.once('connectionError', resolve));
    expect(String(err)).toMatch(/self[- ]signed|certificate/i);
    expect(untrusting.connected).toBe(false);
    await redis.stop();
  });
});
