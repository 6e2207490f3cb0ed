#!/usr/bin/env node
'use strict';
// Obtains a pinned OpenSSL 1.0.2 source tree, verifies it, and builds libssl.a /
// libcrypto.a with OpenSSL's own build system into a cache keyed by source + options.
//
//   node deps/build-openssl.js            build if needed, print progress on stderr
//   node deps/build-openssl.js --prefix   same, then print the install prefix on stdout
//                                         (binding.gyp uses this)
//   node deps/build-openssl.js --check    obtain and verify the source, print its version
//                                         and the cache key, build nothing
//   node deps/build-openssl.js --apps     also build the `openssl` program of the same tree
//                                         (s_client, s_server, sess_id) into
//                                         deps/.cache/openssl-<key>-apps/bin/openssl and
//                                         print its path on stdout. Only the tests ask for
//                                         it (test/helpers/openssl102.ts); `npm install`
//                                         never builds it.
//
// Environment:
//   OPENSSL_102_SRC=/path/to/openssl-1.0.2x[.tar.gz]   bring your own 1.0.2 source
//   OPENSSL_102_EXTRA_CONFIG="..."                     extra ./config arguments
//   OPENSSL_SESSION_CACHE_DIR=/dir                      cache directory (default deps/.cache)
//   OPENSSL_SESSION_CACHE_TARGET=linux-arm64-gnu        cross-compile for another platform
//                                                      (scripts/prebuild.js; see CROSS below)
//
// The default source is the pristine OpenSSL 1.0.2h tree inside the npm tarball of
// nodegit@0.22.2. Only `npm pack` is used (no install, no scripts); the tarball's sha512
// is checked against the pinned integrity below before a byte of it is read.

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { spawnSync, spawn } = require('child_process');
const { acquire } = require('./build-lock');

const PINNED = {
  spec: 'nodegit@0.22.2',
  file: 'nodegit-0.22.2.tgz',
  integrity:
    'sha512-xNSAukUq0OTYnUuY3XDTXPwFPjz8RIplmJEXhAnKVbIkuIDwxuWOFBJeCsKxTFDgqwxDpOcnZNe3qya9668GdA==',
  tree: 'package/vendor/openssl/openssl',
};

// Options passed to OpenSSL's ./config. Documented in deps/README.md.
const CONFIG_OPTIONS = [
  'no-shared', // static libraries only, linked into the addon with hidden symbols
  '-fPIC', // they end up inside a shared object (the .node file)
  'no-ssl2', // SSLv2: broken protocol (DROWN)
  'no-ssl3', // SSLv3: broken protocol (POODLE)
  'no-comp', // TLS compression: CRIME
  'no-hw', // no hardware engines are needed
  'no-heartbeats', // the heartbeat extension (Heartbleed's home) is never needed
];
// Cross builds (release prebuilt binaries only, scripts/prebuild.js): OpenSSL's own
// ./Configure target and the Debian cross toolchain's prefix. The target is part of the
// cache key, so each lives in its own cache directory.
const CROSS = {
  'linux-arm64-gnu': { configure: 'linux-aarch64', prefix: 'aarch64-linux-gnu-' },
};
const TARGET = process.env.OPENSSL_SESSION_CACHE_TARGET || '';
if (TARGET && !CROSS[TARGET]) {
  process.stderr.write(`[openssl-1.0.2] ERROR: OPENSSL_SESSION_CACHE_TARGET=${TARGET} is not one of: ${Object.keys(CROSS).join(', ')}\n`);
  process.exit(1);
}
const SCRIPT_VERSION = 1; // bump when the build recipe changes

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.resolve(process.env.OPENSSL_SESSION_CACHE_DIR || path.join(__dirname, '.cache'));

