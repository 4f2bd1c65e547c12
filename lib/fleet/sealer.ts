// What this node writes to Redis, sealed, and the verdict on what it reads back: live notes from
// the channel (MAC, skew bound, never seen before) and stored values (MAC, the key they are stored
// under, their own expiry). A value that fails is refused with a reason the caller counts. Pure:
// the keys, the fleet's time and the ids seen are handed in.

import { failure, type Result } from '../errors/result.js';
import { BoundedIds } from './bounded-ids.js';
import { readNote, fleetKeys, type ClaimValue, type FleetNote, type FleetValue, type GrantNote, type MemberValue } from './notes.js';
import { openSealed, seal, type Keyring, type SealRefusal } from './seal.js';

/** A live note sealed further than this from the receiver's fleet time is refused (ms). */
export const SKEW_MS = 30_000;
/** Ids of live notes remembered (each for its skew window); beyond it the oldest go. */
export const MAX_SEEN = 16_384;

export type Refusal = SealRefusal | 'malformed' | 'outside the skew bound' | 'replayed' | 'not stored here' | 'expired' | 'wrong kind';

export interface StoredGrant {
  readonly note: GrantNote;
  /** What is left of it: the shorter of Redis's expiry and the note's own. */
  readonly remainingMs: number;
}

type Keys = ReturnType<typeof fleetKeys>;

export class Sealer {
  readonly seen: BoundedIds;
  private counter = 0;

  /** `boot`: a random tag per process start, so ids never repeat across restarts. */
  constructor(private ring: Keyring, readonly fleet: string, readonly node: string, private readonly boot: string, maxSeen = MAX_SEEN) {
    this.seen = new BoundedIds(maxSeen);
  }

  /** A new keyring (the key file was read again); ids seen are kept. */
  rekey(ring: Keyring): void {
    this.ring = ring;
  }

  /** Seals a note or value of this node at fleet time `now`. */
  seal(body: FleetValue, now: number): string {
    return seal(this.ring, this.fleet, `${this.node}.${this.boot}.${(this.counter++).toString(36)}`, Math.round(now), body);
  }

  private open(text: string, now: number): Result<{ value: FleetValue; sid: string; ts: number }, Refusal> {
    const o = openSealed(this.ring, this.fleet, text, now);
    if (!o.ok) return o;
    const r = readNote(o.body);
    if (!r.ok) return failure('malformed');
    return { ok: true, value: r.note, sid: o.sid, ts: o.ts };
  }

  /**
   * A note heard on the channel: sealed under a key of ours, sealed within SKEW_MS of `now`, and
   * never heard before. The node's own notes come back as they are (the caller drops them).
   */
  live(text: string, now: number): Result<{ note: FleetNote }, Refusal> {
    const o = this.open(text, now);
    if (!o.ok) return o;
    const v = o.value;
    if (v.type === 'claim' || v.type === 'member') return failure('wrong kind');
    if (v.node === this.node) return { ok: true, note: v };
    if (Math.abs(o.ts - now) > SKEW_MS) return failure('outside the skew bound');
    if (this.seen.has(o.sid, now)) return failure('replayed');
    this.seen.add(o.sid, o.ts + SKEW_MS + 1, now); // remembered for as long as the skew check would pass it
    return { ok: true, note: v };
  }

  /** A stored grant: under its own key, sealed, not over by its own time (a re-stored old one is). */
  grant(keys: Keys, key: string, text: string, pttl: number, now: number): Result<StoredGrant, Refusal> {
    const o = this.open(text, now);
    if (!o.ok) return o;
    const g = o.value;
    if (g.type !== 'grant') return failure('wrong kind');
    if (key !== keys.grant(g.node, g.id)) return failure('not stored here');
    // A grant time ahead of the fleet's counts as now: a forward clock buys no extra time.
    const own = g.timeout * 1000 - Math.max(0, now - g.at);
    const remainingMs = Math.min(own, pttl);
    if (remainingMs <= 0) return failure('expired');
    return { ok: true, note: g, remainingMs };
  }

  /** A claim found under `key`: sealed, for that key, not over by its own time. */
  claim(key: string, text: string, now: number): Result<{ claim: ClaimValue }, Refusal> {
    const o = this.open(text, now);
    if (!o.ok) return o;
    const c = o.value;
    if (c.type !== 'claim') return failure('wrong kind');
    if (c.key !== key) return failure('not stored here');
    if (c.until <= now) return failure('expired');
    return { ok: true, claim: c };
  }

  /** A member's heartbeat under `key`: sealed, by the node the key names. */
  member(keys: Keys, key: string, text: string, now: number): Result<{ member: MemberValue }, Refusal> {
    const o = this.open(text, now);
    if (!o.ok) return o;
    const m = o.value;
    if (m.type !== 'member') return failure('wrong kind');
    if (key !== keys.member(m.node)) return failure('not stored here');
    return { ok: true, member: m };
  }
}
