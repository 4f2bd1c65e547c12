// The engine's 'event' effects (lib/events/types.ts): grants, knock stages, SPA refusals and bans,
// for the metrics and the event sinks. None at all unless the shell asked (EngineOptions.events):
// without Metrics_Listen or Event_*, a flood costs no object per packet for them.

import type { Door } from '../config/types.js';
import type { GrantKind, SesameEvent } from '../events/types.js';
import { formatProtoPort, type ProtoPort } from '../net/protocol.js';
import type { Effect } from './effects.js';
import type { Grant } from '../firewall/commands.js';
import type { EngineState } from './state.js';

/** Pushes `event` (built only when events are on) onto `out`. */
export function emit(s: EngineState, out: Effect[], event: () => SesameEvent): void {
  if (s.opts.events) out.push({ kind: 'event', event: event() });
}

/**
 * A grant's event: the ports its firewall grant holds (`tcp/2222 -> 10.0.0.5:22` for NAT), else
 * those `asked` (an SPA door whose commands open them), none for a knock door without Open.
 */
export function grantEvent(kind: GrantKind, door: Door, address: string, seconds: number, grant: Effect | undefined,
  asked: readonly ProtoPort[] = []): SesameEvent {
  const to = (n: NonNullable<Grant['nat']>) => ` -> ${n.kind === 'local' ? `local port ${n.port}` : `${n.address}:${n.port}`}`;
  const ports = grant?.kind === 'grant'
    ? grant.grants.map((g) => formatProtoPort(g) + (g.nat ? to(g.nat) : ''))
    : asked.map((p) => formatProtoPort(p));
  return { type: 'grant', door: door.name, kind, address, ports, seconds: Math.max(1, seconds) };
}
