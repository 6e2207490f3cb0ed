// TicketKeyRing: a fleet's session-ticket keys on a shared schedule, distributed through a
// real redis-server (sealed, set-if-absent per slot). Several servers whose clocks differ
// rotate several times under traffic: every ticket decrypts everywhere until its key's
// window ends, none is accepted after, Redis never holds a key in plain. Faults: a server
// that loses Redis keeps its keys until their window ends, then turns tickets off; a
// server with the wrong key-encryption key never makes a key of its own.
import { randomBytes } from 'crypto';
import { Redis } from 'ioredis';
import * as tls from 'tls';
import { createServer, MemoryTicketKeySource, openTicketKey, RedisTicketKeySource, SslContext, TicketKeyRing, TicketKeyRingState, TlsServer } from '../lib';
import { certs, close, endNode, listen, nodeClient, track } from './helpers/sockets';
import { freePort, killAllRedis, RedisServer, startRedis } from './helpers/redis';
import { Inbox } from './helpers/events';
import { ticketKeysSetTime } from '../lib/common/diagnostics';

const { cert, key } = certs();
const HOUR = 3_600_000;

let redis: RedisServer;
let admin: Redis;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis({ host: '127.0.0.1', port: redis.port });
  admin.on('error', () => {});
});

afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

afterAll(async () => {
  admin?.disconnect();
  await killAllRedis();
});

interface Member {
  server: TlsServer;
  port: number;
  ring: TicketKeyRing;
  source: RedisTicketKeySource;
  /** true time at which each slot's key left this server's ring */
  droppedAt: Map<number, number>;
  states: Inbox<TicketKeyRingState>;
}

async function member(port: number, kek: Buffer, ring: { rotationInterval: number; decryptWindow: number; maxClockSkew: number; offset: number; prefix: string }): Promise<Member> {
  const server = createServer({ cert, key, noTicket: false });
  const sockets = track(server);
  server.on('secureConnection', (s) => {
    s.on('error', () => {});
    s.resume();
    s.on('end', () => s.end());
  });
  const source = new RedisTicketKeySource({ redis: { host: '127.0.0.1', port }, prefix: ring.prefix });
  const r = new TicketKeyRing({
    source,
    keyEncryptionKey: kek,
    rotationInterval: ring.rotationInterval,
    decryptWindow: ring.decryptWindow,
    maxClockSkew: ring.maxClockSkew,
    clock: () => Date.now() + ring.offset,
  });
  const droppedAt = new Map<number, number>();
  const states = new Inbox<TicketKeyRingState>();
  r.on('rotate', (st) => {
    for (const s of st.dropped) droppedAt.set(s, Date.now());
    states.push(st);
  });
  r.on('sourceError', () => {});
  r.attach(server);
  await source.ready();
  const listenPort = await listen(server);
  cleanups.push(async () => {
    r.stop();
    await close(server, sockets);
    await source.close();
  });
  return { server, port: listenPort, ring: r, source, droppedAt, states };
}

/** one TLS 1.2 connection with an optional session: resumed?, the ticket now held, the session to keep */
async function visit(port: number, session?: Buffer): Promise<{ reused: boolean; ticket: Buffer | undefined; session: Buffer }> {
  const c = await nodeClient(port, session ? { session } : {});
  const reused = c.socket.isSessionReused();
  const ticket = c.socket.getTLSTicket();
  const got = c.socket.getSession()!;
  await endNode(c.socket as tls.TLSSocket);
  return { reused, ticket, session: got };
}

/** every 16-byte part (name, HMAC secret, AES key) of the keys a server holds natively */
function secretParts(m: Member): Buffer[] {
  const keys = [m.server.context.getTicketKeys(), ...m.server.context.getPreviousTicketKeys()];
  return keys.flatMap((k) => [k.subarray(0, 16), k.subarray(16, 32), k.subarray(32, 48)]);
}

