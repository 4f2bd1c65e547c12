// The knock sequence matcher: packets and a millisecond clock in, events out. No I/O, no timers.
//
// It follows knockd 0.8 (docs/knockd-0.8.md §2.3–2.5) for one client, with three rulings:
//  1. every (source, door) attempt is independent: ending one never discards another;
//  2. timeouts are in milliseconds and `expire(now)` reports them without waiting for a packet;
//  3. live attempts are capped; past the cap the oldest is evicted and counted.
//
// Attempts live in one Map per door, keyed by source. A Map iterates in insertion order and a
// door's timeout is fixed, so the first entry of each map is that door's next deadline and the
// oldest attempt: expiry and eviction cost O(doors), not O(attempts).
//
// A TOTP door's code knocks are steps that span 100 ports (lib/totp/ports.ts): any port of the span
// advances, and the pairs knocked are gathered into the code its 'open' event carries. The code is
// judged by the engine when the last knock lands, so no sequence changes at step boundaries.

import type { Door, KnockStep } from '../config/types.js';
import { tcpFlagsMatch } from '../config/tcpflags.js';
import type { MatchEvent, Packet } from './types.js';
import { protoPortText, type Protocol } from '../net/protocol.js';
import { PAIR_SPAN, pairRanges } from '../totp/ports.js';

export const DEFAULT_MAX_ATTEMPTS = 65_536;

interface Attempt {
  readonly src: string;
  readonly family: 4 | 6;
  readonly order: number; // creation order, for knockd's event order across doors
  readonly deadline: number;
  stage: number;
  /** A TOTP door's code digits knocked so far. */
  code: string;
}

/** One step: a port, or (a TOTP code pair) the first of `span` ports, any of which advances. */
interface MatchStep {
  readonly protocol: Protocol;
  readonly port: number;
  readonly span: number;
}

interface DoorState {
  readonly index: number;
  readonly door: Door;
  steps: readonly MatchStep[];
  ports: ReadonlySet<string>; // `${protocol}/${port}` of every single-port step: what knockd's BPF filter lets in
  readonly spans: readonly MatchStep[]; // a TOTP door's code steps
  enabled: boolean;
  readonly attempts: Map<string, Attempt>;
}

export interface MatcherOptions {
  /** Most attempts kept at once (all sources, all doors). */
  maxAttempts?: number;
  /** Addresses of this host: knocks to a door without Target must be sent to one of them. */
  localAddresses?: Iterable<string>;
}

const stepKey = (protocol: Protocol, port: number) => protoPortText(protocol, port);

export class Matcher {
  private readonly doors: DoorState[];
  private readonly maxAttempts: number;
  private local: ReadonlySet<string>;
  private live = 0;
  private created = 0;
  private evictedCount = 0;

  constructor(doors: readonly Door[], opts: MatcherOptions = {}) {
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.local = new Set(opts.localAddresses ?? []);
    this.doors = doors.map((door, index) => {
      const spans = codeSteps(door);
      const steps = [...stepsOf(door.sequence), ...spans];
      return { index, door, steps, ports: portsOf(door.sequence), spans, enabled: true, attempts: new Map() };
    });
  }

  setLocalAddresses(addrs: Iterable<string>): void {
    this.local = new Set(addrs);
  }

  /** Replaces a door's sequence (one-time sequences); its attempts in flight are dropped. */
  setSequence(doorIndex: number, steps: readonly KnockStep[]): void {
    const d = this.doors[doorIndex]!;
    this.dropAttempts(d);
    d.steps = [...stepsOf(steps), ...d.spans];
    d.ports = portsOf(steps);
  }

  /** Stops a door from matching (one-time sequences exhausted). */
  disable(doorIndex: number): void {
    const d = this.doors[doorIndex]!;
    this.dropAttempts(d);
    d.enabled = false;
  }

  isEnabled(doorIndex: number): boolean {
    return this.doors[doorIndex]!.enabled;
  }

  /** Current single-port sequence of a door (differs from the config once one-time sequences rotate); a TOTP door's code follows it. */
  sequenceOf(doorIndex: number): readonly KnockStep[] {
    const d = this.doors[doorIndex]!;
    return d.steps.slice(0, d.steps.length - d.spans.length).map(({ protocol, port }) => ({ protocol, port }));
  }

  get size(): number { return this.live; }
  get evictions(): number { return this.evictedCount; }

  /** Earliest time at which `expire` has something to report. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const d of this.doors) {
      const first = firstOf(d.attempts);
      if (first && (next === undefined || first.deadline < next)) next = first.deadline;
    }
    return next;
  }

  /** Ends every attempt whose time is up at `now`. */
  expire(now: number): MatchEvent[] {
    const events: MatchEvent[] = [];
    for (const d of this.doors) {
      for (const a of d.attempts.values()) {
        if (a.deadline > now) break;
        this.remove(d, a);
        events.push({ type: 'timeout', src: a.src, family: a.family, doorIndex: d.index, door: d.door, stage: a.stage });
      }
    }
    return events;
  }

