// A TOTP door's code, judged when its last knock lands: it must be the code of the current 30 s
// step or of one of the TOTP_Window steps before it, and not used yet. A used code is a replay
// digest of (door, step) in the SPA replay cache, so it is kept across restarts and claimed across a
// fleet the way an SPA packet's digest is. Pure: the caller brings the wall clock.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { Door } from '../config/types.js';
import { b64 } from '../spa/base64.js';
import type { ReplayCache } from '../spa/replay.js';
import { totpCode, totpStep } from '../totp/totp.js';

export type TotpVerdict =
  | { readonly ok: true; readonly step: number; readonly digest: string }
  | { readonly ok: false; readonly reason: string };

/** The digest marking a door's code of one time step as used. */
export function totpDigest(door: string, step: number): string {
  return b64(createHash('sha256').update(`sesame totp\0${door}\0${step}`, 'utf8').digest());
}

export function judgeTotp(door: Door, code: string, wall: number, replay: ReplayCache): TotpVerdict {
  const t = door.totp;
  if (!t) return { ok: false, reason: 'not a TOTP door' };
  const now = totpStep(wall);
  let used: string | undefined;
  for (let step = now; step >= now - t.window; step--) {
    const want = Buffer.from(totpCode(t.secret, step, t.digits));
    if (code.length !== want.length || !timingSafeEqual(Buffer.from(code), want)) continue;
    const digest = totpDigest(door.name, step);
    const seen = replay.seen(digest, wall);
    if (!seen) return { ok: true, step, digest };
    used ??= `code already used (first by ${seen.source} at ${new Date(seen.firstSeen).toISOString()})`;
  }
  return { ok: false, reason: used ?? 'wrong code' };
}
