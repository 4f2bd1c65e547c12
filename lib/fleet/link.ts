// This node's connection to the fleet's Redis: atomic claims (a script: set if absent, else the
// value found, judged by its seal), grants stored with their expiry and published on the fleet's
// channel, the live grants for a node that starts or comes back, member heartbeats, and a clock
// offset to Redis's clock. Everything written is sealed (sealer.ts); everything read is judged.
// Never waits long: a command Redis does not answer within COMMAND_MS marks it stalled (said
// once), after which the node decides alone at once until a probe is answered. ioredis reconnects
// by itself (following Sentinel failovers); this class reports the ups and downs once each.

import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { fleetKeys, type FleetNote, type GrantNote } from './notes.js';
import { readLiveGrants, type LiveGrant } from './reads.js';
import { ClockOffset } from './clock.js';
import { Sealer } from './sealer.js';
import { MAX_SEALED_BYTES } from './seal.js';
import type { Keyring } from './seal.js';

export type { LiveGrant, Member } from './reads.js';

/** How long a claim or publish may take before this node decides alone (ms). */
export const COMMAND_MS = 500;
/** Member heartbeat period; a member is listed while its key lives (3 periods). */
export const HEARTBEAT_MS = 5000;
/** While Redis is stalled, it is probed this often (ms). */
const PROBE_MS = 1000;
/** In Sentinel mode a won claim waits this long (ms) for a replica to hold it (WAIT 1). */
const REPLICA_MS = 100;


export type ClaimResult = 'won' | 'lost' | 'down';

export interface FleetSettings {
  readonly redis: RedisOptions;
  /** Through Redis Sentinel: claims wait (briefly) for a replica, so a failover keeps them. */
  readonly sentinel: boolean;
  readonly ring: Keyring;
  readonly name: string;
  readonly node: string;
}

export interface LinkEvents {
  /** A note from another node, sealed and fresh (this node's own are dropped); `bad` is why one was refused. */
  note(n: FleetNote): void;
  bad(why: string): void;
  /** Connected (again), answering again after a stall, or the channel is back: time to resynchronise. */
  up(how: 'connected' | 'answers' | 'channel'): void;
  /** Lost, or never reached: said once per outage. */
  down(why: string): void;
  /** Redis stopped answering (a command timed out after `ms`): said once per stall. */
  stalled(ms: number): void;
  /** Redis answered a command with an error: it was not done (the member retries what it must). */
  refused(why: string): void;
  /** Redis dropped the channel's subscriber while commands still work (once per loss). */
  channelLost(why: string, retryMs: number): void;
  /** The clock offset to Redis changed by more than a second (ms; positive: Redis is ahead); `followed`: within MAX_OFFSET_MS. */
  skew(offsetMs: number, followed: boolean): void;
}

/**
 * Set if absent (or if the value is the forged one named, or an oversized one: '!BIG'), else return
 * what is there; a value longer than ARGV[4] is never sent back, only '!BIG'.
 */
const CLAIM_LUA = `local t = redis.call('TYPE', KEYS[1]).ok
local n = 0
if t == 'string' then n = redis.call('STRLEN', KEYS[1]) end
local big = (t ~= 'string' and t ~= 'none') or n > tonumber(ARGV[4])
local cur = false
if not big then cur = redis.call('GET', KEYS[1]) end
if t == 'none' or (big and ARGV[3] == '!BIG') or ((not big) and ARGV[3] ~= '' and cur == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'OK'
end
if big then return '!BIG' end
return cur`;

const timedOut = (err: unknown) => err instanceof Error && /timed out/i.test(err.message);

function newLatch(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((r) => { open = r; });
  return { opened, open };
}


export class FleetLink {
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly keys: ReturnType<typeof fleetKeys>;
  readonly sealer: Sealer;
  private state: 'new' | 'up' | 'stalled' | 'down' = 'new';
  private lastError = '';
  private readonly clock = new ClockOffset();
  /** The offset last reported as skew (or 0). */
  private reported = 0;
  private beat: NodeJS.Timeout | undefined;
  private probe: NodeJS.Timeout | undefined;
  private readonly since = Date.now();
  private subLost = false;
  /** When established subscriptions were lost (ms): a storm of losses backs off further. */
  private subLosses: number[] = [];
  /** Opens once the subscriber listens on the fleet's channel; a new one after each loss. */
  private subscribed = newLatch();

