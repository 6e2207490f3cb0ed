'use strict';
// Loads the package for the reliability scripts (valgrind, asan, fuzz, soak) and for the
// child processes / worker threads of tests 50–59.
//
// lib/ is compiled with the project's own tsc into build-check/dist-<hash of lib/>/
// (written to a temporary directory and renamed, so concurrent callers never see a half
// written tree), then required from there. Nothing is transpiled inside the process under
// test, which keeps startup cheap under valgrind.
//
// OSC_ADDON=/path/to/openssl_session_cache.node makes `bindings('openssl_session_cache')`
// load that file instead of build/Release (the ASan build lives in build-asan/).
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const Module = require('module');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const LIB = path.join(ROOT, 'lib');
const OUT_ROOT = path.join(ROOT, 'build-check');

function listTs(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listTs(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function libHash() {
  const h = crypto.createHash('sha256');
  for (const f of listTs(LIB)) {
    h.update(path.relative(LIB, f));
    h.update('\0');
    h.update(fs.readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function ensureIgnored(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const gi = path.join(dir, '.gitignore');
  if (!fs.existsSync(gi)) fs.writeFileSync(gi, '# scratch output of scripts/ (never committed)\n*\n');
}

/** Compiles lib/ (if needed) and returns the directory holding index.js. */
function compiledDist() {
  if (process.env.OSC_DIST) return path.resolve(process.env.OSC_DIST);
  const dir = path.join(OUT_ROOT, `dist-${libHash()}`);
  if (fs.existsSync(path.join(dir, 'index.js'))) return dir;
  ensureIgnored(OUT_ROOT);
  const tmp = `${dir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [tsc, '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', tmp, '--declaration', 'false', '--sourceMap', 'false', '--noEmitOnError', 'false'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (!fs.existsSync(path.join(tmp, 'index.js'))) {
    throw new Error(`tsc did not produce ${tmp}/index.js (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  try {
    fs.renameSync(tmp, dir);
  } catch (e) {
    // another process won the race: use its copy
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, 'index.js'))) throw e;
  }
  return dir;
}

let hooked = false;
function hookBindings() {
  const addon = process.env.OSC_ADDON;
  if (!addon || hooked) return;
  hooked = true;
  const file = path.resolve(addon);
  const original = Module.prototype.require;
  Module.prototype.require = function require(id) {
    if (id === 'bindings') return () => original.call(this, file);
    return original.apply(this, arguments);
  };
}

/** The package's public API (the equivalent of require('openssl-session-cache')). */
function load() {
  hookBindings();
  return require(path.join(compiledDist(), 'index.js'));
}

module.exports = { load, compiledDist, ROOT, ensureIgnored };
