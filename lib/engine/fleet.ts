// What a grant made by another fleet node means here: the same door (by name) granted to the same
// address for the time that is left, with this node's own commands and firewall. A note that asks
// for more than this node's door allows (a port, a NAT target, a door it does not have) is
// refused: Redis is not trusted further than a packet.

import { grantEffect, grants } from './grant-plan.js';
import type { Config, Door } from '../config/types.js';
import type { GrantNote } from '../fleet/notes.js';
import { natAllowed } from '../matcher/spa-nat.js';
import { formatProtoPort } from '../net/protocol.js';
import type { Effect } from './effects.js';

export type FleetDecision = { readonly door: Door } | { readonly refusal: string };

/** This node's door for a note, or why the note is refused. */
export function fleetDoor(config: Config, note: GrantNote): FleetDecision {
  const door = config.doors.find((d) => d.name === note.door);
  if (!door) return { refusal: `no door named "${note.door}" here` };
  if (note.kind === 'knock') {
    if (door.sequence.length === 0 && !door.totp) return { refusal: 'a knock grant for a door without a sequence' };
    if (note.timeout > Math.max(1, door.cmdTimeout)) {
      return { refusal: `timeout ${note.timeout}s is longer than this door's ${door.cmdTimeout}s` };
    }
    return { door };
  }
  const spa = door.spa;
  if (!spa) return { refusal: 'an SPA grant for a door without SPA' };
  if (note.timeout > Math.max(spa.maxTimeout, door.cmdTimeout)) {
    return { refusal: `timeout ${note.timeout}s is longer than this door allows` };
  }
  if (note.nat) {
    if (!natAllowed(spa, note.nat)) return { refusal: 'NAT target not allowed by this door' };
    return { door };
  }
  const bad = (note.ports ?? []).find((p) => !spa.openPorts.some((o) => o.protocol === p.protocol && o.port === p.port));
  if (bad) return { refusal: `${formatProtoPort(bad)} is not in this door's SPA_Open_Ports` };
  return { door };
}

/** The effects of a fleet grant accepted for `door`, lasting `seconds` more. */
export function fleetGrantEffects(note: GrantNote, door: Door, seconds: number, who: string): Effect[] {
  const ports = note.ports?.map(formatProtoPort).join(',');
  const out: Effect[] = [
    { kind: 'log', line: `${who}: ${door.name}: granted by fleet node ${note.node}${ports ? ` (${ports})` : ''} for ${seconds}s` },
  ];
  const base = { door, ip: note.ip, family: note.family, knocker: who };
  if (note.kind === 'knock') {
    out.push({ kind: 'run', request: { ...base, timeout: seconds } });
    out.push(...grants(grantEffect({ knocker: who, door, ip: note.ip, timeout: seconds })));
    return out;
  }
  const nat = note.nat;
  out.push(...grants(grantEffect({ knocker: who, door, ip: note.ip, timeout: seconds, ...(note.ports ? { ports: note.ports } : {}),
    ...(nat ? { nat } : {}) })));
  for (const p of note.ports ?? []) {
    const spa = { protocol: p.protocol, port: p.port, timeout: seconds, ...(nat ? { nat: { address: nat.address, port: nat.port } } : {}) };
    out.push({ kind: 'run', request: { ...base, spa } });
  }
  return out;
}
