#!/usr/bin/env node
'use strict';
// `npm run test:package`: the package as users get it, from tarballs, in empty projects in
// the system's temp directory (outside the repository). It packs the main package
// (`npm pack`, which runs `prepare`) and the platform package of this machine
// (scripts/prebuild.js linux-x64-gnu, from build/Release), then proves each install path:
//
//   (a) npm, scripts blocked (--ignore-scripts), both tarballs → the prebuilt loads; the
//       consumers below (CJS, ESM, TypeScript commonjs/node16) handshake and resume
//   (b) npm 12 with its defaults (dependency scripts blocked unless approved) under Node 22
//       (both from the registry as packages: scripts/lib/registry.js), both tarballs → same
//   (c) pnpm 10 (under Node 22) with its defaults (build scripts blocked), both tarballs → same
//   (c11) pnpm 11's defaults: the prebuilt is installed and loads, but pnpm exits 1
//       (ERR_PNPM_IGNORED_BUILDS) until the build script is approved (README, Install)
//   (d) npm, scripts allowed, the main tarball only (no prebuilt for the platform) → the
//       install script builds from source (OpenSSL from the cache: OPENSSL_SESSION_CACHE_DIR,
//       the addon compiled) and that build loads
//   (e) npm, scripts blocked, the main tarball only → loading fails with the loader's error
//       (platform, what was tried, the fix) and a non-zero exit
//
// Both tarballs are installed together, as a registry delivers them (npm: the platform
// package satisfies the main one's optional dependency; pnpm: an override points that
// dependency at the tarball). Installed size and wall time of (a) and (d) are printed.
//
//   KEEP_PACKAGE_TEST=1 npm run test:package   keeps the temp projects and prints their path
//   PACKAGE_TEST=a,e npm run test:package      only the listed paths
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const registry = require('./lib/registry');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.resolve(process.env.OPENSSL_SESSION_CACHE_DIR || path.join(ROOT, 'deps', '.cache'));
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TYPE_ROOTS = path.join(ROOT, 'node_modules', '@types');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NAME = 'openssl-session-cache';
// pnpm 10: the first major that blocks dependencies' build scripts, and the newest whose
// defaults let this package install without a question. pnpm 11 (Node >= 22.13) installs it
// but then exits 1 with ERR_PNPM_IGNORED_BUILDS until `pnpm approve-builds` (README,
// Install); pnpm 12's npm package downloads a native binary of its own and refuses one
// without a registry signature, which this machine's registry does not carry.
const PNPM_MAJOR = 10;

function log(msg) {
  process.stderr.write(`[test-package] ${msg}\n`);
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts, env: { ...process.env, ...(opts.env || {}) } });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (status ${r.status})\n${r.stdout || ''}${r.stderr || ''}`);
  }
  return r.stdout;
}

// What every consumer file checks, with the names it imported. Real calls: a handshake and
// a resumption through the installed addon, the model, a scenario of the catalogue.
const CHECKS = String.raw`
  if (!/^OpenSSL 1\.0\.2/.test(openssl.version)) throw new Error('openssl.version: ' + openssl.version);
  const { cert, key } = generateSelfSigned({ bits: 1024, days: 1 });
  const server = new SslContext({ cert, key, noTicket: true, sessionIdContext: 'package-test' });
  const client = new SslContext({ role: 'client' });
  const first = handshake(client, server);
  const again = handshake(client, server, { session: first.clientSession });
  if (first.resumed || !again.resumed) throw new Error('resumption did not happen');
  const model = new CacheModel();
  const h = model.createSession({ id: Buffer.alloc(32, 1), time: 0, timeout: 300 });
  if (model.add(h) !== 1 || model.count() !== 1) throw new Error('CacheModel.add');
  if (!(CATALOGUE.length > 0) || typeof ScenarioRunner !== 'function') throw new Error('conformance entry point');
  if (typeof RedisSessionStore !== 'function' || RedisSessionStore !== RootRedisSessionStore) throw new Error('/redis entry point');
  let missing = '';
  try {
    new RedisSessionStore();
  } catch (e) {
    missing = e.code;
  }
  if (missing !== 'ERR_IOREDIS_MISSING') throw new Error('new RedisSessionStore() without ioredis: ' + missing);
  for (const c of [server, client]) c.free();
