// One bounded gpg run: no shell, its own process group (killed whole on timeout), input on stdin,
// the status lines on fd 3, an optional passphrase on fd 4 (never on the command line), every
// output capped. Resolves, never rejects.

import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export const DEFAULT_GPG = '/usr/bin/gpg';
/** The fds gpg is told to use. */
export const STATUS_FD = 3;
export const PASSPHRASE_FD = 4;

export interface GpgRunOptions {
  readonly gpgPath?: string;
  readonly args: readonly string[];
  readonly input: Uint8Array;
  /** Written to fd 4 with a newline; give `--passphrase-fd 4` in args to use it. */
  readonly passphrase?: string;
  readonly timeoutMs: number;
  /** Cap on stdout bytes (the plaintext or the message); stderr and status have their own. */
  readonly maxOutput: number;
  readonly env?: NodeJS.ProcessEnv;
}

export type GpgRunEnd = 'exit' | 'timeout' | 'too-large' | 'spawn-error';

export interface GpgRun {
  readonly end: GpgRunEnd;
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly status: string;
  readonly stderr: string;
  /** The spawn error's text, for 'spawn-error'. */
  readonly error?: string;
}

const MAX_STATUS = 64 * 1024;
const MAX_STDERR = 16 * 1024;

export function runGpg(o: GpgRunOptions): Promise<GpgRun> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    let outLen = 0;
    let status = '';
    let stderr = '';
    let end: GpgRunEnd = 'exit';
    let settled = false;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(o.gpgPath ?? DEFAULT_GPG, [...o.args], {
        stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true, env: o.env ?? process.env,
      });
    } catch (e) {
      resolve({ end: 'spawn-error', code: null, stdout: Buffer.alloc(0), status: '', stderr: '', error: (e as Error).message });
      return;
    }
    const finish = (code: number | null, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const r: GpgRun = { end, code, stdout: Buffer.concat(out), status, stderr, ...(error !== undefined ? { error } : {}) };
      resolve(r);
    };
    const kill = (why: GpgRunEnd) => {
      if (end === 'exit') end = why;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone already */ }
    };
    const timer = setTimeout(() => kill('timeout'), o.timeoutMs);
    child.on('error', (e) => { end = 'spawn-error'; finish(null, e.message); });
    // 'close' waits for the pipes; after a kill, 'exit' is enough (a grandchild may hold them).
    child.on('close', (code) => finish(code));
    child.on('exit', (code) => { if (end !== 'exit') finish(code); });
    const stdout = child.stdio[1] as Readable;
    stdout.on('data', (b: Buffer) => {
      outLen += b.length;
      if (outLen > o.maxOutput) { kill('too-large'); return; }
      out.push(b);
    });
    (child.stdio[2] as Readable).on('data', (b: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += b.toString('utf8').slice(0, MAX_STDERR - stderr.length);
    });
    (child.stdio[STATUS_FD] as Readable).on('data', (b: Buffer) => {
      if (status.length + b.length > MAX_STATUS) { kill('too-large'); return; }
      status += b.toString('utf8');
    });
    const pass = child.stdio[PASSPHRASE_FD] as Writable;
    const stdin = child.stdio[0] as Writable;
    // A child that dies early makes these writes fail: the exit says what happened.
    for (const w of [pass, stdin]) w.on('error', () => { /* EPIPE */ });
    if (o.passphrase !== undefined) pass.end(o.passphrase + '\n');
    else pass.end();
    stdin.end(Buffer.from(o.input));
  });
}
