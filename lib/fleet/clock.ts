// The offset between this node's clock and Redis's, as NTP estimates it: each sample is Redis's
// TIME against the midpoint of the round trip, wrong by at most half the round trip; of the last
// few samples the one with the shortest round trip wins, so a slow moment (a loaded node, a busy
// Redis) does not move the fleet's time. Pure: samples in, estimate out.

/**
 * Redis's clock is followed only this far (ms). Further off, fleet times stay on this node's clock
 * (and it is logged): whoever controls what Redis answers must not move the skew window by minutes
 * and make a captured note fresh again.
 */
export const MAX_OFFSET_MS = 10_000;

export interface ClockSample {
  /** Redis time minus local time at the round trip's midpoint (ms). */
  readonly offset: number;
  /** Round trip (ms). */
  readonly rtt: number;
}

export class ClockOffset {
  private samples: ClockSample[] = [];

  constructor(private readonly keep = 8) {}

  add(s: ClockSample): void {
    this.samples.push(s);
    if (this.samples.length > this.keep) this.samples.shift();
  }

  /** The best estimate (ms; add to local time for Redis time); 0 before any sample. */
  get offset(): number {
    let best: ClockSample | undefined;
    for (const s of this.samples) if (!best || s.rtt < best.rtt) best = s;
    return best?.offset ?? 0;
  }

  /** Whether the estimate is followed: within MAX_OFFSET_MS of this node's clock. */
  get followed(): boolean {
    return Math.abs(this.offset) <= MAX_OFFSET_MS;
  }

  /** The offset fleet times use: the estimate while followed, else 0 (this node's own clock). */
  get used(): number {
    return this.followed ? this.offset : 0;
  }
}
