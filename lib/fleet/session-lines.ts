// The log lines of a catch-up and a resync (session.ts), from their tallies. Pure.

import type { Resync } from './session.js';
import type { Tally } from './session-types.js';

const s = (n: number) => (n === 1 ? '' : 's');

/** After a retry while Redis is up: quiet unless something was caught up. */
export function retryLine(t: Tally): string | undefined {
  if (t.made + t.lost + t.shared === 0) return undefined;
  return `fleet: ${t.made} claim${s(t.made)} made after the fact, ${t.shared} grant${s(t.shared)} shared`;
}

/** How Redis came back: first connected, answering again after a stall or loss, or the channel back. */
export type UpHow = 'connected' | 'answers' | 'channel';

export interface ResyncFacts {
  readonly how: UpHow;
  /** Redis as logged (redisLabel), the fleet's name, this node's. */
  readonly label: string;
  readonly fleet: string;
  readonly node: string;
  readonly resync: Resync;
  readonly tally: Tally;
  /** Claims and shares dropped while Redis was away (SessionPending.takeDropped). */
  readonly dropped: number;
}

/** The line of a resync; the channel's return (its loss was logged) is quiet unless something was caught up. */
export function resyncLine(f: ResyncFacts): string | undefined {
  const { loaded, skipped } = f.resync, { made, shared } = f.tally;
  const extra = f.dropped ? `; ${f.dropped} older ones were not kept` : '';
  // Refused stored values stay in Redis until they expire: summed up in one line per resync.
  const nSkipped = [...skipped.values()].reduce((a, b) => a + b, 0);
  const refusedText = nSkipped
    ? ` (${nSkipped} stored value${s(nSkipped)} refused: ${[...skipped].map(([r, k]) => `${k} ${r}`).join(', ')})`
    : '';
  const counts = `${loaded} live grant${s(loaded)} loaded${refusedText}, ${shared} shared, ` +
    `${made} claim${s(made)} made after the fact${extra}`;
  if (f.how === 'connected') return `fleet: joined ${f.fleet} as node ${f.node} (Redis ${f.label}); ${counts}`;
  if (f.how === 'answers') return `fleet: Redis at ${f.label} answers again; ${counts}`;
  return loaded + shared + made ? `fleet: listening again; ${counts}` : undefined;
}
