// Failures and bans (Max_Failures, Failure_Window, Ban_Time): a source that fails a door too often
// within the window is banned, from every knock door, for the door's Ban_Time. A failure: a knock
// attempt that resets, or a TOTP code that is wrong or used. Pure: wall-clock ms are handed in.
//
// An IPv6 source is counted and banned by its /64: one host usually holds a whole /64, and
// counting its addresses one by one would give it 2^64 tries.
//
// Bounded, and closed when full: failure records and bans are capped (a spoofed flood makes up
// sources at will), and nothing is pushed out to make room, since a flood that could push a record
// or a ban out would give its sender fresh guesses. Stale records and ended bans make room; a
// failure that finds no room for its record bans its source at once; while there is no room for a
// ban, the table says it is saturated and TOTP doors open for no one (fail closed; SPA is not
// affected). A source that reached its limit but found no room for a ban keeps its record, over
// the limit. A ban can be provoked by anyone who can send packets from the banned address
// (spoofed SYNs are cheap): that is why bans never touch SPA or granted access.
//
// A record is a count in a fixed window that starts at its first failure (fixed size whatever
// Max_Failures is). Records are keyed by door name, so a reload carries them over (Engine.next).

import type { Door } from '../config/types.js';
import { MAX_GRANT_SECONDS } from '../config/types.js';
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

interface FailureRecord {
  count: number;
  /** When its window ends (first failure + Failure_Window): stale from then on. */
  staleAt: number;
}

export class Bans {
  /** `door name \0 source` → failures in the current window; in order of last failure (re-inserted on each). */
  private readonly failures = new Map<string, FailureRecord>();
  private readonly bans = new Map<string, Ban>();
  /** Bans that found no room (the ban table full). */
  lost = 0;

  constructor(private readonly maxRecords = MAX_FAILURE_RECORDS, private readonly maxBans = MAX_BANS) {}

  /** The ban on `src` (or its /64) at `now`, if one holds. */
  banned(src: string, now: number): Ban | undefined {
    const key = banKey(src);
    const b = this.bans.get(key);
    if (b && b.until <= now) { this.bans.delete(key); return undefined; }
    return b;
  }

  /** A failure of `src` at `door`; returns the ban it brings, if it brings one. */
  fail(src: string, door: Door, now: number): Ban | undefined {
    const policy = door.bans;
    const who = banKey(src);
    if (!policy || who === '' || this.banned(src, now)) return undefined;
    const key = `${door.name}\0${who}`;
    const old = this.failures.get(key);
    const r = old && old.staleAt > now ? old : { count: 0, staleAt: now + policy.failureWindow * 1000 };
    r.count = Math.min(r.count + 1, policy.maxFailures);
    this.failures.delete(key); // re-inserted last: the Map's first entry is the least recently failed
    const failures = r.count;
    // No room to count it: closed, the source is banned at once.
    if (r.count < policy.maxFailures && !old && !this.roomForRecord(now)) r.count = policy.maxFailures;
    if (r.count < policy.maxFailures) {
      this.failures.set(key, r);
      return undefined;
    }
    const ban = this.ban({ src: who, door: door.name, until: now + policy.banTime * 1000, failures }, now);
    if (!ban && (old || this.roomForRecord(now))) this.failures.set(key, r); // no room for a ban: kept, over its limit
    return ban;
  }

  /** Whether there is no room for another ban: TOTP doors then refuse every code (a guesser could not be banned). */
  saturated(now: number): boolean {
    return !this.roomForBan(now);
  }

  /** Bans still holding at `now` (for the state file and --status). */
  list(now: number): Ban[] {
    for (const b of this.bans.values()) if (b.until <= now) this.bans.delete(b.src);
    return [...this.bans.values()];
  }

  /** Bans kept by an earlier run: well-formed ones still holding at `now` (none past a week from now), as many as fit. */
  load(entries: readonly unknown[], now: number): void {
    for (const x of entries) {
      const b = x as Partial<Ban> | null;
      if (!b || typeof b.src !== 'string' || typeof b.door !== 'string' || typeof b.until !== 'number' || b.until <= now) continue;
      if (b.src === '' || banKey(b.src.replace(/\/64$/, '')) !== b.src) continue;
      const until = Math.min(b.until, now + MAX_GRANT_SECONDS * 1000);
      this.ban({ src: b.src, door: b.door, until, failures: typeof b.failures === 'number' ? b.failures : 0 }, now);
    }
  }

  get size(): number {
    return this.bans.size;
  }

  private ban(ban: Ban, now: number): Ban | undefined {
    if (!this.bans.has(ban.src) && !this.roomForBan(now)) { this.lost++; return undefined; }
    this.bans.delete(ban.src);
    this.bans.set(ban.src, ban);
    return ban;
  }

  /** Room for one more failure record, once stale ones (from the least recently failed on) are dropped. */
  private roomForRecord(now: number): boolean {
    for (const [k, r] of this.failures) {
      if (this.failures.size < this.maxRecords || r.staleAt > now) break;
      this.failures.delete(k);
    }
    return this.failures.size < this.maxRecords;
  }

  /** Room for one more ban, once ended ones (from the oldest on) are dropped. */
  private roomForBan(now: number): boolean {
    for (const [k, b] of this.bans) {
      if (this.bans.size < this.maxBans || b.until > now) break;
      this.bans.delete(k);
    }
    return this.bans.size < this.maxBans;
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
