// Shared material for the SPA fuzz tests: a seeded PRNG, the test's own key sets, packet builders
// that seal hand-made plaintexts exactly the way lib/spa/wire.ts seals its own (lib encrypt, lib
// hmacB64), the catalogue of broken-field plaintexts, and an independent reference validator.
//
// The reference is a separate reading of fwknop 2.6.10's acceptance rules (docs/fwknop-spa.md §1,
// §2.3, §3, §5, §6 step 1-2): C-string semantics, strtol() number parsing, inet_aton() addresses,
// its lenient base64 decoder and unpadding. It is written from the spec and the documented
// behaviour, not from message.ts, and deliberately models fwknop's leniencies (timestamp junk,
// octal IP octets, '=' in fields...) so that "Sesame accepts => the reference accepts" means
// "Sesame accepts nothing fwknop refuses", while Sesame may refuse more.

import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import { encrypt, type CipherMode } from '../../lib/spa/cipher.js';
import { hmacB64, type DigestName } from '../../lib/spa/digests.js';
import type { SpaKeys } from '../../lib/spa/wire.js';

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (sfc32 seeded through splitmix32): reproducible from one 32-bit number.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  str(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }

  /** A fresh generator derived from this one and a label, so sections stay independent. */
  fork(label: string): Rng {
    const h = createHash('sha256').update(`${this.seed}:${label}`).digest();
    return new Rng(h.readUInt32LE(0));
  }
}

export const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
export const DIGITS = '0123456789';
export const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('');

// ---------------------------------------------------------------------------------------------
// Key sets: every HMAC digest type and every cipher mode, short/medium/long passphrases.

export interface FuzzKeySet {
  readonly name: string;
  readonly keys: SpaKeys;
  /** For an access.conf stanza: the passphrase as text (KEY) when it is one, else KEY_BASE64. */
  readonly keyText?: string;
}

function derived(label: string, n: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 64 < n; i++) out.push(createHash('sha512').update(`sesame-fuzz:${label}:${i}`).digest());
  return Buffer.concat(out).subarray(0, n);
}

function keySet(name: string, key: Buffer | string, mode: CipherMode, hmac: DigestName | null, hmacLen = 64): FuzzKeySet {
  const k = typeof key === 'string' ? Buffer.from(key, 'latin1') : key;
  return {
    name,
    keys: { key: k, hmacKey: hmac ? derived(`${name}:hmac`, hmacLen) : undefined, hmacDigest: hmac ?? 'sha256', mode },
    ...(typeof key === 'string' ? { keyText: key } : {}),
  };
}

/** With HMAC: one per HMAC digest type; together they cover cbc, ctr, cfb, ofb and ecb. */
export const HMAC_KEYSETS: readonly FuzzKeySet[] = [
  keySet('md5-cbc', 'short', 'cbc', 'md5', 32),
  keySet('sha1-ctr', derived('sha1-ctr', 16), 'ctr', 'sha1', 48),
  keySet('sha256-cfb', derived('sha256-cfb', 32), 'cfb', 'sha256', 64),
  keySet('sha384-ofb', derived('sha384-ofb', 1), 'ofb', 'sha384', 100),
  keySet('sha512-ecb', derived('sha512-ecb', 32), 'ecb', 'sha512', 128),
  keySet('sha3_256-cbc', derived('sha3_256-cbc', 32), 'cbc', 'sha3_256', 128),
  keySet('sha3_512-ctr', 'a passphrase of 31 characters!!', 'ctr', 'sha3_512', 72),
];

/** Without HMAC (old clients; doors never allow it): these let mutations reach decryption. */
export const PLAIN_KEYSETS: readonly FuzzKeySet[] = [
  keySet('nohmac-legacy', 'testtest', 'legacy', null),
  keySet('nohmac-cbc', derived('nohmac-cbc', 32), 'cbc', null),
  keySet('nohmac-ofb', derived('nohmac-ofb', 24), 'ofb', null),
];

export const ALL_KEYSETS: readonly FuzzKeySet[] = [...HMAC_KEYSETS, ...PLAIN_KEYSETS];

export const INNER_DIGESTS: readonly DigestName[] = ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'sha3_256', 'sha3_512'];

// ---------------------------------------------------------------------------------------------
// Builders.

const HASH_ALG: Record<DigestName, string> = {
  md5: 'md5', sha1: 'sha1', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', sha3_256: 'sha3-256', sha3_512: 'sha3-512',
};
const B64_LEN: Record<DigestName, number> = { md5: 22, sha1: 27, sha256: 43, sha384: 64, sha512: 86, sha3_256: 43, sha3_512: 86 };

/** base64 of the latin1 bytes of a string (or of bytes), every '=' stripped. */
export function b64n(data: string | Buffer): string {
  const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return buf.toString('base64').replace(/=+$/, '');
}

export function innerDigest(d: DigestName, encoded: string): string {
  return b64n(createHash(HASH_ALG[d]).update(encoded, 'latin1').digest());
}

/** fields joined by ':' plus ':' plus the digest of that text. */
export function plaintextOf(fields: readonly string[], digest: DigestName = 'sha256'): string {
  const encoded = fields.join(':');
  return `${encoded}:${innerDigest(digest, encoded)}`;
}

export const SALT_PREFIX = 'U2FsdGVkX1';

/** Wire text from raw "Salted__"‖salt‖ciphertext bytes, as wire.ts builds it: prefix cut, HMAC appended. */
export function wireOfRaw(raw: Buffer, ks: FuzzKeySet, hmacDigest?: DigestName): string {
  const full = b64n(raw);
  const ct = full.slice(SALT_PREFIX.length);
  return macCt(ct, ks, hmacDigest);
}

/** Appends the HMAC over prefix + ct (the way wire.ts and fwknop do), when the key set has one. */
export function macCt(ct: string, ks: FuzzKeySet, hmacDigest?: DigestName): string {
  const k = ks.keys;
  return k.hmacKey ? ct + hmacB64(hmacDigest ?? k.hmacDigest, k.hmacKey, SALT_PREFIX + ct) : ct;
}

export interface SealOptions {
  /** Drop the PKCS#7 block encrypt() adds (the plaintext must then be whole blocks). */
  readonly unpadded?: boolean;
  /** MAC with another digest than the key set's. */
  readonly hmacDigest?: DigestName;
}

/** Encrypts with lib/spa/cipher.ts and MACs with lib/spa/digests.ts, exactly as wire.ts does. */
export function seal(plaintext: string | Buffer, ks: FuzzKeySet, salt: Buffer, opts: SealOptions = {}): string {
  const pt = typeof plaintext === 'string' ? Buffer.from(plaintext, 'latin1') : plaintext;
  let raw = encrypt(pt, ks.keys.key, ks.keys.mode, salt);
  if (opts.unpadded) {
    if (pt.length % 16 !== 0) throw new Error('unpadded needs whole blocks');
    // Every mode fwknop uses encrypts a prefix of the plaintext into a prefix of the ciphertext,
    // so dropping the last (all-padding) block leaves the unpadded encryption.
    raw = raw.subarray(0, raw.length - 16);
  }
  return wireOfRaw(raw, ks, opts.hmacDigest);
}

