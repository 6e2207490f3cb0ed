// The build lock of deps/build-lock.js (used by deps/build-openssl.js for the `openssl`
// program): a build killed while it holds the lock (Ctrl-C, SIGKILL) leaves the lock
// directory behind; the next build detects that its owner is gone (or that it is too old)
// and takes it over with a line saying so, instead of waiting forever. Real processes:
// children take the lock and are killed; the real build script is killed midway and run again.
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const LOCK_JS = path.join(ROOT, 'deps', 'build-lock.js');
const BUILD_JS = path.join(ROOT, 'deps', 'build-openssl.js');
const { processStart } = require(LOCK_JS) as { processStart(pid: number): string | undefined };

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'osc-lock-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** a node child running `code` with the lock module as `L` and the lock path as `lock` */
function child(code: string, lock: string, opts: { detached?: boolean } = {}): ChildProcess & { lines: Lines } {
  const p = spawn(process.execPath, ['-e', `const L = require(${JSON.stringify(LOCK_JS)}); const lock = ${JSON.stringify(lock)};\n${code}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: opts.detached,
  }) as ChildProcess & { lines: Lines };
  p.lines = new Lines(p);
  return p;
}

/** the lines a child prints (stdout and stderr), and a wait for one that matches */
class Lines {
  all: string[] = [];
  #waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  #exited = false;
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(p: ChildProcess) {
    for (const s of [p.stdout!, p.stderr!]) {
      let buf = '';
      s.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          this.#line(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    }
    this.#exit = new Promise((resolve) =>
      p.once('close', (code, signal) => {
        this.#exited = true;
        for (const w of this.#waiters) w.resolve(`(exited: ${this.all.join(' | ')})`);
        resolve({ code, signal });
      }),
    );
  }
  #line(l: string): void {
    this.all.push(l);
    const hit = this.#waiters.filter((w) => w.re.test(l));
    this.#waiters = this.#waiters.filter((w) => !w.re.test(l));
    for (const w of hit) w.resolve(l);
  }
  next(re: RegExp): Promise<string> {
    const seen = this.all.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.#exited) return Promise.resolve(`(exited: ${this.all.join(' | ')})`);
    return new Promise((resolve) => this.#waiters.push({ re, resolve }));
  }
  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exit;
  }
}

// takes the lock, says so, and holds it until stdin says "release"
const HOLDER = `
const l = L.acquire(lock, { log: (m) => console.log(m) });
console.log('locked ' + process.pid);
process.stdin.setEncoding('utf8').on('data', (d) => { if (d.includes('release')) { l.release(); console.log('released'); process.exit(0); } });
`;
// takes the lock (waiting as long as it must), says what happened, releases it
const TAKER = `
const l = L.acquire(lock, { log: (m) => console.log(m), pollMs: 50 });
console.log(l ? 'acquired' : 'not acquired');
l.release();
console.log(require('fs').existsSync(lock) ? 'lock still there' : 'lock removed');
`;

describe('build lock', () => {
  test('a holder killed with SIGKILL leaves the lock; the next taker detects its pid is gone and takes over', async () => {
    const lock = path.join(tmp, 'apps.lock');
    const a = child(HOLDER, lock);
    const line = await a.lines.next(/^locked /);
    expect(line).toBe(`locked ${a.pid}`);
    a.kill('SIGKILL');
    expect(await a.lines.exit()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(fs.existsSync(path.join(lock, 'owner.json'))).toBe(true);

    const b = child(TAKER, lock);
    expect((await b.lines.exit()).code).toBe(0);
    expect(b.lines.all).toEqual([`taking over the stale lock ${lock}: its owner, pid ${a.pid}, is gone`, 'acquired', 'lock removed']);
  });

  test('Ctrl-C (SIGINT) releases the lock on the way out, and the process still dies of the signal', async () => {
    const lock = path.join(tmp, 'apps.lock');
    const a = child(HOLDER, lock);
    await a.lines.next(/^locked /);
    a.kill('SIGINT');
    expect(await a.lines.exit()).toEqual({ code: null, signal: 'SIGINT' });
    expect(fs.existsSync(lock)).toBe(false);
  });

  test('a live holder is waited for, not taken over; the waiter gets the lock once it is released', async () => {
    const lock = path.join(tmp, 'apps.lock');
    const a = child(HOLDER, lock);
    await a.lines.next(/^locked /);
    const b = child(TAKER, lock);
    expect(await b.lines.next(/waiting$/)).toBe(`another process (pid ${a.pid}) is running the build (${lock}); waiting`);
    a.stdin!.write('release\n');
    expect(await a.lines.next(/^released$/)).toBe('released');
    expect((await b.lines.exit()).code).toBe(0);
    expect(b.lines.all.slice(1)).toEqual(['acquired', 'lock removed']);
    expect(b.lines.all.join('\n')).not.toMatch(/stale/);
  });

  test('a waiter whose result appears meanwhile returns without building (isDone)', async () => {
    const lock = path.join(tmp, 'apps.lock');
    const done = path.join(tmp, 'done');
    const a = child(HOLDER, lock);
    await a.lines.next(/^locked /);
    const b = child(`const l = L.acquire(lock, { log: (m) => console.log(m), pollMs: 50, isDone: () => require('fs').existsSync(${JSON.stringify(done)}) }); console.log(l === null ? 'done elsewhere' : 'acquired');`, lock);
    await b.lines.next(/waiting$/);
    fs.writeFileSync(done, '');
    expect((await b.lines.exit()).code).toBe(0);
    expect(b.lines.all[1]).toBe('done elsewhere');
    a.stdin!.write('release\n');
    await a.lines.exit();
  });

  test('a lock older than the age limit is taken over even when its pid is alive', async () => {
    const lock = path.join(tmp, 'apps.lock');
    fs.mkdirSync(lock);
    const owner = { pid: process.pid, host: os.hostname(), start: processStart(process.pid), time: Date.now() - 2 * 3600 * 1000 };
    fs.writeFileSync(path.join(lock, 'owner.json'), JSON.stringify(owner));
    const b = child(TAKER, lock);
    expect((await b.lines.exit()).code).toBe(0);
    expect(b.lines.all[0]).toMatch(new RegExp(`^taking over the stale lock .*: it is 72\\d\\d s old \\(pid ${process.pid}, the limit is 3600 s\\)$`));
    expect(b.lines.all.slice(1)).toEqual(['acquired', 'lock removed']);
  });

  test('a recycled pid (alive, but another process than the one that took the lock) is stale', async () => {
    const lock = path.join(tmp, 'apps.lock');
    fs.mkdirSync(lock);
    const start = processStart(process.pid);
    expect(start).toMatch(/^\d+$/);
    const owner = { pid: process.pid, host: os.hostname(), start: String(Number(start) + 1), time: Date.now() };
    fs.writeFileSync(path.join(lock, 'owner.json'), JSON.stringify(owner));
    const b = child(TAKER, lock);
    expect((await b.lines.exit()).code).toBe(0);
    expect(b.lines.all).toEqual([`taking over the stale lock ${lock}: pid ${process.pid} is now another process`, 'acquired', 'lock removed']);
  });

  // The real script: the build of the `openssl` program in a cache directory of its own
  // (the verified source and the built libraries linked in from the project's cache, read
  // only), killed with its whole process group midway, then run again.
  test('deps/build-openssl.js --apps killed midway: the next run takes the stale lock over and builds', async () => {
    const shared = path.resolve(process.env.OPENSSL_SESSION_CACHE_DIR || path.join(ROOT, 'deps', '.cache'));
    const libs = fs.readFileSync(path.join(shared, 'current'), 'utf8').trim();
    expect(fs.existsSync(path.join(libs, 'build-info.json'))).toBe(true);
    const cache = path.join(tmp, 'cache');
    fs.mkdirSync(cache);
    for (const name of ['nodegit-0.22.2.tgz', 'nodegit-openssl-src', path.basename(libs)]) fs.symlinkSync(path.join(shared, name), path.join(cache, name));
    const lock = path.join(cache, `${path.basename(libs)}-apps.lock`);

    const runBuild = (): ChildProcess & { lines: Lines } => {
      const p = spawn(process.execPath, [BUILD_JS, '--apps'], {
        env: { ...process.env, OPENSSL_SESSION_CACHE_DIR: cache },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: the kill reaches make and the compiler too
      }) as ChildProcess & { lines: Lines };
      p.lines = new Lines(p);
      return p;
    };
    const first = runBuild();
    await first.lines.next(/\.\/config /);
    expect(fs.existsSync(path.join(lock, 'owner.json'))).toBe(true);
    process.kill(-first.pid!, 'SIGKILL');
    expect((await first.lines.exit()).signal).toBe('SIGKILL');
    expect(fs.existsSync(lock)).toBe(true);

    const second = runBuild();
    const line = await second.lines.next(/stale lock|\.\/config /);
    expect(line).toBe(`[openssl-1.0.2] taking over the stale lock ${lock}: its owner, pid ${first.pid}, is gone`);
    // it builds: the source is being configured under its own lock
    await second.lines.next(/\.\/config /);
    expect(JSON.parse(fs.readFileSync(path.join(lock, 'owner.json'), 'utf8')).pid).toBe(second.pid);
    // a full build of the program takes minutes: stop it here (the temp cache goes away)
    process.kill(-second.pid!, 'SIGKILL');
    await second.lines.exit();
  });
});
