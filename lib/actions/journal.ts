// The pending-stop journal: a small JSON file in the state directory, replaced atomically (temp
// file, fsync, rename) on every change. Reading is forgiving: a torn or foreign file never stops
// the daemon, it only loses what cannot be trusted. The commands in it reach a shell, so the file
// must belong to us and be writable by nobody else.

import { unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { readTrustedFile } from '../fs/trusted-read.js';
import type { PendingStop } from './runner.js';

const VERSION = 1;

export function writeJournal(path: string, stops: readonly PendingStop[]): void {
  // Always 0600, whatever mode an older file had: readJournal refuses group/world-writable ones.
  writeFileAtomic(path, JSON.stringify({ version: VERSION, stops }) + '\n', 0o600);
}

export interface JournalRead {
  readonly stops: PendingStop[];
  /** Why entries or the whole file were ignored, for the log. */
  readonly problems: string[];
}

function isStop(v: unknown): v is PendingStop {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['door'] === 'string' && typeof o['knocker'] === 'string' && typeof o['command'] === 'string'
    && typeof o['dueAt'] === 'number' && Number.isFinite(o['dueAt']);
}

export function readJournal(path: string): JournalRead {
  const problems: string[] = [];
  const read = readTrustedFile(path);
  if ('missing' in read) return { stops: [], problems };
  if ('problem' in read) return { stops: [], problems: [read.problem] };
  const text = read.text;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { stops: [], problems: [`${path}: unreadable journal (torn write?); ignored`] };
  }
  const list = (data as { version?: unknown; stops?: unknown })?.stops;
  if ((data as { version?: unknown })?.version !== VERSION || !Array.isArray(list)) {
    return { stops: [], problems: [`${path}: unknown journal format; ignored`] };
  }
  const stops = list.filter(isStop).map((s) => ({ door: s.door, knocker: s.knocker, command: s.command, dueAt: s.dueAt }));
  if (stops.length !== list.length) problems.push(`${path}: ${list.length - stops.length} malformed entries ignored`);
  return { stops, problems };
}

export function removeJournal(path: string): void {
  try { unlinkSync(path); } catch { /* already gone */ }
}
