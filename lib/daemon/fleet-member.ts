// The daemon's side of a fleet: claims the engine asks for, grants it shares, and notes from other
// nodes fed back to the engine. While Redis is unreachable or stalled the node serves alone (its own
// replay cache and grants) and remembers what it accepted; when Redis is back it claims those
// digests and sequences after the fact (with the same sealed values, so a claim that went through
// during a stall is known as its own), shares its grants that are still live and loads the fleet's.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { MAX_OFFSET_MS } from '../fleet/clock.js';
import type { Config } from '../config/types.js';
import { FLEET_NAME } from '../config/fleet-keys.js';
import type { Effect, FleetClaim, GrantShare } from '../engine/effects.js';
import type { Engine } from '../engine/engine.js';
import type { ClaimResult, FleetLink } from '../fleet/link.js';
import { redisLabel, redisWarnings } from '../fleet/label.js';
import { MAX_ASKS, type Answer, type Ask, type FleetNote, type GrantNote, type OneTimeNote } from '../fleet/notes.js';
import type { Hit } from '../matcher/shared-knocks.js';
import { BoundedIds } from '../fleet/bounded-ids.js';
import { parseRedisTarget } from '../config/redis-target.js';
import { redisOptions } from '../fleet/redis-options.js';
import { readFleetSecrets } from '../fleet/secrets.js';
import { LogRateLimit } from '../log/rate-limit.js';
import { formatProtoPort } from '../net/protocol.js';
import { StartError } from './start-error.js';

/** What is remembered for Redis's return; beyond it the oldest are dropped (and counted). */
const MAX_PENDING = 10_000;
/** Asks and answers wait this long (ms) to leave together: one PUBLISH per batch, not per packet. */
const BATCH_MS = 10;
/** How long an ask collects answers (ms); answers come within a few ms. */
const ASK_MS = 300;
/** Open asks kept; under a flood at a last port the oldest make room. */
const MAX_OPEN_ASKS = 16_384;
/** While Redis is up, claims and shares it refused are tried again this often (ms). */
const RETRY_MS = 5000;
/** Grant ids carried out here, remembered until they expire; beyond it the oldest go. */
const MAX_APPLIED = 16_384;

export interface MemberDeps {
  engine(): Engine;
  apply(effects: readonly Effect[]): void;
  log(line: string): void;
}


export class FleetMember {
  readonly node: string;
  private readonly link: FleetLink;
  private counter = 0;
  /** A tag per process start in ask ids: an answer to an ask of an earlier run never matches one of this run. */
  private readonly boot = randomBytes(4).toString('hex');
  /** Claims and shares Redis refused (an error reply while up) are tried again on this timer. */
  private readonly retry: NodeJS.Timeout;
  private catchingUp = false;
  private readonly refusedCommands = new LogRateLimit(1, 5, Date.now, (n) => `fleet: ${n} more refused commands not logged (rate limit)`);
  /** Grant ids already carried out here (until their fleet-time expiry), so a resync does not repeat them. */
  private readonly applied = new BoundedIds(MAX_APPLIED);
  /** Accepted while Redis was down: claimed after the fact (with the same sealed value) when it is back. */
  private pendingClaims: {
    key: string; ttlMs: number; value: string; also: readonly string[]; what: string; announce?: OneTimeNote;
  }[] = [];
  private pendingShares: GrantNote[] = [];
  private dropped = 0;
  /** Refused notes and values, by reason; the lines through a token bucket (a flood is summed up). */
  private readonly refused = new Map<string, number>();
  private readonly refusedLog = new LogRateLimit(2, 20, Date.now, (n) => `fleet: ${n} more refused notes not logged (rate limit)`);
  private refusedTotal = 0;
  /** Shared knocks: asks waiting to be sent, asks waiting for answers, answers waiting to be sent. */
  private outAsks: Ask[] = [];
  private readonly openAsks =
    new Map<string, { door: string; src: string; family: 4 | 6; hits: Hit[]; nodes: Set<string>; until: number }>();
  private outAnswers: Answer[] = [];
  private batch: NodeJS.Timeout | undefined;

