// What the Redis stores add to ioredis options that name Sentinels (`sentinels`, `name`):
// the client follows the primary through a failover.
//  - failoverDetector: the client subscribes to +switch-master on the sentinels and drops
//    its connection when one is announced, so that it reconnects (asking the sentinels) to
//    the promoted replica at once. Without it the client stays on the demoted primary, which
//    keeps accepting writes until a sentinel turns it into a replica (about 10 s later):
//    sessions written there are lost, and a revocation published on the promoted replica is
//    not heard by a subscriber still connected to the demoted one.
//  - reconnectOnError: a READONLY answer (the connection reached a replica: a primary
//    demoted under it) fails that command and reconnects, to the primary the sentinels name.
//  - sentinelRetryStrategy / sentinelCommandTimeout: the sentinels are asked again as often,
//    and wait as long, as the store's own Redis connection does (ioredis's defaults: up to
//    1 s between rounds, and no bound on a sentinel that accepts but never answers).
// The caller's own options win over each of these.
import type { Redis, RedisOptions } from 'ioredis';

/** ioredis options naming Sentinels */
export function namesSentinels(redis: unknown): redis is RedisOptions & { sentinels: unknown[] } {
  const s = (redis as { sentinels?: unknown } | null | undefined)?.sentinels;
  return typeof redis === 'object' && redis !== null && s !== undefined && s !== null;
}

/**
 * The options a store puts under the caller's `redis` options when they name Sentinels
 * (an empty object otherwise); throws for a Sentinel setup a store cannot write through.
 */
export function sentinelDefaults(redis: unknown, name: string, o: { maxReconnectDelay: number; commandTimeout: number }): Partial<RedisOptions> {
  if (!namesSentinels(redis)) return {};
  if (!Array.isArray(redis.sentinels) || redis.sentinels.length === 0) {
    throw new TypeError(`${name}.sentinels must be a non-empty array of { host, port }`);
  }
  if (typeof redis.name !== 'string' || redis.name.length === 0) throw new TypeError(`${name}.name must name the Sentinel-monitored primary`);
  if (redis.role !== undefined && redis.role !== 'master') {
    throw new RangeError(`${name}.role must be 'master': the store writes, and a replica refuses writes`);
  }
  return {
    failoverDetector: true,
    reconnectOnError: (err: Error) => (/^READONLY\b/.test(err.message) ? 1 : false),
    sentinelRetryStrategy: (times: number) => Math.min(times * 50, o.maxReconnectDelay),
    ...(o.commandTimeout > 0 ? { sentinelCommandTimeout: o.commandTimeout } : {}),
  };
}

/**
 * Keeps a Sentinel client of a store connecting. ioredis ends a client for good when its
 * connector fails while resolving the primary, and its failover detector makes that
 * happen: a +switch-master that arrives while the client is reconnecting (a killed primary:
 * it reconnects until the sentinels promote a replica, and the switch is announced then)
 * aborts that resolution, and the client's status becomes 'end'. Until `closed()`, such a
 * client connects again after `delay` ms.
 */
export function keepConnecting(client: Redis, closed: () => boolean, delay: number): void {
  client.on('end', () => {
    if (closed()) return;
    const t = setTimeout(() => {
      if (!closed() && client.status === 'end') client.connect().catch(() => {});
    }, delay);
    t.unref?.();
  });
}
