// ClientHelloParser: reads the session id of real ClientHellos (ours on 1.0.2, Node's on
// OpenSSL 3) however the bytes are cut; anything else is "no session", never a throw.
import * as net from 'net';
import * as tls from 'tls';
import fc from 'fast-check';
import { ClientHelloInfo, ClientHelloParser, connect, createServer, MemorySessionStore, SslSession, TLSSocket } from '../lib';
import { CLIENT_HELLO_PARSE_LIMIT } from '../lib/tls/client_hello_parser';
import { captureClientHello, certs, close, closed, listen, next, record, reframe, track } from './helpers/sockets';

const { cert, key } = certs();

function parseAll(chunks: Buffer[]): { result: ClientHelloInfo | undefined; pushes: number; buffered: Buffer } {
  const p = new ClientHelloParser();
  let result: ClientHelloInfo | undefined;
  let pushes = 0;
  for (const c of chunks) {
    pushes += 1;
    result = p.push(c);
    if (result) break;
  }
  return { result, pushes, buffered: p.buffered() };
}

function bytewise(b: Buffer): Buffer[] {
  return [...b].map((x) => Buffer.from([x]));
}

// offset of the end of the session id inside a single-record ClientHello
const idEnd = (idLength: number) => 5 + 4 + 2 + 32 + 1 + idLength;

interface Hello {
  name: string;
  bytes: Buffer;
  id: Buffer | undefined;
}

const hellos: Hello[] = [];

beforeAll(async () => {
  // a real session from our server (tickets off, so the session has an id)
  const server = createServer({ cert, key });
  const sockets = track(server);
  server.on('secureConnection', (s: TLSSocket) => s.resume());
  const port = await listen(server);
  const serverSessions: SslSession[] = [];
  server.on('secureConnection', (s: TLSSocket) => {
    serverSessions.push(s.getSslSession()!);
  });
  const c = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' });
  await next(c, 'secureConnect');
  const ourDer = c.getSession()!;
  c.end();
  await closed(c);
  // and Node's view of a session from the same server
  const n = tls.connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', maxVersion: 'TLSv1.2' });
  const nodeSession = await next<Buffer>(n, 'session');
  n.end();
  await closed(n);
  await close(server, sockets);
  const ourId = SslSession.fromDER(ourDer).id;
  expect(serverSessions).toHaveLength(2);
  expect(serverSessions[0].id.equals(ourId)).toBe(true);
  expect(ourId.length).toBe(32);

  hellos.push({
    name: 'our connect(), no session',
    bytes: await captureClientHello((p) => connect({ host: '127.0.0.1', port: p, rejectUnauthorized: false })),
    id: undefined,
  });
  hellos.push({
    name: 'our connect({ session })',
    bytes: await captureClientHello((p) => connect({ host: '127.0.0.1', port: p, rejectUnauthorized: false, session: ourDer })),
    id: ourId,
  });
  const short = SslSession.create({ id: Buffer.from('0102030405', 'hex'), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 7) });
  hellos.push({
    name: 'our connect() offering a 5-byte id',
    bytes: await captureClientHello((p) => connect({ host: '127.0.0.1', port: p, rejectUnauthorized: false, session: short })),
    id: Buffer.from('0102030405', 'hex'),
  });
  short.free();
  hellos.push({
    name: 'node:tls TLS 1.2, no session',
    bytes: await captureClientHello((p) => tls.connect({ host: '127.0.0.1', port: p, maxVersion: 'TLSv1.2', rejectUnauthorized: false })),
    id: undefined,
  });
  hellos.push({
    name: 'node:tls TLS 1.2 with a session',
    bytes: await captureClientHello((p) =>
      tls.connect({ host: '127.0.0.1', port: p, maxVersion: 'TLSv1.2', rejectUnauthorized: false, session: nodeSession, servername: 'localhost' }),
    ),
    id: serverSessions[1].id, // the id our server gave Node's connection
  });
  // TLS 1.3-capable Node sends a random 32-byte legacy id (middlebox compatibility)
  const v13 = await captureClientHello((p) => tls.connect({ host: '127.0.0.1', port: p, rejectUnauthorized: false }));
  hellos.push({ name: 'node:tls TLS 1.3-capable (random legacy id)', bytes: v13, id: v13.subarray(idEnd(0), idEnd(32)) });
  expect(v13[idEnd(0) - 1]).toBe(32);
}, 30000);

