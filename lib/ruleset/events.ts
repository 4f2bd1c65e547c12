// The NFLOG prefixes the ruleset writes and the daemon reads back: `sesame <gen> <door> <kind>
// <stage>`, e.g. `sesame 3 d0v0 s 2` (door 0, version 0, reached stage 2). Pure; the parser
// is strict because the prefix comes from the kernel but could come from another table's rule.

import { EVENT_TAG, type KernelDoor } from './spec.js';

export type KernelEventKind = 'stage' | 'open' | 'reset' | 'spa';

export interface KernelEvent {
  readonly generation: number;
  readonly kind: KernelEventKind;
  /** Door index and version; undefined for SPA datagrams. */
  readonly door?: { readonly index: number; readonly version: number };
  /** Stage reached (stage, open) or held when reset. */
  readonly stage: number;
}

const KINDS: Record<string, KernelEventKind> = { s: 'stage', o: 'open', r: 'reset', spa: 'spa' };

export function eventPrefix(generation: number, door: KernelDoor | undefined, kind: 's' | 'o' | 'r' | 'spa', stage: number): string {
  const who = door ? `d${door.index}v${door.version}` : '-';
  return `${EVENT_TAG} ${generation} ${who} ${kind} ${stage}`;
}

const PREFIX = /^sesame (\d{1,9}) (?:d(\d{1,5})v(\d{1,9})|-) (s|o|r|spa) (\d{1,3})$/;

/** The event an NFLOG prefix names; undefined for anything else. */
export function parseEventPrefix(prefix: string): KernelEvent | undefined {
  const m = PREFIX.exec(prefix);
  if (!m) return undefined;
  const kind = KINDS[m[4]!]!;
  const hasDoor = m[2] !== undefined;
  if ((kind === 'spa') === hasDoor) return undefined;
  const base = { generation: Number(m[1]), kind, stage: Number(m[5]) };
  return hasDoor ? { ...base, door: { index: Number(m[2]), version: Number(m[3]) } } : base;
}
