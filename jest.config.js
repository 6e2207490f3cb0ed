/** @type {import('jest').Config} */
const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // one way to load the library: the tests import '../lib/…' for its types, and run the
  // compiled dist/ (built once by the global setup), as do their child processes
  moduleNameMapper: { '^(?:\\.\\./)+lib(/.*)?$': '<rootDir>/dist$1' },
  // test files are transpiled only; `npm run typecheck` type-checks them (npm test runs it)
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'test/tsconfig.json' }] },
  testTimeout: 60000,
};

// The server suites once more on the node connection path (net.Socket + TLSSocket), kept
// behind `connectionPath: 'node'` while the native path is the default: the environment
// variable names it for every server whose test does not name a path itself.
const NODE_PATH_SUITES = [36, 41, 42, 43, 44, 48, 49, 56, 60, 61, 62, 63, 64, 67, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 84, 87, 88, 89, 94];

module.exports = {
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 60000,
  projects: [
    { ...base, displayName: 'default path', testMatch: ['**/*.test.ts'] },
    {
      ...base,
      displayName: 'node path',
      testMatch: NODE_PATH_SUITES.map((n) => `**/test/${n}.*.test.ts`),
      testEnvironment: '<rootDir>/test/helpers/node_path_environment.js',
    },
  ],
};
