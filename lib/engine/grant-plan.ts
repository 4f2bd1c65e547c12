// What a grant puts in the kernel, decided once, here: the door's Open ports (those asked for
// among them, for SPA), or the NAT route, each with its timeout. The shell (DoorFirewall) only
// applies, restores and logs what the effect carries; a door with nothing to guard gets no effect.

import type { Door, KnockStep } from '../config/types.js';
import type { Grant } from '../firewall/commands.js';
import type { NatTarget } from '../firewall/nat-commands.js';
import type { NatGrant } from '../matcher/spa-nat.js';
import { formatProtoPort } from '../net/protocol.js';
import type { Effect } from './effects.js';

export interface GrantAsk {
  readonly knocker: string;
  readonly door: Door;
  readonly ip: string;
  readonly timeout: number;
  /** SPA: the ports asked for (only those among the door's Open ports are granted). */
  readonly ports?: readonly KnockStep[];
  readonly nat?: NatGrant;
}

/** The 'grant' effect for `a`, or undefined when the kernel has nothing to hold for it. */
export function grantEffect(a: GrantAsk): Extract<Effect, { kind: 'grant' }> | undefined {
  const seconds = Math.max(1, a.timeout);
  if (a.nat) {
    const to: NatTarget = {
      kind: a.nat.kind, address: a.nat.address, port: a.nat.port,
      ...(a.nat.kind === 'forward' && a.door.spa?.nat?.snat ? { snat: a.door.spa.nat.snat } : {}),
    };
    const where = a.nat.kind === 'local' ? `local port ${a.nat.port}` : `${a.nat.address}:${a.nat.port}`;
    const grant: Grant = { address: a.ip, protocol: a.nat.external.protocol, port: a.nat.external.port, timeout: seconds, nat: to };
    return { kind: 'grant', knocker: a.knocker, door: a.door, grants: [grant],
      done: `forwarded ${a.ip} ${formatProtoPort(a.nat.external)} to ${where} for ${seconds}s` };
  }
  const open = a.door.open ?? [];
  const ports = a.ports ? a.ports.filter((r) => open.some((o) => o.protocol === r.protocol && o.port === r.port)) : open;
  if (ports.length === 0) return undefined;
  const grants = ports.map((q): Grant => ({ address: a.ip, protocol: q.protocol, port: q.port, timeout: seconds }));
  const done = `granted ${a.ip} ${ports.map(formatProtoPort).join(',')} for ${seconds}s`;
  return { kind: 'grant', knocker: a.knocker, door: a.door, grants, done };
}

/** The effect as a list: none when there is nothing to grant. */
export const grants = (e: Effect | undefined): Effect[] => (e ? [e] : []);
