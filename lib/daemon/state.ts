// The state directory, the pending-stop journal and the SPA replay cache in it. Writes are coalesced to one per event
// loop turn; a state directory that cannot be made is a warning, not a reason to stay down.

import { accessSync, constants, existsSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readJournal, writeJournal } from '../actions/journal.js';
import type { PendingStop } from '../actions/runner.js';
import { readJsonState, writeJsonState } from '../fs/json-state.js';
import type { ReplayEntry } from '../spa/replay.js';
import type { Ban } from '../matcher/bans.js';
import type { Grant } from '../firewall/grants.js';

export class StateStore {
  readonly journalPath: string;
  private pending: readonly PendingStop[] | undefined;
  private scheduled = false;
  private usable: boolean;

  constructor(readonly dir: string, private readonly warn: (m: string) => void) {
    this.journalPath = join(dir, 'pending-stops.json');
    try {
      if (lstatSync(dir).isSymbolicLink()) warn(`warning: state directory ${dir} is a symbolic link to ${realpathSync(dir)}`);
    } catch { /* missing, or a dangling link: mkdir says why */ }
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.usable = true;
    } catch (err) {
      this.usable = false;
      warn(`warning: state directory ${dir}: ${whyNoDir(dir, err)}; pending stop commands will not survive a crash`);
    }
  }

  load(): PendingStop[] {
    if (!this.usable) return [];
    const r = readJournal(this.journalPath);
    for (const p of r.problems) this.warn(`warning: ${p}`);
    return r.stops;
  }

  save(stops: readonly PendingStop[]): void {
    this.pending = stops;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes now (also at shutdown). */
  flush(): void {
    this.scheduled = false;
    if (!this.usable || this.pending === undefined) return;
    try {
      writeJournal(this.journalPath, this.pending);
    } catch (err) {
      this.warn(`warning: cannot write ${this.journalPath}: ${(err as Error).message}`);
    }
    this.pending = undefined;
  }
}

/** Why a directory could not be made, named at the closest existing ancestor (mkdir's own ENOENT misleads). */
function whyNoDir(dir: string, err: unknown): string {
  let parent = dirname(dir);
  while (parent !== dirname(parent) && !existsSync(parent)) parent = dirname(parent);
  try {
    accessSync(parent, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return `cannot be made: ${parent} is on a read-only file system`;
    if (code === 'EACCES') return `cannot be made: ${parent} is not writable`;
  }
  return (err as Error).message;
}

/** A list kept whole in one JSON state file of the state directory: read at start-up, rewritten on change. */
class JsonListStore<T> {
  readonly path: string;

  constructor(dir: string, file: string, private readonly key: string, private readonly what: string,
    private readonly warn: (m: string) => void) {
    this.path = join(dir, file);
  }

  load(): unknown[] {
    const { items, problems } = readJsonState(this.path, this.key, this.what);
    for (const p of problems) this.warn(`warning: ${p}`);
    return items;
  }

  /** False when the file could not be written (the old one stays whole). */
  save(items: readonly T[]): boolean {
    try {
      writeJsonState(this.path, this.key, items);
      return true;
    } catch (err) {
      this.warn(`warning: cannot write ${this.path}: ${(err as Error).message}`);
      return false;
    }
  }
}

/**
 * The SPA replay cache's authenticated digests and used TOTP codes, kept across restarts
 * (spa-replay.json). Written before the grant is acted on, so a replay after a crash is still
 * refused: when save() returns false the caller must not grant.
 */
export class ReplayStore extends JsonListStore<ReplayEntry> {
  constructor(dir: string, warn: (m: string) => void) {
    super(dir, 'spa-replay.json', 'entries', 'replay cache', warn);
  }
}

/** Sources banned after too many failures (bans.json): kept across restarts, listed by --status. */
export class BanStore extends JsonListStore<Ban> {
  constructor(dir: string, warn: (m: string) => void) {
    super(dir, 'bans.json', 'bans', 'ban list', warn);
  }
}

/** A grant this instance made and the wall-clock time (ms) it ends. */
export interface GrantRecord {
  readonly grant: Grant;
  readonly until: number;
}

/**
 * The grants this instance made (`grants-TABLE.json`: one file per table, so a state directory
 * reused by another instance proves nothing about this one's): at start-up only the kernel's
 * grants found here are kept, for the time recorded here. A grant a reloaded ruleset dump brought
 * back, or one added by hand, is not. Written at once, or at most once a second under a storm (and at shutdown).
 */
export class GrantStore {
  readonly path: string;
  private pending: readonly GrantRecord[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  private lastWrite = 0;

  constructor(dir: string, table: string, private readonly warn: (m: string) => void) {
    this.path = join(dir, `grants-${table}.json`);
  }

  /**
   * The records that parse as grants; undefined only when there is no file (a first run, or one
   * of a version that kept none: the kernel's grants are then kept as they are). A file that
   * exists but cannot be trusted or read records nothing: no grant is kept (fail closed).
   */
  load(): GrantRecord[] | undefined {
    if (!existsSync(this.path)) return undefined;
    const { items, problems } = readJsonState(this.path, 'grants', 'grants file');
    for (const p of problems) this.warn(`warning: ${p}; no grant of an earlier run is kept`);
    if (problems.length > 0) return [];
    return items.flatMap((i) => {
      const r = i as { grant?: unknown; until?: unknown };
      return isGrant(r?.grant) && typeof r.until === 'number' && Number.isFinite(r.until) ? [{ grant: r.grant, until: r.until }] : [];
    });
  }

  /** Written in the next turn, or a second after the last write (a grant storm costs one write a second). */
  save(records: readonly GrantRecord[]): void {
    this.pending = records;
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.lastWrite + 1000 - Date.now())).unref();
  }

  /** Writes what is pending now (also at shutdown). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === undefined) return;
    try {
      writeJsonState(this.path, 'grants', this.pending);
      this.lastWrite = Date.now();
      this.warned = false;
    } catch (err) {
      if (!this.warned) {
        this.warn(`warning: cannot write ${this.path}: ${(err as Error).message} (a restart will keep the kernel's grants as they are)`);
      }
      this.warned = true;
    }
    this.pending = undefined;
  }
}

/** A grant as grants.json holds it; every field is checked again before it reaches nft. */
function isGrant(g: unknown): g is Grant {
  const x = g as Record<string, unknown> | null;
  if (!x || typeof x['address'] !== 'string' || (x['protocol'] !== 'tcp' && x['protocol'] !== 'udp') ||
    typeof x['port'] !== 'number') return false;
  const nat = x['nat'] as Record<string, unknown> | undefined;
  return nat === undefined || ((nat['kind'] === 'forward' || nat['kind'] === 'local') && typeof nat['address'] === 'string' &&
    typeof nat['port'] === 'number' && (nat['snat'] === undefined || typeof nat['snat'] === 'string'));
}
