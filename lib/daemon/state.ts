// The state directory and the pending-stop journal in it. Writes are coalesced to one per event
// loop turn; a state directory that cannot be made is a warning, not a reason to stay down.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal, writeJournal } from '../actions/journal.js';
import type { PendingStop } from '../actions/runner.js';

export class StateStore {
  readonly journalPath: string;
  private pending: readonly PendingStop[] | undefined;
  private scheduled = false;
  private usable: boolean;

  constructor(readonly dir: string, private readonly warn: (m: string) => void) {
    this.journalPath = join(dir, 'pending-stops.json');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.usable = true;
    } catch (err) {
      this.usable = false;
      warn(`warning: state directory ${dir}: ${(err as Error).message}; pending stop commands will not survive a crash`);
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