  constructor(private readonly s: FleetSettings, private readonly events: LinkEvents) {
    this.keys = fleetKeys(s.name);
    this.sealer = new Sealer(s.ring, s.name, s.node, () => randomBytes(12));
    const common = { ...s.redis, connectTimeout: 2000, commandTimeout: COMMAND_MS, sentinelCommandTimeout: COMMAND_MS };
    // Commands fail at once while disconnected: a claim must not wait for Redis to come back.
    this.cmd = new Redis({
      ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: (times: number) => Math.min(250 * times, 2000),
    });
    // The subscriber subscribes itself each time it is ready (no ready check, no automatic
    // resubscribe: ioredis's ready check on a connection already in subscriber mode fails, and
    // the connection then came back deaf).
    this.sub = new Redis({
      ...common, commandTimeout: undefined, maxRetriesPerRequest: null, enableReadyCheck: false, autoResubscribe: false,
      retryStrategy: (times: number) => Math.max(Math.min(250 * times, 2000), this.stormDelay()),
    });
    this.cmd.on('ready', () => void this.ready());
    this.cmd.on('error', (err: Error) => { this.lastError = err.message; });
    this.cmd.on('close', () => this.lost());
    this.sub.on('error', () => { /* the command connection reports outages */ });
    this.sub.on('close', () => this.channelClosed());
    this.sub.on('ready', () => void this.sub.subscribe(this.keys.events).then(() => {
      this.subscribed.open();
      // Notes published while only this connection was down were missed: resynchronise.
      if (this.subLost && this.state === 'up') { this.subLost = false; this.events.up('channel'); }
      this.subLost = false;
    }, () => { /* the connection closed again: the next 'ready' subscribes */ }));
    this.sub.on('message', (_channel: string, text: string) => this.message(text));
    // Never reached at all: say so once, after the first connect attempt had its time.
    setTimeout(() => { if (this.state === 'new') this.lost(); }, 2500).unref();
  }

