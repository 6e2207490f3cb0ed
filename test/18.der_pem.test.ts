// i2d_SSL_SESSION / d2i_SSL_SESSION, PEM, SSL_SESSION_print.
import { OpenSSLError, SslSession } from '../lib';
import {
  catchError,
  children,
  derInt,
  explicit,
  int,
  newId,
  nowSec,
  octets,
  readTlv,
  seq,
  expectKind,
  isError,
} from './helpers/util';

const MK = Buffer.alloc(48, 0x11);

function full(opts: Partial<Parameters<typeof SslSession.create>[0]> = {}): SslSession {
  return SslSession.create({
    id: Buffer.from('deadbeef', 'hex'),
    cipher: 'AES128-GCM-SHA256',
    masterKey: MK,
    time: 1000000000,
    timeout: 300,
    ...opts,
  });
}

/** A 1.0.2 SSL_SESSION_ASN1 with the given pieces (cipher 0x009C, TLS 1.2). */
function der102(p: { id: Buffer; masterKey?: Buffer; time?: number; timeout?: number; sidCtx?: Buffer; version?: number }) {
  const parts = [
    int(1),
    int(p.version ?? 0x0303),
    octets(Buffer.from([0x00, 0x9c])),
    octets(p.id),
    octets(p.masterKey ?? MK),
  ];
  if (p.time !== undefined) parts.push(explicit(1, int(p.time)));
  if (p.timeout !== undefined) parts.push(explicit(2, int(p.timeout)));
  if (p.sidCtx !== undefined) parts.push(explicit(4, octets(p.sidCtx)));
  return seq(...parts);
}

describe('toDER (i2d_SSL_SESSION)', () => {
  test('writes the SSL_SESSION_ASN1 fields of the session', () => {
    const s = full({ idContext: Buffer.from('ctx') });
    const der = s.toDER();
    expect(Buffer.isBuffer(der)).toBe(true);
    const top = readTlv(der);
    expect(top.tag).toBe(0x30);
    expect(top.total).toBe(der.length);
    const f = children(top.value);
    expect(derInt(f[0])).toBe(1); // SSL_SESSION_ASN1_VERSION
    expect(derInt(f[1])).toBe(0x0303); // TLS 1.2
    expect(f[2].tag).toBe(0x04);
    expect(f[2].value.equals(Buffer.from([0x00, 0x9c]))).toBe(true); // AES128-GCM-SHA256
    expect(f[3].value.equals(Buffer.from('deadbeef', 'hex'))).toBe(true); // session id
    expect(f[4].value.equals(MK)).toBe(true); // master key
    const tagged = new Map(f.slice(5).map((t) => [t.tag, t]));
    expect(derInt(readTlv(tagged.get(0xa1)!.value))).toBe(1000000000); // [1] time
    expect(derInt(readTlv(tagged.get(0xa2)!.value))).toBe(300); // [2] timeout
    expect(readTlv(tagged.get(0xa4)!.value).value.equals(Buffer.from('ctx'))).toBe(true); // [4] sid_ctx
    s.free();
  });

  test('the protocol version is encoded (TLSv1.1 → 0x0302, TLSv1 → 0x0301)', () => {
    for (const [protocol, v] of [
      ['TLSv1.1', 0x0302],
      ['TLSv1', 0x0301],
    ] as const) {
      const s = full({ protocol });
      const f = children(readTlv(s.toDER()).value);
      expect(derInt(f[1])).toBe(v);
      s.free();
    }
  });

  test('a session with no cipher → a clear error, not an empty Buffer (i2d returns 0)', () => {
    const s = SslSession.create({ id: newId() });
    let out: unknown;
    const err = catchError(() => {
      out = s.toDER();
    });
    expect(out).toBeUndefined();
    expect(isError(err)).toBe(true);
    expect(String(err.message).length).toBeGreaterThan(0);
    s.free();
  });

  test('toPEM of a session with no cipher → an error too', () => {
    const s = SslSession.create({ id: newId() });
    expect(() => s.toPEM()).toThrow();
    s.free();
  });
});

