// Knock packets lost before matching, for the log: the kernel dropped them because libpcap's
// ring was full ('kernel'), or the capture process could not hand them on ('queue': the daemon
// fell behind; 'overflow': more than a turn's batches). Frames dropped by
// the decoder (ARP, ICMP, spoofed mapped sources, ...) are not losses and stay in -D output.
// One line per interface at most every `everyMs`, so a flood cannot flood the log with it.

export class LossReport {
  private readonly pending = new Map<string, { kernel: number; daemon: number }>();
  private readonly lastLine = new Map<string, number>();

  constructor(private readonly everyMs = 10_000, private readonly now: () => number = Date.now) {}

  /** Adds a capture process's drop counts; returns a log line when one is due. */
  add(iface: string, counts: Record<string, number>): string | undefined {
    const kernel = counts['kernel'] ?? 0;
    const daemon = (counts['queue'] ?? 0) + (counts['overflow'] ?? 0);
    if (kernel + daemon === 0) return undefined;
    const p = this.pending.get(iface) ?? { kernel: 0, daemon: 0 };
    p.kernel += kernel;
    p.daemon += daemon;
    const t = this.now();
    const last = this.lastLine.get(iface);
    if (last !== undefined && t - last < this.everyMs) { this.pending.set(iface, p); return undefined; }
    this.pending.delete(iface);
    this.lastLine.set(iface, t);
    const total = p.kernel + p.daemon;
    const why = [p.kernel ? `capture buffer full: ${p.kernel}` : '', p.daemon ? `daemon behind: ${p.daemon}` : '']
      .filter(Boolean).join(', ');
    return `capture on ${iface}: ${total} packet${total === 1 ? '' : 's'} lost before matching (${why})`;
  }
}
