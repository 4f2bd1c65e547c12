// What this node writes to Redis, sealed, and the verdict on what it reads back: live notes from
// the channel (skew bound and never seen before, both from the header before anything is
// decrypted; then the tag) and stored values (the tag, the key they are stored under, their own
// expiry). A value that fails is refused with a reason the caller counts. Pure: the keys, the
// fleet's time, the nonces and the ids seen are handed in.

import { failure, type Result } from '../errors/result.js';
import { BoundedIds } from './bounded-ids.js';
import { readNote, fleetKeys, type ClaimValue, type FleetNote, type FleetValue, type GrantNote, type MemberValue } from './notes.js';
import { openBody, openSealed, readHeader, seal, secretName, secretNames, type Keyring, type SealRefusal } from './seal.js';

/** A live note sealed further than this from the receiver's fleet time is refused (ms). */
export const SKEW_MS = 30_000;
/** Ids of live notes remembered (each for its skew window); beyond it the oldest go. */
export const MAX_SEEN = 8_192;

export type Refusal = SealRefusal | 'malformed' | 'outside the skew bound' | 'replayed' | 'not stored here' | 'expired' | 'wrong kind';

export interface StoredGrant {
  readonly note: GrantNote;
  /** What is left of it: the shorter of Redis's expiry and the note's own. */
  readonly remainingMs: number;
}

type Keys = ReturnType<typeof fleetKeys>;

export class Sealer {
  readonly seen: BoundedIds;
  /** `nonce()`: 12 fresh random bytes per sealed text (crypto.randomBytes in the shell). */
  constructor(private ring: Keyring, readonly fleet: string, readonly node: string, private readonly nonce: () => Buffer,
    maxSeen = MAX_SEEN) {
    this.seen = new BoundedIds(maxSeen);
  }

  /** A new keyring (the key file was read again); ids seen are kept. */
  rekey(ring: Keyring): void {
    this.ring = ring;
  }

  /** Seals a note or value of this node at fleet time `now`. */
  seal(body: FleetValue, now: number): string {
    return seal(this.ring, this.fleet, now, body, this.nonce());
  }

  /** The name Redis sees for a secret of this fleet (a one-time sequence): keyed, not a plain hash. */
  secretName(text: string): string {
    return secretName(this.ring, this.fleet, text);
  }

  /** Its names under every key of the ring, the sealing key's first (a rollover: see seal.ts). */
  secretNames(text: string, now: number): string[] {
    return secretNames(this.ring, this.fleet, text, now);
  }

  private open(text: string, now: number): Result<{ value: FleetValue }, Refusal> {
    const o = openSealed(this.ring, this.fleet, text, now);
    if (!o.ok) return o;
    const r = readNote(o.body);
    if (!r.ok) return failure('malformed');
    return { ok: true, value: r.note };
  }

  /**
   * A note heard on the channel: sealed under a key of ours within SKEW_MS of `now`, never heard
   * before (both read from the header: a replay or a stale note costs no decryption), and
   * authentic. This node's own notes come back as they are (the caller drops them).
   */
  live(text: string, now: number): Result<{ note: FleetNote }, Refusal> {
    const h = readHeader(this.ring, text, now);
    if (!h.ok) return h;
    if (Math.abs(h.ts - now) > SKEW_MS) return failure('outside the skew bound');
    if (this.seen.has(h.sid, now)) return failure('replayed');
    const o = openBody(h, this.fleet, text);
    if (!o.ok) return o;
    const r = readNote(o.body);
    if (!r.ok) return failure('malformed');
    const v = r.note;
    // Only authentic notes are remembered (whoever lacks the key cannot fill the set), for as long
    // as the skew check would pass them; a stored value republished on the channel too, so each
    // costs one decryption, not one per copy.
    if (v.node !== this.node || v.type === 'claim' || v.type === 'member') this.seen.add(h.sid, h.ts + SKEW_MS + 1, now);
    if (v.type === 'claim' || v.type === 'member') return failure('wrong kind');
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
