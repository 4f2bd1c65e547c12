// Seals on everything a fleet node writes to Redis (notes on the channel and stored values):
// AES-256-GCM under a key derived from the fleet's shared key (Fleet_Key_File), with the fleet's
// name and the whole header as associated data. Only a holder of the key can make a note a member
// acts on, and only a holder can read one: shared-knock answers (hits), one-time sequences, client
// addresses and ports never cross Redis in clear. Pure: keys, text, time and nonce in, a verdict
// out. The header is read (and a replay or a stale note refused) before anything is decrypted,
// and the tag is checked before the body is parsed, so junk and replays cost next to nothing.
//
// Wire form, one line:  S2.<key id, 16 hex>.<ts>.<nonce, base64url>.<ciphertext and tag, base64url>
//   ts     fleet time (ms, an integer) it was sealed: live notes outside the skew bound are refused
//   nonce  12 random bytes, unique per sealed text: receivers refuse one they have seen (its sid)

import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { failure, type Result } from '../errors/result.js';

/** Longest sealed text read (in characters): a batch of asks or answers fits; anything longer is refused unread. */
export const MAX_SEALED_BYTES = 256 * 1024;
/** Shortest key: 256 bits. */
export const MIN_KEY_BYTES = 32;
const PREFIX = 'S2.';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KID = /^[0-9a-f]{16}$/;
const TS = /^(?:0|[1-9][0-9]{0,15})$/;
const B64URL = /^[A-Za-z0-9_-]+$/;

export interface FleetKey {
  /** Public name of the key (from a hash of it): tells receivers which key to open with. */
  readonly id: string;
  readonly secret: Buffer;
  /** Accepted (not sealing) keys: epoch ms from which notes under it are refused. */
  readonly until?: number;
}

/** The key that seals, and the keys also accepted during a rollover (each until its time). */
export interface Keyring {
  readonly signing: FleetKey;
  readonly accepted: readonly FleetKey[];
}

export type SealRefusal = 'too long' | 'not sealed' | 'unknown key' | 'key expired' | 'bad MAC' | 'bad body';

/** What the header says, before anything is decrypted (not yet authenticated). */
export interface Header {
  readonly key: FleetKey;
  readonly ts: number;
  /** The nonce, as written: unique per sealed text, the id receivers remember. */
  readonly sid: string;
  /** Sealed under an accepted (previous or next) key rather than the sealing one. */
  readonly rollover: boolean;
}

export interface Opened extends Header {
  readonly body: Record<string, unknown>;
}

export function keyId(secret: Buffer): string {
  return createHash('sha256').update('sesame fleet key id\0').update(secret).digest('hex').slice(0, 16);
}

export function fleetKey(secret: Buffer, until?: number): FleetKey {
  return { id: keyId(secret), secret, ...(until !== undefined ? { until } : {}) };
}

/** Derived keys, by secret and fleet: a node seals and opens under a handful, derived once each. */
const derived = new Map<string, Buffer>();

function derive(key: FleetKey, fleet: string, use: 'seal' | 'names'): Buffer {
  const id = `${use}\0${key.secret.toString('base64')}\0${fleet}`;
  let k = derived.get(id);
  if (!k) {
    if (derived.size >= 64) derived.clear(); // a bound, never reached in practice (a few keys, one fleet)
    k = Buffer.from(hkdfSync('sha256', key.secret, 'sesame fleet 2', `${use}\0${fleet}`, 32));
    derived.set(id, k);
  }
  return k;
}

/** The sealing key of one fleet: a fleet of another name derives another key from the same secret. */
function aeadKey(key: FleetKey, fleet: string): Buffer {
  return derive(key, fleet, 'seal');
}

/**
 * A name for a secret (a one-time sequence) as Redis may see it: an HMAC under a key derived from
 * the sealing key, so the name reveals nothing that can be tried offline.
 */
export function secretName(ring: Keyring, fleet: string, text: string): string {
  return nameUnder(ring.signing, fleet, text);
}

/**
 * The names a secret has under every key of the ring, the sealing key's first: during a rollover
 * nodes sealing with the old and the new key must see each other's claims.
 */
