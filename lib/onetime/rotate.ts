// Marks a used one-time sequence and finds the next one. The file is rewritten atomically (temp
// file in the same directory, fsync, rename): '#' is put in front of the used line and no byte is
// overwritten, so a crash leaves either the old file or the new one, never half of each.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync, fchownSync, fchmodSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { KnockStep } from '../config/types.js';
import { formatSequence } from '../config/sequence.js';
import { trimC } from '../config/lines.js';
import { parseSequence } from '../config/sequence.js';
import { markLineUsed, nextOneTimeSequence, splitPhysicalLines, type OneTimeEntry } from './scan.js';

export type RotateResult =
  | { readonly kind: 'next'; readonly entry: OneTimeEntry; readonly skipped: readonly string[] }
  | { readonly kind: 'exhausted'; readonly skipped: readonly string[] }
  | { readonly kind: 'error'; readonly message: string };

/** Line holding `steps`: `hint` if it still does (the admin may have edited the file), else the first that does. */
function findUsedLine(door: string, text: string, hint: number, steps: readonly KnockStep[]): number | undefined {
  const want = formatSequence(steps);
  const lines = splitPhysicalLines(text);
  const holds = (i: number) => {
    const t = trimC(lines[i] ?? '');
    if (t === '' || t.startsWith('#')) return false;
    const r = parseSequence(door, t);
    return r.ok && formatSequence(r.steps) === want;
  };
  if (holds(hint - 1)) return hint;
  for (let i = 0; i < lines.length; i++) if (holds(i)) return i + 1;
  return undefined;
}

export function writeFileAtomic(path: string, text: string): void {
  const st = statSync(path);
  const tmp = join(dirname(path), `.${basename(path)}.sesame-${process.pid}.tmp`);
  const fd = openSync(tmp, 'wx', st.mode & 0o7777);
  try {
    fchmodSync(fd, st.mode & 0o7777);
    try { fchownSync(fd, st.uid, st.gid); } catch { /* not root: keep our own ownership */ }
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* nothing to clean */ }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const dfd = openSync(dirname(path), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* directory fsync is best effort */ }
}

export function rotateOneTime(door: string, path: string, usedLine: number, used: readonly KnockStep[]): RotateResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
    const line = findUsedLine(door, text, usedLine, used);
    if (line !== undefined) {
      text = markLineUsed(text, line);
      writeFileAtomic(path, text);
    }
  } catch (err) {
    return { kind: 'error', message: `${path}: ${(err as Error).message}` };
  }
  const { entry, skipped } = nextOneTimeSequence(door, path, text);
  return entry ? { kind: 'next', entry, skipped } : { kind: 'exhausted', skipped };
}
