'use strict';
// Runs once before any test file (jest globalSetup): everything the tests need is obtained
// here, by `npm test` itself, so a fresh clone needs only `npm install` and `npm test`.
//  - dist/ is compiled from lib/ when the sources changed (scripts/lib/load.js): the tests,
//    their child processes and worker threads all run that one compiled tree.
//  - a redis-server for the Redis tests: on PATH, or Debian's package fetched and unpacked
//    into deps/.cache/redis (deps/redis-server.js; nothing is installed system-wide).
//  - the `openssl` program of the same OpenSSL 1.0.2h tree, the peer of test/47
//    (`node deps/build-openssl.js --apps`: built once, a few minutes, then cached next to
//    the libraries; `npm install` never builds it).
const { spawnSync } = require('child_process');
const path = require('path');
const { ensureBuilt } = require('../scripts/lib/load');
const { resolveRedisServer } = require('../deps/redis-server');

function buildOpenSSL102Apps() {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'deps', 'build-openssl.js'), '--apps'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`deps/build-openssl.js --apps failed (status ${r.status})`);
}

module.exports = async function globalSetup() {
  ensureBuilt();
  buildOpenSSL102Apps();
  const redis = resolveRedisServer();
  if (redis.source !== 'PATH') process.stderr.write(`\n[setup] redis-server: ${redis.command} (${redis.source})\n`);
};
