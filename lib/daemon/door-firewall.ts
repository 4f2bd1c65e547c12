// Doors with `Open =`: Sesame guards those ports itself in nftables and grants a source by adding
// a kernel-expiring set element. The kernel owns expiry, so a daemon killed mid-grant leaves
// nothing open past its timeout; the guard stays while the daemon is down (fail closed).
// While it runs, a watchdog compares the table every second with a snapshot taken when Sesame
// installed it, and replaces it whole, with the live grants, when an admin's `nft flush ruleset`
// (what `systemctl restart nftables` runs), a reloaded ruleset dump or anyone else removed or
// changed it: otherwise the guarded ports could be open to everyone. Lost grants go back, grants
// Sesame did not make go; grants-TABLE.json says which grants a restart keeps. Several instances
// leave each other the ports they guard on their own interfaces (lib/firewall/instances.ts).
// The firewall comes in as the contract (lib/firewall/contract.ts): nftables in the daemon, a fake
// in the unit tests.

import { ConfigError } from '../config/errors.js';
import { MAX_GRANT_SECONDS, type Config, type Door } from '../config/types.js';
import { isNoEntry } from '../firewall/types.js';
import type { Grant, Guard, NatRoute, Yielded } from '../firewall/grants.js';
import type { Firewall, Firewalls, TableInspector, TablePlan } from '../firewall/contract.js';
import { guardsOf, natRoutesOf } from '../firewall/plan.js';
import { ALLOW4, ALLOW6, grantElementKeys } from '../firewall/commands.js';
import { GRANT_SET_FIELDS } from '../firewall/grant-elements.js';
import type { GrantRecord } from './state.js';
import { TableWatchdog, type WatchScheduler } from '../firewall/table-watchdog.js';
import { conflicts, describeConflict, unyielded, yieldedTo, type Conflict } from '../firewall/instances.js';
import { ERROR_CODES } from '../errors/errors.js';
import { StartError } from './start-error.js';
import { lockHolder, tableLockPath } from './instance-lock.js';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { LiveGrants } from './live-grants.js';
import { formatProtoPort, type ProtoPort } from '../net/protocol.js';

/** Monotonic and wall-clock milliseconds: the process's, or a test's. */
export interface Clock { mono(): number; wall(): number }
const systemClock: Clock = { mono: () => performance.now(), wall: () => Date.now() };

/** Where the grants this instance made are kept across restarts (state.ts's GrantStore). */
export type GrantRecords = Readonly<{ load(): GrantRecord[] | undefined; save(records: readonly GrantRecord[]): void; flush(): void }>;

export interface DoorFirewallOptions {
  /** Opens the grant table and reads the kernel (nftFirewalls in the daemon). */
  readonly firewalls: Firewalls;
  /** The instance's table: `sesame` or `sesame_NAME`. */
  readonly table: string;
  readonly log: (line: string) => void;
  /** The interfaces listened on (default: any). */
  readonly interfaces?: readonly string[];
  readonly store?: GrantRecords | undefined;
  readonly clock?: Clock;
  /** The watchdog's timer (a test's, or the process's). */
  readonly scheduler?: WatchScheduler;
  /** Told of each repair the watchdog made ('table': replaced whole; 'grants': lost ones back, stray ones out), with its log line. */
  readonly repaired?: (what: 'table' | 'grants', line: string) => void;
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];
const portsText = (guards: readonly Guard[]) => guards.map(formatProtoPort).join(', ');
const yieldedText = (ys: readonly Yielded[]) => ys.map((y) => `${formatProtoPort(y)} on ${y.iface}`).join(', ');
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
/** Odd grant set elements (nothing Sesame could have written) logged, at most. */
const ODD_CAP = 1024;
const sortedYielded = (ys: readonly Yielded[]) =>
  [...ys].sort((a, b) => `${a.iface} ${formatProtoPort(a)}`.localeCompare(`${b.iface} ${formatProtoPort(b)}`));

/** The grant sets' elements in the kernel, each set read once (when first asked for). */
class KernelGrantSets {
  private readonly sets = new Map<string, Set<string>>();
  constructor(private readonly inspect: TableInspector) {}
  elements(set: string): Set<string> {
    let els = this.sets.get(set);
    if (!els) { els = this.inspect.grantSet(set); this.sets.set(set, els); }
    return els;
  }
  has(set: string, text: string): boolean { return this.elements(set).has(text); }
  /** How many elements of every grant set `pick` picks. */
  count(pick: (set: string, text: string) => boolean): number {
    let n = 0;
    for (const set of Object.keys(GRANT_SET_FIELDS)) for (const text of this.elements(set)) if (pick(set, text)) n++;
    return n;
  }
}

