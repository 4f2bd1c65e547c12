// Runs one command through /bin/sh -c without blocking the caller. The child gets its own session
// (setsid, as knockd's child does) so a signal to the daemon's process group does not reach it.

import { spawn } from 'node:child_process';

export interface ShellResult {
  /** Exit status; for a child killed by a signal, 128 + signal number, as a shell reports it. */
  readonly code: number;
  /** Set when the child could not be started at all. */
  readonly error?: Error;
}

export type ShellRunner = (command: string) => Promise<ShellResult>;

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

export const runShell: ShellRunner = (command) =>
  new Promise((resolve) => {
    let child;
    try {
      child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    } catch (error) {
      resolve({ code: -1, error: error as Error });
      return;
    }
    child.once('error', (error) => resolve({ code: -1, error }));
    child.once('close', (code, signal) => {
      resolve({ code: code ?? 128 + (signal ? SIGNALS[signal] ?? 0 : 0) });
    });
  });
