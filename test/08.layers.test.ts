// The layout rule of docs/architecture.md, enforced by `npm run lint` (eslint/layers.js):
// lib/ is one folder per layer, imports point down, and only lib/binding loads the addon.
// These tests lint probe files placed in each layer (never written to disk) and show that
// a wrong import fails while the right one passes.
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';

const root = path.resolve(__dirname, '..');
const { ALLOWED } = require('../eslint/layers.js') as { ALLOWED: Record<string, string[]> };
const REEXPORTS: [file: string, code: string][] = [
  ['lib/openssl/probe.ts', "export type { NativeTlsConnection } from '../binding/native';\n"],
  ['lib/openssl/probe.ts', "import type { NativeTlsConnection } from '../binding/native';\nexport type { NativeTlsConnection };\n"],
  ['lib/openssl/probe.ts', "import type { NativeTlsConnection as Conn } from '../binding/native';\nexport type { Conn as TlsConn };\n"],
  ['lib/openssl/probe.ts', "import type { CycleResult } from '../binding/native';\nexport type Step = CycleResult;\n"],
  ['lib/openssl/probe.ts', "export * from '../binding/native';\n"],
  ['lib/tls/probe.ts', "export type { CycleResult } from '../binding/native';\n"],
];
const INTERNAL_USE: [file: string, code: string] = [
  'lib/openssl/probe.ts',
  "import type { CycleResult } from '../binding/native';\nexport interface Step { flags: number }\nexport function flagsOf(r: CycleResult): Step { return { flags: r.flags }; }\n",
];
const PROBES: [file: string, code: string][] = [
  ...REEXPORTS,
  INTERNAL_USE,
  ['lib/common/probe.ts', "import { SslContext } from '../openssl/ssl_context';\nexport const x = SslContext;\n"],
  ['lib/openssl/probe.ts', "import { TLSSocket } from '../tls/tls_socket';\nexport const x = TLSSocket;\n"],
  ['lib/model/probe.ts', "export { MemorySessionStore } from '../stores/memory_session_store';\n"],
  ['lib/tls/probe.ts', "import bindings from 'bindings';\nexport const b = bindings;\n"],
  ['lib/binding/probe.ts', "import bindings from 'bindings';\nexport const b = bindings;\n"],
  ['lib/tls/probe.ts', "import { native } from '../binding/native';\nexport const n = native;\n"],
  ['lib/openssl/probe.ts', "import { native } from '../binding/native';\nexport const n = native;\n"],
  ['lib/tls/probe.ts', "import { SslContext } from '../openssl/ssl_context';\nimport { SessionCacheMode } from '../binding/constants';\nexport const x = [SslContext, SessionCacheMode];\n"],
  ['lib/index2.ts', "export { TLSSocket } from './tls/tls_socket';\n"],
];

// What `npm run lint` says about each probe: the project's ESLint config, in one child
// process (ESLint loads its config with import(), which jest's module sandbox refuses).
let verdicts: string[][];
beforeAll(() => {
  const script = `
    const { ESLint } = require('eslint');
    const probes = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    (async () => {
      const eslint = new ESLint({ cwd: process.cwd() });
      const out = [];
      for (const [file, code] of probes) {
        const [r] = await eslint.lintText(code, { filePath: require('path').resolve(file) });
        const fatal = r.messages.filter((m) => m.fatal);
        if (fatal.length) throw new Error(fatal.map((m) => m.message).join('\\n'));
        out.push(r.messages.filter((m) => m.ruleId === 'layers/imports-point-down').map((m) => m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: root, input: JSON.stringify(PROBES), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  verdicts = JSON.parse(r.stdout);
});

function problems(file: string, code: string): string[] {
  const i = PROBES.findIndex(([f, c]) => f === file && c === code);
  if (i < 0) throw new Error(`not a probe: ${file}`);
  return verdicts[i];
}

test('every folder of lib/ is a known layer', () => {
  const folders = fs
    .readdirSync(path.join(root, 'lib'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  expect(folders).toEqual(Object.keys(ALLOWED).filter((l) => l !== '').sort());
});

test('a layer importing a layer above it fails the lint', () => {
  expect(problems('lib/common/probe.ts', "import { SslContext } from '../openssl/ssl_context';\nexport const x = SslContext;\n")).toEqual([
    expect.stringMatching(/layer 'common' may not import layer 'openssl'/),
  ]);
  expect(problems('lib/openssl/probe.ts', "import { TLSSocket } from '../tls/tls_socket';\nexport const x = TLSSocket;\n")).toEqual([
    expect.stringMatching(/layer 'openssl' may not import layer 'tls'/),
  ]);
  // side by side is not down either: the model does not know the stores
  expect(problems('lib/model/probe.ts', "export { MemorySessionStore } from '../stores/memory_session_store';\n")).toEqual([
    expect.stringMatching(/layer 'model' may not import layer 'stores'/),
  ]);
});

test('only lib/binding loads the addon, and only the openssl layer uses its raw surface', () => {
  expect(problems('lib/tls/probe.ts', "import bindings from 'bindings';\nexport const b = bindings;\n")).toEqual([
    expect.stringMatching(/only lib\/binding loads the native addon/),
  ]);
  expect(problems('lib/binding/probe.ts', "import bindings from 'bindings';\nexport const b = bindings;\n")).toEqual([]);
  expect(problems('lib/tls/probe.ts', "import { native } from '../binding/native';\nexport const n = native;\n")).toEqual([
    expect.stringMatching(/raw surface, for layers binding, openssl only/),
  ]);
  expect(problems('lib/openssl/probe.ts', "import { native } from '../binding/native';\nexport const n = native;\n")).toEqual([]);
});

test('imports that point down pass', () => {
  expect(problems('lib/tls/probe.ts', "import { SslContext } from '../openssl/ssl_context';\nimport { SessionCacheMode } from '../binding/constants';\nexport const x = [SslContext, SessionCacheMode];\n")).toEqual([]);
  expect(problems('lib/index2.ts', "export { TLSSocket } from './tls/tls_socket';\n")).toEqual([]);
});

test('the OpenSSL layer does not hand the raw surface up by re-exporting its types', () => {
  for (const [file, code] of REEXPORTS) {
    expect({ code, problems: problems(file, code) }).toEqual({ code, problems: expect.arrayContaining([expect.stringMatching(/part of the addon's raw surface|raw surface, for layers/)]) });
  }
  // the tls layer may not even name the module
  expect(problems(...REEXPORTS[5])).toEqual(expect.arrayContaining([expect.stringMatching(/raw surface, for layers binding, openssl only/)]));
  // using a native type inside the OpenSSL layer, behind its own types, passes
  expect(problems(...INTERNAL_USE)).toEqual([]);
});
