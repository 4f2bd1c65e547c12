// Marks a used one-time sequence and finds the next one. The file is rewritten atomically, keeping
// its mode and owner: '#' is put in front of the used line and no byte is overwritten.

import { MAX_CONFIG_BYTES, readBoundedFile } from '../fs/bounded-read.js';
import type { KnockStep } from '../config/types.js';
import { formatSequence, parseSequence } from '../config/sequence.js';
import { trimC } from '../config/lines.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { markLineUsed, nextOneTimeSequence, splitPhysicalLines, type OneTimeEntry } from '../config/onetime-scan.js';

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

export function rotateOneTime(door: string, path: string, usedLine: number, used: readonly KnockStep[]): RotateResult {
  let text: string;
  try {
    text = readBoundedFile(path, MAX_CONFIG_BYTES).toString('utf8');
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
