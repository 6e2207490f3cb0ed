#!/usr/bin/env node
'use strict';
// npm run test:asan — AddressSanitizer + UndefinedBehaviorSanitizer build and run.
//
// 1. Builds OpenSSL 1.0.2 with the sanitizers through deps/build-openssl.js
//    (OPENSSL_102_EXTRA_CONFIG="no-asm -fsanitize=address -fsanitize=undefined ..."; the
//    options are part of its cache key, so this is a separate deps/.cache/openssl-<key>/
//    next to the normal one; no-asm so that every byte OpenSSL touches is instrumented).
// 2. Copies binding.gyp and native/ into build-asan/src/ (self-gitignored scratch
//    directory), points the copy at that OpenSSL, adds -fsanitize=address,undefined to its
//    compile and link flags and runs node-gyp there. build/Release is never touched.
// 3. Runs, with LD_PRELOAD of the compiler's libasan (node itself is not instrumented) and
//    OSC_ADDON pointing at build-asan/src/build/Release/openssl_session_cache.node:
//      - scripts/memcheck-suite.js (add/remove/evict/flush/DER/handshake/socket echo, ...)
//      - scripts/lib/workers.js   (worker threads: concurrent contexts, DER ring, unloads)
//      - test/fixtures/5x-reentrancy.js (listeners / get callback calling back in)
//      - scripts/fuzz.js --quick  (malformed DER/PEM/ClientHellos, live server socket)
//    Any ASan report or UBSan "runtime error" fails the run (halt_on_error), except the
//    OpenSSL-internal UB listed with reasons in scripts/asan/ubsan.supp. Leak detection is
//    off for node itself (detect_leaks=0): node is not built with LSan in mind and frees
//    little at exit; leaks are judged by `npm run test:valgrind`.
//
//      - scripts/stress-workers.js (busy workers terminated under CPU pressure;
//        --stress-runs N runs of 5 terminate rounds, default 2)
//   node scripts/test-asan.js [--skip-build] [--only suite|workers|stress|reentrancy|fuzz] [--stress-runs N]
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { compiledDist, ROOT, ensureIgnored } = require('./lib/load');

const SAN = ['-fsanitize=address', '-fsanitize=undefined', '-fno-omit-frame-pointer', '-g'];
const OPENSSL_EXTRA = ['no-asm', ...SAN].join(' ');
const WORK = path.join(ROOT, 'build-asan');
const SRC = path.join(WORK, 'src');
const ADDON = path.join(SRC, 'build', 'Release', 'openssl_session_cache.node');

const argv = process.argv.slice(2);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
const stressRuns = argv.includes('--stress-runs') ? Number(argv[argv.indexOf('--stress-runs') + 1]) : 2;

function log(m) {
  console.log(`[test:asan] ${m}`);
}
function die(m) {
  console.error(`[test:asan] FAIL: ${m}`);
  process.exit(1);
}

function cc() {
  return process.env.CC || 'gcc';
}

function runtimeLib(name) {
  const r = spawnSync(cc(), [`-print-file-name=${name}`], { encoding: 'utf8' });
  const p = (r.stdout || '').trim();
  return p && p !== name && fs.existsSync(p) ? fs.realpathSync(p) : undefined;
}

function buildOpenSSL() {
  log(`OpenSSL with ${OPENSSL_EXTRA} (cached after the first build, a few minutes)`);
  // build-openssl.js points deps/.cache/current at the prefix it built; the normal build
  // must stay the current one for everything else (bench, tests)
  const currentFile = path.join(process.env.OPENSSL_SESSION_CACHE_DIR || path.join(ROOT, 'deps', '.cache'), 'current');
  const previous = fs.existsSync(currentFile) ? fs.readFileSync(currentFile) : undefined;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'deps', 'build-openssl.js'), '--prefix'], {
    cwd: ROOT,
    env: { ...process.env, OPENSSL_102_EXTRA_CONFIG: OPENSSL_EXTRA },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const prefix = (r.stdout || '').trim();
  if (previous !== undefined) fs.writeFileSync(currentFile, previous);
  if (r.status !== 0 || !fs.existsSync(path.join(prefix, 'lib', 'libssl.a'))) die('the sanitizer build of OpenSSL failed');
  const info = JSON.parse(fs.readFileSync(path.join(prefix, 'build-info.json'), 'utf8'));
  if (!info.options.includes('-fsanitize=address')) die(`${prefix} is not a sanitizer build`);
  return prefix;
}

function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const s = path.join(from, e.name);
    const d = path.join(to, e.name);
    if (e.isDirectory()) copyDir(s, d);
    else fs.copyFileSync(s, d);
  }
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const guess = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(guess, 'include', 'node', 'node_api.h')) ? guess : undefined;
}

