// The reference model (`openssl-session-cache/model`) is pure TypeScript: it loads and runs
// where the addon cannot be loaded. A child process gets a copy of dist/model and
// dist/common alone (no build/, no node_modules, no binding layer) and a require hook that
// makes the addon's loader and any `.node` file throw; it requires the model's entry point
// and runs a short CacheModel scenario. The OpenSSL numbers the model writes down itself
// are checked here against the addon's.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as model from '../lib/model';
import { MAX_MASTER_KEY_LENGTH, MAX_SESSION_ID_LENGTH, MAX_SID_CTX_LENGTH, PROTOCOL_VERSIONS, SessionCacheMode, TLS_PROTOCOLS } from '../lib/binding/constants';
import { MAX_ID_CONTEXT_LENGTH } from '../lib/model/session_cache';
import { DER_LIMITS } from '../lib/common/der';

const root = path.resolve(__dirname, '..');

// runs in the child: every way to the addon throws, then the model runs
const SCENARIO = `
  const Module = require('module');
  const load = Module._load;
  const reached = [];
  Module._load = function (request, parent, isMain) {
    if (request === 'bindings' || /addon_loader|binding[\\\\/]native/.test(request)) {
      reached.push(request);
      throw new Error('the addon is not available here: ' + request);
    }
    return load.call(this, request, parent, isMain);
  };
  Module._extensions['.node'] = (m, file) => {
    reached.push(file);
    throw new Error('no .node file may load: ' + file);
  };
  const { CacheModel, SSL_SESS_CACHE_SERVER } = require(process.argv[1]);
  const m = new CacheModel({ mode: SSL_SESS_CACHE_SERVER, timeout: 300 });
  const id = (b) => Buffer.alloc(16, b);
  const short = m.createSession({ id: id(1), time: 1000, timeout: 100 });
  const long = m.createSession({ id: id(2), time: 1000, timeout: 500 });
  const added = [m.add(short), m.add(long)];
  const found = m.get(id(1));
  const foundIsShort = found === short;
  m.freeSession(found);
  m.flush(1200); // past short's 1100, before long's 1500
  const events = m.takeEvents().map((e) => ({ type: e.type, short: e.session === short }));
  const afterFlush = [m.get(id(1)) === undefined, m.count()];
  m.flush(0);
  process.stdout.write(JSON.stringify({ added, foundIsShort, events, afterFlush, countAtEnd: m.count(), reached }));
`;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-pure-model-'));
  for (const layer of ['model', 'common']) fs.cpSync(path.join(root, 'dist', layer), path.join(dir, 'dist', layer), { recursive: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the model entry point loads and runs a CacheModel with the addon out of reach', () => {
  const entry = path.join(dir, 'dist', 'model', 'index.js');
  const r = spawnSync(process.execPath, ['-e', SCENARIO, entry], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({
    added: [1, 1],
    foundIsShort: true,
    events: [{ type: 'remove', short: true }],
    afterFlush: [true, 1],
    countAtEnd: 0,
    reached: [],
  });
});

test('the hook the child installs does refuse the addon', () => {
  // the same hook in front of the package root, which needs the addon: the load fails
  const probe = `${SCENARIO.split('const { CacheModel')[0]} try { require(process.argv[1]); } catch (e) { process.stdout.write(JSON.stringify(reached.length > 0)); }`;
  const r = spawnSync(process.execPath, ['-e', probe, path.join(root, 'dist', 'index.js')], { cwd: root, encoding: 'utf8' });
  expect(r.stdout).toBe('true');
});

test("the model's OpenSSL numbers are the addon's", () => {
  expect(model.PROTOCOL_VERSIONS).toEqual(PROTOCOL_VERSIONS);
  expect(model.HANDSHAKE_PROTOCOLS).toEqual(TLS_PROTOCOLS);
  expect(model.MAX_SESSION_ID_LENGTH).toBe(MAX_SESSION_ID_LENGTH);
  expect(MAX_ID_CONTEXT_LENGTH).toBe(MAX_SID_CTX_LENGTH);
  expect({
    OFF: model.SSL_SESS_CACHE_OFF,
    CLIENT: model.SSL_SESS_CACHE_CLIENT,
    SERVER: model.SSL_SESS_CACHE_SERVER,
    BOTH: model.SSL_SESS_CACHE_BOTH,
    NO_AUTO_CLEAR: model.SSL_SESS_CACHE_NO_AUTO_CLEAR,
    NO_INTERNAL_LOOKUP: model.SSL_SESS_CACHE_NO_INTERNAL_LOOKUP,
    NO_INTERNAL_STORE: model.SSL_SESS_CACHE_NO_INTERNAL_STORE,
    NO_INTERNAL: model.SSL_SESS_CACHE_NO_INTERNAL,
  }).toEqual({ ...SessionCacheMode });
  // the DER reader's limits (lib/common/der.ts, also addon-free) are 1.0.2's too
  expect(DER_LIMITS).toEqual({ sessionId: MAX_SESSION_ID_LENGTH, sidContext: MAX_SID_CTX_LENGTH, masterKey: MAX_MASTER_KEY_LENGTH });
});
