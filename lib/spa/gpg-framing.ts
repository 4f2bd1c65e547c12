// GnuPG SPA framing (peers-and-requests.md §4.1). The client base64-encodes the binary OpenPGP
// message, strips '=', drops the first 2 characters (fwknop's "hQ") and appends the HMAC computed
// over the text WITH those 2 characters. fwknopd always puts "hQ" back; other OpenPGP headers
// (ECC keys: 0x84 with a 1-byte length, "hA".."hP"; new-format 0xC1, "wQ"..) need another prefix.
// The prefix is 12 bits: the packet's tag byte and the high nibble of the byte after it, so the
// server decodes the wire once and tries each candidate header on the bytes, not with gpg.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Result } from '../errors/result.js';
import { b64, isBase64Text } from './base64.js';
import { DIGESTS, type DigestName } from './digests.js';
import { WIRE_MAX } from './wire.js';

/** What fwknop strips and fwknopd re-adds. */
export const GPG_PREFIX = 'hQ';
/** fwknop's MIN_GNUPG_MSG_SIZE: wire data this long or longer is GnuPG data, shorter is Rijndael. */
export const GPG_MIN_WIRE = 400;
export const GPG_WIRE_MAX = WIRE_MAX;

/** Tag bytes of a Public-Key Encrypted Session Key packet: old format 1-, 2-, 4-byte length; new format. */
const TAG_BYTES = [0x84, 0x85, 0xc1, 0x86] as const;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const prefixOf = (tag: number, nibble: number) => B64[tag >> 2]! + B64[((tag & 3) << 4) | nibble]!;

export interface GpgHeader { readonly prefix: string; readonly tag: number; readonly nibble: number }

/** Every header the server may put back, "hQ" first, then 0x84 (ECC), the rest of 0x85, 0xC1, 0x86: 64. */
export const GPG_HEADERS: readonly GpgHeader[] = (() => {
  const out: GpgHeader[] = [{ prefix: GPG_PREFIX, tag: 0x85, nibble: 0 }];
  for (const tag of TAG_BYTES) {
    for (let nibble = 0; nibble < 16; nibble++) {
      if (tag === 0x85 && nibble === 0) continue;
      out.push({ prefix: prefixOf(tag, nibble), tag, nibble });
    }
  }
  return out;
})();

export type GpgShapeError = 'too-short' | 'too-long' | 'prefix' | 'not-base64';

/** fwknop's rule: only the length says a packet is GnuPG data. */
export const isGpgSized = (wire: string): boolean => wire.length >= GPG_MIN_WIRE;

/**
 * Cheap checks before any decoding. A wire starting with "hQ" is refused, as fwknopd does: a
 * client never sends the prefix, so it is a captured packet with the prefix put back to dodge the
 * replay cache. `min` lets a GnuPG-only door take shorter (ECC, unsigned) messages.
 */
export function checkGpgShape(wire: string, min: number = GPG_MIN_WIRE): GpgShapeError | undefined {
  if (wire.length < min) return 'too-short';
  if (wire.length > GPG_WIRE_MAX) return 'too-long';
  if (wire.startsWith(GPG_PREFIX)) return 'prefix';
  if (!isBase64Text(wire)) return 'not-base64';
  return undefined;
}

export interface GpgHmac { readonly key: Uint8Array; readonly digest: DigestName }

/** Client: the wire text of a binary OpenPGP message, with the HMAC when a key is given. */
export function encodeGpgWire(message: Uint8Array, hmac?: GpgHmac): string {
  const full = b64(message);
  if (full.length < 3) throw new RangeError('an OpenPGP message is longer than 2 bytes');
  const ct = full.slice(GPG_PREFIX.length);
  if (!hmac) return ct;
  return ct + b64(createHmac(DIGESTS[hmac.digest].algorithm, hmac.key).update(full, 'latin1').digest());
}

/** One way to read the wire: the header put back and the OpenPGP bytes it gives. */
export interface GpgCandidate {
  readonly prefix: string;
  readonly message: Buffer;
}

/** The base64 lengths no encoder produces, and texts whose unused last bits are not zero, are refused. */
function decodeAligned(ct: string): Buffer | undefined {
  if (!isBase64Text(ct) || (ct.length + 2) % 4 === 1) return undefined;
  const bytes = Buffer.from('AA' + ct, 'base64');
  // Canonical only: otherwise one message has several wire texts, and a replay cache keyed on the text misses.
  if (b64(bytes).slice(2) !== ct) return undefined;
  return bytes.length >= 2 ? bytes : undefined;
}

