// What the engine is fed: one union, mirroring Effect (what it returns). Every input carries the
// times it needs (`at`: monotonic ms, for knock timeouts; `wall`: epoch ms, for logs, SPA ages and
// fleet times): the engine reads no clock. The shell builds an input per event and hands it to
// Engine.handle; the handlers live in the on-*.ts files beside this one.

import type { RotateResult } from '../onetime/rotate.js';
import type { GrantNote, OneTimeNote } from '../fleet/notes.js';
import type { Hit } from '../matcher/shared-knocks.js';
import type { Packet } from '../matcher/types.js';
import type { KernelEvent } from '../ruleset/events.js';
import type { GpgOutcome } from '../matcher/spa-gpg.js';

/** One SPA message read from a TCP connection: its peer (`src`), our address and port, the bytes as latin1. */
export interface SpaMessage {
  readonly src: string;
  readonly dst: string;
  readonly family: 4 | 6;
  readonly dport: number;
  readonly payload: string;
}

export type Input =
  /** A captured packet (libpcap; under kernel matching only SPA datagrams). */
  | { readonly kind: 'packet'; readonly packet: Packet; readonly at: number; readonly wall: number }
  /** An SPA message read from a connection to SPA_TCP_Port. */
  | { readonly kind: 'spa-message'; readonly message: SpaMessage; readonly wall: number }
  /** gpg's answer to a 'gpg' effect. */
  | { readonly kind: 'gpg-done'; readonly id: number; readonly outcome: GpgOutcome; readonly wall: number }
  /** A kernel matching event (NFLOG) with the packet that caused it. */
  | { readonly kind: 'kernel-event'; readonly event: KernelEvent; readonly packet: Packet; readonly at: number; readonly wall: number }
  /** Stage and reset events the kernel's rate limit kept from the daemon: counted in the log's summary. */
  | { readonly kind: 'unheard-knocks'; readonly count: number }
  /** The shell's timer, at nextDeadline(): knock attempts that timed out. */
  | { readonly kind: 'tick'; readonly at: number; readonly wall: number }
  /** The host's addresses changed (knockd's "local addresses"). */
  | { readonly kind: 'local-addresses'; readonly addresses: readonly string[] }
  /** The result of a 'rotate' effect: a one-time door's next sequence, or the door disabled. */
  | { readonly kind: 'onetime-rotated'; readonly doorIndex: number; readonly result: RotateResult }
  /** A grant another fleet node made, `seconds` of it left. */
  | { readonly kind: 'fleet-grant'; readonly note: GrantNote; readonly seconds: number; readonly wall: number }
  /** Another fleet node used a one-time sequence. */
  | { readonly kind: 'fleet-onetime'; readonly note: OneTimeNote; readonly wall: number }
  /** Other nodes' hits of `src` on a shared door, answering this node's ask. */
  | {
    readonly kind: 'fleet-answered'; readonly door: string; readonly src: string; readonly family: 4 | 6;
    readonly hits: readonly Hit[]; readonly nodes: readonly string[]; readonly wall: number;
  };

export type InputKind = Input['kind'];
