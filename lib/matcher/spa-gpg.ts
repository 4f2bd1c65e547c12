// GnuPG SPA in the gate: the checks that need no gpg before (shape, each door's HMAC, the replay
// cache: junk and replays never reach gpg), and the verdict after (the signature against the
// door's Remote_IDs, the fields, the replay cache again) — gpg itself runs in the shell (lib/gpg).
// Doors are tried in config order, as fwknopd tries its stanzas.

import type { Door } from '../config/types.js';
import { openGpgWire, type GpgShapeError } from '../spa/gpg-framing.js';
import { judgeSignature, SIG_REFUSAL_TEXT, type GpgSignature } from '../spa/gpg-policy.js';
import { decodePlaintext } from '../spa/message.js';
import { replayDigest, replayRefusal, type ReplayCache } from '../spa/replay.js';
import { fieldRefusal, judgeFields } from './spa-judge.js';
import type { Client, GateResult, SpaGpgWork, SpaPacket, SpaRefusal } from './spa-verdicts.js';

/** What the shell found: a door's gpg decrypted a reading, or why none did. */
export type GpgOutcome =
  | { readonly ok: true; readonly doorIndex: number; readonly plaintext: Uint8Array; readonly signature: GpgSignature }
  | { readonly ok: false; readonly reason: string };

const SHAPE_TEXT: Readonly<Record<GpgShapeError, string>> = {
  'too-short': 'too short for GnuPG SPA',
  'too-long': 'packet too long for SPA',
  prefix: 'bad packet format (starts with the GnuPG prefix hQ)',
  'not-base64': 'not an SPA packet (not base64)',
};

/** A GnuPG-sized wire: the work for gpg, or a refusal. `doors` are the candidates with SPA_GPG_ keys. */
export function gpgWork(
  p: SpaPacket, client: Client, doors: readonly { door: Door; index: number }[], cache: ReplayCache, nowMs: number,
): GateResult {
  const refuse = (reason: string, door?: Door): GateResult => ({ verdict: { type: 'refused', src: p.src, door, reason }, kept: false });
  const tries: { door: Door; doorIndex: number; messages: Uint8Array[] }[] = [];
  let authenticated = false;
  for (const { door, index } of doors) {
    const spa = door.spa!;
    const r = openGpgWire(p.payload, spa.hmacKey && { key: spa.hmacKey, digest: spa.hmacDigest });
    if (!r.ok) {
      if (r.error === 'hmac' || r.error === 'no-header') continue;
      return refuse(SHAPE_TEXT[r.error]);
    }
    tries.push({ door, doorIndex: index, messages: r.candidates.map((c) => c.message) });
    // An HMAC picks its door: the wire is authentic, no other door need try.
    if (spa.hmacKey) { authenticated = true; tries.splice(0, tries.length - 1); break; }
  }
  if (tries.length === 0) return refuse('HMAC mismatch (GnuPG)');
  const digest = replayDigest(p.payload);
  const seen = cache.seen(digest, nowMs);
  if (seen) return refuse(replayRefusal(seen));
  const kept = authenticated && cache.keep(digest, client.ip, nowMs);
  const work: SpaGpgWork = { type: 'gpg', src: p.src, packet: p, client, digest, authenticated, tries };
  return { verdict: work, kept };
}

/** The verdict once gpg is done; `kept` when a digest joined the replay cache (persist it). */
export function gpgVerdict(work: SpaGpgWork, outcome: GpgOutcome, cache: ReplayCache, nowMs: number): GateResult {
  const tried = work.tries.find((t) => outcome.ok && t.doorIndex === outcome.doorIndex);
  const door = tried?.door ?? (work.tries.length === 1 ? work.tries[0]!.door : undefined);
  const refused = (reason: string, kept = false): GateResult =>
    ({ verdict: { type: 'refused', src: work.src, door, reason } satisfies SpaRefusal, kept });
  if (!outcome.ok || !tried) return refused(`GnuPG: ${outcome.ok ? 'no such door' : outcome.reason}`);
  const gpg = tried.door.spa!.gpg!;
  const sig = judgeSignature(outcome.signature, { requireSig: gpg.requireSig, remoteIds: gpg.remoteIds });
  if (!sig.ok) return refused(`GnuPG: ${SIG_REFUSAL_TEXT[sig.reason]}`);
  // Decrypted and signed as the door asks: the wire digest is kept now if no HMAC kept it, and the
  // plaintext's too (without an HMAC one message can be framed as several wire texts).
  const again = cache.seen(work.digest, nowMs);
  if (again && !work.authenticated) return refused(replayRefusal(again));
  const inner = replayDigest(`gpg:${Buffer.from(outcome.plaintext).toString('latin1')}`);
  const innerSeen = cache.seen(inner, nowMs);
  if (innerSeen) return refused(replayRefusal(innerSeen));
  let kept = work.authenticated;
  if (!work.authenticated) kept = cache.keep(work.digest, work.client.ip, nowMs) || kept;
  kept = cache.keep(inner, work.client.ip, nowMs) || kept;
  const f = decodePlaintext(Buffer.from(outcome.plaintext).toString('latin1'));
  if (!f.ok) return refused(fieldRefusal(f.error), kept);
  const v = judgeFields(work.packet, work.client, tried.door, tried.doorIndex, f.fields, nowMs);
  return { verdict: v.type === 'refused' ? v : { ...v, digest: work.digest }, kept };
}
