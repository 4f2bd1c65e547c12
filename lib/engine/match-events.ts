// The matcher's events as effects: stage and timeout lines (throttled), and an opened door's log
// line, start command, grant, fleet share or claim, and one-time rotation.

import { grantEffect, grants } from './grant-plan.js';
import type { MatchEvent } from '../matcher/types.js';
import type { Effect } from './effects.js';
import { knockLine } from './lines.js';
import { acceptTotp, failure } from './on-totp.js';
import type { EngineState } from './state.js';
import { emit, grantEvent } from './event-effects.js';

export function matchEffects(s: EngineState, events: readonly MatchEvent[], out: Effect[]): void {
  for (const e of events) {
    switch (e.type) {
      case 'stage':
      case 'timeout':
        // Formatted (and the name looked up) only if the throttle lets the line through.
        s.knockLog.line(() => knockLine(e, s.deps.display(e.src))!, (line) => out.push({ kind: 'log', line }));
        if (e.type === 'stage') emit(s, out, () => ({ type: 'stage', door: e.door.name, stage: e.stage }));
        break;
      case 'open': {
        const who = s.deps.display(e.src);
        const digest = e.door.totp ? acceptTotp(s, e, who, out) : undefined;
        if (e.door.totp && digest === undefined) break;
        const grant = grantEffect({ knocker: who, door: e.door, ip: e.src, timeout: e.door.cmdTimeout });
        const granted: Effect[] = [
          { kind: 'log', line: knockLine(e, who)! },
          { kind: 'run', request: { door: e.door, ip: e.src, family: e.family, knocker: who } },
          ...grants(grant),
        ];
        emit(s, granted, () => grantEvent(e.door.totp ? 'totp' : 'knock', e.door, e.src, e.door.cmdTimeout, grant));
        if (s.opts.fleet) {
          granted.push({
            kind: 'share',
            grant: {
              kind: 'knock', door: e.door.name, ip: e.src, family: e.family, timeout: Math.max(1, e.door.cmdTimeout),
              ...(digest ? { digest } : {}),
            },
          });
        }
        const line = s.oneTimeLines.get(e.doorIndex);
        const used = s.matcher.sequenceOf(e.doorIndex);
        if (e.door.oneTime && line !== undefined && s.opts.fleet) {
          // Used once across the fleet; the file moves on here either way (the sequence is spent).
          out.push({
            kind: 'claim', claim: { type: 'onetime', door: e.door.name, sequence: used }, granted,
            refused: [{ kind: 'log', line: `${who}: ${e.door.name}: one-time sequence already used on another fleet node` }],
          });
        } else if (digest !== undefined && s.opts.fleet) {
          // A code is used once across the fleet: claimed as an SPA packet's digest is.
          out.push({
            kind: 'claim', claim: { type: 'replay', digest, ttlMs: s.replay.windowMs }, granted,
            refused: [{ kind: 'log', line: `${who}: ${e.door.name}: TOTP code refused: code already used on another fleet node` }],
          });
        } else out.push(...granted);
        if (e.door.oneTime && line !== undefined) out.push({ kind: 'rotate', doorIndex: e.doorIndex, door: e.door, line, used });
        break;
      }
      case 'reset':
        if (s.debug) out.push({ kind: 'debug', line: `removing failed knock attempt (${e.src})` });
        failure(s, e.src, e.doorIndex, out);
        break;
      case 'flags-ignored':
        if (s.debug) out.push({ kind: 'debug', line: `packet does not match the tcpflags of ${e.door.name}, ignoring...` });
        break;
      case 'evicted':
        // One line per doubling, so a flood cannot flood the log too.
        if (s.evictionsLog.due(s.matcher.evictions)) {
          out.push({ kind: 'log', line: `attempt table full: ${s.matcher.evictions} oldest attempts evicted so far` });
        }
        break;
    }
  }
}
