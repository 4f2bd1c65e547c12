// SPA_Command_User: a user name or uid to its uid, gid and home, read from /etc/passwd at the time
// of use (a user added or removed after start counts). Users only NSS knows (LDAP) are not found:
// give their uid.

import { readBoundedFile } from '../fs/bounded-read.js';
import type { RunAs } from '../actions/run-argv.js';

const PASSWD_MAX = 4 * 1024 * 1024;

export function lookupUser(nameOrUid: string, passwd = '/etc/passwd'): RunAs | undefined {
  let text: string;
  try { text = readBoundedFile(passwd, PASSWD_MAX).toString('utf8'); } catch { text = ''; }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    if (f[0] === nameOrUid || f[2] === nameOrUid) return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' };
  }
  // A bare uid no file names runs with that uid as its group too.
  return /^[0-9]+$/.test(nameOrUid) ? { uid: Number(nameOrUid), gid: Number(nameOrUid), home: '/' } : undefined;
}
