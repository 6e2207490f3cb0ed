#!/usr/bin/env node
'use strict';
// Finds a redis-server for the Redis session store's tests, the fleet example and the
// Redis benchmark, obtaining one when the machine has none — without touching the system:
//
//   1. $REDIS_SERVER (a path to a redis-server binary), if set;
//   2. `redis-server` on PATH;
//   3. a copy this script unpacked earlier into the cache (deps/.cache/redis/);
//   4. otherwise Debian's `redis-server` package and the libraries it needs that the
//      machine lacks, fetched with `apt-get download` (no root, no install: package lists
//      go into the cache too when the system's are empty) and unpacked with `dpkg-deb -x`
//      into the cache; it runs from there with LD_LIBRARY_PATH.
//
//   node deps/redis-server.js           prints the command and what it did (obtains if needed)
//   node deps/redis-server.js --check   prints what it would use, obtains nothing; exit 1 if none
//
// OPENSSL_SESSION_CACHE_DIR moves the cache as for deps/build-openssl.js.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { onPath, run, aptOptions: aptOptionsUnder } = require('./debian_tools');

const CACHE = path.resolve(process.env.OPENSSL_SESSION_CACHE_DIR || path.join(__dirname, '.cache'));
const ROOT = path.join(CACHE, 'redis', 'root');
const FIX = 'apt-get install redis-server   (or set REDIS_SERVER=/path/to/redis-server)';

function log(msg) {
  process.stderr.write(`[redis-server] ${msg}\n`);
}

function libDirs(root) {
  return ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'lib/aarch64-linux-gnu', 'usr/lib']
    .map((d) => path.join(root, d))
    .filter((d) => fs.existsSync(d));
}

/** the environment a binary unpacked under `root` runs with */
function envFor(root) {
  if (!root) return {};
  const dirs = libDirs(root);
  const prev = process.env.LD_LIBRARY_PATH;
  return { LD_LIBRARY_PATH: [...dirs, ...(prev ? [prev] : [])].join(path.delimiter) };
}

/** true when `command --version` runs */
function works(command, env) {
  const r = spawnSync(command, ['--version'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20000 });
  return r.status === 0 && /Redis server/.test(r.stdout);
}

/** what is there now, without obtaining anything: { command, env, source } or undefined */
function find() {
  if (process.env.REDIS_SERVER) {
    return { command: path.resolve(process.env.REDIS_SERVER), env: {}, source: 'REDIS_SERVER' };
  }
  const p = onPath('redis-server');
  if (p) return { command: p, env: {}, source: 'PATH' };
  const cached = path.join(ROOT, 'usr', 'bin', 'redis-server');
  if (fs.existsSync(cached)) return { command: cached, env: envFor(ROOT), source: `cache (${path.relative(process.cwd(), ROOT) || ROOT})` };
  return undefined;
}

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && /install ok installed/.test(r.stdout);
}

function aptOptions(ownLists) {
  return aptOptionsUnder(path.join(CACHE, 'redis', 'apt'), ownLists);
}

function download(pkgs, dir, opts) {
  return run('apt-get', [...opts, 'download', ...pkgs], { cwd: dir });
}

