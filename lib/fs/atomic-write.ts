// Replaces a file atomically: write a temp file in the same directory, fsync it, rename it over
// the old one, fsync the directory. A crash leaves the old file or the new one, never a mix, and
// a full disk leaves the old file: a short write throws before anything is renamed.

import { closeSync, fchmodSync, fchownSync, fstatSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
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
    writeAll(fd, Buffer.from(text, 'utf8'));
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

/** Writes every byte or throws: writeSync may write less than asked (a disk that fills up). */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off);
    if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, short write'), { code: 'ENOSPC' });
    off += n;
  }
  if (fstatSync(fd).size !== buf.length) throw Object.assign(new Error('EIO: file size differs from what was written'), { code: 'EIO' });
}
