// Reads a file that must be a plain file of sane size: the config, one-time sequence files, state
// files. Opened non-blocking, so a FIFO never blocks start-up, --check or SIGHUP; the type is
// checked on the open descriptor (no race with a swap), and at most `max` bytes are read, so a
// link to /dev/zero or a huge file is refused instead of filling memory or freezing the daemon.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** Limits: knockd.conf and one-time files; the daemon's own state files. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
export const MAX_STATE_BYTES = 32 * 1024 * 1024;

function fail(code: string, message: string): never {
  throw Object.assign(new Error(message), { code });
}

function kindOf(st: ReturnType<typeof fstatSync>): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/**
 * The file's bytes; throws (with an errno-like code) for anything but a regular file of <= max
 * bytes, or (code EUNTRUSTED) one whose status `trust` refuses: checked on the open descriptor too.
 */
export function readBoundedFile(path: string, max: number, trust?: (st: Stats) => boolean): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) fail('EISDIR', 'Is a directory');
    if (!st.isFile()) fail('EINVAL', `${kindOf(st)}, not a regular file`);
    if (trust && !trust(st)) fail('EUNTRUSTED', 'not trusted');
    if (st.size > max) fail('EFBIG', `File too large (${st.size} bytes; at most ${max})`);
    // The size may change while we read: read at most max + 1 bytes and refuse more.
    const buf = Buffer.allocUnsafe(Math.min(max + 1, st.size + 65536));
    let off = 0;
    for (;;) {
      const n = readSync(fd, buf, off, buf.length - off, null);
      if (n === 0) break;
      off += n;
      if (off > max) fail('EFBIG', `File too large (more than ${max} bytes)`);
      if (off === buf.length) break;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}
