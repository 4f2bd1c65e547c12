// Bans made, carried out in batches: under a flood of failures from made-up sources a ban must not
// cost a file write and an nft run each. At most once a second, bans.json is rewritten with the bans
// in force and the new ones go to the kernel's sets in one script (the engine ignores a banned
// source's knocks from the start); flush() at shutdown writes what is pending.

import type { Ban } from '../matcher/bans.js';
import { MAX_BANS } from '../matcher/bans.js';
import type { BanStore } from './state.js';

export class BanKeeper {
  private pending: Ban[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: BanStore,
    /** The bans in force now (the running engine's). */
    private readonly inForce: () => readonly Ban[],
    /** Puts new bans in the kernel (kernel matching; nothing with libpcap). */
    private readonly kernel: (bans: readonly Ban[]) => void,
    private readonly delayMs = 1000,
  ) {}

  add(ban: Ban): void {
    this.pending.push(ban);
    if (this.pending.length > MAX_BANS) this.pending.shift(); // the engine holds no more either
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Writes and applies what is pending now (the timer, or shutdown). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const bans = this.pending;
    this.pending = [];
    this.store.save(this.inForce());
    this.kernel(bans);
  }
}
