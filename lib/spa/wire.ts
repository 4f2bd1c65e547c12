// The SPA packet on the wire: base64(Salted__‖salt‖ciphertext) minus its first 10 characters,
// then the HMAC (base64, no separator) over the ciphertext text with those 10 characters put back.
// Encrypt-then-MAC: the HMAC is checked in constant time before anything is decrypted.

import type { Result } from '../errors/result.js';
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { b64, isBase64Text, unb64 } from './base64.js';
import { DIGESTS, hmacB64, type DigestName } from './digests.js';
import { decrypt, encrypt, type CipherMode } from './cipher.js';
import { decodePlaintext, encodePlaintext, PROTOCOL_VERSION, type FieldError, type SpaFields } from './message.js';
import { accessType } from './message-types.js';

/** fwknop's SPA port (UDP), the default on both ends. */
export const SPA_DEFAULT_PORT = 62201;

/** base64("Salted__") minus its last, salt-mixed character: stripped by senders, re-added here. */
export const SALTED_PREFIX = 'U2FsdGVkX1';
/** fwknopd ignores payloads outside these bounds without a word. */
export const WIRE_MIN = 140;
export const WIRE_MAX = 1500;
/** fwknop treats 400 characters or more as GnuPG data and never tries Rijndael on them. */
export const RIJNDAEL_WIRE_MAX = 399;

export interface SpaKeys {
  /** The passphrase bytes (KEY text, or KEY_BASE64 decoded): 1..32 bytes. */
  readonly key: Uint8Array;
  /** HMAC key bytes; a door without one is refused by the config, but old vectors have none. */
  readonly hmacKey: Uint8Array | undefined;
  readonly hmacDigest: DigestName;
  readonly mode: CipherMode;
}

export type ShapeError = 'too-short' | 'too-long' | 'prefix' | 'not-base64';

/** Cheap checks on the received text before any hashing or crypto. */
export function checkShape(wire: string): ShapeError | undefined {
  if (wire.length < WIRE_MIN) return 'too-short';
  if (wire.length > RIJNDAEL_WIRE_MAX) return 'too-long';
  // A captured packet with the prefix put back must not pass as a new packet (fwknop 2.0.2).
  if (wire.startsWith(SALTED_PREFIX)) return 'prefix';
  if (!isBase64Text(wire)) return 'not-base64';
  return undefined;
}

/** Splits off the HMAC and compares it in constant time; the ciphertext text on success. */
export function verifyHmac(wire: string, hmacKey: Uint8Array, digest: DigestName): string | undefined {
  const len = DIGESTS[digest].b64Length;
  // Only alphabet text is compared: latin1 bytes of other characters could alias.
  if (wire.length - len < 36 || !isBase64Text(wire)) return undefined;
  const cut = wire.length - len;
  const ct = wire.slice(0, cut);
  // Called for every datagram of a junk flood: the two texts go into scratch buffers, not new ones.
  const mac = createHmac(DIGESTS[digest].algorithm, hmacKey).update(SALTED_PREFIX + ct, 'latin1').digest('base64');
  macScratch.write(mac, 0, len, 'latin1');
  wireScratch.write(wire.slice(cut), 0, len, 'latin1');
  return timingSafeEqual(macScratch.subarray(0, len), wireScratch.subarray(0, len)) ? ct : undefined;
}
/** Room for the longest HMAC text (SHA-512: 86 characters). */
const macScratch = Buffer.alloc(128);
const wireScratch = Buffer.alloc(128);

export type OpenError = 'hmac' | 'decrypt' | FieldError;
export type OpenResult = Result<{ fields: SpaFields; digest: DigestName }, OpenError>;

/** Decrypts ciphertext text (wire minus HMAC) and checks its fields. */
export function openCiphertext(ct: string, keys: SpaKeys): OpenResult {
  const raw = unb64(SALTED_PREFIX + ct);
  if (!raw) return { ok: false, error: 'decrypt' };
  const pt = decrypt(raw, keys.key, keys.mode);
  if (!pt) return { ok: false, error: 'decrypt' };
  const r = decodePlaintext(pt.toString('latin1'));
  return r.ok ? r : { ok: false, error: r.error };
}

/** The whole decode for one key set: HMAC (when the keys have one), decrypt, fields. Never throws. */
export function decodeWire(wire: string, keys: SpaKeys): OpenResult {
  let ct = wire;
  if (keys.hmacKey) {
    const v = verifyHmac(wire, keys.hmacKey, keys.hmacDigest);
    if (v === undefined) return { ok: false, error: 'hmac' };
    ct = v;
  }
  return openCiphertext(ct, keys);
}

export interface EncodeOptions {
  readonly digest?: DigestName;
  /** Fixed salt and rand, for reproducible vectors; random otherwise. */
  readonly salt?: Buffer;
}

/** 16 random decimal digits, like fwknop's rand field. */
export function randomDigits(): string {
  let s = '';
  while (s.length < 16) s += String(randomInt(0, 10));
  return s;
}

export interface MessageInput {
  readonly username: string;
  readonly timestamp: number;
  readonly message: string;
  readonly clientTimeout?: number;
  readonly rand?: string;
  /** NAT access `host,port` (types 2/4), or with `local` local NAT (types 5/6). */
  readonly nat?: { readonly access: string; readonly local: boolean };
}

/** The message type of a request: access, NAT or local NAT, with or without a client timeout (message-types.ts). */
function messageType(m: MessageInput): number {
  return accessType(m.nat ? (m.nat.local ? 'local' : 'forward') : undefined, (m.clientTimeout ?? 0) > 0);
}

/** Builds the wire text of a request (access or NAT access, with or without a client timeout). */
export function encodeAccess(m: MessageInput, keys: SpaKeys, opts: EncodeOptions = {}): string {
  return encodeFields(accessFields(m), keys, opts);
}

/** The fields of a request, whatever encrypts them (Rijndael here, GnuPG in the client). */
export function accessFields(m: MessageInput): SpaFields {
  const timeout = m.clientTimeout ?? 0;
  return {
    rand: m.rand ?? randomDigits(),
    username: m.username,
    timestamp: m.timestamp,
    version: PROTOCOL_VERSION,
    messageType: messageType(m),
    message: m.message,
    natAccess: m.nat?.access ?? null,
    serverAuth: null,
    clientTimeout: timeout,
  };
}

export function encodeFields(fields: SpaFields, keys: SpaKeys, opts: EncodeOptions = {}): string {
  const pt = encodePlaintext(fields, opts.digest ?? 'sha256');
  const raw = encrypt(Buffer.from(pt, 'latin1'), keys.key, keys.mode, opts.salt ?? randomBytes(8));
  const full = b64(raw);
  const ct = full.slice(SALTED_PREFIX.length);
  return keys.hmacKey ? ct + hmacB64(keys.hmacDigest, keys.hmacKey, full) : ct;
}
