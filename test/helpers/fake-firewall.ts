// An in-memory kernel behind the firewall contract (lib/firewall/contract.ts), so the daemon's shell
// files run in unit tests without root. It behaves as nftables does where the daemon relies on it:
// elements expire on the clock the test hands in; a batch is all or none; a table, set or element
// that is missing fails with NftError errno ENOENT; values are checked by the same validators
// (FirewallInputError); other instances' tables are neighbours. The test plays the admin behind
// the daemon's back: delete the table, flush a set, swap a rule, add elements by hand.
// Kernel matching's table (lib/ruleset's scripts, run through backend()) is kept as its script
// text and named counters: enough for its watchdog to see it installed, updated, altered or gone.
// Kept under test/: it is a test double and must not ship (nothing in lib/ may depend on it).

import { createHash } from 'node:crypto';
import type { Firewall, Firewalls, TableInspector, TablePlan, Unyield, ElementText } from '../../lib/firewall/contract.js';
import type { Grant, NatListed, Yielded } from '../../lib/firewall/grants.js';
import type { InstanceGuard } from '../../lib/firewall/instances.js';
import { isGrantTable } from '../../lib/firewall/instances.js';
import { ALLOW4, ALLOW6, CHAIN, GUARDED, IFACES, YIELDED, grantBatch, grantElementKeys, installBatch, RULE_COUNT } from '../../lib/firewall/commands.js';
import { FWD4, LNAT4, NAT_CHAINS, natInstallBatch } from '../../lib/firewall/nat-commands.js';
import { GRANT_SET_FIELDS, revokeBatch } from '../../lib/firewall/grant-elements.js';
import { NftError, type NftBackend, type NftErrno } from '../../lib/firewall/types.js';
import { checkName } from '../../lib/firewall/validate.js';
import { formatProtoPort } from '../../lib/net/protocol.js';
import type { Snapshot } from '../../lib/firewall/table-snapshot.js';

/** A clock in milliseconds the test moves by hand. */
export class ManualClock {
  constructor(public ms = 1_000_000) {}
  now = (): number => this.ms;
  advance(seconds: number): void { this.ms += seconds * 1000; }
}

interface FakeSet {
  /** Elements with a timeout (grants): not part of a snapshot, as the kernel's dynamic sets. */
  readonly dynamic: boolean;
  /** Element text → expiry (clock ms; Infinity: none) and, for elements Sesame granted, the grant. */
  readonly elements: Map<string, { until: number; timeout: number; grant?: Grant }>;
}

interface FakeTable {
  readonly chains: Map<string, string[]>;
  readonly sets: Map<string, FakeSet>;
  guards: InstanceGuard['guards'];
  ifaces: readonly string[];
  yielded: Yielded[];
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
const noEntry = (what: string) => new NftError(`Error: Could not process rule: No such file or directory\n${what}`, { errno: 'ENOENT' });
const yieldedKey = (y: Yielded) => `"${y.iface}" . ${formatProtoPort(y).replace('/', ' . ')}`;

/** The kernel: every table of one network namespace, on one clock. */
export class FakeKernel {
  readonly tables = new Map<string, FakeTable>();
  /** Tables built by scripts (kernel matching's): what was run into them, and their named counters. */
  readonly scripted = new Map<string, { text: string; counters: Map<string, number> }>();
  /** Batches run (one per contract call that writes), for asserting how many went in. */
  readonly batches: string[] = [];
  /** Backends opened (Firewalls.open and .backend). */
  opened = 0;
  private failures: Array<{ errno: NftErrno | undefined; text: string }> = [];
  private readFailures = 0;

  constructor(readonly clock: ManualClock = new ManualClock()) {}

  /** The next batch fails as nft would (EPERM: not root; undefined: a syntax error). */
  failNext(errno: NftErrno | undefined = 'EPERM', text = 'Error: Could not process rule: Operation not permitted'): void {
    this.failures.push({ errno, text });
  }

  /** Batches still queued to fail. */
  pendingFailures(): number { return this.failures.length; }

  /** The fault is fixed: batches queued to fail go in. */
  clearFailures(): void { this.failures = []; }

  /** The next `n` snapshot reads throw (a dump interrupted by ruleset changes). */
  failReads(n = 1): void { this.readFailures += n; }

  /** `nft delete table` / `nft flush ruleset` behind the daemon's back. */
  deleteTable(table: string): void { this.tables.delete(table); this.scripted.delete(table); }