async function redisValues(prefix: string): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  for (const k of await admin.keys(`${prefix}*`)) {
    const v = await admin.getBuffer(k);
    if (v) out.set(Number(k.slice(prefix.length)), v);
  }
  return out;
}

describe('a fleet rotating under traffic (real redis-server)', () => {
  test('several rotations, clocks apart: 0 tickets refused inside their window, 0 accepted after, keys sealed in Redis', async () => {
    const I = 1500;
    const W = 1500;
    const skew = 300;
    const kek = randomBytes(32);
    const prefix = `ring-${randomBytes(4).toString('hex')}:`;
    // three servers, clocks 100 ms behind, on time, 100 ms ahead (a spread of 200 < maxClockSkew)
    const fleet: Member[] = [];
    for (const offset of [-100, 0, 100]) fleet.push(await member(redis.port, kek, { rotationInterval: I, decryptWindow: W, maxClockSkew: skew, offset, prefix }));
    await Promise.all(fleet.map((m) => m.ring.start()));

    // the slot of every key name any server held
    const slotOfName = new Map<string, number>();
    const learn = (st: TicketKeyRingState): void => {
      for (const k of st.keys) {
        const prev = slotOfName.get(k.name.toString('hex'));
        if (prev !== undefined) expect(prev).toBe(k.slot); // one key per slot, the same on every server
        slotOfName.set(k.name.toString('hex'), k.slot);
      }
    };
    for (const m of fleet) {
      learn(m.ring.state);
      m.ring.on('rotate', (st) => {
        learn(st);
        // a key never leaves before its window (by the server's own clock)
        for (const s of st.dropped) expect(st.at).toBeGreaterThanOrEqual(m.ring.retainedUntil(s));
      });
    }

    const firstSlot = Math.max(...fleet.map((m) => m.ring.state.slot));
    const rotations = 4;
    const done = (): boolean => fleet.every((m) => m.ring.state.slot >= firstSlot + rotations && m.droppedAt.size >= 2);

    interface Ticket {
      session: Buffer;
      slot: number;
    }
    const pool: Ticket[] = [];
    const counts = { inside: 0, missedInside: 0, after: 0, acceptedAfter: 0, between: 0, sealedChecks: 0 };
    let i = 0;
    while (!done()) {
      const m = fleet[i % fleet.length];
      // none (a new client), the newest ticket, or a random one (a period of 4 against 3 servers: every server sees each)
      const pick = i % 4 === 0 || pool.length === 0 ? undefined : i % 4 === 1 ? pool[pool.length - 1] : pool[Math.floor(Math.random() * pool.length)];
      const start = Date.now();
      const r = await visit(m.port, pick?.session);
      const end = Date.now();
      if (pick) {
        const windowEnd = (pick.slot + 1) * I + W; // every server holds the key until then (true time, with margin for the clocks)
        const dropped = m.droppedAt.get(pick.slot);
        if (end < windowEnd) {
          counts.inside += 1;
          if (!r.reused) counts.missedInside += 1;
        } else if (dropped !== undefined && dropped <= start) {
          counts.after += 1;
          if (r.reused) counts.acceptedAfter += 1;
        } else counts.between += 1;
      }
      if (r.ticket) {
        const slot = slotOfName.get(r.ticket.subarray(0, 16).toString('hex'));
        expect(slot).toBeDefined(); // every ticket is under a key of the schedule
        pool.push({ session: r.session, slot: slot! });
      }
      if (i % 10 === 0) {
        // what Redis holds: sealed values that open (under the KEK) to the servers' keys, never a key part in plain
        const values = await redisValues(prefix);
        expect(values.size).toBeGreaterThan(0);
        const parts = fleet.flatMap(secretParts);
        for (const [slot, v] of values) {
          for (const p of parts) expect(v.includes(p)).toBe(false);
          const opened = openTicketKey(kek, slot, v);
          const name = opened.subarray(0, 16).toString('hex');
          if (slotOfName.has(name)) expect(slotOfName.get(name)).toBe(slot);
          opened.fill(0);
        }
        counts.sealedChecks += 1;
      }
      i += 1;
    }

    const bound = fleet[0].ring.forwardSecrecyBound;
    const defaults = new TicketKeyRing({ fleetSecret: randomBytes(32) });
    console.log(
      `ticket key ring: ${i} connections over ${rotations}+ rotations on ${fleet.length} servers: ` +
        `${counts.inside} resumptions inside the window (${counts.missedInside} refused), ` +
        `${counts.after} after it (${counts.acceptedAfter} accepted), ${counts.between} in the clock margin; ` +
        `forward-secrecy bound rotationInterval + decryptWindow + 2 * maxClockSkew = ${bound} ms here, ` +
        `${defaults.forwardSecrecyBound / HOUR} h with the defaults (${defaults.rotationInterval / HOUR} h + ${defaults.decryptWindow / HOUR} h + 2 * ${defaults.maxClockSkew / 1000} s)`,
    );
    expect(counts.missedInside).toBe(0);
    expect(counts.acceptedAfter).toBe(0);
    // both kinds happened, so the zeros mean something
    expect(counts.inside).toBeGreaterThan(10);
    expect(counts.after).toBeGreaterThan(0);
    expect(counts.sealedChecks).toBeGreaterThan(0);
    expect(bound).toBe(I + W + 2 * skew);
  });
});

