// The firewall contract (contract.ts) on nftables: the grant table's batches (grants.ts) through a
// backend (libnftables or nft), and the inspector's reads straight from the kernel (table-dump.ts,
// with nftables-napi only). The one place the daemon's backends are opened.

import { openBackend } from './backend.js';
import { readCounterPackets } from './counter.js';
import { GrantTable } from './grants.js';
import { readGrantSet, readInstances, readSnapshot, readYielded, snapshotsAvailable } from './table-dump.js';
import type { Firewall, Firewalls, TableInspector, TablePlan, Unyield, ElementText } from './contract.js';
import type { Grant, NatListed, Yielded } from './grants.js';

export class NftFirewall implements Firewall {
  constructor(private readonly grants: GrantTable) {}

  get table(): string { return this.grants.table; }

  install(plan: TablePlan, grants: readonly Grant[], unyield: readonly Unyield[] = []): Promise<void> {
    return this.grants.replace(plan.guards, plan.nat, plan.interfaces, plan.yielded, grants, unyield);
  }

  grant(grants: readonly Grant[]): Promise<void> { return this.grants.grant([...grants]); }
  revoke(elements: readonly ElementText[]): Promise<ElementText[]> { return this.grants.revoke(elements); }
  list(): Promise<Grant[]> { return this.grants.list(); }
  listNat(): Promise<NatListed[]> { return this.grants.listNat(); }
  setYielded(yielded: readonly Yielded[]): Promise<void> { return this.grants.setYielded(yielded); }
  flush(unyield: readonly Unyield[] = []): Promise<void> { return this.grants.flushWith(unyield); }
  intact(plan: TablePlan): Promise<boolean> { return this.grants.intact(plan.guards, plan.nat); }
}

/** The kernel's own view of `table` (nftables-napi's dumps); undefined without the addon. */
export function nftInspector(table: string): TableInspector | undefined {
  if (!snapshotsAvailable()) return undefined;
  return {
    snapshot: () => readSnapshot(table),
    grantSet: (set) => readGrantSet(table, set),
    yielded: () => readYielded(table),
    neighbours: () => readInstances(table),
  };
}

/** nftables, as the daemon uses it: each opened table gets a backend of its own (its own queue). */
export const nftFirewalls: Firewalls = {
  open: async (table, log) => new NftFirewall(new GrantTable(await openBackend(log), table)),
  inspector: nftInspector,
  backend: () => openBackend(),
  counter: (table, name, backend) => readCounterPackets(backend, table, name),
};
