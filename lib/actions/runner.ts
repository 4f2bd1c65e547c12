// The command runner: runs a door's start command when it opens and its stop command Cmd_Timeout
// seconds after the start command finished (knockd's child sleeps after system() returns). The
// stop is a timer in the daemon, not a sleeping child, so the runner knows every pending stop: it
// can run them all at shutdown and hand them to a journal that survives a crash.

import type { Door } from '../config/types.js';
import { logMsg, type LogSink } from '../log/messages.js';
import { commandsFor, substitute, tooLong, type SpaVars } from './commands.js';
import { runShell, type ShellRunner } from './shell.js';

export interface PendingStop {
  readonly door: string;
  /** What the log shows for the knocker: `ip` or `ip (name)`. */
  readonly knocker: string;
  /** The stop command with %IP% already substituted ('' = log the timeout, run nothing). */
  readonly command: string;
  /**
   * Wall-clock time (ms since the epoch) at which it is due: for the journal, which must survive
   * a restart. Timers run on the monotonic clock, so a wall-clock step (NTP, `date -s`) neither
   * delays nor hastens a stop.
   */
  readonly dueAt: number;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface RunnerOptions {
  readonly log: LogSink;
  readonly shell?: ShellRunner;
  /** Wall clock in ms (journal times). */
  readonly now?: () => number;
  /** Monotonic clock in ms (when stops are due). Default: performance.now, or `now` when given. */
  readonly mono?: () => number;
  readonly timers?: Timers;
  /** Called after every change of the pending list, e.g. to journal it. */
  readonly onPendingChange?: (pending: readonly PendingStop[]) => void;
  /** Shells running at once (default 32); the rest wait their turn. */
  readonly maxParallel?: number;
  /** Told how each command ended (the metrics' sesame_commands_total). */
  readonly onDone?: (door: string, phase: 'start' | 'stop', ok: boolean) => void;
}

export const DEFAULT_MAX_PARALLEL = 32;

export interface OpenRequest {
  readonly door: Door;
  /** Numeric source address: the only thing %IP% becomes. */
  readonly ip: string;
  readonly family: 4 | 6;
  readonly knocker?: string;
  /** An SPA grant: one requested proto/port; its timeout replaces Cmd_Timeout. */
  readonly spa?: SpaVars;
  /** Seconds left of a grant another fleet node made: replaces Cmd_Timeout of a knock door. */
  readonly timeout?: number;
}

export const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's limit; longer waits are chained

const realTimers: Timers = {
  set: (fn, ms) => { const t = setTimeout(fn, ms); t.unref?.(); return t; },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface Entry {
  stop: PendingStop;
  /** When it is due on the monotonic clock. */
  due: number;
  /** False while the start command still runs: the countdown starts when it ends. */
  armed: boolean;
  timer: unknown;
  running: boolean;
}

export class CommandRunner {
  private readonly log: LogSink;
  private readonly shell: ShellRunner;
  private readonly now: () => number;
  private readonly mono: () => number;
  private readonly timers: Timers;
  private readonly onChange: ((p: readonly PendingStop[]) => void) | undefined;
  private readonly onDone: RunnerOptions['onDone'];
  private readonly entries = new Set<Entry>();
  private readonly maxParallel: number;
  private running = 0;
  private readonly waitingForSlot: Array<() => void> = [];
  private readonly children = new Set<Promise<unknown>>();

  constructor(opts: RunnerOptions) {
    this.log = opts.log;
    this.shell = opts.shell ?? runShell;
    this.now = opts.now ?? Date.now;
    this.mono = opts.mono ?? opts.now ?? (() => performance.now());
    this.timers = opts.timers ?? realTimers;
    this.onChange = opts.onPendingChange;
    this.onDone = opts.onDone;
    this.maxParallel = opts.maxParallel ?? DEFAULT_MAX_PARALLEL;
  }

  /** A door opened for `ip`: run its start command and schedule its stop command. */
  open(req: OpenRequest): void {
    const { start, stop } = commandsFor(req.door, req.family);
    if (start === undefined || start === '') return; // knockd forks nothing without a start command
    const startCmd = substitute(start, req.ip, req.spa);
    const stopCmd = stop === undefined ? undefined : substitute(stop, req.ip, req.spa);
    if (tooLong(startCmd)) { this.log.log(logMsg.startTruncated()); return; }
    if (stopCmd !== undefined && tooLong(stopCmd)) { this.log.log(logMsg.stopTruncated()); return; }

    const cmdTimeoutMs = (req.spa ? req.spa.timeout : req.timeout ?? req.door.cmdTimeout) * 1000;
    let entry: Entry | undefined;
    if (stopCmd !== undefined) {
      // Journalled before the start command runs, so a crash in between still closes the door.
      entry = {
        stop: { door: req.door.name, knocker: req.knocker ?? req.ip, command: stopCmd, dueAt: this.now() + cmdTimeoutMs },
        due: this.mono() + cmdTimeoutMs, armed: false, timer: undefined, running: false,
      };
      this.entries.add(entry);
      this.changed();
    }
    const done = this.run(req.door.name, startCmd, 'start').then(() => {
      if (!entry || !this.entries.has(entry) || entry.running) return;
      entry.stop = { ...entry.stop, dueAt: this.now() + cmdTimeoutMs };
      entry.due = this.mono() + cmdTimeoutMs;
      this.arm(entry);
      this.changed();
    });
    this.track(done);
  }

  /** Stop commands not yet run, soonest first. */
  pending(): PendingStop[] {
    return [...this.entries].map((e) => e.stop).sort((a, b) => a.dueAt - b.dueAt);
  }

  /** Takes over stops from a journal: the overdue ones run now, the rest on time. */
  restore(stops: readonly PendingStop[]): void {
    // The journal has wall times; here is the only moment they are compared with the wall clock.
    const wall = this.now();
    const mono = this.mono();
    for (const stop of stops) {
      const entry: Entry = { stop, due: mono + (stop.dueAt - wall), armed: false, timer: undefined, running: false };
      this.entries.add(entry);
      this.arm(entry);
    }
    this.changed();
  }

  /** Runs every pending stop command now (shutdown) and waits for all children to finish. */
  async flush(): Promise<void> {
    // Let start commands still running finish first: a stop must not overtake its start.
    await this.idle();
    for (const e of [...this.entries]) this.fire(e);
    await this.idle();
  }

  /** Resolves when no command started by this runner is still running. */
  async idle(): Promise<void> {
    while (this.children.size > 0) await Promise.allSettled([...this.children]);
  }

  /** Drops all timers without running anything (tests, or handing over to a journal). */
  dispose(): void {
    for (const e of this.entries) if (e.timer !== undefined) this.timers.clear(e.timer);
    this.entries.clear();
  }

  private arm(entry: Entry): void {
    entry.armed = true;
    const wait = entry.due - this.mono();
    if (wait <= 0) { this.fire(entry); return; }
    entry.timer = this.timers.set(() => {
      entry.timer = undefined;
      if (entry.due - this.mono() > 0) this.arm(entry); // chained long wait
      else this.fire(entry);
    }, Math.min(wait, MAX_TIMER_MS));
  }

  private fire(entry: Entry): void {
    if (entry.running || !this.entries.has(entry)) return;
    entry.running = true;
    if (entry.timer !== undefined) { this.timers.clear(entry.timer); entry.timer = undefined; }
    const { stop } = entry;
    this.log.log(logMsg.commandTimeout(stop.knocker, stop.door));
    const ran = stop.command === '' ? Promise.resolve() : this.run(stop.door, stop.command, 'stop');
    // Forget it only once it has run: after a crash mid-way it runs again rather than never.
    this.track(ran.then(() => { this.entries.delete(entry); this.changed(); }));
  }

  private async run(door: string, command: string, phase: 'start' | 'stop'): Promise<void> {
    await this.slot();
    this.log.log(logMsg.runningCommand(door, command));
    let r;
    try { r = await this.shell(command); } finally { this.freeSlot(); }
    if (r.error) this.log.log(logMsg.forkFailed(), { stderr: true });
    else if (r.code !== 0) this.log.log(logMsg.nonZero(door, r.code), { stderr: true });
    this.onDone?.(door, phase, !r.error && r.code === 0);
  }

  /**
   * At most `maxParallel` shells at once, first come first served: a journal with 5,000 overdue
   * stops (or a flood on a one-port door) must not start 5,000 shells at the same moment.
   */
  private slot(): Promise<void> {
    if (this.running < this.maxParallel) { this.running++; return Promise.resolve(); }
    return new Promise((resolve) => this.waitingForSlot.push(resolve));
  }

  private freeSlot(): void {
    const next = this.waitingForSlot.shift();
    if (next) next(); // the slot passes on
    else this.running--;
  }

  private track(p: Promise<unknown>): void {
    this.children.add(p);
    void p.finally(() => this.children.delete(p));
  }

  private changed(): void {
    this.onChange?.(this.pending());
  }
}