describe('clocks seconds apart, on a clock the test moves (no waiting)', () => {
  test('two servers 4 s apart, 1-minute slots: every ticket resumes on both for decryptWindow, none after the bound', async () => {
    const I = 60_000;
    const W = 60_000;
    const skew = 5000;
    const step = 3000;
    let T = 1_000_000 * I + 7_000; // the true time, moved by the test
    const source = new MemoryTicketKeySource();
    const kek = randomBytes(32);
    const servers: { ring: TicketKeyRing; server: TlsServer; port: number }[] = [];
    for (const offset of [2000, -2000]) {
      const ring = new TicketKeyRing({ source, keyEncryptionKey: kek, rotationInterval: I, decryptWindow: W, maxClockSkew: skew, clock: () => T + offset });
      const server = createServer({ cert, key, noTicket: false });
      const sockets = track(server);
      server.on('secureConnection', (s) => {
        s.on('error', () => {});
        s.resume();
        s.on('end', () => s.end());
      });
      ring.attach(server);
      const port = await listen(server);
      cleanups.push(async () => {
        ring.stop();
        await close(server, sockets);
      });
      servers.push({ ring, server, port });
    }
    const bound = servers[0].ring.forwardSecrecyBound;
    const issued: { at: number; session: Buffer }[] = [];
    const counts = { inside: 0, missedInside: 0, after: 0, acceptedAfter: 0, switchesApart: 0 };
    const ages = [step, W - step, W, Math.ceil((bound + 1) / step) * step]; // issue times are multiples of step
    // the key age the metrics report (ticket_key_age_seconds) is the encrypting key's: since
    // its slot began by the server's clock, however long ago the keys were installed
    let before = Date.now();
    let ageChecks = 0;
    for (const x of servers) {
      let last: number | undefined;
      x.ring.on('rotate', (st) => {
        const now = Date.now();
        if (st.encrypting === undefined || st.encrypting === last) return; // installed only when the encrypting key changed
        last = st.encrypting;
        const sinceSlot = st.at - st.encrypting * I;
        const setAt = ticketKeysSetTime(x.server.context)!;
        expect(setAt).toBeGreaterThanOrEqual(before - sinceSlot);
        expect(setAt).toBeLessThanOrEqual(now - sinceSlot);
        ageChecks += 1;
      });
    }
    for (let n = 0; n < (4 * I) / step; n++, T += step) {
      before = Date.now();
      await Promise.all(servers.map((x) => x.ring.refresh()));
      const enc = servers.map((x) => x.ring.state.encrypting);
      if (enc[0] !== enc[1]) counts.switchesApart += 1; // one server already on the next key
      for (const x of servers) {
        const t = await visit(x.port);
        expect(t.ticket).toBeDefined();
        issued.push({ at: T, session: t.session });
      }
      for (const age of ages) {
        for (const old of issued.filter((e) => e.at === T - age)) {
          for (const x of servers) {
            const r = await visit(x.port, old.session);
            if (age <= W) {
              counts.inside += 1;
              if (!r.reused) counts.missedInside += 1;
            } else {
              counts.after += 1;
              if (r.reused) counts.acceptedAfter += 1;
            }
          }
        }
      }
    }
    expect(counts.missedInside).toBe(0);
    expect(counts.acceptedAfter).toBe(0);
    expect(counts.inside).toBeGreaterThan(100);
    expect(counts.after).toBeGreaterThan(20);
    // the clocks 4 s apart did put the servers on different keys around each boundary
    expect(counts.switchesApart).toBeGreaterThanOrEqual(3);
    expect(ageChecks).toBeGreaterThanOrEqual(2 * 3);
  });
});

