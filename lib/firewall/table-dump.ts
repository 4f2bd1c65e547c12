// Reads one of Sesame's inet tables straight from the kernel (nftables-napi's dump(): one netlink
// dump per kind, no set elements but the ones asked for) and makes its snapshot. libnftables would
// first fetch every element of every set, a flooded knock set's 260,000 included: too slow for a
// check every second. Without the addon there is no snapshot (the watchdogs then count rules).

import { snapshotOf, staticSets, type Snapshot } from './table-snapshot.js';
import { checkName } from './validate.js';
import { GUARDED, IFACES, YIELDED, type Yielded } from './commands.js';
import { grantSetElements } from './grant-elements.js';
import { guardElements, ifaceElements, isGrantTable, tableNames, yieldedElements, type InstanceGuard } from './instances.js';

type DumpKind = 'tables' | 'table' | 'chains' | 'sets' | 'objects' | 'rules' | 'elements';
type DumpFn = (kind: DumpKind, table: string, set?: string) => Buffer[] | null;

let dumpFn: DumpFn | undefined;
try { dumpFn = ((await import('nftables-napi')) as { dump?: DumpFn }).dump; } catch { dumpFn = undefined; }

/** Whether snapshots can be read here (the addon loaded). */
export const snapshotsAvailable = (): boolean => dumpFn !== undefined;

/**
 * A set's name as the kernel gave it (`__set0`, `__map1`, or anything an admin chose): passed back
 * as a netlink string attribute, never into nft text, so only its length and NULs are checked.
 */
function setName(name: string): string {
  if (name.length > 0 && Buffer.byteLength(name) <= 255 && !name.includes('\0')) return name;
  throw new Error(`not a set name: ${JSON.stringify(name)}`);
}

/** The raw messages of one dump; undefined when the table or set does not exist. */
export function dumpKind(kind: DumpKind, table: string, set?: string): Buffer[] | undefined {
  if (!dumpFn) throw new Error('nftables-napi is not available');
  return dumpFn(kind, checkName(table), set === undefined ? undefined : setName(set)) ?? undefined;
}

/**
 * The table's snapshot; undefined when it does not exist (or vanished while being read). Throws
 * when the kernel cannot be asked or the addon is missing.
 */
export function readSnapshot(table: string): Snapshot | undefined {
  const t = dumpKind('table', table);
  if (!t || t.length === 0) return undefined;
  const sets = dumpKind('sets', table) ?? [];
  const elements = new Map<string, Buffer[]>();
  // `yielded` is not compared: other instances take pairs back from it; the grant table's
  // watchdog checks it against their tables instead.
  for (const name of staticSets(table, sets)) if (name !== YIELDED) elements.set(name, dumpKind('elements', table, name) ?? []);
  const dump = {
    table: t,
    chains: dumpKind('chains', table) ?? [],
    sets,
    objects: dumpKind('objects', table) ?? [],
    rules: dumpKind('rules', table) ?? [],
    elements,
  };
  return snapshotOf(table, dump);
}

/** What a grant table leaves to other instances (its `yielded` set); none when it is missing. */
export function readYielded(table: string): Yielded[] {
  return yieldedElements(dumpKind('elements', table, YIELDED) ?? []);
}

/** A grant table's guard (ports, interfaces, what it leaves to others); undefined when it is not (or no longer) there. */
export function readGuard(table: string): InstanceGuard | undefined {
  const guarded = dumpKind('elements', table, GUARDED);
  if (!guarded) return undefined;
  return {
    table,
    ifaces: ifaceElements(dumpKind('elements', table, IFACES) ?? []),
    guards: guardElements(guarded),
    yielded: readYielded(table),
  };
}

/** Every other Sesame instance's guard in this network namespace, read from its grant table. */
export function readInstances(ownTable: string): InstanceGuard[] {
  const out: InstanceGuard[] = [];
  for (const table of tableNames(dumpKind('tables', ownTable) ?? [])) {
    if (table === ownTable || !isGrantTable(table)) continue;
    const g = readGuard(table);
    if (g) out.push(g);
  }
  return out;
}

/** A grant set's elements as text keys (grantSetElements); empty when the set is missing. */
export function readGrantSet(table: string, set: string): Set<string> {
  return grantSetElements(set, dumpKind('elements', table, set) ?? []);
}
