// Picks how Sesame talks to nftables: the libnftables addon (nftables-napi) when it loads, else
// the `nft` program. SESAME_NFT_BACKEND=native|cli forces one (tests, benchmarks).

import { ERROR_CODES, SesameError } from '../errors/errors.js';
import { CliBackend } from './cli-backend.js';
import { loadNativeBackend } from './native-backend.js';
import type { NftBackend } from './types.js';

export { NftError, isNoEntry, type NftBackend, type NftRunOptions } from './types.js';
export { CliBackend, type CliBackendOptions } from './cli-backend.js';
export { NativeBackend, loadNativeBackend, type NativeContext } from './native-backend.js';

export type BackendChoice = 'native' | 'cli';

/** The first line of an error, for a log line. */
function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim() || 'unknown error';
}

/**
 * Opens a backend. `prefer` 'native' (the default) tries the addon and falls back to `nft`;
 * 'cli' uses `nft`. SESAME_NFT_BACKEND (native|cli) overrides `prefer` and allows no fallback:
 * a forced native backend that cannot load rejects.
 */
export async function openBackend(log: (line: string) => void = () => {}, prefer: BackendChoice = 'native'): Promise<NftBackend> {
  const env = process.env['SESAME_NFT_BACKEND'];
  if (env !== undefined && env !== '' && env !== 'native' && env !== 'cli') {
    throw new SesameError(`SESAME_NFT_BACKEND must be native or cli, not ${JSON.stringify(env)}`, ERROR_CODES.start);
  }
  const forced = env === 'native' || env === 'cli' ? env : undefined;
  const choice = forced ?? prefer;
  if (choice === 'cli') {
    log(`firewall: using nft -f - (${forced ? 'SESAME_NFT_BACKEND=cli' : 'asked for'})`);
    return new CliBackend();
  }
  try {
    const backend = await loadNativeBackend();
    log('firewall: using libnftables (nftables-napi)');
    return backend;
  } catch (err) {
    if (forced) {
      throw new SesameError(`firewall: SESAME_NFT_BACKEND=native but nftables-napi is unavailable (${reason(err)})`,
        ERROR_CODES.start, { cause: err });
    }
    log(`firewall: nftables-napi unavailable (${reason(err)}); using nft -f -`);
    return new CliBackend();
  }
}