describe('faults', () => {
  test('Redis gone: the server keeps its keys until their window ends, then full handshakes without tickets; back: the fleet key again', async () => {
    const r2 = new RedisServer(await freePort());
    await r2.start();
    cleanups.push(() => r2.stop());
    const kek = randomBytes(32);
    const prefix = 'fault:';
    const m = await member(r2.port, kek, { rotationInterval: 1000, decryptWindow: 1000, maxClockSkew: 100, offset: 0, prefix });
    await m.ring.start();
    const errors = new Inbox<Error>();
    m.ring.on('sourceError', errors.push);
    const first = await visit(m.port);
    expect(first.ticket).toBeDefined();

    // every state while Redis is away: the ring holds keys until their window, never one of its own
    const seen: TicketKeyRingState[] = [];
    const off = new Promise<TicketKeyRingState>((resolve) => {
      m.ring.on('rotate', (st) => {
        seen.push(st);
        for (const s of st.dropped) expect(st.at).toBeGreaterThanOrEqual(m.ring.retainedUntil(s));
        if (st.encrypting === undefined) resolve(st);
      });
    });
    await r2.stop();
    const noTickets = await off;
    await errors.atLeast(1);
    expect(noTickets.keys).toEqual([]); // tickets off only once every key's window ended
    expect(seen.some((st) => st.encrypting !== undefined && st.encrypting < st.slot)).toBe(true); // it kept encrypting with what it held
    expect(m.server.context.ticketsEnabled).toBe(false);
    const full = await visit(m.port, first.session);
    expect(full.reused).toBe(false);
    expect(full.ticket).toBeUndefined(); // no ticket under a key made alone
    const issued = m.server.ticketKeyStats.issued;

    // Redis back (empty: it kept nothing): the ring claims the slot again, tickets return
    const back = new Promise<TicketKeyRingState>((resolve) => m.ring.on('rotate', (st) => st.encrypting !== undefined && resolve(st)));
    await r2.start();
    const st = await back;
    const again = await visit(m.port);
    expect(again.ticket).toBeDefined();
    expect(m.server.ticketKeyStats.issued).toBe(issued + 1);
    // the key in use is the one sealed in Redis for its slot
    const check = new Redis({ host: '127.0.0.1', port: r2.port });
    try {
      const sealed = await check.getBuffer(`${prefix}${st.encrypting}`);
      expect(sealed).not.toBeNull();
      const opened = openTicketKey(kek, st.encrypting!, sealed!);
      expect(opened.subarray(0, 16).equals(again.ticket!.subarray(0, 16))).toBe(true);
    } finally {
      check.disconnect();
    }
  });

  test('a server with another key-encryption key makes no key of its own: tickets stay off there', async () => {
    const prefix = `kek-${randomBytes(4).toString('hex')}:`;
    const opts = { rotationInterval: 60_000, decryptWindow: 60_000, maxClockSkew: 1000, offset: 0, prefix };
    const a = await member(redis.port, randomBytes(32), opts);
    const b = await member(redis.port, randomBytes(32), opts);
    await a.ring.start();
    const err = await b.ring.start().then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('ERR_TICKET_KEY_UNSEAL');
    expect(b.ring.state.keys).toEqual([]);
    expect(b.server.context.ticketsEnabled).toBe(false);
    const onA = await visit(a.port);
    expect(onA.ticket).toBeDefined();
    const onB = await visit(b.port, onA.session);
    expect(onB.reused).toBe(false);
    expect(onB.ticket).toBeUndefined();
  });
});

