// A TOTP secret file: one line of base32 (authenticator apps' form), at least 80 bits as RFC 4226
// asks (128 or more recommended; --new-secret writes 160, the HMAC-SHA-1 block's worth).

import { base32Decode } from './base32.js';

export const MIN_SECRET_BYTES = 10;
/** The largest secret file read: one line of base32, and comments. */
export const MAX_SECRET_FILE_BYTES = 4096;
export const NEW_SECRET_BYTES = 20;

export type SecretRead = { readonly ok: true; readonly secret: Uint8Array } | { readonly ok: false; readonly error: string };

export function parseSecretFile(text: string): SecretRead {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) return { ok: false, error: `holds ${lines.length} lines of secret; one line of base32 is expected` };
  const secret = base32Decode(lines[0]!);
  if (!secret) return { ok: false, error: 'is not base32 (A-Z and 2-7)' };
  if (secret.length < MIN_SECRET_BYTES) {
    return { ok: false, error: `holds ${secret.length * 8} bits; at least ${MIN_SECRET_BYTES * 8} are needed` };
  }
  return { ok: true, secret };
}