// ---------------------------------------------------------------------------------------------
// A valid message with random but well-formed fields, as a field array (before the digest).

export interface FieldSpec {
  readonly rand: string;
  readonly user: string;
  readonly ts: string;
  readonly ver: string;
  readonly type: number;
  readonly msg: string;
  readonly nat: string | null;
  readonly sa: string | null;
  readonly timeout: string | null;
}

export function fieldArray(f: FieldSpec): string[] {
  const out = [f.rand, b64n(f.user), f.ts, f.ver, String(f.type), b64n(f.msg)];
  if (f.nat !== null) out.push(b64n(f.nat));
  if (f.sa !== null) out.push(b64n(f.sa));
  if (f.timeout !== null) out.push(f.timeout);
  return out;
}

const USER_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@ ';
const NAT_HOST_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789.-';

export function randomIp(rng: Rng): string {
  return [rng.int(256), rng.int(256), rng.int(256), rng.int(256)].join('.');
}

/** A random valid message of a random type, small enough that the wire stays under 400 chars. */
export function randomFields(rng: Rng, type = rng.int(7)): FieldSpec {
  const hasNat = type === 2 || type === 4 || type === 5 || type === 6;
  const hasTimeout = type === 3 || type === 4 || type === 6;
  const ip = rng.chance(0.1) ? '0.0.0.0' : randomIp(rng);
  const ports = Array.from({ length: rng.range(1, 2) }, () => `${rng.pick(['tcp', 'udp'])}/${rng.range(1, 65535)}`);
  const msg = type === 0 ? `${ip},${rng.pick(['echo hi', 'touch /tmp/x', 'a:b;c', 'ls'])}` : [ip, ...ports].join(',');
  let user = rng.str(rng.range(1, 10), USER_CHARS);
  if (user.trim() !== user && rng.chance(0.5)) user = 'u' + user.trim() + 'u';
  return {
    rand: rng.str(16, DIGITS),
    user,
    ts: String(rng.chance(0.8) ? 1_700_000_000 + rng.int(100_000_000) : rng.int(2 ** 31)),
    ver: rng.chance(0.8) ? '3.0.0' : rng.pick(['2.0.4', '9.9.9', '1.9.12', 'x', '12345678']),
    type,
    msg,
    nat: hasNat ? `${rng.chance(0.5) ? randomIp(rng) : rng.str(rng.range(1, 12), NAT_HOST_CHARS)},${rng.range(1, 65535)}` : null,
    sa: rng.chance(0.1) ? rng.str(rng.range(1, 8), USER_CHARS) : null,
    timeout: hasTimeout ? String(rng.chance(0.1) ? rng.pick([0, 65536, 1]) : rng.range(1, 3600)) : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Reference validator: fwknop 2.6.10's rules, read independently of lib/spa/message.ts.

export interface RefFields {
  readonly rand: string;
  readonly username: string;
  readonly timestamp: number;
  readonly version: string;
  readonly messageType: number;
  readonly message: string;
  readonly natAccess: string | null;
  readonly serverAuth: string | null;
  readonly clientTimeout: number;
}
export type RefVerdict = { ok: true; fields: RefFields } | { ok: false; why: string };

const refFail = (why: string): RefVerdict => ({ ok: false, why });

const isDigitC = (c: string) => c >= '0' && c <= '9';
const isAlnumC = (c: string) => isDigitC(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
const isPrintC = (c: string) => c >= ' ' && c <= '~';
const isSpaceC = (c: string) => ' \t\n\v\f\r'.includes(c);

/** fwknop's b64_decode: stops at NUL or '=', fails on any other foreign character, drops leftover bits. */
export function refB64Decode(s: string): Buffer | undefined {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\0' || c === '=') break;
    const v = B64_ALPHABET.indexOf(c);
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** A decoded buffer read as a C string: up to the first NUL. */
function cString(b: Buffer): string {
  const z = b.indexOf(0);
  return (z === -1 ? b : b.subarray(0, z)).toString('latin1');
}

/** strtol(s, NULL, 10) on an LP64 glibc, then fwknop's strtol_wrapper(min, max) on the int it keeps. */
function refStrtol(s: string, min: number, max: number): number | undefined {
  let i = 0;
  while (i < s.length && isSpaceC(s[i]!)) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') {
    neg = s[i] === '-';
    i++;
  }
  let v = 0n;
  let any = false;
  while (i < s.length && isDigitC(s[i]!)) {
    v = v * 10n + BigInt(s.charCodeAt(i) - 48);
    any = true;
    i++;
  }
  if (!any) v = 0n; // no conversion: 0, errno untouched on glibc
  if (neg) v = -v;
  if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) return undefined; // ERANGE
  const val = Number(BigInt.asIntN(32, v)); // stored in an int
  if (val < min) return undefined;
  if (max >= 0 && val > max) return undefined;
  return val;
}

/** inet_aton() on a string of digits and exactly three dots: octal when a part starts with 0. */
function refInetAton4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (p.length === 0) return false;
    let v: number;
    if (p.length > 1 && p[0] === '0') {
      if (!/^[0-7]+$/.test(p)) return false;
      v = parseInt(p, 8);
    } else {
      v = Number(p);
    }
    if (!(v <= 255)) return false;
  }
  return true;
}

/** The allow IP before the first comma: ≤ 15 chars of digits and dots, three dots, inet_aton. */
function refAllowIp(msg: string): boolean {
  let n = 0;
  let ip = '';
  for (let i = 0; i < msg.length && msg[i] !== ','; i++) {
    const c = msg[i]!;
    n++;
    if (n >= 16) return false;
    if (c !== '.' && !isDigitC(c)) return false;
    ip += c;
  }
  if (ip.length < 7) return false;
  if (ip.split('.').length !== 4) return false;
  return refInetAton4(ip);
}

/** Port text up to the end or a comma: a digit first, at most 5 digits, 1..65535. */
function refPort(s: string): boolean {
  if (s.length >= 256) return false;
  if (!isDigitC(s[0] ?? '')) return false;
  let port = '';
  for (let i = 0; i < s.length && s[i] !== ','; i++) {
    if (!isDigitC(s[i]!) || port.length + 1 > 5) return false;
    port += s[i];
  }
  return refStrtol(port, 1, 65535) !== undefined;
}

/** One "proto/port" item, looking at the rest of the message from it on. */
function refProtoPort(rest: string): boolean {
  if (rest.length >= 256) return false;
  if (!['tcp', 'udp', 'icmp', 'none'].some((p) => rest.startsWith(p))) return false;
  const slash = rest.indexOf('/');
  if (slash === -1 || slash + 1 > 4) return false; // the proto may be at most 4 chars with its '/'
  return refPort(rest.slice(slash + 1));
}

