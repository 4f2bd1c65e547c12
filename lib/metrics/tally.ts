// Counts the packet path makes at flood rates (knock stages, SPA refusals), kept as plain numbers
// and handed to prom-client only when Prometheus scrapes: an event costs a map lookup and an add,
// not prom-client's label validation and hashing. Keys come from door names and fixed lists.

export class Tally {
  private readonly entries = new Map<string, { readonly labels: Readonly<Record<string, string>>; n: number }>();

  /** One more for `key`; `labels` is built the first time the key is seen. */
  add(key: string, labels: () => Record<string, string>): void {
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, e = { labels: labels(), n: 0 });
    e.n++;
  }

  /** Hands what was counted since the last call to `inc`, and starts again from 0. */
  flush(inc: (labels: Readonly<Record<string, string>>, n: number) => void): void {
    for (const e of this.entries.values()) {
      if (e.n === 0) continue;
      inc(e.labels, e.n);
      e.n = 0;
    }
  }
}
