// Refused SPA messages, summed for webhooks: a flood of junk becomes at most one 'refusals' event
// per period, never one delivery per packet. Memory is one counter per reason of the fixed list.
// Pure: the (monotonic) time in ms comes in as an argument.

import { REFUSAL_REASONS, type RefusalReason, type SesameEvent } from './types.js';

export const DEFAULT_SUMMARY_PERIOD_MS = 60_000;

export type RefusalsEvent = Extract<SesameEvent, { type: 'refusals' }>;

export class RefusalSummary {
  private readonly counts = new Array<number>(REFUSAL_REASONS.length).fill(0);
  private total = 0;
  /** When the summed refusals began: the first of them, or the last summary if that was within a period. */
  private since = 0;
  private lastSent: number | undefined;

  constructor(private readonly periodMs = DEFAULT_SUMMARY_PERIOD_MS) {}

  add(reason: RefusalReason, nowMs: number): void {
    const i = REFUSAL_REASONS.indexOf(reason);
    if (i < 0) return;
    if (this.total === 0) {
      this.since = this.lastSent !== undefined && nowMs - this.lastSent < this.periodMs ? this.lastSent : nowMs;
    }
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.total++;
  }

  /** The summary if one is due: something was refused and the last one is a period old. Resets the counts. */
  due(nowMs: number): RefusalsEvent | undefined {
    if (this.total === 0) return undefined;
    if (this.lastSent !== undefined && nowMs - this.lastSent < this.periodMs) return undefined;
    const counts: Partial<Record<RefusalReason, number>> = {};
    REFUSAL_REASONS.forEach((r, i) => {
      const n = this.counts[i] ?? 0;
      if (n > 0) counts[r] = n;
      this.counts[i] = 0;
    });
    this.total = 0;
    this.lastSent = nowMs;
    return { type: 'refusals', seconds: Math.max(1, Math.ceil((nowMs - this.since) / 1000)), counts };
  }
}