export function refAccessMsg(m: string): boolean {
  if (m.length >= 256) return false;
  if (!refAllowIp(m)) return false;
  let comma = m.indexOf(',');
  if (comma === -1 || comma + 1 >= m.length) return false;
  while (comma !== -1) {
    if (!refProtoPort(m.slice(comma + 1))) return false;
    comma = m.indexOf(',', comma + 1);
  }
  return true;
}

export function refCommandMsg(m: string): boolean {
  if (m.length >= 1400) return false;
  if (!refAllowIp(m)) return false;
  const comma = m.indexOf(',');
  return comma !== -1 && comma + 1 < m.length;
}

export function refNatAccess(m: string): boolean {
  if (m.length >= 256) return false;
  if (m.split(',').length !== 2) return false;
  const comma = m.indexOf(',');
  if (comma > 70) return false;
  for (let i = 0; i < comma; i++) if (' /?"\'\\'.includes(m[i]!)) return false;
  if (comma + 1 >= m.length) return false;
  if (!refPort(m.slice(comma + 1))) return false;
  return !m.endsWith(',');
}

export function refUsername(u: string): boolean {
  if (u.length === 0) return false;
  for (const c of u.slice(0, 64)) {
    if (isAlnumC(c)) continue;
    if (!isPrintC(c) || '"/\\[]:;|=,+*?<>'.includes(c)) return false;
  }
  return true;
}

const DIGESTS_BY_LEN: Record<number, DigestName[]> = {
  22: ['md5'], 27: ['sha1'], 43: ['sha256', 'sha3_256'], 64: ['sha384'], 86: ['sha512', 'sha3_512'],
};

/** fko_decode_spa_data on the decrypted text (already a C string). */
export function refDecodePlaintext(text: string): RefVerdict {
  if (text.length < 36 || text.length >= 1500) return refFail('length');
  for (const c of text) if (!isPrintC(c)) return refFail('not-printable');
  const colons = text.split(':').length - 1;
  if (colons < 6) return refFail('min-fields');
  const last = text.lastIndexOf(':');
  const digest = text.slice(last + 1);
  const encoded = text.slice(0, last);
  const algs = DIGESTS_BY_LEN[digest.length];
  if (!algs) return refFail('digest-length');
  if (!algs.some((d) => innerDigest(d, encoded) === digest)) return refFail('digest');

  // Walk the fields the way the C code does: strcspn to the next ':', step over it. Once past
  // the end, every field reads as empty (the digest bytes behind it are zeroed).
  let pos = 0;
  const next = (): string => {
    if (pos > encoded.length) return '';
    const e = encoded.indexOf(':', pos);
    const end = e === -1 ? encoded.length : e;
    const s = encoded.slice(pos, end);
    pos = end + 1;
    return s;
  };

  const rand = next();
  if (rand.length < 16) return refFail('rand');

  const userB64 = next();
  if (userB64.length < 1 || userB64.length > 64) return refFail('username-size');
  const userRaw = refB64Decode(userB64);
  if (!userRaw) return refFail('username-b64');
  const username = cString(userRaw);
  if (!refUsername(username)) return refFail('username');

  const ts = next();
  if (ts.length < 1 || ts.length > 12) return refFail('timestamp-size');
  const timestamp = refStrtol(ts, 0, -1);
  if (timestamp === undefined) return refFail('timestamp');

  const version = next();
  if (version.length < 1 || version.length > 8) return refFail('version');

  const typeStart = pos;
  const typeText = next();
  if (typeText.length < 1 || typeText.length > 2) return refFail('type-size');
  const messageType = refStrtol(typeText, 0, 6);
  if (messageType === undefined) return refFail('type');
  const remaining = typeStart > encoded.length ? 0 : encoded.slice(typeStart).split(':').length - 1;
  const maxRemaining = messageType <= 1 ? 2 : messageType === 4 || messageType === 6 ? 4 : 3;
  if (remaining > maxRemaining) return refFail('field-count');

  const msgB64 = next();
  if (msgB64.length < 1 || msgB64.length > 256) return refFail('message-size');
  const msgRaw = refB64Decode(msgB64);
  if (!msgRaw) return refFail('message-b64');
  const message = cString(msgRaw);
  if (!(messageType === 0 ? refCommandMsg(message) : refAccessMsg(message))) return refFail('message');

  let natAccess: string | null = null;
  if (messageType === 2 || messageType === 4 || messageType === 5 || messageType === 6) {
    const natB64 = next();
    if (natB64.length < 1 || natB64.length > 256) return refFail('nat-size');
    const natRaw = refB64Decode(natB64);
    if (!natRaw) return refFail('nat-b64');
    natAccess = cString(natRaw);
    if (!refNatAccess(natAccess)) return refFail('nat');
  }

  const hasTimeout = messageType === 3 || messageType === 4 || messageType === 6;
  let rest = pos > encoded.length ? '' : encoded.slice(pos);
  let serverAuth: string | null = null;
  if (rest.length > 0) {
    if (rest.length > 256) return refFail('server-auth-size');
    let saText: string | undefined;
    if (!hasTimeout) saText = rest;
    else if (rest.includes(':')) {
      saText = rest.slice(0, rest.indexOf(':'));
      rest = rest.slice(rest.indexOf(':') + 1);
    }
    if (saText !== undefined) {
      const saRaw = refB64Decode(saText);
      if (!saRaw) return refFail('server-auth');
      serverAuth = cString(saRaw);
    }
  }
  let clientTimeout = 0;
  if (hasTimeout) {
    if (rest.length < 1 || rest.length > 256) return refFail('timeout-size');
    if (![...rest].every(isDigitC)) return refFail('timeout');
    const v = refStrtol(rest, 0, 65536);
    if (v === undefined) return refFail('timeout');
    clientTimeout = v;
  }
  return {
    ok: true,
    fields: { rand: rand.slice(0, 16), username, timestamp, version, messageType, message, natAccess, serverAuth, clientTimeout },
  };
}

function refKdf(pw: Buffer, salt: Buffer): { key: Buffer; iv: Buffer } {
  const d1 = createHash('md5').update(Buffer.concat([pw, salt])).digest();
  const d2 = createHash('md5').update(Buffer.concat([d1, pw, salt])).digest();
  const d3 = createHash('md5').update(Buffer.concat([d2, pw, salt])).digest();
  return { key: Buffer.concat([d1, d2]), iv: d3 };
}

