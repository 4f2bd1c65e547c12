// Messages between the daemon and a capture process (one per interface). Packets travel as small
// tuples in batches: one IPC message per burst, not per packet.

import type { Protocol } from '../net/protocol.js';

export type WirePacket = [
  src: string, dst: string, family: 4 | 6, protocol: Protocol, dport: number, tcpFlags: number,
  payload?: string, sport?: number, seq?: number,
];

export type ToWorker =
  | { type: 'open'; iface: string; filter: string; bufferSize: number }
  | { type: 'filter'; filter: string };

export type FromWorker =
  | { type: 'opened'; linkType: string }
  | { type: 'error'; message: string }
  /** `at`: wall-clock ms when the batch's first packet was captured (fleet shared knocks order hits by it). */
  | { type: 'packets'; packets: WirePacket[]; at: number }
  | { type: 'dropped'; counts: Record<string, number> };
