// With kernel matching, nftables decides every knock and reports stage, reset and completion
// events; what it does not report is a sequence timing out (a set element just expires). This
// keeps the attempts the daemon heard of, so it can log knockd's `sequence timeout (stage N)` at
// the deadline, and turns kernel events into the matcher's events. Pure; bounded like the matcher.
//
// Stage and reset events pass a kernel rate limit, so under a flood some are never heard: an
// attempt whose first stage was not heard is not tracked (no timeout line for it), and one whose
// reset was not heard logs a timeout it did not have. Both happen only past the rate limit, where
// the log says how many events it left out.

import type { Door } from '../config/types.js';
import type { MatchEvent } from './types.js';
import { DEFAULT_MAX_ATTEMPTS } from './matcher.js';

export interface KernelKnock {
  readonly kind: 'stage' | 'open' | 'reset';
  readonly doorIndex: number;
  /** Stage reached (stage, open: the sequence's length) or held (reset). */
  readonly stage: number;
  readonly src: string;
  readonly family: 4 | 6;
}

interface Tracked { stage: number; readonly deadline: number; readonly family: 4 | 6 }

export class KernelAttempts {
  private readonly byDoor: Map<string, Tracked>[];
  private live = 0;

  constructor(private readonly doors: readonly Door[], private readonly max = DEFAULT_MAX_ATTEMPTS) {
    this.byDoor = doors.map(() => new Map());
  }

  get size(): number { return this.live; }

  /** A kernel event as the matcher's events (an open also reports its last stage, as knockd logs). */
  handle(k: KernelKnock, now: number): MatchEvent[] {
    const door = this.doors[k.doorIndex];
    const attempts = this.byDoor[k.doorIndex];
    if (!door || !attempts) return [];
    const base = { src: k.src, family: k.family, doorIndex: k.doorIndex, door };
    switch (k.kind) {
      case 'stage': {
        const a = attempts.get(k.src);
        if (k.stage === 1) {
          this.remove(attempts, k.src);
          if (this.live >= this.max) this.evictOldest();
          attempts.set(k.src, { stage: 1, deadline: now + door.seqTimeout * 1000, family: k.family });
          this.live++;
        } else if (a) {
          a.stage = k.stage;
        }
        return [{ type: 'stage', ...base, stage: k.stage }];
      }
      case 'open':
        this.remove(attempts, k.src);
        return [{ type: 'stage', ...base, stage: k.stage }, { type: 'open', ...base }];
      case 'reset':
        this.remove(attempts, k.src);
        return [{ type: 'reset', ...base, stage: k.stage }];
    }
  }

  /** Attempts whose time is up at `now`, as timeout events. */
  expire(now: number): MatchEvent[] {
    const out: MatchEvent[] = [];
    this.byDoor.forEach((attempts, doorIndex) => {
      for (const [src, a] of attempts) {
        if (a.deadline > now) break; // one timeout per door: insertion order is deadline order
        this.remove(attempts, src);
        out.push({ type: 'timeout', src, family: a.family, doorIndex, door: this.doors[doorIndex]!, stage: a.stage });
      }
    });
    return out;
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const attempts of this.byDoor) {
      for (const a of attempts.values()) {
        if (next === undefined || a.deadline < next) next = a.deadline;
        break;
      }
    }
    return next;
  }

  /** A door's sequence changed or it was disabled: its attempts are gone in the kernel too. */
  dropDoor(doorIndex: number): void {
    const attempts = this.byDoor[doorIndex];
    if (!attempts) return;
    this.live -= attempts.size;
    attempts.clear();
  }

  private remove(attempts: Map<string, Tracked>, src: string): void {
    if (attempts.delete(src)) this.live--;
  }

  private evictOldest(): void {
    let oldest: [Map<string, Tracked>, string, number] | undefined;
    for (const attempts of this.byDoor) {
      for (const [src, a] of attempts) {
        if (!oldest || a.deadline < oldest[2]) oldest = [attempts, src, a.deadline];
        break;
      }
    }
    if (oldest) this.remove(oldest[0], oldest[1]);
  }
}