  handle(p: Packet, now: number): MatchEvent[] {
    const events = this.expire(now);
    if (!this.visible(p)) return events; // knockd's filter would never have shown it this packet

    const found: [DoorState, Attempt][] = [];
    for (const d of this.doors) {
      const a = d.enabled ? d.attempts.get(p.src) : undefined;
      if (a && this.dstMatches(d, p.dst)) found.push([d, a]);
    }

    if (found.length > 0) {
      // The packet belongs to attempts in flight: it advances or ends them and starts nothing new.
      found.sort((x, y) => x[1].order - y[1].order);
      for (const [d, a] of found) {
        if (p.protocol === 'tcp' && !tcpFlagsMatch(d.door.tcpFlags, p.tcpFlags)) {
          events.push({ type: 'flags-ignored', src: a.src, family: a.family, doorIndex: d.index, door: d.door });
          continue;
        }
        const want = d.steps[a.stage]!;
        if (fits(want, p.protocol, p.dport)) {
          this.advance(d, a, p.dport, events);
        } else {
          this.remove(d, a);
          events.push({ type: 'reset', src: a.src, family: a.family, doorIndex: d.index, door: d.door, stage: a.stage });
        }
      }
      return events;
    }

    for (const d of this.doors) {
      if (!d.enabled || !this.dstMatches(d, p.dst)) continue;
      const first = d.steps[0];
      if (!first) continue; // an SPA-only door has no sequence
      if (!fits(first, p.protocol, p.dport)) continue;
      if (p.protocol === 'tcp' && !tcpFlagsMatch(d.door.tcpFlags, p.tcpFlags)) continue;
      if (this.live >= this.maxAttempts) this.evictOldest(events);
      const a: Attempt = {
        src: p.src, family: p.family, order: this.created++, stage: 0,
        deadline: now + d.door.seqTimeout * 1000, code: '',
      };
      d.attempts.set(p.src, a);
      this.live++;
      this.advance(d, a, p.dport, events);
    }
    return events;
  }

  /** Forgets every attempt (knockd does this on SIGHUP). */
  clear(): void {
    for (const d of this.doors) this.dropAttempts(d);
  }

  private visible(p: Packet): boolean {
    const key = stepKey(p.protocol, p.dport);
    for (const d of this.doors) {
      const knocked = d.ports.has(key) || d.spans.some((s) => fits(s, p.protocol, p.dport));
      if (!d.enabled || !knocked || !this.dstMatches(d, p.dst)) continue;
      if (p.protocol !== 'tcp' || tcpFlagsMatch(d.door.tcpFlags, p.tcpFlags)) return true;
    }
    return false;
  }

  private dstMatches(d: DoorState, dst: string): boolean {
    return d.door.target !== undefined ? d.door.target === dst : this.local.has(dst);
  }

  private advance(d: DoorState, a: Attempt, dport: number, events: MatchEvent[]): void {
    const step = d.steps[a.stage]!;
    if (step.span > 1) a.code += String(dport - step.port).padStart(2, '0');
    a.stage++;
    const base = { src: a.src, family: a.family, doorIndex: d.index, door: d.door };
    events.push({ type: 'stage', ...base, stage: a.stage });
    if (a.stage >= d.steps.length) {
      this.remove(d, a);
      events.push(d.spans.length > 0 ? { type: 'open', ...base, code: a.code } : { type: 'open', ...base });
    }
  }

  private remove(d: DoorState, a: Attempt): void {
    if (d.attempts.get(a.src) === a) {
      d.attempts.delete(a.src);
      this.live--;
    }
  }

  private dropAttempts(d: DoorState): void {
    this.live -= d.attempts.size;
    d.attempts.clear();
  }

  private evictOldest(events: MatchEvent[]): void {
    let oldest: [DoorState, Attempt] | undefined;
    for (const d of this.doors) {
      const first = firstOf(d.attempts);
      if (first && (!oldest || first.order < oldest[1].order)) oldest = [d, first];
    }
    if (!oldest) return;
    const [d, a] = oldest;
    this.remove(d, a);
    this.evictedCount++;
    events.push({ type: 'evicted', src: a.src, family: a.family, doorIndex: d.index, door: d.door, stage: a.stage });
  }
}

function fits(step: MatchStep, protocol: Protocol, port: number): boolean {
  return step.protocol === protocol && port >= step.port && port < step.port + step.span;
}

function stepsOf(sequence: readonly KnockStep[]): MatchStep[] {
  return sequence.map(({ protocol, port }) => ({ protocol, port, span: 1 }));
}

/** A TOTP door's code steps: pair i spans TOTP_Port_Base + 100·i .. + 99. */
function codeSteps(door: Door): MatchStep[] {
  const t = door.totp;
  return t ? pairRanges(t.portBase, t.digits, t.protocol).map((r) => ({ protocol: r.protocol, port: r.first, span: PAIR_SPAN })) : [];
}

function portsOf(steps: readonly KnockStep[]): ReadonlySet<string> {
  return new Set(steps.map((s) => stepKey(s.protocol, s.port)));
}

function firstOf<V>(m: Map<string, V>): V | undefined {
  for (const v of m.values()) return v;
  return undefined;
}
