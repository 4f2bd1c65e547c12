// Doors with `Open =`: Sesame guards those ports itself in nftables and grants a source by adding
// a kernel-expiring set element. The kernel owns expiry, so a daemon killed mid-grant leaves
// nothing open past its timeout; the guard stays while the daemon is down (fail closed).
// While it runs, a watchdog checks the table every second and puts it back, with the live
// grants, when an admin's `nft flush ruleset` (what `systemctl restart nftables` runs) or anyone
// else removed or emptied it: otherwise the guarded ports would be open to everyone.

import { ConfigError } from '../config/errors.js';
import type { Config, Door, KnockStep } from '../config/types.js';
import { isNoEntry, openBackend } from '../firewall/backend.js';
import { GrantTable, type Grant, type Guard, type NatRoute, type NatTarget } from '../firewall/grants.js';
import { formatIpv4Network } from '../net/ipv4.js';
import { readFileSync } from 'node:fs';
import { LiveGrants } from './live-grants.js';
import { formatProtoPort } from '../net/protocol.js';

/** How often the table is checked (ms); the guard is back within about this long. */
export const WATCH_MS = 1000;

const now = () => performance.now();
const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];
const portsText = (guards: readonly Guard[]) => guards.map(formatProtoPort).join(', ');

function guardsOf(config: Config): Guard[] {
  const seen = new Set<string>();
  const out: Guard[] = [];
  for (const d of config.doors) {
    for (const p of d.open ?? []) {
      const k = formatProtoPort(p);
      if (!seen.has(k)) { seen.add(k); out.push({ protocol: p.protocol, port: p.port }); }
    }
  }
  return out;
}

/** The first door that needs the table (Open, or SPA NAT keys), for the error of a failed start. */
const firstFirewallDoor = (config: Config) => config.doors.find((d) => d.open !== undefined || d.spa?.nat !== undefined);

/** The NAT routes (forwarded destinations) of a config, or undefined when no door has NAT keys. */
function natRoutesOf(config: Config): NatRoute[] | undefined {
  const nats = config.doors.flatMap((d) => (d.spa?.nat ? [d.spa.nat] : []));
  if (nats.length === 0) return undefined;
  return nats.flatMap((n) => [
    ...n.forward.map((f) => ({ network: formatIpv4Network(f.network), protocol: f.protocol, port: f.port })),
    ...(n.force ? [{ network: n.force.address, protocol: n.force.protocol, port: n.force.port }] : []),
  ]);
}

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
  private watch: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private restoreFailing = false;

  private constructor(
    private readonly table: GrantTable,
    private readonly tableName: string,
    private guards: Guard[],
    private nat: NatRoute[] | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** Sets up the guard for a config; undefined when no door has `Open`. A failure names the line. */
  static async start(config: Config, log: (line: string) => void, tableName: string): Promise<DoorFirewall | undefined> {
    const door = firstFirewallDoor(config);
    if (!door) return undefined;
    const guards = guardsOf(config);
    const nat = natRoutesOf(config);
    let fw: DoorFirewall;
    try {
      fw = new DoorFirewall(new GrantTable(await openBackend(log), tableName), tableName, guards, nat, log);
      await fw.table.install(guards, nat);
    } catch (err) {
      throw DoorFirewall.configError(config, door, err);
    }
    log(`firewall: table inet ${tableName} guards ${portsText(guards) || 'no ports'}${nat ? ', with SPA NAT' : ''}`);
    const forwarding = config.doors.filter((d) => d.spa?.nat?.forward.length || d.spa?.nat?.force);
    if (forwarding.length > 0 && !ipv4Forwarding()) {
      for (const d of forwarding) log(`warning: ${d.name}: SPA_Forward needs IPv4 forwarding, which is off (sysctl net.ipv4.ip_forward=1); Sesame does not turn it on`);
    }
    fw.watch = setInterval(() => void fw.check(), WATCH_MS);
    fw.watch.unref();
    return fw;
  }

  private static configError(config: Config, door: Door, err: unknown): ConfigError {
    const why = firstLine(err);
    const [line, what] = door.open ? [door.openLine, 'Open'] : [door.line, 'SPA NAT'];
    return new ConfigError(`config: line ${line}: ${what} needs nftables, which failed: ${why}`, config.path, line);
  }

  /** SIGHUP: the new config's guarded ports; existing grants stay. */
  async reload(config: Config): Promise<void> {
    this.guards = guardsOf(config);
    this.nat = natRoutesOf(config);
    await this.table.install(this.guards, this.nat);
  }

  /**
   * Puts the table back when it is missing or was changed: the guard first (one atomic batch),
   * then every live grant with the time it has left. One check at a time; logged.
   */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => { this.checking = undefined; });
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    try {
      if (await this.table.intact(this.guards, this.nat)) return;
      await this.table.install(this.guards, this.nat);
      const grants = this.live.remaining(now());
      await this.table.grant(grants);
      this.restoreFailing = false;
      this.log(`firewall: table inet ${this.tableName} was removed or changed (nft flush ruleset?); ` +
        `restored the guard of ${portsText(this.guards) || 'no ports'} and ${grants.length} live grant${grants.length === 1 ? '' : 's'}`);
    } catch (err) {
      if (!this.restoreFailing) this.log(`firewall: cannot check or restore table inet ${this.tableName}: ${firstLine(err)}; retrying every second`);
      this.restoreFailing = true;
    }
  }

  /** Stops the watchdog (shutdown). The table and its grants stay: the kernel expires them. */
  stop(): void {
    if (this.watch) clearInterval(this.watch);
    this.watch = undefined;
  }

  /**
   * Grants `ip` the door's Open ports (or those of `requested` that are among them) for `timeout`
   * seconds, refreshing the timer of a grant that exists. Logged; never throws.
   */
  grant(who: string, door: Door, ip: string, timeout: number, requested?: readonly KnockStep[]): Promise<void> {
    const open = door.open ?? [];
    const ports = requested ? requested.filter((r) => open.some((o) => o.protocol === r.protocol && o.port === r.port)) : open;
    if (ports.length === 0) return Promise.resolve();
    const seconds = Math.max(1, timeout);
    const text = ports.map(formatProtoPort).join(',');
    const grants = ports.map((q) => ({ address: ip, protocol: q.protocol, port: q.port, timeout: seconds }));
    return this.track(who, door, grants, `granted ${ip} ${text} for ${seconds}s`);
  }

  /** A NAT grant: `ip`'s connections to `external` go to the target for `timeout` seconds. Logged; never throws. */
  grantNat(who: string, door: Door, ip: string, timeout: number, external: KnockStep, to: NatTarget): Promise<void> {
    const seconds = Math.max(1, timeout);
    const target: NatTarget = to.kind === 'forward' && door.spa?.nat?.snat ? { ...to, snat: door.spa.nat.snat } : to;
    const where = to.kind === 'local' ? `local port ${to.port}` : `${to.address}:${to.port}`;
    const grant: Grant = { address: ip, protocol: external.protocol, port: external.port, timeout: seconds, nat: target };
    return this.track(who, door, [grant], `forwarded ${ip} ${formatProtoPort(external)} to ${where} for ${seconds}s`);
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
  private async grantOrRestore(grants: Grant[]): Promise<void> {
    try {
      await this.table.grant(grants);
    } catch (err) {
      if (!isNoEntry(err)) throw err;
      await this.check();
      await this.table.grant(grants);
    }
    this.live.add(grants, now());
  }

  /** Resolves when no grant batch is in flight (shutdown waits for them before closing the log). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
