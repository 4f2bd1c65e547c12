// Reads of a fleet's shared state: the live grants (with what is left of them) and the members
// whose heartbeat lives, each judged by its seal (sealer.ts): a value without a valid MAC, stored
// under another key or over by its own time is skipped and counted. Used by a running node (when
// it starts or Redis comes back) and by `knockd --status`, which connects only to read.

import { Redis, type RedisOptions } from 'ioredis';
import { fleetKeys } from './notes.js';
import { MAX_SEALED_BYTES } from './seal.js';
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

/**
 * The values of `names` that are no longer than a sealed text may be, with their PTTL: lengths are
 * asked first, so a value of hundreds of MB planted under a fleet key is counted, never fetched.
 */
async function boundedValues(redis: Redis, names: readonly string[],
  bad: (why: string) => void): Promise<{ name: string; text: string; ttl: number }[]> {
  const out: { name: string; text: string; ttl: number }[] = [];
  for (let i = 0; i < names.length; i += 500) {
    const batch = names.slice(i, i + 500);
    const lengths = redis.pipeline();
    for (const k of batch) lengths.strlen(k);
    const n = (await lengths.exec()) ?? [];
    const small = batch.filter((_k, j) => {
      const len = n[j]?.[1];
      if (typeof len === 'number' && len > MAX_SEALED_BYTES) { bad('stored value: too long'); return false; }
      return true;
    });
    if (small.length === 0) continue;
    const p = redis.pipeline();
    for (const k of small) p.get(k).pttl(k);
    const res = (await p.exec()) ?? [];
    small.forEach((name, j) => {
      const [text, ttl] = [res[2 * j]?.[1], res[2 * j + 1]?.[1]];
      if (typeof text === 'string' && text.length <= MAX_SEALED_BYTES) out.push({ name, text, ttl: typeof ttl === 'number' ? ttl : -1 });
    });
  }
  return out;
}

export async function readLiveGrants(redis: Redis, keys: Keys, sealer: Sealer, now: () => number,
  bad: (why: string) => void): Promise<LiveGrant[]> {
  const names = await scan(redis, keys.grantPattern);
  const out: LiveGrant[] = [];
  for (const { name, text, ttl } of await boundedValues(redis, names, bad)) {
    if (ttl <= 0) continue;
    const r = sealer.grant(keys, name, text, ttl, now());
    if (!r.ok) { bad(`stored grant: ${r.error}`); continue; }
    out.push({ note: r.note, remainingMs: r.remainingMs });
  }
  return out;
}

export async function readMembers(redis: Redis, keys: Keys, sealer: Sealer, now: number, bad: (why: string) => void): Promise<Member[]> {
  const names = await scan(redis, keys.memberPattern);
  const out: Member[] = [];
  for (const { name, text } of await boundedValues(redis, names, bad)) {
    const r = sealer.member(keys, name, text, now);
    if (!r.ok) { bad(`member key: ${r.error}`); continue; }
    out.push({ node: r.member.node, since: r.member.since });
  }
  return out.sort((a, b) => a.node.localeCompare(b.node));
}

/**
 * One look at a fleet: members and live grants, judged by `sealer` (its clock: this host's, which
 * is close enough to list). Throws when Redis cannot be reached in time.
 */
export async function fleetSnapshot(options: RedisOptions, name: string,
  sealer: Sealer): Promise<{ members: Member[]; grants: LiveGrant[]; bad: number }> {
  const redis = new Redis({
    ...options, lazyConnect: true, connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null,
  });
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
