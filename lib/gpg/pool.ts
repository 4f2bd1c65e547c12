// At most `running` gpg runs at once and `queued` waiting; anything beyond is refused at once and
// counted, so a flood of GnuPG-sized packets costs a bounded number of processes and no memory.

export interface GpgPoolStats {
  readonly running: number;
  readonly queued: number;
  /** Jobs refused because the queue was full, since the pool was made. */
  readonly refused: number;
  readonly done: number;
}

export const BUSY = Symbol('gpg-busy');
export type Busy = typeof BUSY;

export class GpgPool {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private refusedCount = 0;
  private doneCount = 0;

  constructor(readonly maxRunning: number = 2, readonly maxQueued: number = 8) {
    if (!(maxRunning >= 1) || !(maxQueued >= 0)) throw new RangeError('a gpg pool runs at least 1 job and queues 0 or more');
  }

  /** Runs `job` now or after the queue; BUSY (without running it) when the queue is full. */
  submit<T>(job: () => Promise<T>): Promise<T | Busy> {
    if (this.active >= this.maxRunning && this.waiting.length >= this.maxQueued) {
      this.refusedCount++;
      return Promise.resolve(BUSY);
    }
    return new Promise<T | Busy>((resolve, reject) => {
      const start = () => {
        this.active++;
        let p: Promise<T>;
        try { p = job(); } catch (e) { p = Promise.reject(e); }
        // The counts are settled before the caller hears of the result.
        p.finally(() => {
          this.active--;
          this.doneCount++;
          this.waiting.shift()?.();
        }).then(resolve, reject);
      };
      if (this.active < this.maxRunning) start();
      else this.waiting.push(start);
    });
  }

  stats(): GpgPoolStats {
    return { running: this.active, queued: this.waiting.length, refused: this.refusedCount, done: this.doneCount };
  }
}
