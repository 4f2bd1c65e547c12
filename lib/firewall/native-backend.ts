// The libnftables backend: the nftables-napi addon, loaded with a dynamic import so that Sesame
// builds and runs without it (it is an optional dependency).

import { NftError, type NftBackend, type NftRunOptions } from './types.js';
import { nftErrno } from './nft-errno.js';

/** The part of nftables-napi's NftContext used here (the package brings its own full types). */
export interface NativeContext {
  run(text: string, opts?: { json?: boolean }): Promise<{ ok: boolean; output: string; error: string }>;
  close(): void;
}

export class NativeBackend implements NftBackend {
  readonly name = 'libnftables' as const;

  constructor(private readonly ctx: NativeContext) {}

  async run(batch: string, opts: NftRunOptions = {}): Promise<string> {
    const r = await this.ctx.run(batch, { json: opts.json === true });
    if (!r.ok) throw new NftError(r.error.trim() || 'nft: command failed', { errno: nftErrno(r.error) });
    return r.output;
  }

  close(): void {
    this.ctx.close();
  }
}

// A variable, so that TypeScript does not need the package (it may be missing) to compile.
const ADDON = 'nftables-napi';

/** Loads the addon and opens a context; rejects when the addon is missing or cannot load. */
export async function loadNativeBackend(): Promise<NativeBackend> {
  const mod = (await import(ADDON)) as { NftContext?: new () => NativeContext };
  if (typeof mod.NftContext !== 'function') throw new Error('nftables-napi has no NftContext');
  return new NativeBackend(new mod.NftContext());
}
