#!/usr/bin/env node
'use strict';
// `npm run test:package`: the package as a user gets it. Packs the project (`npm pack`,
// which runs `prepare`), installs the tarball into an empty project in the system's temp
// directory (outside the repository), and there compiles and runs
//   - app.cjs  (require)                         - app.mjs (import)
//   - app.ts   under `module: commonjs`          - app.ts + app.mts under `module: node16`
// each using the root, `/model` and `/conformance` entry points, and `/redis` resolving
// (ioredis, an optional peer, is not installed there: the root must not load it and the
// store must say what is missing).
//
// The install runs the package's `install` script, which builds OpenSSL 1.0.2h: it reuses
// this repository's cache (OPENSSL_SESSION_CACHE_DIR=deps/.cache), so only the addon is
// compiled. TypeScript and @types/node come from this repository's devDependencies.
//
//   KEEP_PACKAGE_TEST=1 npm run test:package   keeps the temp project and prints its path
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.resolve(process.env.OPENSSL_SESSION_CACHE_DIR || path.join(ROOT, 'deps', '.cache'));
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TYPE_ROOTS = path.join(ROOT, 'node_modules', '@types');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NAME = 'openssl-session-cache';

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

function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-package-'));
  const rows = [];
  let failed = false;
  try {
    log(`npm pack (prepare compiles dist/) into ${tmp}`);
    const packed = JSON.parse(sh(npm, ['pack', '--pack-destination', tmp, '--json', '--loglevel=error'], { cwd: ROOT }))[0];
    const tarball = path.join(tmp, packed.filename);
    const names = packed.files.map((f) => f.path);
    for (const need of ['LICENSE', 'SECURITY.md', 'README.md', 'docs/api.md', 'dist/index.js', 'dist/redis.d.ts', 'binding.gyp']) {
      if (!names.includes(need)) throw new Error(`the tarball lacks ${need}`);
    }
    if (!names.some((n) => n.startsWith('examples/scenarios/'))) throw new Error('the tarball lacks examples/scenarios');
    if (names.some((n) => n.startsWith('test/') || n.startsWith('deps/.cache') || n.startsWith('build/'))) {
      throw new Error('the tarball holds test/, deps/.cache or build/');
    }

    const app = path.join(tmp, 'consumer');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
    log(`npm install ${packed.filename} into ${app} (OPENSSL_SESSION_CACHE_DIR=${CACHE})`);
    const t0 = process.hrtime.bigint();
    sh(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app, env: { OPENSSL_SESSION_CACHE_DIR: CACHE, JOBS: process.env.JOBS || 'max' } });
    const installSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const tree = sh(npm, ['ls', '--omit=dev', '--all'], { cwd: app });
    if (fs.existsSync(path.join(app, 'node_modules', 'ioredis'))) throw new Error('ioredis was installed: it must be an optional peer');

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
    for (const [label, project, file] of steps) {
      try {
        if (project) sh(process.execPath, [TSC, '-p', project], { cwd: app });
        const out = sh(process.execPath, [file], { cwd: app }).trim();
        if (!out.startsWith('ok ')) throw new Error(`printed ${JSON.stringify(out)}`);
        rows.push([label, 'ok', out]);
      } catch (e) {
        failed = true;
        rows.push([label, 'FAILED', e.message.split('\n').slice(0, 12).join(' ⏎ ')]);
      }
    }

    console.log(`\ntarball: ${packed.filename}, ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} kB packed`);
    console.log(`install into an empty project: ${installSeconds.toFixed(1)} s (OpenSSL from the cache, addon compiled)`);
    console.log(`\nnpm ls --omit=dev --all (consumer):\n${tree}`);
    console.log('| consumer | result | output |');
    console.log('|---|---|---|');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  } catch (e) {
    failed = true;
    console.error(`[test-package] ${e.message}`);
  } finally {
    if (process.env.KEEP_PACKAGE_TEST) log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}

main();
