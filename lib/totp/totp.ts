// RFC 4226 HOTP and RFC 6238 TOTP with HMAC-SHA-1 and a 30 s step: what every authenticator app
// computes. Pure: the caller brings the secret and the clock (node:crypto's HMAC is a computation).

import { createHmac } from 'node:crypto';

export const TOTP_STEP_SECONDS = 30;

export type TotpDigits = 6 | 8;

/** The HOTP value of `counter` (RFC 4226 §5.3): `digits` decimal digits, zero-filled. */
export function hotp(secret: Uint8Array, counter: number, digits: TotpDigits): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(msg).digest();
  const offset = mac[19]! & 0x0f;
  const bin = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** The time step a wall-clock instant (epoch ms) falls in. */
export function totpStep(wallMs: number): number {
  return Math.floor(wallMs / 1000 / TOTP_STEP_SECONDS);
}

/** The code of a time step. */
export function totpCode(secret: Uint8Array, step: number, digits: TotpDigits): string {
  return hotp(secret, step, digits);
}
