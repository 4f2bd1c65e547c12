// Glue between an opened one-time door, its file and the matcher: after each use the next line
// becomes the door's sequence; when none is left, or the file cannot be rewritten, the door is
// disabled with knockd's log line and the daemon goes on.

import type { Door } from '../config/types.js';
import type { Matcher } from '../matcher/matcher.js';
import { logMsg, type LogSink } from '../log/messages.js';
import { rotateOneTime } from './rotate.js';

export class OneTimeDoors {
  private readonly lines = new Map<number, number>();

  constructor(private readonly doors: readonly Door[], private readonly log: LogSink) {
    doors.forEach((d, i) => { if (d.oneTime) this.lines.set(i, d.oneTime.line); });
  }

  /** Call after a door opened. Returns true when the door's sequence changed or it was disabled. */
  used(doorIndex: number, matcher: Matcher): boolean {
    const door = this.doors[doorIndex];
    const line = this.lines.get(doorIndex);
    if (!door?.oneTime || line === undefined) return false;
    const r = rotateOneTime(door.name, door.oneTime.path, line, matcher.sequenceOf(doorIndex));
    if (r.kind === 'error') {
      this.log.log(r.message, { stderr: true });
      this.log.log(logMsg.disableFailed(door.name), { stderr: true });
      matcher.disable(doorIndex);
      return true;
    }
    for (const s of r.skipped) this.log.log(s, { stderr: true });
    if (r.kind === 'exhausted') {
      this.log.log(logMsg.noMoreSequences(door.name), { stderr: true });
      matcher.disable(doorIndex);
      this.lines.delete(doorIndex);
      return true;
    }
    this.lines.set(doorIndex, r.entry.line);
    matcher.setSequence(doorIndex, r.entry.steps);
    return true;
  }
}
