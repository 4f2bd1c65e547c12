// An SPA datagram: the gate's verdict (HMAC, replay cache, decryption, policy) as effects. Alone, a
// granted packet opens at once; in a fleet its digest is claimed first, and the grant (with the
// digest, so every node's cache keeps it) is shared.

import { grantEffect, grants } from './grant-plan.js';
import { logMsg } from '../log/messages.js';
import type { NatGrant } from '../matcher/spa-nat.js';
import type { Packet } from '../matcher/types.js';
import { formatProtoPort } from '../net/protocol.js';
import type { Effect } from './effects.js';
import type { EngineState } from './state.js';
import type { GateResult } from '../matcher/spa-gate.js';
import { gpgVerdict, type GpgOutcome } from '../matcher/spa-gpg.js';
import type { SpaMessage } from './inputs.js';
import { emit, grantEvent } from './event-effects.js';
import { refusalReason } from './refusal-reason.js';

/** `10.0.0.5:3306`, or `local port 22` for local NAT. */
const natText = (n: NatGrant) => (n.kind === 'local' ? `local port ${n.port}` : `${n.address}:${n.port}`);

/** An SPA message that came `via` a UDP datagram, an HTTP request sniffed, or a connection to SPA_TCP_Port. */
export function onSpa(s: EngineState, p: Packet, via: 'udp' | 'http' | 'tcp', wall: number, out: Effect[]): void {
  const handled = s.gate.handle({ src: p.src, dst: p.dst, family: p.family, dport: p.dport, payload: p.payload ?? '', via }, wall);
  verdictEffects(s, p, via, handled, out);
}

/** Most GnuPG messages waiting for gpg; past it a message is refused (the shell's pool bounds gpg itself). */
export const MAX_GPG_PENDING = 32;

/** gpg's answer for a message the gate handed on ('gpg' effect): the verdict, as for any message. */
export function onGpgDone(s: EngineState, id: number, outcome: GpgOutcome, wall: number): Effect[] {
  s.wall = wall;
  const pending = s.gpgPending.get(id);
  if (!pending) return [];
  s.gpgPending.delete(id);
  const out: Effect[] = [];
  const p = pending.work.packet;
  verdictEffects(s, { ...p, protocol: 'udp', tcpFlags: 0 }, pending.via, gpgVerdict(pending.work, outcome, s.replay, wall), out);
  return out;
}

function verdictEffects(s: EngineState, p: Packet, via: 'udp' | 'http' | 'tcp', handled: GateResult, out: Effect[]): void {
  let verdict = handled.verdict;
  if (handled.kept && !s.deps.persistReplay(s.replay.kept()) && (verdict.type === 'granted' || verdict.type === 'command')) {
    verdict = { type: 'refused', src: p.src, door: verdict.door, reason: 'replay cache not written (disk full?)' };
  }
  switch (verdict.type) {
    case 'gpg': {
      if (s.gpgPending.size >= MAX_GPG_PENDING) {
        verdictEffects(s, p, via, { verdict: { type: 'refused', src: p.src, door: undefined, reason: 'GnuPG: busy' }, kept: false }, out);
        break;
      }
      const id = s.gpgNext++;
      s.gpgPending.set(id, { work: verdict, via });
      out.push({ kind: 'gpg', id, tries: verdict.tries });
      break;
    }
    case 'ignored':
      if (s.debug) out.push({ kind: 'debug', line: `SPA${via === 'udp' ? '' : ` (${via})`}: ${p.src}: ignored: ${verdict.why}` });
      break;
    case 'refused': {
      const refused = verdict;
      s.spaLog.line(() => logMsg.spaRefused(s.deps.display(p.src), refused.door?.name, refused.reason),
        (line) => out.push({ kind: 'log', line }));
      emit(s, out, () => ({ type: 'spa-refused', reason: refusalReason(refused.reason) }));
      break;
    }
    case 'command': {
      const who = s.deps.display(p.src);
      const c = verdict;
      const run: Effect[] = [
        {
          kind: 'log',
          line: logMsg.spaCommand(who, c.door.name, c.argv.join(' '), c.fields.username, c.door.spa!.commands!.user ?? 'root',
            c.door.spa!.commands!.path, c.line),
        },
        { kind: 'exec', knocker: who, door: c.door, argv: c.argv },
      ];
      if (!s.opts.fleet) { out.push(...run); break; }
      // A command runs once across the fleet: its digest is claimed first, as a grant's.
      out.push({
        kind: 'claim', claim: { type: 'replay', digest: c.digest, ttlMs: s.replay.windowMs }, granted: run,
        refused: lostClaim(s, who, c.door.name),
      });
      break;
    }
    case 'granted': {
      const who = s.deps.display(p.src);
      const { nat } = verdict;
      const granted: Effect[] = [];
      const ports = verdict.ports.map((x) => formatProtoPort(x)).join(',') + (nat ? ` -> ${natText(nat)}` : '');
      granted.push({
        kind: 'log', line: logMsg.spaOpen(who, verdict.door.name, verdict.ip, ports, verdict.fields.username, verdict.timeout),
      });
      const grant = grantEffect({
        knocker: who, door: verdict.door, ip: verdict.ip, timeout: verdict.timeout, ports: verdict.ports, ...(nat ? { nat } : {}),
      });
      granted.push(...grants(grant));
      emit(s, granted, () => grantEvent(nat ? 'nat' : 'spa', verdict.door, verdict.ip, verdict.timeout, grant, verdict.ports));
      for (const x of verdict.ports) {
        granted.push({ kind: 'run', request: {
          door: verdict.door, ip: verdict.ip, family: verdict.family, knocker: who,
          spa: {
            protocol: x.protocol, port: x.port, timeout: verdict.timeout, ...(nat ? { nat: { address: nat.address, port: nat.port } } : {}),
          },
        } });
      }
      if (!s.opts.fleet) { out.push(...granted); break; }
      // The fleet decides a digest once, for every node, before anything opens.
      granted.push({ kind: 'share', grant: {
        kind: 'spa', door: verdict.door.name, ip: verdict.ip, family: verdict.family, timeout: verdict.timeout, ports: verdict.ports,
        ...(nat ? { nat } : {}), digest: verdict.digest,
      } });
      out.push({
        kind: 'claim', claim: { type: 'replay', digest: verdict.digest, ttlMs: s.replay.windowMs }, granted,
        refused: lostClaim(s, who, verdict.door.name),
      });
      break;
    }
  }
}

/** What a node that lost the fleet claim for a message's digest does: refuse it as a replay. */
function lostClaim(s: EngineState, who: string, door: string): Effect[] {
  const out: Effect[] = [{ kind: 'log', line: logMsg.spaRefused(who, door, 'replay detected (accepted by another fleet node)') }];
  emit(s, out, () => ({ type: 'spa-refused', reason: 'replay' }));
  return out;
}

/** A message read from a connection to SPA_TCP_Port (the shell's listener). */
export function onSpaMessage(s: EngineState, m: SpaMessage, wall: number): Effect[] {
  s.wall = wall;
  if (!s.accepts(m.family)) return [];
  const out: Effect[] = [];
  onSpa(s, { ...m, protocol: 'tcp', tcpFlags: 0 }, 'tcp', wall, out);
  return out;
}
