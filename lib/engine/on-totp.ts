// TOTP doors and bans in the engine: a completed TOTP knock's code judged (used codes go in the
// replay cache, written before anything opens), and failures (resets, refused codes) counted
// towards a ban, which is logged once and handed to the shell to keep.

import { judgeTotp } from '../matcher/totp-judge.js';
import type { MatchEvent } from '../matcher/types.js';
import type { Effect } from './effects.js';
import type { EngineState } from './state.js';
import { emit } from './event-effects.js';

type Open = Extract<MatchEvent, { type: 'open' }>;

/** The digest of the accepted code of a TOTP door's open, or undefined when the code is refused (logged, and a failure). */
export function acceptTotp(s: EngineState, e: Open, who: string, out: Effect[]): string | undefined {
  if (e.door.bans && s.bans.saturated(s.wall)) {
    // Failures cannot be counted: a guesser would hide among the flood. Closed until room frees up.
    const line = `${who}: ${e.door.name}: TOTP code refused: ban table full`;
    s.knockLog.line(line, (text) => out.push({ kind: 'log', line: text }));
    return undefined;
  }
  const v = judgeTotp(e.door, e.code ?? '', s.wall, s.replay);
  const refuse = (reason: string) =>
    s.knockLog.line(() => `${who}: ${e.door.name}: TOTP code refused: ${reason}`, (line) => out.push({ kind: 'log', line }));
  if (!v.ok) {
    refuse(v.reason);
    failure(s, e.src, e.doorIndex, out);
    return undefined;
  }
  s.replay.keep(v.digest, e.src, s.wall);
  if (s.deps.persistReplay(s.replay.kept())) return v.digest;
  // Not written, so nothing opens; the code is not the knocker's fault, and stays theirs to try again.
  s.replay.forget(v.digest);
  refuse('used-code record not written (disk full?)');
  return undefined;
}

/** A failure of `src` at a door: counted, and a ban once it reaches the door's Max_Failures. */
export function failure(s: EngineState, src: string, doorIndex: number, out: Effect[]): void {
  const door = s.config.doors[doorIndex];
  if (!door?.bans) return;
  const ban = s.bans.fail(src, door, s.wall);
  // A flood of failures from made-up sources filled the ban table: say so, once per doubling.
  if (s.bans.lost > 0 && s.banLostLog.due(s.bans.lost)) {
    out.push({ kind: 'log', line: `ban table full: ${s.bans.lost} bans could not be made so far ` +
      '(a flood of failing sources?); TOTP doors refuse every code until there is room again' });
  }
  if (!ban) return;
  const { banTime, failureWindow } = door.bans;
  const prefix = ban.src === src ? '' : ` (${ban.src})`;
  // Rate-limited: a spoofed flood can make a ban of every address it makes up.
  const why = `for ${banTime}s after ${ban.failures} failures in ${failureWindow}s`;
  const line = () => `${s.deps.display(src)}: ${door.name}: banned${prefix} ${why}`;
  s.banLog.line(line, (text) => out.push({ kind: 'log', line: text }));
  out.push({ kind: 'ban', ban });
  emit(s, out, () => ({ type: 'ban', door: door.name, address: ban.src, seconds: banTime, failures: ban.failures }));
}