/** A second instance that would guard a port where another already does: name it and what to do. */
function conflictMessage(own: string, c: Conflict): string {
  const instance = c.table === 'sesame' ? undefined : c.table.slice('sesame_'.length);
  const pid = lockHolder(tableLockPath(c.table));
  const flag = instance === undefined ? '' : ` --instance ${instance}`;
  const owner = pid !== undefined
    ? `knockd${flag} (pid ${pid})`
    : `a knockd${flag} that no longer runs (remove its table with: knockd --flush${flag})`;
  return `table inet ${own}: ${describeConflict(c)}, of ${owner}; two instances cannot guard one port on one interface: ` +
    'give each its own interface (-i) or its own Open ports';
}

/** The first door that needs the table (Open, or SPA NAT keys), for the error of a failed start. */
const firstFirewallDoor = (config: Config) => config.doors.find((d) => d.open !== undefined || d.spa?.nat !== undefined);

/** net.ipv4.ip_forward of this namespace; true when it cannot be read (nothing to warn about then). */
function ipv4Forwarding(): boolean {
  try { return readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '0'; } catch { return true; }
}

/** Whether a config needs the grant table. */
export function needsFirewall(config: Config): boolean {
  return firstFirewallDoor(config) !== undefined;
}

export class DoorFirewall {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly live = new LiveGrants();
  private queue: Promise<void> = Promise.resolve();
  private readonly watchdog: TableWatchdog;
  /** A SIGHUP's replace failed: the watchdog replaces the table (the old one is not correct any more). */
  private needsRestore = false;
  /** Odd elements already logged (left alone: they grant nothing Sesame guards), bounded. */
  private readonly oddSeen = new Set<string>();
  private yielded: Yielded[] = [];

  private constructor(
    private readonly table: Firewall,
    /** Direct reads of the kernel; undefined without them (the watchdog then counts). */
    private readonly inspect: TableInspector | undefined,
    private readonly tableName: string,
    private guards: Guard[],
    private nat: NatRoute[] | undefined,
    private readonly interfaces: readonly string[],
    private readonly log: (line: string) => void,
    private readonly store: GrantRecords | undefined,
    private readonly clock: Clock,
    scheduler: WatchScheduler | undefined,
    private readonly repaired: NonNullable<DoorFirewallOptions['repaired']>,
  ) {
    // Retried every second: the guarded ports may be open to everyone until the table is back.
    this.watchdog = new TableWatchdog({
      inspect,
      serial: (fn) => this.serial(fn),
      log,
      before: () => (this.needsRestore ? 'was not replaced by the last SIGHUP (it failed)' : undefined),
      unsnapshotted: () => this.checkCounts(),
      verify: (i) => this.checkContent(i),
      replace: (why) => this.restore(why),
      failing: (err) => `firewall: cannot check or restore table inet ${tableName}: ${firstLine(err)}; retrying every second`,
      again: `firewall: table inet ${tableName} is checked and restored again`,
    }, { readFailures: 2, againAfterReplace: true }, scheduler);
  }

  /** What the table is to hold now, grants aside. */
  private plan(): TablePlan {
    return { guards: this.guards, nat: this.nat, interfaces: this.interfaces, yielded: this.yielded };
  }

  /**
   * The grants of an earlier run that are still in the kernel become live again, for the time
   * they have left: those grants.json records (with its deadline), or without a usable file every
   * allow grant the kernel holds. What the kernel holds beyond that is not kept.
   */
  private async adoptEarlierGrants(): Promise<{ kept: number; dropped: number }> {
    const now = this.clock.mono();
    const wall = this.clock.wall();
    const records = this.store?.load();
    let kernel: KernelGrantSets | undefined;
    try {
      if (this.inspect && records !== undefined) kernel = new KernelGrantSets(this.inspect);
      const wanted = new Set<string>();
      let kept = 0;
      for (const r of kernel ? records! : []) {
        try {
          // No longer than recorded, nor than a grant may last (a clock stepped back while down).
          const left = Math.min(MAX_GRANT_SECONDS, Math.floor((r.until - wall) / 1000));
          const keys = grantElementKeys({ ...r.grant, timeout: 1 });
          if (left < 1 || !this.canHold(r.grant) || !keys.every((k) => kernel!.has(k.set, k.text))) continue;
          for (const k of keys) wanted.add(`${k.set} ${k.text}`);
          this.live.add([{ ...r.grant, timeout: left }], now);
          kept++;
        } catch { /* a record that is not a grant any more: not kept */ }
      }
      if (kernel) return { kept, dropped: kernel.count((set, text) => !wanted.has(`${set} ${text}`)) };
    } catch { /* the kernel's sets cannot be read: as without a file */ }
    // No grants file yet (a first run, an upgrade) or nothing to check it with: the kernel's allow grants stay.
    const inKernel = (await this.table.list().catch(() => [])).filter((g) => (g.expires ?? 0) > 0);
    this.live.add(inKernel.map((g) => ({ ...g, timeout: Math.min(MAX_GRANT_SECONDS, g.expires!) })), now);
    return { kept: inKernel.length, dropped: 0 };
  }

