// Two 1.0.2 facts the docs state: a decoded session knows its cipher (d2i_SSL_SESSION keeps
// only cipher_id; the binding resolves it as ssl_get_prev_session would), and a tickets-on
// server gives a new session an empty id only when the client sent the SessionTicket
// extension (tlsext_ticket_expected); a client with SSL_OP_NO_TICKET gets a 32-byte id that
// the server caches, announces and resumes.
import { SslSession, handshake } from '../lib';
import type { SslContextOptions } from '../lib';
import { contextsPerTest, localhostPki, newId } from './helpers/util';

let pki: { cert: string; key: string };
beforeAll(() => {
  pki = localhostPki();
});

const ctx = contextsPerTest();
const ticketServer = (options: SslContextOptions = {}) => ctx({ cert: pki.cert, key: pki.key, ...options });
const client = (options: SslContextOptions = {}) => ctx({ role: 'client', ...options });

describe('cipher of a decoded session', () => {
  test.each(['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-GCM-SHA256', 'DES-CBC3-SHA'])(
    'fromDER / fromPEM of a created %s session',
    (cipher) => {
      const s = SslSession.create({ id: newId(), cipher, masterKey: Buffer.alloc(48, 7) });
      const der = SslSession.fromDER(s.toDER());
      const pem = SslSession.fromPEM(s.toPEM());
      expect(der.cipher).toBe(cipher);
      expect(pem.cipher).toBe(cipher);
      // the encoding is unchanged by resolving the cipher
      expect(der.toDER().equals(s.toDER())).toBe(true);
      expect(der.toText()).toContain(cipher);
      for (const x of [s, der, pem]) x.free();
    },
  );

  test('the session of a real AES128-SHA handshake, written and read back', () => {
    const r = handshake(client(), ticketServer({ noTicket: true, ciphers: 'AES128-SHA' }));
    expect(r.cipher).toBe('AES128-SHA');
    const back = SslSession.fromDER(r.clientSession.toDER());
    expect(back.cipher).toBe('AES128-SHA');
    const pem = SslSession.fromPEM(r.serverSession.toPEM());
    expect(pem.cipher).toBe('AES128-SHA');
    back.free();
    pem.free();
  });

  test('a suite 1.0.2 does not know stays undefined and encodes back to the same bytes', () => {
    // TLS_AES_128_GCM_SHA256 (0x1301) has no 1.0.2 cipher object
    const s = SslSession.create({ id: newId(), cipher: 'AES128-SHA', masterKey: Buffer.alloc(48, 7) });
    const der = Buffer.from(s.toDER());
    const at = der.indexOf(Buffer.from([0x04, 0x02, 0x00, 0x2f]));
    expect(at).toBeGreaterThan(0);
    der[at + 2] = 0x13;
    der[at + 3] = 0x01;
    const d = SslSession.fromDER(der);
    expect(d.cipher).toBeUndefined();
    expect(d.toDER().equals(der)).toBe(true);
    expect(d.toText()).toContain('1301');
    s.free();
    d.free();
  });
});

describe('a tickets-on server and the two kinds of client', () => {
  test('a client that sends the SessionTicket extension: empty id, nothing cached, no event; the ticket resumes', () => {
    const s = ticketServer();
    const c = client();
    const events: string[] = [];
    s.on('newSession', () => events.push('new'));
    const r = handshake(c, s);
    expect(r.serverSession.id.length).toBe(0);
    expect(s.sessionCount).toBe(0);
    expect(events).toEqual([]);
    const r2 = handshake(c, s, { session: r.clientSession });
    expect(r2.resumed).toBe(true);
    expect(s.sessionCount).toBe(0);
    expect(s.stats).toMatchObject({ hits: 1, misses: 0 });
  });

  test('a noTicket client: a 32-byte id, cached, announced and resumed from the cache', () => {
    const s = ticketServer();
    const c = client({ noTicket: true });
    const announced: Buffer[] = [];
    s.on('newSession', (x: SslSession) => announced.push(x.id));
    const r = handshake(c, s);
    expect(r.serverSession.id.length).toBe(32);
    expect(r.clientSession.id.equals(r.serverSession.id)).toBe(true);
    expect(s.sessionCount).toBe(1);
    expect(announced.map((b) => b.toString('hex'))).toEqual([r.serverSession.id.toString('hex')]);
    expect(s.getSession(r.serverSession.id)?.equals(r.serverSession)).toBe(true);
    for (let i = 0; i < 5; i++) {
      const again = handshake(c, s, { session: r.clientSession });
      expect(again.resumed).toBe(true);
    }
    // resumed from the id cache: five hits, no misses, still one session
    expect(s.stats).toMatchObject({ hits: 5, misses: 0 });
    expect(s.sessionCount).toBe(1);
    expect(announced.length).toBe(1);
  });

  test('the same two clients against one server: only the noTicket one leaves a session in the cache', () => {
    const s = ticketServer();
    const withTicket = handshake(client(), s);
    const noTicket = handshake(client({ noTicket: true }), s);
    expect(withTicket.serverSession.id.length).toBe(0);
    expect(noTicket.serverSession.id.length).toBe(32);
    expect(s.sessions().map((x) => x.id.toString('hex'))).toEqual([noTicket.serverSession.id.toString('hex')]);
  });
});
