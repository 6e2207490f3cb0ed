#!/usr/bin/env node
'use strict';
// `npm run check:release`: what a release publishes, checked before it is.
//   - one version everywhere: package.json, package-lock.json, every optionalDependencies
//     entry of a platform package, the loader's list of published platforms
//     (lib/binding/addon_loader.ts PREBUILT_PLATFORMS), and each platform package built in
//     prebuilds/<id>/ (scripts/prebuild.js) with its os/cpu/libc fields;
//   - the contents and sizes of each tarball (`npm pack --dry-run`): the main one holds no
//     .node file, no test/, no build cache; a platform one holds its addon and nothing of
//     the sources;
//   - CHANGELOG.md has an entry for the version.
// Exit status 1 on any mismatch.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const SCOPE = '@openssl-session-cache/';
const problems = [];
const read = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));

function pack(dir) {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack --dry-run in ${dir} failed: ${r.stderr}`);
  return JSON.parse(r.stdout)[0];
}

function listing(p) {
  const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
  console.log(`\n${p.name}@${p.version}: ${p.filename}, ${p.entryCount} files, ${kb(p.size)} packed, ${kb(p.unpackedSize)} unpacked`);
  const files = [...p.files].sort((a, b) => b.size - a.size);
  const dirs = new Map();
  for (const f of files) {
    const top = f.path.includes('/') ? `${f.path.split('/')[0]}/` : f.path;
    dirs.set(top, (dirs.get(top) || { n: 0, size: 0 }));
    dirs.get(top).n++;
    dirs.get(top).size += f.size;
  }
  console.log('| path | files | size |');
  console.log('|---|---|---|');
  for (const [d, v] of [...dirs].sort((a, b) => b[1].size - a[1].size)) console.log(`| ${d} | ${v.n} | ${kb(v.size)} |`);
  console.log(`largest: ${files.slice(0, 5).map((f) => `${f.path} (${kb(f.size)})`).join(', ')}`);
}

function main() {
  const pkg = read(path.join(ROOT, 'package.json'));
  const v = pkg.version;
  const lock = read(path.join(ROOT, 'package-lock.json'));
  if (lock.version !== v || lock.packages[''].version !== v) problems.push(`package-lock.json says ${lock.packages[''].version}, package.json ${v}`);
  const optional = pkg.optionalDependencies || {};
  const platforms = Object.keys(optional).filter((n) => n.startsWith(SCOPE));
  for (const n of platforms) if (optional[n] !== v) problems.push(`optionalDependencies ${n} is ${optional[n]}, the package is ${v}`);
  for (const n of platforms) if ((lock.packages[''].optionalDependencies || {})[n] !== v) problems.push(`package-lock.json's optionalDependencies ${n} is not ${v}`);
  const loader = fs.readFileSync(path.join(ROOT, 'lib', 'binding', 'addon_loader.ts'), 'utf8');
  const listed = /PREBUILT_PLATFORMS: readonly string\[\] = \[([^\]]*)\]/.exec(loader);
  const ids = listed ? [...listed[1].matchAll(/'([^']+)'/g)].map((m) => m[1]) : [];
  if (ids.sort().join() !== platforms.map((n) => n.slice(SCOPE.length)).sort().join()) {
    problems.push(`the loader's PREBUILT_PLATFORMS (${ids.join(', ')}) differ from optionalDependencies (${platforms.join(', ')})`);
  }
  const changelog = fs.existsSync(path.join(ROOT, 'CHANGELOG.md')) ? fs.readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8') : '';
  if (!new RegExp(`^## \\[?${v.replace(/\./g, '\\.')}\\]?`, 'm').test(changelog)) problems.push(`CHANGELOG.md has no "## ${v}" entry`);

  const main = pack(ROOT);
  listing(main);
  const bad = main.files.filter((f) => /\.node$|^test\/|^deps\/\.cache|^build\/|^prebuilds\//.test(f.path));
  if (bad.length) problems.push(`the main tarball holds ${bad.map((f) => f.path).slice(0, 5).join(', ')}`);

  for (const n of platforms) {
    const id = n.slice(SCOPE.length);
    const dir = path.join(ROOT, 'prebuilds', id);
    if (!fs.existsSync(path.join(dir, 'package.json'))) {
      console.log(`\n${n}: not built here (npm run prebuild:${id.split('-')[1]}); its version is checked when it is`);
      continue;
    }
    const p = read(path.join(dir, 'package.json'));
    if (p.name !== n) problems.push(`prebuilds/${id} is named ${p.name}`);
    if (p.version !== v) problems.push(`${n} in prebuilds/${id} is ${p.version}, the package is ${v}`);
    const [os, cpu, libc] = id.split('-');
    if (String(p.os) !== os || String(p.cpu) !== cpu || String(p.libc) !== (libc === 'gnu' ? 'glibc' : libc)) problems.push(`${n}: os/cpu/libc are ${p.os}/${p.cpu}/${p.libc}`);
    const packed = pack(dir);
    listing(packed);
    const names = packed.files.map((f) => f.path).sort();
    if (!names.includes('openssl_session_cache.node')) problems.push(`${n}'s tarball lacks openssl_session_cache.node`);
    const extra = names.filter((f) => !['openssl_session_cache.node', 'build-info.json', 'package.json', 'README.md', 'LICENSE'].includes(f));
    if (extra.length) problems.push(`${n}'s tarball holds more than its addon: ${extra.join(', ')}`);
  }

  console.log(`\nversion ${v}: main package, ${platforms.length} platform packages (${platforms.join(', ')}), package-lock.json, CHANGELOG.md`);
  for (const p of problems) console.log(`PROBLEM: ${p}`);
  console.log(problems.length ? `check:release: ${problems.length} problem(s)` : 'check:release: ok');
  process.exitCode = problems.length ? 1 : 0;
}

main();