/** Rijndael decrypt as libfko does it; undefined where libfko gives up. */
export function refDecrypt(raw: Buffer, keys: SpaKeys): Buffer | undefined {
  if (keys.key.length < 1 || keys.key.length > 32) return undefined;
  // The salt is read from bytes 8..15; the "Salted__" text itself is not compared (fwknopd 2.6.10
  // decodes a packet whose header reads "Salted_P"), so it is not required here.
  if (raw.length < 16 || raw.length % 16 !== 0) return undefined;
  const body = raw.subarray(16);
  if (body.length === 0) return undefined;
  let pw = Buffer.from(keys.key);
  if (keys.mode === 'legacy') {
    pw = Buffer.alloc(16, 0x30);
    Buffer.from(keys.key).copy(pw, 0, 0, Math.min(16, keys.key.length));
  }
  const { key, iv } = refKdf(pw, raw.subarray(8, 16));
  const alg = keys.mode === 'legacy' ? 'aes-256-cbc' : `aes-256-${keys.mode}`;
  const d = createDecipheriv(alg, key, keys.mode === 'ecb' ? null : iv);
  d.setAutoPadding(false);
  let pt = Buffer.concat([d.update(body), d.final()]);
  // Lenient PKCS#7: strip a pad of 1..16 only when all its bytes agree; keep anything else.
  const n = pt[pt.length - 1]!;
  if (n >= 1 && n <= 16 && n <= pt.length && pt.subarray(pt.length - n).every((x) => x === n)) pt = pt.subarray(0, pt.length - n);
  return pt;
}

export interface RefOptions {
  /** Skip fwknopd's payload size rules (140..1500, and < 400 for Rijndael). */
  readonly ignoreSize?: boolean;
}

/** The whole of fwknopd's path for one stanza with these keys, up to "SPA Decode (res=0)". */
export function refDecodeWire(wire: string, keys: SpaKeys, opts: RefOptions = {}): RefVerdict {
  if (!opts.ignoreSize) {
    if (wire.length < 140 || wire.length > 1500) return refFail('size');
  }
  if (wire.startsWith(SALT_PREFIX)) return refFail('prefix');
  for (const c of wire) if (!(isAlnumC(c) || c === '+' || c === '/' || c === '=')) return refFail('not-base64');
  if (!opts.ignoreSize && wire.length >= 400) return refFail('gpg-size');
  let ct = wire;
  if (keys.hmacKey) {
    const len = B64_LEN[keys.hmacDigest];
    if (wire.length - len < 36) return refFail('hmac-size');
    ct = wire.slice(0, wire.length - len);
    const mac = createHmac(HASH_ALG[keys.hmacDigest], keys.hmacKey).update(SALT_PREFIX + ct, 'latin1').digest();
    if (b64n(mac) !== wire.slice(wire.length - len)) return refFail('hmac');
  }
  const raw = refB64Decode(SALT_PREFIX + ct);
  if (!raw) return refFail('b64');
  const pt = refDecrypt(raw, keys);
  if (!pt) return refFail('decrypt');
  if (pt.length < 36 || pt.length >= 1500) return refFail('length');
  if (!/^[0-9]{16}:/.test(pt.subarray(0, 17).toString('latin1'))) return refFail('rand');
  // libfko walks the fields as a C string but hashes the whole decrypted length (minus the digest
  // it found) for the digest check, so a NUL anywhere makes the digest fail (seen on fwknopd 2.6.10).
  if (pt.includes(0)) return refFail('nul');
  return refDecodePlaintext(pt.toString('latin1'));
}

// ---------------------------------------------------------------------------------------------
// Hand-built packets with a valid HMAC and one broken rule each.

/** What Sesame's decodeWire should answer ('ok' for the controls), and what fwknop's rules say. */
export interface BrokenCase {
  readonly id: string;
  /** The plaintext, or a function building the wire itself for the decryption-level cases. */
  readonly plaintext?: string | Buffer;
  readonly wire?: (ks: FuzzKeySet, salt: Buffer) => string;
  /** Expected decodeWire error code, or 'ok' for a control that must be accepted. */
  readonly sesame: string;
  /**
   * fwknop 2.6.10's verdict at "SPA Decode": from the spec and the reading in the reference, each one
   * confirmed on the real fwknopd by test/e2e/spa-fuzz-fwknopd.test.ts; '?' would mark an open question.
   */
  readonly fwknop: 'accept' | 'refuse' | '?';
}

const BASE = { rand: '1234567890123456', user: 'fuzzer', ts: '1700000000', ver: '3.0.0', type: '1', msg: '10.1.2.3,tcp/22' };
type BaseOver = Partial<typeof BASE> & { userB64?: string; msgB64?: string; tail?: string[]; digest?: DigestName };

/** A plaintext from the base fields with some replaced (raw values are base64'd, *B64 are verbatim). */
export function basePlaintext(o: BaseOver = {}): string {
  const f = { ...BASE, ...o };
  const fields = [f.rand, o.userB64 ?? b64n(f.user), f.ts, f.ver, f.type, o.msgB64 ?? b64n(f.msg), ...(o.tail ?? [])];
  return plaintextOf(fields, o.digest ?? 'sha256');
}

const msgCase = (id: string, msg: string, sesame: string, fwknop: BrokenCase['fwknop']): BrokenCase =>
  ({ id, plaintext: basePlaintext({ msg }), sesame, fwknop });

/** An access message of exactly n bytes: an allow IP, ",tcp/22" items, and one last item to fit. */
export function accessOfLength(n: number): string {
  for (const ip of ['1.2.3.4', '10.1.2.3', '10.11.2.3', '10.11.12.3', '10.11.12.13', '100.11.12.13', '100.110.12.13']) {
    for (let k = 0; ip.length + 7 * k <= n; k++) {
      const rem = n - ip.length - 7 * k;
      if (rem === 0 || (rem >= 6 && rem <= 10)) {
        return ip + ',tcp/22'.repeat(k) + (rem ? ',tcp/' + '1'.repeat(rem - 5) : '');
      }
    }
  }
  throw new Error(`no access message of ${n} bytes`);
}

/** A base plaintext (version and username varied) whose length satisfies a condition. */
function findPlaintext(what: string, ok: (len: number) => boolean): string {
  for (let v = 1; v <= 8; v++) {
    for (let u = 0; u < 40; u++) {
      const pt = basePlaintext({ ver: '3'.repeat(v), user: 'fuzzer' + 'x'.repeat(u) });
      if (ok(pt.length)) return pt;
    }
  }
  throw new Error(`no plaintext with ${what}`);
}

const alignedPlaintext = (r: number) => findPlaintext(`length ${r} mod 16`, (n) => n % 16 === r);

