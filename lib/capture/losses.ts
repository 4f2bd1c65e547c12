// Knock packets lost before matching, for the log: the capture process could not hand them on
// ('queue': the daemon fell behind; 'overflow': more than a turn's batches). Frames dropped by
// the decoder (ARP, ICMP, spoofed mapped sources, ...) are not losses and stay in -D output.
// One line per interface at most every `everyMs`, so a flood cannot flood the log with it.

const LOSS_KINDS = ['queue', 'overflow'] as const;

export class LossReport {
  private readonly pending = new Map<string, number>();
  private readonly lastLine = new Map<string, number>();

  constructor(private readonly everyMs = 10_000, private readonly now: () => number = Date.now) {}

  /** Adds a capture process's drop counts; returns a log line when one is due. */
  add(iface: string, counts: Record<string, number>): string | undefined {
    let lost = 0;
    for (const k of LOSS_KINDS) lost += counts[k] ?? 0;
    if (lost === 0) return undefined;
    const total = (this.pending.get(iface) ?? 0) + lost;
    const t = this.now();
    const last = this.lastLine.get(iface);
    if (last !== undefined && t - last < this.everyMs) { this.pending.set(iface, total); return undefined; }
    this.pending.delete(iface);
    this.lastLine.set(iface, t);
    return `capture on ${iface}: ${total} packet${total === 1 ? '' : 's'} lost before matching (the daemon fell behind)`;
  }
}