/** fetches Debian's redis-server (+ the libraries the machine lacks) into the cache */
function obtain() {
  if (!onPath('apt-get') || !onPath('dpkg-deb')) {
    throw new Error(`no redis-server on this machine and no apt-get/dpkg-deb to fetch one; fix: ${FIX}`);
  }
  const work = path.join(CACHE, 'redis', `download-${process.pid}`);
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  log(`no redis-server installed: fetching Debian's package into ${path.relative(process.cwd(), CACHE) || CACHE}/redis (apt-get download, nothing is installed)`);
  let opts = [];
  let r = download(['redis-server', 'redis-tools'], work, opts);
  if (r.status !== 0) {
    // the system's package lists are empty or stale: keep our own
    log('apt-get download failed with the system package lists; fetching lists into the cache (apt-get update)');
    opts = aptOptions(true);
    const u = run('apt-get', [...opts, 'update'], {});
    if (u.status !== 0) throw new Error(`apt-get update failed:\n${u.stderr}\nfix: ${FIX}`);
    r = download(['redis-server', 'redis-tools'], work, opts);
    if (r.status !== 0) throw new Error(`apt-get download redis-server failed:\n${r.stderr}\nfix: ${FIX}`);
  }
  // the shared libraries redis-tools needs that this machine does not have
  const deps = run('apt-cache', [...opts, 'depends', '--no-recommends', '--no-suggests', 'redis-tools'], {});
  const missing = [...deps.stdout.matchAll(/^\s+(?:Pre)?Depends: ([a-z0-9.+-]+)$/gm)]
    .map((m) => m[1])
    .filter((p) => p.startsWith('lib') && !installed(p));
  if (missing.length > 0) {
    log(`libraries: ${missing.join(', ')}`);
    const d = download(missing, work, opts);
    if (d.status !== 0) throw new Error(`apt-get download ${missing.join(' ')} failed:\n${d.stderr}\nfix: ${FIX}`);
  }
  const staging = path.join(work, 'root');
  for (const deb of fs.readdirSync(work).filter((f) => f.endsWith('.deb'))) {
    const x = run('dpkg-deb', ['-x', path.join(work, deb), staging]);
    if (x.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed:\n${x.stderr}`);
  }
  const binary = path.join(staging, 'usr', 'bin', 'redis-server');
  if (!works(binary, envFor(staging))) throw new Error(`the unpacked redis-server does not run (${binary}); fix: ${FIX}`);
  // publish atomically: concurrent callers see either nothing or a complete tree
  fs.mkdirSync(path.dirname(ROOT), { recursive: true });
  try {
    fs.renameSync(staging, ROOT);
  } catch (e) {
    if (!fs.existsSync(path.join(ROOT, 'usr', 'bin', 'redis-server'))) throw e;
  }
  fs.rmSync(work, { recursive: true, force: true });
  log(`ready: ${path.join(ROOT, 'usr', 'bin', 'redis-server')}`);
}

/**
 * The redis-server to run: { command, env, source }, obtaining one when needed.
 * `env` holds the variables to add to the child's environment (LD_LIBRARY_PATH).
 */
function resolveRedisServer() {
  let found = find();
  if (!found) {
    obtain();
    found = find();
  }
  if (!found) throw new Error(`cannot find or obtain redis-server; fix: ${FIX}`);
  if (!works(found.command, found.env)) {
    throw new Error(`${found.command} (from ${found.source}) does not run; fix: ${FIX}`);
  }
  return found;
}

/** argv for a private, non-persistent server on 127.0.0.1:port */
function redisArgs(port, extra = []) {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra];
}

/**
 * Starts a private redis-server on 127.0.0.1:port; resolves with the child process once it
 * accepts connections (rejects if it exits or cannot be run first). The caller kills it.
 */
function startRedisServer(port, extraArgs = []) {
  return spawnRedisServer(redisArgs(port, extraArgs), /Ready to accept connections/);
}

/**
 * Runs redis-server with exactly `args` (a config file first, `--sentinel`, …); resolves
 * with the child process once its log matches `ready` (rejects if it exits or cannot be run
 * first). The caller kills it.
 */
function spawnRedisServer(args, ready) {
  const { spawn } = require('child_process');
  const os = require('os');
  const found = resolveRedisServer();
  // a directory of its own as the working directory: what a replica writes there (the RDB
  // of a full sync, dump.rdb) never lands in the caller's directory; removed at exit
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-redis-'));
  const proc = spawn(found.command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...found.env } });
  proc.once('close', () => fs.rmSync(dir, { recursive: true, force: true }));
  return new Promise((resolve, reject) => {
    let out = '';
    const done = (error) => {
      proc.removeAllListeners('exit');
      proc.removeAllListeners('error');
      proc.stdout.removeAllListeners('data');
      proc.stderr.removeAllListeners('data');
      proc.stdout.resume();
      proc.stderr.resume();
      if (error) {
        proc.kill('SIGKILL');
        reject(error);
      } else resolve(proc);
    };
    proc.once('error', (e) => done(new Error(`cannot run ${found.command} (${found.source}): ${e.message}; fix: ${FIX}`)));
    proc.once('exit', (code) => done(new Error(`redis-server exited (${code}) before it was ready:\n${out}`)));
    proc.stdout.on('data', (d) => {
      out += d;
      if (ready.test(out)) done();
    });
    proc.stderr.on('data', (d) => (out += d));
  });
}

module.exports = { resolveRedisServer, findRedisServer: find, redisArgs, startRedisServer, spawnRedisServer };

if (require.main === module) {
  try {
    if (process.argv.includes('--check')) {
      const f = find();
      if (!f) {
        console.log(`none (would fetch Debian's redis-server into ${ROOT})`);
        process.exit(1);
      }
      console.log(`${f.command} (${f.source})`);
    } else {
      const f = resolveRedisServer();
      console.log(`${f.command} (${f.source})`);
    }
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
