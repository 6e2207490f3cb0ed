'use strict';
// Runs once before any test file (jest globalSetup): everything the tests need is obtained
// here, by `npm test` itself, so a fresh clone needs only `npm install` and `npm test`.
//  - dist/ is compiled from lib/ when the sources changed (scripts/lib/load.js): the tests,
//    their child processes and worker threads all run that one compiled tree.
//  - a redis-server for the Redis tests: on PATH, or Debian's package fetched and unpacked
//    into deps/.cache/redis (deps/redis-server.js; nothing is installed system-wide).
const { ensureBuilt } = require('../scripts/lib/load');
const { resolveRedisServer } = require('../deps/redis-server');

module.exports = async function globalSetup() {
  ensureBuilt();
  const redis = resolveRedisServer();
  if (redis.source !== 'PATH') process.stderr.write(`\n[setup] redis-server: ${redis.command} (${redis.source})\n`);
};
