// Memory checkers, the fast part. `npm run test:valgrind` and
// `npm run test:asan` run scripts/memcheck-suite.js under valgrind / ASan+UBSan (minutes);
// here: the suite itself passes without a checker, the valgrind verdict fails on exactly
// what it must (invalid accesses and definite leaks through the addon, unsuppressed
// reports in native/) and the suppressions cannot hide code of native/.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { runNode } from './helpers/children';

const root = path.resolve(__dirname, '..');
const { parse, judge } = require('../scripts/test-valgrind.js');
const { suppressionFile } = require('../scripts/valgrind/suppressions.js');

// bounded by jest's timeout only (a spawnSync timeout would decide the outcome on a busy machine)
test('the focused suite passes on its own (add/remove/evict/flush/DER/handshake/socket echo/HTTP/2 on socketpairs)', async () => {
  const r = await runNode(path.join(root, 'scripts/memcheck-suite.js'), ['--rounds', '1'], { cwd: root, nodeArgs: ['--expose-gc'] });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  expect(r.stdout).toMatch(/memcheck-suite: OK \d+ checks, 18 handshakes, 3 echoes, 7 HTTP\/2 requests/);
}, 180000);

const frame = (fn: string, obj: string) => `<frame><ip>0x1</ip><obj>${obj}</obj><fn>${fn}</fn></frame>`;
const ADDON = '/x/build/Release/openssl_session_cache.node';
const NODE = '/usr/bin/node';
function xml(errors: { kind: string; frames: string[]; leak?: boolean }[]): string {
  const body = errors
    .map(
      (e, i) =>
        `<error><unique>0x${i}</unique><tid>1</tid><kind>${e.kind}</kind>` +
        (e.leak ? `<xwhat><text>8 bytes in 1 blocks are definitely lost</text><leakedbytes>8</leakedbytes></xwhat>` : '<what>w</what>') +
        `<stack>${e.frames.join('')}</stack></error>`,
    )
    .join('\n');
  return `<?xml version="1.0"?><valgrindoutput>${body}<suppcounts><pair><count>7</count><name>openssl-rng-taint#3</name></pair></suppcounts></valgrindoutput>`;
}

describe('valgrind verdict', () => {
  test.each([
    ['an invalid read in native/', 'InvalidRead', [frame('SslContextHandle::JS_add(Napi::CallbackInfo const&amp;)', ADDON)], false],
    ['an invalid write in OpenSSL called by the addon', 'InvalidWrite', [frame('memcpy', '/v/vgpreload_memcheck.so'), frame('ssl3_read_bytes', ADDON)], false],
    ['an invalid free', 'InvalidFree', [frame('free', '/v/vgpreload_memcheck.so'), frame('SSL_SESSION_free', ADDON)], false],
    ['a definite leak allocated through the addon', 'Leak_DefinitelyLost', [frame('malloc', '/v/vgpreload_memcheck.so'), frame('CRYPTO_malloc', ADDON), frame('SslSessionHandle::JS_create(Napi::CallbackInfo const&amp;)', ADDON)], true],
    ['an unsuppressed uninitialised-value report in native/', 'UninitCondition', [frame('SslContextHandle::OnGet(ssl_st*, unsigned char*, int, int*)', ADDON)], false],
  ])('fails on %s', (_name, kind, frames, leak) => {
    const v = judge(parse(xml([{ kind, frames, leak }])));
    expect(v.failures).toHaveLength(1);
  });
  test.each([
    ['a leak inside Node only', 'Leak_DefinitelyLost', [frame('malloc', '/v/vgpreload_memcheck.so'), frame('node::Start', NODE)], true],
    ['a possibly-lost block', 'Leak_PossiblyLost', [frame('calloc', '/v/vgpreload_memcheck.so'), frame('SslSessionHandle::JS_create(x)', ADDON)], true],
  ])('does not fail on %s (reported as a note)', (_name, kind, frames, leak) => {
    const v = judge(parse(xml([{ kind, frames, leak }])));
    expect(v.failures).toHaveLength(0);
    expect(v.notes).toHaveLength(1);
  });
  test('suppression counts are read per group', () => {
    expect(parse(xml([])).supp).toEqual([{ count: 7, name: 'openssl-rng-taint#3' }]);
  });
});

describe('suppressions', () => {
  const text: string = suppressionFile();
  const entries = text.split('{').slice(1).map((e) => e.split('}')[0].trim().split('\n').map((l) => l.trim()));
  const globToRegExp = (g: string) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

  test('every entry is named after a documented reason and has a kind and frames', () => {
    expect(entries.length).toBeGreaterThan(100);
    for (const [name, kind, ...frames] of entries) {
      expect(name).toMatch(/^[A-Za-z0-9-]+( \(via libc\))?#\d+$/);
      expect(kind).toMatch(/^Memcheck:(Cond|Value\d+|Param)$/);
      expect(frames.length).toBeGreaterThan(0);
    }
    // nothing that could hide an invalid access or a leak
    expect(text).not.toMatch(/Memcheck:(Addr|Free|Leak|Overlap|Jump)/);
  });

  test('no pattern matches a function of native/ except the named entries', () => {
    const so = path.join(root, 'build/Release/openssl_session_cache.node');
    const nm = spawnSync('nm', [so], { encoding: 'utf8' });
    expect(nm.status).toBe(0);
    // every C++ function in the addon (native/ and the headers it compiles: mangled, as valgrind
    // matches them, anonymous namespaces included) and the C time() of openssl_clock_time.c
    const ours = nm.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, type, name]) => !!name && /^[tTwW]$/.test(type) && (name.startsWith('_Z') || name === 'time'))
      .map(([, , name]) => name);
    expect(ours.length).toBeGreaterThan(500);
    const patterns = entries.flatMap(([name, , ...frames]) => frames.filter((f) => f.startsWith('fun:')).map((f) => ({ name, re: globToRegExp(f.slice(4)) })));
    const hits = new Set<string>();
    for (const sym of ours) for (const p of patterns) if (p.re.test(sym)) hits.add(`${p.name.replace(/#\d+$/, '')} ~ ${sym}`);
    const allowed = [
      'native-generateSelfSigned-branches-on-keygen-result ~ _ZN14x509_generator21JS_generateSelfSigned',
      'native-FromValue-branches-on-type-tag-check ~ _ZN16SslContextHandle9FromValue',
      'native-FromValue-branches-on-type-tag-check ~ _ZN16SslSessionHandle9FromValue',
      'native-memory-hooks-compare-requested-size ~ _ZN12_GLOBAL__N_18AllocateEmPKci',
      'native-memory-hooks-compare-requested-size ~ _ZN12_GLOBAL__N_110ReallocateEPvmPKci',
    ];
    expect([...hits].filter((h) => !allowed.some((a) => h.startsWith(a)))).toEqual([]);
    expect(hits.size).toBe(5); // each named entry matches exactly its function
  });

  test('the UBSan suppressions name OpenSSL sources only', () => {
    const lines = fs
      .readFileSync(path.join(root, 'scripts/asan/ubsan.supp'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    for (const l of lines) {
      expect(l).toMatch(/^[a-z-]+:[a-z0-9_]+\.c$/);
      expect(fs.existsSync(path.join(root, 'native', l.split(':')[1]))).toBe(false);
    }
  });
});
