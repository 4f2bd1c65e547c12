// The replay cache: SHA-256 of the received wire text. Only packets that passed an HMAC are kept
// (persisted, held for the whole age window), as fwknopd caches only what it decrypted: junk never
// enters it, so a flood can neither grow it nor push a real packet's digest out, and junk costs
// no digest at all. Pure: the caller brings the clock.

import { createHash } from 'node:crypto';
import { b64 } from './base64.js';

export function replayDigest(wire: string): string {
  return b64(createHash('sha256').update(wire, 'latin1').digest());
}

export interface ReplayEntry {
  readonly digest: string;
  /** Wall-clock ms when first seen. */
  readonly firstSeen: number;
  /** Source address of the first packet, for the log. */
  readonly source: string;
}

/** The refusal of a replay, naming where and when the digest was first seen. */
export function replayRefusal(seen: ReplayEntry): string {
  return `replay detected (first seen from ${seen.source} at ${new Date(seen.firstSeen).toISOString()})`;
}

export interface ReplayOptions {
  /** How long an authenticated digest is kept: past it, the timestamp check refuses the packet. */
  readonly windowMs: number;
  readonly maxAuthenticated?: number;
}

export class ReplayCache {
  private readonly auth = new Map<string, ReplayEntry>();
  readonly windowMs: number;
  private readonly maxAuth: number;
  /** Authenticated entries dropped early because the cache was full (a bound that should never bite). */
  evicted = 0;

  constructor(opts: ReplayOptions) {
    this.windowMs = opts.windowMs;
    this.maxAuth = opts.maxAuthenticated ?? 65_536;
  }

  get size(): number {
    return this.auth.size;
  }

  seen(digest: string, now: number): ReplayEntry | undefined {
    const a = this.auth.get(digest);
    return a && now - a.firstSeen <= this.windowMs ? a : undefined;
  }

  /** The packet passed an HMAC: keep its digest for the whole window. True if it was new there. */
  keep(digest: string, source: string, now: number): boolean {
    if (this.auth.has(digest)) return false;
    this.auth.set(digest, { digest, firstSeen: now, source });
    this.prune(now);
    while (this.auth.size > this.maxAuth) {
      this.auth.delete(this.auth.keys().next().value!);
      this.evicted++;
    }
    return true;
  }

  /** Takes back a digest just kept (its write to disk failed, so nothing was granted on it). */
  forget(digest: string): void {
    this.auth.delete(digest);
  }

  /** Drops authenticated entries older than the window (their packets are stale anyway). */
  prune(now: number): void {
    for (const [d, e] of this.auth) {
      if (now - e.firstSeen > this.windowMs) this.auth.delete(d);
    }
  }

  kept(): ReplayEntry[] {
    return [...this.auth.values()];
  }

  /** Loads persisted entries, skipping expired ones and any that are not well-formed. */
  load(entries: readonly unknown[], now: number): void {
    for (const x of entries) {
      const e = x as Partial<ReplayEntry> | null;
      if (!e || typeof e.digest !== 'string' || !/^[A-Za-z0-9+/]{43}$/.test(e.digest)) continue;
      if (typeof e.firstSeen !== 'number' || !Number.isFinite(e.firstSeen)) continue;
      if (now - e.firstSeen > this.windowMs || e.firstSeen > now + this.windowMs) continue;
      const source = typeof e.source === 'string' && e.source.length <= 64 ? e.source : '?';
      this.auth.set(e.digest, { digest: e.digest, firstSeen: e.firstSeen, source });
    }
    while (this.auth.size > this.maxAuth) this.auth.delete(this.auth.keys().next().value!);
  }
}
