// Where the addon comes from (lib/binding/addon_loader.ts) and what the install script
// decides (deps/install.js): this checkout's source build; the platform package of the
// prebuilt binary (@openssl-session-cache/linux-x64-gnu: the real built addon in the
// package layout scripts/prebuild.js writes, found the way node finds an installed
// package); a clear error naming the platform, what was tried and the fix. Child
// processes, because the addon is loaded once per process.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openssl } from '../lib';
import { PREBUILT_PLATFORMS, PLATFORM_SCOPE } from '../lib/binding/addon_loader';

const ROOT = path.join(__dirname, '..');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const PLATFORM_ID = `linux-${process.arch}-gnu`;
const PKG = `@openssl-session-cache/${PLATFORM_ID}`;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-loader-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** a node_modules-like directory holding the platform package at `version` */
function platformPackage(version: string): string {
  const modules = path.join(tmp, `modules-${version}`);
  const dir = path.join(modules, PKG);
  if (fs.existsSync(dir)) return modules;
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'build', 'Release', 'openssl_session_cache.node'), path.join(dir, 'openssl_session_cache.node'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: PKG, version, main: 'openssl_session_cache.node', os: ['linux'], cpu: [process.arch], libc: ['glibc'] }));
  return modules;
}

const CHECK = `
const { openssl, SslContext, handshake, generateSelfSigned } = require(process.argv[1]);
const { cert, key } = generateSelfSigned({ bits: 1024, days: 1 });
const server = new SslContext({ cert, key, noTicket: true, sessionIdContext: 'loader' });
const client = new SslContext({ role: 'client' });
const first = handshake(client, server);
const again = handshake(client, server, { session: first.clientSession });
console.log(JSON.stringify({ version: openssl.version, addon: openssl.addon, resumed: [first.resumed, again.resumed] }));
`;

function load(env: Record<string, string>, dist = path.join(ROOT, 'dist')): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['-e', CHECK, path.join(dist, 'index.js')], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('addon loader', () => {
  test('this checkout loads its own source build (build/Release)', () => {
    expect(openssl.addon).toBe('source');
    expect(openssl.version).toBe('OpenSSL 1.0.2h  3 May 2016');
  });

  test('the installed platform package is loaded when asked for prebuilt binaries: handshake and resumption', () => {
    const r = load({ OPENSSL_SESSION_CACHE_ADDON: 'prebuilt', NODE_PATH: platformPackage(VERSION) });
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual({ version: 'OpenSSL 1.0.2h  3 May 2016', addon: PKG, resumed: [false, true] });
  });

  test('no platform package: the error names the platform, what was tried, and the one command that fixes it', () => {
    const r = load({ OPENSSL_SESSION_CACHE_ADDON: 'prebuilt', NODE_PATH: path.join(tmp, 'empty') });
    expect(r.status).not.toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toContain(`openssl-session-cache: no native addon for ${PLATFORM_ID} (linux, ${process.arch}, libc gnu; Node ${process.versions.node}).`);
    expect(r.err).toContain(`Tried:\n  - prebuilt ${PKG}@${VERSION}: not installed\n`);
    expect(r.err).toContain(`Fix: npm install ${PKG}@${VERSION}\n`);
    expect(r.err).toContain('npm install-scripts approve openssl-session-cache && npm rebuild openssl-session-cache');
    expect(r.err).toMatch(/AddonNotFoundError/);
  });

  test('a platform package of another version is not loaded (and the error says which version is there)', () => {
    const r = load({ OPENSSL_SESSION_CACHE_ADDON: 'prebuilt', NODE_PATH: platformPackage('9.9.9') });
    expect(r.status).not.toBe(0);
    expect(r.err).toContain(`  - prebuilt ${PKG}: version 9.9.9 is installed, openssl-session-cache ${VERSION} needs ${VERSION}\n`);
  });

  test('both tried when neither is there: the source build is reported as not built', () => {
    // a copy of dist/ in a package root without build/
    const pkgRoot = path.join(tmp, 'no-build');
    fs.mkdirSync(pkgRoot, { recursive: true });
    fs.cpSync(path.join(ROOT, 'dist'), path.join(pkgRoot, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkgRoot, 'package.json'));
    const r = load({ NODE_PATH: `${path.join(tmp, 'empty')}${path.delimiter}${path.join(ROOT, 'node_modules')}` }, path.join(pkgRoot, 'dist'));
    expect(r.status).not.toBe(0);
    expect(r.err).toContain('Tried:\n  - source build (build/Release/openssl_session_cache.node): not built\n');
    expect(r.err).toContain(`  - prebuilt ${PKG}@${VERSION}: not installed\n`);
    expect(r.err).toMatch(/code: 'ERR_OPENSSL_SESSION_CACHE_NO_ADDON'/);
  });

  test('every platform the loader knows is an optional dependency at the package version, with a matching libc', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
    expect(Object.keys(pkg.optionalDependencies).sort()).toEqual(PREBUILT_PLATFORMS.map((id) => `${PLATFORM_SCOPE}/${id}`).sort());
    for (const v of Object.values(pkg.optionalDependencies)) expect(v).toBe(VERSION);
    for (const id of PREBUILT_PLATFORMS) expect(id).toMatch(/^linux-(x64|arm64)-gnu$/);
  });

  test('OPENSSL_SESSION_CACHE_ADDON accepts source or prebuilt only', () => {
    const r = load({ OPENSSL_SESSION_CACHE_ADDON: 'yes' });
    expect(r.status).not.toBe(0);
    expect(r.err).toContain(`OPENSSL_SESSION_CACHE_ADDON must be 'source' or 'prebuilt' (or unset), not "yes"`);
  });
});

