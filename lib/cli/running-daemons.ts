// Finds Sesame knockd daemons running on this host (from /proc), so that `knockd --flush` can
// refuse while one runs: the daemon would put its table back within a second anyway, and a flush
// that seems to work but does not is worse than a clear refusal.

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** One-shot modes that are not a daemon. */
const NOT_DAEMON = new Set(['--flush', '--status', '--check', '-V', '--version', '-h', '--help']);

/** Whether a command line (argv of /proc/PID/cmdline) is a running Sesame daemon. */
export function isDaemonCommand(argv: readonly string[]): boolean {
  const script = argv.findIndex((a) => /(^|\/)dist\/cli\/knockd\.js$/.test(a));
  return script >= 0 && !argv.slice(script + 1).some((a) => NOT_DAEMON.has(a));
}

const netns = (proc: string, pid: string) => { try { return readlinkSync(`${proc}/${pid}/ns/net`); } catch { return undefined; } };

/**
 * PIDs of running daemons in this network namespace (the one whose nftables --flush changes),
 * other than this process; none where /proc cannot be read.
 */
export function runningDaemons(proc = '/proc'): number[] {
  let entries: string[];
  try { entries = readdirSync(proc); } catch { return []; }
  const mine = netns(proc, 'self');
  const pids: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    if (mine !== undefined && netns(proc, e) !== mine) continue;
    let argv: string[];
    try { argv = readFileSync(`${proc}/${e}/cmdline`, 'latin1').split('\0').filter((a) => a !== ''); } catch { continue; }
    if (isDaemonCommand(argv)) pids.push(Number(e));
  }
  return pids;
}
