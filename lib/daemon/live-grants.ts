// The grants this daemon made that have not expired yet, with deadlines on the monotonic clock
// (a wall-clock step must not stretch or cut them). When Sesame's table vanishes from the kernel
// (`nft flush ruleset`, `systemctl restart nftables`), these are what is put back, each with
// the time it has left. Pure: the clock is passed in.

import type { Grant } from '../firewall/grants.js';
import { formatProtoPort } from '../net/protocol.js';

// A NAT grant of an external port is another element than an Open grant of that port.
const keyOf = (g: Grant) => `${g.address} ${formatProtoPort(g)}${g.nat ? ` ${g.nat.kind}` : ''}`;

export class LiveGrants {
  private readonly byKey = new Map<string, { grant: Grant; until: number }>();

  /** At most this many are remembered; the kernel sets are bounded the same way. */
  constructor(private readonly max = 65_536) {}

  /** Records grants made at monotonic time `now` (ms); a re-grant replaces the deadline. */
  add(grants: readonly Grant[], now: number): void {
    for (const g of grants) {
      const k = keyOf(g);
      this.byKey.delete(k);
      this.byKey.set(k, { grant: g, until: now + g.timeout * 1000 });
    }
    this.prune(now);
    // Oldest insertions go first when the cap is hit (Map keeps insertion order).
    for (const k of this.byKey.keys()) {
      if (this.byKey.size <= this.max) break;
      this.byKey.delete(k);
    }
  }

  /** The live grants at `now`, each with its remaining whole seconds (at least 1) as timeout. */
  remaining(now: number): Grant[] {
    this.prune(now);
    return [...this.byKey.values()].map(({ grant, until }) => ({ ...grant, timeout: Math.max(1, Math.ceil((until - now) / 1000)) }));
  }

  /** Each live grant with the milliseconds it has left at `now` (for the grants file). */
  entries(now: number): Array<{ grant: Grant; leftMs: number }> {
    this.prune(now);
    return [...this.byKey.values()].map(({ grant, until }) => ({ grant, leftMs: until - now }));
  }

  /** Whether the cap was reached (then not every grant made is remembered). */
  get full(): boolean {
    return this.byKey.size >= this.max;
  }

  get size(): number {
    return this.byKey.size;
  }

  private prune(now: number): void {
    for (const [k, v] of this.byKey) if (v.until <= now) this.byKey.delete(k);
  }
}
