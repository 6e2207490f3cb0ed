// Session tickets and the diagnostics channels on the native connection path
// (connectionPath: 'native'), where the handshake runs in the addon's listener and JS sees a
// connection only through its events: hostile ticket keys and tickets (wrong key sizes, a
// ticket from another server, forged tickets), the ticket a connection issued (ticketId) and
// its renewal, a ticket refused for one connection (the listener's refuseTicket), and
// connections that end mid-handshake while someone subscribes. Real OpenSSL 1.0.2h on the
// server, Node's OpenSSL 3 as the client.
import * as dc from 'diagnostics_channel';
import * as net from 'net';
import * as tls from 'tls';
import { createHash, randomBytes } from 'crypto';
import { CHANNELS, createServer, NativeTlsSocket, SslContext, TlsServer } from '../lib';
import type { TlsServerOptions } from '../lib';
import { NativeListenerEvent, openNativeListener, refuseNativeTicket, settleNativeHandshakes } from '../lib/openssl/native_listener';
import type { NativeListenerHandle, NativeTicketInfo } from '../lib/openssl/native_listener';
import { captureClientHello, certs, close, closed, listen, visit } from './helpers/sockets';

const { cert, key } = certs();

type Msg = Record<string, any>;

/** the handshake trace's asyncEnd and error phases, ticket and resumption:missed messages */
class Subscriber {
  readonly seen: { channel: string; m: Msg }[] = [];
  readonly #waiters: { pred: (c: string, m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  readonly #off: (() => void)[] = [];

  constructor() {
    for (const name of [CHANNELS.ticket, CHANNELS.resumptionMissed]) {
      const f = (m: unknown) => this.#push(name, m as Msg);
      dc.subscribe(name, f);
      this.#off.push(() => dc.unsubscribe(name, f));
    }
    const ch = dc.tracingChannel(CHANNELS.handshake);
    const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd: (m: unknown) => this.#push('asyncEnd', m as Msg), error: (m: unknown) => this.#push('error', m as Msg) };
    ch.subscribe(handlers as any);
    this.#off.push(() => ch.unsubscribe(handlers as any));
  }

  #push(channel: string, m: Msg): void {
    this.seen.push({ channel, m });
    for (const w of [...this.#waiters]) {
      if (!w.pred(channel, m)) continue;
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve(m);
    }
  }

  of(channel: string, server: unknown): Msg[] {
    return this.seen.filter((e) => e.channel === channel && e.m.server === server).map((e) => e.m);
  }