  /** A scripted table changed by hand (a rule added, a saved ruleset of another config reloaded). */
  alterScript(table: string, line = 'add rule inet x knock accept'): void {
    const s = this.scripted.get(table);
    if (!s) throw noEntry(`table inet ${table}`);
    s.text += `${line}\n`;
  }

  /** Packets counted by a scripted table's named counter. */
  count(table: string, name: string, packets: number): void {
    const s = this.scripted.get(table);
    if (!s) throw noEntry(`table inet ${table}`);
    s.counters.set(name, (s.counters.get(name) ?? 0) + packets);
  }

  /** A scripted table's counter (undefined: no table or no such counter), as the daemon reads it. */
  counter(table: string, name: string): number | undefined {
    return this.scripted.get(table)?.counters.get(name);
  }

  /** `nft flush set`. */
  flushSet(table: string, set: string): void { this.set(table, set).elements.clear(); }

  /** Another rule in place of the chain's i-th (same count, other verdict). */
  swapRule(table: string, i: number, rule = 'tcp dport 22 accept', chain = CHAIN): void {
    const rules = this.table(table).chains.get(chain);
    if (!rules || i >= rules.length) throw noEntry(`rule ${i} of ${chain}`);
    rules[i] = rule;
  }

  /** `nft flush chain`. */
  flushChain(table: string, chain = CHAIN): void { this.table(table).chains.set(chain, []); }

  /** An element added by hand (`nft add element`), with a timeout or none. */
  addElement(table: string, set: string, text: string, timeoutSeconds?: number): void {
    const until = timeoutSeconds === undefined ? Infinity : this.clock.now() + timeoutSeconds * 1000;
    this.set(table, set).elements.set(text, { until, timeout: timeoutSeconds ?? 0 });
  }

  /** A grant set's live elements as text (what the inspector reads). */
  elements(table: string, set: string): string[] {
    const s = this.tables.get(table)?.sets.get(set);
    if (!s) return [];
    this.expire(s);
    return [...s.elements.keys()];
  }

  /** A grant's elements, each with the seconds it has left; undefined when one is missing. */
  secondsLeft(table: string, g: Grant): number[] | undefined {
    const out: number[] = [];
    for (const k of grantElementKeys({ ...g, timeout: 1 })) {
      const s = this.tables.get(table)?.sets.get(k.set);
      if (s) this.expire(s);
      const e = s?.elements.get(k.text);
      if (!e) return undefined;
      out.push(Math.floor((e.until - this.clock.now()) / 1000));
    }
    return out;
  }

  /** Sets an instance's table up as that instance's daemon would (for neighbour tests). */
  async install(table: string, plan: TablePlan, grants: readonly Grant[] = []): Promise<void> {
    await new FakeFirewall(this, table).install(plan, grants);
  }

  /** What a firewall of this kernel is opened through. */
  firewalls(): Firewalls {
    return {
      open: async (table, log) => {
        this.opened++;
        log('firewall: using the fake kernel');
        return new FakeFirewall(this, checkName(table));
      },
      inspector: (table) => new FakeInspector(this, table),
      backend: async (): Promise<NftBackend> => {
        this.opened++;
        return { name: 'nft', run: async (batch) => { this.script(batch); return ''; } };
      },
      counter: async (table, name) => this.counter(table, name),
    };
  }

