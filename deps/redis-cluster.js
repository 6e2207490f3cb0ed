#!/usr/bin/env node
'use strict';
// A private, real Redis Cluster for tests, benchmarks and examples: `primaries` shards of
// one primary and `replicasPerPrimary` replicas each, every node a redis-server (found or
// obtained by deps/redis-server.js) on a free loopback port with its own free cluster-bus
// port, no persistence, and its nodes.conf in a temporary directory removed by stop().
//
// The cluster is built with plain commands through ioredis (no redis-cli): CLUSTER
// SET-CONFIG-EPOCH, ADDSLOTSRANGE, MEET, REPLICATE. Every step waits on observable state
// (CLUSTER INFO / CLUSTER NODES / INFO replication polled with a deadline), never on a
// fixed pause.
//
//   const { startRedisCluster } = require('./deps/redis-cluster');
//   const cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
//   new Cluster(cluster.nodes, …);
//   await cluster.primaries();      // [{ host, port }] ordered by the slots they serve
//   await cluster.killPrimary(0);   // SIGKILL, resolves once a replica took over
//   await cluster.failover(1);      // CLUSTER FAILOVER on a replica of shard 1
//   await cluster.stop();
//
//   node deps/redis-cluster.js [primaries] [replicasPerPrimary]
//     starts one and prints its nodes; Ctrl-C stops it.
//
// Shard `index` (killPrimary, failover, primaries()[index]) is the shard serving the
// index-th slot range: index 0 always serves slot 0, whichever node is its primary now.
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { startRedisServer } = require('./redis-server');

const SLOTS = 16384;
/** --cluster-node-timeout: a silent primary is failed over within a few seconds */
const NODE_TIMEOUT_MS = 1000;
/** the longest any one wait may take */
const DEADLINE_MS = 30000;
const POLL_MS = 25;

function loadIoredis() {
  try {
    return require('ioredis');
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e;
    throw new Error('deps/redis-cluster.js needs ioredis (>=5): npm install ioredis');
  }
}

/** a port nobody listens on right now */
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

