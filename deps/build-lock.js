'use strict';
// A lock directory for builds that several processes may ask for at once (two jest runs
// both wanting the `openssl` program). The first process creates the directory (mkdir is
// atomic) and writes owner.json in it: pid, host, the process's start time in the kernel
// (/proc/<pid>/stat, so a recycled pid is told apart) and the time it took the lock.
//
// A lock is stale, and is taken over with a line saying so, when its owner is gone: the pid
// no longer exists on this host, or it now names another process (a different start time),
// or the lock is older than maxAgeMs (default one hour: a build takes minutes), or it has
// no owner.json and the directory itself is that old. This covers a build killed by Ctrl-C
// before it could unlock, or by SIGKILL, or a machine that rebooted.
//
//   const { acquire } = require('./build-lock');
//   const lock = acquire(dir, { log, isDone: () => fs.existsSync(result) });
//   if (lock) try { build() } finally { lock.release() }   // null: another process built it
const fs = require('fs');
const os = require('os');
const path = require('path');

const DEFAULT_MAX_AGE_MS = 60 * 60 * 1000;

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** the start time of process `pid` in clock ticks since boot, or undefined (not Linux, or gone) */
function processStart(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 of the whole line
  } catch {
    return undefined;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM'; // exists, owned by another user
  }
}

function readOwner(lock) {
  try {
    return JSON.parse(fs.readFileSync(path.join(lock, 'owner.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** why the lock is stale, or undefined while its owner may still be building */
function staleReason(lock, maxAgeMs, now = Date.now()) {
  const owner = readOwner(lock);
  if (!owner) {
    let st;
    try {
      st = fs.statSync(lock);
    } catch {
      return undefined; // just released
    }
    // the owner writes owner.json right after mkdir: without one, only age tells
    return now - st.mtimeMs > maxAgeMs ? `it has no owner and is ${Math.round((now - st.mtimeMs) / 1000)} s old` : undefined;
  }
  if (now - owner.time > maxAgeMs) return `it is ${Math.round((now - owner.time) / 1000)} s old (pid ${owner.pid}, the limit is ${Math.round(maxAgeMs / 1000)} s)`;
  if (owner.host === os.hostname()) {
    if (!alive(owner.pid)) return `its owner, pid ${owner.pid}, is gone`;
    const start = processStart(owner.pid);
    if (owner.start !== undefined && start !== undefined && start !== owner.start) return `pid ${owner.pid} is now another process`;
  }
  return undefined;
}

function tryCreate(lock) {
  try {
    fs.mkdirSync(lock);
  } catch (e) {
    if (e.code === 'EEXIST') return false;
    throw e;
  }
  const owner = { pid: process.pid, host: os.hostname(), start: processStart(process.pid), time: Date.now() };
  fs.writeFileSync(path.join(lock, 'owner.json'), JSON.stringify(owner) + '\n');
  return true;
}

/** moves a stale lock aside and removes it; false when another process took it over first */
function breakLock(lock) {
  const aside = `${lock}.stale-${process.pid}`;
  try {
    fs.renameSync(lock, aside);
  } catch (e) {
    if (e.code === 'ENOENT') return false;
    throw e;
  }
  fs.rmSync(aside, { recursive: true, force: true });
  return true;
}

/**
 * Takes the lock `lock` (a directory path), waiting while a live owner holds it.
 * Returns { release() } once held, or null when isDone() became true while waiting (the
 * other process produced the result). A stale lock is taken over with a line on log().
 */
function acquire(lock, { log = () => {}, isDone = () => false, maxAgeMs = DEFAULT_MAX_AGE_MS, pollMs = 1000, what = 'the build' } = {}) {
  let said = false;
  for (;;) {
    if (tryCreate(lock)) break;
    const reason = staleReason(lock, maxAgeMs);
    if (reason !== undefined) {
      if (breakLock(lock)) log(`taking over the stale lock ${lock}: ${reason}`);
      continue;
    }
    if (isDone()) return null;
    if (!said) {
      const owner = readOwner(lock);
      log(`another process${owner ? ` (pid ${owner.pid})` : ''} is running ${what} (${lock}); waiting`);
      said = true;
    }
    sleepSync(pollMs);
    if (isDone()) return null;
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    const owner = readOwner(lock);
    if (owner && owner.pid === process.pid) fs.rmSync(lock, { recursive: true, force: true });
    process.removeListener('exit', release);
    for (const [sig, h] of handlers) process.removeListener(sig, h);
  };
  // 'exit' does not run on a signal: release there too, then die of the same signal
  const handlers = ['SIGINT', 'SIGTERM', 'SIGHUP'].map((sig) => [
    sig,
    () => {
      release();
      process.kill(process.pid, sig);
    },
  ]);
  process.on('exit', release);
  for (const [sig, h] of handlers) process.once(sig, h);
  return { release };
}

module.exports = { acquire, staleReason, processStart };
