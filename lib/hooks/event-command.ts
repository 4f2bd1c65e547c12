// One run of Event_Command (docs/events.md): the program itself, no shell and no arguments, in its
// own process group; the event's JSON on stdin; SESAME_EVENT and SESAME_DELIVERY in a small
// environment. Exit status 0 is success. Its output is read and dropped (past 1 MiB the pipes
// are closed). The time limit is the delivery queue's: its signal kills the group with SIGKILL.

import { spawn, type ChildProcess } from 'node:child_process';

/** The queue's per-attempt limit for Event_Command (ms). */
export const COMMAND_TIMEOUT_MS = 10_000;
export const MAX_OUTPUT_BYTES = 1024 * 1024;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface CommandEvent {
  readonly type: string;
  readonly delivery: string;
  readonly body: string;
}

/** Runs `path` for one event; resolves on exit status 0, rejects with what went wrong otherwise. */
export function runEventCommand(path: string, e: CommandEvent, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(new Error('aborted')); return; }
    let child: ChildProcess;
    try {
      child = spawn(path, [], {
        shell: false, detached: true, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'],
        env: { PATH: process.env['PATH'] ?? DEFAULT_PATH, SESAME_EVENT: e.type, SESAME_DELIVERY: e.delivery },
      });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const kill = () => {
      try { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); } catch { /* gone already */ }
    };
    const done = (error?: Error) => {
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve(); else reject(error);
    };
    const onAbort = () => kill();
    signal.addEventListener('abort', onAbort);
    child.on('error', (err) => done(err));
    child.on('exit', (code, sig) => {
      if (code === 0) done();
      else done(new Error(sig !== null ? `killed by ${sig}` : `exit status ${code ?? '?'}`));
    });
    let output = 0;
    for (const out of [child.stdout, child.stderr]) {
      out?.on('data', (b: Buffer) => {
        output += b.length;
        if (output > MAX_OUTPUT_BYTES) { child.stdout?.destroy(); child.stderr?.destroy(); }
      });
      out?.on('error', () => { /* dropped anyway */ });
    }
    // A command that does not read stdin, or dies first, makes this write fail: its exit says what happened.
    child.stdin?.on('error', () => { /* EPIPE */ });
    child.stdin?.end(e.body);
  });
}
