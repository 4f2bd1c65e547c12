// What the firewall code needs from nftables: one call that runs a batch of nft commands
// atomically and returns what nft printed. Two implementations: the libnftables addon
// (native-backend.ts) and the `nft` program (cli-backend.ts).

import { ERROR_CODES, SesameError } from '../errors/errors.js';

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

/** nft refused a batch; `message` is nft's own error text. */
export class NftError extends SesameError {
  constructor(message: string) {
    super(message, ERROR_CODES.firewall);
    this.name = 'NftError';
  }
}

/** nft's ENOENT ("No such file or directory"): a table, set, chain or element is missing. */
export function isNoEntry(err: unknown): boolean {
  return err instanceof NftError && /No such file or directory/.test(err.message);
}
