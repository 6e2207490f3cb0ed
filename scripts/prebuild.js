#!/usr/bin/env node
'use strict';
// `npm run prebuild:x64` / `npm run prebuild:arm64`: the per-platform packages of the
// prebuilt addon, from the same pinned OpenSSL 1.0.2h source (deps/build-openssl.js).
//
//   node scripts/prebuild.js linux-x64-gnu     the host build: build/Release, made by
//                                               `npm install` / `npm run build` here
//   node scripts/prebuild.js linux-arm64-gnu   cross-built: OpenSSL with ./Configure
//                                               linux-aarch64 --cross-compile-prefix=
//                                               aarch64-linux-gnu- (its own cache key), the
//                                               addon with node-gyp --arch=arm64 and the
//                                               aarch64 compilers, in prebuilds/.work/
//                                               (build/Release untouched)
//
// Each produces prebuilds/<id>/ (package.json with os/cpu/libc, the .node file,
// build-info.json, README.md, LICENSE) and its tarball prebuilds/openssl-session-cache-<id>-<version>.tgz,
// after the isolation check: the binary's dynamic symbol table (nm -D, the target's nm)
// holds Node-API imports and no OpenSSL symbol, defined or undefined.
//
// The cross toolchain (Debian: g++-aarch64-linux-gnu, binutils-aarch64-linux-gnu) is
// installed with apt-get when missing and this runs as root; otherwise the script names
// the packages and stops. Nothing here runs from `npm install` or `npm test`.
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { spawnSync } = require('child_process');
const { ensureIgnored } = require('./lib/load');
const { isolation, requiredGlibc } = require('./lib/isolation');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'prebuilds');
const CACHE = path.resolve(process.env.OPENSSL_SESSION_CACHE_DIR || path.join(ROOT, 'deps', '.cache'));
const ADDON = 'openssl_session_cache.node';
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

const TARGETS = {
  'linux-x64-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc', title: 'Linux x64 (glibc)', host: 'x64', nm: 'nm' },
  'linux-arm64-gnu': {
    os: 'linux',
    cpu: 'arm64',
    libc: 'glibc',
    title: 'Linux arm64 (glibc)',
    host: 'arm64',
    nm: 'aarch64-linux-gnu-nm',
    cross: { cc: 'aarch64-linux-gnu-gcc', cxx: 'aarch64-linux-gnu-g++', apt: ['gcc-aarch64-linux-gnu', 'g++-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu'] },
  },
};

function log(msg) {
  process.stderr.write(`[prebuild] ${msg}\n`);
}

function die(msg) {
  process.stderr.write(`[prebuild] ERROR: ${msg}\n`);
  process.exit(1);
}

const have = (cmd) => !spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error;

/** installs Debian packages when missing commands allow it (root + apt-get), or stops naming them */
function ensureTools(commands, packages) {
  const missing = commands.filter((c) => !have(c));
  if (missing.length === 0) return;
  const cmd = `apt-get update && apt-get install -y ${packages.join(' ')}`;
  if (process.getuid && process.getuid() === 0 && have('apt-get')) {
    log(`missing ${missing.join(', ')}: ${cmd}`);
    const r = spawnSync('sh', ['-c', cmd], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status === 0 && commands.every(have)) return;
  }
  die(`missing ${missing.join(', ')}. Install them (Debian/Ubuntu, as root): ${cmd}`);
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const guess = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(guess, 'include', 'node', 'node_api.h')) ? guess : undefined;
}

function copyInto(dir, rel) {
  const from = path.join(ROOT, rel);
  const to = path.join(dir, rel);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true });
}

