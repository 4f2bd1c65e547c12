// Inputs from the fleet: another node's grant (this node's door of that name, within what it
// allows; an SPA grant's digest kept in the local replay cache either way), another node's use of
// a one-time sequence, and other nodes' hits answering a shared-knock ask.

import type { GrantNote, OneTimeNote } from '../fleet/notes.js';
import type { Hit } from '../matcher/shared-knocks.js';
import type { Effect } from './effects.js';
import { fleetDoor, fleetGrantEffects } from './fleet.js';
import { matchEffects } from './match-events.js';
import type { EngineState } from './state.js';
import { emit, grantEvent } from './event-effects.js';

export function onFleetGrant(s: EngineState, note: GrantNote, seconds: number, wall: number): Effect[] {
  s.wall = wall;
  // The packet's digest is kept here too, whatever this door decides: a replay of it to this node
  // is refused by the local cache, even if the claim in Redis is gone.
  if (note.digest !== undefined && s.replay.keep(note.digest, `fleet node ${note.node}`, wall)) s.deps.persistReplay(s.replay.kept());
  const who = s.deps.display(note.ip);
  const decided = fleetDoor(s.config, note);
  if ('refusal' in decided) {
    const out: Effect[] = [];
    s.fleetLog.line(`fleet: grant from node ${note.node} for ${note.ip} refused: ${decided.refusal}`,
      (line) => out.push({ kind: 'log', line }));
    return out;
  }
  if (!s.matcher.isEnabled(s.config.doors.indexOf(decided.door))) return [];
  const left = Math.max(1, Math.min(seconds, note.timeout));
  const out = fleetGrantEffects(note, decided.door, left, who);
  emit(s, out, () => grantEvent('fleet', decided.door, note.ip, left, out.find((e) => e.kind === 'grant')));
  return out;
}

/** Another node used a one-time sequence: if it is this door's current one, move on (nothing opens). */
export function onFleetOneTime(s: EngineState, note: OneTimeNote, wall: number): Effect[] {
  s.wall = wall;
  const index = s.config.doors.findIndex((d) => d.name === note.door && d.oneTime);
  const line = s.oneTimeLines.get(index);
  if (index < 0 || line === undefined || !s.matcher.isEnabled(index)) return [];
  const current = s.matcher.sequenceOf(index);
  const same = current.length === note.sequence.length &&
    current.every((x, i) => x.protocol === note.sequence[i]!.protocol && x.port === note.sequence[i]!.port);
  if (!same) return [{ kind: 'debug', line: `fleet: ${note.door}: node ${note.node} used a sequence that is not current here` }];
  const door = s.config.doors[index]!;
  return [
    { kind: 'log', line: `${door.name}: one-time sequence used on fleet node ${note.node}` },
    { kind: 'rotate', doorIndex: index, door, line, used: current },
  ];
}

/**
 * Fleet_Shared_Knocks: other nodes' hits of `src` for an ask of this node. If they and this node's
 * own complete the sequence, the door opens here as for a local knock.
 */
export function onFleetAnswered(s: EngineState, door: string, src: string, family: 4 | 6, others: readonly Hit[], nodes: readonly string[],
  wall: number): Effect[] {
  s.wall = wall;
  const index = s.doorIndex.get(door) ?? -1;
  const d = s.config.doors[index];
  if (!d || !s.shared?.isShared(index) || !s.matcher.isEnabled(index) || !s.shared.completes(index, src, others, wall)) return [];
  const line = `${s.deps.display(src)}: ${door}: sequence completed with knocks seen by fleet node${nodes.length === 1 ? '' : 's'} ` +
    `${nodes.join(', ')}`;
  const out: Effect[] = [{ kind: 'log', line }];
  matchEffects(s, [{ type: 'open', src, family, doorIndex: index, door: d }], out);
  return out;
}

/** Fleet_Shared_Knocks: this node's hits of `src` on door `door` (another node asks). */
export function fleetHitsOf(s: EngineState, door: string, src: string, wall: number): Hit[] {
  const index = s.doorIndex.get(door);
  return index !== undefined && s.shared?.isShared(index) ? s.shared.hitsOf(index, src, wall) : [];
}
