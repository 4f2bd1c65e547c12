// Replaces a file atomically: write a temp file in the same directory, fsync it, rename it over
// the old one, fsync the directory. A crash leaves the old file or the new one, never a mix.

import { closeSync, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * `mode` given: the new file gets exactly that mode (and our ownership).
 * `mode` omitted: the new file keeps the existing file's mode and owner (the file must exist).
 */
export function writeFileAtomic(path: string, text: string, mode?: number): void {
  const keep = mode === undefined ? statSync(path) : undefined;
  const perm = keep ? keep.mode & 0o7777 : mode!;
  const tmp = join(dirname(path), `.${basename(path)}.sesame-${process.pid}.tmp`);
  // Exclusive create: never write through something planted at the temp path. A stale temp file
  // of an earlier crashed run with our pid is removed first.
  try { unlinkSync(tmp); } catch { /* none */ }
  const fd = openSync(tmp, 'wx', perm);
  try {
    fchmodSync(fd, perm);
    if (keep) {
      try { fchownSync(fd, keep.uid, keep.gid); } catch { /* not root: keep our own ownership */ }
    }
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
