import type { Door, Protocol } from '../config/types.js';

/** A decoded knock as the matcher needs it; addresses are canonical text (RFC 5952 for IPv6). */
export interface Packet {
  readonly src: string;
  readonly dst: string;
  readonly family: 4 | 6;
  readonly protocol: Protocol;
  readonly dport: number;
  /** TCP flags byte (FIN=0x01 … URG=0x20); ignored for UDP. */
  readonly tcpFlags: number;
  /**
   * Payload as latin1 text, only when it could carry SPA: a UDP datagram's of 140..1500 bytes, or a
   * TCP segment's data (1..1500 bytes; a request's first segment, "GET /...", 140 at least).
   */
  readonly payload?: string;
  /** TCP source port, with a TCP payload (segments of one HTTP request are joined by flow). */
  readonly sport?: number;
  /** TCP sequence number, with a TCP payload (a request's pieces must follow on exactly). */
  readonly seq?: number;
  /** Wall-clock ms when the capture process saw it (libpcap path), before any queue in the daemon. */
  readonly seenAt?: number;
}

interface EventBase {
  readonly src: string;
  readonly family: 4 | 6;
  readonly doorIndex: number;
  readonly door: Door;
}

export type MatchEvent =
  /** A knock advanced an attempt to `stage` (1-based), as knockd's `Stage N`. */
  | (EventBase & { readonly type: 'stage'; readonly stage: number })
  /** The whole sequence was knocked: `OPEN SESAME` (a TOTP door's once the engine accepts `code`, the digits knocked). */
  | (EventBase & { readonly type: 'open'; readonly code?: string })
  /** The attempt ran out of time after `stage` correct knocks. */
  | (EventBase & { readonly type: 'timeout'; readonly stage: number })
  /** A wrong knock ended the attempt (knockd logs this only with -D). */
  | (EventBase & { readonly type: 'reset'; readonly stage: number })
  /** A TCP packet that failed this door's flags was ignored (knockd -D: `packet is not SYN, ignoring...`). */
  | (EventBase & { readonly type: 'flags-ignored' })
  /** The attempt table was full; the oldest attempt was dropped to make room. */
  | (EventBase & { readonly type: 'evicted'; readonly stage: number });
