// The daemon's side of a fleet: the wiring of the fleet session (lib/fleet/session.ts, which
// decides) to the Redis link, the timers, the log and the engine. While Redis is unreachable or
// stalled the node serves alone (its own replay cache and grants) and the session remembers what it
// accepted; when Redis is back it claims those digests and sequences after the fact (with the same
// sealed values, so a claim that went through during a stall is known as its own), shares its grants
// that are still live and loads the fleet's.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { MAX_OFFSET_MS } from '../fleet/clock.js';
import type { Config } from '../config/types.js';
import { FLEET_NAME } from '../config/fleet-keys.js';
import type { Effect, FleetClaim, GrantShare } from '../engine/effects.js';
import type { Engine } from '../engine/engine.js';
import type { ClaimResult, FleetLink } from '../fleet/link.js';
import { redisLabel, redisWarnings } from '../fleet/label.js';
import type { FleetNote } from '../fleet/notes.js';
import { parseRedisTarget } from '../config/redis-target.js';
import { redisOptions } from '../fleet/redis-options.js';
import { readFleetSecrets } from '../fleet/secrets.js';
import { FleetSession, newResync, newTally } from '../fleet/session.js';
import { BATCH_MS, type Batch } from '../fleet/session-asks.js';
import { resyncLine, retryLine, type UpHow } from '../fleet/session-lines.js';
import type { Now, Tally } from '../fleet/session-types.js';
import { LogRateLimit } from '../log/rate-limit.js';
import { StartError } from './start-error.js';
import { quietObserver, type Observer } from './observer.js';

/** While Redis is up, claims and shares it refused are tried again this often (ms). */
const RETRY_MS = 5000;

export interface MemberDeps {
  engine(): Engine;
  apply(effects: readonly Effect[]): void;
  log(line: string): void;
  /** Told of notes sent and received, and of Redis going down and coming back. */
  observe?: Observer;
}


export class FleetMember {
  readonly node: string;
  private readonly link: FleetLink;
  private readonly session: FleetSession;
  /** Claims and shares Redis refused (an error reply while up) are tried again on this timer. */
  private readonly retry: NodeJS.Timeout;
  private catchingUp = false;
  private readonly refusedCommands = new LogRateLimit(1, 5, Date.now, (n) => `fleet: ${n} more refused commands not logged (rate limit)`);
  /** Refused notes: the lines through a token bucket (a flood is summed up). */
  private readonly refusedLog = new LogRateLimit(2, 20, Date.now, (n) => `fleet: ${n} more refused notes not logged (rate limit)`);
  /** Asks and answers waiting to leave together. */
  private batch: NodeJS.Timeout | undefined;
  /** Whether Redis answers (sesame_fleet_redis_up); down until the first connection. */
  private redisUp = false;
  private readonly observe: Observer;

  private constructor(config: Config, private readonly deps: MemberDeps, Link: typeof FleetLink) {
    const f = config.options.fleet!;
    this.observe = deps.observe ?? quietObserver;
    this.node = f.node ?? hostname().split('.')[0]!;
    if (!FLEET_NAME.test(this.node)) throw new StartError(`fleet: host name "${this.node}" is not a node name; set Fleet_Node`);
    this.session = new FleetSession(this.node, randomBytes(4));
    const url = f.redis;
    const target = parseRedisTarget(url);
    if (!target.ok) throw new StartError(`fleet: Fleet_Redis: ${target.error}`);
    const secrets = readFleetSecrets(f);
    if (!secrets.ok) throw new StartError(`fleet: ${secrets.error}`);
    for (const w of [...redisWarnings(url, secrets.password !== undefined), ...secrets.warnings]) deps.log(`warning: fleet: ${w}`);
    const label = redisLabel(url);
    this.link = new Link({
      redis: redisOptions(target.target, secrets.password, secrets.sentinelPassword), sentinel: target.target.kind === 'sentinel',
      ring: secrets.ring, name: f.name, node: this.node,
    }, {
      note: (n) => { this.observe.fleetNote('in', 'accepted'); this.onNote(n); },
      bad: (why) => { this.observe.fleetNote('in', 'refused'); this.refusedLog.line(this.session.refuse(why), (l) => deps.log(l)); },
      up: (how) => { this.redisIs(true); void this.onUp(label, how); },
      down: (why) => {
        this.redisIs(false);
        deps.log(`fleet: Redis at ${label} unreachable (${why}); serving alone until it is back`);
      },
      refused: (why) => this.refusedCommands.line(
        () => `fleet: Redis refused a command (${why}); decided alone, tried again every ${RETRY_MS / 1000} s`,
        (l) => deps.log(l),
      ),
      stalled: (ms) => {
        this.redisIs(false);
        deps.log(`fleet: Redis at ${label} stopped answering (no reply within ${ms} ms); ` +
          'serving alone, without waiting, until it answers');
      },
      channelLost: (why, ms) => deps.log(`fleet: Redis dropped this node's subscription to the fleet's channel (${why}); ` +
        `listening again in ${(ms / 1000).toFixed(1)} s, then resynchronising`),
      skew: (ms, followed) => deps.log(`fleet: this node's clock is ${Math.abs(ms)} ms ${ms > 0 ? 'behind' : 'ahead of'} Redis; ` +
        (followed
          ? "fleet times use Redis's clock"
          : `more than ${MAX_OFFSET_MS / 1000} s: fleet times stay on this node's clock (check NTP, and who answers as Redis)`)),
    });
    this.retry = setInterval(() => void this.retryPending(), RETRY_MS);
    this.retry.unref();
  }

