// Shared knocks, the session's side (session.ts): asks waiting to be sent, asks waiting for
// answers, answers waiting to be sent. Asks and answers leave in batches (one note of each per
// batch); the shell runs the batch timer and publishes what is returned. Pure: clock and engine in.

import type { Hit } from '../matcher/shared-knocks.js';
import { MAX_ASKS, type Answer, type Ask, type FleetNote } from './notes.js';
import type { Now, SessionEngine } from './session-types.js';

/** Asks and answers wait this long (ms) to leave together: one PUBLISH per batch, not per packet. */
export const BATCH_MS = 10;
/** How long an ask collects answers (ms); answers come within a few ms. */
export const ASK_MS = 300;
/** Open asks kept; under a flood at a last port the oldest make room. */
export const MAX_OPEN_ASKS = 16_384;

/** What a call leaves to do: notes to publish now (a batch that filled up), and whether a batch waits for the timer. */
export interface Batch {
  readonly notes: readonly FleetNote[];
  readonly wait: boolean;
}

interface OpenAsk {
  readonly door: string;
  readonly src: string;
  readonly family: 4 | 6;
  readonly hits: Hit[];
  readonly nodes: Set<string>;
  readonly until: number;
}

export class SessionAsks {
  private outAsks: Ask[] = [];
  private outAnswers: Answer[] = [];
  private readonly open = new Map<string, OpenAsk>();

  constructor(private readonly node: string, private readonly maxOpen = MAX_OPEN_ASKS) {}

  /** Asks now waiting for answers (expired ones go at the next ask). */
  get openCount(): number {
    return this.open.size;
  }

  /** Whether asks or answers wait for the batch timer. */
  get waiting(): boolean {
    return this.outAsks.length + this.outAnswers.length > 0;
  }

  /** Asks the fleet, under `id`, for `src`'s hits on `door`. */
  ask(id: string, door: string, src: string, family: 4 | 6, now: Now): Batch {
    // Oldest first (insertion order): expired ones go, and under a flood the oldest make room.
    for (const [old, a] of this.open) {
      if (a.until > now.wall && this.open.size < this.maxOpen) break;
      this.open.delete(old);
    }
    this.open.set(id, { door, src, family, hits: [], nodes: new Set(), until: now.wall + ASK_MS });
    this.outAsks.push({ id, door, src });
    return this.outAsks.length >= MAX_ASKS ? { notes: this.flush(), wait: false } : { notes: [], wait: true };
  }

  /** Answers another node's asks with this node's hits (those it has), put on the fleet's clock. */
  answer<E extends { readonly kind: string }>(asker: string, asks: readonly Ask[], now: Now, engine: SessionEngine<E>): Batch {
    const notes: FleetNote[] = [];
    for (const a of asks) {
      const hits = engine.fleetHits(a.door, a.src, now.wall);
      if (hits.length === 0) continue;
      // Hits leave on the fleet's clock; the asker puts them back on its own.
      this.outAnswers.push({ to: asker, id: a.id, hits: hits.map((h) => ({ ...h, at: h.at + now.offset })) });
      if (this.outAnswers.length >= MAX_ASKS) notes.push(...this.flush());
    }
    return { notes, wait: this.outAnswers.length > 0 };
  }

  /**
   * An answer (of a note's, addressed to whichever node) to one of this node's open asks: its hits join the others' and the engine judges
   * them all; the ask is settled once that opens the door (some effects).
   */
  answered<E extends { readonly kind: string }>(node: string, answer: Answer, now: Now, engine: SessionEngine<E>): readonly E[] {
    const a = answer.to === this.node ? this.open.get(answer.id) : undefined;
    if (!a || a.until <= now.wall) return [];
    a.hits.push(...answer.hits.map((h) => ({ ...h, at: h.at - now.offset })));
    a.nodes.add(node);
    const effects = engine.handle({
      kind: 'fleet-answered', door: a.door, src: a.src, family: a.family, hits: a.hits, nodes: [...a.nodes], wall: now.wall,
    });
    if (effects.length) this.open.delete(answer.id);
    return effects;
  }

  /** What waits, as notes to publish: one of asks, one of answers. */
  flush(): FleetNote[] {
    const asks = this.outAsks, answers = this.outAnswers;
    this.outAsks = [];
    this.outAnswers = [];
    const notes: FleetNote[] = [];
    if (asks.length) notes.push({ type: 'ask', node: this.node, asks });
    if (answers.length) notes.push({ type: 'hits', node: this.node, answers });
    return notes;
  }
}
