'use strict';
// The "node path" jest project: servers that do not name a connection path run on the node
// path (net.Socket + TLSSocket), in this test file and in the child processes it starts.
process.env.OPENSSL_SESSION_CACHE_CONNECTION_PATH = 'node';
