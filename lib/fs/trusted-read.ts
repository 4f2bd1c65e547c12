// Reads a state file only if it belongs to us and nobody else can write it: what is in it either
// reaches a shell (stop commands) or decides who gets in (replay digests).

import { statSync } from 'node:fs';
import { MAX_STATE_BYTES, readBoundedFile } from './bounded-read.js';

export type TrustedRead = { text: string } | { missing: true } | { problem: string };

export function readTrustedFile(path: string): TrustedRead {
  try {
    const st = statSync(path);
    const uid = process.getuid?.();
    if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
      return { problem: `${path}: not owned by us or writable by others; ignored` };
    }
    return { text: readBoundedFile(path, MAX_STATE_BYTES).toString('utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    return { problem: `${path}: ${(err as Error).message}` };
  }
}
