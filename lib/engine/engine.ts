// The engine of one configuration: inputs in (packets, kernel events, clocks, fleet notes; see
// inputs.ts), effects out (effects.ts: log lines, commands, grants, one-time rotations, filter
// changes, fleet shares and claims). Pure policy: it touches no file, socket, process or timer, and
// reads no clock. The shell (lib/daemon) carries the effects out and feeds it through handle(); a
// reload builds the next engine from this one (next()), the one place that decides what carries
// over. The handlers are in on-*.ts, the state they share in state.ts.

import type { Config } from '../config/types.js';
import type { Hit } from '../matcher/shared-knocks.js';
import type { Packet } from '../matcher/types.js';
import type { Ban } from '../matcher/bans.js';
import type { KernelDoor } from '../ruleset/spec.js';
import type { Effect } from './effects.js';
import type { Input } from './inputs.js';
import { onFleetAnswered, onFleetGrant, onFleetOneTime, fleetHitsOf } from './on-fleet.js';
import { onKernelEvent, onPacket, onTick } from './on-packet.js';
import { onGpgDone, onSpaMessage } from './on-spa.js';
import { onLocalAddresses, onOneTimeRotated } from './on-doors.js';
import { EngineState, type EngineDeps, type EngineOptions } from './state.js';
import { captureFilter, kernelDoors } from './views.js';

export type { Effect } from './effects.js';
export type { Input } from './inputs.js';
export type { EngineDeps, EngineOptions } from './state.js';
export { knockLine } from './lines.js';

export class Engine {
  private readonly s: EngineState;

  constructor(readonly config: Config, private readonly opts: EngineOptions, private readonly deps: EngineDeps) {
    this.s = new EngineState(config, opts, deps);
  }

  /** One input, its effects in the order the shell carries them out. */
  handle(input: Input): Effect[] {
    const s = this.s;
    switch (input.kind) {
      case 'packet': return onPacket(s, input.packet, input.at, input.wall);
      case 'spa-message': return onSpaMessage(s, input.message, input.wall);
      case 'gpg-done': return onGpgDone(s, input.id, input.outcome, input.wall);
      case 'kernel-event': return onKernelEvent(s, input.event, input.packet, input.at, input.wall);
      case 'unheard-knocks': s.knockLog.skip(input.count); return [];
      case 'tick': return onTick(s, input.at, input.wall);
      case 'local-addresses': return onLocalAddresses(s, input.addresses);
      case 'onetime-rotated': return onOneTimeRotated(s, input.doorIndex, input.result);
      case 'fleet-grant': return onFleetGrant(s, input.note, input.seconds, input.wall);
      case 'fleet-onetime': return onFleetOneTime(s, input.note, input.wall);
      case 'fleet-answered': return onFleetAnswered(s, input.door, input.src, input.family, input.hits, input.nodes, input.wall);
    }
  }

  get matching(): 'pcap' | 'kernel' {
    return this.s.matching;
  }

  /**
   * SIGHUP: the engine for a new config. Carried over: local addresses, the kept replay
   * digests (a reload must not let a captured SPA packet or a used code in again), the bans and
   * the failures counted (a reload must not give a guesser fresh tries). Dropped: knocks in progress,
   * as knockd does, and the log throttles' state.
   */
  next(config: Config, wall: number, matching = this.matching): Engine {
    const replay = { entries: this.s.replay.kept(), now: wall };
    const { bans: _loaded, ...opts } = this.opts;
    return new Engine(config, { ...opts, matching, localAddresses: this.s.local, replay, banTable: this.s.bans }, this.deps);
  }

  /** Whether a packet concerns this engine at all (-4 drops IPv6): the shell asks before any lookup. */
  accepts(p: Packet): boolean {
    return this.s.accepts(p.family);
  }

  /** Fleet_Shared_Knocks: this node's hits of `src` on door `door` (another node asks). */
  fleetHits(door: string, src: string, wall: number): Hit[] {
    return fleetHitsOf(this.s, door, src, wall);
  }

  /** The doors as nftables must match them now (one-time doors move on, exhausted ones leave). */
  kernelDoors(): KernelDoor[] {
    return kernelDoors(this.s);
  }

  /** The capture filter for the doors as they are now. */
  filter(): string {
    return captureFilter(this.s);
  }

  /** When a 'tick' input has something to report (monotonic ms), if anything is in progress. */
  nextDeadline(): number | undefined {
    const a = this.s.matcher.nextDeadline();
    const b = this.s.kernelAttempts.nextDeadline();
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  /** False once a one-time door ran out of sequences (or its file could not be rewritten). */
  isEnabled(doorIndex: number): boolean {
    return this.s.matcher.isEnabled(doorIndex);
  }

  /** Bans in force at `wall` (the shell writes them to bans.json after a 'ban' effect; --status reads that). */
  bans(wall: number): readonly Ban[] {
    return this.s.bans.list(wall);
  }

  get localAddresses(): readonly string[] {
    return this.s.local;
  }
}