describe('toDERInto: i2d_SSL_SESSION into the caller\'s memory', () => {
  test('writes the bytes toDER returns, at the offset, and answers how many; they read back', () => {
    const s = full();
    const der = s.toDER();
    const pool = Buffer.alloc(der.length + 20, 0xee);
    expect(s.toDERInto(pool, 7)).toBe(der.length);
    expect(pool.subarray(7, 7 + der.length)).toEqual(der);
    expect(pool.subarray(0, 7)).toEqual(Buffer.alloc(7, 0xee)); // nothing before the offset
    expect(pool.subarray(7 + der.length)).toEqual(Buffer.alloc(13, 0xee)); // nor after
    const back = SslSession.fromDER(pool.subarray(7, 7 + der.length));
    expect(back.id).toEqual(s.id);
    back.free();
    // a plain Uint8Array (not a Buffer), written through its own view
    const u8 = new Uint8Array(new ArrayBuffer(der.length + 4), 4);
    expect(s.toDERInto(u8)).toBe(der.length);
    expect(Buffer.from(u8)).toEqual(der);
    s.free();
  });

  test('too small after the offset: RangeError naming the size needed, nothing written', () => {
    const s = full();
    const need = s.toDER().length;
    const small = Buffer.alloc(need + 2, 0xab);
    const err = catchError(() => s.toDERInto(small, 3));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toContain(`needs ${need} bytes`);
    expect(small).toEqual(Buffer.alloc(need + 2, 0xab));
    expect(s.toDERInto(Buffer.alloc(need))).toBe(need); // exactly enough is enough
    s.free();
  });

  test('bad offsets and targets: RangeError / TypeError; a session with no cipher: the toDER error', () => {
    const s = full();
    const pool = Buffer.alloc(4096);
    for (const off of [-1, 1.5, NaN, 4097, 2 ** 53]) expect(() => s.toDERInto(pool, off)).toThrow(RangeError);
    for (const off of ['1', null, {}]) expect(() => s.toDERInto(pool, off as never)).toThrow(TypeError);
    for (const t of [null, 'x', [1, 2], new Uint16Array(64), new ArrayBuffer(64)]) expect(() => s.toDERInto(t as never)).toThrow(TypeError);
    s.free();
    const bare = SslSession.create({ id: newId() });
    const before = catchError(() => bare.toDER());
    const into = catchError(() => bare.toDERInto(pool));
    expect(into.code).toBe(before.code);
    expect(into.code).toBe('ERR_SESSION_NOT_ENCODABLE');
    bare.free();
  });
});