  /**
   * A script through a bare backend: lib/ruleset's install (`add table`, `delete table`, `table
   * ... {`) replaces a scripted table with fresh counters; the remove script deletes it; a change
   * to a chain, set or element (an update) is added to the table's text and needs the table.
   */
  private script(text: string): void {
    const head = /^add table inet (\S+)\ndelete table inet \1\n/.exec(text);
    const name = head?.[1] ?? /^(?:flush|add|delete) (?:chain|set|element|rule) inet (\S+)/.exec(text)?.[1];
    if (!head && name !== undefined && !this.scripted.has(name)) throw noEntry(`table inet ${name}`);
    this.batch(text);
    if (name === undefined) return;
    if (!head) { this.scripted.get(name)!.text += text; return; }
    const body = text.slice(head[0].length);
    if (body === '') { this.scripted.delete(name); this.tables.delete(name); return; }
    this.scripted.set(name, { text: body, counters: new Map([...body.matchAll(/^ {2}counter (\S+) \{/gm)].map((m) => [m[1]!, 0])) });
  }

  /** Firewalls without an inspector: the kernel as seen without nftables-napi. */
  firewallsWithoutInspector(): Firewalls {
    return { ...this.firewalls(), inspector: () => undefined };
  }

  /** One batch: the failure queued for it, if any, else it is recorded. */
  batch(text: string): void {
    const f = this.failures.shift();
    if (f) throw new NftError(f.text, { errno: f.errno });
    this.batches.push(text);
  }

  readCheck(): void {
    if (this.readFailures > 0) {
      this.readFailures--;
      throw new Error('dump: interrupted three times by ruleset changes');
    }
  }

  table(name: string): FakeTable {
    const t = this.tables.get(name);
    if (!t) throw noEntry(`table inet ${name}`);
    return t;
  }

  set(table: string, set: string): FakeSet {
    const s = this.table(table).sets.get(set);
    if (!s) throw noEntry(`set inet ${table} ${set}`);
    this.expire(s);
    return s;
  }

  private expire(s: FakeSet): void {
    const now = this.clock.now();
    for (const [k, e] of s.elements) if (e.until <= now) s.elements.delete(k);
  }
}

/** A fresh table for `plan`, as installBatch and natInstallBatch build it. */
function tableFor(plan: TablePlan): FakeTable {
  const dyn = (): FakeSet => ({ dynamic: true, elements: new Map() });
  const fixed = (keys: readonly string[]): FakeSet => ({ dynamic: false, elements: new Map(keys.map((k) => [k, { until: Infinity, timeout: 0 }])) });
  const chains = new Map<string, string[]>([[CHAIN, [
    'ct state established,related accept',
    `@${GUARDED} ip saddr @${ALLOW4} accept`,
    `@${GUARDED} ip6 saddr @${ALLOW6} accept`,
    `@${GUARDED} iifname != @${YIELDED} drop`,
  ]]]);
  const sets = new Map<string, FakeSet>([
    [ALLOW4, dyn()], [ALLOW6, dyn()],
    [GUARDED, fixed([...new Set(plan.guards.map((g) => formatProtoPort(g)))])],
    [IFACES, fixed(plan.interfaces)],
    [YIELDED, fixed(plan.yielded.map(yieldedKey))],
  ]);
  if (plan.nat) {
    for (const [chain, n] of Object.entries(NAT_CHAINS)) chains.set(chain, Array.from({ length: n }, (_, i) => `${chain} rule ${i}`));
    for (const set of Object.keys(GRANT_SET_FIELDS)) if (!sets.has(set)) sets.set(set, dyn());
    sets.set('fwdguard4', fixed(plan.nat.map((r) => `${r.network} . ${formatProtoPort(r)}`)));
  }
  return { chains, sets, guards: [...plan.guards], ifaces: [...plan.interfaces], yielded: [...plan.yielded] };
}

export class FakeFirewall implements Firewall {
  constructor(private readonly kernel: FakeKernel, readonly table: string) {}

  async install(plan: TablePlan, grants: readonly Grant[], unyield: readonly Unyield[] = []): Promise<void> {
    // The same checks as the real batch, before anything changes (all or none).
    const text = installBatch(this.table, plan.guards, plan.interfaces, plan.yielded) +
      (plan.nat ? natInstallBatch(this.table, plan.nat) : '') + grantBatch(this.table, grants);
    for (const u of unyield) this.kernel.table(u.table);
    if (grants.some((g) => g.nat) && !plan.nat) throw noEntry(`map inet ${this.table} ${FWD4}`);
    this.kernel.batch(text);
    this.kernel.tables.set(this.table, tableFor(plan));
    this.put(grants);
    this.takeBack(unyield);
  }

  async grant(grants: readonly Grant[]): Promise<void> {
    const text = grantBatch(this.table, grants);
    if (text === '') return;
    for (const g of grants) for (const k of grantElementKeys(g)) this.kernel.set(this.table, k.set);
    this.kernel.batch(text);
    this.put(grants);
  }

  async revoke(elements: readonly ElementText[]): Promise<ElementText[]> {
    const { batch, skipped } = revokeBatch(this.table, elements);
    if (batch === '') return skipped;
    const doomed = elements.filter((e) => !skipped.includes(e));
    for (const e of doomed) this.kernel.set(this.table, e.set);
    this.kernel.batch(batch);
    for (const e of doomed) this.kernel.set(this.table, e.set).elements.delete(e.text);
    return skipped;
  }

  async list(): Promise<Grant[]> {
    if (!this.kernel.tables.has(this.table)) return [];
    const now = this.kernel.clock.now();
    return [ALLOW4, ALLOW6].flatMap((set) => [...this.kernel.set(this.table, set).elements].flatMap(([text, e]) => {
      const m = /^(\S+) \. (tcp|udp) \. (\d+)$/.exec(text);
      if (!m) return [];
      const g: Grant = { address: m[1]!, protocol: m[2] as Grant['protocol'], port: Number(m[3]), timeout: e.timeout };
      if (e.until !== Infinity) g.expires = Math.floor((e.until - now) / 1000);
      return [g];
    }));
  }