  private constructor(config: Config, private readonly deps: MemberDeps, Link: typeof FleetLink) {
    const f = config.options.fleet!;
    this.node = f.node ?? hostname().split('.')[0]!;
    if (!FLEET_NAME.test(this.node)) throw new StartError(`fleet: host name "${this.node}" is not a node name; set Fleet_Node`);
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
      note: (n) => this.onNote(n),
      bad: (why) => this.onRefused(why),
      up: (how) => void this.onUp(label, how),
      down: (why) => deps.log(`fleet: Redis at ${label} unreachable (${why}); serving alone until it is back`),
      refused: (why) => this.refusedCommands.line(
        () => `fleet: Redis refused a command (${why}); decided alone, tried again every ${RETRY_MS / 1000} s`,
        (l) => deps.log(l),
      ),
      stalled: (ms) => deps.log(`fleet: Redis at ${label} stopped answering (no reply within ${ms} ms); ` +
        'serving alone, without waiting, until it answers'),
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

  /** A refused note or stored value, counted by reason (the totals the log lines quote). */
  private countRefused(why: string): void {
    this.refused.set(why, (this.refused.get(why) ?? 0) + 1);
    this.refusedTotal++;
  }

  /** Counted by reason, logged within a budget: whoever can write to Redis must not fill the disk. */
  private onRefused(why: string): void {
    this.countRefused(why);
    this.refusedLog.line(
      () => `fleet: note refused: ${why} (${this.refusedTotal} refused so far: ` +
        `${[...this.refused].map(([r, k]) => `${k} ${r}`).join(', ')})`,
      (l) => this.deps.log(l));
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
    // Keyed names (nobody without the key can aim at a claim in advance), under every key of the
    // ring (a rollover): the first is claimed, the others checked.
    const secret = c.type === 'replay' ? c.digest : c.sequence.map(formatProtoPort).join(',');
    const names = this.link.sealer.secretNames(secret, this.link.now());
    const keyOf = (name: string) => (c.type === 'replay' ? this.link.replayKey(name) : this.link.oneTimeKey(c.door, name));
    const [key, ttlMs, what] = c.type === 'replay'
      ? [keyOf(names[0]!), c.ttlMs, 'SPA digest']
      : [keyOf(names[0]!), 90 * 24 * 3600 * 1000, `one-time sequence of ${c.door}`];
    const also = names.slice(1).map(keyOf);
    const announce: OneTimeNote | undefined =
      c.type === 'onetime' ? { type: 'onetime', node: this.node, door: c.door, sequence: c.sequence } : undefined;
    const value = this.link.claimValue(key, ttlMs);
    const r = await this.link.claim(key, ttlMs, value, also);
    if (r === 'down') this.remember(this.pendingClaims, { key, ttlMs, value, also, what, ...(announce ? { announce } : {}) });
    // Decided alone too: the sequence is spent here, and every node that listens moves on now.
    if (r !== 'lost' && announce) void this.link.publishNote(announce);
    return r;
  }

  /** Tells the fleet of a grant made here. */
  share(g: GrantShare): void {
    const note: GrantNote = {
      type: 'grant', id: `${this.node}:${Date.now().toString(36)}:${(this.counter++).toString(36)}`,
      node: this.node, at: this.link.now(), ...g,
    };
    this.applied.add(note.id, note.at + note.timeout * 1000, note.at);
    void this.link.publishGrant(note).then((ok) => { if (!ok) this.remember(this.pendingShares, note); });
  }

  close(): Promise<void> {
    if (this.batch) clearTimeout(this.batch);
    clearInterval(this.retry);
    return this.link.close();
  }

  private remember<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > MAX_PENDING) { list.shift(); this.dropped++; }
  }

  /** Shared knocks: asks the fleet for `src`'s hits on `door` (batched; answers in onNote). */
  ask(door: string, src: string, family: 4 | 6): void {
    if (!this.link.isUp) return; // alone: the door opens only on knocks this node saw
    const now = Date.now();
    // Oldest first (insertion order): expired ones go, and under a flood the oldest make room.
    for (const [id, a] of this.openAsks) {
      if (a.until > now && this.openAsks.size < MAX_OPEN_ASKS) break;
      this.openAsks.delete(id);
    }
    const id = `${this.node}.${this.boot}.${(this.counter++).toString(36)}`;
    this.openAsks.set(id, { door, src, family, hits: [], nodes: new Set(), until: now + ASK_MS });
    this.outAsks.push({ id, door, src });
    if (this.outAsks.length >= MAX_ASKS) this.send(); else this.schedule();
  }

  private schedule(): void {
    this.batch ??= setTimeout(() => this.send(), BATCH_MS);
  }

  /** Sends what waits: one note of asks, one of answers. */
  private send(): void {
    if (this.batch) clearTimeout(this.batch);
    this.batch = undefined;
    const asks = this.outAsks, answers = this.outAnswers;
    this.outAsks = [];
    this.outAnswers = [];
    if (asks.length) void this.link.publishNote({ type: 'ask', node: this.node, asks });
    if (answers.length) void this.link.publishNote({ type: 'hits', node: this.node, answers });
  }

  private answer(asker: string, asks: readonly Ask[]): void {
    const engine = this.deps.engine();
    const wall = Date.now();
    for (const a of asks) {
      const hits = engine.fleetHits(a.door, a.src, wall);
      if (hits.length === 0) continue;
      // Hits leave on the fleet's clock; the asker puts them back on its own.
      this.outAnswers.push({ to: asker, id: a.id, hits: hits.map((h) => ({ ...h, at: h.at + this.link.offsetMs })) });
      if (this.outAnswers.length >= MAX_ASKS) this.send();
    }
    if (this.outAnswers.length) this.schedule();
  }

  private answered(node: string, answer: Answer): void {
    const a = this.openAsks.get(answer.id);
    if (!a || a.until <= Date.now()) return;
    a.hits.push(...answer.hits.map((h) => ({ ...h, at: h.at - this.link.offsetMs })));
    a.nodes.add(node);
    const effects = this.deps.engine().handle({
      kind: 'fleet-answered', door: a.door, src: a.src, family: a.family, hits: a.hits, nodes: [...a.nodes], wall: Date.now(),
    });
    if (effects.length) { this.openAsks.delete(answer.id); this.deps.apply(effects); }
  }

  private onNote(n: FleetNote): void {
    const wall = Date.now();
    if (n.type === 'ask') { this.answer(n.node, n.asks); return; }
    if (n.type === 'hits') { for (const a of n.answers) if (a.to === this.node) this.answered(n.node, a); return; }
    if (n.type === 'onetime') { this.deps.apply(this.deps.engine().handle({ kind: 'fleet-onetime', note: n, wall })); return; }
    // Counted from the grant's fleet time; a note stamped in the future counts as just made.
    const left = n.timeout * 1000 - Math.max(0, this.link.now() - n.at);
    this.grant(n, left);
  }

  private grant(n: GrantNote, leftMs: number): void {
    const now = this.link.now();
    if (leftMs <= 0 || this.applied.has(n.id, now)) return;
    const effects = this.deps.engine().handle({ kind: 'fleet-grant', note: n, seconds: Math.ceil(leftMs / 1000), wall: Date.now() });
    // Only what was carried out is remembered: a refused note (no such door here) takes no room.
    if (effects.some((e) => e.kind === 'grant')) this.applied.add(n.id, now + leftMs, now);
    this.deps.apply(effects);
  }

  /**
   * Claims made alone (Redis unreachable, stalled or refusing) are made after the fact, and grants
   * not shared are shared; what still fails waits for the next try.
   */
  private async catchUp(): Promise<{ made: number; lost: number; shared: number }> {
    const claims = this.pendingClaims, shares = this.pendingShares;
    this.pendingClaims = [];
    this.pendingShares = [];
    let lost = 0, made = 0;
    for (const c of claims) {
      const r = await this.link.claim(c.key, c.ttlMs, c.value, c.also);
      if (r === 'lost') {
        lost++;
        this.deps.log(`fleet: a ${c.what} accepted here while Redis was unreachable was also accepted by another node`);
      }
      if (r === 'down') this.remember(this.pendingClaims, c);
      if (r === 'won') made++;
    }
    const now = this.link.now();
    let shared = 0;
    for (const s of shares) {
      const left = s.at + s.timeout * 1000 - now;
      if (left < 1000) continue;
      // Restamped: receivers count the time left from `at` (a note heard twice is carried out once: its id).
      const restamped = { ...s, at: now, timeout: Math.floor(left / 1000) };
      if (await this.link.publishGrant(restamped)) shared++;
      else this.remember(this.pendingShares, restamped);
    }
    return { made, lost, shared };
  }

  /** While Redis is up but refused something, the catch-up is tried again every few seconds. */
  private async retryPending(): Promise<void> {
    if (!this.link.isUp || this.catchingUp || (this.pendingClaims.length === 0 && this.pendingShares.length === 0)) return;
    this.catchingUp = true;
    try {
      const { made, lost, shared } = await this.catchUp();
      const s = (n: number) => (n === 1 ? '' : 's');
      if (made + lost + shared) this.deps.log(`fleet: ${made} claim${s(made)} made after the fact, ${shared} grant${s(shared)} shared`);
    } finally {
      this.catchingUp = false;
    }
  }

  private async onUp(label: string, how: 'connected' | 'answers' | 'channel'): Promise<void> {
    const { made, shared } = await this.catchUp();
    let loaded = 0;
    // Refused stored values stay in Redis until they expire: summed up in one line per resync.
    const skipped = new Map<string, number>();
    try {
      const live = await this.link.liveGrants((why) => {
        skipped.set(why, (skipped.get(why) ?? 0) + 1);
        this.countRefused(why);
      });
      for (const g of live) {
        if (g.note.node === this.node || this.applied.has(g.note.id, this.link.now())) continue;
        this.grant(g.note, g.remainingMs);
        loaded++;
      }
    } catch (err) {
      this.deps.log(`fleet: cannot load the live grants: ${(err as Error).message}`);
    }
    const extra = this.dropped ? `; ${this.dropped} older ones were not kept` : '';
    this.dropped = 0;
    const nSkipped = [...skipped.values()].reduce((a, b) => a + b, 0);
    const refusedText = nSkipped
      ? ` (${nSkipped} stored value${nSkipped === 1 ? '' : 's'} refused: ${[...skipped].map(([r, k]) => `${k} ${r}`).join(', ')})`
      : '';
    const counts = `${loaded} live grant${loaded === 1 ? '' : 's'} loaded${refusedText}, ${shared} shared, ` +
      `${made} claim${made === 1 ? '' : 's'} made after the fact${extra}`;
    if (how === 'connected') this.deps.log(`fleet: joined ${this.link.name} as node ${this.node} (Redis ${label}); ${counts}`);
    else if (how === 'answers') this.deps.log(`fleet: Redis at ${label} answers again; ${counts}`);
    // The channel back (the loss was logged): quiet unless something was caught up.
    else if (loaded + shared + made) this.deps.log(`fleet: listening again; ${counts}`);
  }
}

