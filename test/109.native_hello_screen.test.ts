// The native listener's hello screen (native_listener_hello.cc, OrdinaryHello): while a server
// has no SNI contexts and no revoked tickets, a ClientHello that none of node:tls's refusals
// (lib/tls/hello_policy.ts) can apply to goes to OpenSSL without a call into JS. The rules
// stay lib's; the screen must never pass a hello they would refuse. Checked here against the
// rules themselves — every well-formed combination of versions and ALPN lists, real clients'
// hellos and thousands of damaged ones — and end to end: which hellos still reach the gate,
// and that addContext(), setSecureContext(), a revocation and a store after listen() turn
// the screen off.
import { randomBytes } from 'crypto';
import * as tls from 'tls';
import { ClientHelloParser, createServer, generateSelfSigned, MemorySessionStore, SslContext } from '../lib';
import type { TlsServer } from '../lib';
import { screenHello } from '../lib/binding/native_listener';
import { Prng } from '../lib/conformance/prng';
import { helloRefusal } from '../lib/tls/hello_policy';
import { NativeHelloGates } from '../lib/tls/native_hello';
import { captureClientHello, certs, handshakeBytes, listen, next, record } from './helpers/sockets';

const { cert, key } = certs();
const OTHER = generateSelfSigned({ commonName: 'other.test', bits: 1024 });
const ROTATED = generateSelfSigned({ commonName: 'rotated.test', bits: 1024 });

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const ext = (type: number, data: Buffer) => Buffer.concat([u16(type), u16(data.length), data]);
const names = (list: string[]) => Buffer.concat(list.map((n) => Buffer.concat([u8(n.length), Buffer.from(n)])));
const supportedVersions = (versions: number[]) => ext(43, Buffer.concat([u8(versions.length * 2), ...versions.map(u16)]));
const alpnExtension = (list: string[]) => {
  const wire = names(list);
  return ext(16, Buffer.concat([u16(wire.length), wire]));
};

/** a ClientHello handshake message: header, version, random, id, one cipher, null compression, extensions */
function helloMessage(version: number, extensions: Buffer[] | undefined, sessionId = Buffer.alloc(0)): Buffer {
  const parts = [u16(version), Buffer.alloc(32, 7), u8(sessionId.length), sessionId, u16(2), u16(0xc02f), u8(1), u8(0)];
  if (extensions !== undefined) {
    const all = Buffer.concat(extensions);
    parts.push(u16(all.length), all);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([u8(1), u24(body.length), body]);
}

const SERVER_ALPN: Array<[string, Buffer | undefined]> = [
  ['none', undefined],
  ['http/1.1', names(['http/1.1'])],
  ['h2, http/1.1', names(['h2', 'http/1.1'])],
];
const MIN_VERSIONS = [0x0301, 0x0302, 0x0303];

/** what lib's rules say of `message` on a server of `minVersion` and `alpn` */
function rules(message: Buffer, minVersion: number, alpn: Buffer | undefined): { kind: string; refused: boolean } {
  const parsed = new ClientHelloParser({ extensions: true }).push(record(22, message));
  if (!parsed) return { kind: 'incomplete', refused: false };
  return { kind: parsed.kind, refused: helloRefusal(parsed, alpn, minVersion) !== undefined };
}

/** the screen's answer for `message` */
const screen = (message: Buffer, minVersion: number, alpn: Buffer | undefined) => screenHello(message, minVersion, alpn ?? Buffer.alloc(0));

let real: Array<[string, Buffer]>;
beforeAll(async () => {
  const clients: Array<[string, tls.ConnectionOptions]> = [
    ['node default', {}],
    ['TLS 1.2, http/1.1', { maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] }],
    ['h2 then http/1.1', { ALPNProtocols: ['h2', 'http/1.1'] }],
    ['TLS 1.3 only, x', { minVersion: 'TLSv1.3', ALPNProtocols: ['x'] }],
    ['TLS 1.3 only', { minVersion: 'TLSv1.3' }],
    ['with a session id', { maxVersion: 'TLSv1.2', session: undefined }],
  ];
  real = [];
  for (const [name, o] of clients) {
    const hello = await captureClientHello((port) => tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...o }));
    real.push([name, handshakeBytes(hello)]);
  }
}, 30000);