describe('real ClientHellos', () => {
  test('the captured hellos are what we think they are', () => {
    expect(hellos.map((h) => h.name)).toHaveLength(6);
    for (const h of hellos) {
      expect(h.bytes[0]).toBe(22); // handshake record
      expect(h.bytes[5]).toBe(1); // ClientHello
    }
    // Node offers the id our server gave it: 32 bytes (the server's session id length)
    expect(hellos[4].id!.length).toBe(32);
    expect(hellos[1].id!.length).toBe(32);
  });

  test('in one chunk: the offered id, or no session', () => {
    for (const h of hellos) {
      const { result, buffered } = parseAll([h.bytes]);
      expect(result).toEqual({ kind: 'tls', sessionId: h.id });
      expect(buffered.equals(h.bytes)).toBe(true);
    }
  });

  test('byte by byte: decided exactly when the last id byte arrives', () => {
    for (const h of hellos) {
      const { result, pushes, buffered } = parseAll(bytewise(h.bytes));
      expect(result).toEqual({ kind: 'tls', sessionId: h.id });
      expect(pushes).toBe(idEnd(h.id ? h.id.length : 0));
      expect(buffered.equals(h.bytes.subarray(0, pushes))).toBe(true);
    }
  });

  test('every two-chunk split of the record gives the same answer and keeps every byte', () => {
    for (const h of hellos) {
      for (let i = 1; i < h.bytes.length; i++) {
        const chunks = [h.bytes.subarray(0, i), h.bytes.subarray(i)];
        const { result, buffered, pushes } = parseAll(chunks);
        expect(result).toEqual({ kind: 'tls', sessionId: h.id });
        expect(buffered.equals(Buffer.concat(chunks.slice(0, pushes)))).toBe(true);
      }
    }
  });

  test('the handshake message split across two TLS records, at every offset', () => {
    for (const h of hellos) {
      const hsLength = h.bytes.length - 5;
      for (let k = 1; k < hsLength; k++) {
        const framed = reframe(h.bytes, [k]);
        expect(framed.length).toBe(h.bytes.length + 5);
        expect(parseAll([framed]).result).toEqual({ kind: 'tls', sessionId: h.id });
      }
      // and fed byte by byte, for a cut inside the random and one inside the id
      for (const k of [10, idEnd(0) - 5 + 3]) {
        expect(parseAll(bytewise(reframe(h.bytes, [k]))).result).toEqual({ kind: 'tls', sessionId: h.id });
      }
    }
  });

  test('one record per handshake byte (the smallest records a peer may send)', () => {
    for (const h of hellos) {
      const hsLength = h.bytes.length - 5;
      const cuts = Array.from({ length: hsLength - 1 }, (_, i) => i + 1);
      const framed = reframe(h.bytes, cuts);
      expect(parseAll([framed]).result).toEqual({ kind: 'tls', sessionId: h.id });
      expect(parseAll(bytewise(framed)).result).toEqual({ kind: 'tls', sessionId: h.id });
    }
  });

  test('truncated hellos are undecided (need more bytes), never a throw', () => {
    for (const h of hellos) {
      const end = idEnd(h.id ? h.id.length : 0);
      for (let i = 0; i < end; i++) {
        const p = new ClientHelloParser();
        expect(p.push(h.bytes.subarray(0, i))).toBeUndefined();
      }
    }
  });
});

test('a hello that offers a session ticket says so (ticket: true) when the extension arrives with the id', async () => {
  const server = createServer({ cert, key, noTicket: false });
  const sockets = track(server);
  server.on('secureConnection', (s: TLSSocket) => s.resume());
  const port = await listen(server);
  const n = tls.connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', maxVersion: 'TLSv1.2' });
  const ticketSession = await next<Buffer>(n, 'session');
  n.end();
  await closed(n);
  await close(server, sockets);
  const bytes = await captureClientHello((p) =>
    tls.connect({ host: '127.0.0.1', port: p, maxVersion: 'TLSv1.2', rejectUnauthorized: false, session: ticketSession, servername: 'localhost' }),
  );
  const whole = parseAll([bytes]).result!;
  expect(whole.ticket).toBe(true);
  expect(whole.kind).toBe('tls');
  // OpenSSL 3 names a ticketed session by a 32-byte id of its own (offered alongside)
  expect(whole.sessionId?.length).toBe(32);
  // decided at the id: cut before the extension arrives, the ticket is not known (and the
  // server looks the id up, which is harmless)
  expect(parseAll(bytewise(bytes)).result).toEqual({ kind: 'tls', sessionId: whole.sessionId });
  // in two records that arrive together, the extension is read across them
  expect(parseAll([reframe(bytes, [60])]).result).toEqual(whole);
});

