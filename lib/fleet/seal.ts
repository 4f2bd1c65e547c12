// Seals on everything a fleet node writes to Redis (notes on the channel and stored values): an
// HMAC-SHA-256 under the fleet's shared key (Fleet_Key_File) over the whole text, with the fleet's
// name and the key's id bound in, so only a holder of the key can make a note a member acts on.
// Pure: keys, text and time in, a verdict out. The MAC is checked (in constant time) before the
// body is parsed, so junk costs one HMAC and never reaches JSON.parse.
//
// Wire form, one line:  S1.<key id, 16 hex>.<MAC, base64url>.<body: JSON with sid and ts>
//   sid  unique id of this sealed text (receivers refuse one they have seen)
//   ts   fleet time (ms, Redis's clock) it was sealed: live notes outside the skew bound are refused

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { failure, type Result } from '../errors/result.js';

/** Longest sealed text read (in characters): a batch of asks or answers fits; anything longer is refused unread. */
export const MAX_SEALED_BYTES = 256 * 1024;
/** Shortest key: 256 bits, as HMAC-SHA-256's output. */
export const MIN_KEY_BYTES = 32;
const SID = /^[A-Za-z0-9_.:-]{8,128}$/;
const PREFIX = 'S1.';

export interface FleetKey {
  /** Public name of the key (from a hash of it): tells receivers which key to check with. */
  readonly id: string;
  readonly secret: Buffer;
  /** Accepted (not signing) keys: epoch ms after which notes under it are refused. */
  readonly until?: number;
}

/** The key that seals, and the keys also accepted during a rollover (each until its time). */
export interface Keyring {
  readonly signing: FleetKey;
  readonly accepted: readonly FleetKey[];
}

export type SealRefusal = 'too long' | 'not sealed' | 'unknown key' | 'key expired' | 'bad MAC' | 'bad body';

export interface Opened {
  readonly body: Record<string, unknown>;
  readonly sid: string;
  readonly ts: number;
  /** Sealed under an accepted (previous or next) key rather than the signing one. */
  readonly rollover: boolean;
}

export function keyId(secret: Buffer): string {
  return createHash('sha256').update('sesame fleet key id\0').update(secret).digest('hex').slice(0, 16);
}

export function fleetKey(secret: Buffer, until?: number): FleetKey {
  return { id: keyId(secret), secret, ...(until !== undefined ? { until } : {}) };
}

function mac(key: FleetKey, fleet: string, body: string): Buffer {
  // The fleet's name and the key id are bound in: a note of fleet "a" is no note of fleet "b".
  return createHmac('sha256', key.secret).update(`sesame fleet 1\0${fleet}\0${key.id}\0`).update(body).digest();
}

/** Seals `body` (an object without sid/ts of its own) for `fleet` under the signing key. */
export function seal(ring: Keyring, fleet: string, sid: string, ts: number, body: object): string {
  const text = JSON.stringify({ ...body, sid, ts });
  return `${PREFIX}${ring.signing.id}.${mac(ring.signing, fleet, text).toString('base64url')}.${text}`;
}

/** Checks a sealed text's form, key and MAC, then parses its body. `now` judges accepted keys' ends. */
export function openSealed(ring: Keyring, fleet: string, text: string, now: number): Result<Opened, SealRefusal> {
  if (text.length > MAX_SEALED_BYTES) return failure('too long');
  if (!text.startsWith(PREFIX)) return failure('not sealed');
  const d1 = text.indexOf('.', PREFIX.length);
  const d2 = d1 < 0 ? -1 : text.indexOf('.', d1 + 1);
  if (d2 < 0) return failure('not sealed');
  const kid = text.slice(PREFIX.length, d1);
  const key = ring.signing.id === kid ? ring.signing : ring.accepted.find((k) => k.id === kid);
  if (!key) return failure('unknown key');
  if (key.until !== undefined && now >= key.until) return failure('key expired');
  // Compared as text, so a sealed value has one spelling only (base64 decoders skip and fold).
  const given = Buffer.from(text.slice(d1 + 1, d2));
  const body = text.slice(d2 + 1);
  const want = Buffer.from(mac(key, fleet, body).toString('base64url'));
  if (given.length !== want.length || !timingSafeEqual(given, want)) return failure('bad MAC');
  let o: unknown;
  try { o = JSON.parse(body); } catch { return failure('bad body'); }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return failure('bad body');
  const b = o as Record<string, unknown>;
  if (typeof b.sid !== 'string' || !SID.test(b.sid)) return failure('bad body');
  if (typeof b.ts !== 'number' || !Number.isFinite(b.ts) || b.ts < 0) return failure('bad body');
  return { ok: true, body: b, sid: b.sid, ts: b.ts, rollover: key !== ring.signing };
}
