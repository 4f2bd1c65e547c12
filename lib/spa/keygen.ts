// Fresh SPA keys, like `fwknop --key-gen`: a 32-byte encryption key (the most the KDF takes) and
// an HMAC key as long as the hash's input block, capped at 128 bytes (the most the fwknop client
// accepts). fwknop 2.6.10 itself makes 16- and 20-byte HMAC keys for md5 and sha1 and fails for
// the SHA-3 types; a full block is the RFC 2104 recommendation and works with every fwknop.

import { randomBytes } from 'node:crypto';
import { DIGESTS, type DigestName } from './digests.js';
import { MAX_KEY_BYTES } from './cipher.js';

export const MAX_HMAC_KEY_BYTES = 128;

export function hmacKeyLength(digest: DigestName): number {
  return Math.min(DIGESTS[digest].blockSize, MAX_HMAC_KEY_BYTES);
}

export interface KeyPair {
  readonly key: Buffer;
  readonly hmacKey: Buffer;
  readonly hmacDigest: DigestName;
}

/** Random keys; the HMAC key (64 bytes or more) can never equal the 32-byte encryption key. */
export function generateKeyPair(hmacDigest: DigestName = 'sha256', random: (n: number) => Buffer = randomBytes): KeyPair {
  return { key: random(MAX_KEY_BYTES), hmacKey: random(hmacKeyLength(hmacDigest)), hmacDigest };
}
