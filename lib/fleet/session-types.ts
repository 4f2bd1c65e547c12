// The fleet session's vocabulary (session.ts): what the engine wants of the fleet (a claim, a share),
// what the session hands the engine (its fleet inputs, mirrored by engine/inputs.ts; the daemon's
// type check holds the two together) and the clock reading each call is given.

import type { Hit } from '../matcher/shared-knocks.js';
import type { ProtoPort } from '../net/protocol.js';
import type { GrantNote, OneTimeNote } from './notes.js';

/** A local grant as the fleet hears of it (the session stamps the id, node and fleet time). */
export type GrantShare = Omit<GrantNote, 'type' | 'id' | 'node' | 'at'>;

/** What must be decided fleet-wide, atomically in Redis, before a grant is carried out. */
export type FleetClaim =
  /** An SPA packet's replay digest: the first node to claim it grants; held for the age window. */
  | { readonly type: 'replay'; readonly digest: string; readonly ttlMs: number }
  /** A one-time sequence: used once across the fleet. */
  | { readonly type: 'onetime'; readonly door: string; readonly sequence: readonly ProtoPort[] };

/** What the engine is fed from the fleet (the fleet variants of engine/inputs.ts's Input). */
export type FleetInput =
  | { readonly kind: 'fleet-grant'; readonly note: GrantNote; readonly seconds: number; readonly wall: number }
  | { readonly kind: 'fleet-onetime'; readonly note: OneTimeNote; readonly wall: number }
  | {
    readonly kind: 'fleet-answered'; readonly door: string; readonly src: string; readonly family: 4 | 6;
    readonly hits: readonly Hit[]; readonly nodes: readonly string[]; readonly wall: number;
  };

/** The engine as the session uses it (Engine is one); E is its effect type. */
export interface SessionEngine<E extends { readonly kind: string }> {
  fleetHits(door: string, src: string, wall: number): readonly Hit[];
  handle(input: FleetInput): readonly E[];
}

/** A clock reading: this node's wall clock (epoch ms) and the offset to the fleet's (add it for fleet time). */
export interface Now {
  readonly wall: number;
  readonly offset: number;
}

/** Now on the fleet's clock (ms). */
export const fleetTime = (now: Now): number => now.wall + now.offset;

/** What a catch-up did: claims made and lost after the fact, grants shared. */
export interface Tally {
  made: number;
  lost: number;
  shared: number;
}
