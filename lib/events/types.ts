// What Sesame tells the world it did: the events a webhook or Event_Command receives, and the ones
// the metrics count. The engine emits grants, stages, refusals and bans as 'event' effects; the
// shell adds what only it sees (firewall repairs, Redis going down and up). Pure: types only.

/** How a grant came about (sesame_grants_total's `kind`). */
export type GrantKind = 'knock' | 'spa' | 'nat' | 'fleet' | 'totp';
export const GRANT_KINDS: readonly GrantKind[] = ['knock', 'spa', 'nat', 'fleet', 'totp'];

/** Why an SPA message was refused (sesame_spa_refused_total's `reason`): a fixed list, never the text. */
export type RefusalReason = 'hmac' | 'replay' | 'age' | 'decode' | 'policy' | 'gpg' | 'http' | 'busy' | 'disk';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['hmac', 'replay', 'age', 'decode', 'policy', 'gpg', 'http', 'busy', 'disk'];

export type SesameEvent =
  /** Access granted: `ports` as `tcp/22` (NAT: `tcp/2222 -> 10.0.0.5:22`), for `seconds`. */
  | {
    readonly type: 'grant'; readonly door: string; readonly kind: GrantKind; readonly address: string;
    readonly ports: readonly string[]; readonly seconds: number;
  }
  /** A knock reached stage `stage` (1-based) of a door's sequence (metrics only). */
  | { readonly type: 'stage'; readonly door: string; readonly stage: number }
  /** An SPA message was refused (metrics; webhooks get a rate-limited summary: 'refusals'). */
  | { readonly type: 'spa-refused'; readonly reason: RefusalReason }
  /** A source (an IPv6 /64 as `prefix/64`) was banned at `door` for `seconds` after `failures` failures. */
  | { readonly type: 'ban'; readonly door: string; readonly address: string; readonly seconds: number; readonly failures: number }
  /** The firewall was found changed and put right: `what` is 'table', 'grants', 'kernel-table', ... */
  | { readonly type: 'firewall-repaired'; readonly what: string; readonly detail: string }
  /** The fleet's Redis became unreachable, or reachable again. */
  | { readonly type: 'fleet-redis'; readonly up: boolean }
  /** Refused SPA messages over the last `seconds`, by reason (the webhook's summary of 'spa-refused'). */
  | { readonly type: 'refusals'; readonly seconds: number; readonly counts: Readonly<Partial<Record<RefusalReason, number>>> };

export type EventType = SesameEvent['type'];

/** The events sent to a webhook or Event_Command ('stage' and 'spa-refused' are only counted; refusals go as summaries). */
export const DELIVERED: ReadonlySet<EventType> = new Set<EventType>(['grant', 'ban', 'firewall-repaired', 'fleet-redis', 'refusals']);