  async listNat(): Promise<NatListed[]> {
    const t = this.kernel.tables.get(this.table);
    if (!t) return [];
    const now = this.kernel.clock.now();
    return [FWD4, LNAT4].flatMap((set) => (t.sets.has(set) ? [...this.kernel.set(this.table, set).elements.values()] : []).flatMap((e) => {
      const g = e.grant;
      if (!g?.nat) return [];
      return [{ client: g.address, external: { protocol: g.protocol, port: g.port }, kind: g.nat.kind, address: g.nat.kind === 'local' ? undefined : g.nat.address,
        port: g.nat.port, timeout: e.timeout, expires: Math.floor((e.until - now) / 1000) }];
    }));
  }

  async setYielded(yielded: readonly Yielded[]): Promise<void> {
    const t = this.kernel.table(this.table);
    this.kernel.batch(`flush set inet ${this.table} ${YIELDED}`);
    t.yielded = [...yielded];
    const s = this.kernel.set(this.table, YIELDED);
    s.elements.clear();
    for (const y of yielded) s.elements.set(yieldedKey(y), { until: Infinity, timeout: 0 });
  }

  async flush(unyield: readonly Unyield[] = []): Promise<void> {
    for (const u of unyield) this.kernel.table(u.table);
    this.kernel.batch(`delete table inet ${this.table}`);
    this.kernel.tables.delete(this.table);
    this.takeBack(unyield);
  }

  async intact(plan: TablePlan): Promise<boolean> {
    const t = this.kernel.tables.get(this.table);
    if (!t) return false;
    if (t.chains.get(CHAIN)?.length !== RULE_COUNT) return false;
    if (plan.nat && Object.entries(NAT_CHAINS).some(([c, n]) => t.chains.get(c)?.length !== n)) return false;
    return t.sets.get(GUARDED)?.elements.size === new Set(plan.guards.map((g) => formatProtoPort(g))).size;
  }

  /** Each grant's elements, each with a fresh timer (a re-grant replaces the element). */
  private put(grants: readonly Grant[]): void {
    const now = this.kernel.clock.now();
    for (const g of grants) {
      for (const k of grantElementKeys(g)) this.kernel.set(this.table, k.set).elements.set(k.text, { until: now + g.timeout * 1000, timeout: g.timeout, grant: g });
    }
  }

  private takeBack(unyield: readonly Unyield[]): void {
    for (const u of unyield) {
      const t = this.kernel.table(u.table);
      t.yielded = t.yielded.filter((y) => yieldedKey(y) !== yieldedKey(u.pair));
      t.sets.get(YIELDED)?.elements.delete(yieldedKey(u.pair));
    }
  }
}

class FakeInspector implements TableInspector {
  constructor(private readonly kernel: FakeKernel, private readonly table: string) {}

  snapshot(): Snapshot | undefined {
    this.kernel.readCheck();
    const scripted = this.kernel.scripted.get(this.table);
    if (scripted) return new Map([['table', digest(this.table)], ['script', digest(scripted.text)]]);
    const t = this.kernel.tables.get(this.table);
    if (!t) return undefined;
    const snap = new Map<string, string>([['table', digest(this.table)]]);
    for (const [chain, rules] of t.chains) {
      snap.set(`chain ${chain}`, digest(chain));
      if (rules.length > 0) snap.set(`rules ${chain}`, `${rules.length} rules ${digest(rules.join(','))}`);
    }
    for (const [name, s] of t.sets) {
      snap.set(`set ${name}`, digest(`${name} ${s.dynamic}`));
      // As table-dump: `yielded` is checked against the neighbours, not the snapshot.
      if (!s.dynamic && name !== YIELDED) snap.set(`elements ${name}`, `${s.elements.size} elements ${digest([...s.elements.keys()].sort().join(','))}`);
    }
    return snap;
  }

  grantSet(set: string): Set<string> {
    return new Set(this.kernel.elements(this.table, set));
  }

  yielded(): Yielded[] {
    return [...this.kernel.tables.get(this.table)?.yielded ?? []];
  }

  neighbours(): InstanceGuard[] {
    return [...this.kernel.tables].filter(([name]) => name !== this.table && isGrantTable(name))
      .map(([table, t]) => ({ table, ifaces: t.ifaces, guards: t.guards, yielded: [...t.yielded] }));
  }
}
