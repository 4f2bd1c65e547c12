// The watchdog of one of Sesame's nftables tables: the grant table (daemon/door-firewall.ts) and
// kernel matching's (daemon/kernel-matching.ts). Every second it compares the table with a
// snapshot taken when its owner installed it and has the owner replace it whole when it was
// removed, changed or cannot be read. A replace that fails is logged once and retried (every
// check, or less often while it fails); the check that finds the table right again says so. The
// check runs in the owner's queue, so grants, reloads and checks change the table in order.

import { performance } from 'node:perf_hooks';
import type { TableInspector } from './contract.js';
import { compareSnapshots, describeDifferences, type Snapshot } from './table-snapshot.js';

/** How often the table is checked (ms); a removed table is back within about this long. */
export const WATCH_MS = 1000;

/** Why a table that is not there is replaced. */
export const REMOVED = 'was removed (nft flush ruleset?)';

/** A monotonic clock (ms) and a repeating timer that keeps no process alive: the process's, or a test's. */
export interface WatchScheduler {
  now(): number;
  every(ms: number, fn: () => void): { stop(): void };
}

export const systemScheduler: WatchScheduler = {
  now: () => performance.now(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  },
};

/** What the owner of a table does for its watchdog. */
export interface WatchedTable {
  /** Direct reads of the table; undefined without them (no snapshot is compared). */
  readonly inspect: TableInspector | undefined;
  /** The owner's queue: its changes to the table, one at a time, in order. */
  serial(fn: () => Promise<void>): Promise<void>;
  /** A reason to replace the table before it is read (a failed SIGHUP, a counter gone); its errors are the owner's. */
  before?(): Promise<string | undefined> | string | undefined;
  /** The check without a snapshot to compare with: why to replace, or undefined. Without it, an inspector with no snapshot replaces. */
  unsnapshotted?(): Promise<string | undefined>;
  /** Why to replace a table whose content is right (it was built from the wrong config), or undefined. */
  after?(): string | undefined;
  /** More checks and repairs of a table whose snapshot matched (grants, ports left to others). */
  verify?(inspect: TableInspector): Promise<void>;
  /** The table is right (after any "restored again"): the owner's bookkeeping; its errors are the owner's. */
  healthy?(): Promise<void>;
  /** Replaces the table whole and logs what it did. */
  replace(why: string): Promise<void>;
  /** The line logged once when a check or replace fails. */
  failing(err: unknown): string;
  /** The line logged when a check succeeds after failures. */
  readonly again: string;
  readonly log: (line: string) => void;
}

/** How hard a table is checked and how a failing replace is retried. */
export interface WatchPolicy {
  /** Snapshot reads that must fail in a row before the table is replaced (1: the first). */
  readonly readFailures: number;
  /** Doubling waits between failing replaces, from WATCH_MS up to this; undefined: every check. */
  readonly maxBackoffMs?: number;
  /** Whether a replace that ends a failure logs `again` too (not only a check that finds the table right). */
  readonly againAfterReplace: boolean;
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
/** A read failure tolerated: nothing is decided this time. */
const WAIT = Symbol('wait');

export class TableWatchdog {
  /** The table as the owner last installed it (undefined: not read, or snapshots cannot be read here). */
  private baseline: Snapshot | undefined;
  private checking: Promise<void> | undefined;
  private failed = false;
  private readFailures = 0;
  private retryAt = 0;
  private retryDelay = WATCH_MS;
  private timer: { stop(): void } | undefined;

  constructor(
    private readonly owner: WatchedTable,
    private readonly policy: WatchPolicy,
    private readonly scheduler: WatchScheduler = systemScheduler,
  ) {}

  start(): void {
    this.timer ??= this.scheduler.every(WATCH_MS, () => void this.check());
  }

  stop(): void {
    this.timer?.stop();
    this.timer = undefined;
  }

  /** The table as the kernel holds it now becomes what checks compare against. */
  takeBaseline(): void {
    if (!this.owner.inspect) return;
    try { this.baseline = this.owner.inspect.snapshot(); } catch { this.baseline = undefined; }
  }

  /** Until the next baseline, the table is not taken for correct (a replace under way). */
  forgetBaseline(): void {
    this.baseline = undefined;
  }

  /** One check at a time, in the owner's queue; none while a failing replace waits its turn. */
  check(): Promise<void> {
    if (this.checking) return this.checking;
    if (this.scheduler.now() < this.retryAt) return Promise.resolve();
    const p = this.owner.serial(() => this.checkNow()).finally(() => { this.checking = undefined; });
    this.checking = p;
    return p;
  }

  /** The check itself, for a caller already in the owner's queue (a grant that found no table). */
  async checkNow(): Promise<void> {
    const early = await this.owner.before?.();
    try {
      const why = early ?? await this.why();
      if (why !== undefined && why !== WAIT) {
        await this.owner.replace(why);
        this.readFailures = 0;
        this.retryDelay = WATCH_MS;
      }
      if (this.failed && (why === undefined || why === WAIT || this.policy.againAfterReplace)) this.owner.log(this.owner.again);
      this.failed = false;
      if (why !== undefined) return;
    } catch (err) {
      if (!this.failed) this.owner.log(this.owner.failing(err));
      this.failed = true;
      if (this.policy.maxBackoffMs !== undefined) {
        // A failing install of a big table costs seconds: checks must not pile up.
        this.retryAt = this.scheduler.now() + this.retryDelay;
        this.retryDelay = Math.min(this.policy.maxBackoffMs, this.retryDelay * 2);
      }
      return;
    }
    await this.owner.healthy?.();
  }

  /** Why the table must be replaced; undefined when it is right, WAIT when that cannot be told yet. */
  private async why(): Promise<string | typeof WAIT | undefined> {
    const { inspect } = this.owner;
    const baseline = this.baseline;
    if (!inspect || baseline === undefined) {
      if (this.owner.unsnapshotted) return this.owner.unsnapshotted();
      // The install's own read failed: what cannot be checked is installed again.
      return inspect ? 'had no snapshot to be checked against' : this.owner.after?.();
    }
    let actual: Snapshot | undefined;
    try {
      actual = inspect.snapshot();
      this.readFailures = 0;
    } catch (err) {
      // A dump may be interrupted by a busy ruleset: the owner says how often that is forgiven.
      if (++this.readFailures < this.policy.readFailures) return WAIT;
      return `could not be read (${firstLine(err)})`;
    }
    if (!actual) return REMOVED;
    const diffs = compareSnapshots(baseline, actual);
    if (diffs.length > 0) return `differed from what Sesame installed (${describeDifferences(diffs)}; a saved ruleset reloaded?)`;
    const wrong = this.owner.after?.();
    if (wrong === undefined) await this.owner.verify?.(inspect);
    return wrong;
  }
}
