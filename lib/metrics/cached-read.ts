// One read at a time, its result kept for a while: whoever reaches Metrics_Listen cannot make the
// daemon list the kernel, or render the page, in a loop. A failed read is not kept.

export class CachedRead<T> {
  private last: { at: number; value: Promise<T> } | undefined;

  constructor(private readonly read: () => Promise<T>, private readonly ttlMs: number) {}

  /** The last read if it began less than ttlMs before `now` (monotonic ms), else a new one. */
  get(now: number): Promise<T> {
    if (this.last && now - this.last.at < this.ttlMs) return this.last.value;
    const value = this.read();
    this.last = { at: now, value };
    value.catch(() => { if (this.last?.value === value) this.last = undefined; });
    return value;
  }
}
