// Inputs that change the doors themselves: the host's addresses (what counts as "to this host"),
// and a one-time door's file rewritten (its next sequence, or the door disabled). Both change what
// the capture filter and the kernel ruleset must match.

import { logMsg } from '../log/messages.js';
import type { RotateResult } from '../onetime/rotate.js';
import type { Effect } from './effects.js';
import type { EngineState } from './state.js';

export function onLocalAddresses(s: EngineState, addrs: readonly string[]): Effect[] {
  s.local = addrs;
  s.localSet = new Set(addrs);
  s.matcher.setLocalAddresses(addrs);
  s.gate.setLocalAddresses(addrs);
  return [{ kind: 'debug', line: `local addresses changed: ${addrs.join(' ')}` }, { kind: 'filter' }];
}

/** The result of a 'rotate' effect: the door's next sequence, or the door disabled. */
export function onOneTimeRotated(s: EngineState, doorIndex: number, r: RotateResult): Effect[] {
  const door = s.config.doors[doorIndex];
  if (!door) return [];
  const out: Effect[] = [];
  const log = (line: string) => out.push({ kind: 'log', line, stderr: true });
  s.versions[doorIndex]!++;
  s.kernelAttempts.dropDoor(doorIndex);
  if (r.kind === 'error') {
    log(r.message);
    log(logMsg.disableFailed(door.name));
    s.matcher.disable(doorIndex);
  } else {
    for (const x of r.skipped) log(x);
    if (r.kind === 'exhausted') {
      log(logMsg.noMoreSequences(door.name));
      s.matcher.disable(doorIndex);
      s.oneTimeLines.delete(doorIndex);
    } else {
      s.oneTimeLines.set(doorIndex, r.entry.line);
      s.matcher.setSequence(doorIndex, r.entry.steps);
    }
  }
  out.push({ kind: 'filter' });
  return out;
}
