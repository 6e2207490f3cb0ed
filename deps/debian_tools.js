'use strict';
// What deps/redis-server.js and deps/chromium.js share to find a program or obtain Debian's
// package of it without installing anything: PATH lookup, a spawn that says what failed,
// and apt-get options that keep package lists and archives in our cache.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

/** the executable `name` on PATH, or undefined */
function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** spawnSync with text output; a command that cannot start throws, naming it */
function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

/** apt-get options that keep its package lists and archive cache under `base` (when the
 * system's lists are empty: `ownLists`); none otherwise */
function aptOptions(base, ownLists) {
  if (!ownLists) return [];
  fs.mkdirSync(path.join(base, 'lists', 'partial'), { recursive: true });
  fs.mkdirSync(path.join(base, 'cache', 'archives', 'partial'), { recursive: true });
  return ['-o', `Dir::State::Lists=${path.join(base, 'lists')}`, '-o', `Dir::Cache=${path.join(base, 'cache')}`, '-o', 'Debug::NoLocking=1'];
}

module.exports = { onPath, run, aptOptions };
