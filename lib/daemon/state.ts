// The state directory, the pending-stop journal and the SPA replay cache in it. Writes are coalesced to one per event
// loop turn; a state directory that cannot be made is a warning, not a reason to stay down.

import { accessSync, constants, existsSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readJournal, writeJournal } from '../actions/journal.js';
import type { PendingStop } from '../actions/runner.js';
import { readJsonState, writeJsonState } from '../fs/json-state.js';
import type { ReplayEntry } from '../spa/replay.js';

export class StateStore {
  readonly journalPath: string;
  private pending: readonly PendingStop[] | undefined;
  private scheduled = false;
  private usable: boolean;

  constructor(readonly dir: string, private readonly warn: (m: string) => void) {
    this.journalPath = join(dir, 'pending-stops.json');
    try {
      if (lstatSync(dir).isSymbolicLink()) warn(`warning: state directory ${dir} is a symbolic link to ${realpathSync(dir)}`);
    } catch { /* missing, or a dangling link: mkdir says why */ }
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.usable = true;
    } catch (err) {
      this.usable = false;
      warn(`warning: state directory ${dir}: ${whyNoDir(dir, err)}; pending stop commands will not survive a crash`);
    }
  }

  load(): PendingStop[] {
    if (!this.usable) return [];
    const r = readJournal(this.journalPath);
    for (const p of r.problems) this.warn(`warning: ${p}`);
    return r.stops;
  }

  save(stops: readonly PendingStop[]): void {
    this.pending = stops;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes now (also at shutdown). */
  flush(): void {
    this.scheduled = false;
    if (!this.usable || this.pending === undefined) return;
    try {
      writeJournal(this.journalPath, this.pending);
    } catch (err) {
      this.warn(`warning: cannot write ${this.journalPath}: ${(err as Error).message}`);
    }
    this.pending = undefined;
  }
}

/** Why a directory could not be made, named at the closest existing ancestor (mkdir's own ENOENT misleads). */
function whyNoDir(dir: string, err: unknown): string {
  let parent = dirname(dir);
  while (parent !== dirname(parent) && !existsSync(parent)) parent = dirname(parent);
  try {
    accessSync(parent, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return `cannot be made: ${parent} is on a read-only file system`;
    if (code === 'EACCES') return `cannot be made: ${parent} is not writable`;
  }
  return (err as Error).message;
}

/** The SPA replay cache's authenticated digests, kept across restarts (spa-replay.json). */
export class ReplayStore {
  readonly path: string;

  constructor(dir: string, private readonly warn: (m: string) => void) {
    this.path = join(dir, 'spa-replay.json');
  }

  load(): unknown[] {
    const { items, problems } = readJsonState(this.path, 'entries', 'replay cache');
    for (const p of problems) this.warn(`warning: ${p}`);
    return items;
  }

  /**
   * Written before the grant is acted on, so a replay after a crash is still refused. False when
   * the file could not be written (the old one stays whole): the caller must not grant.
   */
  save(entries: readonly ReplayEntry[]): boolean {
    try {
      writeJsonState(this.path, 'entries', entries);
      return true;
    } catch (err) {
      this.warn(`warning: cannot write ${this.path}: ${(err as Error).message}`);
      return false;
    }
  }
}