export function secretNames(ring: Keyring, fleet: string, text: string, now: number): string[] {
  return [ring.signing, ...ring.accepted.filter((k) => k.until === undefined || now < k.until)].map((k) => nameUnder(k, fleet, text));
}

function nameUnder(key: FleetKey, fleet: string, text: string): string {
  return createHmac('sha256', derive(key, fleet, 'names')).update(text).digest('hex').slice(0, 32);
}

/** Seals `body` for `fleet` under the sealing key, at fleet time `ts`, with a fresh 12-byte `nonce`. */
export function seal(ring: Keyring, fleet: string, ts: number, body: object, nonce: Buffer): string {
  if (nonce.length !== NONCE_BYTES) throw new RangeError('seal: the nonce is 12 bytes');
  const header = `${PREFIX}${ring.signing.id}.${Math.max(0, Math.round(ts))}.${nonce.toString('base64url')}`;
  const c = createCipheriv('aes-256-gcm', aeadKey(ring.signing, fleet), nonce);
  c.setAAD(Buffer.from(`${fleet}\0${header}`));
  const ct = Buffer.concat([c.update(JSON.stringify(body)), c.final(), c.getAuthTag()]);
  return `${header}.${ct.toString('base64url')}`;
}

/** Reads the header: its form, its key (known, not past its time), its time and nonce. Nothing is decrypted. */
export function readHeader(ring: Keyring, text: string, now: number): Result<Header, SealRefusal> {
  if (text.length > MAX_SEALED_BYTES) return failure('too long');
  if (!text.startsWith(PREFIX)) return failure('not sealed');
  const parts = text.slice(PREFIX.length).split('.', 5);
  if (parts.length !== 4) return failure('not sealed');
  const [kid, ts, nonce, ct] = parts as [string, string, string, string];
  // The ciphertext's spelling is checked when it is opened (openBody): a header costs no scan of it.
  if (!KID.test(kid) || !TS.test(ts) || !B64URL.test(nonce) || nonce.length !== 16 || ct === '') return failure('not sealed');
  const key = ring.signing.id === kid ? ring.signing : ring.accepted.find((k) => k.id === kid);
  if (!key) return failure('unknown key');
  if (key.until !== undefined && now >= key.until) return failure('key expired');
  return { ok: true, key, ts: Number(ts), sid: nonce, rollover: key !== ring.signing };
}

/** Decrypts and authenticates a text whose header was read, then parses its body. */
export function openBody(h: Header, fleet: string, text: string): Result<Opened, SealRefusal> {
  const dot = text.lastIndexOf('.');
  const header = text.slice(0, dot);
  const ct = Buffer.from(text.slice(dot + 1), 'base64url');
  // One spelling per sealed text: base64url decoders skip and fold what they do not know.
  if (ct.length < TAG_BYTES || ct.toString('base64url') !== text.slice(dot + 1)) return failure('bad MAC');
  const nonce = Buffer.from(h.sid, 'base64url');
  if (nonce.length !== NONCE_BYTES || nonce.toString('base64url') !== h.sid) return failure('bad MAC');
  let plain: string;
  try {
    const d = createDecipheriv('aes-256-gcm', aeadKey(h.key, fleet), nonce);
    d.setAAD(Buffer.from(`${fleet}\0${header}`));
    d.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
    plain = Buffer.concat([d.update(ct.subarray(0, ct.length - TAG_BYTES)), d.final()]).toString('utf8');
  } catch {
    return failure('bad MAC');
  }
  let o: unknown;
  try { o = JSON.parse(plain); } catch { return failure('bad body'); }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return failure('bad body');
  return { ok: true, ...h, body: o as Record<string, unknown> };
}

/** Reads, authenticates and parses a sealed text (a stored value: no skew, no seen ids). */
export function openSealed(ring: Keyring, fleet: string, text: string, now: number): Result<Opened, SealRefusal> {
  const h = readHeader(ring, text, now);
  return h.ok ? openBody(h, fleet, text) : h;
}