describe('round trips', () => {
  test.each(['AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'AES256-SHA'])(
    'DER → fromDER → DER is byte-identical (%s)',
    (cipher) => {
      const s = full({ cipher, id: newId(32), idContext: Buffer.from('app'), protocol: 'TLSv1.2' });
      const der = s.toDER();
      const t = SslSession.fromDER(der);
      expect(t.toDER().equals(der)).toBe(true);
      expect(t.id.equals(s.id)).toBe(true);
      expect(t.idContext.equals(Buffer.from('app'))).toBe(true);
      expect(t.time).toBe(1000000000);
      expect(t.timeout).toBe(300);
      expect(t.protocol).toBe('TLSv1.2');
      expect(t.references).toBe(1);
      expect(t.equals(s)).toBe(false); // a different SSL_SESSION object
      s.free();
      t.free();
    },
  );

  test('PEM → fromPEM → PEM is identical and carries the same DER', () => {
    const s = full();
    const pem = s.toPEM();
    expect(typeof pem).toBe('string');
    expect(pem.startsWith('-----BEGIN SSL SESSION PARAMETERS-----\n')).toBe(true);
    expect(pem.trimEnd().endsWith('-----END SSL SESSION PARAMETERS-----')).toBe(true);
    const body = pem
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    expect(Buffer.from(body, 'base64').equals(s.toDER())).toBe(true);
    const t = SslSession.fromPEM(pem);
    expect(t.toPEM()).toBe(pem);
    expect(t.toDER().equals(s.toDER())).toBe(true);
    s.free();
    t.free();
  });

  test('a hand-made 1.0.2 DER parses and re-encodes byte-identically', () => {
    const der = der102({ id: Buffer.from('0102030405', 'hex'), time: 1500000000, timeout: 7200, sidCtx: Buffer.alloc(0) });
    const t = SslSession.fromDER(der);
    expect(t.id.equals(Buffer.from('0102030405', 'hex'))).toBe(true);
    expect(t.time).toBe(1500000000);
    expect(t.timeout).toBe(7200);
    expect(t.protocol).toBe('TLSv1.2');
    expect(t.toDER().equals(der)).toBe(true);
    t.free();
  });
});

describe('fromDER: what d2i_SSL_SESSION does', () => {
  test('an id over 32 bytes, which 1.0.2 would silently truncate to 32, is refused', () => {
    const id = Buffer.alloc(40);
    for (let i = 0; i < 40; i++) id[i] = i + 1;
    let error: any;
    try {
      SslSession.fromDER(der102({ id, time: 5, timeout: 6 }));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'RangeError', code: 'ERR_SESSION_DECODE' });
    const t = SslSession.fromDER(der102({ id: id.subarray(0, 32), time: 5, timeout: 6 }));
    expect(t.id.equals(id.subarray(0, 32))).toBe(true);
    t.free();
  });

  test('a missing timeout defaults to 3, a missing time to now', () => {
    const before = nowSec();
    const t = SslSession.fromDER(der102({ id: newId(8) }));
    const after = nowSec();
    expect(t.timeout).toBe(3);
    expect(t.time).toBeGreaterThanOrEqual(before);
    expect(t.time).toBeLessThanOrEqual(after);
    t.free();
  });

  test('sid_ctx over 32 bytes is rejected → OpenSSLError', () => {
    const err = catchError(() => SslSession.fromDER(der102({ id: newId(8), sidCtx: Buffer.alloc(33, 1) })));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(err.opensslErrors.length).toBeGreaterThan(0);
  });

  test('TLSv1.1 in the DER gives protocol TLSv1.1', () => {
    const t = SslSession.fromDER(der102({ id: newId(8), version: 0x0302, time: 1, timeout: 2 }));
    expect(t.protocol).toBe('TLSv1.1');
    t.free();
  });

  test('garbage → OpenSSLError with OpenSSL reasons in opensslErrors', () => {
    const err = catchError(() => SslSession.fromDER(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(isError(err)).toBe(true);
    expect(typeof err.code).toBe('string');
    expect(err.code.length).toBeGreaterThan(0);
    expect(Array.isArray(err.opensslErrors)).toBe(true);
    expect(err.opensslErrors.length).toBeGreaterThan(0);
    for (const e of err.opensslErrors) {
      expect(typeof e.library).toBe('string');
      expect(typeof e.function).toBe('string');
      expect(typeof e.reason).toBe('string');
      expect(['number', 'string']).toContain(typeof e.code);
    }
    // d2i: ERR_R_EXPECTING_AN_ASN1_SEQUENCE, in the asn1 library (0x0D06703D)
    expect(err.opensslErrors.some((e: any) => /asn1/i.test(e.library))).toBe(true);
    expect(err.opensslErrors.some((e: any) => /expecting an asn1 sequence/i.test(e.reason))).toBe(true);
  });

  test('an empty buffer → an error', () => {
    const err = catchError(() => SslSession.fromDER(Buffer.alloc(0)));
    expect(isError(err)).toBe(true);
  });

  test('a length mismatch inside the SEQUENCE → OpenSSLError (asn1 length mismatch)', () => {
    const src = full();
    const good = src.toDER();
    src.free();
    // lengthen the SEQUENCE by two bytes and append a NULL inside it
    const inner = readTlv(good).value;
    const bad = seq(inner, Buffer.from([0x05, 0x00]));
    const err = catchError(() => SslSession.fromDER(bad));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(err.opensslErrors.some((e: any) => /length mismatch/i.test(e.reason))).toBe(true);
  });

  test('trailing bytes after the SEQUENCE → error, not a silently shortened parse', () => {
    const s = full();
    const der = s.toDER();
    expect(() => SslSession.fromDER(Buffer.concat([der, Buffer.from([0, 0])]))).toThrow();
    expect(() => SslSession.fromDER(Buffer.concat([der, der]))).toThrow();
    s.free();
  });

  test('a truncated DER → OpenSSLError', () => {
    const s = full();
    const der = s.toDER();
    const err = catchError(() => SslSession.fromDER(der.subarray(0, der.length - 5)));
    expect(err).toBeInstanceOf(OpenSSLError);
    s.free();
  });
});

describe('fromPEM errors', () => {
  test('no PEM at all → OpenSSLError (PEM routines: no start line)', () => {
    const err = catchError(() => SslSession.fromPEM('hello, this is not PEM'));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(err.opensslErrors.some((e: any) => /no start line/i.test(e.reason))).toBe(true);
  });

  test('a PEM whose content is not a session → OpenSSLError', () => {
    const pem = '-----BEGIN SSL SESSION PARAMETERS-----\nAAAA\n-----END SSL SESSION PARAMETERS-----\n';
    const err = catchError(() => SslSession.fromPEM(pem));
    expect(err).toBeInstanceOf(OpenSSLError);
    expect(err.opensslErrors.length).toBeGreaterThan(0);
  });
});

describe('toText (SSL_SESSION_print)', () => {
  test('has the SSL_SESSION_print layout with the session values', () => {
    const s = full({ idContext: Buffer.from([0xab, 0xcd]) });
    const text = s.toText();
    expect(text.startsWith('SSL-Session:\n')).toBe(true);
    expect(text).toContain('    Protocol  : TLSv1.2\n');
    expect(text).toMatch(/ {4}Cipher {4}: (AES128-GCM-SHA256|009C)\n/);
    expect(text).toContain('    Session-ID: DEADBEEF\n');
    expect(text).toContain('    Session-ID-ctx: ABCD\n');
    expect(text).toContain('    Master-Key: ' + '11'.repeat(48) + '\n');
    expect(text).toContain('    Start Time: 1000000000\n');
    expect(text).toContain('    Timeout   : 300 (sec)\n');
    expect(text).toContain('    Verify return code: ');
    s.free();
  });

  test('the session id appears in upper-case hex', () => {
    const id = newId(32);
    const s = SslSession.create({ id });
    expect(s.toText()).toContain('Session-ID: ' + id.toString('hex').toUpperCase() + '\n');
    s.free();
  });

  test.each([
    ['TLSv1', 'TLSv1'],
    ['TLSv1.1', 'TLSv1.1'],
  ] as const)('protocol %s prints as "Protocol  : %s"', (protocol, printed) => {
    const s = SslSession.create({ id: newId(), protocol });
    expect(s.toText()).toContain(`    Protocol  : ${printed}\n`);
    s.free();
  });

  test('a session from DER prints the same id, time and timeout', () => {
    const s = full();
    const t = SslSession.fromDER(s.toDER());
    const text = t.toText();
    expect(text).toContain('    Session-ID: DEADBEEF\n');
    expect(text).toContain('    Start Time: 1000000000\n');
    expect(text).toContain('    Timeout   : 300 (sec)\n');
    // d2i leaves the cipher pointer NULL: SSL_SESSION_print then prints the 2-byte id
    expect(text).toMatch(/ {4}Cipher {4}: (AES128-GCM-SHA256|009C)\n/);
    s.free();
    t.free();
  });
});

describe('wrong types', () => {
  test('fromDER / fromPEM with wrong types → TypeError', () => {
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.fromDER('30 00'), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.fromDER(), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.fromPEM(42), 'TypeError');
    // @ts-expect-error deliberate wrong type
    expectKind(() => SslSession.fromPEM(null), 'TypeError');
  });
});
