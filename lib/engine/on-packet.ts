// Knock inputs: a captured packet (libpcap matching, or an SPA datagram), a kernel matching event,
// the kernel's count of events it kept back, and the timer for knock timeouts.

import type { Packet } from '../matcher/types.js';
import type { KernelEvent } from '../ruleset/events.js';
import type { Effect } from './effects.js';
import { matchEffects } from './match-events.js';
import { onSpa } from './on-spa.js';
import type { EngineState } from './state.js';

/** One captured packet, at its arrival time (`at`, monotonic ms; `wall`, epoch ms). */
export function onPacket(s: EngineState, p: Packet, at: number, wall: number): Effect[] {
  s.wall = wall;
  if (!s.accepts(p.family)) return [];
  const out: Effect[] = s.debug ? [{ kind: 'debug', line: `${p.protocol}: ${p.src} -> ${p.dst}:${p.dport}` }] : [];
  if (p.protocol === 'udp' && s.gate.ports.has(p.dport)) onSpa(s, p, 'udp', wall, out);
  else if (p.protocol === 'tcp' && p.payload !== undefined && p.dport === s.gate.httpPort) {
    const request = s.http!.push({ src: p.src, sport: p.sport ?? 0, dst: p.dst, dport: p.dport, payload: p.payload, seq: p.seq ?? 0 }, at);
    if (request !== undefined) onSpa(s, { ...p, payload: request }, 'http', wall, out);
  }
  // Under kernel matching only SPA datagrams arrive as packets; nftables matched the knocks.
  if (s.matching !== 'pcap') return out;
  // A banned source's knocks are not tracked at all: they can neither open nor use up a code.
  if (s.bans.size > 0 && s.bans.banned(p.src, wall)) return out;
  const events = s.matcher.handle(p, at);
  matchEffects(s, events, out);
  for (const i of s.shared?.record(p, p.seenAt ?? wall, s.localSet) ?? []) {
    // The last port, but no local open: the rest of the sequence may have reached other nodes.
    if (!events.some((e) => e.type === 'open' && e.doorIndex === i)) {
      out.push({ kind: 'ask', door: s.config.doors[i]!.name, src: p.src, family: p.family });
    }
  }
  return out;
}

/**
 * A kernel matching event (NFLOG) with the packet that caused it. Events of a door version that is
 * no longer installed (a one-time door moved on meanwhile) are stale and ignored.
 */
export function onKernelEvent(s: EngineState, e: KernelEvent, p: Packet, at: number, wall: number): Effect[] {
  s.wall = wall;
  if (!s.accepts(p.family)) return [];
  if (e.kind === 'spa') return onPacket(s, p, at, wall);
  const d = e.door;
  if (!d || s.versions[d.index] !== d.version || !s.matcher.isEnabled(d.index)) return [];
  if (s.bans.size > 0 && s.bans.banned(p.src, wall)) return [];
  const out: Effect[] = s.debug
    ? [{ kind: 'debug', line: `kernel: ${e.kind} ${e.stage}: ${p.protocol}: ${p.src} -> ${p.dst}:${p.dport}` }]
    : [];
  matchEffects(s, s.kernelAttempts.handle({ kind: e.kind, doorIndex: d.index, stage: e.stage, src: p.src, family: p.family }, at), out);
  return out;
}

/** Timeouts due at `at` (the shell's timer, at nextDeadline()). */
export function onTick(s: EngineState, at: number, wall: number): Effect[] {
  s.wall = wall;
  const out: Effect[] = [];
  matchEffects(s, s.matcher.expire(at), out);
  matchEffects(s, s.kernelAttempts.expire(at), out);
  return out;
}
