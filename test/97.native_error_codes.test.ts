// The error codes native code sets: one table (native/error_codes.h), exported as the
// addon's `errorCodes`, each a member of lib's ErrorCode registry and documented in
// docs/api.md's errors table; native throws carry their code.
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../lib/binding/native';
import { ErrorCode, generateSelfSigned, handshake, SslContext, SslSession } from '../lib';
import { kHandle } from '../lib/openssl/internal';
import { catchError } from './helpers/util';

const root = path.join(__dirname, '..');
const registry = new Map<string, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

test('errorCodes: a frozen list of distinct ERR_ codes, the same as native/error_codes.h declares', () => {
  const codes = native.errorCodes;
  expect(Object.isFrozen(codes)).toBe(true);
  expect(codes.length).toBeGreaterThan(10);
  expect(new Set(codes).size).toBe(codes.length);
  // ERR_ codes, and node's system error codes (ECONNRESET) where node uses one
  for (const c of codes) expect(c).toMatch(/^(ERR_[A-Z0-9_]+|E[A-Z]+)$/);
  const header = fs.readFileSync(path.join(root, 'native', 'error_codes.h'), 'utf8');
  const declared = [...header.matchAll(/X\(k\w+, "(ERR_[A-Z0-9_]+|E[A-Z]+)"\)/g)].map((m) => m[1]);
  expect(declared).toEqual([...codes]);
});

test('every native code is a member of ErrorCode', () => {
  const missing = native.errorCodes.filter((c) => !registry.has(c));
  expect(missing).toEqual([]);
});

test("every native code has its row in docs/api.md's errors table, key and value", () => {
  const rows = fs.readFileSync(path.join(root, 'docs', 'api.md'), 'utf8').split('\n');
  const undocumented = native.errorCodes.filter((c) => !rows.some((l) => l.startsWith(`| \`${registry.get(c)}\` | \`${c}\` |`)));
  expect(undocumented).toEqual([]);
});

test('native sources write no code outside the table: they name its constants', () => {
  const dir = path.join(root, 'native');
  const literals: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!/\.(cc|h|c)$/.test(name) || name === 'error_codes.h') continue;
    for (const m of fs.readFileSync(path.join(dir, name), 'utf8').matchAll(/"(ERR_[A-Z0-9_]+)"/g)) literals.push(`${name}: ${m[1]}`);
  }
  expect(literals).toEqual([]);
});

describe('a native throw carries its code', () => {
  const pool: { free(): void; freed: boolean }[] = [];
  afterEach(() => {
    for (const x of pool.splice(0)) if (!x.freed) x.free();
  });

  test('a freed context: ERR_SSL_FREED from the native handle itself', () => {
    const ctx = new SslContext();
    const h = ctx[kHandle];
    ctx.free();
    const err = catchError(() => h.count());
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(ErrorCode.FREED);
    expect(native.errorCodes).toContain(err.code);
  });

  test('a session with an empty id: RangeError ERR_SESSION_ID_EMPTY', () => {
    const { cert, key } = generateSelfSigned({ bits: 1024 });
    const server = new SslContext({ cert, key });
    const client = new SslContext({ role: 'client' });
    pool.push(server, client);
    // with tickets (the default) the 1.0.2 server's session has an empty id
    const r = handshake(client, server);
    pool.push(r.clientSession, r.serverSession);
    expect(r.serverSession.id.length).toBe(0);
    const err = catchError(() => server.addSession(r.serverSession));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.code).toBe(ErrorCode.SESSION_ID_EMPTY);
    expect(native.errorCodes).toContain(err.code);
  });

  test('bytes after a session: ERR_SESSION_DECODE from the native decoder', () => {
    const s = SslSession.create({ id: Buffer.alloc(32, 1), cipher: 'AES128-GCM-SHA256', masterKey: Buffer.alloc(48, 7) });
    pool.push(s);
    const err = catchError(() => SslSession.fromDER(Buffer.concat([s.toDER(), Buffer.from([0])])));
    expect(err.code).toBe(ErrorCode.SESSION_DECODE);
    expect(native.errorCodes).toContain(err.code);
  });

  test('a session without a cipher: ERR_SESSION_NOT_ENCODABLE from i2d_SSL_SESSION', () => {
    const s = SslSession.create({ id: Buffer.alloc(32, 2) });
    pool.push(s);
    const err = catchError(() => s.toDER());
    expect(err.code).toBe(ErrorCode.SESSION_NOT_ENCODABLE);
    expect(native.errorCodes).toContain(err.code);
  });
});
