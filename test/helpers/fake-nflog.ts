// Kernel matching's NFLOG group and watchdog timer for unit tests: the test hands in frames (an
// event prefix and a decoded packet, as nflog-decode.ts gives them), drops the kernel counted, and
// moves the clock on, firing the watchdog's timer, instead of waiting for it.

import type { NflogEvents, NflogSource, OpenNflog } from '../../lib/capture/nflog.js';
import type { Decoded } from '../../lib/capture/decode.js';
import type { WatchScheduler } from '../../lib/firewall/table-watchdog.js';

export class FakeNflog implements NflogSource {
  batching = false;
  group: number | undefined;
  closed = false;
  /** Drops the kernel will report at the next checkDrops(). */
  drops = 0;
  /** Why the next open fails, if it should. */
  failOpen: string | undefined;
  private on: NflogEvents | undefined;

  readonly open: OpenNflog = (group, on) => {
    if (this.failOpen !== undefined) throw new Error(this.failOpen);
    this.group = group;
    this.on = on;
    this.closed = false;
    return this;
  };

  /** A frame of the group, as the reader hands it over. */
  frame(prefix: string, packet: Decoded): void {
    if (!this.on || this.closed) throw new Error('the group is not open');
    this.on.frame({ prefix, packet });
  }

  /** Frames the daemon could not handle in a turn. */
  lose(n: number): void { this.on?.lost(n, 'daemon'); }

  checkDrops(): void {
    if (this.drops > 0) this.on?.lost(this.drops, 'kernel');
    this.drops = 0;
  }

  close(): void { this.closed = true; }
}

/** A watchdog timer on a clock the test moves: each whole interval passed fires the timer once. */
export class FakeScheduler implements WatchScheduler {
  ms = 5_000;
  private timers: Array<{ ms: number; fn: () => void; next: number }> = [];

  now = (): number => this.ms;

  every(ms: number, fn: () => void): { stop(): void } {
    const timer = { ms, fn, next: this.ms + ms };
    this.timers.push(timer);
    return { stop: () => { this.timers = this.timers.filter((x) => x !== timer); } };
  }

  get running(): number { return this.timers.length; }

  /** Moves the clock on by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const end = this.ms + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.ms = due.next;
      due.next += due.ms;
      due.fn();
    }
    this.ms = end;
  }
}
