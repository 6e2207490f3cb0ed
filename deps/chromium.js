#!/usr/bin/env node
'use strict';
// Finds a headless-capable Chromium for the dashboard test (test/88), obtaining Debian's
// package when the machine has none — without touching the system, as deps/redis-server.js
// obtains redis-server:
//
//   1. $CHROMIUM (a path to a chromium binary), if set;
//   2. `chromium` / `chromium-browser` / `google-chrome` on PATH;
//   3. a copy this script unpacked earlier into the cache (deps/.cache/chromium/);
//   4. otherwise Debian's `chromium` and the packages apt would add to install it (asked
//      with `apt-get -s install`, a simulation that needs no root), fetched with
//      `apt-get download` and unpacked with `dpkg-deb -x` into the cache; it runs from
//      there with LD_LIBRARY_PATH.
//
//   node deps/chromium.js           prints the command and what it did (obtains if needed)
//   node deps/chromium.js --check   prints what it would use, obtains nothing; exit 1 if none
//
// OPENSSL_SESSION_CACHE_DIR moves the cache as for deps/build-openssl.js.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { onPath, run, aptOptions: aptOptionsUnder } = require('./debian_tools');

const CACHE = path.resolve(process.env.OPENSSL_SESSION_CACHE_DIR || path.join(__dirname, '.cache'));
const ROOT = path.join(CACHE, 'chromium', 'root');
const BINARY = path.join('usr', 'lib', 'chromium', 'chromium');
const FIX = 'apt-get install chromium   (or set CHROMIUM=/path/to/chromium)';

function log(msg) {
  process.stderr.write(`[chromium] ${msg}\n`);
}

/** the environment the binary unpacked under `root` runs with */
function envFor(root) {
  if (!root) return {};
  // libpulse finds its private library through a RUNPATH under /usr: name that directory too
  const dirs = ['usr/lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu/pulseaudio', 'lib/x86_64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'usr/lib/aarch64-linux-gnu/pulseaudio', 'lib/aarch64-linux-gnu', 'usr/lib/chromium']
    .map((d) => path.join(root, d))
    .filter((d) => fs.existsSync(d));
  const prev = process.env.LD_LIBRARY_PATH;
  return { LD_LIBRARY_PATH: [...dirs, ...(prev ? [prev] : [])].join(path.delimiter) };
}

/** true when `command --version` runs and says Chromium (or Chrome) */
function works(command, env) {
  const r = spawnSync(command, ['--version'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60000 });
  return r.status === 0 && /Chrom/.test(r.stdout);
}

/** what is there now, without obtaining anything: { command, env, source } or undefined */
function find() {
  if (process.env.CHROMIUM) return { command: path.resolve(process.env.CHROMIUM), env: {}, source: 'CHROMIUM' };
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const p = onPath(name);
    if (p) return { command: p, env: {}, source: 'PATH' };
  }
  const cached = path.join(ROOT, BINARY);
  if (fs.existsSync(cached)) return { command: cached, env: envFor(ROOT), source: `cache (${path.relative(process.cwd(), ROOT) || ROOT})` };
  return undefined;
}

function aptOptions(ownLists) {
  return aptOptionsUnder(path.join(CACHE, 'chromium', 'apt'), ownLists);
}

/** the packages apt would install for chromium on this machine (a simulation) */
function packagesToFetch(opts) {
  const r = run('apt-get', [...opts, '-s', '-o', 'Debug::NoLocking=1', 'install', '--no-install-recommends', 'chromium']);
  if (r.status !== 0) return undefined;
  return [...r.stdout.matchAll(/^Inst (\S+)/gm)].map((m) => m[1]);
}

/** fetches Debian's chromium (+ what the machine lacks for it) into the cache */
function obtain() {
  if (!onPath('apt-get') || !onPath('dpkg-deb')) {
    throw new Error(`no chromium on this machine and no apt-get/dpkg-deb to fetch one; fix: ${FIX}`);
  }
  const work = path.join(CACHE, 'chromium', `download-${process.pid}`);
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  log(`no chromium installed: fetching Debian's package into ${path.relative(process.cwd(), CACHE) || CACHE}/chromium (apt-get download, nothing is installed)`);
  let opts = [];
  let pkgs = packagesToFetch(opts);
  let r = pkgs ? run('apt-get', [...opts, 'download', ...pkgs], { cwd: work }) : undefined;
  if (!r || r.status !== 0) {
    log('apt-get failed with the system package lists; fetching lists into the cache (apt-get update)');
    opts = aptOptions(true);
    const u = run('apt-get', [...opts, 'update']);
    if (u.status !== 0) throw new Error(`apt-get update failed:\n${u.stderr}\nfix: ${FIX}`);
    pkgs = packagesToFetch(opts);
    if (!pkgs) throw new Error(`apt-get cannot resolve chromium; fix: ${FIX}`);
    r = run('apt-get', [...opts, 'download', ...pkgs], { cwd: work });
    if (r.status !== 0) throw new Error(`apt-get download chromium failed:\n${r.stderr}\nfix: ${FIX}`);
  }
  log(`packages: ${pkgs.join(', ')}`);
  const staging = path.join(work, 'root');
  for (const deb of fs.readdirSync(work).filter((f) => f.endsWith('.deb'))) {
    const x = run('dpkg-deb', ['-x', path.join(work, deb), staging]);
    if (x.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed:\n${x.stderr}`);
  }
  const binary = path.join(staging, BINARY);
  if (!works(binary, envFor(staging))) throw new Error(`the unpacked chromium does not run (${binary}); fix: ${FIX}`);
  // publish atomically: concurrent callers see either nothing or a complete tree
  fs.mkdirSync(path.dirname(ROOT), { recursive: true });
  try {
    fs.renameSync(staging, ROOT);
  } catch (e) {
    if (!fs.existsSync(path.join(ROOT, BINARY))) throw e;
  }
  fs.rmSync(work, { recursive: true, force: true });
  log(`ready: ${path.join(ROOT, BINARY)}`);
}

/** The chromium to run: { command, env, source }, obtaining one when needed. */
function resolveChromium() {
  let found = find();
  if (!found) {
    obtain();
    found = find();
  }
  if (!found) throw new Error(`cannot find or obtain chromium; fix: ${FIX}`);
  if (!works(found.command, found.env)) throw new Error(`${found.command} (from ${found.source}) does not run; fix: ${FIX}`);
  return found;
}

module.exports = { resolveChromium, findChromium: find };

if (require.main === module) {
  try {
    if (process.argv.includes('--check')) {
      const f = find();
      if (!f) {
        console.log(`none (would fetch Debian's chromium into ${ROOT})`);
        process.exit(1);
      }
      console.log(`${f.command} (${f.source})`);
    } else {
      const f = resolveChromium();
      console.log(`${f.command} (${f.source})`);
    }
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
