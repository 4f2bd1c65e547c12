// Matcher events as knockd's log lines: the one place that maps them (the daemon and the tests
// both use it). Events without a line of their own (reset, flag mismatch, eviction) give none.

import { logMsg } from '../log/messages.js';
import type { MatchEvent } from '../matcher/types.js';

/** knockd's line for an event, with `who` as the knocker (`ip` or `ip (name)`). */
export function knockLine(e: MatchEvent, who: string): string | undefined {
  switch (e.type) {
    case 'stage': return logMsg.stage(who, e.door.name, e.stage);
    case 'open': return logMsg.openSesame(who, e.door.name);
    case 'timeout': return logMsg.sequenceTimeout(who, e.door.name, e.stage);
    default: return undefined;
  }
}
