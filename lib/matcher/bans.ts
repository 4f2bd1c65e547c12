// Failures and bans (Max_Failures, Failure_Window, Ban_Time): a source that fails a door too often
// within the window is banned, from every knock door, for the door's Ban_Time. A failure: a knock
// attempt that resets, or a TOTP code that is wrong or used. Pure: wall-clock ms are handed in.
//
// Bounded: failure records and bans are capped (a spoofed flood makes up sources at will); past a
// cap the oldest record goes. A ban can be provoked by anyone who can send packets from the
// banned address (spoofed SYNs are cheap): that is why bans never touch SPA or granted access.

import type { Door } from '../config/types.js';

export const MAX_FAILURE_RECORDS = 65_536;
export const MAX_BANS = 65_536;

export interface Ban {
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

  /** The ban on `src` at `now`, if one holds. */
  banned(src: string, now: number): Ban | undefined {
    const b = this.bans.get(src);
    if (b && b.until <= now) { this.bans.delete(src); return undefined; }
    return b;
  }

  /** A failure of `src` at `door` (index `doorIndex`); returns the ban it brings, if it brings one. */
  fail(src: string, doorIndex: number, door: Door, now: number): Ban | undefined {
    const policy = door.bans;
    if (!policy || this.banned(src, now)) return undefined;
    const key = `${doorIndex}\0${src}`;
    const since = now - policy.failureWindow * 1000;
    const times = (this.failures.get(key) ?? []).filter((t) => t > since);
    times.push(now);
    this.failures.delete(key); // re-inserted last: the Map's first entry is the least recent
    if (times.length < policy.maxFailures) {
      this.failures.set(key, times);
      while (this.failures.size > this.maxRecords) { this.failures.delete(this.failures.keys().next().value!); this.evicted++; }
      return undefined;
    }
    const ban: Ban = { src, door: door.name, until: now + policy.banTime * 1000, failures: times.length };
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
      if (b.src.length > 45 || !/^[0-9a-f.:]+$/.test(b.src)) continue;
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
