// Messages between the daemon and a capture process (one per interface). Packets travel as small
// tuples in batches: one IPC message per burst, not per packet.

export type WirePacket = [src: string, dst: string, family: 4 | 6, protocol: 'tcp' | 'udp', dport: number, tcpFlags: number, payload?: string];

export type ToWorker =
  | { type: 'open'; iface: string; filter: string; bufferSize: number }
  | { type: 'filter'; filter: string };

export type FromWorker =
  | { type: 'opened'; linkType: string }
  | { type: 'error'; message: string }
  | { type: 'packets'; packets: WirePacket[] }
  | { type: 'dropped'; counts: Record<string, number> };
