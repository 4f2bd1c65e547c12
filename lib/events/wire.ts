// What a webhook receiver or an Event_Command gets (docs/events.md): the JSON body of an event,
// the X-Sesame-* headers, and the HMAC-SHA-256 signature over "<timestamp>.<body>" with its check.
// Pure: the time, the node's name and the delivery id come in as arguments.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { REFUSAL_REASONS, type EventType, type SesameEvent } from './types.js';

/** The body's format version: a receiver refuses what it does not know. */
export const WIRE_VERSION = 1;

export const HEADER_EVENT = 'X-Sesame-Event';
export const HEADER_TIMESTAMP = 'X-Sesame-Timestamp';
export const HEADER_SIGNATURE = 'X-Sesame-Signature';
export const HEADER_DELIVERY = 'X-Sesame-Delivery';
export const SIGNATURE_PREFIX = 'sha256=';
/** How far (s) a signed timestamp may be from the receiver's clock, either way. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

type Field = string | number | boolean | readonly string[] | Readonly<Record<string, number>>;

/** The event's own fields, in a fixed order whatever order the object was built in. */
function fields(e: SesameEvent, wallMs: number): [string, Field][] {
  switch (e.type) {
    case 'grant':
      return [['door', e.door], ['kind', e.kind], ['address', e.address], ['ports', [...e.ports]], ['seconds', e.seconds],
        ['expires', new Date(wallMs + e.seconds * 1000).toISOString()]];
    case 'stage': return [['door', e.door], ['stage', e.stage]];
    case 'spa-refused': return [['reason', e.reason]];
    case 'ban': return [['door', e.door], ['address', e.address], ['seconds', e.seconds], ['failures', e.failures]];
    case 'firewall-repaired': return [['what', e.what], ['detail', e.detail]];
    case 'fleet-redis': return [['up', e.up]];
    case 'refusals': {
      const counts: Record<string, number> = {};
      for (const r of REFUSAL_REASONS) {
        const n = e.counts[r];
        if (n !== undefined && n > 0) counts[r] = n;
      }
      return [['seconds', e.seconds], ['counts', counts]];
    }
  }
}

/**
 * The JSON sent for an event: version, type, time (ISO 8601 UTC), node, the delivery id when given,
 * then the event's fields. The id is in the body so the signature covers it: a captured request
 * replayed with another X-Sesame-Delivery is still a duplicate a receiver can drop.
 */
export function eventBody(e: SesameEvent, at: { wallMs: number; node: string; delivery?: string }): string {
  const o: Record<string, Field> = { version: WIRE_VERSION, type: e.type, time: new Date(at.wallMs).toISOString(), node: at.node };
  if (at.delivery !== undefined) o['delivery'] = at.delivery;
  for (const [k, v] of fields(e, at.wallMs)) o[k] = v;
  return JSON.stringify(o);
}

/** `sha256=<hex>` of HMAC-SHA-256(secret, "<timestamp>.<body>"); timestamp in unix seconds. */
export function signEvent(secret: Uint8Array, timestamp: number, body: string | Uint8Array): string {
  return SIGNATURE_PREFIX + mac(secret, String(Math.floor(timestamp)), body).toString('hex');
}

function mac(secret: Uint8Array, timestamp: string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(timestamp + '.').update(body).digest();
}

const TIMESTAMP = /^[0-9]{1,12}$/;
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Whether a delivery is authentic and fresh: the timestamp header is unix seconds within
 * `toleranceSeconds` of `nowSeconds`, and the signature header is this body's signature under
 * `secret`, compared in constant time. A missing or malformed header is refused.
 */
export function verifyEvent(
  secret: Uint8Array, timestampHeader: string | undefined, body: string | Uint8Array, signatureHeader: string | undefined,
  nowSeconds: number, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): boolean {
  if (timestampHeader === undefined || signatureHeader === undefined || !TIMESTAMP.test(timestampHeader)) return false;
  const hex = SIGNATURE.exec(signatureHeader)?.[1];
  if (hex === undefined) return false;
  if (!(Math.abs(nowSeconds - Number(timestampHeader)) <= toleranceSeconds)) return false;
  const given = Buffer.from(hex, 'hex');
  const expected = mac(secret, timestampHeader, body);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface HeaderInput {
  readonly type: EventType;
  readonly delivery: string;
  /** Unix seconds of this attempt (a retry is signed anew, so it stays within the tolerance). */
  readonly timestamp: number;
  readonly body: string;
  /** Signs when given. */
  readonly secret?: Uint8Array;
}

/** The X-Sesame-* headers of one delivery attempt. */
export function eventHeaders(h: HeaderInput): Record<string, string> {
  const out: Record<string, string> = {
    [HEADER_EVENT]: h.type,
    [HEADER_TIMESTAMP]: String(Math.floor(h.timestamp)),
    [HEADER_DELIVERY]: h.delivery,
  };
  if (h.secret !== undefined) out[HEADER_SIGNATURE] = signEvent(h.secret, h.timestamp, h.body);
  return out;
}