  /** the n-th (1-based) message on `channel` of `server`, now or once published */
  nth(channel: string, server: unknown, n: number): Promise<Msg> {
    const count = () => this.of(channel, server).length;
    if (count() >= n) return Promise.resolve(this.of(channel, server)[n - 1]);
    return new Promise((resolve) => this.#waiters.push({ pred: (c, m) => c === channel && m.server === server && count() >= n, resolve: () => resolve(this.of(channel, server)[n - 1]) }));
  }

  close(): void {
    for (const f of this.#off.splice(0)) f();
  }
}

const servers: TlsServer[] = [];
let sub: Subscriber | undefined;

afterEach(async () => {
  sub?.close();
  sub = undefined;
  for (const s of servers.splice(0)) await close(s);
});

/** a native-path server; its secure sockets in `sockets`, in order */
async function start(opts: TlsServerOptions = {}): Promise<{ server: TlsServer; port: number; sockets: NativeTlsSocket[] }> {
  const sockets: NativeTlsSocket[] = [];
  const server = createServer({ cert, key, connectionPath: 'native', ...opts }, (s) => {
    sockets.push(s as unknown as NativeTlsSocket);
    s.on('error', () => {});
    s.resume();
    s.on('end', () => s.end());
  });
  server.on('tlsClientError', () => {});
  servers.push(server);
  return { server, port: await listen(server), sockets };
}

/** where the ticket sits in a client's session DER (OpenSSL 3 keeps it as an OCTET STRING
 * that starts with the server's 16-byte key name) */
function ticketIn(der: Buffer, keyName: Buffer): { at: number; length: number } {
  const at = der.indexOf(keyName);
  expect(at).toBeGreaterThan(3);
  const length = der[at - 2] === 0x81 ? der[at - 1] : der.readUInt16BE(at - 2);
  expect(der[at - (der[at - 2] === 0x81 ? 3 : 4)]).toBe(0x04);
  return { at, length };
}

describe('ticket keys on the native path', () => {
  test('setTicketKeys() and ticketKeys of a wrong size or type are refused, and the keys in use stay', async () => {
    const k = randomBytes(48);
    const t = await start({ ticketKeys: k });
    for (const n of [0, 1, 47, 49, 96]) expect(() => t.server.setTicketKeys(randomBytes(n))).toThrow(RangeError);
    for (const bad of ['k'.repeat(48), 48, undefined, null, {}]) expect(() => t.server.setTicketKeys(bad as never)).toThrow(TypeError);
    expect(t.server.getTicketKeys().equals(k)).toBe(true);
    expect(() => createServer({ cert, key, connectionPath: 'native', ticketKeys: randomBytes(47) })).toThrow(RangeError);
    expect(() => createServer({ cert, key, connectionPath: 'native', ticketKeys: randomBytes(48), previousTicketKeys: -1 })).toThrow(RangeError);
    // still serving, and resuming under the key it kept
    const first = await visit(t.port);
    expect(first.reused).toBe(false);
    expect((await visit(t.port, first.session)).reused).toBe(true);
    expect(t.server.ticketKeyStats).toMatchObject({ issued: 1, current: 1 });
  });

  test('a ticket from another server is a full handshake: unknown key, published as ticket-key-unknown', async () => {
    sub = new Subscriber();
    const a = await start({ ticketKeys: randomBytes(48) });
    const b = await start({ ticketKeys: randomBytes(48) });
    const fromA = await visit(a.port);
    const onB = await visit(b.port, fromA.session);
    expect(onB.reused).toBe(false);
    const end = await sub.nth('asyncEnd', b.server, 1);
    expect(end).toMatchObject({ resumed: false, offered: 'ticket', protocol: 'TLSv1.2' });
    expect(end.socket).toBeInstanceOf(NativeTlsSocket);
    expect(end.cipher).toMatch(/^TLS_/);
    expect(sub.of(CHANNELS.ticket, b.server).map((m) => m.key)).toEqual(['unknown']);
    expect(sub.of(CHANNELS.resumptionMissed, b.server).map((m) => m.reason)).toEqual(['ticket-key-unknown']);
    expect(b.server.ticketKeyStats).toMatchObject({ unknownKey: 1, current: 0, issued: 1 });
    // B's own ticket, issued by that full handshake, resumes
    expect((await visit(b.port, onB.session)).reused).toBe(true);
  });

  test('forged tickets (a changed byte under the real key name, random bytes) are full handshakes, and the server goes on', async () => {
    sub = new Subscriber();
    const k = randomBytes(48);
    const t = await start({ ticketKeys: k });
    const first = await visit(t.port);
    const { at, length } = ticketIn(first.session, k.subarray(0, 16));
    // the ticket the server's socket says it issued is the one the client holds
    expect(t.sockets[0].ticketId).toEqual(createHash('sha256').update(first.session.subarray(at, at + length)).digest());

    const flipped = Buffer.from(first.session);
    flipped[at + 40] ^= 0x01; // inside the encrypted state: the HMAC no longer matches
    expect((await visit(t.port, flipped)).reused).toBe(false);
    const random = Buffer.from(first.session);
    randomBytes(length).copy(random, at);
    expect((await visit(t.port, random)).reused).toBe(false);

    await sub.nth('asyncEnd', t.server, 3);
    // the changed ticket named the current key (then failed its HMAC); the random one no key
    expect(sub.of(CHANNELS.ticket, t.server).map((m) => m.key)).toEqual(['current', 'unknown']);
    expect(sub.of(CHANNELS.resumptionMissed, t.server).map((m) => m.reason)).toEqual(['ticket-rejected', 'ticket-key-unknown']);
    expect(sub.of('asyncEnd', t.server).map((m) => [m.resumed, m.offered])).toEqual([
      [false, 'none'],
      [false, 'ticket'],
      [false, 'ticket'],
    ]);
    // the genuine ticket still resumes
    expect((await visit(t.port, first.session)).reused).toBe(true);
  });

  test('ticketId: a resumption under a previous key issues a ticket (renewed), one under the current key none', async () => {
    const t = await start({ ticketKeys: randomBytes(48), previousTicketKeys: 1 });
    const first = await visit(t.port);
    t.server.setTicketKeys(randomBytes(48));
    const renewed = await visit(t.port, first.session);
    expect(renewed.reused).toBe(true);
    const again = await visit(t.port, renewed.session);
    expect(again.reused).toBe(true);
    const ids = t.sockets.map((s) => s.ticketId);
    expect(ids[0]).toHaveLength(32);
    expect(ids[1]).toHaveLength(32);
    expect(ids[1]!.equals(ids[0]!)).toBe(false);
    expect(ids[2]).toBeUndefined();
    expect(t.server.ticketKeyStats).toMatchObject({ issued: 2, current: 1, previous: 1 });
  });
});

describe("the listener's refuseTicket() and observe()", () => {
  interface Run {
    listener: NativeListenerHandle;
    port: number;
    events: NativeListenerEvent[];
    infos: { reused: boolean; tickets: NativeTicketInfo | undefined }[];
    refuseNext: boolean;
    refused: boolean[];
    closed: Promise<void>;
  }

  function run(ctx: SslContext, observe: boolean): Run {
    let done!: () => void;
    const r = { events: [], infos: [], refuseNext: false, refused: [], closed: new Promise<void>((res) => (done = res)) } as unknown as Run;
    const waiters: (() => void)[] = [];
    r.listener = openNativeListener(
      ctx,
      (event, id, arg) => {
        r.events.push(event);
        if (event === NativeListenerEvent.OBSERVED_HELLO && r.refuseNext) r.refused.push(refuseNativeTicket(r.listener, id));
        if (event === NativeListenerEvent.SECURE) {
          settleNativeHandshakes(ctx);
          r.infos.push({ reused: arg === true, tickets: r.listener.ticketInfo(id) });
          for (const w of waiters.splice(0)) w();
        }
        if (event === NativeListenerEvent.CLOSED) done();
        return false;
      },
      { noDelay: false, handshakeTimeout: 0 },
    );
    if (observe) r.listener.observe(true);
    r.port = r.listener.listen('127.0.0.1', 0, 16).port;
    return r;
  }

  function ticketContext(): SslContext {
    const ctx = new SslContext({ role: 'server', cert, key, noTicket: false });
    ctx.setTicketKeys(randomBytes(48));
    return ctx;
  }

  test('a ticket refused for one connection is not decrypted: a full handshake, counted as revoked', async () => {
    const ctx = ticketContext();
    const r = run(ctx, true);
    try {
      const first = await visit(r.port);
      expect((await visit(r.port, first.session)).reused).toBe(true);
      r.refuseNext = true;
      const refused = await visit(r.port, first.session);
      expect(refused.reused).toBe(false);
      expect(r.refused).toEqual([true]);
      expect(r.infos.map((i) => [i.reused, i.tickets?.key])).toEqual([
        [false, undefined],
        [true, 'current'],
        [false, 'refused'],
      ]);
      // the full handshakes issued tickets; the resumption under the current key did not
      expect(r.infos.map((i) => i.tickets?.ticketId?.length)).toEqual([32, undefined, 32]);
      expect(ctx.ticketKeyStats).toMatchObject({ current: 1, revoked: 1, unknownKey: 0 });
      // the next connection is not refused: the refusal was that connection's only
      r.refuseNext = false;
      expect((await visit(r.port, refused.session)).reused).toBe(true);
      // a connection that is gone, or an id that is not a number
      expect(r.listener.refuseTicket(0x7fffffff)).toBe(false);
      expect(r.listener.ticketInfo(0x7fffffff)).toBeUndefined();
      expect(() => r.listener.refuseTicket('1' as never)).toThrow(TypeError);
      expect(() => r.listener.ticketInfo(undefined as never)).toThrow(TypeError);
    } finally {
      r.listener.close();
      await r.closed;
      ctx.free();
    }
  });

  test('without observe(true) no ClientHello is handed over; with it, each one comes before the handshake ends', async () => {
    const ctx = ticketContext();
    const quiet = run(ctx, false);
    const watched = run(ctx, true);
    try {
      await visit(quiet.port);
      await visit(watched.port);
      expect(quiet.events).not.toContain(NativeListenerEvent.OBSERVED_HELLO);
      expect(quiet.events).toContain(NativeListenerEvent.SECURE);
      const w = watched.events.filter((e) => e === NativeListenerEvent.OBSERVED_HELLO || e === NativeListenerEvent.SECURE);
      expect(w).toEqual([NativeListenerEvent.OBSERVED_HELLO, NativeListenerEvent.SECURE]);
    } finally {
      quiet.listener.close();
      watched.listener.close();
      await Promise.all([quiet.closed, watched.closed]);
      ctx.free();
    }
  });
});

describe('connections that end mid-handshake while someone subscribes', () => {
  test('after the whole ClientHello, and within it: each trace ends with its error; the server serves the next client', async () => {
    sub = new Subscriber();
    const t = await start({ ticketKeys: randomBytes(48) });
    const hello = await captureClientHello((p) => tls.connect({ host: '127.0.0.1', port: p, servername: 'localhost', maxVersion: 'TLSv1.2' }));

    // the whole hello: the server answers, then the client resets
    const a = net.connect(t.port, '127.0.0.1');
    a.on('error', () => {});
    a.write(hello);
    await new Promise((resolve) => a.once('data', resolve));
    a.resetAndDestroy();
    const first = await sub.nth('error', t.server, 1);
    expect(first.offered).toBe('none');
    expect(first.servername).toBe('localhost');
    expect(first.error).toBeInstanceOf(Error);
    expect(typeof first.failureReason).toBe('string');
    expect(first.resumed).toBeUndefined();
    expect(first.socket).toBeInstanceOf(NativeTlsSocket);
    expect(first.durationMs).toBeGreaterThanOrEqual(0);

    // half of it, then FIN: the hello was never read
    const b = net.connect(t.port, '127.0.0.1');
    b.on('error', () => {});
    b.end(hello.subarray(0, 20));
    await closed(b);
    const second = await sub.nth('error', t.server, 2);
    expect(second.offered).toBeUndefined();
    expect(second.failureReason).toBe('ECONNRESET');

    expect(sub.of('asyncEnd', t.server)).toEqual([first, second]);
    const ok = await visit(t.port);
    expect(ok.reused).toBe(false);
    const done = await sub.nth('asyncEnd', t.server, 3);
    expect(done).toMatchObject({ resumed: false, offered: 'none' });
    expect(done.error).toBeUndefined();
  });
});
