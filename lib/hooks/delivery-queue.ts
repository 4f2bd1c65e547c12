// The queue between the packet path and a slow or dead receiver: push() only appends (never
// blocks, throws or waits for the network); a fixed number of deliveries run at once, each attempt
// under a timeout, a failed one is retried after 1, 2, 4, 8 s (5 attempts in all), and what cannot
// be held or delivered is counted as dropped. Order is not kept; delivery is at least once.

export interface QueueTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** setTimeout, unref'ed: a pending retry never keeps the daemon alive. */
export const realTimers: QueueTimers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface QueueOptions {
  /** Events held at most (queued, waiting for a retry or in flight); more are dropped. */
  readonly capacity: number;
  /** Deliveries at once. */
  readonly concurrency: number;
  /** One attempt's limit (ms); then its signal is aborted and it counts as failed. */
  readonly timeoutMs: number;
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** The wait before the first retry (ms); it doubles for each next one. */
  readonly backoffMs: number;
  readonly timers: QueueTimers;
}

export const DEFAULT_QUEUE: QueueOptions = {
  capacity: 1000, concurrency: 2, timeoutMs: 5000, attempts: 5, backoffMs: 1000, timers: realTimers,
};

/** One attempt: resolves when the receiver took the event, rejects otherwise; gives up when `signal` aborts. */
export type Deliver<T> = (item: T, signal: AbortSignal) => Promise<void>;

export type DropReason = 'full' | 'retries' | 'closed';

export interface QueueWatch {
  /** An attempt failed; `retry` says whether another follows. */
  onFailure?(error: string, retry: boolean): void;
  onDrop?(reason: DropReason): void;
}

interface Job<T> {
  readonly item: T;
  attempt: number;
  timer?: unknown;
}

export class DeliveryQueue<T> {
  private readonly o: QueueOptions;
  private ready: Job<T>[] = [];
  private head = 0;
  private readonly waiting = new Set<Job<T>>();
  /** In-flight jobs and how to end each now (a timeout, the end of close's grace). */
  private readonly inFlight = new Map<Job<T>, (why: string) => void>();
  private pumpQueued = false;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private deliveredCount = 0;
  private droppedCount = 0;

  constructor(private readonly deliver: Deliver<T>, options: Partial<QueueOptions> = {}, private readonly watch: QueueWatch = {}) {
    this.o = { ...DEFAULT_QUEUE, ...options };
  }

  get delivered(): number { return this.deliveredCount; }
  get dropped(): number { return this.droppedCount; }
  /** Events held: queued, waiting for a retry, or in flight. */
  get held(): number { return this.ready.length - this.head + this.waiting.size + this.inFlight.size; }

  /** Takes an event for delivery, or counts it as dropped. Never throws; the work starts after the caller returns. */
  push(item: T): void {
    try {
      if (this.closing !== undefined) { this.drop('closed'); return; }
      if (this.held >= this.o.capacity) { this.drop('full'); return; }
      this.enqueue({ item, attempt: 0 });
    } catch {
      this.droppedCount++;
    }
  }

  /** Stops taking events and retrying; waits at most `graceMs` for what is held, then drops the rest. */
  close(graceMs: number): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    for (const job of this.waiting) { this.o.timers.clear(job.timer); this.ready.push(job); }
    this.waiting.clear();
    this.closing = new Promise((resolve) => {
      const grace = this.o.timers.set(() => {
        this.drained = undefined;
        const left = this.ready.length - this.head;
        this.ready = [];
        this.head = 0;
        for (let i = 0; i < left; i++) this.drop('closed');
        for (const end of [...this.inFlight.values()]) end('shutting down');
        resolve();
      }, graceMs);
      this.drained = () => { this.o.timers.clear(grace); resolve(); };
    });
    this.pump();
    this.checkDrained();
    return this.closing;
  }

  private enqueue(job: Job<T>): void {
    this.ready.push(job);
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => { this.pumpQueued = false; this.pump(); });
  }

  private pump(): void {
    while (this.inFlight.size < this.o.concurrency && this.head < this.ready.length) {
      const job = this.ready[this.head++]!;
      if (this.head > 64 && this.head * 2 > this.ready.length) { this.ready = this.ready.slice(this.head); this.head = 0; }
      this.start(job);
    }
  }

  private start(job: Job<T>): void {
    job.attempt++;
    const ac = new AbortController();
    let done = false;
    const end = (error?: string) => {
      if (done) return;
      done = true;
      this.o.timers.clear(timer);
      this.inFlight.delete(job);
      if (error === undefined) this.deliveredCount++;
      else { ac.abort(); this.failed(job, error); }
      this.pump();
      this.checkDrained();
    };
    const timer = this.o.timers.set(() => end(`timed out after ${this.o.timeoutMs} ms`), this.o.timeoutMs);
    this.inFlight.set(job, end);
    let attempt: Promise<void>;
    try { attempt = this.deliver(job.item, ac.signal); } catch (e) { attempt = Promise.reject(e); }
    attempt.then(() => end(), (e: unknown) => end(e instanceof Error ? e.message : String(e)));
  }

  private failed(job: Job<T>, error: string): void {
    const retry = this.closing === undefined && job.attempt < this.o.attempts;
    if (!retry) this.droppedCount++; // counted before it is told, so a log line has the new total
    this.tell(() => this.watch.onFailure?.(error, retry));
    if (!retry) { this.tell(() => this.watch.onDrop?.(this.closing === undefined ? 'retries' : 'closed')); return; }
    this.waiting.add(job);
    job.timer = this.o.timers.set(() => { this.waiting.delete(job); this.enqueue(job); }, this.o.backoffMs * 2 ** (job.attempt - 1));
  }

  private drop(reason: DropReason): void {
    this.droppedCount++;
    this.tell(() => this.watch.onDrop?.(reason));
  }

  private tell(fn: () => void): void {
    try { fn(); } catch { /* a watcher's error is not the queue's */ }
  }

  private checkDrained(): void {
    if (this.drained !== undefined && this.held === 0) { const d = this.drained; this.drained = undefined; d(); }
  }
}
