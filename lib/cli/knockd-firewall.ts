// `knockd --status` and `knockd --flush`: read or remove an instance's nftables table directly
// from the kernel (`inet sesame`, or `inet sesame_NAME` with --instance NAME).

import { EXIT, exitStatusFor } from '../errors/exit.js';
import { nftFirewalls } from '../firewall/nft-firewall.js';
import { readInstances, readGuard, snapshotsAvailable } from '../firewall/table-dump.js';
import { unyielded } from '../firewall/instances.js';
import { lockHolder, matchTableName, tableLockPath, tableName } from '../daemon/instance-lock.js';
import { removeScript } from '../ruleset/compile.js';
import { formatProtoPort } from '../net/protocol.js';
import { loadConfig } from '../config/parser.js';
import { fleetStatusLines } from './knockd-fleet-status.js';
import { Bans } from '../matcher/bans.js';
import { BanStore } from '../daemon/state.js';

function fail(err: unknown): number {
  process.stderr.write(`knockd: ${(err as Error).message.split('\n')[0]}\n`);
  return exitStatusFor(err)?.status ?? EXIT.failure; // nft's own errors too: the table could not be read
}

/** Lists live grants (and, in a fleet, its members and grants); works whether or not a daemon runs. */
export async function showGrants(instance: string | undefined, configPath: string, stateDir: string): Promise<number> {
  const fleet = await fleetLines(configPath);
  const code = await showLocalGrants(instance);
  for (const l of banLines(stateDir, Date.now())) process.stdout.write(`${l}\n`);
  for (const l of fleet) process.stdout.write(`${l}\n`);
  return code;
}

/** Bans in force (Max_Failures), as the daemon last wrote them to its state directory. */
function banLines(stateDir: string, now: number): string[] {
  const bans = new Bans();
  bans.load(new BanStore(stateDir, () => {}).load(), now);
  return bans.list(now).sort((a, b) => a.until - b.until)
    .map((b) => `banned ${b.src} (${b.door}, ${b.failures} failures) for ${Math.ceil((b.until - now) / 1000)}s more`);
}

/** The config's fleet section for --status; nothing when the config cannot be read or names no fleet. */
async function fleetLines(configPath: string): Promise<string[]> {
  let config;
  try { config = loadConfig(configPath); } catch { return []; }
  return fleetStatusLines(config);
}

async function showLocalGrants(instance: string | undefined): Promise<number> {
  try {
    const table = await nftFirewalls.open(tableName(instance), () => {});
    const grants = await table.list();
    const nat = await table.listNat();
    if (grants.length === 0 && nat.length === 0) {
      process.stdout.write('no live grants\n');
      return EXIT.ok;
    }
    const rows = [
      ...grants.map((g) => ({ what: `${g.address} ${formatProtoPort(g)}`, expires: g.expires, timeout: g.timeout })),
      ...nat.map((n) => ({
        what: `${n.client} ${formatProtoPort(n.external)} -> ${n.kind === 'local' ? `local port ${n.port}` : `${n.address}:${n.port}`}`,
        expires: n.expires, timeout: n.timeout,
      })),
    ].sort((a, b) => (a.expires ?? 0) - (b.expires ?? 0));
    for (const r of rows) process.stdout.write(`${r.what} expires in ${r.expires ?? '?'}s (of ${r.timeout}s)\n`);
    return EXIT.ok;
  } catch (err) {
    return fail(err);
  }
}

/** What other Sesame instances' tables still guard here, after `table` went. */
function stillGuarding(table: string): string {
  if (!snapshotsAvailable()) {
    return 'its ports are no longer guarded or granted by Sesame (other instances not checked: nftables-napi unavailable)';
  }
  const others = readInstances(table).filter((o) => o.guards.length > 0);
  if (others.length === 0) return 'no port is guarded or granted by Sesame now';
  const each = others.map((o) =>
    `table inet ${o.table} (${o.guards.map(formatProtoPort).join(', ')} on ${o.ifaces.length ? o.ifaces.join(', ') : 'every interface'})`);
  return `its ports are no longer guarded by it; Sesame still guards with ${each.join('; ')}`;
}

/**
 * Removes the table. Refused while the instance's daemon runs in this network namespace: it
 * would put the table back within a second, and a flush that seems to work but does not is worse
 * than a clear refusal.
 */
export async function flushGrants(instance: string | undefined): Promise<number> {
  const table = tableName(instance);
  const holder = lockHolder(tableLockPath(table));
  if (holder !== undefined) {
    process.stderr.write(`knockd: --flush refused: knockd is running (pid ${holder}) and would restore ` +
      `table inet ${table} within a second; stop it first\n`);
    return EXIT.failure;
  }
  try {
    // What other instances leave to this one on its interfaces, they take back in the same
    // transaction: no port is left unguarded there until their next check.
    const own = snapshotsAvailable() ? readGuard(table) : undefined;
    const unyield = own ? unyielded({ ...own, guards: [] }, readInstances(table)) : [];
    await (await nftFirewalls.open(table, () => {})).flush(unyield);
    // A kernel-matching table a killed daemon left behind goes too (it only logs to NFLOG).
    await (await nftFirewalls.backend()).run(removeScript(matchTableName(instance)));
    process.stdout.write(`removed table inet ${table}: ${stillGuarding(table)}\n`);
    return EXIT.ok;
  } catch (err) {
    return fail(err);
  }
}