  /** Whether the table as configured now can hold `g` (a NAT grant needs the NAT maps). */
  private canHold(g: Grant): boolean {
    return g.nat === undefined || this.nat !== undefined;
  }

  /** The live grants the table can hold; NAT grants go when the config has no NAT any more. */
  private liveGrants(): Grant[] {
    return this.live.remaining(this.clock.mono()).filter((g) => this.canHold(g));
  }

  /** The live grants to grants.json (coalesced). */
  private saveGrants(): void {
    if (!this.store) return;
    const wall = this.clock.wall();
    this.store.save(this.live.entries(this.clock.mono()).map((e) => ({ grant: e.grant, until: wall + e.leftMs })));
  }

  /**
   * Sets up the guard for a config; undefined when no door has `Open`. A failure names the line;
   * a port another instance guards on one of these interfaces is a StartError naming it.
   */
  static async start(config: Config, opts: DoorFirewallOptions): Promise<DoorFirewall | undefined> {
    const door = firstFirewallDoor(config);
    if (!door) return undefined;
    const { table: tableName, log, store } = opts;
    const interfaces = opts.interfaces ?? ['any'];
    const guards = guardsOf(config);
    const nat = natRoutesOf(config);
    const ifaces = interfaces.includes('any') ? [] : [...interfaces];
    const inspect = opts.firewalls.inspector(tableName);
    const others = inspect ? inspect.neighbours() : [];
    const clash = conflicts({ table: tableName, ifaces, guards }, others)[0];
    if (clash) throw new StartError(conflictMessage(tableName, clash), ERROR_CODES.instanceInUse);
    let fw: DoorFirewall;
    let kept: { kept: number; dropped: number };
    try {
      const table = await opts.firewalls.open(tableName, log);
      fw = new DoorFirewall(table, inspect, tableName, guards, nat, ifaces, log, store, opts.clock ?? systemClock, opts.scheduler,
        opts.repaired ?? (() => {}));
      kept = await fw.adoptEarlierGrants();
      // Whole, in one transaction: nothing of what the table held before (a stale dump's guard,
      // a chain or grant added by hand) survives into what the watchdog will call correct.
      await fw.replaceWhole();
    } catch (err) {
      throw DoorFirewall.configError(config, door, err);
    }
    fw.saveGrants();
    if (kept.kept > 0 || kept.dropped > 0) {
      log(`firewall: kept ${plural(kept.kept, 'live grant')} of an earlier run` +
        `${kept.dropped > 0 ? `; dropped ${plural(kept.dropped, 'grant')} this instance did not make (a saved ruleset reloaded?)` : ''}`);
    }
    log(`firewall: table inet ${tableName} guards ${portsText(guards) || 'no ports'}${nat ? ', with SPA NAT' : ''}` +
      `${ifaces.length ? ` on ${ifaces.join(', ')}` : ''}` +
      `${fw.yielded.length ? ` (leaving ${yieldedText(fw.yielded)} to other instances)` : ''}`);
    const forwarding = config.doors.filter((d) => d.spa?.nat?.forward.length || d.spa?.nat?.force);
    if (forwarding.length > 0 && !ipv4Forwarding()) {
      for (const d of forwarding) {
        log(`warning: ${d.name}: SPA_Forward needs IPv4 forwarding, which is off (sysctl net.ipv4.ip_forward=1); ` +
          'Sesame does not turn it on');
      }
    }
    fw.watchdog.start();
    return fw;
  }

  private static configError(config: Config, door: Door, err: unknown): ConfigError {
    const why = firstLine(err);
    const [line, what] = door.open ? [door.openLine, 'Open'] : [door.line, 'SPA NAT'];
    return new ConfigError(`config: line ${line}: ${what} needs nftables, which failed: ${why}`, config.path, line);
  }

