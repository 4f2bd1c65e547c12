// Reads a state file only if it belongs to us and nobody else can write it: what is in it either
// reaches a shell (stop commands) or decides who gets in (replay digests).

import { MAX_STATE_BYTES, readBoundedFile } from './bounded-read.js';

export type TrustedRead = { text: string } | { missing: true } | { problem: string };

export function readTrustedFile(path: string): TrustedRead {
  try {
    // Owner and mode are read from the descriptor that is then read: no swap between check and read.
    const uid = process.getuid?.();
    const trusted = (st: { uid: number; mode: number }) => (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
    return { text: readBoundedFile(path, MAX_STATE_BYTES, trusted).toString('utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { missing: true };
    if (code === 'EUNTRUSTED') return { problem: `${path}: not owned by us or writable by others; ignored` };
    return { problem: `${path}: ${(err as Error).message}` };
  }
}

/**
 * Reads a secret (a password, a key): as readTrustedFile, and only if neither group nor others
 * may read it; a problem names the file and its mode.
 */
export function readSecretFile(path: string): TrustedRead {
  let mode: number | undefined;
  try {
    const uid = process.getuid?.();
    const trusted = (st: { uid: number; mode: number }) => {
      mode = st.mode & 0o777;
      return (uid === undefined || st.uid === uid) && (st.mode & 0o077) === 0;
    };
    return { text: readBoundedFile(path, MAX_STATE_BYTES, trusted).toString('utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { missing: true };
    if (code === 'EUNTRUSTED') {
      const m = mode ?? 0;
      const why = m & 0o077 ? 'lets group or others read it (chmod 600 it)' : 'but is not owned by this user';
      return { problem: `${path}: mode ${m.toString(8).padStart(4, '0')} ${why}` };
    }
    return { problem: `${path}: ${(err as Error).message}` };
  }
}
