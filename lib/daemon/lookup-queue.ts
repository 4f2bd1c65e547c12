// -l without delay for anyone else: a knocker's packets wait only for their own source's name
// (so its log lines carry `ip (name)`), never for other sources' lookups. Lookups run in parallel
// up to a cap; beyond it, or beyond the queue bounds, a packet goes on at once under its bare
// address. Each packet keeps its arrival time, so waiting for a name never makes a knock late.
// (knockd 0.8 and Sesame before: one lookup at a time, so 200 spoofed sources with a DNS server
// that does not answer kept a real knock waiting over a minute, past its Seq_Timeout.)

export interface NameSource {
  known(ip: string): boolean;
  resolve(ip: string): Promise<void>;
}

export interface LookupLimits {
  /** Lookups in flight at once (= sources whose packets wait). */
  readonly parallel: number;
  /** Packets one source may have waiting. */
  readonly perSource: number;
}

export const DEFAULT_LOOKUP_LIMITS: LookupLimits = { parallel: 64, perSource: 64 };

/** What waits: a packet, or a kernel event with its packet; all a lookup needs is the source. */
export interface FromSource { readonly src: string }

export class LookupQueue<T extends FromSource> {
  private readonly waiting = new Map<string, Array<{ p: T; at: number }>>();
  /** Sources with a lookup in flight (some may have stopped waiting for it). */
  private readonly inFlight = new Set<string>();
  /** Packets that went on unnamed because a bound was reached. */
  unnamed = 0;

  constructor(
    private readonly names: NameSource,
    private readonly handle: (p: T, at: number) => void,
    private readonly limits: LookupLimits = DEFAULT_LOOKUP_LIMITS,
  ) {}

  submit(p: T, at: number): void {
    const queue = this.waiting.get(p.src);
    if (queue) {
      // Behind its own source's earlier packets, in order; a source that floods goes on unnamed.
      if (queue.length < this.limits.perSource) { queue.push({ p, at }); return; }
      this.release(p.src);
      this.unnamed++;
      this.handle(p, at);
      return;
    }
    if (this.names.known(p.src)) { this.handle(p, at); return; }
    if (this.inFlight.has(p.src) || this.inFlight.size >= this.limits.parallel) {
      this.unnamed++;
      this.handle(p, at);
      return;
    }
    this.waiting.set(p.src, [{ p, at }]);
    this.inFlight.add(p.src);
    void this.names.resolve(p.src).finally(() => { this.inFlight.delete(p.src); this.release(p.src); });
  }

  /** How many lookups are in flight. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Hands a source's waiting packets on, in order. */
  private release(src: string): void {
    const queue = this.waiting.get(src);
    if (!queue) return;
    this.waiting.delete(src);
    for (const { p, at } of queue) this.handle(p, at);
  }
}
