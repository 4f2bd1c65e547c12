// One-time sequence files: one sequence per line; empty lines and lines starting with '#' are
// skipped, and so are lines that do not parse (each one reported). Pure text in, result out.

import { parseSequence } from './sequence.js';
import { trimC } from './lines.js';
import type { KnockStep } from './types.js';

export interface OneTimeEntry {
  /** 1-based physical line number. */
  readonly line: number;
  readonly steps: readonly KnockStep[];
}

export interface ScanResult {
  readonly entry: OneTimeEntry | undefined;
  /** Parse errors of skipped lines, as `<path>: line N: <knockd message>`. */
  readonly skipped: readonly string[];
}

export function splitPhysicalLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** First usable sequence at or after line `fromLine`. */
export function nextOneTimeSequence(door: string, path: string, text: string, fromLine = 1): ScanResult {
  const skipped: string[] = [];
  const lines = splitPhysicalLines(text);
  for (let i = fromLine - 1; i < lines.length; i++) {
    const t = trimC(lines[i]!);
    if (t === '' || t.startsWith('#')) continue;
    const r = parseSequence(door, t);
    if (r.ok) return { entry: { line: i + 1, steps: r.steps }, skipped };
    skipped.push(`${path}: line ${i + 1}: ${r.error}`);
  }
  return { entry: undefined, skipped };
}

/** The file text with '#' put in front of line `line`: no byte of the file is overwritten. */
export function markLineUsed(text: string, line: number): string {
  const lines = text.split('\n');
  const i = line - 1;
  if (i < 0 || i >= lines.length) throw new RangeError(`line ${line} is not in the file`);
  lines[i] = `#${lines[i]}`;
  return lines.join('\n');
}
