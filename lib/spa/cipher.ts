// Rijndael as fwknop uses it: AES-256 whatever the key length, key and IV from OpenSSL's
// EVP_BytesToKey (MD5, one round) over the passphrase and an 8-byte salt, PKCS#7 padding in every
// mode, and the OpenSSL "Salted__" header carrying the salt.

import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

export const CIPHER_MODES = ['cbc', 'ctr', 'cfb', 'ofb', 'ecb', 'legacy'] as const;
export type CipherMode = (typeof CIPHER_MODES)[number];

export const SALTED = Buffer.from('Salted__', 'latin1');
export const MAX_KEY_BYTES = 32;
const BLOCK = 16;

export interface KeyIv { readonly key: Buffer; readonly iv: Buffer }

/** EVP_BytesToKey(MD5, 1 iteration): D1 = MD5(pw‖salt), Di = MD5(Di-1‖pw‖salt); key = D1‖D2, IV = D3. */
export function deriveKeyIv(passphrase: Uint8Array, salt: Uint8Array): KeyIv {
  const blocks: Buffer[] = [];
  let prev: Buffer = Buffer.alloc(0);
  for (let i = 0; i < 3; i++) {
    prev = createHash('md5').update(prev).update(passphrase).update(salt).digest();
    blocks.push(prev);
  }
  return { key: Buffer.concat(blocks.slice(0, 2)), iv: blocks[2]! };
}

/** Legacy mode (fwknop < 2.5): a passphrase is cut or right-padded with '0' to 16 bytes. */
function legacyPassphrase(pw: Uint8Array): Buffer {
  const out = Buffer.alloc(16, '0'.charCodeAt(0));
  Buffer.from(pw).copy(out, 0, 0, Math.min(16, pw.length));
  return out;
}

function algorithm(mode: CipherMode): string {
  return mode === 'legacy' ? 'aes-256-cbc' : `aes-256-${mode}`;
}

export function validKeyLength(pw: Uint8Array): boolean {
  return pw.length >= 1 && pw.length <= MAX_KEY_BYTES;
}

function pad(data: Buffer): Buffer {
  const n = BLOCK - (data.length % BLOCK);
  return Buffer.concat([data, Buffer.alloc(n, n)]);
}

/**
 * PKCS#7 removal as fwknop does it: a valid pad is stripped, anything else is kept, since old
 * clients (Android 4.1.2) sent whole-block plaintexts unpadded. The printable, rand and digest
 * checks that follow refuse what is not a real message.
 */
function unpad(data: Buffer): Buffer {
  const n = data[data.length - 1];
  if (n === undefined || n < 1 || n > BLOCK || n > data.length) return data;
  for (let i = data.length - n; i < data.length; i++) if (data[i] !== n) return data;
  return data.subarray(0, data.length - n);
}

/** "Salted__" ‖ salt ‖ AES-256-mode(PKCS#7(plaintext)). */
export function encrypt(plaintext: Buffer, passphrase: Uint8Array, mode: CipherMode, salt: Buffer): Buffer {
  if (!validKeyLength(passphrase)) throw new RangeError('the encryption key must be 1 to 32 bytes');
  if (salt.length !== 8) throw new RangeError('the salt must be 8 bytes');
  const pw = mode === 'legacy' ? legacyPassphrase(passphrase) : passphrase;
  const { key, iv } = deriveKeyIv(pw, salt);
  const c = createCipheriv(algorithm(mode), key, mode === 'ecb' ? null : iv);
  c.setAutoPadding(false);
  return Buffer.concat([SALTED, salt, c.update(pad(plaintext)), c.final()]);
}

/**
 * Reverses encrypt(); undefined for a bad header or a length that is not whole blocks. Only ever
 * called after the HMAC matched (for doors, which all have one), so its answers are no oracle.
 */
export function decrypt(raw: Buffer, passphrase: Uint8Array, mode: CipherMode): Buffer | undefined {
  if (!validKeyLength(passphrase)) return undefined;
  if (raw.length < 16 + BLOCK || !raw.subarray(0, 8).equals(SALTED)) return undefined;
  const body = raw.subarray(16);
  if (body.length % BLOCK !== 0) return undefined;
  const pw = mode === 'legacy' ? legacyPassphrase(passphrase) : passphrase;
  const { key, iv } = deriveKeyIv(pw, raw.subarray(8, 16));
  const d = createDecipheriv(algorithm(mode), key, mode === 'ecb' ? null : iv);
  d.setAutoPadding(false);
  return unpad(Buffer.concat([d.update(body), d.final()]));
}
