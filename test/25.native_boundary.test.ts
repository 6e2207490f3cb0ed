// The typed native boundary (lib/binding/native.ts): the binding's `constants` hold OpenSSL
// 1.0.2's numbers under the literal types lib/binding/native.ts declares, and stats(), info()
// and takeEvents() hand over named objects rather than positional arrays.
import { native } from '../lib/binding/native';
import { generateSelfSigned, SslContext, SslSession } from '../lib';
import { kHandle } from '../lib/openssl/internal';

test('constants: the values lib/binding/native.ts types them with, frozen', () => {
  const c = native.constants;
  expect(c).toEqual({
    SSL3_VERSION: 0x0300,
    TLS1_VERSION: 0x0301,
    TLS1_1_VERSION: 0x0302,
    TLS1_2_VERSION: 0x0303,
    DTLS1_VERSION: 0xfeff,
    DTLS1_2_VERSION: 0xfefd,
    DTLS1_BAD_VER: 0x0100,
    PROTOCOL_VERSIONS: { SSLv3: 0x0300, TLSv1: 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, DTLSv1: 0xfeff, 'DTLSv1.2': 0xfefd, 'DTLSv0.9': 0x0100 },
    SSL_OP_NO_TICKET: 0x00004000,
    SSL_OP_NO_TLSv1: 0x04000000,
    SSL_OP_NO_TLSv1_1: 0x10000000,
    SSL_OP_NO_TLSv1_2: 0x08000000,
    // ssl.h of 1.0.2h: the bits secureOptions / honorCipherOrder may set
    SSL_OP_CIPHER_SERVER_PREFERENCE: 0x00400000,
    SSL_OP_ALL: 0x80000bff,
    SSL_OP_NO_SSLv3: 0x02000000,
    SSL_OP_NO_COMPRESSION: 0x00020000,
    SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION: 0x00010000,
    SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION: 0x00040000,
    SSL_OP_LEGACY_SERVER_CONNECT: 0x00000004,
    SSL_OP_TLS_ROLLBACK_BUG: 0x00800000,
    SSL_OP_CRYPTOPRO_TLSEXT_BUG: 0x80000000,
    SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS: 0x00000800,
    SSL_OP_CISCO_ANYCONNECT: 0x00008000,
    SSL_OP_COOKIE_EXCHANGE: 0x00002000,
    SSL_OP_NO_QUERY_MTU: 0x00001000,
    SSL_OP_SINGLE_DH_USE: 0x00100000,
    SSL_OP_SINGLE_ECDH_USE: 0x00080000,
    SSL_VERIFY_NONE: 0,
    SSL_VERIFY_PEER: 1,
    SSL_VERIFY_FAIL_IF_NO_PEER_CERT: 2,
    SSL_SESS_CACHE_OFF: 0,
    SSL_SESS_CACHE_CLIENT: 1,
    SSL_SESS_CACHE_SERVER: 2,
    SSL_SESS_CACHE_BOTH: 3,
    SSL_SESS_CACHE_NO_AUTO_CLEAR: 0x80,
    SSL_SESS_CACHE_NO_INTERNAL_LOOKUP: 0x100,
    SSL_SESS_CACHE_NO_INTERNAL_STORE: 0x200,
    SSL_SESS_CACHE_NO_INTERNAL: 0x300,
    SSL_MAX_SSL_SESSION_ID_LENGTH: 32,
    SSL_MAX_SID_CTX_LENGTH: 32,
    SSL_MAX_MASTER_KEY_LENGTH: 48,
    EVENT_NEW_SESSION: 1,
    EVENT_REMOVE_SESSION: 2,
    EVENT_NEW_SESSION_DER: 4,
    EVENT_EVICTED: 0x100,
    ADD_IN_OTHER_CONTEXT: -2,
    ADD_OTHER_ID: -3,
    ADD_UNDECODABLE: -4,
    CYCLE_HANDSHAKE_DONE: 1,
    CYCLE_PEER_CLOSED: 2,
    CYCLE_FAILED: 4,
    CYCLE_MORE_PLAINTEXT: 8,
    CYCLE_WANTS_MORE_INPUT: 16,
    CYCLE_RENEGOTIATION: 32,
  });
  expect(Object.keys(c.PROTOCOL_VERSIONS)).toEqual(['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'DTLSv1', 'DTLSv1.2', 'DTLSv0.9']);
  expect(Object.isFrozen(c)).toBe(true);
  expect(Object.isFrozen(c.PROTOCOL_VERSIONS)).toBe(true);
});

test('stats(): the SSL_CTX_sess_* counters by name', () => {
  const ctx = new SslContext();
  const s = SslSession.create({ id: Buffer.alloc(32, 1) });
  ctx.addSession(s);
  expect(ctx[kHandle].stats()).toEqual({
    number: 1,
    connect: 0,
    connectGood: 0,
    connectRenegotiate: 0,
    accept: 0,
    acceptGood: 0,
    acceptRenegotiate: 0,
    hits: 0,
    cbHits: 0,
    misses: 0,
    timeouts: 0,
    cacheFull: 0,
  });
  ctx.free();
  s.free();
});

test('takeEvents(): [{ type, session }] in OpenSSL order', () => {
  const ctx = new SslContext();
  const h = ctx[kHandle];
  const a = SslSession.create({ id: Buffer.alloc(32, 1) });
  const b = SslSession.create({ id: Buffer.alloc(32, 2) });
  ctx.addSession(a);
  ctx.addSession(b);
  h.setEventMask(native.constants.EVENT_REMOVE_SESSION);
  native.SslContextHandle.removeSlot(h.slot, a[kHandle].slot());
  h.flush(0);
  const events = h.takeEvents();
  expect(events.map((e) => [Object.keys(e), e.type])).toEqual([
    [['type', 'session'], native.constants.EVENT_REMOVE_SESSION],
    [['type', 'session'], native.constants.EVENT_REMOVE_SESSION],
  ]);
  expect(events[0].session!.same(a[kHandle])).toBe(true);
  expect(events[1].session!.same(b[kHandle])).toBe(true);
  for (const e of events) e.session!.free();
  expect(h.takeEvents()).toEqual([]);
  ctx.free();
  a.free();
  b.free();
});

describe('the new-session event as bytes (EVENT_NEW_SESSION_DER) and removal by id', () => {
  const pki = generateSelfSigned({ commonName: 'localhost', bits: 1024, days: 1 });
  let server: SslContext;
  let client: SslContext;
  beforeEach(() => {
    server = new SslContext({ cert: pki.cert, key: pki.key, noTicket: true, sessionTimeout: 123 });
    client = new SslContext({ role: 'client', noTicket: true });
  });
  afterEach(() => {
    server.free();
    client.free();
  });
  // the binding's handshake, without lib's settling (which would take the events itself)
  const nativeHandshake = () => native.handshake(client[kHandle], server[kHandle], undefined, undefined, true);

  test('DER bit only: id, DER and timeout of the session, serialized in the callback, and no handle', () => {
    const h = server[kHandle];
    h.setEventMask(native.constants.EVENT_NEW_SESSION_DER);
    const r = nativeHandshake();
    const events = h.takeEvents();
    expect(events.map((e) => [Object.keys(e), e.type])).toEqual([[['type', 'session', 'id', 'der', 'timeout'], native.constants.EVENT_NEW_SESSION]]);
    const [e] = events;
    expect(e.session).toBeUndefined();
    expect(e.id).toEqual(r.serverSession.id());
    expect(e.id!.length).toBe(32);
    expect(e.der).toEqual(r.serverSession.toDER());
    expect(e.timeout).toBe(123);
    // the cache holds its reference, the result handle one: the event kept none
    expect(r.serverSession.references()).toBe(2);
    r.clientSession.free();
    r.serverSession.free();
  });

  test('both bits: the handle and the bytes of the same session', () => {
    const h = server[kHandle];
    h.setEventMask(native.constants.EVENT_NEW_SESSION | native.constants.EVENT_NEW_SESSION_DER);
    const r = nativeHandshake();
    const [e, ...rest] = h.takeEvents();
    expect(rest).toEqual([]);
    expect(e.session!.same(r.serverSession)).toBe(true);
    expect(e.der).toEqual(e.session!.toDER());
    expect(e.id).toEqual(e.session!.id());
    e.session!.free();
    r.clientSession.free();
    r.serverSession.free();
  });

  test('without either bit nothing is recorded', () => {
    const h = server[kHandle];
    h.setEventMask(native.constants.EVENT_REMOVE_SESSION);
    const r = nativeHandshake();
    expect(h.takeEvents()).toEqual([]);
    r.clientSession.free();
    r.serverSession.free();
  });

  test('removeId: SSL_CTX_remove_session of the cached session with that id and protocol, no handle made', () => {
    const h = server[kHandle];
    const r = nativeHandshake();
    const id = r.serverSession.id();
    const v = r.serverSession.version();
    expect(server.sessionCount).toBe(1);
    expect(h.removeId(id, native.constants.TLS1_1_VERSION)).toBe(0); // another protocol: not that session
    expect(server.sessionCount).toBe(1);
    h.setEventMask(native.constants.EVENT_REMOVE_SESSION);
    expect(h.removeId(id, v)).toBe(1);
    expect(server.sessionCount).toBe(0);
    const [e, ...rest] = h.takeEvents();
    expect(rest).toEqual([]);
    expect(e.type).toBe(native.constants.EVENT_REMOVE_SESSION);
    expect(e.session!.same(r.serverSession)).toBe(true);
    e.session!.free();
    expect(h.removeId(id, v)).toBe(0);
    expect(() => h.removeId(Buffer.alloc(0), v)).toThrow(RangeError);
    expect(() => h.removeId('x' as unknown as Buffer, v)).toThrow(TypeError);
    // the result handle's reference is the only one left
    expect(r.serverSession.references()).toBe(1);
    r.clientSession.free();
    r.serverSession.free();
  });
});

test('TlsConnection.info(): named fields', () => {
  const pki = generateSelfSigned({ commonName: 'localhost', bits: 1024, days: 1 });
  const server = new SslContext({ cert: pki.cert, key: pki.key });
  const conn = new native.TlsConnection(server[kHandle], true, {});
  const info = conn.info();
  expect(Object.keys(info)).toEqual(['reused', 'protocol', 'cipherName', 'cipherVersion', 'verifyResult', 'verifyError', 'servername']);
  expect(info).toMatchObject({ reused: false, verifyResult: 0, verifyError: undefined, servername: undefined });
  conn.free();
  server.free();
});
