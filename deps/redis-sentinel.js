'use strict';
// A Sentinel-managed Redis primary/replica set on 127.0.0.1 for the tests, benchmarks and
// examples: one primary, `replicas` replicas and `sentinels` sentinels, each a redis-server
// 7 process (deps/redis-server.js finds or obtains it) on a free loopback port, with
// state in a temporary directory. Sentinel timings are small (down after 1 s, failover
// timeout 2 s, quorum a majority of the sentinels) so that a failover takes seconds.
//
//   const { startRedisSentinel } = require('./deps/redis-sentinel.js');
//   const set = await startRedisSentinel({ replicas: 1, sentinels: 3, name: 'sessions' });
//   new RedisSessionStore({ redis: set.redisOptions() });
//   await set.failover();      // SENTINEL FAILOVER, resolves once promoted: { from, to, ms }
//   await set.killPrimary();   // SIGKILL of the primary, resolves once promoted: { from, to, ms }
//   await set.stop();
//
// Everything waits on observable state (polled with a deadline), never on fixed sleeps.
// The commands to the servers go over a minimal RESP connection (no client library).
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { startRedisServer, spawnRedisServer } = require('./redis-server');

/** how long start, failover and killPrimary wait for the set to reach the state they need */
const DEADLINE_MS = 30000;
/** pause between two polls of a condition */
const POLL_MS = 50;

const running = new Set();
let exitHook = false;
function track(proc) {
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const p of running) p.kill('SIGKILL');
    });
  }
}

/** a port nobody listens on right now (127.0.0.1) */
function freePort(host) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---- a minimal RESP client: one connection per command, replies parsed in full ----------

/** parses one RESP reply at `buf[i]`: { value, next } or undefined when incomplete */
function parse(buf, i) {
  if (i >= buf.length) return undefined;
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[i]);
  const line = buf.toString('utf8', i + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-': {
      const e = new Error(line);
      e.redisError = true;
      return { value: e, next: after };
    }
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      if (buf.length < after + n + 2) return undefined;
      return { value: buf.toString('utf8', after, after + n), next: after + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items = [];
      let at = after;
      for (let k = 0; k < n; k++) {
        const r = parse(buf, at);
        if (!r) return undefined;
        items.push(r.value);
        at = r.next;
      }
      return { value: items, next: at };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

/**
 * Sends one command to host:port; resolves with its reply (an Error object for an error
 * reply), rejects when the connection fails or nothing complete comes within `timeout` ms.
 */
function command({ host, port }, args, timeout = 2000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let buf = Buffer.alloc(0);
    const finish = (err, value) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`${host}:${port} did not answer ${args[0]} within ${timeout} ms`)), timeout);
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error(`${host}:${port} closed the connection before answering ${args[0]}`)));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let r;
      try {
        r = parse(buf, 0);
      } catch (e) {
        finish(e);
        return;
      }
      if (r) finish(undefined, r.value);
    });
    const parts = args.map((a) => Buffer.from(String(a)));
    sock.write(Buffer.concat([Buffer.from(`*${parts.length}\r\n`), ...parts.flatMap((p) => [Buffer.from(`$${p.length}\r\n`), p, Buffer.from('\r\n')])]));
  });
}

/** a reply that must not be an error reply */
async function ok(addr, args) {
  const r = await command(addr, args);
  if (r instanceof Error) throw new Error(`${args.join(' ')} at ${addr.host}:${addr.port}: ${r.message}`);
  return r;
}

/** [k1, v1, k2, v2, …] → { k1: v1, … } */
function fields(list) {
  const o = {};
  for (let i = 0; i + 1 < list.length; i += 2) o[list[i]] = list[i + 1];
  return o;
}

