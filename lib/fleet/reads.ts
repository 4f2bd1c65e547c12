// Reads of a fleet's shared state: the live grants (with what is left of them) and the members
// whose heartbeat lives, each judged by its seal (sealer.ts): a value without a valid MAC, stored
// under another key or over by its own time is skipped and counted. Used by a running node (when
// it starts or Redis comes back) and by `knockd --status`, which connects only to read.

import { Redis, type RedisOptions } from 'ioredis';
import { fleetKeys } from './notes.js';
import type { Sealer, StoredGrant } from './sealer.js';

/** At most this many keys are read at once (a SCAN of the fleet's keys). */
const MAX_KEYS = 10_000;

export type LiveGrant = StoredGrant;

export interface Member {
  readonly node: string;
  /** Epoch ms the member's daemon started; 0 when its key did not say. */
  readonly since: number;
}

type Keys = ReturnType<typeof fleetKeys>;

async function scan(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0' && out.length < MAX_KEYS);
  return out.slice(0, MAX_KEYS);
}

export async function readLiveGrants(redis: Redis, keys: Keys, sealer: Sealer, now: () => number, bad: (why: string) => void): Promise<LiveGrant[]> {
  const names = await scan(redis, keys.grantPattern);
  const out: LiveGrant[] = [];
  for (let i = 0; i < names.length; i += 500) {
    const batch = names.slice(i, i + 500);
    const p = redis.pipeline();
    for (const k of batch) p.get(k).pttl(k);
    const res = (await p.exec()) ?? [];
    batch.forEach((_k, j) => {
      const [text, ttl] = [res[2 * j]?.[1], res[2 * j + 1]?.[1]];
      if (typeof text !== 'string' || typeof ttl !== 'number' || ttl <= 0) return;
      const r = sealer.grant(keys, batch[j]!, text, ttl, now());
      if (!r.ok) { bad(`stored grant: ${r.error}`); return; }
      out.push({ note: r.note, remainingMs: r.remainingMs });
    });
  }
  return out;
}

export async function readMembers(redis: Redis, keys: Keys, sealer: Sealer, now: number, bad: (why: string) => void): Promise<Member[]> {
  const names = await scan(redis, keys.memberPattern);
  if (names.length === 0) return [];
  const values = await redis.mget(...names);
  const out: Member[] = [];
  names.forEach((k, i) => {
    const text = values[i];
    if (typeof text !== 'string') return;
    const r = sealer.member(keys, k, text, now);
    if (!r.ok) { bad(`member key: ${r.error}`); return; }
    out.push({ node: r.member.node, since: r.member.since });
  });
  return out.sort((a, b) => a.node.localeCompare(b.node));
}

/**
 * One look at a fleet: members and live grants, judged by `sealer` (its clock: this host's, which
 * is close enough to list). Throws when Redis cannot be reached in time.
 */
export async function fleetSnapshot(options: RedisOptions, name: string, sealer: Sealer): Promise<{ members: Member[]; grants: LiveGrant[]; bad: number }> {
  const redis = new Redis({ ...options, lazyConnect: true, connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => { /* the awaited command says why */ });
  try {
    await redis.connect();
    const keys = fleetKeys(name);
    let bad = 0;
    const members = await readMembers(redis, keys, sealer, Date.now(), () => { bad++; });
    const grants = await readLiveGrants(redis, keys, sealer, () => Date.now(), () => { bad++; });
    return { members, grants, bad };
  } finally {
    redis.disconnect();
  }
}