  get name(): string {
    return this.s.name;
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  /** Now on the fleet's clock (Redis's, within MAX_OFFSET_MS of this node's), in ms. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** A new keyring (the key file was read again): seals from now on use its signing key. */
  rekey(ring: Keyring): void {
    this.sealer.rekey(ring);
  }

  /** The sealed value a claim of `key` stores: kept by the caller, so a claim made again is recognised as its own. */
  claimValue(key: string, ttlMs: number): string {
    const now = this.now();
    return this.sealer.seal({ type: 'claim', node: this.s.node, key, until: now + ttlMs }, now);
  }

  /**
   * Claims `key` with `value` (claimValue): 'won' if this node is first (or the value there is this
   * very claim, made before), 'lost' if a genuine claim of another is there, 'down' without an
   * answer within COMMAND_MS. A forged or expired value found there is replaced.
   */
  async claim(key: string, ttlMs: number, value: string, also: readonly string[] = []): Promise<ClaimResult> {
    if (!this.isUp) return 'down';
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'down'>((r) => { timer = setTimeout(() => r('down'), COMMAND_MS); });
    try {
      return await Promise.race([this.claimUnder(key, ttlMs, value, also), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `also`: the same secret's names under the ring's other keys (a rollover): a genuine claim there counts too. */
  private async claimUnder(key: string, ttlMs: number, value: string, also: readonly string[]): Promise<ClaimResult> {
    for (const other of also) {
      let found: string | null;
      try {
        found = (await this.cmd.strlen(other)) > MAX_SEALED_BYTES ? null : await this.cmd.get(other);
      } catch (err) {
        this.failed(err);
        return 'down';
      }
      if (found === null) continue;
      if (this.sealer.claim(other, found, this.now()).ok) return 'lost';
    }
    return this.claimOnce(key, ttlMs, value);
  }

  private async claimOnce(key: string, ttlMs: number, value: string): Promise<ClaimResult> {
    let forged = '';
    for (let tries = 0; tries < 3; tries++) {
      let found: unknown;
      try {
        found = await this.cmd.eval(CLAIM_LUA, 1, key, value, String(Math.max(1, Math.round(ttlMs))), forged, String(MAX_SEALED_BYTES));
      } catch (err) {
        this.failed(err);
        return 'down';
      }
      if (found === 'OK') {
        // A failover promotes a replica: a claim only the old master held would be lost with it.
        if (this.s.sentinel) await this.cmd.wait(1, REPLICA_MS).catch(() => 0);
        return 'won';
      }
      if (found === value) return 'won'; // this claim, sent before (a stalled command that went through)
      const c = found === '!BIG' ? { ok: false as const, error: 'too long' } : this.sealer.claim(key, String(found), this.now());
      if (c.ok) return 'lost';
      this.events.bad(`stored claim: ${c.error}`);
      forged = String(found);
    }
    // Someone keeps writing forged values: decide alone (the local caches), claim again later.
    return 'down';
  }

  replayKey(digest: string): string {
    return this.keys.replay(digest);
  }

  oneTimeKey(door: string, sequence: string): string {
    return this.keys.oneTime(door, sequence);
  }

  /**
   * Tells the others of a grant now, then stores it until it expires (for nodes that start later).
   * Two commands, not one transaction: a Redis that refuses writes (out of memory) still delivers
   * the note. True when both were done.
   */
  async publishGrant(note: GrantNote): Promise<boolean> {
    if (!this.isUp) return false;
    const text = this.sealer.seal(note, this.now());
    const [published, stored] = await Promise.all([
      this.cmd.publish(this.keys.events, text).then(() => true, (err: unknown) => { this.failed(err); return false; }),
      this.cmd.set(this.keys.grant(note.node, note.id), text, 'PX', note.timeout * 1000)
        .then(() => true, (err: unknown) => { this.failed(err); return false; }),
    ]);
    return published && stored;
  }

  /** The clock offset to Redis that is followed (ms; add to local wall time for fleet time): 0 when too far off. */
  get offsetMs(): number {
    return this.clock.used;
  }

  /** Publishes a note on the fleet's channel (one command); false without Redis. */
  async publishNote(note: FleetNote): Promise<boolean> {
    if (!this.isUp) return false;
    try {
      await this.cmd.publish(this.keys.events, this.sealer.seal(note, this.now()));
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  /** The fleet's live grants with the time each has left (sealed, under their own key, not over); `skipped` hears of the others. */
  liveGrants(skipped: (why: string) => void): Promise<LiveGrant[]> {
    return readLiveGrants(this.cmd, this.keys, this.sealer, () => this.now(), skipped);
  }

  async close(): Promise<void> {
    if (this.beat) clearInterval(this.beat);
    if (this.probe) clearInterval(this.probe);
    this.state = 'down';
    // A polite QUIT when Redis answers; without Redis a queued QUIT would wait for it: never past 1 s.
    await Promise.race([Promise.allSettled([this.cmd.quit(), this.sub.quit()]), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  private async ready(): Promise<void> {
    try {
      // Listening before anything is loaded: a note published meanwhile is heard, not missed.
      await Promise.race([this.subscribed.opened, new Promise((r) => setTimeout(r, 3000).unref())]);
      for (let i = 0; i < 4; i++) await this.sampleClock(); // a few quick samples: the best round trip counts
      await this.heartbeat();
    } catch (err) {
      this.lastError = (err as Error).message;
      return; // 'close' follows, or the next 'ready'
    }
    this.state = 'up';
    this.beat ??= setInterval(() => void this.heartbeat().catch((err: unknown) => this.failed(err)), HEARTBEAT_MS);
    this.beat.unref();
    this.events.up('connected');
  }

  /** Refreshes this node's member key and samples the clock offset to Redis. */
  private async heartbeat(): Promise<void> {
    if (this.state === 'stalled') return; // the probe asks
    await this.sampleClock();
    const offset = Math.round(this.clock.offset);
    if (Math.abs(offset - this.reported) > 1000) { this.reported = offset; this.events.skew(offset, this.clock.followed); }
    const now = this.now();
    const member = this.sealer.seal({ type: 'member', node: this.s.node, since: this.since }, now);
    await this.cmd.set(this.keys.member(this.s.node), member, 'PX', 3 * HEARTBEAT_MS);
  }

  private async sampleClock(): Promise<void> {
    const t0 = performance.now(), before = Date.now();
    const [sec, usec] = await this.cmd.time();
    const rtt = performance.now() - t0;
    this.clock.add({ offset: Number(sec) * 1000 + Number(usec) / 1000 - (before + rtt / 2), rtt });
  }

  /** A command failed: a timeout while connected means Redis stopped answering. */
  private failed(err: unknown): void {
    if (this.state !== 'up') return;
    // An error reply (WRONGTYPE, OOM, READONLY after a failover): the link is up, the command was not done.
    if (!timedOut(err)) { this.events.refused((err as Error).message?.split('\n')[0] ?? String(err)); return; }
    this.state = 'stalled';
    this.events.stalled(COMMAND_MS);
    const stalledAt = Date.now();
    this.probe = setInterval(() => {
      void this.cmd.ping().then(() => {
        if (this.state !== 'stalled') return;
        clearInterval(this.probe);
        this.probe = undefined;
        this.state = 'up';
        this.lastError = `answered again after ${((Date.now() - stalledAt) / 1000).toFixed(1)} s`;
        this.events.up('answers');
      }, () => { /* still stalled */ });
    }, PROBE_MS);
    this.probe.unref();
  }

  private lost(): void {
    if (this.probe) { clearInterval(this.probe); this.probe = undefined; }
    if (this.state === 'down') return;
    this.state = 'down';
    this.events.down(this.lastError || 'connection closed');
  }

  /** Extra wait before listening again after a storm of dropped subscriptions (ms). */
  private stormDelay(): number {
    const now = Date.now();
    this.subLosses = this.subLosses.filter((t) => now - t < 60_000);
    const n = this.subLosses.length;
    return n < 2 ? 0 : Math.min(250 * 2 ** (n - 1), 30_000);
  }

  private channelClosed(): void {
    if (this.subLost) return; // a reconnect attempt that failed: the same outage
    this.subLost = true;
    this.subscribed = newLatch();
    if (this.state !== 'up') return; // the command connection reports this outage
    this.subLosses.push(Date.now());
    this.events.channelLost(this.lastError || 'connection closed by Redis', Math.max(250, this.stormDelay()));
  }

  private message(text: string): void {
    const r = this.sealer.live(text, this.now());
    if (!r.ok) { this.events.bad(r.error); return; }
    if (r.note.node === this.s.node) return;
    this.events.note(r.note);
  }
}