/** polls `check` (an async function) until it returns a truthy value; rejects after `ms` */
async function until(what, check, ms = DEADLINE_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`redis-sentinel: ${what} did not happen within ${ms} ms${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** the process exits (SIGKILL), resolves once it did */
function kill(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
  });
}

/**
 * Starts a primary, `replicas` replicas (synced) and `sentinels` sentinels monitoring them
 * as `name`; resolves once every sentinel knows the primary, every replica and every other
 * sentinel. The object returned controls the set (see the top of this file).
 */
async function startRedisSentinel({ replicas = 1, sentinels = 3, name = 'sessions', host = '127.0.0.1' } = {}) {
  if (!Number.isInteger(replicas) || replicas < 0) throw new RangeError('replicas must be an integer >= 0');
  if (!Number.isInteger(sentinels) || sentinels < 1) throw new RangeError('sentinels must be an integer >= 1');
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name)) throw new TypeError('name must be a non-empty string of [A-Za-z0-9_.-]');
  if (typeof host !== 'string' || net.isIP(host) === 0) throw new TypeError('host must be an IP address');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-sentinel-'));
  /** port → process, for the data nodes */
  const nodes = new Map();
  const sentinelProcs = [];
  const sentinelAddrs = [];
  let stopped = false;

  const stop = async () => {
    stopped = true;
    await Promise.all([...nodes.values(), ...sentinelProcs].map(kill));
    fs.rmSync(dir, { recursive: true, force: true });
  };

  // every data node may become the primary: the same settings for all. Diskless sync without
  // its 5 s delay; each node its own directory (a replica writes the RDB it receives there)
  const nodeArgs = (i) => {
    const d = path.join(dir, `node-${i}`);
    fs.mkdirSync(d);
    return [
      ...(host === '127.0.0.1' ? [] : ['--bind', host]),
      ...['--dir', d, '--repl-diskless-sync-delay', '0', '--replica-announce-ip', host, '--repl-ping-replica-period', '1'],
    ];
  };
  const startNode = async (i, extra = []) => {
    const port = await freePort(host);
    // startRedisServer binds 127.0.0.1; another host's --bind replaces it
    const proc = await startRedisServer(port, [...nodeArgs(i), ...extra]);
    track(proc);
    nodes.set(port, proc);
    return { host, port };
  };

  try {
    const primary = await startNode(0);
    const replicaAddrs = [];
    for (let i = 1; i <= replicas; i++) replicaAddrs.push(await startNode(i, ['--replicaof', host, String(primary.port)]));
    // the replicas are synced before the sentinels start: their first INFO of the primary
    // lists every replica (otherwise a sentinel may learn of one only at its next INFO, 10 s)
    for (const r of replicaAddrs) {
      await until(`the replica ${r.host}:${r.port} syncing`, async () => /master_link_status:up/.test(await ok(r, ['INFO', 'replication'])));
    }
    await until('the primary seeing its replicas online', async () => {
      const info = await ok(primary, ['INFO', 'replication']);
      return (info.match(/^slave\d+:.*state=online/gm) || []).length === replicas;
    });

    const quorum = Math.floor(sentinels / 2) + 1;
    for (let i = 0; i < sentinels; i++) {
      const port = await freePort(host);
      const d = path.join(dir, `sentinel-${i}`);
      fs.mkdirSync(d);
      const conf = path.join(d, 'sentinel.conf');
      // the sentinel rewrites this file with what it learns (it must be writable)
      fs.writeFileSync(
        conf,
        [
          `port ${port}`,
          `bind ${host}`,
          `dir ${JSON.stringify(d)}`,
          `sentinel announce-ip ${host}`,
          `sentinel monitor ${name} ${host} ${primary.port} ${quorum}`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 2000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      const proc = await spawnRedisServer([conf, '--sentinel'], /\+monitor master/);
      track(proc);
      sentinelProcs.push(proc);
      sentinelAddrs.push({ host, port });
    }

    const replicaKeys = new Set(replicaAddrs.map((r) => `${r.host}:${r.port}`));
    for (const s of sentinelAddrs) {
      await until(`the sentinel ${s.host}:${s.port} knowing the primary, ${replicas} replica(s) and ${sentinels - 1} other sentinel(s)`, async () => {
        const m = await ok(s, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
        if (!Array.isArray(m) || m[0] !== primary.host || Number(m[1]) !== primary.port) return false;
        const reps = (await ok(s, ['SENTINEL', 'REPLICAS', name])).map(fields);
        const good = reps.filter((r) => r.flags === 'slave' && r['master-link-status'] === 'ok' && replicaKeys.has(`${r.ip}:${r.port}`));
        if (good.length !== replicas) return false;
        const others = (await ok(s, ['SENTINEL', 'SENTINELS', name])).map(fields);
        return others.filter((o) => o.flags === 'sentinel').length === sentinels - 1;
      });
    }
  } catch (e) {
    await stop();
    throw e;
  }

  /** the primary as the first sentinel that answers reports it */
  const primary = async () => {
    let last;
    for (const s of sentinelAddrs) {
      try {
        const m = await ok(s, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
        if (Array.isArray(m)) return { host: m[0], port: Number(m[1]) };
      } catch (e) {
        last = e;
      }
    }
    throw new Error(`redis-sentinel: no sentinel reports a primary for ${name}${last ? ` (${last.message})` : ''}`);
  };

  /** the primary every sentinel reports, undefined while they disagree */
  const agreed = async () => {
    let p;
    for (const s of sentinelAddrs) {
      const m = await ok(s, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
      if (!Array.isArray(m)) return undefined;
      const a = { host: m[0], port: Number(m[1]) };
      if (p && (p.host !== a.host || p.port !== a.port)) return undefined;
      p = a;
    }
    return p;
  };

  /** every sentinel reports one primary other than `from`, and it answers ROLE as master */
  const promoted = (from, started) =>
    until(`a primary other than ${from.host}:${from.port} reported by every sentinel`, async () => {
      const to = await agreed();
      if (!to || (to.host === from.host && to.port === from.port)) return false;
      const role = await ok(to, ['ROLE']);
      if (!Array.isArray(role) || role[0] !== 'master') return false;
      return { from, to, ms: Date.now() - started };
    });

  // After a failover the demoted primary stays a writable primary until a sentinel turns it
  // into a replica (about 10 s later): a failover started before then could promote it with
  // what it missed. So before each failover: every sentinel agrees on the primary, every
  // live data node other than it replicates from it, and every sentinel lists each of them
  // as a replica that is neither down nor disconnected.
  const settled = () =>
    until('the set settling (every sentinel agreeing on the primary, every live replica replicating from it)', async () => {
      const p = await agreed();
      if (!p) return false;
      const live = [...nodes.keys()].filter((port) => port !== p.port);
      for (const port of live) {
        const role = await ok({ host, port }, ['ROLE']);
        if (!Array.isArray(role) || role[0] !== 'slave' || Number(role[2]) !== p.port || role[3] !== 'connected') return false;
      }
      for (const s of sentinelAddrs) {
        const reps = (await ok(s, ['SENTINEL', 'REPLICAS', name])).map(fields);
        for (const port of live) {
          const r = reps.find((x) => x.ip === host && Number(x.port) === port);
          if (!r || r.flags !== 'slave') return false;
        }
      }
      return p;
    });

  const alive = () => {
    if (stopped) throw new Error('redis-sentinel: the set was stopped');
  };

  return {
    name,
    sentinels: sentinelAddrs.map((s) => ({ ...s })),
    /** the ioredis options of a client of this set's primary */
    redisOptions() {
      return { sentinels: sentinelAddrs.map((s) => ({ ...s })), name };
    },
    primary() {
      alive();
      return primary();
    },
    /** SENTINEL FAILOVER (retried while a previous failover is still settling) */
    async failover() {
      alive();
      const from = await settled();
      const started = Date.now();
      await until(`SENTINEL FAILOVER ${name} accepted`, async () => {
        let lastRefusal;
        for (const s of sentinelAddrs) {
          const r = await command(s, ['SENTINEL', 'FAILOVER', name]).catch((e) => e);
          if (r === 'OK') return true;
          lastRefusal = r;
          // a failover in progress, or no replica in shape yet (the demoted primary is
          // still being turned into a replica): another sentinel, or the next poll
          if (r instanceof Error && !(r.redisError && /INPROG|NOGOODSLAVE/.test(r.message))) throw r;
        }
        throw lastRefusal;
      });
      return promoted(from, started);
    },
    /** SIGKILL of the primary's process; resolves once the sentinels promoted a replica */
    async killPrimary() {
      alive();
      const from = await settled();
      const proc = nodes.get(from.port);
      if (!proc) throw new Error(`redis-sentinel: the primary ${from.host}:${from.port} is not a process of this set`);
      const started = Date.now();
      await kill(proc);
      nodes.delete(from.port);
      return promoted(from, started);
    },
    stop,
  };
}

module.exports = { startRedisSentinel };