describe('SSLv2-compatible, oversized, malformed', () => {
  // SSLv2-framed ClientHello asking for TLS 1.0 (what very old clients send)
  function sslv2Hello(sessionId: Buffer = Buffer.alloc(0)): Buffer {
    const ciphers = Buffer.from([0x00, 0x00, 0x2f, 0x00, 0x00, 0x35, 0x00, 0x00, 0x0a]); // AES128-SHA, AES256-SHA, DES-CBC3-SHA
    const challenge = Buffer.alloc(32, 0xab);
    const body = Buffer.alloc(9);
    body[0] = 1; // CLIENT-HELLO
    body.writeUInt16BE(0x0301, 1);
    body.writeUInt16BE(ciphers.length, 3);
    body.writeUInt16BE(sessionId.length, 5);
    body.writeUInt16BE(challenge.length, 7);
    const msg = Buffer.concat([body, ciphers, sessionId, challenge]);
    const hdr = Buffer.from([0x80 | (msg.length >> 8), msg.length & 0xff]);
    return Buffer.concat([hdr, msg]);
  }

  test('SSLv2-compatible hello: no session (1.0.2 does not resume from one), in any split', () => {
    for (const b of [sslv2Hello(), sslv2Hello(Buffer.alloc(16, 1))]) {
      expect(parseAll([b]).result).toEqual({ kind: 'sslv2', sessionId: undefined });
      const bw = parseAll(bytewise(b));
      expect(bw.result).toEqual({ kind: 'sslv2', sessionId: undefined });
      expect(bw.pushes).toBe(3);
    }
  });

  test('an SSLv2-compatible hello reaches OpenSSL intact: the server answers with a TLS ServerHello', async () => {
    const store = new MemorySessionStore();
    const server = createServer({ cert, key, sessionStore: store, handshakeTimeout: 5000 });
    const sockets = track(server);
    server.on('tlsClientError', () => {});
    const port = await listen(server);
    try {
      const raw = net.connect({ host: '127.0.0.1', port });
      await next(raw, 'connect');
      raw.write(sslv2Hello());
      let got = Buffer.alloc(0);
      await new Promise<void>((resolve, reject) => {
        raw.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length >= 6) resolve();
        });
        raw.on('error', reject);
        raw.on('close', () => reject(new Error(`closed after ${got.length} bytes`)));
      });
      expect(got[0]).toBe(22); // handshake record
      expect(got.readUInt16BE(1)).toBe(0x0301); // TLS 1.0, as the v2 hello asked
      expect(got[5]).toBe(2); // ServerHello
      raw.destroy();
    } finally {
      await close(server, sockets);
    }
  });

  test('oversized lengths are refused at once, without buffering more', () => {
    const p = new ClientHelloParser();
    expect(p.push(Buffer.from([22, 3, 1, 0xff, 0xff]))).toEqual({ kind: 'invalid', sessionId: undefined });
    // 2^14 + 2048 is the largest record a peer may send; one more byte is too much
    const ok = parseAll([Buffer.from([22, 3, 1, 0x48, 0x00])]);
    expect(ok.result).toBeUndefined();
    expect(parseAll([Buffer.from([22, 3, 1, 0x48, 0x01])]).result).toEqual({ kind: 'invalid', sessionId: undefined });
    // a session id longer than 32 bytes
    const hello = hellos[1].bytes;
    const long = Buffer.from(hello);
    long[idEnd(0) - 1] = 33;
    expect(parseAll([long]).result).toEqual({ kind: 'invalid', sessionId: undefined });
    // a ClientHello too short to hold version, random and id length
    const tiny = Buffer.from(hello);
    tiny.writeUIntBE(34, 6, 3);
    expect(parseAll([tiny]).result).toEqual({ kind: 'invalid', sessionId: undefined });
    // an id length running past the message length
    const past = Buffer.from(hello);
    past.writeUIntBE(2 + 32 + 1 + 10, 6, 3);
    expect(parseAll([past]).result).toEqual({ kind: 'invalid', sessionId: undefined });
  });

  test('malformed and garbage: "no session" as soon as it is clear', () => {
    const base = hellos[1].bytes;
    const mutate = (at: number, v: number) => {
      const b = Buffer.from(base);
      b[at] = v;
      return b;
    };
    const cases: [string, Buffer, number][] = [
      ['HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 1],
      ['application data record', mutate(0, 23), 1],
      ['alert record', mutate(0, 21), 1],
      ['record version major 2', mutate(1, 2), 5],
      ['zero-length record', Buffer.from([22, 3, 1, 0, 0, 1, 0, 0]), 5],
      ['ServerHello instead of ClientHello', mutate(5, 2), 6],
      ['client version major 2', mutate(9, 2), idEnd(0)],
      ['all zeros', Buffer.alloc(100), 1],
      ['all 0xff', Buffer.alloc(100, 0xff), 3],
      ['SSLv2 header with a non-hello type', Buffer.from([0x80, 0x20, 0x04, 0, 0]), 3],
      ['SSLv2 header with a length below 9', Buffer.from([0x80, 0x05, 0x01, 3, 1]), 3],
      ['a handshake record followed by an alert record', Buffer.concat([record(22, base.subarray(5, 20)), record(21, Buffer.from([2, 40]))]), 25],
    ];
    for (const [name, bytes, decidedAfter] of cases) {
      const whole = parseAll([bytes]);
      expect({ name, result: whole.result }).toEqual({ name, result: { kind: 'invalid', sessionId: undefined } });
      const bw = parseAll(bytewise(bytes));
      expect({ name, result: bw.result, pushes: bw.pushes }).toEqual({
        name,
        result: { kind: 'invalid', sessionId: undefined },
        pushes: decidedAfter,
      });
    }
  });

  test('random bytes in random splits: never a throw, the same answer as in one piece, decided by the limit', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.array(fc.nat(300), { maxLength: 8 }),
        fc.boolean(),
        (bytes, cutList, asRecord) => {
          // half of the runs look like a handshake record header, so the parser goes deep
          const data = asRecord ? Buffer.concat([Buffer.from([22, 3, 1, bytes.length >> 8, bytes.length & 0xff, 1]), Buffer.from(bytes)]) : Buffer.from(bytes);
          const cuts = [...new Set(cutList.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let at = 0;
          for (const c of [...cuts, data.length]) {
            chunks.push(data.subarray(at, c));
            at = c;
          }
          const one = parseAll([data]).result;
          const split = parseAll(chunks).result;
          expect(split).toEqual(one);
          if (one) expect(['tls', 'sslv2', 'invalid']).toContain(one.kind);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('bounded: any input is decided within the bytes of 71 one-byte records', () => {
    // a ClientHello needs at most 4 + 2 + 32 + 1 + 32 = 71 handshake bytes to show its id,
    // and each record carries at least one, so 71 * 6 bytes always decide (far below the
    // parser's hard limit)
    expect(CLIENT_HELLO_PARSE_LIMIT).toBeGreaterThan(71 * 6);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 71 * 6, maxLength: 71 * 6 + 50 }), fc.boolean(), (bytes, oneByteRecords) => {
        let data = Buffer.from(bytes);
        if (oneByteRecords) {
          // well-formed framing around random content: the worst case for the parser
          data = Buffer.concat([...bytes.subarray(0, 71)].map((x) => record(22, Buffer.from([x]))));
          data[5] = 1;
        }
        expect(parseAll([data]).result).toBeDefined();
        expect(parseAll(bytewise(data)).result).toBeDefined();
      }),
      { numRuns: 200 },
    );
  });
});

