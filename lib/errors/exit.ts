// Exit statuses, in one place, and the one decision of what an error ends with. knockd's and
// knock's own conventions are kept: knockd exits 0 after an unknown option (getopt's complaint and
// the usage) and 2/15 after SIGINT/SIGTERM; knock exits 1 after its usage, even for -h.

import { isSesameError } from './errors.js';

export const EXIT = {
  ok: 0,
  /** Any error: bad config, cannot start, bad client input. */
  failure: 1,
  /** knockd: unknown option (as knockd 0.8). */
  badOption: 0,
  /** knockd after SIGINT / SIGTERM (Debian: SuccessExitStatus=0 2 15). */
  sigint: 2,
  sigterm: 15,
  /** knock after printing its usage (as knock 0.8). */
  knockUsage: 1,
} as const;

/**
 * How a failed command ends: a SesameError (any code: config, start, instance in use, firewall,
 * client input) is shown to the user as its lines and exits 1; anything else is a bug, reported by
 * the caller with its stack (undefined here).
 */
export function exitStatusFor(err: unknown): { readonly status: number; readonly lines: readonly string[] } | undefined {
  if (!isSesameError(err)) return undefined;
  return { status: EXIT.failure, lines: err.userLines() };
}
