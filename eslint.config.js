'use strict';
// `npm run lint` (run by `npm test`): typescript-eslint's recommended rules and the
// project's layer rule (eslint/layers.js: lib/ imports point down; only lib/binding loads
// the addon).
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const { plugin: layers } = require('./eslint/layers');

const nodeGlobals = {
  require: 'readonly', module: 'writable', process: 'readonly', Buffer: 'readonly', __dirname: 'readonly', __filename: 'readonly',
  console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly',
  setImmediate: 'readonly', clearImmediate: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', global: 'readonly',
  globalThis: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly',
  SharedArrayBuffer: 'readonly', Atomics: 'readonly', FinalizationRegistry: 'readonly', WeakRef: 'readonly', performance: 'readonly',
  exports: 'writable', BigInt: 'readonly',
};

module.exports = tseslint.config(
  { ignores: ['dist/**', 'build/**', 'build-*/**', 'node_modules/**', 'deps/.cache/**', 'bench/.work/**', 'coverage/**', 'prebuilds/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: nodeGlobals },
    plugins: { layers },
    rules: {
      'layers/imports-point-down': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts', 'examples/**/*.ts', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // tests load their JavaScript fixtures and scripts with require()
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
);