export function brokenCases(): BrokenCase[] {
  const cases: BrokenCase[] = [];
  const add = (c: BrokenCase) => cases.push(c);
  const p = basePlaintext;

  // Controls: each must be accepted by both.
  add({ id: 'control: base', plaintext: p(), sesame: 'ok', fwknop: 'accept' });
  for (const d of INNER_DIGESTS) add({ id: `control: inner digest ${d}`, plaintext: p({ digest: d }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: 48-char username', plaintext: p({ user: 'u'.repeat(48) }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: username with space and dash', plaintext: p({ user: 'a b-c.d_e@f' }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: version 9.9.9', plaintext: p({ ver: '9.9.9' }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: version of 8 chars', plaintext: p({ ver: '12345678' }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 01', plaintext: p({ type: '01' }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: timestamp 0', plaintext: p({ ts: '0' }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: timestamp 2^31-1', plaintext: p({ ts: '2147483647' }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: 0.0.0.0 and three ports', plaintext: p({ msg: '0.0.0.0,tcp/22,udp/53,tcp/65535' }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: port 1', plaintext: p({ msg: '255.255.255.255,udp/1' }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 1 + server_auth', plaintext: p({ tail: [b64n('sa')] }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 0 command', plaintext: p({ type: '0', msg: '10.1.2.3,echo hello' }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 3 timeout 45', plaintext: p({ type: '3', tail: ['45'] }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 3 timeout 65536', plaintext: p({ type: '3', tail: ['65536'] }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 3 server_auth + timeout', plaintext: p({ type: '3', tail: [b64n('sa'), '45'] }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 2 nat', plaintext: p({ type: '2', tail: [b64n('192.168.1.5,22')] }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 4 nat + timeout', plaintext: p({ type: '4', tail: [b64n('gw.example,2222'), '60'] }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 4 nat + sa + timeout', plaintext: p({ type: '4', tail: [b64n('gw,22'), b64n('x'), '60'] }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 5 local nat', plaintext: p({ type: '5', tail: [b64n('10.0.0.1,22')] }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: type 6 local nat + timeout', plaintext: p({ type: '6', tail: [b64n('10.0.0.1,22'), '30'] }), sesame: 'ok', fwknop: 'accept' });
  add({ id: 'control: 192-byte message (256 b64 chars)', plaintext: p({ msg: accessOfLength(192) }), sesame: 'ok', fwknop: 'accept' });
  {
    // A whole-block plaintext sent without padding (old Android clients): lenient unpadding keeps it.
    const pt = alignedPlaintext(0);
    add({ id: 'control: whole blocks, no padding', plaintext: pt, wire: (ks, salt) => seal(pt, ks, salt, { unpadded: true }), sesame: 'ok', fwknop: 'accept' });
  }

  // rand
  add({ id: 'rand of 15 digits', plaintext: p({ rand: '123456789012345' }), sesame: 'rand', fwknop: 'refuse' });
  add({ id: 'rand of 17 digits', plaintext: p({ rand: '12345678901234567' }), sesame: 'rand', fwknop: 'refuse' });
  add({ id: 'rand with a letter', plaintext: p({ rand: '123456789012345a' }), sesame: 'rand', fwknop: 'refuse' });
  add({ id: 'rand of 16 digits + x', plaintext: p({ rand: '1234567890123456x' }), sesame: 'rand', fwknop: 'refuse' });
  add({ id: 'rand empty', plaintext: p({ rand: '' }), sesame: 'rand', fwknop: 'refuse' });

  // username
  add({ id: 'username of 49 chars', plaintext: p({ user: 'u'.repeat(49) }), sesame: 'username', fwknop: 'refuse' });
  for (const c of '"/\\[]:;|=,+*?<>') add({ id: `username with ${JSON.stringify(c)}`, plaintext: p({ user: `a${c}b` }), sesame: 'username', fwknop: 'refuse' });
  add({ id: 'username empty', plaintext: p({ userB64: '' }), sesame: 'username', fwknop: 'refuse' });
  add({ id: 'username with \\x01', plaintext: p({ user: 'ab\x01' }), sesame: 'username', fwknop: 'refuse' });
  add({ id: 'username with \\x7f', plaintext: p({ user: 'ab\x7f' }), sesame: 'username', fwknop: 'refuse' });
  add({ id: 'username with \\xe9', plaintext: p({ user: 'ab\xe9' }), sesame: 'username', fwknop: 'refuse' });
  add({ id: 'username with \\n', plaintext: p({ user: 'ab\n' }), sesame: 'username', fwknop: 'refuse' });
  add({ id: 'username b64 not base64', plaintext: p({ userB64: 'cm9v!A' }), sesame: 'username', fwknop: 'refuse' });
  add({ id: 'username b64 with a hyphen', plaintext: p({ userB64: 'cm9v-A' }), sesame: 'username', fwknop: 'refuse' });
  // Where fwknop is more lenient than Sesame (C strings, '=' ends base64, lone trailing char).
  add({ id: 'username ab NUL cd (fwknop reads "ab")', plaintext: p({ user: 'ab\0cd' }), sesame: 'username', fwknop: 'accept' });
  add({ id: 'username b64 with = padding', plaintext: p({ userB64: b64n('root') + '==' }), sesame: 'username', fwknop: 'accept' });
  add({ id: 'username b64 with a lone trailing char', plaintext: p({ userB64: b64n('roo') + 'Z' }), sesame: 'username', fwknop: 'accept' });

  // timestamp
  add({ id: 'timestamp of 13 chars', plaintext: p({ ts: '1700000000123' }), sesame: 'timestamp', fwknop: 'refuse' });
  add({ id: 'timestamp 1700000000xyz', plaintext: p({ ts: '1700000000xyz' }), sesame: 'timestamp', fwknop: 'refuse' });
  add({ id: 'timestamp 2^31', plaintext: p({ ts: '2147483648' }), sesame: 'timestamp', fwknop: 'refuse' });
  add({ id: 'timestamp 999999999999', plaintext: p({ ts: '999999999999' }), sesame: 'timestamp', fwknop: 'refuse' });
  add({ id: 'timestamp -1', plaintext: p({ ts: '-1' }), sesame: 'timestamp', fwknop: 'refuse' });
  add({ id: 'timestamp empty', plaintext: p({ ts: '' }), sesame: 'timestamp', fwknop: 'refuse' });
  add({ id: 'timestamp 2^32 (an int keeps 0)', plaintext: p({ ts: '4294967296' }), sesame: 'timestamp', fwknop: 'accept' });
  add({ id: 'timestamp 17000000xy (strtol stops)', plaintext: p({ ts: '17000000xy' }), sesame: 'timestamp', fwknop: 'accept' });
  add({ id: 'timestamp with a leading space', plaintext: p({ ts: ' 1700000000' }), sesame: 'timestamp', fwknop: 'accept' });
  add({ id: 'timestamp +1700000000', plaintext: p({ ts: '+1700000000' }), sesame: 'timestamp', fwknop: 'accept' });
  add({ id: 'timestamp abc (strtol gives 0)', plaintext: p({ ts: 'abc' }), sesame: 'timestamp', fwknop: 'accept' });

  // version
  add({ id: 'version of 9 chars', plaintext: p({ ver: '3.0.0.0.0' }), sesame: 'version', fwknop: 'refuse' });
  add({ id: 'version empty', plaintext: p({ ver: '' }), sesame: 'version', fwknop: 'refuse' });

  // message type
  add({ id: 'type 7', plaintext: p({ type: '7' }), sesame: 'message-type', fwknop: 'refuse' });
  add({ id: 'type 99', plaintext: p({ type: '99' }), sesame: 'message-type', fwknop: 'refuse' });
  add({ id: 'type -1', plaintext: p({ type: '-1' }), sesame: 'message-type', fwknop: 'refuse' });
  add({ id: 'type 100', plaintext: p({ type: '100' }), sesame: 'message-type', fwknop: 'refuse' });
  add({ id: 'type empty', plaintext: p({ type: '' }), sesame: 'message-type', fwknop: 'refuse' });
  add({ id: 'type a (strtol gives 0: a command)', plaintext: p({ type: 'a' }), sesame: 'message-type', fwknop: 'accept' });
  add({ id: 'type " 1"', plaintext: p({ type: ' 1' }), sesame: 'message-type', fwknop: 'accept' });
  add({ id: 'type 1x', plaintext: p({ type: '1x' }), sesame: 'message-type', fwknop: 'accept' });

  // field counts per type
  add({
    id: 'only 5 fields before the digest', sesame: 'field-count', fwknop: 'refuse',
    plaintext: plaintextOf([BASE.rand, b64n(BASE.user), BASE.ts, BASE.ver, BASE.type]),
  });
  add({ id: 'type 1 with two more fields', plaintext: p({ tail: [b64n('sa'), b64n('x')] }), sesame: 'field-count', fwknop: 'refuse' });
  add({ id: 'type 0 with two more fields', plaintext: p({ type: '0', msg: '10.1.2.3,ls', tail: ['YQ', 'YQ'] }), sesame: 'field-count', fwknop: 'refuse' });
  add({ id: 'type 3 without its timeout', plaintext: p({ type: '3' }), sesame: 'field-count', fwknop: 'refuse' });
  add({ id: 'type 3 with sa, timeout and one more', plaintext: p({ type: '3', tail: ['YQ', '45', '45'] }), sesame: 'field-count', fwknop: 'refuse' });
  add({ id: 'type 2 without nat access', plaintext: p({ type: '2' }), sesame: 'field-count', fwknop: 'refuse' });
  add({ id: 'type 5 with nat, sa and one more', plaintext: p({ type: '5', tail: [b64n('h,22'), 'YQ', 'YQ'] }), sesame: 'field-count', fwknop: 'refuse' });
  add({ id: 'type 4 with nat only', plaintext: p({ type: '4', tail: [b64n('h,22')] }), sesame: 'field-count', fwknop: 'refuse' });
  add({ id: 'type 4 without nat and timeout', plaintext: p({ type: '4' }), sesame: 'field-count', fwknop: 'refuse' });
  add({ id: 'type 6 with 4 more fields', plaintext: p({ type: '6', tail: [b64n('h,22'), 'YQ', '30', '30'] }), sesame: 'field-count', fwknop: 'refuse' });
  add({ id: 'type 1 followed by an empty field', plaintext: p({ tail: [''] }), sesame: 'server-auth', fwknop: 'accept' });
  add({ id: 'type 1 with a non-base64 server_auth', plaintext: p({ tail: ['a!b'] }), sesame: 'server-auth', fwknop: 'refuse' });
  add({ id: 'type 1 with digits as server_auth (decodes to \\xe3)', plaintext: p({ tail: ['45'] }), sesame: 'server-auth', fwknop: 'accept' });

  // message
  add({ id: 'message not base64', plaintext: p({ msgB64: b64n(BASE.msg) + '!' }), sesame: 'message', fwknop: 'refuse' });
  add({ id: 'message empty', plaintext: p({ msgB64: '' }), sesame: 'message', fwknop: 'refuse' });
  add({ id: 'message of 257 b64 chars', plaintext: p({ msgB64: b64n(accessOfLength(192)) + 'A' }), sesame: 'message', fwknop: 'refuse' });
  add({ id: 'message of 263 b64 chars', plaintext: p({ msg: accessOfLength(197) }), sesame: 'message', fwknop: 'refuse' });
  add(msgCase('allow IP 10.1.2.256', '10.1.2.256,tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP with 5 octets', '10.1.2.3.4,tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP with 3 octets', '10.1.2,tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP with an empty octet', '10..2.3,tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP of 16 chars', '100.100.100.1000,tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP hostname', 'host.example.com,tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP IPv6 ::1', '::1,tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP IPv6 fd00::1', 'fd00::1,tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP with a space', '10.1.2.3 ,tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP empty', ',tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP octal 08', '10.1.2.08,tcp/22', 'message', 'refuse'));
  add(msgCase('allow IP with leading zeros 010 (octal 8 for inet_aton)', '010.1.2.3,tcp/22', 'message', 'accept'));
  add(msgCase('allow IP 10.001.002.003', '10.001.002.003,tcp/22', 'message', 'accept'));
  add(msgCase('only the allow IP', '10.1.2.3', 'message', 'refuse'));
  add(msgCase('allow IP and a comma', '10.1.2.3,', 'message', 'refuse'));
  add(msgCase('proto icmp', '10.1.2.3,icmp/0', 'message', 'refuse'));
  add(msgCase('proto none', '10.1.2.3,none/0', 'message', 'refuse'));
  add(msgCase('proto sctp', '10.1.2.3,sctp/22', 'message', 'refuse'));
  add(msgCase('proto TCP', '10.1.2.3,TCP/22', 'message', 'refuse'));
  add(msgCase('proto tcpx', '10.1.2.3,tcpx/22', 'message', 'refuse'));
  add(msgCase('proto without port', '10.1.2.3,tcp', 'message', 'refuse'));
  add(msgCase('port 0', '10.1.2.3,tcp/0', 'message', 'refuse'));
  add(msgCase('port 65536', '10.1.2.3,tcp/65536', 'message', 'refuse'));
  add(msgCase('port 123456', '10.1.2.3,tcp/123456', 'message', 'refuse'));
  add(msgCase('port -1', '10.1.2.3,tcp/-1', 'message', 'refuse'));
  add(msgCase('port " 22"', '10.1.2.3,tcp/ 22', 'message', 'refuse'));
  add(msgCase('port empty', '10.1.2.3,tcp/', 'message', 'refuse'));
  add(msgCase('port 22a', '10.1.2.3,tcp/22a', 'message', 'refuse'));
  add(msgCase('port 22/23', '10.1.2.3,tcp/22/23', 'message', 'refuse'));
  add(msgCase('port 022 (decimal 22 for fwknop)', '10.1.2.3,tcp/022', 'message', 'accept'));
  add(msgCase('trailing comma', '10.1.2.3,tcp/22,', 'message', 'refuse'));
  add(msgCase('empty item', '10.1.2.3,,tcp/22', 'message', 'refuse'));
  add(msgCase('space after comma', '10.1.2.3, tcp/22', 'message', 'refuse'));
  add(msgCase('second item bad', '10.1.2.3,tcp/22,udp/0', 'message', 'refuse'));
  add(msgCase('message with NUL after a valid request', '10.1.2.3,tcp/22\0junk', 'message', 'accept'));
  add({ id: 'command without a command', plaintext: p({ type: '0', msg: '10.1.2.3,' }), sesame: 'message', fwknop: 'refuse' });
  add({ id: 'command with a bad IP', plaintext: p({ type: '0', msg: '10.1.2.300,ls' }), sesame: 'message', fwknop: 'refuse' });

  // nat access (type 2)
  const nat = (id: string, v: string, sesame: string, fwknop: BrokenCase['fwknop']) =>
    add({ id: `nat ${id}`, plaintext: p({ type: '2', tail: [b64n(v)] }), sesame, fwknop });
  nat('without a comma', '192.168.1.5', 'nat-access', 'refuse');
  nat('with two commas', '192.168.1.5,22,23', 'nat-access', 'refuse');
  nat('host with a space', 'a b,22', 'nat-access', 'refuse');
  nat('host with a slash', '10.0.0.0/8,22', 'nat-access', 'refuse');
  nat('host with a quote', "a'b,22", 'nat-access', 'refuse');
  nat('host of 71 chars', 'h'.repeat(71) + ',22', 'nat-access', 'refuse');
  nat('port 0', 'gw,0', 'nat-access', 'refuse');
  nat('port 65536', 'gw,65536', 'nat-access', 'refuse');
  nat('port x', 'gw,x', 'nat-access', 'refuse');
  nat('trailing comma', 'gw,', 'nat-access', 'refuse');
  nat('empty host', ',22', 'nat-access', 'accept');
  nat('host of 70 chars (control)', 'h'.repeat(70) + ',22', 'ok', 'accept');
  add({ id: 'nat not base64', plaintext: p({ type: '2', tail: ['Z3c!MjI'] }), sesame: 'nat-access', fwknop: 'refuse' });

  // client timeout (type 3)
  const to = (id: string, v: string, sesame: string, fwknop: BrokenCase['fwknop']) =>
    add({ id: `timeout ${id}`, plaintext: p({ type: '3', tail: [v] }), sesame, fwknop });
  to('65537', '65537', 'client-timeout', 'refuse');
  to('99999', '99999', 'client-timeout', 'refuse');
  to('45a', '45a', 'client-timeout', 'refuse');
  to('-5', '-5', 'client-timeout', 'refuse');
  to('" 45"', ' 45', 'client-timeout', 'refuse');
  to('empty', '', 'client-timeout', 'refuse');
  to('000045 (6 digits, 45 for fwknop)', '000045', 'client-timeout', 'accept');

  // digest
  {
    const encoded = [BASE.rand, b64n(BASE.user), BASE.ts, BASE.ver, BASE.type, b64n(BASE.msg)].join(':');
    const good = innerDigest('sha256', encoded);
    const flip = (good[5] === 'A' ? 'B' : 'A');
    add({ id: 'digest mismatching', plaintext: `${encoded}:${good.slice(0, 5)}${flip}${good.slice(6)}`, sesame: 'digest', fwknop: 'refuse' });
    add({ id: 'digest of 42 chars', plaintext: `${encoded}:${good.slice(0, 42)}`, sesame: 'digest', fwknop: 'refuse' });
    add({ id: 'digest with = padding', plaintext: `${encoded}:${good}=`, sesame: 'digest', fwknop: 'refuse' });
    add({ id: 'digest over the text with its colon', plaintext: `${encoded}:${innerDigest('sha256', encoded + ':')}`, sesame: 'digest', fwknop: 'refuse' });
    add({ id: 'digest missing', plaintext: encoded, sesame: 'digest', fwknop: 'refuse' });
    add({ id: 'digest of 44 chars', plaintext: `${encoded}:${good}A`, sesame: 'digest', fwknop: 'refuse' });
  }

  // length, printable, padding
  add({ id: 'plaintext of 20 chars', plaintext: '1234567890123456:abc', sesame: 'length', fwknop: 'refuse' });
  add({ id: 'plaintext of 35 chars', plaintext: '1234567890123456:' + 'a'.repeat(18), sesame: 'length', fwknop: 'refuse' });
  add({ id: 'plaintext of 1500 chars', plaintext: p({ tail: ['A'.repeat(1500 - p().length - 1)] }), sesame: 'length', fwknop: 'refuse' });
  add({ id: 'plaintext of 1499 chars, server_auth too big', plaintext: p({ tail: ['A'.repeat(1499 - p().length - 1)] }), sesame: 'server-auth', fwknop: 'refuse' });
  add({ id: 'control character in version', plaintext: p({ ver: '3.0\x01' }), sesame: 'not-printable', fwknop: 'refuse' });
  add({ id: 'DEL in version', plaintext: p({ ver: '3.0\x7f' }), sesame: 'not-printable', fwknop: 'refuse' });
  add({ id: '\\xff in version', plaintext: p({ ver: '3.0\xff' }), sesame: 'not-printable', fwknop: 'refuse' });
  add({ id: 'newline at the end', plaintext: p() + '\n', sesame: 'not-printable', fwknop: 'refuse' });
  add({ id: 'NUL and junk after a valid plaintext', plaintext: p() + '\0junk', sesame: 'not-printable', fwknop: 'refuse' });
  {
    // Padding: the plaintext is whole blocks ending in what should have been padding.
    const padCase = (id: string, tail: number[], fwknop: BrokenCase['fwknop']) => {
      const pt = Buffer.concat([Buffer.from(alignedPlaintext(16 - tail.length), 'latin1'), Buffer.from(tail)]);
      add({ id: `padding ${id}`, plaintext: pt, wire: (ks, salt) => seal(pt, ks, salt, { unpadded: true }), sesame: 'not-printable', fwknop });
    };
    padCase('03 03 02', [3, 3, 2], 'refuse');
    padCase('00 00', [0, 0], 'refuse');
    padCase('of 17', [17], 'refuse');
    padCase('04 04 04 (one short)', [4, 4, 4], 'refuse');
  }

  // Decryption level, with a valid HMAC.
  add({
    id: 'header Salted_P instead of Salted__', sesame: 'decrypt', fwknop: 'accept',
    wire: (ks, salt) => {
      const raw = Buffer.from(encrypt(Buffer.from(p(), 'latin1'), ks.keys.key, ks.keys.mode, salt));
      raw[7] = 0x50;
      return wireOfRaw(raw, ks);
    },
  });
  add({
    id: 'ciphertext not whole blocks (3 bytes more)', sesame: 'decrypt', fwknop: 'refuse',
    wire: (ks, salt) => wireOfRaw(Buffer.concat([encrypt(Buffer.from(p(), 'latin1'), ks.keys.key, ks.keys.mode, salt), Buffer.from('abc')]), ks),
  });
  {
    // 16 + 16k raw bytes encode to 4n chars when k ≡ 2 (mod 3); one more char makes 4n+1, which no
    // encoder produces: fwknop drops it and decodes the rest, Sesame refuses the text.
    const pt = findPlaintext('2 (mod 3) blocks', (n) => (Math.floor(n / 16) + 1) % 3 === 2);
    add({
      id: 'ciphertext with a lone trailing base64 char', sesame: 'decrypt', fwknop: 'accept',
      wire: (ks, salt) => {
        const full = b64n(encrypt(Buffer.from(pt, 'latin1'), ks.keys.key, ks.keys.mode, salt));
        if (full.length % 4 !== 0) throw new Error('lone-char case: bad alignment');
        return macCt(full.slice(SALT_PREFIX.length) + 'Q', ks);
      },
    });
  }
  add({
    id: 'header only (too short before the HMAC)', sesame: 'hmac', fwknop: 'refuse',
    wire: (ks, salt) => wireOfRaw(encrypt(Buffer.from(p(), 'latin1'), ks.keys.key, ks.keys.mode, salt).subarray(0, 16), ks),
  });
  add({
    id: 'HMAC over the ciphertext without the prefix', sesame: 'hmac', fwknop: 'refuse',
    wire: (ks, salt) => {
      const ct = b64n(encrypt(Buffer.from(p(), 'latin1'), ks.keys.key, ks.keys.mode, salt)).slice(SALT_PREFIX.length);
      return ct + hmacB64(ks.keys.hmacDigest, ks.keys.hmacKey!, ct);
    },
  });
  add({
    id: 'HMAC with another digest type', sesame: 'hmac', fwknop: 'refuse',
    wire: (ks, salt) => seal(p(), ks, salt, { hmacDigest: ks.keys.hmacDigest === 'sha512' ? 'sha256' : 'sha512' }),
  });
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Plaintext-level mutants: random field damage on a valid message, the digest mostly recomputed.

const TS_VALUES = ['', '0', '-1', '+1', ' 1', '1e9', '0x10', '2147483647', '2147483648', '4294967295', '4294967296',
  '999999999999', '1700000000xy', '1700000000123', 'abc', '00000000001', '17000000 0'];
const TYPE_VALUES = ['0', '1', '2', '3', '4', '5', '6', '7', '9', '-1', '10', '99', ' 1', '+1', '1a', 'a', '', '06', '001', '-0'];
const VER_VALUES = ['', '3.0.0', '123456789', ' ', 'a', '12345678', '\x01', '2.0'];
const RAND_VALUES = ['', '123456789012345', '12345678901234567', '123456789012345a', ' 234567890123456', '-234567890123456', '1234567890123456 '];
const USER_VALUES = ['', 'a b', 'a:b', 'x'.repeat(48), 'x'.repeat(49), '\0', 'ab\0cd', '\x7f', '\xe9t\xe9', 'root=', 'a,b', 'a/b', '-', '@', '~'];
const MSG_VALUES = [
  '10.1.2.3,tcp/22', '0.0.0.0,udp/53', '10.1.2.3,tcp/22,udp/1194', '10.1.2.256,tcp/22', '010.1.2.3,tcp/22', '1.2.3,tcp/22',
  '1.2.3.4.5,tcp/22', '::1,tcp/22', 'host,tcp/22', '10.1.2.3,icmp/8', '10.1.2.3,none/0', '10.1.2.3,tcp/0', '10.1.2.3,tcp/65536',
  '10.1.2.3,tcp/022', '10.1.2.3,tcp/22,', '10.1.2.3,,tcp/22', '10.1.2.3', '10.1.2.3,', '10.1.2.3,tcp/ 22', '10.1.2.3,TCP/22',
  '10.1.2.3,echo hi', '10.1.2.3,tcp/22\0x', '10.1.2.3,tcp/99999', '1.1.1.1,udp/65535', ' 1.1.1.1,tcp/1', '1.1.1.1,tcp/1/2',
];
const EXTRA_VALUES = ['', 'YQ', '45', '0', '65536', '65537', '000045', b64n('h,22'), b64n(',22'), b64n('h,0'), b64n('a b,22'), '!!', 'A'.repeat(300), 'YQ==', '4 5'];
const TOKENS = ['.', ',', '/', ':', ' ', '0', '1', '9', '255', '256', 'tcp', 'udp', 'icmp', '65535', '65536', '-', '\0', '\x01',
  '\xe9', '=', '+', '*', '"', 'tcp/', ',tcp/22'];
const CHARS = DIGITS + ':=+/ -.,A' + '\0\x01\x7f\xff';

function editText(s: string, r: Rng, tokens: readonly string[]): string {
  const i = r.int(s.length + 1);
  switch (r.int(3)) {
    case 0: return s.slice(0, i) + r.pick(tokens) + s.slice(i + 1); // replace
    case 1: return s.slice(0, i) + r.pick(tokens) + s.slice(i); // insert
    default: return s.slice(0, i) + s.slice(i + 1 + r.int(3)); // delete
  }
}

function editB64Field(f: string, r: Rng): string {
  const text = Buffer.from(f, 'base64').toString('latin1');
  const edited = editText(text, r, TOKENS);
  switch (r.int(6)) {
    case 0: return Buffer.from(edited, 'latin1').toString('base64'); // with '=' padding
    case 1: return b64n(edited) + r.pick(['!', '-', '_', 'Z', '=']);
    default: return b64n(edited);
  }
}

function mutateFields(fields: string[], r: Rng): string[] {
  const f = [...fields];
  const ops = r.range(1, 3);
  for (let k = 0; k < ops; k++) {
    const i = r.int(f.length);
    switch (r.int(9)) {
      case 0: f[i] = editText(f[i]!, r, [...CHARS]); break;
      case 1:
        f[i] = i === 0 ? r.pick(RAND_VALUES) : i === 1 ? b64n(r.pick(USER_VALUES)) : i === 2 ? r.pick(TS_VALUES)
          : i === 3 ? r.pick(VER_VALUES) : i === 4 ? r.pick(TYPE_VALUES) : i === 5 ? b64n(r.pick(MSG_VALUES)) : r.pick(EXTRA_VALUES);
        break;
      case 2: if (i === 1 || i >= 5) f[i] = editB64Field(f[i]!, r); break;
      case 3: if (f.length > 1) f.splice(i, 1); break;
      case 4: f.splice(r.int(f.length + 1), 0, r.chance(0.5) ? f[i]! : r.pick(EXTRA_VALUES)); break;
      case 5: f[4] = r.pick(TYPE_VALUES); break;
      case 6: { const j = r.int(f.length); [f[i], f[j]] = [f[j]!, f[i]!]; break; }
      case 7: f[5] = b64n(r.pick(MSG_VALUES)); break;
      default: f[5] = editB64Field(f[5] ?? '', r); break;
    }
  }
  return f;
}

/** A random valid message with 1..3 random damages, mostly with a correct inner digest. */
export function plaintextMutant(r: Rng): string {
  const fields = mutateFields(fieldArray(randomFields(r)), r);
  const encoded = fields.join(':');
  const digest: DigestName = r.pick(INNER_DIGESTS);
  const roll = r.int(100);
  if (roll < 88) return `${encoded}:${innerDigest(digest, encoded)}`;
  if (roll < 91) return `${encoded}:${innerDigest(digest, encoded + 'x')}`; // stale digest
  if (roll < 93) return `${encoded}:${innerDigest(digest, encoded).slice(1)}`; // short digest
  if (roll < 95) return `${encoded}:${innerDigest(digest, encoded)}=`; // padded digest
  if (roll < 97) return `${encoded}:${innerDigest(digest, encoded)}${r.pick(['\0', '\n', '\x01', ' ', '\0junk'])}`;
  if (roll < 99) return r.pick(['\0', ' ', '\x7f']) + `${encoded}:${innerDigest(digest, encoded)}`;
  return encoded; // no digest at all
}
