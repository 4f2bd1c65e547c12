// Versioned JSON state files (the pending-stop journal, the SPA replay cache): `{"version":1,
// "<key>":[...]}`, written atomically with mode 0600 and read only if trusted (ours, not writable
// by others) and sane. Reading is forgiving: a torn or foreign file never stops the daemon; it is
// ignored with a reason for the log.

import { writeFileAtomic } from './atomic-write.js';
import { readTrustedFile } from './trusted-read.js';

export const STATE_VERSION = 1;

export function writeJsonState(path: string, key: string, items: readonly unknown[]): void {
  // Always 0600, whatever mode an older file had: the reader refuses group/world-writable ones.
  writeFileAtomic(path, JSON.stringify({ version: STATE_VERSION, [key]: items }) + '\n', 0o600);
}

export interface JsonStateRead {
  /** The list under `key`, unchecked: the caller keeps the entries it recognises. */
  readonly items: unknown[];
  /** Why the file was ignored, for the log. */
  readonly problems: string[];
}

/** `what` names the file in problems ("journal", "replay cache"). */
export function readJsonState(path: string, key: string, what: string): JsonStateRead {
  const read = readTrustedFile(path);
  if ('missing' in read) return { items: [], problems: [] };
  if ('problem' in read) return { items: [], problems: [read.problem] };
  let data: unknown;
  try {
    data = JSON.parse(read.text);
  } catch {
    return { items: [], problems: [`${path}: unreadable ${what} (torn write?); ignored`] };
  }
  const list = (data as Record<string, unknown> | null)?.[key];
  if ((data as { version?: unknown } | null)?.version !== STATE_VERSION || !Array.isArray(list)) {
    return { items: [], problems: [`${path}: unknown ${what} format; ignored`] };
  }
  return { items: list, problems: [] };
}
