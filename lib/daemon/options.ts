// What the daemon is started with: the command line's settings, as the daemon sees them. The CLI
// (lib/cli/knockd-args.ts) maps argv onto this; the daemon never reads argv itself.

import type { Matching } from '../config/types.js';

export const DEFAULT_STATE_DIR = '/var/lib/sesame';

export interface DaemonOptions {
  readonly config: string;
  /** Interfaces named on the command line (repeatable: a Sesame extension); beat `Interface`. */
  readonly interfaces: readonly string[] | undefined;
  readonly daemon: boolean;
  readonly debug: boolean;
  readonly lookup: boolean;
  readonly pidFile: string | undefined;
  readonly logFile: string | undefined;
  readonly verbose: boolean;
  readonly onlyIPv4: boolean;
  /** Where pending stop commands are journalled (Sesame). */
  readonly stateDir: string;
  /** Names a second instance: its own nftables table and default state directory (Sesame). */
  readonly instance: string | undefined;
  /** Cap on live knock attempts (Sesame). */
  readonly maxAttempts: number;
  /** `--matching`; beats the config's `Matching` (Sesame). */
  readonly matching: Matching | undefined;
}