/** Old and new format PKESK headers: the body's offset and length, or undefined. */
function pkeskExtent(b: Buffer): { start: number; len: number } | undefined {
  const t = b[0]!;
  if ((t & 0xc0) === 0x80) {
    const n = [1, 2, 4][t & 3];
    if (n === undefined || b.length < 1 + n) return undefined;
    let len = 0;
    for (let i = 1; i <= n; i++) len = len * 256 + b[i]!;
    return { start: 1 + n, len };
  }
  const l1 = b[1]!;
  if (l1 < 192) return { start: 2, len: l1 };
  if (l1 < 224) return b.length < 3 ? undefined : { start: 3, len: ((l1 - 192) << 8) + b[2]! + 192 };
  if (l1 === 255) return b.length < 6 ? undefined : { start: 6, len: b.readUInt32BE(2) };
  return undefined; // partial lengths are not allowed for a PKESK
}

/** Public-key algorithms of a v3 PKESK: RSA, RSA-E, Elgamal, ECDH, X25519, X448. */
const PK_ALGOS = new Set([1, 2, 16, 18, 25, 26]);
/** Packets that may follow a PKESK: another PKESK, SKESK, SED, SEIPD, AEAD. */
const NEXT_TAGS = new Set([1, 3, 9, 18, 20]);

function nextTagOk(byte: number): boolean {
  if ((byte & 0x80) === 0) return false;
  return NEXT_TAGS.has((byte & 0x40) !== 0 ? byte & 0x3f : (byte >> 2) & 0x0f);
}

/** Could these bytes start an encrypted OpenPGP message: a PKESK, then the packet after it? */
export function plausibleMessage(b: Buffer): boolean {
  const e = pkeskExtent(b);
  if (!e || e.len < 10) return false;
  const body = e.start;
  const next = body + e.len;
  if (next >= b.length) return false;
  const version = b[body]!;
  if (version === 3) { if (!PK_ALGOS.has(b[body + 9]!)) return false; } else if (version !== 6) return false;
  return nextTagOk(b[next]!);
}

/**
 * The readings of ciphertext text (wire minus HMAC) that look like an encrypted OpenPGP message,
 * in GPG_HEADERS order ("hQ" first). Without an HMAC each one costs a gpg run; junk yields none.
 */
export function gpgCandidates(ct: string): GpgCandidate[] {
  const aligned = decodeAligned(ct);
  if (!aligned) return [];
  const low = aligned[1]! & 0x0f;
  const out: GpgCandidate[] = [];
  for (const h of GPG_HEADERS) {
    const b = Buffer.from(aligned);
    b[0] = h.tag;
    b[1] = (h.nibble << 4) | low;
    if (plausibleMessage(b)) out.push({ prefix: h.prefix, message: b });
  }
  return out;
}

export type GpgOpenError = GpgShapeError | 'hmac' | 'no-header';
export type GpgOpenResult = Result<{ readonly candidates: readonly GpgCandidate[] }, GpgOpenError>;

/** Room for the longest HMAC text (SHA-512: 86 characters). */
const macScratch = Buffer.alloc(128);
const wireScratch = Buffer.alloc(128);

function macMatches(text: string, mac: string, hmac: GpgHmac): boolean {
  const len = mac.length;
  const got = createHmac(DIGESTS[hmac.digest].algorithm, hmac.key).update(text, 'latin1').digest('base64');
  macScratch.write(got, 0, len, 'latin1');
  wireScratch.write(mac, 0, len, 'latin1');
  return timingSafeEqual(macScratch.subarray(0, len), wireScratch.subarray(0, len));
}

/**
 * Server: the shape checks, then the candidate messages to hand to gpg, best first. With an HMAC
 * key the HMAC (over prefix + ciphertext text) picks the one header, checked before any gpg work;
 * without one every plausible header is a candidate. Never throws.
 */
export function openGpgWire(wire: string, hmac?: GpgHmac, min: number = GPG_MIN_WIRE): GpgOpenResult {
  const shape = checkGpgShape(wire, min);
  if (shape) return { ok: false, error: shape };
  let ct = wire;
  let mac: string | undefined;
  if (hmac) {
    const len = DIGESTS[hmac.digest].b64Length;
    if (wire.length - len < 36) return { ok: false, error: 'hmac' };
    ct = wire.slice(0, wire.length - len);
    mac = wire.slice(wire.length - len);
  }
  const candidates = gpgCandidates(ct);
  if (!hmac || mac === undefined) return candidates.length ? { ok: true, candidates } : { ok: false, error: 'no-header' };
  // fwknopd's own reading first, even if it does not look like OpenPGP: its HMAC decides.
  if (macMatches(GPG_PREFIX + ct, mac, hmac)) {
    const hq = candidates.find((c) => c.prefix === GPG_PREFIX);
    return hq ? { ok: true, candidates: [hq] } : { ok: false, error: 'no-header' };
  }
  for (const c of candidates) if (c.prefix !== GPG_PREFIX && macMatches(c.prefix + ct, mac, hmac)) return { ok: true, candidates: [c] };
  return { ok: false, error: 'hmac' };
}
