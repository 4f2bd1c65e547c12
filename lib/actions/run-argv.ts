// Runs an SPA command message's argv: no shell, its own session, a minimal environment, as root or
// as the door's SPA_Command_User (Node drops supplementary groups when it changes uid/gid), killed
// with its process group at the door's Cmd_Timeout. Its output is discarded: the exit status is logged.

import { spawn } from 'node:child_process';

export interface ArgvResult {
  /** Exit status; undefined when killed or not started. */
  readonly code?: number;
  readonly signal?: string;
  readonly timedOut: boolean;
  readonly error?: Error;
}

export interface RunAs { readonly uid: number; readonly gid: number; readonly home: string }

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };

export function runArgv(argv: readonly string[], timeoutMs: number, as?: RunAs): Promise<ArgvResult> {
  return new Promise((resolve) => {
    let timedOut = false;
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        shell: false, stdio: 'ignore', detached: true, cwd: '/',
        env: as ? { ...ENV, HOME: as.home } : { ...ENV, HOME: '/root' },
        ...(as ? { uid: as.uid, gid: as.gid } : {}),
      });
    } catch (error) {
      resolve({ timedOut, error: error as Error });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    }, timeoutMs);
    child.once('error', (error) => { clearTimeout(timer); resolve({ timedOut, error }); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ timedOut, ...(code !== null ? { code } : {}), ...(signal ? { signal } : {}) });
    });
  });
}
