// The addon runs the real OpenSSL 1.0.2h, and only that one.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { openssl, SessionCacheMode } from '../lib';

const root = path.resolve(__dirname, '..');

function builtAddons(): string[] {
  const dir = path.join(root, 'build', 'Release');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.node'))
    .map((f) => path.join(dir, f));
}

describe('openssl', () => {
  test('version is the string of SSLeay_version: OpenSSL 1.0.2h', () => {
    expect(openssl.version).toBe('OpenSSL 1.0.2h  3 May 2016');
  });

  test('versionNumber is SSLeay(): 0x1000208f', () => {
    expect(openssl.versionNumber).toBe(0x1000208f);
  });

  test("Node's own OpenSSL is a different one (3.x)", () => {
    expect(process.versions.openssl.startsWith('3.')).toBe(true);
    expect(openssl.version).not.toContain(process.versions.openssl);
  });
});

describe('the built addon imports and exports no OpenSSL symbol', () => {
  const symbolRe = /^(SSL_|SSLeay|CRYPTO_|EVP_|BIO_|ERR_|X509_|PEM_|RSA_|d2i_|i2d_|OPENSSL_)/;

  test('there is a built .node file', () => {
    expect(builtAddons().length).toBeGreaterThan(0);
  });

  test('nm -D lists no OpenSSL symbol, defined or undefined', () => {
    const files = builtAddons();
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const out = execFileSync('nm', ['-D', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const names = out
        .split('\n')
        .map((l) => l.trim().split(/\s+/).pop() ?? '')
        .filter((n) => n.length > 0)
        .map((n) => n.replace(/@.*$/, ''));
      // sanity: nm really listed the dynamic symbols (node-api imports are there)
      expect(names.some((n) => n.startsWith('napi_'))).toBe(true);
      const leaked = names.filter((n) => symbolRe.test(n));
      expect(leaked).toEqual([]);
    }
  });

  test('the addon still contains OpenSSL code (statically linked, hidden)', () => {
    const files = builtAddons();
    expect(files.length).toBeGreaterThan(0);
    const bytes = fs.readFileSync(files[0]);
    expect(bytes.includes(Buffer.from('OpenSSL 1.0.2h  3 May 2016'))).toBe(true);
  });
});

describe('SessionCacheMode', () => {
  test('has the values of ssl.h', () => {
    expect(SessionCacheMode.OFF).toBe(0);
    expect(SessionCacheMode.CLIENT).toBe(1);
    expect(SessionCacheMode.SERVER).toBe(2);
    expect(SessionCacheMode.BOTH).toBe(3);
    expect(SessionCacheMode.NO_AUTO_CLEAR).toBe(0x80);
    expect(SessionCacheMode.NO_INTERNAL_LOOKUP).toBe(0x100);
    expect(SessionCacheMode.NO_INTERNAL_STORE).toBe(0x200);
    expect(SessionCacheMode.NO_INTERNAL).toBe(0x300);
  });

  test('BOTH = CLIENT|SERVER and NO_INTERNAL = LOOKUP|STORE', () => {
    expect(SessionCacheMode.BOTH).toBe(SessionCacheMode.CLIENT | SessionCacheMode.SERVER);
    expect(SessionCacheMode.NO_INTERNAL).toBe(
      SessionCacheMode.NO_INTERNAL_LOOKUP | SessionCacheMode.NO_INTERNAL_STORE,
    );
  });
});
