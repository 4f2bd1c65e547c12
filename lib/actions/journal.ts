// The pending-stop journal: a versioned JSON state file (lib/fs/json-state.ts) in the state
// directory, replaced atomically on every change. The commands in it reach a shell, so only a
// file that is ours and writable by nobody else is read, and only well-formed entries are kept.

import { readJsonState, writeJsonState } from '../fs/json-state.js';
import type { PendingStop } from './runner.js';

export function writeJournal(path: string, stops: readonly PendingStop[]): void {
  writeJsonState(path, 'stops', stops);
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
  const { items, problems } = readJsonState(path, 'stops', 'journal');
  const stops = items.filter(isStop).map((s) => ({ door: s.door, knocker: s.knocker, command: s.command, dueAt: s.dueAt }));
  if (stops.length !== items.length) problems.push(`${path}: ${items.length - stops.length} malformed entries ignored`);
  return { stops, problems };
}