`;

const FILES = {
  'app.cjs': `'use strict';
const { openssl, SslContext, handshake, generateSelfSigned, RedisSessionStore: RootRedisSessionStore } = require('${NAME}');
const { CacheModel } = require('${NAME}/model');
const { CATALOGUE, ScenarioRunner } = require('${NAME}/conformance');
const { RedisSessionStore } = require('${NAME}/redis');
${CHECKS}
if (Object.keys(require.cache).some((f) => f.includes('ioredis'))) throw new Error('ioredis was loaded');
console.log('ok app.cjs');
`,
  'app.mjs': `import { openssl, SslContext, handshake, generateSelfSigned, RedisSessionStore as RootRedisSessionStore } from '${NAME}';
import { CacheModel } from '${NAME}/model';
import { CATALOGUE, ScenarioRunner } from '${NAME}/conformance';
import { RedisSessionStore } from '${NAME}/redis';
${CHECKS}
console.log('ok app.mjs');
`,
  'app.ts': `import { openssl, SslContext, SslSession, handshake, generateSelfSigned, RedisSessionStore as RootRedisSessionStore } from '${NAME}';
import { CacheModel } from '${NAME}/model';
import { CATALOGUE, ScenarioRunner } from '${NAME}/conformance';
import { RedisSessionStore } from '${NAME}/redis';
import type { RedisSessionStoreOptions } from '${NAME}/redis';
const options: RedisSessionStoreOptions = { prefix: 'x:' };
void options;
const typed: (der: Buffer) => SslSession = SslSession.fromDER;
void typed;
${CHECKS.replace('missing = e.code', 'missing = (e as { code?: string }).code ?? ""')}
console.log('ok app.ts (' + (typeof module === 'object' ? 'commonjs' : 'esm') + ')');
`,
};
FILES['app.mts'] = FILES['app.ts'].replace(`typeof module === 'object' ? 'commonjs' : 'esm'`, `'esm'`);

function tsconfig(module, outDir, files) {
  return JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module,
        ...(module === 'node16' ? { moduleResolution: 'node16' } : {}),
        outDir,
        strict: true,
        // what `tsc --init` writes; needed without ioredis installed: the declarations of
        // RedisSessionStore refer to ioredis's types (docs/api.md, "Installing")
        skipLibCheck: true,
        typeRoots: [TYPE_ROOTS],
        types: ['node'],
      },
      files,
    },
    null,
    2,
  );
}


const PLATFORM = `linux-${process.arch}-gnu`;
const PLATFORM_PKG = `@openssl-session-cache/${PLATFORM}`;
// what the consumer prints besides 'ok': where the addon came from
const WHERE = `console.log(JSON.stringify({ addon: require('${NAME}').openssl.addon }));\n`;

function du(dir) {
  const out = sh('du', ['-sk', dir]);
  return Number(out.split(/\s+/)[0]) * 1024;
}

const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;

function project(tmp, name, extra = {}) {
  const app = path.join(tmp, name);
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true, ...extra }, null, 2));
  return app;
}

function timed(fn) {
  const t0 = process.hrtime.bigint();
  const out = fn();
  return { out, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** runs app.cjs (and where() ) with `node`; returns the addon it loaded */
function consumerLoads(app, node = process.execPath) {
  fs.writeFileSync(path.join(app, 'app.cjs'), FILES['app.cjs']);
  fs.writeFileSync(path.join(app, 'where.cjs'), WHERE);
  const out = sh(node, ['app.cjs'], { cwd: app }).trim();
  if (out !== 'ok app.cjs') throw new Error(`app.cjs printed ${JSON.stringify(out)}`);
  return JSON.parse(sh(node, ['where.cjs'], { cwd: app })).addon;
}

/** the full set of consumers (CJS, ESM, TypeScript) of the original package test */
function allConsumers(app) {
  for (const [f, text] of Object.entries(FILES)) fs.writeFileSync(path.join(app, f), text);
  fs.writeFileSync(path.join(app, 'tsconfig.commonjs.json'), tsconfig('commonjs', 'out-commonjs', ['app.ts']));
  fs.writeFileSync(path.join(app, 'tsconfig.node16.json'), tsconfig('node16', 'out-node16', ['app.ts', 'app.mts']));
  const steps = [
    ['CJS (require)', null, 'app.cjs'],
    ['ESM (import)', null, 'app.mjs'],
    ['TypeScript, module: commonjs', 'tsconfig.commonjs.json', 'out-commonjs/app.js'],
    ['TypeScript, module: node16 (.ts → CJS)', 'tsconfig.node16.json', 'out-node16/app.js'],
    ['TypeScript, module: node16 (.mts → ESM)', null, 'out-node16/app.mjs'],
  ];
  const failures = [];
  for (const [label, proj, file] of steps) {
    try {
      if (proj) sh(process.execPath, [TSC, '-p', proj], { cwd: app });
      const out = sh(process.execPath, [file], { cwd: app }).trim();
      if (!out.startsWith('ok ')) throw new Error(`printed ${JSON.stringify(out)}`);
    } catch (e) {
      failures.push(`${label}: ${e.message.split('\n').slice(0, 6).join(' ⏎ ')}`);
    }
  }
  if (failures.length) throw new Error(failures.join('; '));
  return steps.map((s) => s[0]).join(', ');
}

function expectPrebuilt(addon) {
  if (addon !== PLATFORM_PKG) throw new Error(`the addon came from ${addon}, not ${PLATFORM_PKG}`);
}

function main() {
  const only = (process.env.PACKAGE_TEST || 'a,b,c,c11,d,e').split(',').map((s) => s.trim());
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-package-'));
  const rows = [];
  const notes = [];
  let failed = false;
  const scenario = (id, label, fn) => {
    if (!only.includes(id)) return;
    log(`(${id}) ${label}`);
    try {
      rows.push([`(${id})`, label, 'ok', fn()]);
    } catch (e) {
      failed = true;
      rows.push([`(${id})`, label, 'FAILED', e.message.split('\n').slice(0, 12).join(' ⏎ ')]);
    }
  };
  try {
    log(`npm pack (prepare compiles dist/) into ${tmp}`);
    const packed = JSON.parse(sh(npm, ['pack', '--pack-destination', tmp, '--json', '--loglevel=error'], { cwd: ROOT }))[0];
    const tarball = path.join(tmp, packed.filename);
    const names = packed.files.map((f) => f.path);
    for (const need of ['LICENSE', 'SECURITY.md', 'README.md', 'CHANGELOG.md', 'docs/api.md', 'dist/index.js', 'dist/redis.d.ts', 'binding.gyp', 'deps/install.js', 'deps/build-openssl.js', 'deps/build-lock.js']) {
      if (!names.includes(need)) throw new Error(`the tarball lacks ${need}`);
    }
    if (!names.some((n) => n.startsWith('examples/scenarios/'))) throw new Error('the tarball lacks examples/scenarios');
    if (names.some((n) => n.startsWith('test/') || n.startsWith('deps/.cache') || n.startsWith('build/') || n.startsWith('prebuilds/') || n.endsWith('.node'))) {
      throw new Error('the tarball holds test/, deps/.cache, build/, prebuilds/ or a .node file');
    }
    log(`the platform package ${PLATFORM_PKG} (scripts/prebuild.js ${PLATFORM})`);
    const platformTgz = sh(process.execPath, [path.join(ROOT, 'scripts', 'prebuild.js'), PLATFORM], { cwd: ROOT }).trim().split('\n').pop();
    const platformTarball = path.join(tmp, path.basename(platformTgz));
    fs.copyFileSync(platformTgz, platformTarball);
    notes.push(`tarballs: ${packed.filename} (${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} kB packed), ${path.basename(platformTarball)} (${(fs.statSync(platformTarball).size / 1024).toFixed(0)} kB)`);
    const blocked = { OPENSSL_SESSION_CACHE_DIR: path.join(tmp, 'no-cache') }; // a build would start from nothing: none may happen

    scenario('a', 'npm --ignore-scripts, main + platform tarball', () => {
      const app = project(tmp, 'a');
      const { seconds } = timed(() => sh(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball, platformTarball], { cwd: app, env: blocked }));
      const size = du(path.join(app, 'node_modules'));
      if (fs.existsSync(path.join(app, 'node_modules', NAME, 'build'))) throw new Error('a build/ directory appeared');
      expectPrebuilt(consumerLoads(app));
      const consumers = allConsumers(app);
      if (fs.existsSync(path.join(app, 'node_modules', 'ioredis'))) throw new Error('ioredis was installed: it must be an optional peer');
      notes.push(`(a) install: ${seconds.toFixed(1)} s, node_modules ${mb(size)}`);
      return `${PLATFORM_PKG} loaded; handshake + resumption; ${consumers}; install ${seconds.toFixed(1)} s, ${mb(size)}`;
    });

    scenario('b', 'npm 12 defaults (Node 22), main + platform tarball', () => {
      const node22 = registry.nodeBinary(22);
      const npm12 = registry.npmCli(12);
      const app = project(tmp, 'b');
      const env = { ...blocked, PATH: `${path.dirname(node22)}${path.delimiter}${process.env.PATH}` };
      const version = sh(node22, [npm12, '--version'], { env }).trim();
      const { seconds, out } = timed(() => spawnSync(node22, [npm12, 'install', '--no-audit', '--no-fund', tarball, platformTarball], { cwd: app, encoding: 'utf8', env: { ...process.env, ...env } }));
      if (out.status !== 0) throw new Error(`npm ${version} install failed: ${out.stderr}`);
      const said = `${out.stdout}${out.stderr}`;
      if (!/blocked|allowScripts/i.test(said)) throw new Error(`npm ${version} did not report the blocked install script: ${said}`);
      if (fs.existsSync(path.join(app, 'node_modules', NAME, 'build'))) throw new Error('a build/ directory appeared');
      expectPrebuilt(consumerLoads(app, node22));
      return `npm ${version} on ${sh(node22, ['--version']).trim()}: script blocked ("${(said.match(/[^\n]*(?:blocked|allowScripts)[^\n]*/i) || [''])[0].trim()}"); ${PLATFORM_PKG} loaded; handshake + resumption; ${seconds.toFixed(1)} s`;
    });

    /** `pnpm add` of both tarballs with pnpm `major`'s defaults, under the registry's Node 22 */
    const pnpmAdd = (id, major) => {
      const pnpm = registry.pnpmCli(major);
      const node22 = registry.nodeBinary(22);
      const app = project(tmp, id, { pnpm: { overrides: { [PLATFORM_PKG]: `file:${platformTarball}` } } });
      const version = sh(node22, [pnpm, '--version']).trim();
      const { seconds, out } = timed(() =>
        spawnSync(node22, [pnpm, 'add', `--store-dir=${path.join(tmp, `pnpm-store-${major}`)}`, '--config.confirmModulesPurge=false', tarball, platformTarball], {
          cwd: app,
          encoding: 'utf8',
          env: { ...process.env, ...blocked, CI: 'true', PATH: `${path.dirname(node22)}${path.delimiter}${process.env.PATH}` },
        }),
      );
      return { app, node22, version: `${version} on ${sh(node22, ['--version']).trim()}`, seconds, out, said: `${out.stdout}${out.stderr}` };
    };

    scenario('c', `pnpm ${PNPM_MAJOR} defaults, main + platform tarball`, () => {
      const { app, node22, version, seconds, out, said } = pnpmAdd('c', PNPM_MAJOR);
      if (out.status !== 0) throw new Error(`pnpm ${version} add failed: ${said}`);
      if (!/Ignored build scripts/i.test(said)) throw new Error(`pnpm ${version} did not report the ignored build script: ${said}`);
      expectPrebuilt(consumerLoads(app, node22));
      return `pnpm ${version}: "${(said.match(/Ignored build scripts[^\n│]*/i) || [''])[0].trim()}"; ${PLATFORM_PKG} loaded; handshake + resumption; ${seconds.toFixed(1)} s`;
    });

    // what the README's Install section says of pnpm 11: the packages are installed, the
    // prebuilt loads, but the install exits 1 until the build script is approved
    scenario('c11', 'pnpm 11 defaults, main + platform tarball (README: exits 1 until approved)', () => {
      const { app, node22, version, seconds, out, said } = pnpmAdd('c11', 11);
      if (out.status !== 1 || !/ERR_PNPM_IGNORED_BUILDS/.test(said)) throw new Error(`pnpm ${version}: expected exit 1 with ERR_PNPM_IGNORED_BUILDS, got ${out.status}: ${said}`);
      expectPrebuilt(consumerLoads(app, node22));
      return `pnpm ${version}: exit 1, "${(said.match(/ERR_PNPM_IGNORED_BUILDS[^\n]*/) || [''])[0].trim()}"; ${PLATFORM_PKG} loaded all the same; handshake + resumption; ${seconds.toFixed(1)} s`;
    });

    scenario('d', 'npm, scripts allowed, main tarball only (no prebuilt)', () => {
      const app = project(tmp, 'd');
      const { seconds, out } = timed(() =>
        spawnSync(npm, ['install', '--foreground-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
          cwd: app,
          encoding: 'utf8',
          env: { ...process.env, OPENSSL_SESSION_CACHE_DIR: CACHE, JOBS: process.env.JOBS || 'max' },
        }),
      );
      if (out.status !== 0) throw new Error(`npm install failed: ${out.stdout}${out.stderr}`);
      const said = `${out.stdout}${out.stderr}`;
      const why = (said.match(/\[openssl-session-cache\] building[^\n]*/) || [''])[0];
      if (!/no usable prebuilt binary/.test(why)) throw new Error(`the install script did not say why it builds: ${said.slice(-2000)}`);
      const size = du(path.join(app, 'node_modules'));
      const addon = consumerLoads(app);
      if (addon !== 'source') throw new Error(`the addon came from ${addon}, not the source build`);
      notes.push(`(d) install: ${seconds.toFixed(1)} s (OpenSSL from the cache, the addon compiled), node_modules ${mb(size)}`);
      return `"${why.replace('[openssl-session-cache] ', '')}"; source build loaded; handshake + resumption; install ${seconds.toFixed(1)} s, ${mb(size)}`;
    });

    scenario('e', 'npm --ignore-scripts, main tarball only', () => {
      const app = project(tmp, 'e');
      sh(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app, env: blocked });
      fs.writeFileSync(path.join(app, 'app.cjs'), FILES['app.cjs']);
      const r = spawnSync(process.execPath, ['app.cjs'], { cwd: app, encoding: 'utf8' });
      if (r.status === 0) throw new Error('loading succeeded without any addon');
      for (const want of [`no native addon for ${PLATFORM}`, 'Tried:', 'source build (build/Release/openssl_session_cache.node): not built', `prebuilt ${PLATFORM_PKG}@`, `Fix: npm install ${PLATFORM_PKG}@`]) {
        if (!r.stderr.includes(want)) throw new Error(`the error lacks ${JSON.stringify(want)}: ${r.stderr}`);
      }
      const fix = (r.stderr.match(/Fix: [^\n]*/) || [''])[0];
      return `exit ${r.status}; "${fix}"`;
    });
  } catch (e) {
    failed = true;
    console.error(`[test-package] ${e.message}`);
  } finally {
    if (process.env.KEEP_PACKAGE_TEST) log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log('');
  for (const n of notes) console.log(n);
  console.log('\n| path | install | result | details |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  process.exitCode = failed ? 1 : 0;
}

main();