  /** Changes to the table are made one at a time, in order (grants, reloads, checks). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn);
    this.queue = p.then(() => undefined, () => undefined);
    return p;
  }

  /** Why `config` cannot be taken (a port another instance guards on one of these interfaces), or undefined. */
  refusal(config: Config): string | undefined {
    if (!this.inspect) return undefined;
    const clash = conflicts({ table: this.tableName, ifaces: this.interfaces, guards: guardsOf(config) }, this.inspect.neighbours())[0];
    return clash && `${conflictMessage(this.tableName, clash)}; keeping the running configuration`;
  }

  /** SIGHUP: the new config's guarded ports; existing grants stay. */
  reload(config: Config): Promise<void> {
    return this.serial(async () => {
      this.guards = guardsOf(config);
      this.nat = natRoutesOf(config);
      // Until the new table is in, the watchdog must not take the old one for correct.
      this.watchdog.forgetBaseline();
      this.needsRestore = true;
      await this.replaceWhole();
      this.needsRestore = false;
    });
  }

  /**
   * The table replaced whole with the configured guard and the live grants it can hold, taking
   * back what other instances left here; if taking back fails (another table went meanwhile), the
   * replace goes alone. Whole, as at start-up: what was added by hand does not become correct.
   */
  private async replaceWhole(): Promise<Grant[]> {
    const grants = this.liveGrants();
    const { yielded, unyield } = this.neighbours();
    this.yielded = yielded;
    try {
      await this.table.install(this.plan(), grants, unyield);
    } catch (err) {
      if (unyield.length === 0) throw err;
      await this.table.install(this.plan(), grants);
    }
    this.watchdog.takeBaseline();
    return grants;
  }

  /** Other instances' guards, read now: what this one leaves to them, and what they must take back. */
  private neighbours(): { yielded: Yielded[]; unyield: Array<{ table: string; pair: Yielded }> } {
    if (!this.inspect) return { yielded: [], unyield: [] };
    const own = { table: this.tableName, ifaces: this.interfaces, guards: this.guards };
    const others = this.inspect.neighbours();
    return { yielded: yieldedTo(own, others), unyield: unyielded(own, others) };
  }

  /**
   * Compares the table with what Sesame installed and puts it right (table-watchdog.ts): a missing,
   * stale or altered table is replaced whole (the guard and every live grant with the time it has
   * left, one transaction); lost grants are added back, grants Sesame did not make removed; the
   * ports left to other instances follow theirs. One check at a time; each repair logged once.
   */
  check(): Promise<void> {
    return this.watchdog.check();
  }

  /** Without nftables-napi: the table, its rules and guarded ports are counted (nft lists them). */
  private async checkCounts(): Promise<string | undefined> {
    return await this.table.intact(this.plan()) ? undefined : 'was removed or changed (nft flush ruleset?)';
  }

  /** A table whose snapshot matched: the ports left to other instances, then the grants. */
  private async checkContent(inspect: TableInspector): Promise<void> {
    // What is left to other instances follows theirs (they may take a pair back themselves): only
    // a set that differs from what their tables ask for is rewritten, and logged.
    const { yielded } = this.neighbours();
    const inKernel = inspect.yielded();
    if (yieldedText(sortedYielded(yielded)) !== yieldedText(sortedYielded(inKernel))) {
      await this.table.setYielded(yielded);
      this.log(`firewall: table inet ${this.tableName} now leaves ${yieldedText(yielded) || 'no port'} to other instances`);
    }
    this.yielded = yielded;
    await this.checkGrants(inspect);
  }

