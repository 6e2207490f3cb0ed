// deps/build-openssl.js: the pinned source is verified before use, only 1.0.2 is accepted,
// and missing tools are named. (The real build itself runs in `npm install`; these checks
// use --check, which verifies and reports without building.)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const script = path.join(root, 'deps', 'build-openssl.js');

function run(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [script, ...args], { cwd: root, env, encoding: 'utf8', timeout: 120000 });
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'oss-deps-'));
}

function fakeTree(dir: string, numberHex: string, text: string): string {
  fs.mkdirSync(path.join(dir, 'crypto'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'ssl'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'crypto', 'opensslv.h'),
    `# define OPENSSL_VERSION_NUMBER  0x${numberHex}L\n# define OPENSSL_VERSION_TEXT    "${text}"\n`,
  );
  return dir;
}

test('the default source is nodegit@0.22.2, verified, and says OpenSSL 1.0.2h', () => {
  const r = run(['--check'], { ...process.env });
  expect(r.status).toBe(0);
  const info = JSON.parse(r.stdout);
  expect(info.version).toBe('OpenSSL 1.0.2h  3 May 2016');
  expect(info.number).toBe('0x1000208f');
  expect(info.built).toBe(true); // npm install built it; a second run reuses the cache
});

test('a tarball that does not match the pinned integrity is refused and moved aside', () => {
  const cache = tmp();
  fs.writeFileSync(path.join(cache, 'nodegit-0.22.2.tgz'), 'not the real tarball');
  const r = run(['--check'], { ...process.env, OPENSSL_SESSION_CACHE_DIR: cache });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/integrity mismatch for nodegit-0\.22\.2\.tgz/);
  expect(r.stderr).toMatch(/expected sha512-xNSAukUq0OTYnUuY3XDTXPwFPjz8RIplmJEXhAnKVbIkuIDwxuWOFBJeCsKxTFDgqwxDpOcnZNe3qya9668GdA==/);
  expect(fs.existsSync(path.join(cache, 'nodegit-0.22.2.tgz'))).toBe(false);
  expect(fs.existsSync(path.join(cache, 'nodegit-0.22.2.tgz.rejected'))).toBe(true);
});

test('OPENSSL_102_SRC with another OpenSSL version is refused with a clear error', () => {
  const src = fakeTree(tmp(), '1010117f', 'OpenSSL 1.1.1w  11 Sep 2023');
  const r = run(['--check'], { ...process.env, OPENSSL_102_SRC: src });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/holds OpenSSL 1\.1\.1w .* not OpenSSL 1\.0\.2/);
});

test('OPENSSL_102_SRC with a 1.0.2 tree is accepted (directory or .tar.gz)', () => {
  const dir = fakeTree(path.join(tmp(), 'openssl-1.0.2u'), '1000215f', 'OpenSSL 1.0.2u  20 Dec 2019');
  const r = run(['--check'], { ...process.env, OPENSSL_102_SRC: dir });
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout).version).toBe('OpenSSL 1.0.2u  20 Dec 2019');

  const tgz = path.join(tmp(), 'openssl-1.0.2u.tar.gz');
  spawnSync('tar', ['-czf', tgz, '-C', path.dirname(dir), 'openssl-1.0.2u']);
  const cache = tmp();
  const t = run(['--check'], { ...process.env, OPENSSL_102_SRC: tgz, OPENSSL_SESSION_CACHE_DIR: cache });
  expect(t.status).toBe(0);
  const info = JSON.parse(t.stdout);
  expect(info.number).toBe('0x1000215f');
  expect(info.built).toBe(false);
});

test('a path that is not an OpenSSL tree is refused', () => {
  const r = run(['--check'], { ...process.env, OPENSSL_102_SRC: tmp() });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/is not an OpenSSL source tree/);
});

test('missing perl, make or C compiler are named', () => {
  // a PATH with node only: perl, make and cc are all missing
  const bin = tmp();
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  const r = spawnSync(path.join(bin, 'node'), [script, '--check'], {
    cwd: root,
    env: { PATH: bin, HOME: process.env.HOME ?? '/tmp' },
    encoding: 'utf8',
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/missing: perl .*make.*a C compiler/);
});

test('the addon was compiled against 1.0.2 headers only: from Node\'s include directory only libuv\'s', () => {
  // node-gyp's dependency files list every header each object file included
  const deps: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.o.d')) deps.push(p);
    }
  };
  walk(path.join(root, 'build', 'Release', '.deps'));
  expect(deps.length).toBeGreaterThan(5);
  const headers = new Set<string>();
  for (const f of deps) for (const m of fs.readFileSync(f, 'utf8').matchAll(/\S+\.h\b/g)) headers.add(m[0]);
  const opensslHeaders = [...headers].filter((h) => h.includes('/openssl/'));
  expect(opensslHeaders.length).toBeGreaterThan(10);
  const prefix = JSON.parse(run(['--check'], { ...process.env }).stdout).prefix as string;
  for (const h of opensslHeaders) expect(h.startsWith(`${prefix}/include/openssl/`)).toBe(true);
  // the native connection path runs on Node's libuv loop: uv.h and uv/*.h, nothing else
  const fromNode = [...headers].filter((h) => /\/include\/node\//.test(h));
  expect(fromNode.filter((h) => !/\/include\/node\/(\.\/)?(uv\.h|uv\/[a-z0-9_-]+\.h)$/.test(h))).toEqual([]);
});
