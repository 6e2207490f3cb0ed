'use strict';
// The test environment of the "node path" jest project: servers that do not name a
// connection path run on the node path (net.Socket + TLSSocket), in the test file and in the
// child processes it starts. The variable is set in the worker process itself (a test file's
// own process.env is a copy that child_process does not read) and restored afterwards,
// since the worker runs the other project's files too.
const { TestEnvironment } = require('jest-environment-node');

const NAME = 'OPENSSL_SESSION_CACHE_CONNECTION_PATH';

class NodePathEnvironment extends TestEnvironment {
  async setup() {
    await super.setup();
    this.previous = process.env[NAME];
    process.env[NAME] = 'node';
    this.global.process.env[NAME] = 'node';
  }

  async teardown() {
    if (this.previous === undefined) delete process.env[NAME];
    else process.env[NAME] = this.previous;
    await super.teardown();
  }
}

module.exports = NodePathEnvironment;
