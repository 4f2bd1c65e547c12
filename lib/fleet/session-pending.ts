// What a node accepted alone while Redis was unreachable, stalled or refusing (session.ts): the
// claims it made (with their sealed values, so a claim that went through during a stall is known as
// its own) and the grants it did not share. Claimed and shared after the fact when Redis is back;
// bounded, the oldest dropped and counted. Pure: results and clock in.

import type { GrantNote, OneTimeNote } from './notes.js';
import { fleetTime, type Now, type Tally } from './session-types.js';

/** What is remembered for Redis's return; beyond it the oldest are dropped (and counted). */
export const MAX_PENDING = 10_000;

/** A claim made alone, to be made again as it was. */
export interface PendingClaim {
  readonly key: string;
  readonly ttlMs: number;
  /** The sealed value (FleetLink.claimValue) of the first try. */
  readonly value: string;
  /** The same secret's keys under the ring's other keys. */
  readonly also: readonly string[];
  /** For the log: "SPA digest", "one-time sequence of <door>". */
  readonly what: string;
  readonly announce?: OneTimeNote;
}

export class SessionPending {
  private claims: PendingClaim[] = [];
  private shares: GrantNote[] = [];
  /** Dropped to make room since the last resync line. */
  private dropped = 0;

  constructor(private readonly max = MAX_PENDING) {}

  /** Whether anything waits for Redis. */
  get any(): boolean {
    return this.claims.length + this.shares.length > 0;
  }

  get counts(): { claims: number; shares: number } {
    return { claims: this.claims.length, shares: this.shares.length };
  }

  claim(c: PendingClaim): void {
    this.remember(this.claims, c);
  }

  share(note: GrantNote): void {
    this.remember(this.shares, note);
  }

  /** Starts a catch-up: what waits is handed out (what still fails comes back through claimed and shared). */
  take(): { claims: PendingClaim[]; shares: GrantNote[] } {
    const taken = { claims: this.claims, shares: this.shares };
    this.claims = [];
    this.shares = [];
    return taken;
  }

  /** A claim made after the fact: counted; 'down' waits for the next try; a log line when another node had it too. */
  claimed(c: PendingClaim, r: 'won' | 'lost' | 'down', tally: Tally): string | undefined {
    if (r === 'won') tally.made++;
    if (r === 'down') this.claim(c);
    if (r !== 'lost') return undefined;
    tally.lost++;
    return `fleet: a ${c.what} accepted here while Redis was unreachable was also accepted by another node`;
  }

  /**
   * The grants still worth sharing (a second or more left), restamped to `now`: receivers count
   * the time left from `at` (a note heard twice is carried out once: its id).
   */
  restamp(shares: readonly GrantNote[], now: Now): GrantNote[] {
    const at = fleetTime(now);
    const out: GrantNote[] = [];
    for (const s of shares) {
      const left = s.at + s.timeout * 1000 - at;
      if (left >= 1000) out.push({ ...s, at, timeout: Math.floor(left / 1000) });
    }
    return out;
  }

  /** A restamped grant's publication: counted, or kept for the next try. */
  shared(note: GrantNote, ok: boolean, tally: Tally): void {
    if (ok) tally.shared++;
    else this.share(note);
  }

  /** The dropped count for the resync line, then zero again. */
  takeDropped(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }

  private remember<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > this.max) { list.shift(); this.dropped++; }
  }
}
