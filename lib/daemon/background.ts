// `knockd -d`: Node cannot fork(), so the daemon starts a detached copy of itself and waits until
// that copy reports it is listening (or why it could not start), then exits as knockd's parent does.

import { spawn } from 'node:child_process';

export const CHILD_ENV = 'SESAME_DAEMON_CHILD';

export type ChildReport = { ok: true } | { ok: false; message: string; code: number };

export function runInBackground(argv: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv], {
      detached: true,
      cwd: '/',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
    child.once('message', (m: ChildReport) => {
      if (m.ok) { child.disconnect(); child.unref(); resolve(0); }
      else { process.stderr.write(`${m.message}\n`); resolve(m.code); }
    });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/** In the background copy: tell the waiting parent how the start went. */
export function reportToParent(r: ChildReport): void {
  if (process.send) {
    process.send(r);
    if (r.ok) process.disconnect();
  }
}
