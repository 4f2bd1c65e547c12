// Exit statuses, in one place. knockd's and knock's own conventions are kept: knockd exits 0 after
// an unknown option (getopt's complaint and the usage) and 2/15 after SIGINT/SIGTERM; knock exits
// 1 after its usage, even for -h.

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