function log(msg) {
  process.stderr.write(`[openssl-1.0.2] ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`\n[openssl-1.0.2] ERROR: ${msg}\n\n`);
  process.exit(1);
}

function have(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error;
}

function checkTools() {
  const missing = [];
  if (!have('perl', ['-v'])) missing.push('perl (OpenSSL 1.0.2 is configured by a Perl script)');
  if (!have('make')) missing.push('make');
  const cross = TARGET ? CROSS[TARGET] : undefined;
  const cc = cross ? `${cross.prefix}gcc` : process.env.CC || (have('gcc') ? 'gcc' : 'cc');
  if (!have(cc)) missing.push(cross ? `the cross compiler ${cc} (Debian: apt-get install gcc-aarch64-linux-gnu)` : `a C compiler (${cc}; set CC to choose one)`);
  if (missing.length) {
    fail(
      `cannot build OpenSSL 1.0.2, missing: ${missing.join(', ')}.\n` +
        'On Debian/Ubuntu: apt-get install perl make gcc',
    );
  }
  const v = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  return { cc, ccVersion: (v.stdout || '').split('\n')[0] };
}

function sha512Integrity(file) {
  const h = crypto.createHash('sha512');
  h.update(fs.readFileSync(file));
  return `sha512-${h.digest('base64')}`;
}

function readVersion(srcDir) {
  const f = path.join(srcDir, 'crypto', 'opensslv.h');
  if (!fs.existsSync(f)) fail(`${srcDir} is not an OpenSSL source tree (no crypto/opensslv.h)`);
  const text = fs.readFileSync(f, 'utf8');
  const num = /#\s*define\s+OPENSSL_VERSION_NUMBER\s+0x([0-9a-fA-F]+)L?/.exec(text);
  const txt = /#\s*define\s+OPENSSL_VERSION_TEXT\s+"(OpenSSL [^"]*)"/g;
  let m;
  let name;
  while ((m = txt.exec(text))) if (!/fips/.test(m[1])) name = m[1];
  if (!num) fail(`cannot read OPENSSL_VERSION_NUMBER from ${f}`);
  const n = parseInt(num[1], 16);
  if (n >>> 12 !== 0x10002) {
    fail(
      `${srcDir} holds ${name || 'OpenSSL 0x' + num[1]}, not OpenSSL 1.0.2. ` +
        'This package binds the 1.0.2 session cache only (OPENSSL_102_SRC must be a 1.0.2 source).',
    );
  }
  return { number: n, text: name };
}

function extract(tgz, dest, member) {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  const args = ['-xzf', tgz, '-C', dest];
  if (member) args.push(member);
  const r = spawnSync('tar', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) fail(`could not extract ${tgz}: ${r.stderr || r.error}`);
}

// Returns { srcDir, identity } where identity names the exact source bytes.
function obtainSource() {
  const user = process.env.OPENSSL_102_SRC;
  if (user) {
    const p = path.resolve(user);
    if (!fs.existsSync(p)) fail(`OPENSSL_102_SRC=${user} does not exist`);
    if (fs.statSync(p).isDirectory()) {
      readVersion(p);
      return { srcDir: p, identity: `dir:${p}:${treeStamp(p)}` };
    }
    const integrity = sha512Integrity(p);
    const dest = path.join(CACHE, `user-src-${hash(integrity).slice(0, 16)}`);
    if (!fs.existsSync(path.join(dest, '.complete'))) {
      log(`extracting ${p}`);
      extract(p, dest);
      fs.writeFileSync(path.join(dest, '.complete'), integrity);
    }
    const top = fs.readdirSync(dest).filter((d) => fs.existsSync(path.join(dest, d, 'crypto', 'opensslv.h')));
    if (top.length !== 1) fail(`${p} does not contain exactly one OpenSSL source tree`);
    const srcDir = path.join(dest, top[0]);
    readVersion(srcDir);
    return { srcDir, identity: integrity };
  }

  fs.mkdirSync(CACHE, { recursive: true });
  const tgz = path.join(CACHE, PINNED.file);
  if (!fs.existsSync(tgz)) {
    log(`fetching ${PINNED.spec} from the npm registry (npm pack, no install, no scripts)`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['pack', PINNED.spec, '--pack-destination', CACHE, '--ignore-scripts', '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: scrubbedEnv(),
    });
    if (r.status !== 0 || !fs.existsSync(tgz)) {
      fail(`npm pack ${PINNED.spec} failed (status ${r.status}). The npm registry must be reachable.`);
    }
  }
  const got = sha512Integrity(tgz);
  if (got !== PINNED.integrity) {
    fs.renameSync(tgz, `${tgz}.rejected`);
    fail(
      `integrity mismatch for ${PINNED.file}:\n  expected ${PINNED.integrity}\n  got      ${got}\n` +
        `The file was moved to ${tgz}.rejected and nothing in it was used.`,
    );
  }
  const dest = path.join(CACHE, 'nodegit-openssl-src');
  const srcDir = path.join(dest, PINNED.tree);
  if (!fs.existsSync(path.join(dest, '.complete')) || fs.readFileSync(path.join(dest, '.complete'), 'utf8') !== got) {
    log(`integrity verified (${got.slice(0, 24)}...); extracting only ${PINNED.tree}`);
    extract(tgz, dest, PINNED.tree);
    fs.writeFileSync(path.join(dest, '.complete'), got);
  }
  readVersion(srcDir);
  return { srcDir, identity: got };
}

function treeStamp(dir) {
  // cheap identity for a user directory: names, sizes and mtimes of the files that matter
  const h = crypto.createHash('sha256');
  for (const sub of ['crypto/opensslv.h', 'ssl', 'crypto']) {
    const p = path.join(dir, sub);
    const walk = (q) => {
      const st = fs.statSync(q);
      if (st.isDirectory()) for (const e of fs.readdirSync(q).sort()) walk(path.join(q, e));
      else if (/\.(c|h)$/.test(q)) h.update(`${q}:${st.size}:${st.mtimeMs}\n`);
    };
    if (fs.existsSync(p)) walk(p);
  }
  return h.digest('hex');
}

function hash(s) {
  return crypto.createHash('sha256').update(s).digest('hex');
}

function scrubbedEnv() {
  const env = { ...process.env };
  // OpenSSL 1.0.2's make is not parallel-safe; never inherit -j from npm or a parent make
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES']) delete env[k];
  return env;
}

function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from)) {
    const s = path.join(from, e);
    const d = path.join(to, e);
    const st = fs.statSync(s); // follows symlinks (1.0.2 may link headers)
    if (st.isDirectory()) copyDir(s, d);
    else fs.copyFileSync(s, d);
  }
}

function run(cmd, args, cwd, logFd, onLine) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: scrubbedEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    const feed = (chunk) => {
      fs.writeSync(logFd, chunk);
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (onLine) onLine(line);
      }
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.on('error', (e) => resolve({ status: -1, error: e }));
    child.on('close', (status) => resolve({ status }));
  });
}

async function build(srcDir, prefix, logFile, extra, apps = false) {
  const work = `${prefix}.work`;
  fs.rmSync(work, { recursive: true, force: true });
  log(`copying the source tree to ${path.relative(ROOT, work) || work}`);
  copyDir(srcDir, work);
  const fd = fs.openSync(logFile, 'w');
  const started = Date.now();
  const steps = [
    TARGET
      ? ['./Configure', [CROSS[TARGET].configure, `--cross-compile-prefix=${CROSS[TARGET].prefix}`, ...CONFIG_OPTIONS, ...extra]]
      : ['./config', [...CONFIG_OPTIONS, ...extra]],
    ['make', ['depend']],
    ['make', ['build_libs']],
    ...(apps ? [['make', ['build_apps']]] : []),
  ];
  const seen = new Set();
  let lastPrint = 0;
  for (const [cmd, args] of steps) {
    log(`${cmd} ${args.join(' ')}`);
    const r = await run(cmd, args, work, fd, (line) => {
      const m = /^making (?:all|depend) in (\S+)/.exec(line);
      if (m && !seen.has(`${cmd}${args[0]}:${m[1]}`)) {
        seen.add(`${cmd}${args[0]}:${m[1]}`);
        const now = Date.now();
        if (now - lastPrint > 2000 || /^ssl/.test(m[1])) {
          lastPrint = now;
          log(`  ${args[0]}: ${m[1]} (${Math.round((now - started) / 1000)} s)`);
        }
      }
    });
    if (r.status !== 0) {
      fs.closeSync(fd);
      fail(`'${cmd} ${args.join(' ')}' failed (status ${r.status}${r.error ? ', ' + r.error.message : ''}).\n` +
        `The full build log is ${logFile}`);
    }
  }
  fs.closeSync(fd);
  for (const lib of ['libssl.a', 'libcrypto.a']) {
    if (!fs.existsSync(path.join(work, lib))) fail(`${lib} was not produced; see ${logFile}`);
  }
  const tmp = `${prefix}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  if (apps) {
    if (!fs.existsSync(path.join(work, 'apps', 'openssl'))) fail(`apps/openssl was not produced; see ${logFile}`);
    fs.mkdirSync(path.join(tmp, 'bin'), { recursive: true });
    fs.copyFileSync(path.join(work, 'apps', 'openssl'), path.join(tmp, 'bin', 'openssl'));
    fs.chmodSync(path.join(tmp, 'bin', 'openssl'), 0o755);
    fs.rmSync(prefix, { recursive: true, force: true });
    fs.renameSync(tmp, prefix);
    fs.rmSync(work, { recursive: true, force: true });
    return Math.round((Date.now() - started) / 1000);
  }
  fs.mkdirSync(path.join(tmp, 'lib'), { recursive: true });
  fs.copyFileSync(path.join(work, 'libssl.a'), path.join(tmp, 'lib', 'libssl.a'));
  fs.copyFileSync(path.join(work, 'libcrypto.a'), path.join(tmp, 'lib', 'libcrypto.a'));
  copyDir(path.join(work, 'include', 'openssl'), path.join(tmp, 'include', 'openssl'));
  fs.rmSync(prefix, { recursive: true, force: true });
  fs.renameSync(tmp, prefix);
  fs.rmSync(work, { recursive: true, force: true });
  return Math.round((Date.now() - started) / 1000);
}

async function main() {
  const printPrefix = process.argv.includes('--prefix');
  const tools = checkTools();
  const { srcDir, identity } = obtainSource();
  const version = readVersion(srcDir);
  const extra = (process.env.OPENSSL_102_EXTRA_CONFIG || '').split(/\s+/).filter(Boolean);
  const key = hash(
    JSON.stringify({ identity, options: CONFIG_OPTIONS, extra, cc: tools.cc, ccv: tools.ccVersion, cflags: process.env.CFLAGS || '', v: SCRIPT_VERSION, ...(TARGET ? { target: TARGET } : {}) }),
  ).slice(0, 16);
  const prefix = path.join(CACHE, `openssl-${key}`);
  const info = path.join(prefix, 'build-info.json');
  if (process.argv.includes('--check')) {
    process.stdout.write(`${JSON.stringify({ version: version.text, number: `0x${version.number.toString(16)}`, key, prefix, built: fs.existsSync(info) })}\n`);
    return;
  }
  if (fs.existsSync(info)) {
    if (!printPrefix) log(`${version.text}: cached build ${path.relative(ROOT, prefix) || prefix} (key ${key})`);
  } else {
    fs.mkdirSync(CACHE, { recursive: true });
    const logFile = path.join(CACHE, `openssl-${key}.build.log`);
    log(`building ${version.text} (about a minute, serial make; log: ${logFile})`);
    const secs = await build(srcDir, prefix, logFile, extra);
    fs.writeFileSync(
      info,
      JSON.stringify({ version: version.text, number: `0x${version.number.toString(16)}`, source: identity, options: [...CONFIG_OPTIONS, ...extra], cc: tools.ccVersion, seconds: secs }, null, 2) + '\n',
    );
    log(`built ${version.text} in ${secs} s -> ${prefix}`);
  }
  // a stable pointer for tools that want the libraries (bench, tests)
  if (!TARGET) fs.writeFileSync(path.join(CACHE, 'current'), prefix + '\n');
  if (printPrefix) process.stdout.write(prefix);
  if (process.argv.includes('--apps') && TARGET) fail('--apps builds the host program only (no OPENSSL_SESSION_CACHE_TARGET)');
  if (process.argv.includes('--apps')) process.stdout.write(`${await buildApps(srcDir, prefix, extra, version, identity, tools)}\n`);
}

// The `openssl` program of the same source tree and options, in its own cache directory
// next to the libraries (a separate build: the libraries' cache stays as it is).
async function buildApps(srcDir, prefix, extra, version, identity, tools) {
  const appsPrefix = `${prefix}-apps`;
  const program = path.join(appsPrefix, 'bin', 'openssl');
  const info = path.join(appsPrefix, 'build-info.json');
  if (fs.existsSync(info) && fs.existsSync(program)) return program;
  // one build at a time (two jest runs may ask together): the first takes the lock, the
  // others wait for its result; a lock left by a killed build is taken over (build-lock.js)
  const lock = acquire(`${appsPrefix}.lock`, {
    log,
    what: 'the build of the openssl program',
    isDone: () => fs.existsSync(info) && fs.existsSync(program),
  });
  if (lock === null) return program;
  try {
    if (fs.existsSync(info) && fs.existsSync(program)) return program;
    return await buildAppsLocked(srcDir, appsPrefix, program, info, extra, version, identity, tools);
  } finally {
    lock.release();
  }
}

async function buildAppsLocked(srcDir, appsPrefix, program, info, extra, version, identity, tools) {
  const logFile = `${appsPrefix}.build.log`;
  log(`building the openssl program of ${version.text} (a few minutes, serial make; log: ${logFile})`);
  const secs = await build(srcDir, appsPrefix, logFile, extra, true);
  fs.writeFileSync(
    info,
    JSON.stringify({ version: version.text, program: 'bin/openssl', source: identity, options: [...CONFIG_OPTIONS, ...extra], cc: tools.ccVersion, seconds: secs }, null, 2) + '\n',
  );
  log(`built the openssl program in ${secs} s -> ${program}`);
  return program;
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
