// Failures and bans (Max_Failures, Failure_Window, Ban_Time): a source that fails a door too often
// within the window is banned, from every knock door, for the door's Ban_Time. A failure: a knock
// attempt that resets, or a TOTP code that is wrong or used. Pure: wall-clock ms are handed in.
//
// An IPv6 source is counted and banned by its /64: one host usually holds a whole /64, and
// counting its addresses one by one would give it 2^64 tries.
//
// Bounded: failure records and bans are capped (a spoofed flood makes up sources at will); past a
// cap the oldest record goes. A ban can be provoked by anyone who can send packets from the
// banned address (spoofed SYNs are cheap): that is why bans never touch SPA or granted access.

import type { Door } from '../config/types.js';
import { formatNetwork, parseAddress } from '../config/cidr.js';

export const MAX_FAILURE_RECORDS = 65_536;
export const MAX_BANS = 65_536;

export interface Ban {
  /** The address banned, or an IPv6 address's /64 (`fd77:1::/64`). */
  readonly src: string;
  readonly door: string;
  /** Wall-clock ms it ends. */
  readonly until: number;
  readonly failures: number;
}

export class Bans {
  /** `door index \0 source` → wall times of recent failures (oldest first). */
  private readonly failures = new Map<string, number[]>();
  private readonly bans = new Map<string, Ban>();
  /** Records dropped because a cap was reached. */
  evicted = 0;

  constructor(private readonly maxRecords = MAX_FAILURE_RECORDS, private readonly maxBans = MAX_BANS) {}

  /** The ban on `src` (or its /64) at `now`, if one holds. */
  banned(src: string, now: number): Ban | undefined {
    const key = banKey(src);
    const b = this.bans.get(key);
    if (b && b.until <= now) { this.bans.delete(key); return undefined; }
    return b;
  }

  /** A failure of `src` at `door` (index `doorIndex`); returns the ban it brings, if it brings one. */
  fail(src: string, doorIndex: number, door: Door, now: number): Ban | undefined {
    const policy = door.bans;
    if (!policy || this.banned(src, now)) return undefined;
    const who = banKey(src);
    const key = `${doorIndex}\0${who}`;
    const since = now - policy.failureWindow * 1000;
    const times = (this.failures.get(key) ?? []).filter((t) => t > since);
    times.push(now);
    this.failures.delete(key); // re-inserted last: the Map's first entry is the least recent
    if (times.length < policy.maxFailures) {
      this.failures.set(key, times);
      while (this.failures.size > this.maxRecords) { this.failures.delete(this.failures.keys().next().value!); this.evicted++; }
      return undefined;
    }
    const ban: Ban = { src: who, door: door.name, until: now + policy.banTime * 1000, failures: times.length };
    this.put(ban);
    return ban;
  }

  /** Bans still holding at `now` (for the state file and --status). */
  list(now: number): Ban[] {
    for (const b of this.bans.values()) if (b.until <= now) this.bans.delete(b.src);
    return [...this.bans.values()];
  }

  /** Bans kept by an earlier run or engine: well-formed ones still holding at `now`. */
  load(entries: readonly unknown[], now: number): void {
    for (const x of entries) {
      const b = x as Partial<Ban> | null;
      if (!b || typeof b.src !== 'string' || typeof b.door !== 'string' || typeof b.until !== 'number' || b.until <= now) continue;
      if (banKey(b.src.replace(/\/64$/, '')) !== b.src) continue;
      this.put({ src: b.src, door: b.door, until: b.until, failures: typeof b.failures === 'number' ? b.failures : 0 });
    }
  }

  get size(): number {
    return this.bans.size;
  }

  private put(ban: Ban): void {
    this.bans.delete(ban.src);
    this.bans.set(ban.src, ban);
    while (this.bans.size > this.maxBans) { this.bans.delete(this.bans.keys().next().value!); this.evicted++; }
  }
}

/** What a source is counted and banned as: an IPv4 address itself, an IPv6 address's /64; '' for anything else. */
export function banKey(src: string): string {
  const a = parseAddress(src);
  if (!a) return '';
  if (a.family === 4) return a.text;
  const bytes = new Uint8Array(16);
  bytes.set(a.bytes.subarray(0, 8));
  return formatNetwork({ family: 6, bytes, prefix: 64 });
}
