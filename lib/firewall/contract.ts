// The firewall as the daemon's shell asks for it: operations on one instance's grant table (install
// a plan, grant, revoke, list, flush, check) and direct reads of what the kernel holds, never nft
// text. nftables is the one implementation (nft-firewall.ts); test/helpers/fake-firewall.ts holds
// a table in memory, so the shell's decisions (restore, adopt, refuse) are tested without root.
// Errors are the implementation's NftError, with the kernel's errno (isNoEntry: ENOENT).

import type { Grant, Guard, NatListed, NatRoute, Yielded } from './grants.js';
import type { InstanceGuard } from './instances.js';
import type { Snapshot } from './table-snapshot.js';
import type { NftBackend } from './types.js';

/** What an instance's grant table is to hold, grants aside. */
export interface TablePlan {
  /** Ports only granted sources may open new connections to. */
  readonly guards: readonly Guard[];
  /** SPA NAT's forwarded destinations; undefined: the table has no NAT maps. */
  readonly nat: readonly NatRoute[] | undefined;
  /** The interfaces the instance listens on; empty: every interface. */
  readonly interfaces: readonly string[];
  /** (interface, port) pairs left to other instances that guard them there. */
  readonly yielded: readonly Yielded[];
}

/** A pair another instance's table leaves to this one, to be taken back. */
export interface Unyield { readonly table: string; readonly pair: Yielded }

/** A grant set's element as text: `key`, or `key : data` for a map (grantSetElements' form). */
export interface ElementText { readonly set: string; readonly text: string }

/** One instance's grant table. */
export interface Firewall {
  readonly table: string;
  /**
   * Replaces the table whole with `plan` and `grants` (each for its timeout), taking back `unyield`
   * from other tables: one transaction, so nothing of an older or altered table survives.
   */
  install(plan: TablePlan, grants: readonly Grant[], unyield?: readonly Unyield[]): Promise<void>;
  /** Adds or refreshes grants (a fresh timer each), all or none. */
  grant(grants: readonly Grant[]): Promise<void>;
  /** Deletes grant set elements (one gone meanwhile is no error); returns those that could not be written. */
  revoke(elements: readonly ElementText[]): Promise<ElementText[]>;
  /** The allow grants in the kernel with the seconds they have left; none without the table. */
  list(): Promise<Grant[]>;
  /** The NAT grants in the kernel; none without the table. */
  listNat(): Promise<NatListed[]>;
  /** Replaces the pairs left to other instances. */
  setYielded(yielded: readonly Yielded[]): Promise<void>;
  /** Deletes the table (no error when it is missing), taking back `unyield` in the same transaction. */
  flush(unyield?: readonly Unyield[]): Promise<void>;
  /**
   * Whether the table is there as install() left it for `plan`, by counting (chains' rules, guarded
   * ports): the check where no inspector can be had. False when it is gone or emptied.
   */
  intact(plan: TablePlan): Promise<boolean>;
}

/** Direct reads of one grant table and its neighbours, for the watchdog's exact check. */
export interface TableInspector {
  /** The table's snapshot; undefined when it is missing. Throws when the kernel cannot be read. */
  snapshot(): Snapshot | undefined;
  /** A grant set's elements as text; empty when it is missing. */
  grantSet(set: string): Set<string>;
  /** What the table leaves to other instances; none when it is missing. */
  yielded(): Yielded[];
  /** Every other Sesame instance's guard in this network namespace. */
  neighbours(): InstanceGuard[];
}

/** What opens the firewall: the daemon holds one and hands it to the shell files that need it. */
export interface Firewalls {
  /** An instance's grant table (a backend of its own; `log` hears which one). */
  open(table: string, log: (line: string) => void): Promise<Firewall>;
  /** The inspector of a table; undefined where the kernel cannot be read directly (no nftables-napi). */
  inspector(table: string): TableInspector | undefined;
  /** A bare batch runner, for kernel matching's own table (its scripts are lib/ruleset's). */
  backend(): Promise<NftBackend>;
  /** A named counter's packets in `table` (asked of `backend` where the kernel cannot be read directly); undefined: none. */
  counter(table: string, name: string, backend: NftBackend): Promise<number | undefined>;
}
