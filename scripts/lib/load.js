'use strict';
// The one way the project's tests, fixtures, scripts and benchmarks load the package:
// the compiled dist/ (what `npm install` builds and what users get).
//
// ensureBuilt() compiles lib/ and examples/ into dist/ with the project's own tsc when
// their sources changed since the last build (a hash of the sources is kept in
// dist/.sources-hash), so an edit followed by `npm test` never runs stale code. The jest
// global setup (test/global-setup.js) calls it once before any test runs; scripts call it
// through load() / compiledDist().
//
// OSC_ADDON=/path/to/openssl_session_cache.node makes `bindings('openssl_session_cache')`
// load that file instead of build/Release (the ASan build lives in build-asan/).
// OSC_DIST=/dir loads an already compiled tree from there instead.
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const Module = require('module');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const STAMP = path.join(DIST, '.sources-hash');
const PROJECTS = ['tsconfig.json', path.join('examples', 'tsconfig.json')];

function listTs(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listTs(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function sourcesHash() {
  const h = crypto.createHash('sha256');
  const files = [...listTs(path.join(ROOT, 'lib')), ...listTs(path.join(ROOT, 'examples')), ...PROJECTS.map((p) => path.join(ROOT, p))];
  for (const f of files) {
    h.update(path.relative(ROOT, f));
    h.update('\0');
    h.update(fs.readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

/** Compiles lib/ and examples/ into dist/ unless dist/ is up to date. Returns dist/. */
function ensureBuilt({ quiet = false } = {}) {
  const hash = sourcesHash();
  if (fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8') === hash && fs.existsSync(path.join(DIST, 'index.js'))) return DIST;
  if (!quiet) process.stderr.write('[build] lib/ or examples/ changed: compiling into dist/ (tsc)\n');
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const project of PROJECTS) {
    const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, project)], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tsc -p ${project} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  fs.writeFileSync(STAMP, hash);
  return DIST;
}

function ensureIgnored(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const gi = path.join(dir, '.gitignore');
  if (!fs.existsSync(gi)) fs.writeFileSync(gi, '# scratch output of scripts/ (never committed)\n*\n');
}

/** The directory holding the compiled package's index.js (built if needed). */
function compiledDist() {
  if (process.env.OSC_DIST) return path.resolve(process.env.OSC_DIST);
  return ensureBuilt();
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
function load(entry = 'index.js') {
  hookBindings();
  return require(path.join(compiledDist(), entry));
}

module.exports = { load, compiledDist, ensureBuilt, ROOT, ensureIgnored };
