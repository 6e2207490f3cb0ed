#!/usr/bin/env node
'use strict';
// npm run test:valgrind — runs the focused suite (scripts/memcheck-suite.js: add / remove /
// evict / flush / DER+PEM / handshakes / socket echo / worker threads) under valgrind
// memcheck against the addon in build/Release, and fails on:
//   - any invalid read / write / free / jump, or overlapping copy, with a frame in the addon
//     (native/ or the OpenSSL linked into it),
//   - any "definitely lost" (or "indirectly lost") block allocated through the addon,
//   - any other unsuppressed report whose responsible frame is native/ code,
//   - the suite itself failing.
// Suppressions (scripts/valgrind/suppressions.js) cover V8/Node/OpenSSL-internal reports
// only, each group with its reason; the summary prints how often each group fired.
//
//   node scripts/test-valgrind.js [--rounds N] [--keep]     (rounds of the suite, default 1)
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { compiledDist, ROOT, ensureIgnored } = require('./lib/load');
const { suppressionFile, REASONS } = require('./valgrind/suppressions');

const ADDON_NAME = 'openssl_session_cache.node';
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const rounds = Number(arg('--rounds', '1'));

function main() {
  if (spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).error) {
    console.error('test:valgrind: valgrind is not installed (apt-get install valgrind)');
    process.exit(1);
  }
  const addon = path.join(ROOT, 'build', 'Release', ADDON_NAME);
  if (!fs.existsSync(addon)) {
    console.error(`test:valgrind: ${addon} is missing; build it first (npm install, or npx node-gyp build)`);
    process.exit(1);
  }
  const work = path.join(ROOT, 'build-check');
  ensureIgnored(work);
  const dist = compiledDist(); // compile lib/ outside valgrind
  const supp = path.join(work, 'valgrind.supp');
  fs.writeFileSync(supp, suppressionFile());
  const xml = path.join(work, `valgrind-${process.pid}.xml`);
  const args = [
    '--tool=memcheck',
    '--smc-check=all-non-file', // V8 writes and runs its own machine code
    '--leak-check=full',
    '--show-leak-kinds=definite,indirect,possible',
    '--errors-for-leak-kinds=definite,indirect',
    '--num-callers=40',
    `--suppressions=${supp}`,
    '--xml=yes',
    `--xml-file=${xml}`,
    process.execPath,
    '--expose-gc',
    path.join(__dirname, 'memcheck-suite.js'),
    '--rounds',
    String(rounds),
  ];
  console.log(`test:valgrind: valgrind memcheck on ${path.relative(ROOT, addon)}, suite rounds ${rounds} (takes a minute or two)`);
  const started = Date.now();
  const r = spawnSync('valgrind', args, {
    cwd: ROOT,
    env: { ...process.env, OSC_DIST: dist, OSC_SUITE_WORKERS: process.env.OSC_SUITE_WORKERS || '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const secs = Math.round((Date.now() - started) / 1000);
  process.stdout.write(r.stdout || '');
  const suiteOk = r.status === 0 && /memcheck-suite: OK/.test(r.stdout || '');
  if (!suiteOk) process.stderr.write(r.stderr || '');
  if (!fs.existsSync(xml)) {
    console.error('test:valgrind: valgrind produced no XML report');
    process.exit(1);
  }
  const report = parse(fs.readFileSync(xml, 'utf8'));
  if (!process.argv.includes('--keep')) fs.rmSync(xml, { force: true });
  else console.log(`XML report kept: ${xml}`);
  const verdict = judge(report);
  print(report, verdict, secs, suiteOk);
  process.exit(suiteOk && verdict.failures.length === 0 ? 0 : 1);
}

// ---- XML (valgrind's protocol 4) -------------------------------------------------------
const xmlUnescape = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
const tag = (s, t) => {
  const m = new RegExp(`<${t}>([\\s\\S]*?)</${t}>`).exec(s);
  return m ? xmlUnescape(m[1]) : undefined;
};

function parse(text) {
  const errors = [];
  for (const m of text.matchAll(/<error>([\s\S]*?)<\/error>/g)) {
    const e = m[1];
    const stackText = /<stack>([\s\S]*?)<\/stack>/.exec(e);
    const frames = [];
    if (stackText) {
      for (const f of stackText[1].matchAll(/<frame>([\s\S]*?)<\/frame>/g)) {
        frames.push({ fn: tag(f[1], 'fn') || '?', obj: tag(f[1], 'obj') || '?', file: tag(f[1], 'file'), line: tag(f[1], 'line') });
      }
    }
    const xwhat = /<xwhat>([\s\S]*?)<\/xwhat>/.exec(e);
    errors.push({
      kind: tag(e, 'kind'),
      what: tag(e, 'what') || (xwhat ? tag(xwhat[1], 'text') : ''),
      bytes: xwhat ? Number(tag(xwhat[1], 'leakedbytes') || 0) : 0,
      frames,
    });
  }
  const supp = [];
  const sc = /<suppcounts>([\s\S]*?)<\/suppcounts>/.exec(text);
  if (sc) for (const p of sc[1].matchAll(/<pair>([\s\S]*?)<\/pair>/g)) supp.push({ count: Number(tag(p[1], 'count')), name: tag(p[1], 'name') });
  return { errors, supp };
}

// ---- policy ----------------------------------------------------------------------------
const inAddon = (f) => f.obj.endsWith(ADDON_NAME);
// native/ is C++ (demangled names have `::`, or are node-addon-api templates); the one C
// function of native/ is time() (openssl_clock_time.c). Everything else in the addon is OpenSSL.
const isNative = (f) => inAddon(f) && (f.fn.includes('::') || f.fn.startsWith('napi_value__') || f.fn === 'time');

function judge(report) {
  const failures = [];
  const notes = [];
  for (const e of report.errors) {
    const addonFrames = e.frames.filter(inAddon);
    const first = e.frames.find((f) => f.obj !== '?' && !/vgpreload|libc\.so|ld-linux/.test(f.obj));
    if (/^Leak_(Definitely|Indirectly)Lost$/.test(e.kind)) {
      if (addonFrames.length > 0) failures.push({ why: 'leak allocated through the addon', e });
      else notes.push({ why: 'leak outside the addon (Node/V8)', e });
    } else if (/^Leak_/.test(e.kind)) {
      notes.push({ why: 'possibly lost (not counted: pointers into the middle of blocks are normal for V8)', e });
    } else if (/^(Invalid|Mismatched|Overlap|FishyValue)/.test(e.kind)) {
      if (addonFrames.length > 0) failures.push({ why: 'invalid access in the addon', e });
      else notes.push({ why: 'invalid access inside Node/V8 (no addon frame)', e });
    } else if (first && isNative(first)) {
      failures.push({ why: 'unsuppressed report in native/', e });
    } else if (addonFrames.length > 0) {
      failures.push({ why: 'unsuppressed report in the addon (add a suppression with a reason only if OpenSSL-internal)', e });
    } else {
      notes.push({ why: 'unsuppressed report inside Node/V8', e });
    }
  }
  return { failures, notes };
}

function stack(e, n = 14) {
  return e.frames
    .slice(0, n)
    .map((f) => `      ${f.fn}  (${path.basename(f.obj)}${f.file ? ` ${f.file}:${f.line}` : ''})`)
    .join('\n');
}

function print(report, verdict, secs, suiteOk) {
  const byKind = {};
  for (const e of report.errors) byKind[e.kind] = (byKind[e.kind] || 0) + 1;
  const byGroup = {};
  for (const s of report.supp) {
    const g = s.name.replace(/#\d+$/, '');
    byGroup[g] = (byGroup[g] || 0) + s.count;
  }
  console.log(`\n== valgrind memcheck summary (${secs} s)`);
  console.log(`suite: ${suiteOk ? 'passed' : 'FAILED'}`);
  console.log(`unsuppressed reports: ${report.errors.length}${Object.keys(byKind).length ? ' ' + JSON.stringify(byKind) : ''}`);
  const invalid = report.errors.filter((e) => /^(Invalid|Mismatched|Overlap)/.test(e.kind));
  const definite = report.errors.filter((e) => e.kind === 'Leak_DefinitelyLost');
  const lostBytes = definite.reduce((a, e) => a + e.bytes, 0);
  console.log(`invalid reads/writes/frees: ${invalid.length}; definitely lost: ${definite.length} blocks groups, ${lostBytes} bytes`);
  console.log('suppressed (V8/Node/OpenSSL-internal), by reason:');
  for (const [g, n] of Object.entries(byGroup).sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(7)}  ${g}: ${REASONS[g] || ''}`);
  for (const n of verdict.notes) console.log(`note: ${n.why}: ${n.e.kind} ${n.e.what}\n${stack(n.e, 8)}`);
  for (const f of verdict.failures) console.log(`FAIL: ${f.why}: ${f.e.kind} ${f.e.what}\n${stack(f.e)}`);
  console.log(verdict.failures.length === 0 && suiteOk ? 'test:valgrind: PASS' : `test:valgrind: FAIL (${verdict.failures.length} reports)`);
}

if (require.main === module) main();
module.exports = { parse, judge };
