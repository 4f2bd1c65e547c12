// ioredis's connection options for a fleet's Redis target (redis-target.ts): one server (TLS for
// rediss://), or the master named by Redis Sentinel, followed through failovers (ioredis asks the
// sentinels again on each reconnect and listens for +switch-master).

import type { RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config/redis-target.js';

export function redisOptions(t: RedisTarget, password: string | undefined, sentinelPassword: string | undefined): RedisOptions {
  const common = { db: t.db, password, ...(t.username ? { username: t.username } : {}) };
  if (t.kind === 'direct') return { ...common, host: t.host, port: t.port, ...(t.tls ? { tls: {} } : {}) };
  return {
    ...common,
    sentinels: t.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: t.master,
    ...(sentinelPassword !== undefined ? { sentinelPassword } : {}),
    failoverDetector: true,
    // A sentinel that does not answer is skipped quickly; the list is tried again with backoff.
    sentinelRetryStrategy: (times: number) => Math.min(250 * times, 2000),
  };
}
