// TOTP doors and bans in the engine: a completed TOTP knock's code judged (used codes go in the
// replay cache, written before anything opens), and failures (resets, refused codes) counted
// towards a ban, which is logged once and handed to the shell to keep.

import { judgeTotp } from '../matcher/totp-judge.js';
import type { MatchEvent } from '../matcher/types.js';
import type { Effect } from './effects.js';
import type { EngineState } from './state.js';

type Open = Extract<MatchEvent, { type: 'open' }>;

/** The digest of the accepted code of a TOTP door's open, or undefined when the code is refused (logged, and a failure). */
export function acceptTotp(s: EngineState, e: Open, who: string, out: Effect[]): string | undefined {
  const v = judgeTotp(e.door, e.code ?? '', s.wall, s.replay);
  let reason = v.ok ? undefined : v.reason;
  if (v.ok) {
    s.replay.keep(v.digest, e.src, s.wall);
    if (s.deps.persistReplay(s.replay.kept())) return v.digest;
    reason = 'used-code record not written (disk full?)';
  }
  s.knockLog.line(() => `${who}: ${e.door.name}: TOTP code refused: ${reason}`, (line) => out.push({ kind: 'log', line }));
  failure(s, e.src, e.doorIndex, out);
  return undefined;
}

/** A failure of `src` at a door: counted, and a ban once it reaches the door's Max_Failures. */
export function failure(s: EngineState, src: string, doorIndex: number, out: Effect[]): void {
  const door = s.config.doors[doorIndex];
  if (!door?.bans) return;
  const ban = s.bans.fail(src, doorIndex, door, s.wall);
  // A flood of failures from made-up sources pushes the oldest records out: say so, once per doubling.
  if (s.bans.evicted > 0 && s.banEvictionsLog.due(s.bans.evicted)) {
    out.push({ kind: 'log', line: `failure records full: ${s.bans.evicted} oldest dropped so far (a flood of failed knocks?)` });
  }
  if (!ban) return;
  const { banTime, failureWindow } = door.bans;
  const prefix = ban.src === src ? '' : ` (${ban.src})`;
  const line = `${s.deps.display(src)}: ${door.name}: banned${prefix} for ${banTime}s after ${ban.failures} failures in ${failureWindow}s`;
  out.push({ kind: 'log', line });
  out.push({ kind: 'bans', bans: s.bans.list(s.wall) });
}
