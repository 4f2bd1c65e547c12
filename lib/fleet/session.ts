// The fleet conversation of one node, as decisions: the daemon's shell (daemon/fleet-member.ts) owns
// the Redis link, the timers and the log, hands each event in with a clock reading (and the engine)
// and carries out what comes back: notes to publish, claims to make, effects for the engine's
// shell, log lines. Here: ids (with a per-boot tag), grant ids already carried out (a resync does
// not repeat them), refusals counted by reason, claims and shares kept while Redis is away
// (session-pending.ts), shared knocks' asks and answers (session-asks.ts). Pure: no timer, no I/O.

import { BoundedIds } from './bounded-ids.js';
import type { GrantNote, OneTimeNote } from './notes.js';
import { SessionAsks, type Batch } from './session-asks.js';
import { SessionPending, type PendingClaim } from './session-pending.js';
import {
  fleetTime, type FleetClaim, type GrantShare, type Now, type SessionEngine, type Tally,
} from './session-types.js';
import type { StoredGrant } from './sealer.js';
import { formatProtoPort } from '../net/protocol.js';

/** Grant ids carried out here, remembered until they expire; beyond it the oldest go. */
export const MAX_APPLIED = 16_384;
/** How long a one-time sequence's claim is held (ms). */
export const ONETIME_CLAIM_MS = 90 * 24 * 3600 * 1000;

/** What a claim is about: the secret its keys are named after, how long it holds, its log name, its note. */
export interface ClaimPlan {
  readonly secret: string;
  readonly ttlMs: number;
  readonly what: string;
  /** A one-time sequence: the door whose key it is, and the note every node hears once it is spent. */
  readonly door?: string;
  readonly announce?: OneTimeNote;
}

/** What one resync found: stored grants loaded, stored values refused (by reason). */
export interface Resync {
  loaded: number;
  readonly skipped: Map<string, number>;
}

export interface SessionLimits {
  readonly applied?: number;
  readonly pending?: number;
  readonly openAsks?: number;
}

type Kinded = { readonly kind: string };

export class FleetSession {
  /** A tag per process start in ask ids: an answer to an ask of an earlier run never matches one of this run. */
  readonly boot: string;
  private counter = 0;
  /** Grant ids already carried out here (until their fleet-time expiry), so a resync does not repeat them. */
  private readonly applied: BoundedIds;
  readonly pending: SessionPending;
  readonly asks: SessionAsks;
  /** Refused notes and values, by reason (the totals the log lines quote). */
  private readonly refused = new Map<string, number>();
  private refusedTotal = 0;

  /** `bootBytes`: random (the shell's crypto), hex in ask ids. */
  constructor(readonly node: string, bootBytes: Uint8Array, limits: SessionLimits = {}) {
    this.boot = [...bootBytes].map((b) => b.toString(16).padStart(2, '0')).join('');
    this.applied = new BoundedIds(limits.applied ?? MAX_APPLIED);
    this.pending = new SessionPending(limits.pending);
    this.asks = new SessionAsks(node, limits.openAsks);
  }

  /** A claim's secret, hold time, log name and one-time note; the shell names its keys and seals its value. */
  claimPlan(c: FleetClaim): ClaimPlan {
    if (c.type === 'replay') return { secret: c.digest, ttlMs: c.ttlMs, what: 'SPA digest' };
    return {
      secret: c.sequence.map(formatProtoPort).join(','), ttlMs: ONETIME_CLAIM_MS, what: `one-time sequence of ${c.door}`,
      door: c.door, announce: { type: 'onetime', node: this.node, door: c.door, sequence: c.sequence },
    };
  }

  /**
   * A claim's result: made alone ('down') it is kept for Redis's return. The notes to publish: a
   * one-time sequence spent here (decided alone too) tells every node that listens to move on now.
   */
  claimed(c: PendingClaim, r: 'won' | 'lost' | 'down'): OneTimeNote[] {
    if (r === 'down') this.pending.claim(c);
    return r !== 'lost' && c.announce ? [c.announce] : [];
  }

  /** The note of a grant made here, to publish (kept by pending.share if that fails); its id is not carried out again. */
  share(g: GrantShare, now: Now): GrantNote {
    const at = fleetTime(now);
    const note: GrantNote = {
      type: 'grant', id: `${this.node}:${now.wall.toString(36)}:${(this.counter++).toString(36)}`, node: this.node, at, ...g,
    };
    this.applied.add(note.id, at + note.timeout * 1000, at);
    return note;
  }

  /** Shared knocks: asks the fleet for `src`'s hits on `door` (batched; answers through heard). */
  ask(door: string, src: string, family: 4 | 6, now: Now): Batch {
    return this.asks.ask(`${this.node}.${this.boot}.${(this.counter++).toString(36)}`, door, src, family, now);
  }

  /** A live grant or one-time note of another node: the effects to carry out (none if already done or over). */
  heard<E extends Kinded>(n: GrantNote | OneTimeNote, now: Now, engine: SessionEngine<E>): readonly E[] {
    if (n.type === 'onetime') return engine.handle({ kind: 'fleet-onetime', note: n, wall: now.wall });
    // Counted from the grant's fleet time; a note stamped in the future counts as just made.
    return this.grant(n, n.timeout * 1000 - Math.max(0, fleetTime(now) - n.at), now, engine);
  }

  /** A stored grant found at a resync: counted as loaded unless this node's own or already carried out. */
  load<E extends Kinded>(g: StoredGrant, resync: Resync, now: Now, engine: SessionEngine<E>): readonly E[] {
    if (g.note.node === this.node || this.applied.has(g.note.id, fleetTime(now))) return [];
    resync.loaded++;
    return this.grant(g.note, g.remainingMs, now, engine);
  }

  /** A refused note or stored value, counted by reason; the text of its (rate-limited) log line. */
  refuse(why: string): () => string {
    this.refused.set(why, (this.refused.get(why) ?? 0) + 1);
    this.refusedTotal++;
    return () => `fleet: note refused: ${why} (${this.refusedTotal} refused so far: ` +
      `${[...this.refused].map(([r, k]) => `${k} ${r}`).join(', ')})`;
  }

  /** A stored value refused during a resync: counted for its line and in the totals. */
  skip(why: string, resync: Resync): void {
    resync.skipped.set(why, (resync.skipped.get(why) ?? 0) + 1);
    this.refuse(why);
  }

  /** Refusals so far, by reason. */
  get refusals(): ReadonlyMap<string, number> {
    return this.refused;
  }

  private grant<E extends Kinded>(n: GrantNote, leftMs: number, now: Now, engine: SessionEngine<E>): readonly E[] {
    const at = fleetTime(now);
    if (leftMs <= 0 || this.applied.has(n.id, at)) return [];
    const effects = engine.handle({ kind: 'fleet-grant', note: n, seconds: Math.ceil(leftMs / 1000), wall: now.wall });
    // Only what was carried out is remembered: a refused note (no such door here) takes no room.
    if (effects.some((e) => e.kind === 'grant')) this.applied.add(n.id, at + leftMs, at);
    return effects;
  }
}

/** A new resync's tally. */
export const newResync = (): Resync => ({ loaded: 0, skipped: new Map() });

/** A new catch-up's tally. */
export const newTally = (): Tally => ({ made: 0, lost: 0, shared: 0 });