describe('the screen against hello_policy.ts', () => {
  test('every well-formed combination: the screen passes a hello exactly when no rule refuses it', () => {
    const versionLists: Array<number[] | undefined> = [undefined, [], [0x0304], [0x0304, 0x0303], [0x0a0a, 0x0304], [0x0a0a], [0x0302, 0x0301], [0x0303], [0x7a7a, 0x0303, 0x0302]];
    const alpnLists: Array<string[] | undefined> = [undefined, [], ['http/1.1'], ['h2'], ['x', 'h2'], ['http/1.1', 'h2']];
    let passed = 0;
    let checked = 0;
    for (const version of [0x0300, 0x0301, 0x0302, 0x0303]) {
      for (const sv of versionLists) {
        for (const offered of alpnLists) {
          const extensions = [ext(0, Buffer.from('0009000006' + Buffer.from('a.test').toString('hex'), 'hex'))];
          if (sv) extensions.push(supportedVersions(sv));
          if (offered) extensions.push(alpnExtension(offered));
          const message = helloMessage(version, extensions);
          for (const min of MIN_VERSIONS) {
            for (const [, alpn] of SERVER_ALPN) {
              const r = rules(message, min, alpn);
              expect(r.kind).toBe('tls');
              expect({ version, sv, offered, min, alpn: alpn?.toString('latin1'), screened: screen(message, min, alpn) }).toEqual({
                version,
                sv,
                offered,
                min,
                alpn: alpn?.toString('latin1'),
                screened: !r.refused,
              });
              checked++;
              if (!r.refused) passed++;
            }
          }
        }
      }
    }
    // both answers occur many times
    expect(checked).toBe(4 * 9 * 6 * 3 * 3);
    expect(passed).toBeGreaterThan(500);
    expect(checked - passed).toBeGreaterThan(500);
  });

  test('a hello without extensions, or with an empty extension block', () => {
    for (const min of MIN_VERSIONS) {
      for (const version of [0x0301, 0x0303]) {
        for (const message of [helloMessage(version, undefined), helloMessage(version, [])]) {
          expect(screen(message, min, names(['h2']))).toBe(!rules(message, min, names(['h2'])).refused);
        }
      }
    }
  });

  test("real clients' hellos: ordinary ones pass, the refused ones do not", () => {
    const byName = new Map(real);
    const h11 = names(['http/1.1']);
    expect(screen(byName.get('node default')!, 0x0303, undefined)).toBe(true);
    expect(screen(byName.get('node default')!, 0x0301, h11)).toBe(true);
    expect(screen(byName.get('TLS 1.2, http/1.1')!, 0x0303, h11)).toBe(true);
    expect(screen(byName.get('h2 then http/1.1')!, 0x0303, h11)).toBe(true);
    expect(screen(byName.get('h2 then http/1.1')!, 0x0303, names(['h2']))).toBe(true);
    // refused by the rules: not passed
    expect(screen(byName.get('TLS 1.3 only')!, 0x0303, undefined)).toBe(false);
    expect(screen(byName.get('TLS 1.3 only, x')!, 0x0303, h11)).toBe(false);
    expect(screen(byName.get('TLS 1.2, http/1.1')!, 0x0303, names(['h2']))).toBe(false);
    for (const [, message] of real) {
      for (const min of MIN_VERSIONS) {
        for (const [, alpn] of SERVER_ALPN) expect(screen(message, min, alpn)).toBe(!rules(message, min, alpn).refused);
      }
    }
  });

  test('damaged hellos (bytes changed, lengths wrong, cut short, extensions twice): none the rules refuse is passed', () => {
    // the same damaged hellos on every run
    const rng = new Prng(0x5eed109);
    const next32 = () => rng.below(2 ** 32);
    const bases = [
      ...real.map(([, m]) => m),
      helloMessage(0x0303, [supportedVersions([0x0304]), alpnExtension(['x'])]),
      helloMessage(0x0303, [supportedVersions([0x0304, 0x0303]), alpnExtension(['h2', 'http/1.1'])]),
      helloMessage(0x0301, [alpnExtension(['http/1.1'])], randomBytes(32)),
      // the same extension twice: the rules read the last one
      helloMessage(0x0303, [supportedVersions([0x0303]), supportedVersions([0x0304])]),
      helloMessage(0x0303, [supportedVersions([0x0304]), supportedVersions([0x0303])]),
      helloMessage(0x0303, [alpnExtension(['http/1.1']), alpnExtension(['x'])]),
      helloMessage(0x0303, [alpnExtension(['x']), alpnExtension(['http/1.1'])]),
      // an empty ALPN name
      helloMessage(0x0303, [ext(16, Buffer.from([0, 2, 0, 1, 0x78].slice(0, 4)))]),
    ];
    let passed = 0;
    let total = 0;
    for (const base of bases) {
      for (let i = 0; i < 400; i++) {
        const m = Buffer.from(base);
        const op = next32() % 4;
        if (op === 0) {
          // one to three bytes changed anywhere
          for (let k = 0, n = 1 + (next32() % 3); k < n; k++) m[next32() % m.length] = next32() & 0xff;
        } else if (op === 1) {
          // a byte near the extensions changed (lengths, types)
          const at = Math.max(4, m.length - 1 - (next32() % Math.min(m.length - 4, 120)));
          m[at] = next32() & 0xff;
        } else if (op === 2) {
          // cut short, with the header's length fixed or not
          const cut = 4 + (next32() % (m.length - 4));
          const short = m.subarray(0, cut);
          if (next32() % 2) short.writeUIntBE(cut - 4, 1, 3);
          check(Buffer.from(short));
          continue;
        } else {
          // a header length that disagrees
          m.writeUIntBE((m.readUIntBE(1, 3) + 1 + (next32() % 40)) & 0xffffff, 1, 3);
        }
        check(m);
      }
    }
    function check(m: Buffer): void {
      for (const min of MIN_VERSIONS) {
        for (const [, alpn] of SERVER_ALPN) {
          total++;
          if (!screen(m, min, alpn)) continue;
          passed++;
          const r = rules(m, min, alpn);
          expect({ hex: m.toString('hex'), min, kind: r.kind, refused: r.refused }).toEqual({ hex: m.toString('hex'), min, kind: 'tls', refused: false });
        }
      }
    }
    expect(total).toBeGreaterThan(10000);
    // some damage leaves a hello ordinary (a changed random byte): the implication was exercised
    expect(passed).toBeGreaterThan(500);
  });

  test('wrong argument types are a TypeError', () => {
    expect(() => screenHello('x' as never, 0x0303, Buffer.alloc(0))).toThrow(TypeError);
    expect(() => screenHello(Buffer.alloc(0), '1' as never, Buffer.alloc(0))).toThrow(TypeError);
    expect(screenHello(Buffer.alloc(0), 0x0303, Buffer.alloc(0))).toBe(false);
  });
});

