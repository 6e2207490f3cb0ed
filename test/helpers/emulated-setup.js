'use strict';
// jest globalSetup for a run under an emulated Node (scripts/test-arm64.js): the compiled
// dist/ must already be current (the caller built it on the host), and nothing else of
// test/global-setup.js is needed by the core subset — which matters because a child
// process of the emulated node (the openssl program's build, tsc) cannot start there.
const { ensureBuilt } = require('../../scripts/lib/load');

module.exports = async function emulatedSetup() {
  ensureBuilt();
};
