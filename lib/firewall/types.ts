// What the firewall code needs from nftables: one call that runs a batch of nft commands
// atomically and returns what nft printed. Two implementations: the libnftables addon
// (native-backend.ts) and the `nft` program (cli-backend.ts).

import { ERROR_CODES, SesameError } from '../errors/errors.js';
import type { NftErrno } from './nft-errno.js';

export type { NftErrno } from './nft-errno.js';

export interface NftRunOptions {
  /** JSON output (and, for JSON text, JSON input): `nft -j`. */
  json?: boolean;
}

export interface NftBackend {
  readonly name: 'libnftables' | 'nft';
  /**
   * Runs `batch` (nft commands, one per line) as one atomic transaction and resolves with nft's
   * output. Rejects with an NftError whose message is nft's error text.
   */
  run(batch: string, opts?: NftRunOptions): Promise<string>;
}

/**
 * nft refused a batch (or could not be run); `message` is nft's own error text, `errno` the
 * kernel's reason where nft gave one (set by the backend: nft-errno.ts), `cause` what failed below.
 */
export class NftError extends SesameError {
  readonly errno: NftErrno | undefined;

  constructor(message: string, options: { errno?: NftErrno | undefined; cause?: unknown } = {}) {
    super(message, ERROR_CODES.firewall, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NftError';
    this.errno = options.errno;
  }
}

/** An NftError for `errno`. */
export function isNftErrno(err: unknown, errno: NftErrno): err is NftError {
  return err instanceof NftError && err.errno === errno;
}

/** The kernel's ENOENT: a table, set, chain or element is missing. */
export function isNoEntry(err: unknown): err is NftError {
  return isNftErrno(err, 'ENOENT');
}