function buildAddon(prefix) {
  ensureIgnored(WORK);
  fs.rmSync(path.join(SRC, 'native'), { recursive: true, force: true });
  copyDir(path.join(ROOT, 'native'), path.join(SRC, 'native'));
  let gyp = fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8');
  // the sanitizer OpenSSL instead of asking deps/build-openssl.js for the normal one
  const before = gyp;
  gyp = gyp.replace(/'openssl_prefix':\s*'[^']*'/, `'openssl_prefix': '${prefix}'`);
  if (gyp === before) die('binding.gyp: cannot find the openssl_prefix variable to redirect');
  const flags = SAN.map((f) => `'${f}'`).join(', ');
  gyp = gyp.replace(/'cflags':\s*\[/, `'cflags': [${flags}, `);
  gyp = gyp.replace(/'cflags_cc':\s*\[/, `'cflags_cc': [${flags}, `);
  gyp = gyp.replace(/'ldflags':\s*\[/, `'ldflags': ['-fsanitize=address', '-fsanitize=undefined', `);
  if (!/'ldflags': \['-fsanitize=address'/.test(gyp) || !/'cflags_cc': \['-fsanitize/.test(gyp)) die('binding.gyp: cannot add the sanitizer flags');
  const gypFile = path.join(SRC, 'binding.gyp');
  if (!fs.existsSync(gypFile) || fs.readFileSync(gypFile, 'utf8') !== gyp) fs.writeFileSync(gypFile, gyp);
  const args = [path.join(ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild', '-j', '2'];
  const nd = nodeDir();
  if (nd) args.push(`--nodedir=${nd}`);
  log(`node-gyp rebuild in ${path.relative(ROOT, SRC)} (build/Release untouched)`);
  const r = spawnSync(process.execPath, args, { cwd: SRC, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  fs.writeFileSync(path.join(WORK, 'node-gyp.log'), `${r.stdout}\n${r.stderr}`);
  if (r.status !== 0 || !fs.existsSync(ADDON)) die(`node-gyp failed; see ${path.join(WORK, 'node-gyp.log')}\n${(r.stderr || '').slice(-3000)}`);
  const ldd = spawnSync('ldd', [ADDON], { encoding: 'utf8' }).stdout || '';
  if (!/libasan/.test(ldd)) die('the addon is not linked against libasan');
}

function sanitizedEnv(dist) {
  const asan = runtimeLib('libasan.so');
  if (!asan) die(`${cc()} has no libasan.so (apt-get install libasan8 / gcc)`);
  const ubsanSupp = path.join(__dirname, 'asan', 'ubsan.supp');
  return {
    ...process.env,
    OSC_ADDON: ADDON,
    OSC_SUITE_WORKERS: '2',
    OSC_DIST: dist,
    LD_PRELOAD: asan,
    ASAN_OPTIONS: [
      'detect_leaks=0', // node itself is not LSan-clean; leaks: npm run test:valgrind
      'halt_on_error=1',
      'abort_on_error=0',
      'exitcode=86',
      'allow_user_segv_handler=1', // V8's wasm trap handler installs its own SIGSEGV handler
      'detect_odr_violation=0', // libstdc++ is linked into node and the addon
      'strict_string_checks=1',
      'detect_stack_use_after_return=0',
      'check_initialization_order=1',
    ].join(':'),
    UBSAN_OPTIONS: `print_stacktrace=1:halt_on_error=1:exitcode=87:suppressions=${ubsanSupp}`,
  };
}

function run(name, args, env, okPattern) {
  log(`run ${name}: node ${args.map((a) => path.relative(ROOT, a) || a).join(' ')}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const out = `${r.stdout || ''}${r.stderr || ''}`;
  const secs = Math.round((Date.now() - started) / 1000);
  const asanReports = (out.match(/ERROR: AddressSanitizer/g) || []).length;
  const ubsanReports = (out.match(/runtime error:/g) || []).length;
  const passed = r.status === 0 && okPattern.test(r.stdout || '') && asanReports === 0 && ubsanReports === 0;
  const tail = (r.stdout || '').trim().split('\n').slice(-2).join('\n').slice(0, 1500);
  log(`${name}: ${passed ? 'ok' : 'FAILED'} in ${secs} s (exit ${r.status}${r.signal ? ' ' + r.signal : ''}; ASan reports ${asanReports}, UBSan reports ${ubsanReports})\n${tail}`);
  if (!passed) console.error(out.slice(-20000));
  return { name, passed, asanReports, ubsanReports, secs };
}

function main() {
  if (process.platform !== 'linux') die('the ASan run is written for Linux (gcc or clang with libasan)');
  let prefix;
  if (!argv.includes('--skip-build') || !fs.existsSync(ADDON)) {
    prefix = buildOpenSSL();
    buildAddon(prefix);
  }
  const dist = compiledDist();
  const env = sanitizedEnv(dist);
  const results = [];
  if (!only || only === 'suite') {
    results.push(run('memcheck-suite', ['--expose-gc', path.join(__dirname, 'memcheck-suite.js'), '--rounds', '3'], env, /memcheck-suite: OK/));
  }
  if (!only || only === 'workers') {
    results.push(
      run('workers', [path.join(__dirname, 'lib', 'workers.js'), '--workers', '4', '--ops', '4000', '--full-rounds', '1', '--terminate-rounds', '2'], env, /WORKERS-RESULT \{"ok":true/),
    );
  }
  if (!only || only === 'stress') {
    // busy workers terminated while calling into the addon, beside busy processes
    results.push(
      run('stress', [path.join(__dirname, 'stress-workers.js'), '--runs', String(stressRuns), '--terminate-rounds', '5', '--pressure', '2'], env, /STRESS-RESULT \{"runs":\d+,"terminateRounds":\d+,"crashes":0,"failures":0,"sanitizerReports":0/),
    );
  }
  if (!only || only === 'reentrancy') {
    results.push(run('reentrancy', [path.join(ROOT, 'test', 'fixtures', '5x-reentrancy.js')], env, /^REENTRANCY \{/m));
  }
  if (!only || only === 'fuzz') {
    results.push(run('fuzz', [path.join(__dirname, 'fuzz.js'), '--quick'], env, /fuzz: OK/));
  }
  const failed = results.filter((r) => !r.passed);
  log(`summary: ${results.map((r) => `${r.name} ${r.passed ? 'ok' : 'FAILED'} (${r.asanReports} ASan, ${r.ubsanReports} UBSan)`).join('; ')}`);
  if (failed.length) die(`${failed.length} run(s) failed`);
  log('PASS');
}

main();