function pause(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `check` (async; returns a value when the condition holds, undefined otherwise)
 * every POLL_MS until it holds; rejects after `ms` with `what` and the last state seen.
 */
async function until(what, check, ms = DEADLINE_MS) {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const v = await check((s) => {
        last = s;
        return undefined;
      });
      if (v !== undefined) return v;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} did not happen within ${ms} ms (last: ${last})`);
    await pause(POLL_MS);
  }
}

/** CLUSTER NODES → [{ id, host, port, flags: Set, master, slots: [[from, to]], connected }] */
function parseNodes(text) {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const f = line.split(' ');
      // ip:port@cport[,hostname]
      const addr = f[1].split(',')[0];
      const at = addr.indexOf('@');
      const hostPort = at >= 0 ? addr.slice(0, at) : addr;
      const colon = hostPort.lastIndexOf(':');
      const slots = [];
      for (const s of f.slice(8)) {
        if (s.startsWith('[')) continue; // a slot being migrated
        const [a, b] = s.split('-');
        slots.push([Number(a), Number(b ?? a)]);
      }
      return {
        id: f[0],
        host: hostPort.slice(0, colon),
        port: Number(hostPort.slice(colon + 1)),
        flags: new Set(f[2].split(',')),
        master: f[3] === '-' ? undefined : f[3],
        slots,
        connected: f[7] === 'connected',
      };
    });
}

function infoField(text, name) {
  const m = new RegExp(`^${name}:(.*)$`, 'm').exec(text);
  return m ? m[1].trim() : undefined;
}

/**
 * Starts a Redis Cluster; resolves once every node reports cluster_state:ok with all 16384
 * slots covered, every node sees the same primaries, and every replica is synced.
 */
async function startRedisCluster({ primaries = 3, replicasPerPrimary = 1, host = '127.0.0.1' } = {}) {
  if (!Number.isInteger(primaries) || primaries < 1 || primaries > 64) throw new RangeError('primaries must be an integer in [1, 64]');
  if (!Number.isInteger(replicasPerPrimary) || replicasPerPrimary < 0 || replicasPerPrimary > 8) {
    throw new RangeError('replicasPerPrimary must be an integer in [0, 8]');
  }
  if (typeof host !== 'string' || host === '') throw new TypeError('host must be a non-empty string');
  const { Redis } = loadIoredis();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-cluster-'));
  /** every node ever started: { host, port, busPort, proc, admin, alive } */
  const all = [];
  const onExit = () => {
    for (const n of all) if (n.alive) n.proc.kill('SIGKILL');
  };
  process.on('exit', onExit);

  async function startNode() {
    for (let attempt = 0; ; attempt++) {
      const port = await freePort(host);
      const busPort = await freePort(host);
      try {
        const proc = await startRedisServer(port, [
          '--bind', host,
          '--dir', dir,
          '--cluster-enabled', 'yes',
          '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
          '--cluster-port', String(busPort),
          // a replica takes over however long its primary was gone
          '--cluster-replica-validity-factor', '0',
          // a replica's first sync starts at once (the default waits 5 s for more replicas)
          '--repl-diskless-sync-delay', '0',
        ]);
        const node = { host, port, busPort, proc, alive: true, admin: undefined };
        proc.once('exit', () => (node.alive = false));
        node.admin = new Redis({
          host,
          port,
          lazyConnect: false,
          enableOfflineQueue: true,
          maxRetriesPerRequest: 1,
          commandTimeout: 2000,
          // disconnect() of a node that is gone: ioredis would wait this long for a stream that already closed
          disconnectTimeout: 50,
          retryStrategy: (t) => (node.alive ? Math.min(t * 50, 300) : null),
        });
        node.admin.on('error', () => {});
        return node;
      } catch (e) {
        // another process took the port between the probe and the start: try other ports
        if (attempt >= 4) throw e;
      }
    }
  }

  async function stop() {
    process.off('exit', onExit);
    await Promise.all(
      all.map(
        (n) =>
          new Promise((resolve) => {
            if (n.admin.status !== 'end') n.admin.disconnect();
            if (n.proc.exitCode !== null || n.proc.signalCode !== null) return resolve();
            n.proc.once('exit', () => resolve());
            n.proc.kill('SIGCONT');
            n.proc.kill('SIGKILL');
          }),
      ),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const live = () => all.filter((n) => n.alive);
  const addr = (n) => ({ host: n.host, port: n.port });

  /** the view of one node: its parsed CLUSTER NODES */
  async function view(n) {
    return parseNodes(await n.admin.call('CLUSTER', 'NODES'));
  }

  /**
   * The shards as the live nodes agree on them, ordered by first slot: [{ primary, replicas }]
   * where primary and replicas are parsed CLUSTER NODES entries (replicas: not failed).
   * Undefined (with `note` saying why) while some live node disagrees or slots are not
   * all served or the cluster is not ok.
   */
  async function settledShards(note, { synced = true } = {}) {
    let shards;
    let key;
    for (const n of live()) {
      const info = await n.admin.call('CLUSTER', 'INFO');
      if (infoField(info, 'cluster_state') !== 'ok') return note(`${n.port}: cluster_state ${infoField(info, 'cluster_state')}`);
      if (infoField(info, 'cluster_slots_ok') !== String(SLOTS)) return note(`${n.port}: cluster_slots_ok ${infoField(info, 'cluster_slots_ok')}`);
      const nodes = await view(n);
      const masters = nodes
        .filter((e) => e.flags.has('master') && e.slots.length > 0 && !e.flags.has('fail') && !e.flags.has('fail?'))
        .sort((a, b) => a.slots[0][0] - b.slots[0][0]);
      if (masters.length !== primaries) return note(`${n.port}: sees ${masters.length} healthy primaries`);
      const s = masters.map((m) => ({
        primary: m,
        replicas: nodes.filter((e) => e.master === m.id && !e.flags.has('fail') && !e.flags.has('fail?')),
      }));
      const k = s.map((x) => `${x.primary.id}<${x.replicas.map((r) => r.id).sort().join(',')}`).join(' ');
      if (key === undefined) {
        key = k;
        shards = s;
      } else if (k !== key) return note(`nodes disagree: ${key} / ${k}`);
    }
    if (shards === undefined) return note('no live node');
    const liveIds = new Set();
    for (const n of live()) liveIds.add(n.id);
    for (const sh of shards) {
      if (!liveIds.has(sh.primary.id)) return note(`primary ${sh.primary.port} is not running`);
      for (const r of sh.replicas) {
        if (!liveIds.has(r.id)) return note(`replica ${r.port} is not running yet seen healthy`);
      }
    }
    if (synced) {
      for (const sh of shards) {
        for (const r of sh.replicas) {
          const n = live().find((x) => x.id === r.id);
          const repl = await n.admin.info('replication');
          if (infoField(repl, 'role') !== 'slave') return note(`${n.port}: role ${infoField(repl, 'role')}`);
          if (infoField(repl, 'master_port') !== String(sh.primary.port)) return note(`${n.port}: replicates ${infoField(repl, 'master_port')}`);
          if (infoField(repl, 'master_link_status') !== 'up') return note(`${n.port}: master link ${infoField(repl, 'master_link_status')}`);
          if (infoField(repl, 'master_sync_in_progress') !== '0') return note(`${n.port}: sync in progress`);
        }
      }
    }
    return shards;
  }

  function shardAt(shards, index) {
    if (!Number.isInteger(index) || index < 0 || index >= shards.length) {
      throw new RangeError(`index must be an integer in [0, ${shards.length - 1}]`);
    }
    return shards[index];
  }

  const nodeOf = (entry) => all.find((n) => n.id === entry.id);

  try {
    const count = primaries * (1 + replicasPerPrimary);
    for (let i = 0; i < count; i++) all.push(await startNode());
    for (const n of all) n.id = await n.admin.call('CLUSTER', 'MYID');
    const masters = all.slice(0, primaries);
    const replicas = all.slice(primaries);
    // distinct config epochs: no collision to resolve when the nodes meet
    for (let i = 0; i < all.length; i++) await all[i].admin.call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1));
    for (let i = 0; i < primaries; i++) {
      const from = Math.floor((i * SLOTS) / primaries);
      const to = Math.floor(((i + 1) * SLOTS) / primaries) - 1;
      await masters[i].admin.call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to));
    }
    for (const n of all.slice(1)) await all[0].admin.call('CLUSTER', 'MEET', n.host, String(n.port), String(n.busPort));
    await until('every node meeting every other', async (note) => {
      for (const n of all) {
        const nodes = await view(n);
        const known = new Set(nodes.filter((e) => !e.flags.has('handshake') && !e.flags.has('noaddr')).map((e) => e.id));
        const missing = all.filter((m) => !known.has(m.id));
        if (missing.length > 0) return note(`${n.port} does not know ${missing.map((m) => m.port).join(', ')}`);
      }
      return true;
    });
    for (let i = 0; i < replicas.length; i++) {
      const primary = masters[i % primaries];
      await replicas[i].admin.call('CLUSTER', 'REPLICATE', primary.id);
    }
    await until('cluster_state:ok with every replica synced', (note) => settledShards(note));
  } catch (e) {
    await stop();
    throw e;
  }

  const cluster = {
    /** startup nodes for new Cluster(nodes) (every node started, primaries first) */
    nodes: all.map(addr),
    /** the temporary directory of the nodes' nodes.conf files */
    dir,

    /** the current primaries, [{ host, port }], the i-th serving the i-th slot range */
    async primaries() {
      const shards = await until('an agreed view of the primaries', (note) => settledShards(note, { synced: false }));
      return shards.map((s) => ({ host: s.primary.host, port: s.primary.port }));
    },

    /** every node running now: [{ host, port, role: 'primary' | 'replica', shard }] */
    async topology() {
      const shards = await until('an agreed view of the primaries', (note) => settledShards(note, { synced: false }));
      const out = [];
      shards.forEach((s, shard) => {
        out.push({ host: s.primary.host, port: s.primary.port, role: 'primary', shard });
        for (const r of s.replicas) out.push({ host: r.host, port: r.port, role: 'replica', shard });
      });
      return out;
    },

    /**
     * SIGKILLs the primary of shard `index`; resolves once one of its replicas is the
     * primary in every live node's view and the cluster is ok with all slots served:
     * { killed, promoted, ms } (ms from the kill to that state).
     */
    async killPrimary(index = 0) {
      const shards = await until('a settled cluster before the kill', (note) => settledShards(note));
      const shard = shardAt(shards, index);
      if (shard.replicas.length === 0) throw new Error(`shard ${index} has no replica to promote`);
      const victim = nodeOf(shard.primary);
      const replicaIds = new Set(shard.replicas.map((r) => r.id));
      const started = Date.now();
      const gone = new Promise((r) => victim.proc.once('exit', () => r()));
      victim.proc.kill('SIGKILL');
      await gone;
      victim.alive = false;
      victim.admin.disconnect();
      const after = await until(`a replica of ${victim.port} promoted`, async (note) => {
        const s = await settledShards(note);
        if (s === undefined) return undefined;
        if (!replicaIds.has(s[index].primary.id)) return note(`shard ${index} served by ${s[index].primary.port}`);
        return s;
      });
      return { killed: addr(victim), promoted: addr(nodeOf(after[index].primary)), ms: Date.now() - started };
    },

    /**
     * CLUSTER FAILOVER on a replica of shard `index` (a coordinated handover, no data lost);
     * resolves once that replica is the primary everywhere, the old primary replicates it
     * and the cluster is ok: { killed: old primary, promoted, ms }.
     */
    async failover(index = 0) {
      const shards = await until('a settled cluster before the failover', (note) => settledShards(note));
      const shard = shardAt(shards, index);
      if (shard.replicas.length === 0) throw new Error(`shard ${index} has no replica to promote`);
      const old = nodeOf(shard.primary);
      const chosen = nodeOf(shard.replicas[0]);
      const started = Date.now();
      await chosen.admin.call('CLUSTER', 'FAILOVER');
      await until(`replica ${chosen.port} promoted`, async (note) => {
        const s = await settledShards(note);
        if (s === undefined) return undefined;
        if (s[index].primary.id !== chosen.id) return note(`shard ${index} served by ${s[index].primary.port}`);
        if (!s[index].replicas.some((r) => r.id === old.id)) return note(`${old.port} does not replicate ${chosen.port} yet`);
        return s;
      });
      return { killed: addr(old), promoted: addr(chosen), ms: Date.now() - started };
    },

    /** kills every node and removes the temporary directory */
    stop,
  };
  return cluster;
}

module.exports = { startRedisCluster, parseClusterNodes: parseNodes };

if (require.main === module) {
  const primaries = Number(process.argv[2] ?? 3);
  const replicasPerPrimary = Number(process.argv[3] ?? 1);
  startRedisCluster({ primaries, replicasPerPrimary }).then(
    async (cluster) => {
      for (const n of await cluster.topology()) console.log(`${n.host}:${n.port} ${n.role} of shard ${n.shard}`);
      console.log('Ctrl-C stops the cluster');
      const done = () => cluster.stop().then(() => process.exit(0));
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    },
    (e) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
