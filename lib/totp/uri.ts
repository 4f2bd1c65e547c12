// otpauth:// URIs (Google Authenticator's key URI format), as authenticator apps scan them.

import { base32Decode, base32Encode } from './base32.js';
import { TOTP_STEP_SECONDS, type TotpDigits } from './totp.js';

export interface TotpUri {
  readonly label: string;
  readonly secret: Uint8Array;
  readonly issuer: string;
  readonly digits: TotpDigits;
}

export function totpUri(u: TotpUri): string {
  const q = `secret=${base32Encode(u.secret)}&issuer=${encodeURIComponent(u.issuer)}&algorithm=SHA1` +
    `&digits=${u.digits}&period=${TOTP_STEP_SECONDS}`;
  return `otpauth://totp/${encodeURIComponent(u.issuer)}:${encodeURIComponent(u.label)}?${q}`;
}

/** Reads a URI back (what --provision printed, in the tests); undefined if it is not a TOTP URI. */
export function parseTotpUri(text: string): TotpUri | undefined {
  const m = /^otpauth:\/\/totp\/([^?]*)\?(.*)$/.exec(text.trim());
  if (!m) return undefined;
  let label: string;
  try {
    label = decodeURIComponent(m[1]!);
  } catch {
    return undefined; // a stray % sign
  }
  const q = new URLSearchParams(m[2]);
  const secret = base32Decode(q.get('secret') ?? '');
  const digits = Number(q.get('digits') ?? '6');
  if (!secret || (digits !== 6 && digits !== 8)) return undefined;
  if ((q.get('algorithm') ?? 'SHA1').toUpperCase() !== 'SHA1' || Number(q.get('period') ?? TOTP_STEP_SECONDS) !== TOTP_STEP_SECONDS) {
    return undefined;
  }
  const issuer = q.get('issuer') ?? label.split(':')[0]!;
  return { label: label.includes(':') ? label.slice(label.indexOf(':') + 1) : label, secret, issuer, digits };
}