/** the cross-built addon: a copy of binding.gyp, native/ and deps/*.js built in prebuilds/.work/<id> */
function crossBuild(id, t) {
  ensureTools([t.cross.cc, t.cross.cxx, t.nm], t.cross.apt);
  const work = path.join(OUT, '.work', id);
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  for (const rel of ['binding.gyp', 'package.json', 'native', 'deps/build-openssl.js', 'deps/build-lock.js']) copyInto(work, rel);
  const env = {
    ...process.env,
    OPENSSL_SESSION_CACHE_TARGET: id,
    OPENSSL_SESSION_CACHE_DIR: CACHE,
    CC: t.cross.cc,
    CXX: t.cross.cxx,
    LINK: t.cross.cxx,
    AR: t.cross.cc.replace(/gcc$/, 'ar'),
  };
  log(`OpenSSL 1.0.2h for ${id} (cross, cached by its own key)`);
  let r = spawnSync(process.execPath, [path.join(work, 'deps', 'build-openssl.js')], { cwd: work, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) die('the OpenSSL cross build failed');
  const args = [path.join(ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild', `--arch=${t.cpu}`, '-j', '2'];
  const nd = nodeDir();
  if (nd) args.push(`--nodedir=${nd}`);
  log(`node-gyp rebuild --arch=${t.cpu} in ${path.relative(ROOT, work)} (${t.cross.cxx})`);
  r = spawnSync(process.execPath, args, { cwd: work, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  fs.writeFileSync(path.join(OUT, '.work', `${id}.node-gyp.log`), `${r.stdout}\n${r.stderr}`);
  const file = path.join(work, 'build', 'Release', ADDON);
  if (r.status !== 0 || !fs.existsSync(file)) die(`node-gyp failed; see prebuilds/.work/${id}.node-gyp.log\n${(r.stderr || '').slice(-2000)}`);
  return file;
}

function hostBuild(t) {
  if (process.platform !== t.os || process.arch !== t.host) die(`this machine is ${process.platform}-${process.arch}: it builds ${t.title} only as a cross build`);
  const file = path.join(ROOT, 'build', 'Release', ADDON);
  if (!fs.existsSync(file)) die(`${path.relative(ROOT, file)} is not built: run npm run build (or npx node-gyp rebuild) first`);
  return file;
}

function main() {
  const id = process.argv[2] || 'linux-x64-gnu';
  const t = TARGETS[id];
  if (!t) die(`unknown platform ${id}; one of: ${Object.keys(TARGETS).join(', ')}`);
  const started = Date.now();
  ensureIgnored(OUT);
  const built = t.cross ? crossBuild(id, t) : hostBuild(t);

  const bytes = fs.readFileSync(built);
  if (!bytes.includes(Buffer.from('OpenSSL 1.0.2h  3 May 2016'))) die(`${built} does not contain OpenSSL 1.0.2h`);
  const iso = isolation(built, t.nm);
  if (!iso.ok) die(`isolation check failed for ${built}: ${iso.why}`);
  log(`isolation: ${iso.napi} Node-API imports, no OpenSSL symbol among ${iso.total} dynamic symbols (${t.nm} -D)`);
  const glibc = requiredGlibc(built, t.nm);

  const dir = path.join(OUT, id);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(built, path.join(dir, ADDON));
  fs.copyFileSync(path.join(ROOT, 'LICENSE'), path.join(dir, 'LICENSE'));
  const name = `@openssl-session-cache/${id}`;
  const info = {
    package: `${PKG.name}@${PKG.version}`,
    platform: id,
    openssl: 'OpenSSL 1.0.2h  3 May 2016',
    glibc: glibc ? `>=${glibc}` : undefined,
    sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    dynamicSymbols: iso.total,
  };
  fs.writeFileSync(path.join(dir, 'build-info.json'), JSON.stringify(info, null, 2) + '\n');
  const pkg = {
    name,
    version: PKG.version,
    description: `The prebuilt native addon of ${PKG.name} (OpenSSL 1.0.2h inside) for ${t.title}`,
    license: PKG.license,
    repository: PKG.repository,
    main: ADDON,
    files: [ADDON, 'build-info.json'],
    os: [t.os],
    cpu: [t.cpu],
    libc: [t.libc],
    engines: PKG.engines,
    ...(glibc ? { config: { glibc: `>=${glibc}` } } : {}),
    preferUnplugged: true,
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    `# ${name}\n\nThe prebuilt native addon of [${PKG.name}](https://www.npmjs.com/package/${PKG.name}) ${PKG.version} for ${t.title}` +
      `${glibc ? ` (glibc ${glibc} or later)` : ''}: OpenSSL 1.0.2h statically linked with hidden symbols (no OpenSSL symbol in its dynamic table), one Node-API binary for Node 20 and later.\n\n` +
      `Do not install it by itself: \`npm install ${PKG.name}\` fetches it as an optional dependency on matching machines, and ${PKG.name}'s loader uses it.\n`,
  );
  const r = spawnSync('npm', ['pack', dir, '--pack-destination', OUT, '--json', '--loglevel=error'], { cwd: OUT, encoding: 'utf8' });
  if (r.status !== 0) die(`npm pack ${dir} failed: ${r.stderr}`);
  const [packed] = JSON.parse(r.stdout);
  log(`${name}@${PKG.version}: ${path.join('prebuilds', packed.filename)} (${(packed.size / 1024).toFixed(0)} kB packed, ${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked${glibc ? `, glibc >= ${glibc}` : ''}) in ${Math.round((Date.now() - started) / 1000)} s`);
  process.stdout.write(path.join(OUT, packed.filename) + '\n');
}

main();
