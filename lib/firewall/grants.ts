// The grant table: nftables sets whose elements (source . protocol . port) let a source open new
// connections to guarded ports until the kernel expires them. Works through any NftBackend.
//
//   table inet sesame
//     set allow4  { ipv4_addr . inet_proto . inet_service; flags timeout }
//     set allow6  { ipv6_addr . inet_proto . inet_service; flags timeout }
//     set guarded { inet_proto . inet_service }
//     chain input { filter hook input priority filter - 1; policy accept
//       ct state established,related accept
//       guarded port, source granted (allow4 / allow6): accept
//       guarded port: drop }

import { FWD4, LNAT4, NAT_CHAINS, natInstallBatch, parseNatListing, type NatListed, type NatRoute } from './nat-commands.js';
import {
  ALLOW4, ALLOW6, RULE_COUNT, countElements, countRules, flushBatch, grantBatch, installBatch, listChainCommand,
  listGuardedCommand, listSetCommand, parseSetListing, unyieldBatch, yieldedBatch, type Grant, type Guard, type Yielded,
} from './commands.js';
import { checkName } from './validate.js';
import { revokeBatch } from './grant-elements.js';
import { isNoEntry, type NftBackend } from './types.js';
import { formatProtoPort } from '../net/protocol.js';

export type { Grant, Guard, Proto, Yielded } from './commands.js';
export type { NatListed, NatRoute, NatTarget } from './nat-commands.js';

export class GrantTable {
  readonly table: string;

  constructor(private readonly backend: NftBackend, table = 'sesame') {
    this.table = checkName(table);
  }

  /**
   * Creates the table if missing and sets the guarded ports and rules, with the NAT maps and
   * chains when `nat` is given (its routes: the forwarded destinations); existing grants stay.
   */
  async install(guards: readonly Guard[], nat?: readonly NatRoute[], interfaces: readonly string[] = [],
    yielded: readonly Yielded[] = []): Promise<void> {
    await this.backend.run(installBatch(this.table, guards, interfaces, yielded) + (nat ? natInstallBatch(this.table, nat) : ''));
  }

  /**
   * Replaces the whole table with a fresh one holding `grants` (each for the seconds it has
   * left): one transaction, so nothing of a stale or altered table survives and no moment is
   * unguarded.
   */
  async replace(guards: readonly Guard[], nat: readonly NatRoute[] | undefined, interfaces: readonly string[], yielded: readonly Yielded[],
    grants: readonly Grant[], unyield: ReadonlyArray<{ table: string; pair: Yielded }> = []): Promise<void> {
    await this.backend.run(flushBatch(this.table) + installBatch(this.table, guards, interfaces, yielded) +
      (nat ? natInstallBatch(this.table, nat) : '') + grantBatch(this.table, grants) + unyieldBatch(unyield));
  }

  /** Deletes the table, taking back in the same transaction what other instances left to it. */
  async flushWith(unyield: ReadonlyArray<{ table: string; pair: Yielded }>): Promise<void> {
    await this.backend.run(flushBatch(this.table) + unyieldBatch(unyield));
  }

  /** The (interface, port) pairs left to other instances, replaced. */
  async setYielded(yielded: readonly Yielded[]): Promise<void> {
    await this.backend.run(yieldedBatch(this.table, yielded));
  }

  /**
   * Deletes grant set elements (as grantSetElements() reads them), in one batch that an element
   * expiring meanwhile cannot fail. Returns those that could not be written (left alone).
   */
  async revoke(elements: ReadonlyArray<{ set: string; text: string }>): Promise<Array<{ set: string; text: string }>> {
    const { batch, skipped } = revokeBatch(this.table, elements);
    if (batch !== '') await this.backend.run(batch);
    return skipped;
  }

  /** Adds or refreshes grants, all in one atomic batch (all or none). */
  async grant(grants: Grant[]): Promise<void> {
    const batch = grantBatch(this.table, grants);
    if (batch !== '') await this.backend.run(batch);
  }

  /** The grants in the kernel, with the seconds they have left; none when the table is missing. */
  async list(): Promise<Grant[]> {
    const read = async (set: typeof ALLOW4 | typeof ALLOW6) => {
      try {
        return parseSetListing(await this.backend.run(listSetCommand(this.table, set), { json: true }));
      } catch (err) {
        if (isNoEntry(err)) return [];
        throw err;
      }
    };
    const [v4, v6] = await Promise.all([read(ALLOW4), read(ALLOW6)]);
    return [...v4, ...v6];
  }

  /**
   * Whether the guard is in the kernel as install() left it for `guards`: the chain with all its
   * rules and the guarded set with every port. False when the table, chain or set is gone or was
   * emptied (`nft flush ruleset`, `nft flush chain`, another program); other errors throw.
   */
  async intact(guards: readonly Guard[], nat?: readonly NatRoute[]): Promise<boolean> {
    try {
      const chain = await this.backend.run(listChainCommand(this.table), { json: true });
      if (countRules(chain) !== RULE_COUNT) return false;
      if (nat) {
        for (const [name, rules] of Object.entries(NAT_CHAINS)) {
          if (countRules(await this.backend.run(`list chain inet ${this.table} ${name}\n`, { json: true })) !== rules) return false;
        }
      }
      const set = await this.backend.run(listGuardedCommand(this.table), { json: true });
      const want = new Set(guards.map((g) => formatProtoPort(g))).size;
      return countElements(set) === want;
    } catch (err) {
      if (isNoEntry(err)) return false;
      throw err;
    }
  }

  /** The NAT grants in the kernel (none when the table or its maps are missing). */
  async listNat(): Promise<NatListed[]> {
    const read = async (map: string) => {
      try {
        return parseNatListing(await this.backend.run(`list map inet ${this.table} ${map}\n`, { json: true }));
      } catch (err) {
        if (isNoEntry(err)) return [];
        throw err;
      }
    };
    return [...await read(FWD4), ...await read(LNAT4)];
  }

  /** Deletes the table and every grant in it; no error if it does not exist. */
  async flush(): Promise<void> {
    await this.backend.run(flushBatch(this.table));
  }
}