describe('fleetSecret and the in-process source', () => {
  async function plainServer(ring: TicketKeyRing): Promise<{ server: TlsServer; port: number }> {
    const server = createServer({ cert, key, noTicket: false });
    const sockets = track(server);
    server.on('secureConnection', (s) => {
      s.on('error', () => {});
      s.resume();
      s.on('end', () => s.end());
    });
    ring.attach(server);
    const port = await listen(server);
    cleanups.push(async () => {
      ring.stop();
      await close(server, sockets);
    });
    return { server, port };
  }

  test('two rings with one fleetSecret resume the tickets of each other; another secret does not', async () => {
    const secret = randomBytes(32);
    const a = new TicketKeyRing({ fleetSecret: secret });
    const b = new TicketKeyRing({ fleetSecret: Buffer.from(secret) });
    const c = new TicketKeyRing({ fleetSecret: randomBytes(32) });
    const sa = await plainServer(a);
    const sb = await plainServer(b);
    const sc = await plainServer(c);
    await Promise.all([a.start(), b.start(), c.start()]);
    // next and current held, the current one encrypts
    expect(a.state.keys.slice(0, 2).map((k) => k.slot)).toEqual([a.state.slot + 1, a.state.slot]);
    expect(a.state.encrypting).toBe(a.state.slot);
    const t = await visit(sa.port);
    expect((await visit(sb.port, t.session)).reused).toBe(true);
    expect((await visit(sc.port, t.session)).reused).toBe(false);
  });

  test('MemoryTicketKeySource: one claim per slot; rings sharing it share keys', async () => {
    const source = new MemoryTicketKeySource();
    const x = Buffer.from('x');
    expect((await source.claim(7, x, 60_000)).equals(x)).toBe(true);
    expect((await source.claim(7, Buffer.from('y'), 60_000)).equals(x)).toBe(true);
    expect((await source.get(7))?.equals(x)).toBe(true);
    expect(await source.get(8)).toBeUndefined();
    await expect(source.claim(-1, x, 1)).rejects.toThrow(RangeError);
    const kek = randomBytes(32);
    const a = new TicketKeyRing({ source, keyEncryptionKey: kek });
    const b = new TicketKeyRing({ source, keyEncryptionKey: kek });
    const sa = await plainServer(a);
    const sb = await plainServer(b);
    await Promise.all([a.start(), b.start()]);
    expect(sa.server.getTicketKeys().equals(sb.server.getTicketKeys())).toBe(true);
    const t = await visit(sa.port);
    expect((await visit(sb.port, t.session)).reused).toBe(true);
  });

  test('the key-encryption key rotates like the sealing keys of the stores: current seals, previous still opens', async () => {
    const k1 = { name: 'kek-1', key: randomBytes(32) };
    const k2 = { name: 'kek-2', key: randomBytes(32) };
    const source = new MemoryTicketKeySource();
    const a = new TicketKeyRing({ source, keyEncryptionKey: { current: k1 } });
    const b = new TicketKeyRing({ source, keyEncryptionKey: { current: k2, previous: [k1] } });
    const c = new TicketKeyRing({ source, keyEncryptionKey: { current: k2 } });
    const sa = await plainServer(a);
    const sb = await plainServer(b);
    const sc = await plainServer(c);
    await a.start(); // claims the slots under kek-1
    await b.start(); // opens them with kek-1 as a previous key
    const err = await c.start().then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('ERR_TICKET_KEY_UNSEAL'); // kek-1 unknown there: no key, tickets off
    expect(sb.server.getTicketKeys().equals(sa.server.getTicketKeys())).toBe(true);
    expect(sc.server.context.ticketsEnabled).toBe(false);
    const t = await visit(sa.port);
    expect((await visit(sb.port, t.session)).reused).toBe(true);
    // a sealed value opens for its own slot only, and never as a plain key
    const slot = a.state.slot;
    const sealed = (await source.get(slot))!;
    expect(openTicketKey({ current: k2, previous: [k1] }, slot, sealed).equals(sa.server.getTicketKeys())).toBe(true);
    expect(() => openTicketKey({ current: k1 }, slot + 1, sealed)).toThrow(expect.objectContaining({ code: 'ERR_TICKET_KEY_UNSEAL' }));
    expect(sealed.includes(sa.server.getTicketKeys().subarray(16, 32))).toBe(false);
  });

  test('stop() wipes the keys: tickets off, old tickets get full handshakes', async () => {
    const ring = new TicketKeyRing({ fleetSecret: randomBytes(32) });
    const s = await plainServer(ring);
    await ring.start();
    const t = await visit(s.port);
    expect(t.ticket).toBeDefined();
    ring.stop();
    expect(s.server.context.ticketsEnabled).toBe(false);
    const after = await visit(s.port, t.session);
    expect(after.reused).toBe(false);
    expect(after.ticket).toBeUndefined();
  });

  test('options are checked at construction', () => {
    const source = new MemoryTicketKeySource();
    const kek = randomBytes(32);
    expect(() => new TicketKeyRing({})).toThrow(TypeError);
    expect(() => new TicketKeyRing({ source, fleetSecret: randomBytes(32), keyEncryptionKey: kek })).toThrow(TypeError);
    expect(() => new TicketKeyRing({ source })).toThrow(TypeError);
    expect(() => new TicketKeyRing({ source, keyEncryptionKey: randomBytes(16) })).toThrow(RangeError);
    expect(() => new TicketKeyRing({ source: {} as MemoryTicketKeySource, keyEncryptionKey: kek })).toThrow(TypeError);
    expect(() => new TicketKeyRing({ fleetSecret: randomBytes(16) })).toThrow(RangeError);
    expect(() => new TicketKeyRing({ fleetSecret: randomBytes(32), keyEncryptionKey: kek })).toThrow(TypeError);
    expect(() => new TicketKeyRing({ fleetSecret: randomBytes(32), rotationInterval: 10 })).toThrow(RangeError);
    expect(() => new TicketKeyRing({ fleetSecret: randomBytes(32), rotationInterval: 2000, maxClockSkew: 1001 })).toThrow(RangeError);
    expect(() => new TicketKeyRing({ fleetSecret: randomBytes(32), decryptWindow: -1 })).toThrow(RangeError);
    expect(() => new TicketKeyRing({ fleetSecret: randomBytes(32), clock: 5 as unknown as () => number })).toThrow(TypeError);
    const ring = new TicketKeyRing({ fleetSecret: randomBytes(32) });
    expect(() => ring.attach({} as SslContext)).toThrow(TypeError);
    expect(ring.rotationInterval).toBe(HOUR);
    expect(ring.decryptWindow).toBe(HOUR);
    expect(ring.forwardSecrecyBound).toBe(2 * HOUR + 10_000);
    expect(() => new RedisTicketKeySource({ client: {} as Redis })).toThrow(TypeError);
  });
});
