#!/usr/bin/env node
'use strict';
// The package's `install` script: builds from source only when it must.
//
// It builds OpenSSL 1.0.2h and the addon (deps/build-openssl.js, then node-gyp rebuild)
// when
//   - OPENSSL_SESSION_CACHE_BUILD_FROM_SOURCE=1 (or `npm install --build-from-source`,
//     which npm passes as npm_config_build_from_source=true) asks for it, or
//     OPENSSL_102_SRC / OPENSSL_102_EXTRA_CONFIG choose another OpenSSL (deps/README.md);
//   - this is a development checkout (a .git next to package.json: a clone of the
//     repository, where the tests need build/Release and the tarball is never the source);
//   - or no prebuilt binary of this platform is installed (@openssl-session-cache/<id>,
//     an optional dependency), or it fails its self-test.
// Otherwise it prints one line and exits: the self-test has just loaded the prebuilt
// through the package's own loader (lib/binding/addon_loader.ts), checked
// openssl.version, made a handshake and resumed it.
//
// A package manager that blocks install scripts (npm 12 and pnpm 10+ by default, or
// --ignore-scripts) never runs this file: the loader finds the prebuilt by itself.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');

function log(msg) {
  process.stderr.write(`[openssl-session-cache] ${msg}\n`);
}

const truthy = (v) => v !== undefined && v !== '' && v !== '0' && v !== 'false';

// What the self-test runs, in a child process (a crash there is a failed self-test, not a
// failed install): the package as a user loads it, restricted to the prebuilt binary.
const SELF_TEST = String.raw`
const { openssl, SslContext, handshake, generateSelfSigned } = require('./dist/index.js');
if (!/^OpenSSL 1\.0\.2/.test(openssl.version)) throw new Error('openssl.version is ' + openssl.version);
const { cert, key } = generateSelfSigned({ bits: 1024, days: 1 });
const server = new SslContext({ cert, key, noTicket: true, sessionIdContext: 'install-self-test' });
const client = new SslContext({ role: 'client' });
const first = handshake(client, server);
const again = handshake(client, server, { session: first.clientSession });
if (first.resumed || !again.resumed) throw new Error('the handshake did not resume');
server.free();
client.free();
process.stdout.write(JSON.stringify({ version: openssl.version, addon: openssl.addon }));
`;

function selfTest() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) return { ok: false, why: 'dist/ is not compiled' };
  const r = spawnSync(process.execPath, ['-e', SELF_TEST], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, OPENSSL_SESSION_CACHE_ADDON: 'prebuilt' },
  });
  if (r.status === 0) {
    try {
      return { ok: true, ...JSON.parse(r.stdout) };
    } catch {
      /* falls through */
    }
  }
  const err = (r.stderr || '').split('\n');
  // the loader's line about the prebuilt, or the first error line of whatever failed
  const line =
    err.find((l) => /^\s+- prebuilt /.test(l)) ||
    err.find((l) => /Error\b/.test(l)) ||
    err.find((l) => l.trim()) ||
    `status ${r.status}, signal ${r.signal}`;
  return { ok: false, why: line.trim().replace(/^- /, '') };
}

/** why this install builds from source, or undefined when the prebuilt serves */
function reasonToBuild() {
  if (truthy(process.env.OPENSSL_SESSION_CACHE_BUILD_FROM_SOURCE)) return 'OPENSSL_SESSION_CACHE_BUILD_FROM_SOURCE is set';
  if (truthy(process.env.npm_config_build_from_source)) return '--build-from-source was given';
  // a chosen OpenSSL source or configuration is a source build by definition (SECURITY.md:
  // a later 1.0.2 letter is the mitigation of the known CVEs): never a prebuilt 1.0.2h
  for (const v of ['OPENSSL_102_SRC', 'OPENSSL_102_EXTRA_CONFIG']) if (process.env[v]) return `${v} is set`;
  if (fs.existsSync(path.join(ROOT, '.git'))) return 'this is a development checkout (.git): the tests use the source build';
  const t = selfTest();
  if (t.ok) {
    log(`using the prebuilt ${t.addon} (${t.version}; self-test: handshake and resumption passed). OPENSSL_SESSION_CACHE_BUILD_FROM_SOURCE=1 builds from source instead.`);
    return undefined;
  }
  return `no usable prebuilt binary (${t.why.replace(/\.$/, '')})`;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.error) {
    log(`could not run ${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
}

function main() {
  const reason = reasonToBuild();
  if (reason === undefined) return;
  log(`building OpenSSL${process.env.OPENSSL_102_SRC ? '' : ' 1.0.2h'} and the addon from source: ${reason}`);
  run(process.execPath, [path.join(__dirname, 'build-openssl.js')]);
  // npm and pnpm name the node-gyp they bundle; otherwise the one on PATH
  const gyp = process.env.npm_config_node_gyp;
  if (gyp && fs.existsSync(gyp)) run(process.execPath, [gyp, 'rebuild']);
  else run(process.platform === 'win32' ? 'node-gyp.cmd' : 'node-gyp', ['rebuild']);
}

main();