describe('which hellos reach the gate on a native server', () => {
  let gate: jest.SpyInstance;
  beforeEach(() => {
    gate = jest.spyOn(NativeHelloGates.prototype, 'hello');
  });
  afterEach(() => gate.mockRestore());

  /** runs `body` against a native server with `options`, then closes it */
  async function withServer(options: Record<string, unknown>, body: (server: TlsServer, port: number) => Promise<void>): Promise<void> {
    const server = createServer({ cert, key, connectionPath: 'native', ...options } as never, (s) => s.end('ok'));
    const port = await listen(server);
    try {
      await body(server, port);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  /** a node client's connection: the certificate's CN it saw, whether it resumed, the session */
  async function visit(port: number, o: tls.ConnectionOptions = {}): Promise<{ cn: unknown; reused: boolean; session: Buffer | undefined; text: string }> {
    const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2', ...o });
    let session: Buffer | undefined;
    c.on('session', (s: Buffer) => (session = s));
    await next(c, 'secureConnect');
    const cn = c.getPeerCertificate().subject?.CN;
    const reused = c.isSessionReused();
    let text = '';
    c.on('data', (d: Buffer) => (text += d));
    await next(c, 'close');
    return { cn, reused, session, text };
  }

  test('an ordinary hello goes to OpenSSL without the gate; a refused one still meets it', async () => {
    await withServer({ ALPNProtocols: ['http/1.1'] }, async (server, port) => {
      expect((await visit(port, { ALPNProtocols: ['http/1.1'] })).text).toBe('ok');
      expect((await visit(port, { maxVersion: 'TLSv1.3' })).text).toBe('ok');
      expect(gate).not.toHaveBeenCalled();
      const refused = new Promise<Error & { code?: string }>((r) => server.once('tlsClientError', r));
      const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
      c.on('error', () => undefined);
      expect((await refused).code).toBe('ERR_SSL_NO_APPLICATION_PROTOCOL');
      expect(gate).toHaveBeenCalledTimes(1);
    });
  });

  test('addContext() after listen(): the name gets its context, every hello meets the gate', async () => {
    await withServer({}, async (server, port) => {
      expect((await visit(port, { servername: 'other.test' })).cn).toBe('localhost');
      expect(gate).not.toHaveBeenCalled();
      server.addContext('other.test', { cert: OTHER.cert, key: OTHER.key });
      expect((await visit(port, { servername: 'other.test' })).cn).toBe('other.test');
      expect((await visit(port, { servername: 'localhost' })).cn).toBe('localhost');
      expect(gate).toHaveBeenCalledTimes(2);
    });
  });

  test('setSecureContext() after listen(): the new certificate is served', async () => {
    await withServer({}, async (server, port) => {
      expect((await visit(port)).cn).toBe('localhost');
      server.setSecureContext({ cert: ROTATED.cert, key: ROTATED.key });
      expect((await visit(port)).cn).toBe('rotated.test');
      expect(gate).toHaveBeenCalledTimes(1);
    });
  });

  test('a ticket revoked after listen(): its hello meets the gate and the ticket does not resume', async () => {
    const context = new SslContext({ role: 'server', cert, key, noTicket: false });
    context.setTicketKeys(randomBytes(48));
    try {
      await withServer({ context, cert: undefined, key: undefined }, async (server, port) => {
        const victim = await visit(port);
        const bystander = await visit(port);
        expect((await visit(port, { session: victim.session })).reused).toBe(true);
        expect(gate).not.toHaveBeenCalled();
        // the id the client offers with its ticket (what server.revoke takes)
        const hello = await captureClientHello((p) => tls.connect({ host: '127.0.0.1', port: p, maxVersion: 'TLSv1.2', session: victim.session }));
        const id = new ClientHelloParser().push(hello)?.sessionId;
        expect(id?.length).toBeGreaterThan(0);
        await server.revoke(id!);
        expect((await visit(port, { session: victim.session })).reused).toBe(false);
        expect((await visit(port, { session: bystander.session })).reused).toBe(true);
        expect(gate).toHaveBeenCalledTimes(2);
      });
    } finally {
      context.free();
    }
  });

  test('a session store: every hello meets the gate (its prefetch)', async () => {
    await withServer({ sessionStore: new MemorySessionStore() }, async (server, port) => {
      const first = await visit(port);
      expect((await visit(port, { session: first.session })).reused).toBe(true);
      expect(gate).toHaveBeenCalledTimes(2);
    });
  });
});
