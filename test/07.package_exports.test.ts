// The package's entry points as a user requires them (the package resolves its own name
// through package.json "exports"): the root does not load ioredis, an optional peer
// dependency; RedisSessionStore loads it when a store is made; `/redis`, `/model` and
// `/conformance` resolve. Each check runs in a fresh child process so require.cache is
// the package's own.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

function child(code: string): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', timeout: 60000 });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr };
}

const ioredisLoaded = `Object.keys(require.cache).filter((f) => f.split(require('path').sep).includes('ioredis')).length`;

test("require('openssl-session-cache') does not load ioredis, and the root's RedisSessionStore still works", () => {
  const r = child(`
    const root = require('openssl-session-cache');
    const before = ${ioredisLoaded};
    const names = ['SslContext', 'SslSession', 'createServer', 'RedisSessionStore'].every((n) => n in root);
    const store = new root.RedisSessionStore({ redis: { lazyConnect: true } });
    const after = ${ioredisLoaded};
    const { Redis } = require('ioredis');
    console.log(JSON.stringify({ before, names, after, client: store.client instanceof Redis }));
    store.close();
  `);
  expect(r.err).toBe('');
  expect(JSON.parse(r.out)).toEqual({ before: 0, names: true, after: expect.any(Number), client: true });
  expect(JSON.parse(r.out).after).toBeGreaterThan(0);
});

test("'openssl-session-cache/redis' is the root's RedisSessionStore; '/model' and '/conformance' resolve", () => {
  const r = child(`
    const root = require('openssl-session-cache');
    const redis = require('openssl-session-cache/redis');
    const model = require('openssl-session-cache/model');
    const conformance = require('openssl-session-cache/conformance');
    console.log(JSON.stringify({
      same: redis.RedisSessionStore === root.RedisSessionStore,
      ioredis: ${ioredisLoaded},
      model: typeof model.CacheModel,
      conformance: typeof conformance.ScenarioRunner,
      adapter: typeof conformance.OpenSSLCache,
      adapterInModel: 'OpenSSLCache' in model,
    }));
  `);
  expect(r.err).toBe('');
  // the adapter over the real library lives with the conformance toolkit; the model is pure
  expect(JSON.parse(r.out)).toEqual({ same: true, ioredis: 0, model: 'function', conformance: 'function', adapter: 'function', adapterInModel: false });
});

test('ioredis and prom-client are optional peer dependencies (and dev dependencies for the tests), node-gyp is not a runtime dependency', () => {
  expect(Object.keys(pkg.dependencies).sort()).toEqual(['bindings', 'node-addon-api', 'node-api-headers']);
  expect(pkg.peerDependencies).toEqual({ ioredis: expect.any(String), 'prom-client': expect.any(String) });
  expect(pkg.peerDependenciesMeta).toEqual({ ioredis: { optional: true }, 'prom-client': { optional: true } });
  expect(pkg.devDependencies).toHaveProperty('ioredis');
  expect(pkg.devDependencies).toHaveProperty('prom-client');
  for (const sub of ['model', 'conformance', 'redis']) {
    // `module: commonjs` TypeScript users (no "exports" support) find the types here
    expect(pkg.typesVersions['*'][sub]).toEqual([pkg.exports[`./${sub}`].types.replace(/^\.\//, '')]);
  }
});

test('the tarball holds every file the README and docs link to, LICENSE and SECURITY.md, and no tests or caches', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: root, encoding: 'utf8', timeout: 120000 });
  expect(r.status).toBe(0);
  const files = new Set<string>(JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path));
  const linked: string[] = [];
  for (const doc of ['README.md', 'SECURITY.md', ...fs.readdirSync(path.join(root, 'docs')).map((f) => `docs/${f}`)]) {
    // links of the prose: code blocks and code spans dropped
    const text = fs.readFileSync(path.join(root, doc), 'utf8').replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
    for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(m[1])) continue; // https: and the like
      linked.push(path.posix.normalize(path.posix.join(path.posix.dirname(doc), m[1])));
    }
  }
  expect(linked.length).toBeGreaterThan(5);
  for (const f of linked) expect({ f, exists: fs.existsSync(path.join(root, f)) }).toEqual({ f, exists: true });
  // the source maps of dist/ point into lib/: shipped too
  for (const f of [...linked, 'LICENSE', 'SECURITY.md', 'README.md', 'dist/index.d.ts', 'dist/redis.d.ts', 'binding.gyp', 'lib/index.ts']) {
    expect({ f, packed: files.has(f) }).toEqual({ f, packed: true });
  }
  for (const f of files) expect(f).not.toMatch(/^(test|deps\/\.cache|build|node_modules)\//);
});