describe('install script (deps/install.js) in an installed package (no .git)', () => {
  let pkgRoot: string;
  beforeAll(() => {
    pkgRoot = path.join(tmp, 'installed');
    fs.mkdirSync(path.join(pkgRoot, 'deps'), { recursive: true });
    fs.cpSync(path.join(ROOT, 'dist'), path.join(pkgRoot, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkgRoot, 'package.json'));
    fs.copyFileSync(path.join(ROOT, 'deps', 'install.js'), path.join(pkgRoot, 'deps', 'install.js'));
  });
  const install = (env: Record<string, string>) =>
    spawnSync(process.execPath, [path.join(pkgRoot, 'deps', 'install.js')], { cwd: pkgRoot, encoding: 'utf8', env: { ...process.env, ...env } });

  test('a matching prebuilt that passes the self-test: one line, no build', () => {
    const r = install({ NODE_PATH: `${platformPackage(VERSION)}${path.delimiter}${path.join(ROOT, 'node_modules')}` });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `[openssl-session-cache] using the prebuilt ${PKG} (OpenSSL 1.0.2h  3 May 2016; self-test: handshake and resumption passed). OPENSSL_SESSION_CACHE_BUILD_FROM_SOURCE=1 builds from source instead.\n`,
    );
    expect(fs.existsSync(path.join(pkgRoot, 'build'))).toBe(false);
  });

  test('no prebuilt: it decides to build from source and says why (the build itself is test:package (d))', () => {
    // the copy has no deps/build-openssl.js: the build step fails right after the decision
    const r = install({ NODE_PATH: `${path.join(tmp, 'empty')}${path.delimiter}${path.join(ROOT, 'node_modules')}` });
    expect(r.status).not.toBe(0);
    expect(r.stderr.split('\n')[0]).toBe(
      `[openssl-session-cache] building OpenSSL 1.0.2h and the addon from source: no usable prebuilt binary (prebuilt ${PKG}@${VERSION}: not installed)`,
    );
  });

  test('OPENSSL_SESSION_CACHE_BUILD_FROM_SOURCE=1 builds even with a working prebuilt', () => {
    const r = install({ OPENSSL_SESSION_CACHE_BUILD_FROM_SOURCE: '1', NODE_PATH: `${platformPackage(VERSION)}${path.delimiter}${path.join(ROOT, 'node_modules')}` });
    expect(r.status).not.toBe(0);
    expect(r.stderr.split('\n')[0]).toBe('[openssl-session-cache] building OpenSSL 1.0.2h and the addon from source: OPENSSL_SESSION_CACHE_BUILD_FROM_SOURCE is set');
  });

  test('OPENSSL_102_SRC (another 1.0.2, e.g. 1.0.2u) is a source build, never the prebuilt 1.0.2h', () => {
    const r = install({ OPENSSL_102_SRC: path.join(tmp, 'openssl-1.0.2u.tar.gz'), NODE_PATH: `${platformPackage(VERSION)}${path.delimiter}${path.join(ROOT, 'node_modules')}` });
    expect(r.status).not.toBe(0);
    expect(r.stderr.split('\n')[0]).toBe('[openssl-session-cache] building OpenSSL and the addon from source: OPENSSL_102_SRC is set');
  });

  test('a development checkout (.git) always builds from source', () => {
    fs.mkdirSync(path.join(pkgRoot, '.git'));
    try {
      const r = install({ NODE_PATH: `${platformPackage(VERSION)}${path.delimiter}${path.join(ROOT, 'node_modules')}` });
      expect(r.stderr.split('\n')[0]).toBe('[openssl-session-cache] building OpenSSL 1.0.2h and the addon from source: this is a development checkout (.git): the tests use the source build');
    } finally {
      fs.rmSync(path.join(pkgRoot, '.git'), { recursive: true });
    }
  });
});
