/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // one way to load the library: the tests import '../lib/…' for its types, and run the
  // compiled dist/ (built once by the global setup), as do their child processes
  globalSetup: '<rootDir>/test/global-setup.js',
  moduleNameMapper: { '^(?:\\.\\./)+lib(/.*)?$': '<rootDir>/dist$1' },
  // test files are transpiled only; `npm run typecheck` type-checks them (npm test runs it)
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'test/tsconfig.json' }] },
  testTimeout: 60000,
};
