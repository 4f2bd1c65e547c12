// Doors with `Open =`: Sesame guards those ports itself in nftables and grants a source by adding
// a kernel-expiring set element. The kernel owns expiry, so a daemon killed mid-grant leaves
// nothing open past its timeout; the guard stays while the daemon is down (fail closed).

import { ConfigError } from '../config/errors.js';
import type { Config, Door, KnockStep } from '../config/types.js';
import { openBackend } from '../firewall/backend.js';
import { GrantTable, type Guard } from '../firewall/grants.js';

export const TABLE = 'sesame';

function guardsOf(config: Config): Guard[] {
  const seen = new Set<string>();
  const out: Guard[] = [];
  for (const d of config.doors) {
    for (const p of d.open ?? []) {
      const k = `${p.protocol}/${p.port}`;
      if (!seen.has(k)) { seen.add(k); out.push({ proto: p.protocol, port: p.port }); }
    }
  }
  return out;
}

const firstOpen = (config: Config) => config.doors.find((d) => d.open !== undefined);

export class DoorFirewall {
  private readonly inFlight = new Set<Promise<void>>();

  private constructor(private readonly table: GrantTable, private readonly log: (line: string) => void) {}

  /** Sets up the guard for a config; undefined when no door has `Open`. A failure names the line. */
  static async start(config: Config, log: (line: string) => void): Promise<DoorFirewall | undefined> {
    const door = firstOpen(config);
    if (!door) return undefined;
    const guards = guardsOf(config);
    let fw: DoorFirewall;
    try {
      fw = new DoorFirewall(new GrantTable(await openBackend(log), TABLE), log);
      await fw.table.install(guards);
    } catch (err) {
      throw DoorFirewall.configError(config, door, err);
    }
    log(`firewall: table inet ${TABLE} guards ${guards.map((g) => `${g.proto}/${g.port}`).join(', ')}`);
    return fw;
  }

  private static configError(config: Config, door: Door, err: unknown): ConfigError {
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    return new ConfigError(`config: line ${door.openLine}: Open needs nftables, which failed: ${why}`, config.path, door.openLine);
  }

  /** SIGHUP: the new config's guarded ports; existing grants stay. */
  async reload(config: Config): Promise<void> {
    await this.table.install(guardsOf(config));
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
    const text = ports.map((p) => `${p.protocol}/${p.port}`).join(',');
    const p = this.table.grant(ports.map((q) => ({ address: ip, proto: q.protocol, port: q.port, timeout: seconds })))
      .then(() => this.log(`${who}: ${door.name}: firewall: granted ${ip} ${text} for ${seconds}s`))
      .catch((err: unknown) => this.log(`${who}: ${door.name}: firewall: grant failed: ${(err as Error).message.split('\n')[0]}`))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    return p;
  }

  /** Resolves when no grant batch is in flight (shutdown waits for them before closing the log). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