describe('a real server reads ids from re-framed hellos', () => {
  test('a resumption offer whose ClientHello is split across two records (inside the id) resumes via the store', async () => {
    const store = new MemorySessionStore();
    const gets: string[] = [];
    const spy = {
      get: (id: Buffer) => {
        gets.push(id.toString('hex'));
        return store.get(id);
      },
      set: (id: Buffer, der: Buffer, ttl: number) => store.set(id, der, ttl),
      delete: (id: Buffer) => store.delete(id),
    };
    const server = createServer({ cert, key, sessionStore: spy });
    const sockets = track(server);
    server.on('secureConnection', (s: TLSSocket) => s.resume());
    const port = await listen(server);
    // a proxy that re-frames the client's first record into two records cut inside the id
    const proxy = net.createServer((inbound) => {
      const outbound = net.connect({ host: '127.0.0.1', port });
      let first: Buffer | undefined = Buffer.alloc(0);
      inbound.on('data', (d: Buffer) => {
        if (!first) {
          outbound.write(d);
          return;
        }
        first = Buffer.concat([first, d]);
        if (first.length < 5 || first.length < 5 + first.readUInt16BE(3)) return;
        const len = 5 + first.readUInt16BE(3);
        outbound.write(reframe(first.subarray(0, len), [4 + 2 + 32 + 1 + 16]));
        outbound.write(first.subarray(len));
        first = undefined;
      });
      outbound.pipe(inbound);
      inbound.on('end', () => outbound.end());
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    const proxyPort = await listen(proxy);
    try {
      const stored = next<Buffer>(server, 'sessionStored');
      const a = connect({ host: '127.0.0.1', port: proxyPort, ca: cert, servername: 'localhost' });
      await next(a, 'secureConnect');
      expect(a.isSessionReused()).toBe(false);
      const der = a.getSession()!;
      a.end();
      await closed(a);
      const id = await stored;
      expect(store.size).toBe(1);
      // what the first connection offered: nothing, so no lookup
      expect(gets).toEqual([]);
      // the server keeps nothing itself (NO_INTERNAL_STORE): the offer needs the store
      expect(server.context.sessionCount).toBe(0);
      const b = connect({ host: '127.0.0.1', port: proxyPort, ca: cert, servername: 'localhost', session: der });
      await next(b, 'secureConnect');
      expect(b.isSessionReused()).toBe(true);
      expect(gets).toEqual([id.toString('hex')]);
      b.end();
      await closed(b);
    } finally {
      await close(proxy);
      await close(server, sockets);
    }
  });
});
