// A set of ids, each kept until its expiry, bounded by count: ids of notes already seen (replays are
// refused) and of grants already carried out (a resync does not repeat them). When full, the expired
// go first, then the oldest added. Only notes that passed the MAC check are added, so whoever lacks
// the key cannot fill it; a member flooding it only shortens how long ids are remembered.

export class BoundedIds {
  private readonly ids = new Map<string, number>();
  private swept = -Infinity;
  /** Ids dropped before their expiry to make room. */
  evicted = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.ids.size;
  }

  /** Whether `id` is known and not expired at `now`. */
  has(id: string, now: number): boolean {
    const until = this.ids.get(id);
    return until !== undefined && until > now;
  }

  /** Adds `id` until `until` (ms), making room first. */
  add(id: string, until: number, now: number): void {
    this.ids.delete(id);
    if (this.ids.size >= this.max) this.sweep(now);
    while (this.ids.size >= this.max) {
      const [oldest, until] = this.ids.entries().next().value as [string, number];
      this.ids.delete(oldest);
      if (until > now) this.evicted++;
    }
    this.ids.set(id, until);
  }

  /** Drops the expired; at most once a second (a full sweep of a full set costs max steps). */
  private sweep(now: number): void {
    if (now - this.swept < 1000) return;
    this.swept = now;
    for (const [id, until] of this.ids) if (until <= now) this.ids.delete(id);
  }
}
