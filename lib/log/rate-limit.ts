// A token bucket for log lines a remote sender can cause (SPA refusals, knock stages and
// timeouts): a flood of junk must not become a flood of log lines or fill a disk. Lines over the
// budget are counted and reported in one line later.

export class LogRateLimit {
  private tokens: number;
  private last: number;
  private suppressed = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly summary: (n: number) => string = (n) => `${n} similar lines not logged (rate limit)`,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Lines dropped before they reached this bucket (a kernel rate limit): reported with the rest. */
  skip(n: number): void {
    if (n > 0) this.suppressed += n;
  }

  /**
   * Calls `write` for the line if the budget allows, first with a summary of what was dropped. A
   * function is called only then: under a flood, dropped lines cost no formatting.
   */
  line(text: string | (() => string), write: (line: string) => void): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens < 1) { this.suppressed++; return; }
    this.tokens -= 1;
    if (this.suppressed > 0) {
      write(this.summary(this.suppressed));
      this.suppressed = 0;
    }
    write(typeof text === 'string' ? text : text());
  }
}

/**
 * A running total (evictions, lost events, unrecorded knocks) logged at most once per doubling:
 * a flood's count must not become a flood of lines.
 */
export class DoublingLog {
  private logged = 0;

  /** Whether `total` is to be logged now: the first time it is above 0, then each time it has doubled. */
  due(total: number): boolean {
    if (total <= 0 || total < this.logged * 2) return false;
    this.logged = total;
    return true;
  }
}
