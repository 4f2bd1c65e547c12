// This node's connection to the fleet's Redis: atomic claims (SET NX with expiry), grants stored
// with their expiry and published on the fleet's channel, the live grants for a node that starts
// or comes back, member heartbeats, and a clock offset to Redis's clock. Never waits long: a
// command that Redis does not answer within COMMAND_MS counts as "Redis unreachable" and the
// caller serves alone. ioredis reconnects by itself; this class reports the ups and downs once.

import { Redis } from 'ioredis';
import { decodeNote, encodeNote, fleetKeys, type FleetNote, type GrantNote } from './notes.js';
import { readLiveGrants, type LiveGrant } from './reads.js';
import { ClockOffset } from './clock.js';

export type { LiveGrant, Member } from './reads.js';

/** How long a claim or publish may take before this node decides alone. */
export const COMMAND_MS = 500;
/** Member heartbeat period; a member is listed while its key lives (3 periods). */
export const HEARTBEAT_MS = 5000;

export type ClaimResult = 'won' | 'lost' | 'down';

export interface FleetSettings {
  readonly url: string;
  readonly password: string | undefined;
  readonly name: string;
  readonly node: string;
}

export interface LinkEvents {
  /** A note from another node (this node's own are dropped); `bad` is why one was refused. */
  note(n: FleetNote): void;
  bad(why: string): void;
  /** Connected (again): time to resynchronise. */
  up(): void;
  /** Lost, or never reached: said once per outage. */
  down(why: string): void;
  /** The clock offset to Redis changed by more than a second (ms; positive: Redis is ahead). */
  skew(offsetMs: number): void;
}

function newLatch(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((r) => { open = r; });
  return { opened, open };
}


export class FleetLink {
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly keys: ReturnType<typeof fleetKeys>;
  private state: 'new' | 'up' | 'down' = 'new';
  private lastError = '';
  private readonly clock = new ClockOffset();
  /** The offset last reported as skew (or 0). */
  private reported = 0;
  private beat: NodeJS.Timeout | undefined;
  private readonly since = Date.now();
  private subLost = false;
  /** Opens once the subscriber listens on the fleet's channel; a new one after each loss. */
  private subscribed = newLatch();

  constructor(private readonly s: FleetSettings, private readonly events: LinkEvents) {
    this.keys = fleetKeys(s.name);
    const common = {
      password: s.password, connectTimeout: 2000, commandTimeout: COMMAND_MS,
      retryStrategy: (times: number) => Math.min(250 * times, 2000),
    };
    // Commands fail at once while disconnected: a claim must not wait for Redis to come back.
    this.cmd = new Redis(s.url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    // The subscriber subscribes itself each time it is ready (no ready check, no automatic
    // resubscribe: ioredis's ready check on a connection already in subscriber mode fails, and
    // the connection then came back deaf).
    this.sub = new Redis(s.url, { ...common, commandTimeout: undefined, maxRetriesPerRequest: null, enableReadyCheck: false, autoResubscribe: false });
    this.cmd.on('ready', () => void this.ready());
    this.cmd.on('error', (err: Error) => { this.lastError = err.message; });
    this.cmd.on('close', () => this.lost());
    this.sub.on('error', () => { /* the command connection reports outages */ });
    this.sub.on('close', () => { if (!this.subLost) { this.subLost = true; this.subscribed = newLatch(); } });
    this.sub.on('ready', () => void this.sub.subscribe(this.keys.events).then(() => {
      this.subscribed.open();
      // Notes published while only this connection was down were missed: resynchronise.
      if (this.subLost && this.state === 'up') { this.subLost = false; this.events.up(); }
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

  /** Now on the fleet's clock (Redis's), in ms. */
  now(): number {
    return Date.now() + this.clock.offset;
  }

  /** SET NX with expiry: 'won' if this node is first, 'lost' if another was, 'down' without Redis. */
  async claim(key: string, ttlMs: number): Promise<ClaimResult> {
    if (!this.isUp) return 'down';
    try {
      const r = await this.cmd.set(key, this.s.node, 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
      return r === 'OK' ? 'won' : 'lost';
    } catch {
      return 'down';
    }
  }

  replayKey(digest: string): string {
    return this.keys.replay(digest);
  }

  oneTimeKey(door: string, sequence: string): string {
    return this.keys.oneTime(door, sequence);
  }

  /** Stores a grant until it expires (for nodes that start later) and tells the others now. */
  async publishGrant(note: GrantNote): Promise<boolean> {
    if (!this.isUp) return false;
    const text = encodeNote(note);
    try {
      await this.cmd.multi().set(this.keys.grant(note.node, note.id), text, 'PX', note.timeout * 1000).publish(this.keys.events, text).exec();
      return true;
    } catch {
      return false;
    }
  }

  /** The clock offset to Redis (ms; add to local wall time for fleet time). */
  get offsetMs(): number {
    return this.clock.offset;
  }

  /** Publishes a note on the fleet's channel (one command); false without Redis. */
  async publishNote(note: FleetNote): Promise<boolean> {
    if (!this.isUp) return false;
    try {
      await this.cmd.publish(this.keys.events, encodeNote(note));
      return true;
    } catch {
      return false;
    }
  }

  /** The fleet's live grants with the time each has left (Redis's own expiry: no clock involved). */
  liveGrants(): Promise<LiveGrant[]> {
    return readLiveGrants(this.cmd, this.keys, (why) => this.events.bad(why));
  }

  async close(): Promise<void> {
    if (this.beat) clearInterval(this.beat);
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
    this.beat ??= setInterval(() => void this.heartbeat().catch(() => {}), HEARTBEAT_MS);
    this.beat.unref();
    this.events.up();
  }

  /** Refreshes this node's member key and samples the clock offset to Redis. */
  private async heartbeat(): Promise<void> {
    await this.sampleClock();
    const offset = this.clock.offset;
    if (Math.abs(offset - this.reported) > 1000) { this.reported = offset; this.events.skew(offset); }
    await this.cmd.set(this.keys.member(this.s.node), JSON.stringify({ since: this.since, pid: process.pid }), 'PX', 3 * HEARTBEAT_MS);
  }

  private async sampleClock(): Promise<void> {
    const t0 = performance.now(), before = Date.now();
    const [sec, usec] = await this.cmd.time();
    const rtt = performance.now() - t0;
    this.clock.add({ offset: Number(sec) * 1000 + Number(usec) / 1000 - (before + rtt / 2), rtt });
  }

  private lost(): void {
    if (this.state === 'down') return;
    this.state = 'down';
    this.events.down(this.lastError || 'connection closed');
  }

  private message(text: string): void {
    const r = decodeNote(text);
    if (!r.ok) { this.events.bad(r.error); return; }
    if (r.note.node === this.s.node) return;
    this.events.note(r.note);
  }
}
