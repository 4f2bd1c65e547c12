// The digest and HMAC types fwknop knows, by its names, with the base64 length each produces.

import { createHash, createHmac } from 'node:crypto';
import { b64 } from './base64.js';

export const DIGEST_NAMES = ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'sha3_256', 'sha3_512'] as const;
export type DigestName = (typeof DIGEST_NAMES)[number];

interface DigestInfo {
  /** OpenSSL's name, for node:crypto. */
  readonly algorithm: string;
  /** Length of the unpadded base64 text. */
  readonly b64Length: number;
  /** Size of the hash's input block: fwknop's --key-gen makes HMAC keys this long... up to 128. */
  readonly blockSize: number;
}

export const DIGESTS: Readonly<Record<DigestName, DigestInfo>> = {
  md5: { algorithm: 'md5', b64Length: 22, blockSize: 64 },
  sha1: { algorithm: 'sha1', b64Length: 27, blockSize: 64 },
  sha256: { algorithm: 'sha256', b64Length: 43, blockSize: 64 },
  sha384: { algorithm: 'sha384', b64Length: 64, blockSize: 128 },
  sha512: { algorithm: 'sha512', b64Length: 86, blockSize: 128 },
  sha3_256: { algorithm: 'sha3-256', b64Length: 43, blockSize: 136 },
  sha3_512: { algorithm: 'sha3-512', b64Length: 86, blockSize: 72 },
};

/** Accepts fwknop's spellings: `sha3_256`, `SHA3-256`, `SHA256`. */
export function digestByName(name: string): DigestName | undefined {
  const n = name.trim().toLowerCase().replace('-', '_');
  return (DIGEST_NAMES as readonly string[]).includes(n) ? (n as DigestName) : undefined;
}

export function digestB64(name: DigestName, data: string): string {
  return b64(createHash(DIGESTS[name].algorithm).update(data, 'latin1').digest());
}

export function hmacB64(name: DigestName, key: Uint8Array, data: string): string {
  return b64(createHmac(DIGESTS[name].algorithm, key).update(data, 'latin1').digest());
}

/** The inner digest types a digest of this base64 length may be (SHA-2 first, then SHA-3). */
export function digestsOfLength(len: number): DigestName[] {
  return DIGEST_NAMES.filter((n) => DIGESTS[n].b64Length === len)
    .sort((a, b) => Number(a.startsWith('sha3')) - Number(b.startsWith('sha3')));
}