  /** Reads the key file again (SIGHUP): a rollover needs no restart. A bad file keeps the keys in use. */
  rekey(config: Config): void {
    const f = config.options.fleet;
    if (!f) return;
    const secrets = readFleetSecrets(f);
    if (!secrets.ok) { this.deps.log(`fleet: ${secrets.error}; the keys in use are kept`); return; }
    for (const w of secrets.warnings) this.deps.log(`warning: fleet: ${w}`);
    this.link.rekey(secrets.ring);
  }

  /** undefined when the config names no fleet. The Redis client is loaded only then (~7 MB). */
  static async join(config: Config, deps: MemberDeps): Promise<FleetMember | undefined> {
    if (!config.options.fleet) return undefined;
    const { FleetLink } = await import('../fleet/link.js');
    return new FleetMember(config, deps, FleetLink);
  }

  /** Claims a digest or sequence for the whole fleet; 'down' means: decide alone (and claim later). */
  async claim(c: FleetClaim): Promise<ClaimResult> {
    const p = this.session.claimPlan(c);
    // Keyed names (nobody without the key can aim at a claim in advance), under every key of the
    // ring (a rollover): the first is claimed, the others checked.
    const names = this.link.sealer.secretNames(p.secret, this.link.now());
    const keyOf = (name: string) => (p.door === undefined ? this.link.replayKey(name) : this.link.oneTimeKey(p.door, name));
    const key = keyOf(names[0]!);
    const value = this.link.claimValue(key, p.ttlMs);
    const also = names.slice(1).map(keyOf);
    const r = await this.link.claim(key, p.ttlMs, value, also);
    const made = { key, ttlMs: p.ttlMs, value, also, what: p.what, ...(p.announce ? { announce: p.announce } : {}) };
    this.publish(this.session.claimed(made, r));
    return r;
  }

  /** Tells the fleet of a grant made here. */
  share(g: GrantShare): void {
    const note = this.session.share(g, this.now());
    void this.link.publishGrant(note).then((ok) => {
      this.sent(ok);
      if (!ok) this.session.pending.share(note);
    });
  }

  /** Whether Redis answers now: read when Prometheus scrapes. */
  get up(): boolean {
    return this.redisUp;
  }

  /** Redis went down or came back: an event on each change. */
  private redisIs(up: boolean): void {
    if (up === this.redisUp) return;
    this.redisUp = up;
    this.observe.event({ type: 'fleet-redis', up });
  }

  private sent(ok: boolean): void {
    this.observe.fleetNote('out', ok ? 'sent' : 'failed');
  }

  close(): Promise<void> {
    if (this.batch) clearTimeout(this.batch);
    clearInterval(this.retry);
    return this.link.close();
  }

  /** Shared knocks: asks the fleet for `src`'s hits on `door` (batched; answers in onNote). */
  ask(door: string, src: string, family: 4 | 6): void {
    if (!this.link.isUp) return; // alone: the door opens only on knocks this node saw
    this.post(this.session.ask(door, src, family, this.now()));
  }

  private now(): Now {
    return { wall: Date.now(), offset: this.link.offsetMs };
  }

  /** Publishes a batch that filled up (its timer goes), and runs the timer for what waits. */
  private post(b: Batch): void {
    if (b.notes.length) {
      if (this.batch) clearTimeout(this.batch);
      this.batch = undefined;
      this.publish(b.notes);
    }
    if (b.wait) this.batch ??= setTimeout(() => { this.batch = undefined; this.publish(this.session.asks.flush()); }, BATCH_MS);
  }

  private publish(notes: readonly FleetNote[]): void {
    for (const n of notes) void this.link.publishNote(n).then((ok) => this.sent(ok));
  }

  private apply(effects: readonly Effect[]): void {
    if (effects.length) this.deps.apply(effects);
  }

  private onNote(n: FleetNote): void {
    if (n.type === 'ask') this.post(this.session.asks.answer(n.node, n.asks, this.now(), this.deps.engine()));
    else if (n.type === 'hits') {
      for (const a of n.answers) this.apply(this.session.asks.answered(n.node, a, this.now(), this.deps.engine()));
    } else this.apply(this.session.heard(n, this.now(), this.deps.engine()));
  }

  /**
   * Claims made alone (Redis unreachable, stalled or refusing) are made after the fact, and grants
   * not shared are shared; what still fails waits for the next try.
   */
  private async catchUp(): Promise<Tally> {
    const { claims, shares } = this.session.pending.take();
    const tally = newTally();
    for (const c of claims) {
      const line = this.session.pending.claimed(c, await this.link.claim(c.key, c.ttlMs, c.value, c.also), tally);
      if (line) this.deps.log(line);
    }
    for (const s of this.session.pending.restamp(shares, this.now())) {
      this.session.pending.shared(s, await this.link.publishGrant(s), tally);
    }
    return tally;
  }

  /** While Redis is up but refused something, the catch-up is tried again every few seconds. */
  private async retryPending(): Promise<void> {
    if (!this.link.isUp || this.catchingUp || !this.session.pending.any) return;
    this.catchingUp = true;
    try {
      const line = retryLine(await this.catchUp());
      if (line) this.deps.log(line);
    } finally {
      this.catchingUp = false;
    }
  }

  private async onUp(label: string, how: UpHow): Promise<void> {
    const tally = await this.catchUp();
    const resync = newResync();
    try {
      const live = await this.link.liveGrants((why) => this.session.skip(why, resync));
      for (const g of live) this.apply(this.session.load(g, resync, this.now(), this.deps.engine()));
    } catch (err) {
      this.deps.log(`fleet: cannot load the live grants: ${(err as Error).message}`);
    }
    const line = resyncLine({
      how, label, fleet: this.link.name, node: this.node, resync, tally, dropped: this.session.pending.takeDropped(),
    });
    if (line) this.deps.log(line);
  }
}
