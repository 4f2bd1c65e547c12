// One daemon per instance. An instance owns a state directory (journal, replay cache) and an
// nftables table; two daemons sharing either would run each other's stop commands early,
// overwrite each other's journal, or shrink each other's guard to their own ports (leaving the
// other's ports open to all). So each is a lock file holding the owner's PID: the state
// directory's `knockd.pid`, and for the table `/run/sesame/net-<netns>-<table>.pid` (tables are
// per network namespace). A lock whose owner is no longer a running knockd is taken over.

import { closeSync, mkdirSync, openSync, readFileSync, readlinkSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../errors/errors.js';
import { failure, type Result } from '../errors/result.js';
import { StartError } from './start-error.js';

export const LOCK_DIR = '/run/sesame';

/**
 * The nftables table of an instance: `sesame`, or `sesame_NAME` for `--instance NAME` (a '-' in
 * the name written as '_': nft names have none; `a-b` and `a_b` then share a table, and the
 * table's lock keeps the second from starting).
 */
export function tableName(instance: string | undefined): string {
  return instance === undefined ? 'sesame' : `sesame_${instance.replaceAll('-', '_')}`;
}

/** The kernel-matching table of an instance: `knock_sesame`, or `knock_sesame_NAME`. */
export function matchTableName(instance: string | undefined): string {
  return `knock_${tableName(instance)}`;
}

/** The NFLOG group kernel matching reports to: 5900, or one of 5901..9900 picked by the name. */
export function nflogGroup(instance: string | undefined): number {
  if (instance === undefined) return 5900;
  let h = 0x811c9dc5;
  for (const c of Buffer.from(instance)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return 5901 + (h % 4000);
}

/** One-shot modes that are not a daemon. */
const NOT_DAEMON = new Set(['--flush', '--status', '--check', '-V', '--version', '-h', '--help']);

/** Whether a command line (argv of /proc/PID/cmdline) is a running Sesame daemon. */
export function isDaemonCommand(argv: readonly string[]): boolean {
  const script = argv.findIndex((a) => /(^|\/)dist\/cli\/knockd\.js$/.test(a));
  return script >= 0 && !argv.slice(script + 1).some((a) => NOT_DAEMON.has(a));
}

function isRunningDaemon(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter((a) => a !== '');
    return isDaemonCommand(argv);
  } catch {
    return false;
  }
}

/** The PID in a lock file if that process is a running knockd, else undefined. */
export function lockHolder(path: string): number | undefined {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch { return undefined; }
  const pid = Number(text.trim());
  return isRunningDaemon(pid) ? pid : undefined;
}

/** The lock's release, or the holder's pid as `error` (-1: unknown). */
export type LockResult = Result<{ release: () => void }, number>;

/** Takes the lock at `path` for this process, or names the running knockd that holds it. */
export function takeLock(path: string): LockResult {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      try { writeSync(fd, `${process.pid}\n`); } finally { closeSync(fd); }
      return { ok: true, release: () => { if (lockHolderIsMe(path)) { try { unlinkSync(path); } catch { /* gone */ } } } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(path);
      if (holder !== undefined) return failure(holder);
      try { unlinkSync(path); } catch { /* raced with another */ } // stale: its owner is gone
    }
  }
  const holder = lockHolder(path);
  return failure(holder ?? -1);
}

function lockHolderIsMe(path: string): boolean {
  try { return Number(readFileSync(path, 'utf8').trim()) === process.pid; } catch { return false; }
}

/** This process's network namespace, as the number in `net:[N]`. */
function netnsId(): string {
  try { return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/net'))?.[1] ?? 'host'; } catch { return 'host'; }
}

/** The table's lock file for this network namespace. */
export function tableLockPath(table: string): string {
  return join(LOCK_DIR, `net-${netnsId()}-${table}.pid`);
}

/**
 * Takes both locks of an instance (`--instance` NAME, or the default one); throws a StartError
 * naming the holder if another knockd has one. The table lock is skipped where /run/sesame
 * cannot be made (not root: no nftables either).
 */
export function lockInstance(stateDir: string, instance: string | undefined): () => void {
  const table = tableName(instance);
  const instanceHint = instance === undefined ? 'give this one its own --instance NAME' : 'stop it, or choose another --instance';
  const releases: Array<() => void> = [];
  const releaseAll = () => { for (const r of releases.reverse()) r(); };
  let state: LockResult | undefined;
  // A state directory that could not be made was already a warning: nothing to share then.
  try { state = takeLock(join(stateDir, 'knockd.pid')); } catch { state = undefined; }
  if (state && !state.ok) {
    throw new StartError(`state directory ${stateDir} is in use by knockd (pid ${state.error}); ${instanceHint}`,
      ERROR_CODES.instanceInUse);
  }
  if (state) releases.push(state.release);
  let canLockTable = true;
  try { mkdirSync(LOCK_DIR, { recursive: true, mode: 0o755 }); } catch { canLockTable = false; }
  if (canLockTable) {
    const t = takeLock(tableLockPath(table));
    if (!t.ok) {
      releaseAll();
      throw new StartError(`table inet ${table} is in use by knockd (pid ${t.error}) in this network namespace; ${instanceHint}`,
        ERROR_CODES.instanceInUse);
    }
    releases.push(t.release);
  }
  return releaseAll;
}
