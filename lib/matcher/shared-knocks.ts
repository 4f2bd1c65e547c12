// Knocks shared across a fleet (Fleet_Shared_Knocks = yes): behind ECMP or anycast, each packet of
// a sequence may reach another node. Each node keeps its own recent hits on a shared door's ports
// (bounded, no Redis per packet); the node that sees a door's last port asks the others for that
// source's hits and pieces the sequence together with knockd's rules (in order, a wrong in-door
// port resets, the timeout from the first knock). Pure: clocks are passed in (wall ms, which the
// fleet layer puts on Redis's clock before hits leave the node).

import type { Door } from '../config/types.js';
import { tcpFlagsMatch } from '../config/tcpflags.js';
import type { Protocol } from '../net/protocol.js';
import type { Packet } from './types.js';

export interface Hit {
  readonly protocol: Protocol;
  readonly port: number;
  /** Wall clock ms of arrival. */
  readonly at: number;
}

/**
 * Hits this close together (ms) count in sequence order: a hit's time is when its node's daemon
 * saw it (not the wire time), and a loaded node sees it later; knock clients send a whole
 * sequence within milliseconds. Order still counts beyond it.
 */
export const CLOCK_SLACK_MS = 250;
const DEFAULT_MAX_SOURCES = 65_536;

interface SharedDoor {
  readonly index: number;
  readonly door: Door;
  readonly hits: Map<string, Hit[]>;
}

const matches = (h: { protocol: Protocol; port: number }, s: { protocol: Protocol; port: number }) =>
  h.protocol === s.protocol && h.port === s.port;

export class SharedKnocks {
  private readonly doors: SharedDoor[];
  private sources = 0;
  /** Hits dropped because the table was full (oldest sources first). */
  evicted = 0;

  constructor(doors: readonly Door[], private readonly maxSources = DEFAULT_MAX_SOURCES) {
    this.doors = doors.flatMap((door, index) =>
      (door.sharedKnocks !== undefined && door.sequence.length > 1 ? [{ index, door, hits: new Map() }] : []));
  }

  get size(): number {
    return this.sources;
  }

  /**
   * Records a packet that hits a shared door's port (to a local address or the door's Target, with
   * its TCP flags); returns the doors whose last port it hit, for which the fleet is asked.
   */
  record(p: Packet, wall: number, local: ReadonlySet<string>): number[] {
    const last: number[] = [];
    for (const d of this.doors) {
      const seq = d.door.sequence;
      if (!seq.some((s) => matches({ protocol: p.protocol, port: p.dport }, s))) continue;
      if (d.door.target !== undefined ? d.door.target !== p.dst : !local.has(p.dst)) continue;
      if (p.protocol === 'tcp' && !tcpFlagsMatch(d.door.tcpFlags, p.tcpFlags)) continue;
      let list = d.hits.get(p.src);
      if (list) d.hits.delete(p.src); // re-inserted: the map stays in order of last use
      else {
        list = [];
        this.sources++;
        if (this.sources > this.maxSources) this.evictOldest();
      }
      list.push({ protocol: p.protocol, port: p.dport, at: wall });
      if (list.length > 2 * seq.length) list.shift();
      d.hits.set(p.src, list);
      if (matches({ protocol: p.protocol, port: p.dport }, seq[seq.length - 1]!)) last.push(d.index);
    }
    return last;
  }

  /** This node's hits of `src` on door `doorIndex` within the door's timeout before `wall`. */
  hitsOf(doorIndex: number, src: string, wall: number): Hit[] {
    const d = this.doors.find((x) => x.index === doorIndex);
    const since = wall - (d?.door.seqTimeout ?? 0) * 1000 - CLOCK_SLACK_MS;
    return (d?.hits.get(src) ?? []).filter((h) => h.at >= since);
  }

  /** Whether this node's hits and `others` complete the door's sequence for `src`. */
  completes(doorIndex: number, src: string, others: readonly Hit[], wall: number): boolean {
    const d = this.doors.find((x) => x.index === doorIndex);
    if (!d) return false;
    return sequenceCompletes(d.door, [...this.hitsOf(doorIndex, src, wall), ...others]);
  }

  /** Whether `door` is shared (and has more than one port: a one-port door opens on any node). */
  isShared(doorIndex: number): boolean {
    return this.doors.some((d) => d.index === doorIndex);
  }

  private evictOldest(): void {
    let oldest: { d: SharedDoor; src: string; at: number } | undefined;
    for (const d of this.doors) {
      const first = d.hits.entries().next().value as [string, Hit[]] | undefined;
      const at = first?.[1].at(-1)?.at;
      if (first && at !== undefined && (!oldest || at < oldest.at)) oldest = { d, src: first[0], at };
    }
    if (!oldest) return;
    oldest.d.hits.delete(oldest.src);
    this.sources--;
    this.evicted++;
  }
}

/** Position of a hit in the sequence (first step it matches), for ordering near-simultaneous hits. */
function position(door: Door, h: Hit): number {
  const i = door.sequence.findIndex((s) => matches(h, s));
  return i < 0 ? door.sequence.length : i;
}

/**
 * knockd's rules over hits from several nodes, in time order; hits within CLOCK_SLACK_MS of each
 * other are taken in sequence order (the nodes' clocks cannot order them better).
 */
export function sequenceCompletes(door: Door, hits: readonly Hit[]): boolean {
  const seq = door.sequence;
  const sorted = [...hits].sort((a, b) => a.at - b.at);
  for (let i = 1; i < sorted.length; i++) {
    for (let j = i; j > 0 && sorted[j]!.at - sorted[j - 1]!.at <= CLOCK_SLACK_MS &&
      position(door, sorted[j]!) < position(door, sorted[j - 1]!); j--) {
      [sorted[j - 1], sorted[j]] = [sorted[j]!, sorted[j - 1]!];
    }
  }
  const limit = door.seqTimeout * 1000 + CLOCK_SLACK_MS;
  let stage = 0;
  let start = 0;
  for (const h of sorted) {
    if (stage > 0 && h.at - start > limit) stage = 0; // timed out: this hit may start anew
    if (matches(h, seq[stage]!)) {
      if (stage === 0) start = h.at;
      stage++;
      if (stage === seq.length) return true;
    } else if (stage > 0) {
      stage = 0; // a wrong in-door port ends the attempt and starts nothing
    }
  }
  return false;
}
