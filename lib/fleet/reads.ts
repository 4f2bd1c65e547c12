// Reads of a fleet's shared state: the live grants (with Redis's remaining expiry) and the members
// whose heartbeat lives. Used by a running node (when it starts or Redis comes back) and by
// `knockd --status`, which connects only to read.

import { Redis } from 'ioredis';
import { decodeNote, fleetKeys, type GrantNote } from './notes.js';

/** At most this many keys are read at once (a SCAN of the fleet's keys). */
const MAX_KEYS = 10_000;

export interface LiveGrant {
  readonly note: GrantNote;
  readonly remainingMs: number;
}

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

export async function readLiveGrants(redis: Redis, keys: Keys, bad: (why: string) => void): Promise<LiveGrant[]> {
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
      const r = decodeNote(text);
      if (!r.ok || r.note.type !== 'grant') { bad(r.ok ? 'not a grant' : r.error); return; }
      out.push({ note: r.note, remainingMs: ttl });
    });
  }
  return out;
}

export async function readMembers(redis: Redis, keys: Keys): Promise<Member[]> {
  const names = await scan(redis, keys.memberPattern);
  if (names.length === 0) return [];
  const values = await redis.mget(...names);
  return names.map((k, i) => {
    let since = 0;
    try { since = Number((JSON.parse(values[i] ?? '{}') as { since?: unknown }).since) || 0; } catch { /* listed without a time */ }
    return { node: k.slice(k.lastIndexOf(':') + 1), since };
  }).sort((a, b) => a.node.localeCompare(b.node));
}

/** One look at a fleet: members and live grants. Throws when Redis cannot be reached in time. */
export async function fleetSnapshot(url: string, password: string | undefined, name: string): Promise<{ members: Member[]; grants: LiveGrant[]; bad: number }> {
  const redis = new Redis(url, { password, lazyConnect: true, connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => { /* the awaited command says why */ });
  try {
    await redis.connect();
    const keys = fleetKeys(name);
    let bad = 0;
    const members = await readMembers(redis, keys);
    const grants = await readLiveGrants(redis, keys, () => { bad++; });
    return { members, grants, bad };
  } finally {
    redis.disconnect();
  }
}
