// SPA_GPG_Remote_ID: which signers a GnuPG door accepts. fwknopd compares only the last 8 hex of
// the signing key's fingerprint (fwknop#263), so long IDs, fingerprints and keys that sign with a
// subkey fail there. Here each item is an 8-hex short ID, a 16-hex long ID or a full fingerprint
// (40 hex, v4; 64 hex, v5/v6), and it matches the signing (sub)key or its primary key, both of
// which gpg's VALIDSIG status line names.
//
// Accepted spellings: any case, an optional 0x, and blanks inside a fingerprint (gpg prints it in
// groups of 4). Refused with a reason: user IDs and e-mail addresses (a signature names a key, not
// a person), other lengths, blanks inside a short or long ID, an empty list or item.

import type { Result } from '../errors/result.js';

export type GpgIdKind = 'short' | 'long' | 'fingerprint';

export interface GpgId {
  /** Upper-case hex, without 0x or blanks. */
  readonly hex: string;
  readonly kind: GpgIdKind;
  /** As written, for messages. */
  readonly text: string;
}

const HEX = /^[0-9A-F]+$/;

/** One item of the list. */
export function parseGpgId(item: string): Result<{ id: GpgId }> {
  const text = item.trim();
  if (text === '') return { ok: false, error: 'an empty key ID' };
  if (text.includes('@') || /[<>()]/.test(text)) {
    return { ok: false, error: `"${text}" is a user ID; give the signer's key ID or fingerprint (gpg --fingerprint)` };
  }
  let hex = text.replace(/^0x/i, '');
  const blanks = /\s/.test(hex);
  hex = hex.replace(/\s+/g, '').toUpperCase();
  if (!HEX.test(hex)) return { ok: false, error: `"${text}" is not a key ID: hex digits only (an optional 0x)` };
  const kind: GpgIdKind | undefined = hex.length === 8 ? 'short' : hex.length === 16 ? 'long'
    : hex.length === 40 || hex.length === 64 ? 'fingerprint' : undefined;
  if (!kind) {
    return { ok: false, error: `"${text}" has ${hex.length} hex digits; a key ID has 8 (short) or 16 (long), ` +
      'a fingerprint 40 (or 64 for v5/v6 keys)' };
  }
  if (blanks && kind !== 'fingerprint') return { ok: false, error: `"${text}": blanks are allowed only inside a fingerprint` };
  return { ok: true, id: { hex, kind, text } };
}

/** A comma list (fwknop's GPG_REMOTE_ID); the first bad item fails the whole list. */
export function parseGpgIdList(text: string): Result<{ ids: readonly GpgId[] }> {
  const ids: GpgId[] = [];
  for (const item of text.split(',')) {
    const r = parseGpgId(item);
    if (!r.ok) return r;
    if (!ids.some((i) => i.hex === r.id.hex)) ids.push(r.id);
  }
  return { ok: true, ids };
}

/** The 16-hex key ID of a fingerprint: its last 64 bits for v4 (40 hex), its first for v5/v6 (64 hex). */
export function keyIdOf(fpr: string): string {
  const f = fpr.toUpperCase();
  return f.length === 64 ? f.slice(0, 16) : f.slice(-16);
}

/** Does one ID name the key with this fingerprint? */
export function idMatchesKey(id: GpgId, fpr: string): boolean {
  const f = fpr.toUpperCase();
  if (!HEX.test(f) || (f.length !== 40 && f.length !== 64)) return false;
  if (id.kind === 'fingerprint') return id.hex === f;
  const keyId = keyIdOf(f);
  return id.kind === 'long' ? id.hex === keyId : id.hex === keyId.slice(-8);
}

/** The key behind a good signature, from VALIDSIG: the signing (sub)key and its primary key. */
export interface SignerKeys {
  readonly fingerprint: string;
  readonly primaryFingerprint: string;
}

/** The first listed ID naming the signing key or its primary key, or undefined. */
export function matchSigner(ids: readonly GpgId[], signer: SignerKeys): GpgId | undefined {
  return ids.find((id) => idMatchesKey(id, signer.fingerprint) || idMatchesKey(id, signer.primaryFingerprint));
}

/** Short IDs are easy to collide (a key made to share them): worth a warning when a door lists one. */
export const weakIds = (ids: readonly GpgId[]): GpgId[] => ids.filter((i) => i.kind === 'short');
