// The fallback backend: the `nft` program, with the batch on its standard input (`nft -f -`), no
// shell in between.

import { spawn } from 'node:child_process';
import { NftError, type NftBackend, type NftRunOptions } from './types.js';
import { nftErrno } from './nft-errno.js';

export interface CliBackendOptions {
  /** The nft program (default `nft`, found on PATH). */
  nft?: string;
  /** A run that takes longer is killed and rejected (default 10 s). */
  timeoutMs?: number;
}

export class CliBackend implements NftBackend {
  readonly name = 'nft' as const;
  private readonly nft: string;
  private readonly timeoutMs: number;

  constructor(opts: CliBackendOptions = {}) {
    this.nft = opts.nft ?? 'nft';
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  run(batch: string, opts: NftRunOptions = {}): Promise<string> {
    // nft 1.0.6 with -j first tries its standard input as JSON, which consumes it, and then
    // parses nothing: a JSON run of nft's text syntax (`list set ...`) goes on the command line.
    const textAsArgs = opts.json === true && !batch.trimStart().startsWith('{');
    const args = opts.json === true ? ['-j'] : [];
    if (textAsArgs) args.push('--', batch);
    else args.push('-f', '-');
    return new Promise((resolve, reject) => {
      const child = spawn(this.nft, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      let settled = false;
      const finish = (fn: () => void) => { if (!settled) { settled = true; clearTimeout(timer); fn(); } };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(() => reject(new NftError(`nft: no answer within ${this.timeoutMs} ms`)));
      }, this.timeoutMs);
      child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
      child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
      // The program could not run (its own ENOENT is not a missing table): no errno, the cause kept.
      child.on('error', (e) => finish(() => reject(new NftError(`nft: ${e.message}`, { cause: e }))));
      child.on('close', (code, signal) => finish(() => {
        if (code === 0) resolve(out);
        else reject(new NftError(err.trim() || `nft: exit ${code ?? signal}`, { errno: nftErrno(err) }));
      }));
      child.stdin.on('error', () => { /* nft exited early; its status tells why */ });
      child.stdin.end(textAsArgs ? '' : batch);
    });
  }
}