  /** Live grants missing from the kernel go back; allow elements Sesame did not make go. */
  private async checkGrants(inspect: TableInspector): Promise<void> {
    const live = this.liveGrants();
    const kernel = new KernelGrantSets(inspect);
    const wanted = new Set<string>();
    const missing = live.filter((g) => {
      const keys = grantElementKeys(g);
      for (const k of keys) wanted.add(`${k.set} ${k.text}`);
      // A grant about to expire may already be gone from the kernel: that is no loss.
      return g.timeout >= 2 && keys.some((k) => !kernel.has(k.set, k.text));
    });
    if (missing.length > 0) {
      await this.table.grant(missing);
      this.repair('grants', `firewall: table inet ${this.tableName} had lost ${plural(missing.length, 'live grant')} (nft flush set?); ` +
        `restored ${missing.length === 1 ? 'it' : 'them'}`);
    }
    if (this.live.full) return; // past the cap, what Sesame made is no longer all known
    const stray: Array<{ set: string; text: string }> = [];
    for (const set of this.nat ? Object.keys(GRANT_SET_FIELDS) : [ALLOW4, ALLOW6]) {
      for (const text of kernel.elements(set)) if (!wanted.has(`${set} ${text}`)) stray.push({ set, text });
    }
    if (stray.length === 0) return;
    const skipped = await this.table.revoke(stray);
    const removed = stray.filter((x) => !skipped.includes(x));
    if (removed.length > 0) {
      const shown = `${removed.slice(0, 3).map((x) => x.text).join(', ')}${removed.length > 3 ? ', ...' : ''}`;
      this.repair('grants', `firewall: table inet ${this.tableName} held ${plural(removed.length, 'grant')} ` +
        'Sesame did not make (a saved ruleset reloaded?); ' +
        `removed ${removed.length === 1 ? 'it' : 'them'}: ${shown}`);
    }
    // Logged once each, and once in all past the cap: never a line a second.
    if (this.oddSeen.size >= ODD_CAP) return;
    const news = skipped.filter((x) => !this.oddSeen.has(`${x.set} ${x.text}`));
    for (const x of news) this.oddSeen.add(`${x.set} ${x.text}`);
    if (news.length > 0) {
      this.log(`firewall: table inet ${this.tableName} holds ${plural(news.length, 'element')} no grant has (left alone: ` +
        `${news.slice(0, 3).map((x) => `${x.set} ${x.text}`).join(', ')})` +
        `${this.oddSeen.size >= ODD_CAP ? `; no more such elements will be listed` : ''}`);
    }
  }

  /** Replaces the table whole with the guard and the live grants; logged. */
  private async restore(why: string): Promise<void> {
    const grants = await this.replaceWhole();
    this.needsRestore = false;
    this.repair('table', `firewall: table inet ${this.tableName} ${why}; ` +
      `restored the guard of ${portsText(this.guards) || 'no ports'} and ${plural(grants.length, 'live grant')}`);
  }

  /** A repair's log line, and the observer told. */
  private repair(what: 'table' | 'grants', line: string): void {
    this.log(line);
    this.repaired(what, line);
  }

  /**
   * The allow grants' ports in the kernel now (the metrics' sesame_active_grants): the two allow
   * sets dumped directly (nothing else of the kernel's ruleset is read, whatever kernel matching's
   * sets hold under a flood), or listed by nft without nftables-napi. Rejects when they cannot be read.
   */
  async kernelGrants(): Promise<ProtoPort[]> {
    if (!this.inspect) return this.table.list();
    const out: ProtoPort[] = [];
    for (const set of [ALLOW4, ALLOW6]) {
      for (const text of this.inspect.grantSet(set)) {
        const [, protocol, port] = text.split(' . ');
        if ((protocol === 'tcp' || protocol === 'udp') && port !== undefined) out.push({ protocol, port: Number(port) });
      }
    }
    return out;
  }

  /** Stops the watchdog (shutdown). The table and its grants stay: the kernel expires them. */
  stop(): void {
    this.watchdog.stop();
    this.store?.flush();
  }

  /**
   * Grants `ip` the door's Open ports (or those of `requested` that are among them) for `timeout`
   * seconds, refreshing the timer of a grant that exists. Logged; never throws.
   */
  /**
   * Puts grants the engine resolved (lib/engine/grant-plan.ts) in the kernel; `done` is logged once
   * they are in, a failure instead. Never throws.
   */
  apply(who: string, door: Door, grants: readonly Grant[], done: string): Promise<void> {
    return this.track(who, door, [...grants], done);
  }

  private track(who: string, door: Door, grants: Grant[], done: string): Promise<void> {
    const p = this.grantOrRestore(grants)
      .then(() => this.log(`${who}: ${door.name}: firewall: ${done}`))
      .catch((err: unknown) => this.log(`${who}: ${door.name}: firewall: grant failed: ${firstLine(err)}`))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    return p;
  }

  /** A grant into a table that vanished restores the table (with the live grants) and retries. */
  private grantOrRestore(grants: Grant[]): Promise<void> {
    return this.serial(async () => {
      try {
        await this.table.grant(grants);
      } catch (err) {
        if (!isNoEntry(err)) throw err;
        await this.watchdog.checkNow();
        await this.table.grant(grants);
      }
      this.live.add(grants, this.clock.mono());
      this.saveGrants();
    });
  }

  /** Resolves when no grant batch is in flight (shutdown waits for them before closing the log). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.store?.flush();
  }
}
