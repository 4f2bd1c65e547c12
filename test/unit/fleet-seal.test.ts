// Fleet sealing's pure parts, exhaustively:
//   seal.ts         the wire form (S2.<kid>.<ts>.<nonce>.<ciphertext+tag>), the construction (HKDF
//                   from the secret with the fleet's name, AES-256-GCM, AAD = fleet name + header)
//                   pinned against an independent computation with a fixed nonce; every note type
//                   round trips and none is readable in its sealed text; every byte of the
//                   ciphertext, the tag, the nonce, the ts, the key id and the fleet name is covered
//                   (a changed one is refused, never thrown on), one spelling per sealed text; a
//                   known-plaintext splice is refused by the tag; readHeader reads without
//                   decrypting; secretName; wrong and forged keys; rollover keyrings; a
//                   20,000-mutation fuzz with a seeded PRNG
//   sealer.ts       live notes (skew bound both ways and replays judged from the header before
//                   anything is decrypted, garbage never enters the seen set, wrong kinds, own
//                   notes, bounded seen ids, rekey) and stored values (grants by key name, own
//                   expiry and PTTL; claims by key and until; member heartbeats by key)
//   notes.ts        readNote for the stored value types 'claim' and 'member'
//   key-file.ts     parseKeyFile (signing key, accepted keys with until, line-numbered errors,
//                   expired keys), readFleetKeys (missing file, group/other-readable modes)
//   bounded-ids.ts  expiry, the count bound (expired first, then oldest), the evicted counter, speed
//   redis-target.ts / redis-options.ts   Fleet_Redis forms and their ioredis options

import t from 'tap';
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Result } from '../../lib/errors/result.js';
import { fleetKey, keyId, MAX_SEALED_BYTES, MIN_KEY_BYTES, secretNames, openBody, openSealed, readHeader, seal, secretName, type Keyring } from '../../lib/fleet/seal.js';
import { parseKeyFile, readFleetKeys } from '../../lib/fleet/key-file.js';
import { MAX_SEEN, Sealer, SKEW_MS } from '../../lib/fleet/sealer.js';
import { BoundedIds } from '../../lib/fleet/bounded-ids.js';
import { parseRedisTarget, targetHosts, type RedisTarget } from '../../lib/config/redis-target.js';
import { redisOptions } from '../../lib/fleet/redis-options.js';
import { fleetKeys, readNote, type ClaimValue, type FleetNote, type FleetValue, type GrantNote, type MemberValue } from '../../lib/fleet/notes.js';

const WALL = 1_800_000_000_000;
const FLEET = 'prod';
const CLI = '10.77.0.2';
const K1 = Buffer.alloc(32, 1), K2 = Buffer.alloc(32, 2), K3 = Buffer.alloc(32, 3);
const RING: Keyring = { signing: fleetKey(K1), accepted: [] };
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A nonce: `tag` in the first byte, `n` in the last four (unique across this file's sealers). */
function nonceOf(n: number, tag = 0): Buffer {
  const b = Buffer.alloc(12);
  b[0] = tag;
  b.writeUInt32BE(n >>> 0, 8);
  return b;
}
/** The fixed nonce of the construction tests, and its spelling (the sid). */
const NONCE = Buffer.from('000102030405060708090a0b', 'hex');
const SID = NONCE.toString('base64url');
/** One counter for every Sealer of this file: no two of their texts share a nonce. */
let nonces = 0;
const fresh = () => nonceOf(nonces++, 0x5e);

const GRANT: GrantNote = {
  type: 'grant', id: 'a:k1:0', node: 'a', kind: 'spa', door: 'spa', ip: CLI, family: 4, timeout: 20, at: WALL,
  ports: [{ protocol: 'tcp', port: 22 }],
};
const KNOCK6: GrantNote = { type: 'grant', id: 'a:k1:1', node: 'a', kind: 'knock', door: 'knock', ip: 'fd77::2', family: 6, timeout: 30, at: WALL };
const NAT: GrantNote = { ...GRANT, id: 'a:k1:2', nat: { kind: 'forward', external: { protocol: 'tcp', port: 4000 }, address: '10.0.0.5', port: 3306 } };
const ONETIME: FleetNote = { type: 'onetime', node: 'a', door: 'otp', sequence: [{ protocol: 'tcp', port: 1 }, { protocol: 'udp', port: 2 }] };
const ASK: FleetNote = { type: 'ask', node: 'a', asks: [{ id: 'a.1', door: 'ecmp', src: CLI }, { id: 'a.2', door: 'ecmp', src: 'fd77::9' }] };
const HITS: FleetNote = { type: 'hits', node: 'a', answers: [{ to: 'c', id: 'c.1', hits: [{ protocol: 'tcp', port: 7400, at: WALL }, { protocol: 'udp', port: 7500, at: WALL + 5 }] }] };
const CLAIM: ClaimValue = { type: 'claim', node: 'a', key: `${FLEET}:replay:00ff`, until: WALL + 5000 };
const MEMBER: MemberValue = { type: 'member', node: 'a', since: WALL - 60_000 };
const ALL: [string, FleetValue][] = [
  ['grant (SPA)', GRANT], ['grant (knock, IPv6)', KNOCK6], ['grant (NAT)', NAT], ['onetime', ONETIME], ['ask', ASK], ['hits', HITS], ['claim', CLAIM], ['member', MEMBER],
];

/** 'ok' or the refusal: one value to compare. */
function why<T extends object, E>(r: Result<T, E>): E | 'ok' {
  return r.ok ? 'ok' : r.error;
}

/** The parts of a sealed text, split as the wire form says; `bytes`: the ciphertext and tag decoded. */
function parts(text: string) {
  const [prefix = '', kid = '', ts = '', nonce = '', ct = ''] = text.split('.');
  return { prefix, kid, ts, nonce, ct, header: text.slice(0, text.lastIndexOf('.')), bytes: Buffer.from(ct, 'base64url') };
}
const wire = (kid: string, ts: string | number, nonce: string, ct: string) => `S2.${kid}.${ts}.${nonce}.${ct}`;

/** HKDF-SHA-256 written out (RFC 5869, one block): extract with the salt, expand with the info. */
function hkdfByHand(secret: Buffer, salt: string, info: string): Buffer {
  const prk = createHmac('sha256', salt).update(secret).digest();
  return createHmac('sha256', prk).update(info).update(Buffer.from([1])).digest();
}
/** The AES key of a fleet, as documented: HKDF(secret, salt "sesame fleet 2", info "seal\0FLEET"). */
const derive = (secret: Buffer, fleet: string) => hkdfByHand(secret, 'sesame fleet 2', `seal\0${fleet}`);

/**
 * The construction, written out independently: AES-256-GCM under derive(secret, keyFleet), the
 * 12-byte nonce, AAD "aadFleet\0" + the header "S2.KID.TS.NONCE"; the tag (16 bytes) after the
 * ciphertext, base64url. With the right key this is a genuine sealed text; with another, a forgery.
 */
function forge(secret: Buffer, kid: string, fleet: string, ts: number | string, nonce: Buffer, plain: string | Buffer, o: { aadFleet?: string; keyFleet?: string; aad?: string } = {}): string {
  const header = `S2.${kid}.${ts}.${nonce.toString('base64url')}`;
  const c = createCipheriv('aes-256-gcm', derive(secret, o.keyFleet ?? fleet), nonce);
  c.setAAD(Buffer.from(o.aad ?? `${o.aadFleet ?? fleet}\0${header}`));
  const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  return `${header}.${ct.toString('base64url')}`;
}

/** Opens a text independently (the same construction); undefined if the tag is wrong. */
function decrypt(secret: Buffer, fleet: string, text: string): string | undefined {
  const p = parts(text);
  try {
    const d = createDecipheriv('aes-256-gcm', derive(secret, fleet), Buffer.from(p.nonce, 'base64url'));
    d.setAAD(Buffer.from(`${fleet}\0${p.header}`));
    d.setAuthTag(p.bytes.subarray(p.bytes.length - 16));
    return Buffer.concat([d.update(p.bytes.subarray(0, p.bytes.length - 16)), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ b[i]!));
/** GCM's keystream for a 12-byte nonce: AES-CTR from the counter block NONCE || 00000002. */
function keystream(secret: Buffer, fleet: string, nonce: Buffer, n: number): Buffer {
  return createCipheriv('aes-256-ctr', derive(secret, fleet), Buffer.concat([nonce, Buffer.from([0, 0, 0, 2])])).update(Buffer.alloc(n));
}
/**
 * A splice: the sealed text's ciphertext replaced by one that decrypts to `plain` (XOR with the
 * keystream, which anyone who knows the plaintext has for its length), its header and tag kept.
 */
function splice(text: string, plain: string, secret = K1, fleet = FLEET): string {
  const p = parts(text);
  const pt = Buffer.from(plain);
  const body = xor(pt, keystream(secret, fleet, Buffer.from(p.nonce, 'base64url'), pt.length));
  return `${p.header}.${Buffer.concat([body, p.bytes.subarray(p.bytes.length - 16)]).toString('base64url')}`;
}

/** The same character with its lowest 6-bit value bit flipped (same alphabet). */
const flipLow = (c: string, alphabet = B64URL) => alphabet[alphabet.indexOf(c) ^ 1]!;
/** A character of the alphabet other than `c` whose value differs in its top four bits. */
const flipHigh = (c: string) => B64URL[B64URL.indexOf(c) ^ 0b100000]!;

// ---------------------------------------------------------------------------------------------
// seal.ts
// ---------------------------------------------------------------------------------------------

t.test('key ids: 16 hex, from the secret alone, one per key', async (t) => {
  t.match(keyId(K1), /^[0-9a-f]{16}$/, 'the id is 16 hex digits');
  t.equal(keyId(K1), keyId(Buffer.alloc(32, 1)), 'the same secret, the same id');
  t.not(keyId(K1), keyId(K2), 'another secret, another id');
  t.not(keyId(K1), keyId(Buffer.concat([K1, Buffer.alloc(1)])), 'a longer secret, another id');
  t.not(keyId(K1), createHmac('sha256', K1).digest('hex').slice(0, 16), 'the id is not a plain hash-like digest of the key');
  t.equal(keyId(K1), createHash('sha256').update('sesame fleet key id\0').update(K1).digest('hex').slice(0, 16), 'the id: SHA-256 of a label and the key, 16 hex');
  const k = fleetKey(K1);
  t.same(k, { id: keyId(K1), secret: K1 }, 'a signing key has no until');
  t.notOk('until' in k, 'no until property at all (not until: undefined)');
  t.same(fleetKey(K2, WALL), { id: keyId(K2), secret: K2, until: WALL }, 'an accepted key carries its until');
  t.equal(fleetKey(K2, 0).until, 0, 'until 0 is kept (not dropped as falsy)');
  t.equal(MIN_KEY_BYTES, 32, 'keys are at least 256 bits');
});

t.test('seal: the wire form, and the construction pinned (HKDF, AES-256-GCM, AAD = fleet + header)', async (t) => {
  const text = seal(RING, FLEET, WALL, GRANT, NONCE);
  const p = parts(text);
  const plain = JSON.stringify(GRANT);
  t.match(text, /^S2\.[0-9a-f]{16}\.[0-9]+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/, 'S2.<16 hex>.<ts>.<16 base64url>.<base64url>');
  t.notMatch(text, /\n/, 'one line');
  t.equal(p.kid, keyId(K1), 'the key id of the signing key');
  t.equal(p.ts, String(WALL), 'the ts, in decimal');
  t.equal(p.nonce, SID, 'the nonce given, in base64url');
  t.equal(p.bytes.length, Buffer.byteLength(plain) + 16, 'the ciphertext is as long as the JSON body, and a 16-byte tag follows');
  t.equal(p.bytes.toString('base64url'), p.ct, 'the ciphertext in canonical base64url');

  // The key derivation, by hand, agrees with node's HKDF (salt and info not swapped).
  t.same(derive(K1, FLEET), Buffer.from(hkdfSync('sha256', K1, 'sesame fleet 2', `seal\0${FLEET}`, 32)), 'HKDF written out = hkdfSync(sha256, secret, "sesame fleet 2", "seal\\0FLEET")');
  t.not(derive(K1, FLEET).toString('hex'), K1.toString('hex'), 'the AES key is not the secret itself');
  t.equal(forge(K1, keyId(K1), FLEET, WALL, NONCE, plain), text, 'the whole text = AES-256-GCM(HKDF key, nonce, AAD "FLEET\\0" + header) over the JSON, computed independently');
  t.equal(decrypt(K1, FLEET, text), plain, 'opened independently: the JSON of the note');
  t.same(xor(p.bytes.subarray(0, Buffer.byteLength(plain)), keystream(K1, FLEET, NONCE, Buffer.byteLength(plain))), Buffer.from(plain), 'the ciphertext is the body XOR the GCM keystream (AES-CTR from nonce||2)');

  // The fleet name is in both the key and the associated data; the header is in the associated data.
  t.not(forge(K1, keyId(K1), FLEET, WALL, NONCE, plain, { keyFleet: 'other' }), text, 'the key of another fleet: another text');
  t.not(forge(K1, keyId(K1), FLEET, WALL, NONCE, plain, { aadFleet: 'other' }), text, 'the fleet name left out of the AAD (another one in it): another tag');
  t.not(forge(K1, keyId(K1), FLEET, WALL, NONCE, plain, { aad: p.header }), text, 'the AAD without the fleet name: another tag');
  t.not(forge(K1, keyId(K1), FLEET, WALL, NONCE, plain, { aad: `${FLEET}\0` }), text, 'the AAD without the header: another tag');
  const later = parts(seal(RING, FLEET, WALL + 1, GRANT, NONCE));
  t.same(later.bytes.subarray(0, -16), p.bytes.subarray(0, -16), '(the same key, nonce and body at another ts: the same ciphertext ...)');
  t.not(later.bytes.subarray(-16).toString('hex'), p.bytes.subarray(-16).toString('hex'), '... and another tag: the ts is authenticated, not encrypted');

  t.equal(seal(RING, FLEET, WALL, GRANT, NONCE), text, 'deterministic: the same input, the same text');
  const other = parts(seal(RING, FLEET, WALL, GRANT, nonceOf(1)));
  t.equal(other.nonce, nonceOf(1).toString('base64url'), 'another nonce, written in the header');
  const same = [...other.bytes.subarray(0, -16)].filter((b, i) => b === p.bytes[i]).length;
  t.ok(same < 8, `another nonce, another ciphertext throughout (${same} of ${other.bytes.length - 16} bytes equal by chance)`);

  const sneaky = seal(RING, FLEET, WALL, { ...GRANT, sid: 'evil', ts: 1, key: 'k', rollover: true }, NONCE);
  const o = openSealed(RING, FLEET, sneaky, WALL);
  t.ok(o.ok && o.sid === SID && o.ts === WALL && o.key === RING.signing && o.rollover === false, 'a body with its own sid, ts, key or rollover cannot override the header\'s');
  t.ok(o.ok && o.body.sid === 'evil', '(they stay in the body)');
  const signedByAccepted = seal({ signing: fleetKey(K2), accepted: [fleetKey(K1, WALL + 1)] }, FLEET, WALL, GRANT, NONCE);
  t.equal(parts(signedByAccepted).kid, keyId(K2), 'seal uses the signing key, never an accepted one');
  t.equal(decrypt(K2, FLEET, signedByAccepted), plain, '... and encrypts under it');

  // The ts: fleet time rounded to the ms, never negative.
  t.equal(parts(seal(RING, FLEET, WALL + 0.6, GRANT, NONCE)).ts, String(WALL + 1), 'ts rounded to the ms');
  t.equal(parts(seal(RING, FLEET, WALL + 0.4, GRANT, NONCE)).ts, String(WALL), 'ts rounded down');
  t.equal(parts(seal(RING, FLEET, -5, GRANT, NONCE)).ts, '0', 'a negative ts: 0');
  const r0 = openSealed(RING, FLEET, seal(RING, FLEET, 0, GRANT, NONCE), WALL);
  t.ok(r0.ok && r0.ts === 0, 'ts 0 opens as 0');
  // The nonce is 12 bytes, exactly.
  for (const n of [0, 8, 11, 13, 16]) {
    t.throws(() => seal(RING, FLEET, WALL, GRANT, Buffer.alloc(n)), RangeError, `a ${n}-byte nonce: thrown (a programming error, not a refusal)`);
  }
});

t.test('the body cannot be read in the sealed text', async (t) => {
  for (const [name, note] of ALL) {
    const plain = JSON.stringify(note);
    const text = seal(RING, FLEET, WALL, note, NONCE);
    const { bytes } = parts(text);
    // Every field name and every value of four characters or more (addresses, doors, ports, times).
    const tokens = [...new Set(plain.match(/[A-Za-z0-9:._-]{4,}/g) ?? [])];
    const shown = tokens.filter((w) => text.includes(w));
    t.same(shown, [], `${name}: none of its ${tokens.length} field names and values (${tokens.slice(0, 4).join(' ')} ...) appears in the text`);
    t.notOk(text.includes('"') || text.includes('{') || text.includes(':'), `${name}: no JSON punctuation`);
    // Nor encoded: no 4 bytes of the body among the ciphertext's bytes, no 8 characters of its base64url.
    const inBytes: number[] = [];
    const pt = Buffer.from(plain);
    for (let i = 0; i + 4 <= pt.length; i++) if (bytes.includes(pt.subarray(i, i + 4))) inBytes.push(i);
    t.same(inBytes, [], `${name}: no 4 bytes of the body in the ciphertext`);
    const encoded: string[] = [];
    for (let shift = 0; shift < 3; shift++) {
      const e = pt.subarray(shift).toString('base64url');
      for (let i = 0; i + 8 <= e.length; i += 4) if (text.includes(e.slice(i, i + 8))) encoded.push(e.slice(i, i + 8));
    }
    t.same(encoded, [], `${name}: the body's base64url is not in the text`);
  }
  t.notOk(seal(RING, FLEET, WALL, GRANT, NONCE).includes(CLI), 'the client address in particular');
  t.notOk(seal(RING, FLEET, WALL, KNOCK6, NONCE).includes('fd77'), 'an IPv6 client address too');
});

t.test('round trip: every note type sealed, then opened, gives the same note, nonce and ts', async (t) => {
  const nonceCases: [string, Buffer, number][] = [['fixed', NONCE, WALL], ['zeros', Buffer.alloc(12), 0], ['ones', Buffer.alloc(12, 0xff), WALL + 123], ['random', randomBytes(12), WALL - 1]];
  for (const [name, note] of ALL) {
    for (const [label, nonce, ts] of nonceCases) {
      const text = seal(RING, FLEET, ts, note, nonce);
      const o = openSealed(RING, FLEET, text, WALL);
      t.equal(why(o), 'ok', `${name} (nonce ${label}, ts ${ts}): opens`);
      if (!o.ok) continue;
      t.equal(o.sid, nonce.toString('base64url'), `${name}: the sid is the nonce`);
      t.equal(o.ts, ts, `${name}: ts back`);
      t.equal(o.rollover, false, `${name}: under the signing key, no rollover`);
      t.equal(o.key, RING.signing, `${name}: the signing key named`);
      t.same(o.body, note, `${name}: the body back, field for field (nothing added)`);
      t.equal(decrypt(K1, FLEET, text), JSON.stringify(note), `${name}: the same plaintext opened independently`);
      const r = readNote(o.body);
      t.ok(r.ok, `${name}: the body reads as a note`);
      if (r.ok) t.same(r.note, note, `${name}: the same note back`);
      const h = readHeader(RING, text, WALL);
      t.ok(h.ok && h.sid === o.sid && h.ts === o.ts && h.key === o.key && h.rollover === false, `${name}: readHeader says the same as openSealed`);
    }
  }
});

t.test('round trip through the Sealer: what one node seals, another reads as the same value', async (t) => {
  const a = new Sealer(RING, FLEET, 'a', fresh);
  const b = new Sealer(RING, FLEET, 'b', fresh);
  const keys = fleetKeys(FLEET);
  for (const [name, note] of ALL) {
    const text = a.seal(note, WALL);
    if (note.type === 'claim') {
      const r = b.claim(note.key, text, WALL);
      t.ok(r.ok && t.same(r.claim, note), `${name}: the same claim back`);
    } else if (note.type === 'member') {
      const r = b.member(keys, keys.member('a'), text, WALL);
      t.ok(r.ok && t.same(r.member, note), `${name}: the same member back`);
    } else {
      const r = b.live(text, WALL);
      t.ok(r.ok && t.same(r.note, note), `${name}: the same live note back`);
      if (note.type === 'grant') {
        const g = b.grant(keys, keys.grant(note.node, note.id), text, note.timeout * 1000, WALL);
        t.ok(g.ok && t.same(g.note, note), `${name}: the same stored grant back`);
      }
    }
  }
});

t.test('every byte of the ciphertext and of the tag is covered', async (t) => {
  for (const [name, note] of ALL) {
    const text = seal(RING, FLEET, WALL, note, NONCE);
    const p = parts(text);
    const n = p.bytes.length;
    const wrong: string[] = [];
    let tried = 0;
    for (let i = 0; i < n; i++) {
      const variants: Buffer[] = [];
      for (let bit = 0; bit < 8; bit++) { const v = Buffer.from(p.bytes); v[i]! ^= 1 << bit; variants.push(v); }
      for (const x of [0x00, 0xff]) if (p.bytes[i] !== x) { const v = Buffer.from(p.bytes); v[i] = x; variants.push(v); }
      variants.push(Buffer.concat([p.bytes.subarray(0, i), p.bytes.subarray(i + 1)])); // deleted
      variants.push(Buffer.concat([p.bytes.subarray(0, i), Buffer.from([p.bytes[i]!]), p.bytes.subarray(i)])); // doubled
      for (const v of variants) {
        tried++;
        const r = why(openSealed(RING, FLEET, `${p.header}.${v.toString('base64url')}`, WALL));
        if (r !== 'bad MAC') wrong.push(`${i < n - 16 ? 'ciphertext' : 'tag'} byte ${i}: ${r}`);
      }
    }
    t.same(wrong, [], `${name}: each of ${n - 16} ciphertext and 16 tag bytes: every bit flipped, zeroed, set, deleted, doubled (${tried} texts): bad MAC`);
    // The same at the level of characters of the text.
    const chars: string[] = [];
    for (let i = 0; i < p.ct.length; i++) {
      for (const v of [p.ct.slice(0, i) + flipHigh(p.ct[i]!) + p.ct.slice(i + 1), p.ct.slice(0, i) + p.ct.slice(i + 1)]) {
        const r = why(openSealed(RING, FLEET, `${p.header}.${v}`, WALL));
        if (r !== 'bad MAC') chars.push(`${i}: ${r}`);
      }
    }
    t.same(chars, [], `${name}: each of its ${p.ct.length} base64url characters changed or deleted: bad MAC`);
    for (const v of ['A', 'AAAA', `${p.ct}AAAA`, `${p.ct}${p.ct}`]) {
      const what = v.length < 5 ? JSON.stringify(v) : v === `${p.ct}${p.ct}` ? 'doubled' : 'with bytes appended';
      t.equal(why(openSealed(RING, FLEET, `${p.header}.${v}`, WALL)), 'bad MAC', `${name}: ciphertext ${what}: bad MAC`);
    }
  }
  const text = seal(RING, FLEET, WALL, GRANT, NONCE);
  const p = parts(text);
  const ct = p.bytes.subarray(0, -16), tag = p.bytes.subarray(-16);
  const otherTag = parts(seal(RING, FLEET, WALL, { ...GRANT, timeout: 21 }, NONCE)).bytes.subarray(-16);
  const cases: [string, Buffer][] = [
    ['the tag cut to 12 bytes', p.bytes.subarray(0, -4)], ['the tag cut to 4 bytes', p.bytes.subarray(0, -12)], ['no tag', ct],
    ['the tag alone', tag], ['15 bytes', p.bytes.subarray(0, 15)], ['a zero tag', Buffer.concat([ct, Buffer.alloc(16)])],
    ['the tag of another body under the same nonce', Buffer.concat([ct, otherTag])], ['the tag first', Buffer.concat([tag, ct])],
    ['16 zero bytes', Buffer.alloc(16)], ['a byte appended', Buffer.concat([p.bytes, Buffer.alloc(1)])], ['a byte prepended', Buffer.concat([Buffer.alloc(1), p.bytes])],
  ];
  for (const [label, v] of cases) t.equal(why(openSealed(RING, FLEET, `${p.header}.${v.toString('base64url')}`, WALL)), 'bad MAC', `${label}: bad MAC`);
  t.equal(why(openSealed(RING, FLEET, `${p.header}.${parts(seal(RING, FLEET, WALL, ONETIME, nonceOf(1))).ct}`, WALL)), 'bad MAC', 'the ciphertext and tag of another text: bad MAC');
});

t.test('a known-plaintext splice (AES-CTR is malleable) is refused by the tag, whatever field it changes', async (t) => {
  type Change = [string, (o: any) => void];
  const common: Change[] = [['node', (o) => { o.node = 'b'; }], ['extra field', (o) => { o.x = 1; }], ['sid added', (o) => { o.sid = 'AAAAAAAAAAAAAAAA'; }]];
  const changes: [string, FleetValue, Change[]][] = [
    ['grant', GRANT, [
      ['ip', (o) => { o.ip = '10.77.0.3'; }], ['ip (any address)', (o) => { o.ip = '0.0.0.0'; }], ['door', (o) => { o.door = 'other'; }],
      ['timeout', (o) => { o.timeout = 21; }], ['timeout (a week)', (o) => { o.timeout = 7 * 24 * 3600; }], ['at', (o) => { o.at += 1; }],
      ['at (later)', (o) => { o.at += 3_600_000; }], ['ports (port)', (o) => { o.ports[0].port = 23; }], ['ports (protocol)', (o) => { o.ports[0].protocol = 'udp'; }],
      ['ports (one more)', (o) => { o.ports.push({ protocol: 'tcp', port: 3389 }); }], ['id', (o) => { o.id = 'a:k1:9'; }], ['kind', (o) => { o.kind = 'knock'; }],
      ['type', (o) => { o.type = 'onetime'; o.sequence = o.ports; }],
    ]],
    ['grant (IPv6)', KNOCK6, [['ip', (o) => { o.ip = 'fd77::3'; }], ['family', (o) => { o.family = 4; o.ip = CLI; }], ['ports added', (o) => { o.ports = [{ protocol: 'tcp', port: 22 }]; }]]],
    ['grant (NAT)', NAT, [['nat address', (o) => { o.nat.address = '10.0.0.6'; }], ['nat port', (o) => { o.nat.port = 22; }], ['nat kind', (o) => { o.nat.kind = 'local'; }],
      ['nat removed', (o) => { delete o.nat; }]]],
    ['onetime', ONETIME, [['door', (o) => { o.door = 'otp2'; }], ['sequence', (o) => { o.sequence[1].port = 3; }], ['type', (o) => { o.type = 'grant'; }]]],
    ['ask', ASK, [['asks src', (o) => { o.asks[0].src = '10.77.0.9'; }], ['asks door', (o) => { o.asks[0].door = 'x'; }], ['asks id', (o) => { o.asks[0].id = 'a.3'; }],
      ['asks dropped', (o) => { o.asks.pop(); }]]],
    ['hits', HITS, [['answers to', (o) => { o.answers[0].to = 'd'; }], ['hit port', (o) => { o.answers[0].hits[0].port = 7401; }],
      ['hit at', (o) => { o.answers[0].hits[1].at = WALL; }], ['hit protocol', (o) => { o.answers[0].hits[0].protocol = 'udp'; }]]],
    ['claim', CLAIM, [['key', (o) => { o.key = `${FLEET}:replay:00fe`; }], ['until', (o) => { o.until += 60_000; }], ['type', (o) => { o.type = 'member'; o.since = 0; }]]],
    ['member', MEMBER, [['since', (o) => { o.since = 0; }], ['type', (o) => { o.type = 'claim'; o.key = 'k'; o.until = WALL; }]]],
  ];
  for (const [name, note, own] of changes) {
    const text = seal(RING, FLEET, WALL, note, NONCE);
    const plain = JSON.stringify(note);
    const p = parts(text);
    // What an attacker without the key has: the keystream over the length of a plaintext it knows.
    const known = xor(p.bytes.subarray(0, plain.length), Buffer.from(plain));
    t.same(known, keystream(K1, FLEET, NONCE, plain.length), `${name}: the known plaintext gives the keystream (so a splice is within reach)`);
    for (const [field, change] of [...own, ...common]) {
      const o = JSON.parse(plain);
      change(o);
      const altered = JSON.stringify(o);
      t.not(altered, plain, `${name} ${field}: the body did change`);
      // The same change sealed with the key opens: so only the tag stops the spliced one.
      t.equal(why(openSealed(RING, FLEET, seal(RING, FLEET, WALL, o, nonceOf(9)), WALL)), 'ok', `${name} ${field}: sealed with the key, the changed body opens`);
      const spliced = splice(text, altered);
      t.same(xor(parts(spliced).bytes.subarray(0, altered.length), keystream(K1, FLEET, NONCE, altered.length)), Buffer.from(altered), `${name} ${field}: the spliced ciphertext decrypts to the changed body`);
      t.equal(why(openSealed(RING, FLEET, spliced, WALL)), 'bad MAC', `${name} ${field} spliced under the old tag: bad MAC`);
    }
    const same = JSON.parse(plain);
    t.equal(why(openSealed(RING, FLEET, splice(text, JSON.stringify(Object.fromEntries(Object.entries(same).reverse()))), WALL)), 'bad MAC', `${name}: the same fields in another order: bad MAC`);
    t.equal(why(openSealed(RING, FLEET, splice(text, JSON.stringify(same, null, 1)), WALL)), 'bad MAC', `${name}: the same JSON spaced out: bad MAC`);
    t.equal(splice(text, plain), text, `${name}: (the splice of the same body is the text itself: the helper is right)`);
  }
});

t.test('the header is covered: the key id, the ts, the nonce, the prefix; one spelling per text', async (t) => {
  const text = seal(RING, FLEET, WALL, GRANT, NONCE);
  const p = parts(text);
  const both: Keyring = { signing: fleetKey(K1), accepted: [fleetKey(K2, WALL + 3_600_000)] };
  const open = (s: string, ring = RING) => why(openSealed(ring, FLEET, s, WALL));
  // The key id: every hex digit changed, no key has that id.
  for (let i = 0; i < 16; i++) {
    const c = p.kid[i]!;
    const kid = p.kid.slice(0, i) + (c === '0' ? '1' : '0') + p.kid.slice(i + 1);
    t.equal(open(wire(kid, p.ts, p.nonce, p.ct)), 'unknown key', `key id digit ${i} changed: unknown key`);
  }
  t.equal(open(wire(p.kid.toUpperCase(), p.ts, p.nonce, p.ct)), 'not sealed', 'the key id in capitals: not sealed (16 lower-case hex digits only)');
  t.equal(open(wire(`${p.kid}0`, p.ts, p.nonce, p.ct)), 'not sealed', 'a digit added to the key id: not sealed');
  t.equal(open(wire(p.kid.slice(1), p.ts, p.nonce, p.ct)), 'not sealed', 'a digit short: not sealed');
  t.equal(open(wire('', p.ts, p.nonce, p.ct)), 'not sealed', 'no key id: not sealed');
  t.equal(open(wire(keyId(K2), p.ts, p.nonce, p.ct), both), 'bad MAC', 'relabelled to another key of the ring: bad MAC (opened with that key)');
  // The id is bound in the AAD: the same secret under another id does not open.
  const twin: Keyring = { signing: { id: 'ffffffffffffffff', secret: K1 }, accepted: [] };
  t.equal(open(wire('ffffffffffffffff', p.ts, p.nonce, p.ct), twin), 'bad MAC', 'the same secret, another key id: bad MAC (the id is in the AAD)');
  t.equal(open(forge(K1, 'ffffffffffffffff', FLEET, WALL, NONCE, JSON.stringify(GRANT)), twin), 'ok', '(sealed under that id, it opens: the test can tell)');
  // And the other way: the AES key comes from the secret, whatever the id says. (A fleet of its
  // own, sealed and named with the true K1 first: whatever derive() keeps stays out of the rest.)
  const imp = 'impostor-fleet';
  const mine = seal(RING, imp, WALL, GRANT, NONCE);
  const myName = secretName(RING, imp, 'tcp:1');
  const impostor: Keyring = { signing: { id: keyId(K1), secret: K2 }, accepted: [] };
  t.equal(why(openSealed(impostor, imp, mine, WALL)), 'bad MAC', 'a key named with K1\'s id but holding another secret does not open K1\'s text');
  t.not(secretName(impostor, imp, 'tcp:1'), myName, '... nor names secrets as K1 does');
  t.equal(decrypt(K2, imp, mine), undefined, '(independently: K2 does not open it)');

  // The ts: every digit changed, and nearby values: bad MAC; spellings of the same number: not sealed.
  const tsWrong: string[] = [];
  for (let i = 0; i < p.ts.length; i++) {
    for (const d of '0123456789') {
      if (d === p.ts[i] || (i === 0 && d === '0')) continue;
      const r = open(wire(p.kid, p.ts.slice(0, i) + d + p.ts.slice(i + 1), p.nonce, p.ct));
      if (r !== 'bad MAC') tsWrong.push(`${i}=${d}: ${r}`);
    }
  }
  t.same(tsWrong, [], `each of the ${p.ts.length} ts digits changed to each other digit: bad MAC`);
  for (const ts of [WALL + 1, WALL - 1, WALL + SKEW_MS, 0, '9999999999999999']) t.equal(open(wire(p.kid, ts, p.nonce, p.ct)), 'bad MAC', `ts ${ts}: bad MAC`);
  for (const ts of [`0${p.ts}`, `+${p.ts}`, `${p.ts}.0`, '1.8e12', `-${p.ts}`, ` ${p.ts}`, `${p.ts} `, '', '0x1a', `${'1'.repeat(17)}`, 'NaN', 'Infinity']) {
    t.equal(open(wire(p.kid, ts, p.nonce, p.ct)), 'not sealed', `ts ${JSON.stringify(ts)}: not sealed`);
  }

  // The nonce: every position changed to every other character of the alphabet: bad MAC.
  const nWrong: string[] = [];
  let nTried = 0;
  for (let i = 0; i < 16; i++) {
    for (const c of B64URL) {
      if (c === p.nonce[i]) continue;
      nTried++;
      const r = open(wire(p.kid, p.ts, p.nonce.slice(0, i) + c + p.nonce.slice(i + 1), p.ct));
      if (r !== 'bad MAC') nWrong.push(`${i}=${c}: ${r}`);
    }
  }
  t.same(nWrong, [], `the nonce: each of 16 positions changed to each of 63 other characters (${nTried} texts): bad MAC`);
  t.equal(open(wire(p.kid, p.ts, nonceOf(1).toString('base64url'), p.ct)), 'bad MAC', 'another text\'s nonce: bad MAC');
  for (const [label, n] of [['15 characters', p.nonce.slice(1)], ['17 characters', `${p.nonce}A`], ['padded', `${p.nonce.slice(0, 15)}=`], ['12 bytes in hex', NONCE.toString('hex')],
    ['standard base64', `${p.nonce.slice(0, 14)}+/`], ['empty', ''], ['a space', ` ${p.nonce.slice(1)}`], ['a "!"', `!${p.nonce.slice(1)}`], ['16 bytes', Buffer.alloc(16).toString('base64url')]] as const) {
    t.equal(open(wire(p.kid, p.ts, n, p.ct)), 'not sealed', `a nonce ${label}: not sealed`);
  }

  // The prefix and the number of parts.
  for (const prefix of ['S1.', 's2.', 'S2:', 'X2.', '', ' S2.', 'S3.', 'S22.', 'S2..']) {
    t.equal(open(prefix + text.slice(3)), 'not sealed', `prefix ${JSON.stringify(prefix)}: not sealed`);
  }
  for (const [label, s] of [['a part appended', `${text}.AAAA`], ['a dot appended', `${text}.`], ['a dot doubled', text.replace('.', '..')], ['the ts dropped', wire(p.kid, p.nonce, p.ct, '').slice(0, -1)]] as const) {
    t.equal(open(s), 'not sealed', `${label}: not sealed`);
  }

  // One spelling per sealed text (a claim compares texts): node's base64url decoder skips what it
  // does not know, folds '+' '/', ignores '=', a dangling character and a last character's spare
  // bits. Those that reach the decoder are refused as bad MAC, the rest as not sealed.
  const spelt: string[] = [];
  for (const [, note] of ALL) {
    for (const pad of ['', 'x', 'xx']) {
      const s = parts(seal(RING, FLEET, WALL, { ...note, pad }, NONCE));
      if (s.ct.length % 4 === 0) continue;
      const last = s.ct.length - 1;
      const v = s.ct.slice(0, last) + flipLow(s.ct[last]!);
      if (!Buffer.from(v, 'base64url').equals(s.bytes)) continue;
      spelt.push(open(wire(s.kid, s.ts, s.nonce, v)));
    }
  }
  t.ok(spelt.length >= 8, `texts whose last character has spare bits: ${spelt.length}`);
  t.same([...new Set(spelt)], ['bad MAC'], 'a spare bit of the last character changed (the same bytes decoded): bad MAC');
  const last = p.ct.length - 1;
  // A dangling character (a quad of one) decodes to nothing: only after a length of 4k.
  const whole = ['', 'x', 'xx'].map((pad) => parts(seal(RING, FLEET, WALL, { ...GRANT, pad }, NONCE))).find((q) => q.ct.length % 4 === 0)!;
  t.ok(Buffer.from(`${whole.ct}A`, 'base64url').equals(whole.bytes), 'a dangling character appended: the same bytes decoded ...');
  t.equal(open(wire(whole.kid, whole.ts, whole.nonce, `${whole.ct}A`)), 'bad MAC', '... refused: bad MAC');
  const sameBytes: [string, string, string][] = [
    // The header is read without scanning the ciphertext; its spelling is judged when it is opened.
    ['padding appended', `${p.ct}${'='.repeat((4 - (p.ct.length % 4)) % 4 || 4)}`, 'bad MAC'],
    ['a space inserted', `${p.ct.slice(0, 5)} ${p.ct.slice(5)}`, 'bad MAC'],
    ['a "!" inserted', `${p.ct.slice(0, 5)}!${p.ct.slice(5)}`, 'bad MAC'],
    ['standard base64 alphabet', /[-_]/.test(p.ct) ? p.ct.replace(/-/g, '+').replace(/_/g, '/') : `${p.ct.slice(0, last)}+`, 'bad MAC'],
  ];
  for (const [label, v, want] of sameBytes) {
    t.not(v, p.ct, `ciphertext ${label}: the text differs`);
    if (label !== 'standard base64 alphabet' || /[-_]/.test(p.ct)) t.ok(Buffer.from(v, 'base64url').equals(p.bytes), `ciphertext ${label}: ... though it decodes to the same bytes`);
    t.equal(open(wire(p.kid, p.ts, p.nonce, v)), want, `ciphertext ${label}: ${want}`);
  }
});

t.test('readHeader: the header alone, nothing decrypted; openBody: the tag, then the body', async (t) => {
  const U = WALL + 3_600_000;
  const ring: Keyring = { signing: fleetKey(K1), accepted: [fleetKey(K2, U)] };
  const text = seal(ring, FLEET, WALL, GRANT, NONCE);
  const h = readHeader(ring, text, WALL);
  t.ok(h.ok && h.key === ring.signing && h.ts === WALL && h.sid === SID && h.rollover === false, 'the key, the ts, the nonce as sid, no rollover');
  t.same(Object.keys(h).sort(), ['key', 'ok', 'rollover', 'sid', 'ts'], 'nothing of the body');
  const fromK2 = seal({ signing: fleetKey(K2), accepted: [] }, FLEET, WALL - 7, GRANT, nonceOf(3));
  const h2 = readHeader(ring, fromK2, WALL);
  t.ok(h2.ok && h2.key === ring.accepted[0] && h2.rollover === true && h2.ts === WALL - 7, 'under an accepted key: that key, rollover');
  // Garbage after a good header reads as a header: the ciphertext is not looked at.
  const garbage = `${parts(text).header}.${Buffer.alloc(40, 7).toString('base64url')}`;
  const hg = readHeader(ring, garbage, WALL);
  t.ok(hg.ok && hg.sid === SID && hg.ts === WALL, 'a good header over garbage: read');
  if (hg.ok) t.equal(why(openBody(hg, FLEET, garbage)), 'bad MAC', '... and openBody refuses it: bad MAC');
  t.equal(why(readHeader(ring, `${parts(text).header}.AAAA`, WALL)), 'ok', 'a 3-byte ciphertext: the header still reads (openBody judges the length)');
  t.equal(why(readHeader(ring, `${parts(text).header}.`, WALL)), 'not sealed', 'no ciphertext at all: not sealed');
  // Its refusals, each on a text whose ciphertext is garbage.
  const junk = Buffer.alloc(32, 9).toString('base64url');
  t.equal(why(readHeader(ring, wire(keyId(K3), WALL, SID, junk), WALL)), 'unknown key', 'unknown key');
  t.equal(why(readHeader(ring, wire(keyId(K2), WALL, SID, junk), U)), 'key expired', 'key expired (at its until)');
  t.equal(why(readHeader(ring, wire(keyId(K2), WALL, SID, junk), U - 1)), 'ok', '(1 ms before: read)');
  t.equal(why(readHeader(ring, `S2.${'x'.repeat(MAX_SEALED_BYTES)}`, WALL)), 'too long', 'too long');
  t.equal(why(readHeader(ring, 'S1.x', WALL)), 'not sealed', 'not sealed');
  t.equal(why(readHeader(ring, wire(keyId(K1), 0, SID, junk), WALL)), 'ok', 'readHeader judges no skew (the Sealer does): ts 0 reads');
  // openBody with the header of the text: the same verdict as openSealed.
  if (h.ok) {
    const o = openBody(h, FLEET, text);
    t.ok(o.ok && t.same(o.body, GRANT) && o.sid === SID && o.key === ring.signing, 'openBody: the body, with the header');
    t.equal(why(openBody(h, 'other', text)), 'bad MAC', 'openBody for another fleet: bad MAC');
  }
  if (h2.ok) t.equal(why(openBody(h2, FLEET, fromK2)), 'ok', 'openBody under an accepted key');
});

t.test('a good tag on a bad body: bad body (only a key holder can get there)', async (t) => {
  const kid = keyId(K1);
  const ok = (body: string | Buffer) => why(openSealed(RING, FLEET, forge(K1, kid, FLEET, WALL, NONCE, body), WALL));
  t.equal(ok('{}'), 'ok', 'the smallest body: {} (a note or not is the Sealer\'s question)');
  t.equal(ok(' {"a":1} '), 'ok', 'JSON with spaces around');
  t.equal(ok(''), 'bad body', 'an empty plaintext (the tag alone): bad body');
  const bad = ['{', 'null', '[]', '[{}]', '1', '"s"', 'true', '\ufeff{}', '{}x', '{"a":1,}', "{'a':1}", 'NaN'];
  for (const body of bad) t.equal(ok(body), 'bad body', `${JSON.stringify(body)}: bad body`);
  // Bytes that are not UTF-8 are read with replacement characters (the tag already vouched for them).
  const invalid = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
  const o = openSealed(RING, FLEET, forge(K1, kid, FLEET, WALL, NONCE, invalid), WALL);
  t.ok(o.ok && o.body.a === '\ufffd', 'a body with a byte that is no UTF-8: read, as U+FFFD');
  t.equal(why(openSealed(RING, FLEET, forge(K2, kid, FLEET, WALL, NONCE, '{'), WALL)), 'bad MAC', 'a bad body under a bad tag: bad MAC (the tag comes first)');
  t.equal(why(new Sealer(RING, FLEET, 'b', fresh).live(forge(K1, kid, FLEET, WALL, NONCE, '{"type":"grant"}'), WALL)), 'malformed', 'a good tag on an object that is no note: malformed (Sealer)');
});

t.test('keys: unknown key, a forgery under the right key id, another fleet', async (t) => {
  const text = seal(RING, FLEET, WALL, GRANT, NONCE);
  const plain = JSON.stringify(GRANT);
  const other: Keyring = { signing: fleetKey(K2), accepted: [] };
  t.equal(why(openSealed(other, FLEET, text, WALL)), 'unknown key', 'a node with another key: unknown key');
  t.equal(why(openSealed(RING, FLEET, seal(other, FLEET, WALL, GRANT, NONCE), WALL)), 'unknown key', 'sealed with another key: unknown key');
  const forged = forge(K2, keyId(K1), FLEET, WALL, NONCE, plain);
  t.not(forged, text, 'a forgery: the right key id, encrypted with another key');
  t.equal(why(openSealed(RING, FLEET, forged, WALL)), 'bad MAC', 'the forgery: bad MAC');
  const altered = JSON.stringify({ ...GRANT, ip: '0.0.0.0' });
  t.equal(why(openSealed(RING, FLEET, forge(K2, keyId(K1), FLEET, WALL, NONCE, altered), WALL)), 'bad MAC', 'a forged body under the right key id: bad MAC');
  t.equal(why(openSealed(RING, FLEET, forge(K1, keyId(K1), FLEET, WALL, NONCE, altered), WALL)), 'ok', '(the same made with the right key opens: the test can tell)');
  // The raw secret used as the AES key (no HKDF) does not open either.
  const raw = createCipheriv('aes-256-gcm', K1, NONCE);
  raw.setAAD(Buffer.from(`${FLEET}\0${parts(text).header}`));
  const rawCt = Buffer.concat([raw.update(plain), raw.final(), raw.getAuthTag()]);
  t.equal(why(openSealed(RING, FLEET, `${parts(text).header}.${rawCt.toString('base64url')}`, WALL)), 'bad MAC', 'the secret itself as the AES key (no HKDF): bad MAC');
  for (const fleet of ['prod2', 'Prod', 'prod ', '', 'prod\0', 'other', 'pro', `${FLEET}\0S2.`]) {
    t.equal(why(openSealed(RING, fleet, text, WALL)), 'bad MAC', `fleet ${JSON.stringify(fleet)}: bad MAC`);
  }
  // Each half of the fleet binding alone is enough to refuse.
  t.equal(why(openSealed(RING, FLEET, forge(K1, keyId(K1), FLEET, WALL, NONCE, plain, { keyFleet: 'other' }), WALL)), 'bad MAC', 'encrypted under another fleet\'s key, this fleet in the AAD: bad MAC');
  t.equal(why(openSealed(RING, FLEET, forge(K1, keyId(K1), FLEET, WALL, NONCE, plain, { aadFleet: 'other' }), WALL)), 'bad MAC', 'this fleet\'s key, another fleet in the AAD: bad MAC');
  const b = new Sealer(RING, 'other', 'b', fresh);
  t.equal(why(b.live(text, WALL)), 'bad MAC', 'a Sealer of another fleet refuses it: bad MAC');
  t.equal(b.seen.size, 0, '... and remembers nothing of it');
  t.equal(why(new Sealer(other, FLEET, 'b', fresh).live(text, WALL)), 'unknown key', 'a Sealer with another key: unknown key');
});

t.test('secretName: a keyed name, per ring, fleet and text; 32 hex', async (t) => {
  const text = 'tcp:1,udp:2';
  const name = secretName(RING, FLEET, text);
  t.match(name, /^[0-9a-f]{32}$/, '32 hex digits');
  t.equal(secretName(RING, FLEET, text), name, 'deterministic');
  t.equal(secretName({ signing: fleetKey(Buffer.alloc(32, 1)), accepted: [] }, FLEET, text), name, 'the same key in another ring object: the same name');
  const namesKey = hkdfByHand(K1, 'sesame fleet 2', `names\0${FLEET}`);
  t.equal(name, createHmac('sha256', namesKey).update(text).digest('hex').slice(0, 32), 'HMAC-SHA-256 under HKDF(secret, "sesame fleet 2", "names\\0FLEET"), computed independently');
  t.not(namesKey.toString('hex'), derive(K1, FLEET).toString('hex'), 'the naming key is not the sealing key');
  t.not(secretName(RING, 'other', text), name, 'another fleet, another name');
  t.not(secretName(RING, 'Prod', text), name, 'fleet names are compared exactly');
  t.not(secretName({ signing: fleetKey(K2), accepted: [] }, FLEET, text), name, 'another key, another name');
  for (const other of ['tcp:1,udp:3', 'tcp:1', '', `${text} `, 'TCP:1,UDP:2', 'udp:2,tcp:1']) t.not(secretName(RING, FLEET, other), name, `text ${JSON.stringify(other)}: another name`);
  t.equal(secretName({ signing: fleetKey(K1), accepted: [fleetKey(K2, WALL)] }, FLEET, text), name, 'accepted keys do not change it (the sealing key names)');
  // Nothing that can be tried offline: not a plain hash, not an HMAC under the raw secret.
  t.not(name, createHash('sha256').update(text).digest('hex').slice(0, 32), 'not a plain SHA-256 of the text');
  t.not(name, createHmac('sha256', K1).update(text).digest('hex').slice(0, 32), 'not an HMAC under the raw secret');
  t.notOk(name.includes(Buffer.from(text).toString('hex').slice(0, 8)), 'the text is not in it');
  const many = new Set(Array.from({ length: 2000 }, (_, i) => secretName(RING, FLEET, `tcp:${i}`)));
  t.equal(many.size, 2000, '2,000 texts, 2,000 names');
  // The Sealer's: its ring and fleet; a rekey changes it.
  const s = new Sealer(RING, FLEET, 'a', fresh);
  t.equal(s.secretName(text), name, 'Sealer.secretName: the same as secretName(ring, fleet, text)');
  t.equal(new Sealer(RING, 'other', 'a', fresh).secretName(text), secretName(RING, 'other', text), 'Sealer.secretName: its own fleet');
  s.rekey({ signing: fleetKey(K2), accepted: [fleetKey(K1, WALL)] });
  t.equal(s.secretName(text), secretName({ signing: fleetKey(K2), accepted: [] }, FLEET, text), 'after rekey: the new sealing key names');
  // A one-time sequence's claim key is `NAME:onetime:DOOR:secretName(sequence)`, and the claim is
  // what keeps a sequence used once across the fleet. During a rollover (docs/fleet.md, step 2)
  // nodes that switched seal with the new key while the others still seal with the old one: they
  // must still look for the same claim.
  const U = WALL + 3_600_000;
  const notYet: Keyring = { signing: fleetKey(K1), accepted: [fleetKey(K2, U)] };
  const switched: Keyring = { signing: fleetKey(K2), accepted: [fleetKey(K1, U)] };
  // Each side claims under its sealing key's name and checks the names under its other keys.
  t.ok(secretNames(switched, FLEET, text, WALL).includes(secretName(notYet, FLEET, text)), "a switched node checks the name a node not yet switched claims under");
  t.ok(secretNames(notYet, FLEET, text, WALL).includes(secretName(switched, FLEET, text)), '... and the other way round');
  t.equal(secretNames(switched, FLEET, text, WALL)[0], secretName(switched, FLEET, text), 'the sealing key\'s name first (the one claimed)');
  t.equal(secretNames(switched, FLEET, text, U).length, 1, 'an accepted key past its time names nothing');
});

t.test('rollover: accepted keys open until their time; both sides of a key change read each other', async (t) => {
  const U = WALL + 3_600_000;
  const oldNode: Keyring = { signing: fleetKey(K1), accepted: [fleetKey(K2, U)] }; // has the new key, still seals with the old
  const newNode: Keyring = { signing: fleetKey(K2), accepted: [fleetKey(K1, U)] }; // seals with the new, accepts the old
  const fromOld = seal(oldNode, FLEET, WALL, GRANT, nonceOf(1));
  const fromNew = seal(newNode, FLEET, WALL, GRANT, nonceOf(2));
  t.equal(parts(fromOld).kid, keyId(K1), 'the old node seals with the old key');
  t.equal(parts(fromNew).kid, keyId(K2), 'the new node seals with the new key');
  const o1 = openSealed(newNode, FLEET, fromOld, WALL);
  t.ok(o1.ok && o1.rollover === true && o1.key.id === keyId(K1), 'old key on the new node: opens, marked rollover');
  t.ok(o1.ok && t.same(o1.body, GRANT), 'old key on the new node: the same body');
  const o2 = openSealed(oldNode, FLEET, fromNew, WALL);
  t.ok(o2.ok && o2.rollover === true, 'new key on a node where it is only accepted: opens, marked rollover');
  const o3 = openSealed(newNode, FLEET, fromNew, WALL);
  t.ok(o3.ok && o3.rollover === false, 'new key on the new node: no rollover');
  t.equal(why(openSealed(newNode, FLEET, fromOld, U - 1)), 'ok', 'before until: opens');
  t.equal(why(openSealed(newNode, FLEET, fromOld, U)), 'key expired', 'at until: over (as the key file counts it)');
  t.equal(why(openSealed(newNode, FLEET, fromOld, U + 1)), 'key expired', 'after until: key expired');
  t.equal(why(openSealed(oldNode, FLEET, fromNew, U + 1)), 'key expired', 'the new key only accepted on the old node: expired there too after until');
  t.equal(why(openSealed(newNode, FLEET, fromNew, U + 1e9)), 'ok', 'the signing key never expires');
  t.equal(why(openSealed({ signing: fleetKey(K2), accepted: [] }, FLEET, fromOld, WALL)), 'unknown key', 'the old key dropped from the ring: unknown key');
  const many: Keyring = { signing: fleetKey(K3), accepted: [fleetKey(K1, U), fleetKey(K2, U + 1000)] };
  t.equal(why(openSealed(many, FLEET, fromOld, U + 500)), 'key expired', 'two accepted keys: each judged by its own until (K1 over)');
  t.equal(why(openSealed(many, FLEET, fromNew, U + 500)), 'ok', 'two accepted keys: each judged by its own until (K2 not yet)');
  const forgery = forge(K3, keyId(K1), FLEET, WALL, nonceOf(1), JSON.stringify(GRANT));
  t.equal(why(openSealed(newNode, FLEET, forgery, U + 1)), 'key expired', 'an expired key is refused before its tag is checked');
  t.equal(why(openSealed(newNode, FLEET, forgery, U - 1)), 'bad MAC', '(the same forgery before until: bad MAC)');
  t.equal(why(openSealed(newNode, FLEET, `${parts(fromOld).header}.${'A'.repeat(40)}`, U)), 'key expired', 'garbage under an expired key: key expired');

  // Sealer.rekey: the new ring seals and judges from then on; ids seen are kept.
  const a = new Sealer(oldNode, FLEET, 'a', fresh);
  const b = new Sealer(oldNode, FLEET, 'b', fresh);
  const note = a.seal(GRANT, WALL);
  t.equal(why(b.live(note, WALL)), 'ok', 'before the rekey: heard');
  a.rekey(newNode);
  b.rekey({ signing: fleetKey(K2), accepted: [] });
  t.equal(parts(a.seal(GRANT, WALL)).kid, keyId(K2), 'after rekey the new signing key seals');
  t.equal(why(b.live(a.seal(GRANT, WALL), WALL)), 'ok', 'after rekey: the new key heard');
  t.equal(why(b.live(note, WALL)), 'unknown key', 'after rekey without the old key: its notes are unknown');
  b.rekey(newNode);
  t.equal(why(b.live(note, WALL)), 'replayed', 'rekey keeps the ids seen: an old note heard before is still a replay');
});

t.test('truncations, junk and size: refused with a reason, never thrown', async (t) => {
  for (const [name, note] of ALL) {
    const text = seal(RING, FLEET, WALL, note, NONCE);
    const wrong: string[] = [];
    for (let n = 0; n < text.length; n++) {
      const r = why(openSealed(RING, FLEET, text.slice(0, n), WALL));
      if (r !== 'not sealed' && r !== 'bad MAC') wrong.push(`first ${n}: ${r}`);
      const s = why(openSealed(RING, FLEET, text.slice(n + 1), WALL));
      if (s !== 'not sealed') wrong.push(`from ${n + 1}: ${s}`);
    }
    t.same(wrong, [], `${name}: every truncation of its ${text.length} characters, at either end: not sealed or bad MAC`);
  }
  const kid = keyId(K1);
  const head = `S2.${kid}.${WALL}.${SID}`;
  const junk = ['', 'S', 'S2', 'S2.', 'S2..', 'S2....', `S2.${kid}`, `S2.${kid}.`, `S2.${kid}.${WALL}`, `S2.${kid}.${WALL}.`, head, `${head}.`, `${head}.A`, `${head}.AAAA`,
    `${head}.${'A'.repeat(22)}`, `S2.${kid}.${WALL}.\ud800.AAAA`, `${head}.\ud800`, `${head}.\u00e9AAA`, '\u0000', 'null', '{}', `S1.${kid}.${'A'.repeat(43)}.{}`,
    `${head}.${'A'.repeat(10_000)}`, `${head}.${'_'.repeat(200_000)}`, `S2.${kid}.${WALL}.${'.'.repeat(20)}`];
  for (const j of junk) {
    let r: string;
    try { r = why(openSealed(RING, FLEET, j, WALL)); } catch (err) { r = `threw ${(err as Error).message}`; }
    t.ok(['not sealed', 'unknown key', 'bad MAC'].includes(r), `${JSON.stringify(j.slice(0, 60))}: ${r}`);
  }
  // Size: a sealed text of exactly MAX_SEALED_BYTES opens; one more byte of body is refused unread.
  // (base64url lengths of 4k+1 do not exist, so the ts's digits are chosen to make the sum fit.)
  const lengthOf = (ts: number, pad: number) => `S2.${kid}.${ts}.${SID}.`.length + Math.ceil((JSON.stringify({ pad: '' }).length + pad + 16) * 4 / 3);
  let fit: [number, number] | undefined;
  for (const ts of [WALL, 100_000_000_000, 10_000_000_000_000, 100_000_000_000_000]) {
    const est = Math.floor(((MAX_SEALED_BYTES - `S2.${kid}.${ts}.${SID}.`.length) * 3) / 4) - 26;
    for (let pad = est - 4; pad <= est + 4 && !fit; pad++) if (lengthOf(ts, pad) === MAX_SEALED_BYTES) fit = [ts, pad];
    if (fit) break;
  }
  t.ok(fit, 'a ts and a body that make a text of exactly the limit');
  if (fit) {
    const [ts, pad] = fit;
    const full = seal(RING, FLEET, ts, { pad: 'p'.repeat(pad) }, NONCE);
    t.equal(full.length, MAX_SEALED_BYTES, 'a text of exactly the limit');
    t.equal(why(openSealed(RING, FLEET, full, WALL)), 'ok', 'at the limit: opens');
    const over = seal(RING, FLEET, ts, { pad: 'p'.repeat(pad + 1) }, NONCE);
    t.ok(over.length > MAX_SEALED_BYTES, `one byte more of body: ${over.length - MAX_SEALED_BYTES} character(s) over`);
    t.equal(why(openSealed(RING, FLEET, over, WALL)), 'too long', 'over: too long, though its tag is good');
    t.equal(why(new Sealer(RING, FLEET, 'b', fresh).live(over, WALL)), 'too long', 'over, on the channel: too long');
  }
  t.equal(why(openSealed(RING, FLEET, 'x'.repeat(MAX_SEALED_BYTES + 1), WALL)), 'too long', 'junk over the limit: too long (before any other check)');
  t.equal(MAX_SEALED_BYTES, 256 * 1024, 'the limit is 256 KiB');
});

t.test('fuzz: 20,000 mutated sealed texts never throw, and none but the sealed ones open', async (t) => {
  // mulberry32: an LCG on doubles loses its low bits past 2^53 and degenerates.
  let seed = 20_250_601;
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return Math.floor((((x ^ (x >>> 14)) >>> 0) / 4294967296) * n);
  };
  const ring: Keyring = { signing: fleetKey(K1), accepted: [fleetKey(K2, WALL + 3_600_000)] };
  const samples = ALL.map(([, n], i) => seal(i % 2 ? ring : { signing: fleetKey(K2), accepted: [] }, FLEET, WALL + i, n, nonceOf(i, 0xf0)));
  const originals = new Set(samples);
  const alphabet = ['.', '=', '!', ' ', '+', '/', '-', '_', 'a', 'A', '0', '1', '9', 'f', 'z', '"', '{', '}', ',', ':', '[', ']', '\\', '\u0000', '\u00e9', '\ud800', '\n'];
  let threw = 0, accepted = 0, unchanged = 0, changed = 0, ctChanged = 0, headerChanged = 0, ctOnlyAccepted = 0, ctOnly = 0;
  const reasons = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const orig = samples[rnd(samples.length)]!;
    let s = orig;
    const onlyCt = rnd(4) === 0; // a quarter: mutations confined to the ciphertext and tag
    const ctStart = orig.lastIndexOf('.') + 1;
    for (let m = 1 + rnd(3); m > 0; m--) {
      const at = onlyCt ? ctStart + rnd(Math.max(1, s.length - ctStart)) : rnd(s.length + 1);
      const ch = alphabet[rnd(alphabet.length)]!;
      switch (rnd(7)) {
        case 0: s = s.slice(0, at) + ch + s.slice(at + 1); break; // replace
        case 1: s = s.slice(0, at) + s.slice(at + 1); break; // delete
        case 2: s = s.slice(0, at) + ch + s.slice(at); break; // insert
        case 3: s = onlyCt ? s.slice(0, Math.max(at, ctStart)) : s.slice(0, at); break; // truncate
        case 4: { const j = onlyCt ? at : rnd(s.length); s = s.slice(0, Math.min(at, j)) + s.slice(Math.max(at, j), Math.max(at, j) + 1) + s.slice(Math.min(at, j) + 1); break; } // a char copied over another
        case 5: s = s.slice(0, at) + String.fromCharCode(s.charCodeAt(at) ^ (1 << rnd(7))) + s.slice(at + 1); break; // bit flip
        default: if (!onlyCt) s = s.includes(keyId(K1)) ? s.replace(keyId(K1), keyId(K2)) : s.replace(keyId(K2), keyId(K1)); // the other key's id
      }
    }
    if (onlyCt) ctOnly++;
    let r;
    try { r = openSealed(ring, FLEET, s, WALL); } catch (err) { threw++; t.fail(`threw on ${JSON.stringify(s)}: ${(err as Error).message}`); continue; }
    reasons.set(why(r), (reasons.get(why(r)) ?? 0) + 1);
    if (!r.ok) continue;
    accepted++;
    if (originals.has(s)) { unchanged++; continue; }
    changed++;
    const p = parts(s), q = parts(orig);
    if (p.ct !== q.ct) ctChanged++;
    if (p.header !== q.header) headerChanged++;
    if (onlyCt) ctOnlyAccepted++;
  }
  t.equal(threw, 0, 'openSealed never threw');
  t.equal(ctChanged, 0, 'no text whose ciphertext or tag differs from a sealed one opened');
  t.equal(headerChanged, 0, 'no text whose prefix, key id, ts or nonce differs opened');
  t.ok(ctOnly > 4000, `${ctOnly} texts mutated in the ciphertext only`);
  t.equal(ctOnlyAccepted, 0, 'of those, none opened');
  t.ok((reasons.get('bad MAC') ?? 0) > 5000 && (reasons.get('not sealed') ?? 0) > 1000 && (reasons.get('unknown key') ?? 0) > 0,
    `refusals of every kind seen: ${JSON.stringify(Object.fromEntries(reasons))}`);
  t.notOk(reasons.has('bad body'), 'no mutation reached the JSON parser');
  t.ok(unchanged > 0, `mutations that came back to the sealed text open: ${unchanged}`);
  t.equal(changed, 0, `no text differing from a sealed one opened (${changed} of ${accepted} opened texts differ)`);
});

// ---------------------------------------------------------------------------------------------
// sealer.ts
// ---------------------------------------------------------------------------------------------

const nodeA = () => new Sealer(RING, FLEET, 'a', fresh);
const nodeB = (maxSeen?: number) => new Sealer(RING, FLEET, 'b', fresh, maxSeen);

t.test('Sealer.seal: one nonce asked per text, its spelling the sid; ts rounded', async (t) => {
  const asked: Buffer[] = [];
  const a = new Sealer(RING, FLEET, 'a', () => { const n = nonceOf(asked.length, 0x77); asked.push(n); return n; });
  const sids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const o = openSealed(RING, FLEET, a.seal(GRANT, WALL), WALL);
    if (o.ok) sids.push(o.sid);
  }
  t.equal(asked.length, 40, '40 seals, 40 nonces asked');
  t.same(sids, asked.map((n) => n.toString('base64url')), 'each text\'s sid: its nonce');
  t.equal(new Set(sids).size, 40, '40 sids');
  t.equal(a.seal(GRANT, WALL), seal(RING, FLEET, WALL, GRANT, nonceOf(40, 0x77)), 'Sealer.seal = seal(ring, fleet, now, body, nonce())');
  const r = openSealed(RING, FLEET, a.seal(GRANT, WALL + 0.6), WALL);
  t.ok(r.ok && r.ts === WALL + 1, 'ts: fleet time rounded to the ms');
  const random = new Sealer(RING, FLEET, 'a', () => randomBytes(12));
  const many = new Set<string>();
  for (let i = 0; i < 2000; i++) { const h = readHeader(RING, random.seal(GRANT, WALL), WALL); if (h.ok) many.add(h.sid); }
  t.equal(many.size, 2000, 'random nonces: 2,000 seals, 2,000 sids');
  t.throws(() => new Sealer(RING, FLEET, 'a', () => Buffer.alloc(8)).seal(GRANT, WALL), RangeError, 'a nonce source of the wrong size: thrown');
  const longest = new Sealer(RING, FLEET, 'n'.repeat(64), fresh);
  t.equal(why(nodeB().live(longest.seal({ ...GRANT, node: 'n'.repeat(64) }, WALL), WALL)), 'ok', 'the longest node name: heard');
  t.ok(Number.isInteger(MAX_SEEN) && MAX_SEEN >= 1000, `ids remembered by default: ${MAX_SEEN}`);
});

t.test('Sealer.live: replays, the skew bound, wrong kinds, own notes', async (t) => {
  const a = nodeA();
  const text = a.seal(GRANT, WALL);
  const b = nodeB();
  t.equal(why(b.live(text, WALL)), 'ok', 'first heard: ok');
  t.equal(why(b.live(text, WALL)), 'replayed', 'heard again: replayed');
  t.equal(why(b.live(text, WALL + SKEW_MS - 1)), 'replayed', 'heard again near the end of the window: replayed');
  t.equal(why(b.live(text, WALL + SKEW_MS + 1)), 'outside the skew bound', 'after the window: outside the skew bound');
  t.equal(why(b.live(a.seal(GRANT, WALL), WALL)), 'ok', 'the same note sealed again (new nonce): ok');
  t.ok(b.seen.has(parts(text).nonce, WALL), 'the id remembered is the nonce');
  // The edge: at now = ts + SKEW_MS the skew check still passes a note, so its id must still be known.
  const edge = a.seal(GRANT, WALL);
  const c = nodeB();
  t.equal(why(c.live(edge, WALL)), 'ok', 'heard once');
  t.equal(why(c.live(edge, WALL + SKEW_MS)), 'replayed', 'replayed at exactly ts + SKEW_MS: still a replay');
  const d = nodeB();
  t.equal(why(d.live(edge, WALL + SKEW_MS)), 'ok', 'heard first at the very edge of the window: ok');
  t.equal(why(d.live(edge, WALL + SKEW_MS)), 'replayed', 'and again in the same ms: replayed');

  // The skew bound, both ways, and just inside it.
  const skew: [number, string][] = [
    [SKEW_MS + 1, 'outside the skew bound'], [SKEW_MS, 'ok'], [SKEW_MS - 1, 'ok'], [0, 'ok'],
    [-SKEW_MS + 1, 'ok'], [-SKEW_MS, 'ok'], [-SKEW_MS - 1, 'outside the skew bound'], [10 * SKEW_MS, 'outside the skew bound'], [-WALL, 'outside the skew bound'],
  ];
  for (const [off, want] of skew) {
    const n = nodeB();
    t.equal(why(n.live(a.seal(GRANT, WALL + off), WALL)), want, `sealed ${off} ms from the receiver's time: ${want}`);
    if (want !== 'ok') t.equal(n.seen.size, 0, `sealed ${off} ms off: refused without remembering its id`);
  }
  t.ok(SKEW_MS >= 1000 && SKEW_MS <= 60_000, `the bound: ${SKEW_MS} ms`);
  const fut = a.seal(GRANT, WALL + SKEW_MS);
  const f = nodeB();
  t.equal(why(f.live(fut, WALL)), 'ok', 'a note from the future edge: ok');
  t.equal(why(f.live(fut, WALL + 2 * SKEW_MS - 1)), 'replayed', 'its id is remembered until its own ts + SKEW_MS');

  // Wrong kinds: stored value types are no channel notes.
  for (const v of [CLAIM, MEMBER, { ...CLAIM, node: 'b' }, { ...MEMBER, node: 'b' }]) {
    const n = nodeB();
    t.equal(why(n.live(a.seal(v, WALL), WALL)), 'wrong kind', `a ${v.type} of node ${v.node} on the channel: wrong kind`);
    // Authentic, so remembered: a stored value republished on the channel costs one decryption, not one per copy.
    t.equal(n.seen.size, 1, `the ${v.type}'s id is remembered`);
  }
  // Malformed bodies under a good tag.
  const bad = a.seal({ ...GRANT, ports: [{ protocol: 'tcp', port: 0 }] }, WALL);
  t.equal(why(b.live(bad, WALL)), 'malformed', 'a sealed grant with port 0: malformed');
  t.equal(why(b.live(a.seal({ type: 'x', node: 'a' } as unknown as FleetValue, WALL), WALL)), 'malformed', 'an unknown type: malformed');
  t.equal(why(b.live('hello', WALL)), 'not sealed', 'junk: not sealed');

  // Own notes: returned as they are, without using up an id. The skew bound is read from the
  // header, before the body says whose note it is: an own note out of the window is refused too.
  const own = nodeA();
  const mine = a.seal(GRANT, WALL);
  for (const now of [WALL, WALL, WALL + SKEW_MS, WALL - SKEW_MS]) {
    const r = own.live(mine, now);
    t.ok(r.ok && t.same(r.note, GRANT), `own note at ${now - WALL} ms: returned`);
  }
  t.equal(own.seen.size, 0, 'own notes leave no seen id');
  for (const now of [WALL + SKEW_MS + 1, WALL - 10 * SKEW_MS]) t.equal(why(own.live(mine, now)), 'outside the skew bound', `own note at ${now - WALL} ms: outside the skew bound (judged before decrypting)`);
  t.equal(why(own.live(a.seal(CLAIM, WALL), WALL)), 'wrong kind', 'an own claim on the channel: still wrong kind');
  t.equal(why(own.live(seal({ signing: fleetKey(K2), accepted: [] }, FLEET, WALL, GRANT, nonceOf(1)), WALL)), 'unknown key', 'own node name under a foreign key: unknown key');
  t.equal(why(own.live(splice(mine, JSON.stringify({ ...GRANT, ip: '0.0.0.0' })), WALL)), 'bad MAC', 'an own note spliced: bad MAC');
  const other = nodeB();
  t.equal(why(other.live(mine, WALL)), 'ok', 'the same text on another node: ok (ids are per receiver)');
});

t.test('Sealer.live: skew and replays are judged from the header, before anything is decrypted', async (t) => {
  const a = nodeA();
  const U = WALL + 3_600_000;
  const b = new Sealer({ signing: fleetKey(K1), accepted: [fleetKey(K2, U)] }, FLEET, 'b', fresh);
  const text = a.seal(GRANT, WALL);
  const p = parts(text);
  const garbage = (header: string, n = 64) => `${header}.${Buffer.alloc(n, 0xa5).toString('base64url')}`;
  t.equal(why(b.live(garbage(p.header), WALL)), 'bad MAC', 'a good header over garbage, never heard: bad MAC');
  t.equal(b.seen.size, 0, '... and its nonce is not remembered');
  t.equal(why(b.live(text, WALL)), 'ok', 'so the genuine note with that nonce is still heard (garbage cannot burn a nonce ahead of it)');
  t.equal(b.seen.size, 1, 'the genuine note\'s nonce remembered');
  t.equal(why(b.live(garbage(p.header), WALL)), 'replayed', 'a replayed header over garbage: replayed (the ciphertext is not looked at)');
  t.equal(why(b.live(`${p.header}.A`, WALL)), 'replayed', '... even a ciphertext too short to hold a tag');
  t.equal(why(b.live(wire(p.kid, WALL + 1, p.nonce, p.ct), WALL)), 'replayed', 'a replay with its ts changed: still replayed (the nonce is the id)');
  t.equal(why(b.live(wire(p.kid, p.ts, nonceOf(77, 0x11).toString('base64url'), p.ct), WALL)), 'bad MAC', 'a replay under a fresh nonce: bad MAC');
  t.equal(b.seen.size, 1, '... not remembered');
  // Out of the window: refused whatever follows the header.
  for (const off of [SKEW_MS + 1, -SKEW_MS - 1, 86_400_000]) {
    const h = `S2.${keyId(K1)}.${WALL + off}.${nonceOf(100 + off, 0x22).toString('base64url')}`;
    t.equal(why(b.live(garbage(h), WALL)), 'outside the skew bound', `a header ${off} ms off over garbage: outside the skew bound`);
  }
  t.equal(why(b.live(garbage(`S2.${keyId(K3)}.${WALL}.${SID}`), WALL)), 'unknown key', 'an unknown key over garbage: unknown key');
  t.equal(why(b.live(garbage(`S2.${keyId(K2)}.${U}.${SID}`), U)), 'key expired', 'an expired key over garbage: key expired');
  t.equal(why(b.live(garbage(`S2.${keyId(K2)}.${WALL}.${SID}`), WALL)), 'bad MAC', '(an accepted key over garbage, in time: bad MAC)');
  // A replay costs no decryption: the header of a big note heard is refused over any junk.
  const big = a.seal({ ...GRANT, id: 'a:k1:big', pad: 'p'.repeat(180_000) } as unknown as FleetValue, WALL);
  const n = nodeB();
  t.equal(why(n.live(big, WALL)), 'ok', 'a big note (an extra field the reader drops) heard');
  t.equal(why(n.live(`${parts(big).header}.${'_'.repeat(200_000)}`, WALL)), 'replayed', 'its header over 200,000 characters of junk: replayed');
  t.equal(why(n.live(a.seal({ type: 'x', node: 'a', pad: 'p'.repeat(1000) } as unknown as FleetValue, WALL), WALL)), 'malformed', 'an authentic text that is no note: malformed');
  t.equal(n.seen.size, 1, '... not remembered (only the big note is)');
  // Garbage under fresh nonces never fills the seen set nor pushes out what is in it.
  const s = nodeB(4);
  const real = Array.from({ length: 4 }, (_, i) => a.seal({ ...GRANT, id: `a:k1:${i}` }, WALL));
  for (const r of real) s.live(r, WALL);
  let refused = 0;
  for (let i = 0; i < 1000; i++) if (why(s.live(garbage(`S2.${keyId(K1)}.${WALL}.${nonceOf(i, 0x33).toString('base64url')}`), WALL)) === 'bad MAC') refused++;
  t.equal(refused, 1000, '1,000 garbage notes under fresh nonces: bad MAC');
  t.same([s.seen.size, s.seen.evicted], [4, 0], 'the seen set: still the 4 genuine ids, nothing evicted');
  t.same(real.map((r) => why(s.live(r, WALL))), ['replayed', 'replayed', 'replayed', 'replayed'], 'the genuine notes are still replays');
});

t.test('Sealer.live: the seen set is bounded', async (t) => {
  const a = nodeA();
  const b = nodeB(4);
  const texts = Array.from({ length: 10 }, (_, i) => a.seal({ ...GRANT, id: `a:k1:${i}` }, WALL));
  for (const [i, text] of texts.entries()) t.equal(why(b.live(text, WALL)), 'ok', `note ${i}: ok`);
  t.equal(b.seen.size, 4, 'at most maxSeen ids');
  t.equal(b.seen.evicted, 6, 'the others evicted, counted');
  for (const i of [6, 7, 8, 9]) t.equal(why(b.live(texts[i]!, WALL)), 'replayed', `the last four remembered: note ${i} replayed`);
  // The documented trade-off: an id evicted before its window ends is forgotten.
  t.equal(why(b.live(texts[0]!, WALL)), 'ok', 'an evicted id is no longer known (the price of the bound)');
  const big = nodeB();
  for (const text of texts) big.live(text, WALL);
  t.equal(big.seen.size, 10, 'the default bound holds them all');
  t.equal(big.seen.evicted, 0, 'nothing evicted');
});

t.test('Sealer.grant: its key, its own expiry, and the PTTL', async (t) => {
  const a = nodeA();
  const b = nodeB();
  const keys = fleetKeys(FLEET);
  const key = keys.grant('a', 'a:k1:0');
  const text = a.seal(GRANT, WALL);
  const g = b.grant(keys, key, text, 20_000, WALL);
  t.ok(g.ok && t.same(g.note, GRANT) && g.remainingMs === 20_000, 'under its key, fresh: the whole timeout');
  t.ok(b.grant(keys, key, text, 20_000, WALL).ok, 'read again: still ok (stored values use no seen ids)');
  t.equal(b.seen.size, 0, 'no id remembered');
  for (const [k, label] of [[keys.grant('a', 'a:k1:1'), 'another id'], [keys.grant('b', 'a:k1:0'), 'another node'], [fleetKeys('other').grant('a', 'a:k1:0'), 'another fleet\'s key'],
    [keys.member('a'), 'the member key'], [`${key}x`, 'a longer key'], ['', 'no key']] as const) {
    t.equal(why(b.grant(keys, k, text, 20_000, WALL)), 'not stored here', `stored under ${label}: not stored here`);
  }
  const cases: [string, number, number, number | string][] = [
    // label, pttl, now, remainingMs or refusal
    ['5 s in, PTTL longer: own time left', 60_000, WALL + 5000, 15_000],
    ['5 s in, PTTL shorter: the PTTL', 3000, WALL + 5000, 3000],
    ['equal', 15_000, WALL + 5000, 15_000],
    ['1 ms of own time left', 60_000, WALL + 19_999, 1],
    ['own time over, PTTL positive (a re-stored old grant)', 60_000, WALL + 20_000, 'expired'],
    ['long over, PTTL long', 3_600_000, WALL + 3_600_000, 'expired'],
    ['PTTL 0', 0, WALL, 'expired'],
    ['PTTL -1 (no expiry)', -1, WALL, 'expired'],
    ['PTTL -2 (gone)', -2, WALL, 'expired'],
    ['PTTL 1', 1, WALL, 1],
  ];
  for (const [label, pttl, now, want] of cases) {
    const r = b.grant(keys, key, text, pttl, now);
    t.equal(r.ok ? r.remainingMs : r.error, want, `${label}: ${want}`);
  }
  const ahead = a.seal({ ...GRANT, at: WALL + 60_000 }, WALL);
  const r = b.grant(keys, key, ahead, 3_600_000, WALL);
  t.equal(r.ok ? r.remainingMs : r.error, 20_000, 'a grant time a minute ahead: no extra time (the timeout, not 80 s)');
  const behind = a.seal({ ...GRANT, timeout: 7200, at: WALL - 3_600_000 }, WALL - 3_600_000);
  const old = b.grant(keys, key, behind, 7_200_000, WALL);
  t.equal(old.ok ? old.remainingMs : old.error, 3_600_000, 'sealed an hour ago, two hours long: an hour left (no skew bound on stored values)');
  for (const v of [ONETIME, CLAIM, MEMBER, ASK]) t.equal(why(b.grant(keys, key, a.seal(v, WALL), 20_000, WALL)), 'wrong kind', `a ${v.type} under a grant key: wrong kind`);
  for (const timeout of [90, 3600]) {
    const spliced = splice(text, JSON.stringify({ ...GRANT, timeout }));
    t.equal(why(b.grant(keys, key, spliced, 3_600_000, WALL + 30_000)), 'bad MAC', `a stored grant lengthened to ${timeout} s: bad MAC`);
  }
  t.equal(why(b.grant(keys, key, seal({ signing: fleetKey(K2), accepted: [] }, FLEET, WALL, GRANT, nonceOf(1)), 20_000, WALL)), 'unknown key', 'under a foreign key: unknown key');
  t.equal(why(b.grant(keys, key, a.seal({ ...GRANT, timeout: 0 }, WALL), 20_000, WALL)), 'malformed', 'a sealed grant of timeout 0: malformed');
  t.equal(why(new Sealer(RING, 'other', 'b', fresh).grant(fleetKeys('other'), fleetKeys('other').grant('a', 'a:k1:0'), text, 20_000, WALL)), 'bad MAC', 'another fleet reading it under its own key name: bad MAC');
});

t.test('Sealer.claim and Sealer.member: judged by their key, claims by their until', async (t) => {
  const a = nodeA();
  const b = nodeB();
  const keys = fleetKeys(FLEET);
  const text = a.seal(CLAIM, WALL);
  const c = b.claim(CLAIM.key, text, WALL);
  t.ok(c.ok && t.same(c.claim, CLAIM), 'under its key, before until: the claim');
  t.equal(why(b.claim(CLAIM.key, text, CLAIM.until - 1)), 'ok', '1 ms before until: ok');
  t.equal(why(b.claim(CLAIM.key, text, CLAIM.until)), 'expired', 'at until: expired');
  t.equal(why(b.claim(CLAIM.key, text, CLAIM.until + 3_600_000)), 'expired', 'long after: expired');
  t.equal(why(b.claim(`${FLEET}:replay:00fe`, text, WALL)), 'not stored here', 'under another key: not stored here');
  t.equal(why(b.claim(`other:replay:00ff`, text, WALL)), 'not stored here', 'under another fleet\'s key: not stored here');
  t.equal(why(b.claim(CLAIM.key, a.seal(MEMBER, WALL), WALL)), 'wrong kind', 'a member value as a claim: wrong kind');
  t.equal(why(b.claim(CLAIM.key, a.seal(GRANT, WALL), WALL)), 'wrong kind', 'a grant as a claim: wrong kind');
  t.equal(why(a.claim(CLAIM.key, text, WALL)), 'ok', 'its own claim: recognised');
  t.equal(why(b.claim(CLAIM.key, a.seal({ ...CLAIM, until: WALL - 1 }, WALL), WALL)), 'expired', 'sealed already over: expired');
  t.equal(why(b.claim(CLAIM.key, splice(text, JSON.stringify({ ...CLAIM, until: WALL + 9000 })), WALL + 6000)), 'bad MAC', 'a claim stretched (same length): bad MAC');
  t.equal(why(b.claim(CLAIM.key, splice(text, JSON.stringify({ ...CLAIM, until: WALL + 3_600_000 })), WALL + 10_000)), 'bad MAC', 'a claim stretched by an hour: bad MAC');
  t.equal(why(b.claim(CLAIM.key, splice(text, JSON.stringify({ ...CLAIM, node: 'b' })), WALL)), 'bad MAC', 'a claim given to another node: bad MAC');

  const m = a.seal(MEMBER, WALL);
  const r = b.member(keys, keys.member('a'), m, WALL);
  t.ok(r.ok && t.same(r.member, MEMBER), 'under its node\'s key: the member');
  t.equal(why(b.member(keys, keys.member('b'), m, WALL)), 'not stored here', 'under another node\'s key: not stored here');
  t.equal(why(b.member(keys, fleetKeys('other').member('a'), m, WALL)), 'not stored here', 'another fleet\'s member key: not stored here');
  t.equal(why(b.member(keys, keys.member('a'), a.seal(CLAIM, WALL), WALL)), 'wrong kind', 'a claim as a member: wrong kind');
  t.equal(why(b.member(keys, keys.member('a'), m, WALL + 86_400_000)), 'ok', 'a heartbeat has no expiry of its own (Redis\'s PX does that)');
  t.equal(why(b.member(keys, keys.member('b'), splice(m, JSON.stringify({ ...MEMBER, node: 'b' })), WALL)), 'bad MAC', 'a heartbeat relabelled to another node: bad MAC');
});

// ---------------------------------------------------------------------------------------------
// notes.ts: the stored value types
// ---------------------------------------------------------------------------------------------

t.test('readNote: claim and member values', async (t) => {
  const good: unknown[] = [CLAIM, { ...CLAIM, key: '' }, { ...CLAIM, key: 'k'.repeat(1024) }, { ...CLAIM, until: 0 }, MEMBER, { ...MEMBER, since: 0 }];
  for (const v of good) {
    const r = readNote(JSON.parse(JSON.stringify(v)));
    t.ok(r.ok && t.same(r.note, v), `${JSON.stringify(v).slice(0, 60)}: read back`);
  }
  const r = readNote({ ...CLAIM, door: 'x', extra: 1 });
  t.ok(r.ok && t.same(r.note, CLAIM), 'a claim: extra fields dropped, no door needed');
  const bad: [unknown, string][] = [
    [{ ...CLAIM, key: undefined }, 'bad claim'], [{ ...CLAIM, key: 5 }, 'bad claim'], [{ ...CLAIM, key: 'k'.repeat(1025) }, 'bad claim'],
    [{ ...CLAIM, until: -1 }, 'bad claim'], [{ ...CLAIM, until: '1' }, 'bad claim'], [{ ...CLAIM, until: Infinity }, 'bad claim'],
    [{ ...CLAIM, until: NaN }, 'bad claim'], [{ ...CLAIM, until: undefined }, 'bad claim'],
    [{ ...CLAIM, node: 'a b' }, 'bad node name'], [{ ...CLAIM, node: undefined }, 'bad node name'], [{ ...CLAIM, node: 'n'.repeat(65) }, 'bad node name'],
    [{ ...MEMBER, since: -1 }, 'bad member'], [{ ...MEMBER, since: undefined }, 'bad member'], [{ ...MEMBER, since: '0' }, 'bad member'],
    [{ ...MEMBER, since: Infinity }, 'bad member'], [{ ...MEMBER, node: '-a' }, 'bad node name'],
    [{ ...MEMBER, type: 'members' }, 'bad door name'], [{ ...MEMBER, type: 'members', door: 'd' }, 'unknown type'],
  ];
  for (const [v, want] of bad) {
    const r = readNote(v);
    t.equal(why(r), want, `${JSON.stringify(v).slice(0, 70)}: ${want}`);
  }
});

// ---------------------------------------------------------------------------------------------
// key-file.ts
// ---------------------------------------------------------------------------------------------

const b64 = (k: Buffer) => k.toString('base64');
const P = '/etc/sesame/fleet.key';

t.test('parseKeyFile: the signing key, accepted keys, comments', async (t) => {
  const one = parseKeyFile(`${b64(K1)}\n`, P, WALL);
  t.ok(one.ok, 'one key');
  if (one.ok) {
    t.same(one.ring, { signing: fleetKey(K1), accepted: [] }, 'it signs; none accepted');
    t.ok(one.ring.signing.secret.equals(K1), 'the secret decoded');
    t.equal(one.expired, 0, 'none expired');
  }
  const noNewline = parseKeyFile(b64(K1), P, WALL);
  t.ok(noNewline.ok && noNewline.ring.signing.id === keyId(K1), 'no final newline: the same');
  const long = Buffer.alloc(64, 9);
  const l = parseKeyFile(b64(long), P, WALL);
  t.ok(l.ok && l.ring.signing.secret.equals(long), 'a 64-byte key');
  const text = [
    '# the fleet key',
    '',
    `   ${b64(K1)}   `,
    '  # the next key, already accepted',
    `${b64(K2)} until 2027-01-31T12:00Z`,
    `${b64(K3)}\tuntil\t2027-02-01T00:00:30+02:00`,
    '',
  ].join('\r\n');
  const now = Date.parse('2027-01-01T00:00Z');
  const r = parseKeyFile(text, P, now);
  t.ok(r.ok, 'comments, blank lines, spaces, tabs and CRLF');
  if (r.ok) {
    t.equal(r.ring.signing.id, keyId(K1), 'the first key signs');
    t.same(r.ring.accepted, [fleetKey(K2, Date.parse('2027-01-31T12:00:00Z')), fleetKey(K3, Date.parse('2027-01-31T22:00:30Z'))], 'further keys accepted until their time (offsets honoured)');
    t.equal(r.expired, 0, 'none expired');
  }
  const half = parseKeyFile(text, P, Date.parse('2027-01-31T12:00Z'));
  t.ok(half.ok && half.expired === 1 && half.ring.accepted.length === 1 && half.ring.accepted[0]!.id === keyId(K3), 'at a key\'s until: counted expired, left out of the ring');
  const late = parseKeyFile(text, P, Date.parse('2028-01-01T00:00Z'));
  t.ok(late.ok && late.expired === 2 && late.ring.accepted.length === 0 && late.ring.signing.id === keyId(K1), 'all accepted keys over: both counted, the signing key stays');
  const justBefore = parseKeyFile(text, P, Date.parse('2027-01-31T12:00Z') - 1);
  t.ok(justBefore.ok && justBefore.expired === 0, '1 ms before until: not expired');
  // The ring parsed opens what it should.
  if (r.ok) {
    t.equal(why(openSealed(r.ring, FLEET, seal({ signing: fleetKey(K2), accepted: [] }, FLEET, WALL, GRANT, NONCE), now)), 'ok', 'the ring opens a text of an accepted key');
  }
  const noSeconds = parseKeyFile(`${b64(K1)}\n${b64(K2)} until 2027-01-31T12:00:59Z`, P, 0);
  t.ok(noSeconds.ok && noSeconds.ring.accepted[0]!.until === Date.parse('2027-01-31T12:00:59Z'), 'seconds allowed');
});

t.test('parseKeyFile: errors name the file and the line', async (t) => {
  const short = Buffer.alloc(31, 5);
  const cases: [string, string][] = [
    ['', `Fleet_Key_File ${P}: holds no key; make one with: head -c 32 /dev/urandom | base64`],
    ['# only a comment\n\n', `Fleet_Key_File ${P}: holds no key`],
    ['not base64!', `Fleet_Key_File ${P}: line 1: not a base64 key`],
    [`# c\n\n${b64(K1).slice(1)}`, `Fleet_Key_File ${P}: line 3: not a base64 key`],
    [`${b64(K1)}==`, `Fleet_Key_File ${P}: line 1: not a base64 key`],
    [`${b64(K1).replace(/=$/, '')}`, `Fleet_Key_File ${P}: line 1: not a base64 key`],
    [`${K1.toString('base64url').slice(0, 40)}-_-_`, `Fleet_Key_File ${P}: line 1: not a base64 key`],
    [b64(short), `Fleet_Key_File ${P}: line 1: a key must be at least 32 bytes (it has 31); make one with: head -c 32 /dev/urandom | base64`],
    [`${b64(K1)}\n${b64(short)} until 2030-01-01T00:00Z`, `Fleet_Key_File ${P}: line 2: a key must be at least 32 bytes (it has 31)`],
    [`${b64(K1)}\n${b64(K2)} until 2030-01-01T00:00Z\n${b64(K1)} until 2030-01-01T00:00Z`, `Fleet_Key_File ${P}: line 3: the same key twice`],
    [`${b64(K1)}\n\n${b64(K2)} until 2030-01-01T00:00Z\n${b64(K2)} until 2031-01-01T00:00Z`, `Fleet_Key_File ${P}: line 4: the same key twice`],
    [`${b64(K1)} until 2030-01-01T00:00Z`, `Fleet_Key_File ${P}: line 1: the first key is the one that signs; only further keys take "until TIME"`],
    [`# c\n${b64(K1)} x`, `Fleet_Key_File ${P}: line 2: the first key is the one that signs`],
    [`${b64(K1)}\n${b64(K2)}`, `Fleet_Key_File ${P}: line 2: a further key is accepted for a stated time: KEY until 2027-01-31T12:00Z`],
    [`${b64(K1)}\n${b64(K2)} until`, `Fleet_Key_File ${P}: line 2: a further key is accepted for a stated time`],
    [`${b64(K1)}\n${b64(K2)} till 2030-01-01T00:00Z`, `Fleet_Key_File ${P}: line 2: a further key is accepted for a stated time`],
    [`${b64(K1)}\n${b64(K2)} until 2030-01-01T00:00Z extra`, `Fleet_Key_File ${P}: line 2: a further key is accepted for a stated time`],
    [`${b64(K1)}\n${b64(K2)} until tomorrow`, `Fleet_Key_File ${P}: line 2: "tomorrow" is not a time (2027-01-31T12:00Z)`],
    [`${b64(K1)}\n${b64(K2)} until 2030-01-01`, `Fleet_Key_File ${P}: line 2: "2030-01-01" is not a time`],
    [`${b64(K1)}\n${b64(K2)} until 2030-01-01T00:00`, `Fleet_Key_File ${P}: line 2: "2030-01-01T00:00" is not a time`],
    [`${b64(K1)}\n${b64(K2)} until 2030-13-01T00:00Z`, `Fleet_Key_File ${P}: line 2: "2030-13-01T00:00Z" is not a time`],
    [`${b64(K1)}\n${b64(K2)} until 2030-01-01T25:00Z`, `Fleet_Key_File ${P}: line 2: "2030-01-01T25:00Z" is not a time`],
    [`${b64(K1)}\n${b64(K2)} until 1893456000000`, `Fleet_Key_File ${P}: line 2: "1893456000000" is not a time`],
    [`${b64(K1)}\r\n\r\n${b64(K2)} until 2030-01-01t00:00z`, `Fleet_Key_File ${P}: line 3: "2030-01-01t00:00z" is not a time`],
  ];
  for (const [text, want] of cases) {
    const r = parseKeyFile(text, P, WALL);
    t.ok(!r.ok && r.error.startsWith(want), `${JSON.stringify(text.slice(-40))}: ${r.ok ? 'accepted' : r.error}`);
  }
  const other = parseKeyFile('x', '/other/path', WALL);
  t.ok(!other.ok && other.error.startsWith('Fleet_Key_File /other/path: line 1:'), 'the path given is the one named');
  for (const [text, label] of [[`${b64(K1)}\n${b64(K2)} until 2030-01-01T00:00Z`, 'keys'], [b64(K1), 'a key']]) {
    const r = parseKeyFile(`${text}\nbroken`, P, WALL);
    t.ok(!r.ok && !r.error.includes(b64(K1)) && !r.error.includes(b64(K2)), `errors never show a key (after ${label})`);
  }
  // The same key written with other spare bits in its last base64 character decodes to the same
  // secret: only the canonical spelling is a key, so the ring never holds a key twice.
  const k1 = b64(K1);
  const twin = `${k1.slice(0, -2)}${flipLow(k1[k1.length - 2]!, B64)}=`;
  t.not(twin, k1, 'another spelling of K1');
  t.ok(Buffer.from(twin, 'base64').equals(K1), '... that decodes to K1');
  const dup = parseKeyFile(`${k1}\n${twin} until 2030-01-01T00:00Z`, P, WALL);
  t.equal(why(dup), `Fleet_Key_File ${P}: line 2: not a base64 key`, 'the same key, spelt differently: refused (one spelling per key)');
  // V8's Date.parse rolls impossible dates over (2027-02-30 would be 2027-03-02): a typo in a
  // rollover date must be an error, not another date.
  for (const time of ['2027-02-30T12:00Z', '2027-02-31T12:00Z', '2027-04-31T00:00Z']) {
    const r = parseKeyFile(`${k1}\n${b64(K2)} until ${time}`, P, WALL);
    t.equal(why(r), `Fleet_Key_File ${P}: line 2: "${time}" is not a time (2027-01-31T12:00Z)`, `${time}: not a time`);
  }
});

t.test('readFleetKeys: a missing file, a file others may read, an owner-only file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-fleet-seal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'nope.key');
  t.equal(why(readFleetKeys(missing, WALL)), `Fleet_Key_File ${missing}: no such file`, 'missing: no such file');
  const path = join(dir, 'fleet.key');
  writeFileSync(path, `${b64(K1)}\n${b64(K2)} until 2027-01-31T12:00Z\n`);
  for (const mode of [0o640, 0o604, 0o644, 0o660, 0o666, 0o700 | 0o040]) {
    chmodSync(path, mode);
    const r = readFleetKeys(path, WALL);
    const m = mode.toString(8).padStart(4, '0');
    t.equal(why(r), `Fleet_Key_File ${path}: mode ${m} lets group or others read it (chmod 600 it)`, `mode ${m}: refused, naming the mode`);
  }
  chmodSync(path, 0o600);
  const r = readFleetKeys(path, Date.parse('2027-01-01T00:00Z'));
  t.ok(r.ok && r.ring.signing.id === keyId(K1) && r.ring.accepted.length === 1 && r.expired === 0, 'mode 0600: read, the ring as in the file');
  const later = readFleetKeys(path, Date.parse('2028-01-01T00:00Z'));
  t.ok(later.ok && later.ring.accepted.length === 0 && later.expired === 1, '`now` judges the accepted keys');
  chmodSync(path, 0o400);
  t.ok(readFleetKeys(path, WALL).ok, 'mode 0400: read');
  chmodSync(path, 0o600);
  writeFileSync(path, 'garbage\n');
  t.equal(why(readFleetKeys(path, WALL)), `Fleet_Key_File ${path}: line 1: not a base64 key`, 'a bad file: the parse error, with the path');
  t.equal(why(readFleetKeys(dir, WALL)).startsWith(`Fleet_Key_File ${dir}`), true, 'a directory: refused naming it');
});

// ---------------------------------------------------------------------------------------------
// bounded-ids.ts
// ---------------------------------------------------------------------------------------------

t.test('BoundedIds: expiry, the count bound (expired first, then oldest), evictions', async (t) => {
  const s = new BoundedIds(3);
  t.equal(s.has('x', 0), false, 'unknown: no');
  s.add('x', 100, 0);
  t.equal(s.has('x', 0), true, 'added: yes');
  t.equal(s.has('x', 99), true, 'until 100, at 99: yes');
  t.equal(s.has('x', 100), false, 'at its until: no');
  t.equal(s.has('x', 1000), false, 'after: no');
  t.equal(s.size, 1, 'an expired id still takes room until swept');
  s.add('x', 500, 100);
  t.equal(s.has('x', 400), true, 'added again: the new until');
  t.equal(s.size, 1, 'added again: still one');

  // Full: the expired go first.
  const e = new BoundedIds(3);
  e.add('a', 100, 0);
  e.add('b', 10_000, 0);
  e.add('c', 100, 0);
  e.add('d', 10_000, 200);
  t.same(['a', 'b', 'c', 'd'].map((id) => e.has(id, 200)), [false, true, false, true], 'full: the two expired dropped, the oldest live kept');
  t.equal(e.size, 2, 'room made by the sweep: 2 left');
  t.equal(e.evicted, 0, 'dropping expired ids is no eviction');
  // Full of live ids: the oldest goes, counted.
  e.add('f', 10_000, 300);
  e.add('g', 10_000, 1300);
  t.same(['b', 'd', 'f', 'g'].map((id) => e.has(id, 1300)), [false, true, true, true], 'full of live ids: the oldest (b) evicted');
  t.equal(e.evicted, 1, 'one eviction counted');
  t.equal(e.size, 3, 'still at the bound');
  // Re-adding an id makes it the newest.
  e.add('d', 10_000, 1400);
  e.add('h', 10_000, 1400);
  t.same(['d', 'f', 'g', 'h'].map((id) => e.has(id, 1400)), [true, false, true, true], 're-added d outlives f');
  t.equal(e.evicted, 2, 'two evictions counted');

  // The sweep runs at most once a second: within it, the oldest goes even if a newer one is expired
  // (the documented trade-off; a second later the expired go first again).
  const w = new BoundedIds(2);
  w.add('a', 10_000, 0);
  w.add('b', 10_000, 0);
  w.add('c', 60, 50); // sweep at 50: nothing expired; a evicted
  w.add('d', 10_000, 100); // sweep skipped: b evicted though c is over
  t.same(['b', 'c', 'd'].map((id) => w.has(id, 100)), [false, false, true], 'within a second of a sweep: the oldest evicted');
  t.equal(w.size, 2, 'c (expired) still takes room');
  w.add('e', 10_000, 1100);
  t.same(['d', 'e'].map((id) => w.has(id, 1100)), [true, true], 'a second later: the expired c swept instead of the live d');
  t.equal(w.evicted, 2, 'evictions: a and b');
  // `evicted` counts ids dropped before their expiry: an expired oldest one dropped between sweeps is not.
  const x = new BoundedIds(2);
  x.add('p', 10_000, 0);
  x.add('q', 100, 0);
  x.add('r', 10_000, 50); // sweep at 50: q not yet over; p evicted (1)
  x.add('s', 10_000, 500); // sweep skipped: q, over since 100, dropped by the loop
  t.same(['q', 'r', 's'].map((id) => x.has(id, 500)), [false, true, true], 'q dropped, r and s kept');
  t.equal(x.evicted, 1, 'an expired id dropped is not counted as evicted');

  const one = new BoundedIds(1);
  one.add('a', 10, 0);
  one.add('b', 10, 0);
  t.same([one.has('a', 0), one.has('b', 0), one.size, one.evicted], [false, true, 1, 1], 'a bound of 1: the newest only');
});

t.test('BoundedIds: 100,000 adds into a bound of 1,000 stay at 1,000, fast', async (t) => {
  const s = new BoundedIds(1000);
  const t0 = Date.now();
  for (let i = 0; i < 100_000; i++) s.add(`id${i}`, WALL + 1e9, WALL + i);
  const ms = Date.now() - t0;
  t.equal(s.size, 1000, 'size at the bound');
  t.equal(s.evicted, 99_000, 'the rest evicted, counted');
  t.same([s.has('id0', WALL), s.has('id98999', WALL), s.has('id99000', WALL), s.has('id99999', WALL)], [false, false, true, true], 'the newest 1,000 kept');
  t.ok(ms < 2000, `live ids, time advancing 1 ms per add: ${ms} ms`);
  // Ids that expire as they go: the sweeps make the room, nothing is evicted.
  const e = new BoundedIds(1000);
  const t1 = Date.now();
  for (let i = 0; i < 100_000; i++) e.add(`id${i}`, WALL + i * 10 + 500, WALL + i * 10);
  const ms2 = Date.now() - t1;
  t.ok(e.size <= 1000, `expiring ids: size ${e.size} within the bound`);
  t.equal(e.evicted, 0, 'expiring ids: none evicted (each sweep finds room)');
  t.ok(ms2 < 2000, `expiring ids: ${ms2} ms`);
  // All at the same instant: one sweep, then only evictions.
  const same = new BoundedIds(1000);
  const t2 = Date.now();
  for (let i = 0; i < 100_000; i++) same.add(`id${i}`, WALL + 1, WALL);
  const ms3 = Date.now() - t2;
  t.same([same.size, same.evicted], [1000, 99_000], 'one instant: bounded');
  t.ok(ms3 < 2000, `one instant: ${ms3} ms`);
});

// ---------------------------------------------------------------------------------------------
// redis-target.ts, redis-options.ts
// ---------------------------------------------------------------------------------------------

function target(url: string): RedisTarget | string {
  const r = parseRedisTarget(url);
  return r.ok ? r.target : r.error;
}

t.test('parseRedisTarget: one server', async (t) => {
  const cases: [string, RedisTarget][] = [
    ['redis://10.0.0.9:6379/2', { kind: 'direct', host: '10.0.0.9', port: 6379, db: 2, tls: false }],
    ['redis://10.0.0.9', { kind: 'direct', host: '10.0.0.9', port: 6379, db: 0, tls: false }],
    ['redis://10.0.0.9/', { kind: 'direct', host: '10.0.0.9', port: 6379, db: 0, tls: false }],
    ['redis://h/15/', { kind: 'direct', host: 'h', port: 6379, db: 15, tls: false }],
    ['redis://h:1', { kind: 'direct', host: 'h', port: 1, db: 0, tls: false }],
    ['redis://h:65535/0', { kind: 'direct', host: 'h', port: 65535, db: 0, tls: false }],
    ['rediss://sesame@redis.example:6380', { kind: 'direct', host: 'redis.example', port: 6380, db: 0, username: 'sesame', tls: true }],
    ['rediss://redis.example/3', { kind: 'direct', host: 'redis.example', port: 6379, db: 3, tls: true }],
    ['redis://[fd77::1]:7000/3', { kind: 'direct', host: 'fd77::1', port: 7000, db: 3, tls: false }],
    ['redis://[::1]', { kind: 'direct', host: '::1', port: 6379, db: 0, tls: false }],
    ['redis://a%40b@h', { kind: 'direct', host: 'h', port: 6379, db: 0, username: 'a@b', tls: false }],
  ];
  for (const [url, want] of cases) t.same(target(url), want, url);
  const noUser = target('redis://h');
  t.ok(typeof noUser === 'object' && !('username' in noUser), 'no user: no username property');
  const bad: [string, string][] = [
    ['not a url', '"not a url" is not a URL (redis://HOST:PORT/DB)'],
    ['redis://h:99999', 'is not a URL'],
    ['http://h:1', '"http:" is not redis:, rediss: or redis+sentinel:'],
    ['redis+tls://h', '"redis+tls:" is not redis:, rediss: or redis+sentinel:'],
    ['redis://', 'the URL names no host'],
    ['redis:h', 'the URL names no host'],
    ['redis://:pw@h:1', 'the URL holds a password; put it in Fleet_Password_File'],
    ['redis://u:pw@h:1', 'the URL holds a password; put it in Fleet_Password_File'],
    ['rediss://u:pw@h', 'the URL holds a password'],
    ['redis://h:1/16', 'database "16" is not 0..15'],
    ['redis://h:1/x', 'database "x" is not 0..15'],
    ['redis://h:1/-1', 'database "-1" is not 0..15'],
    ['redis://h:1/01', 'database "01" is not 0..15'],
    ['redis://h/1/2', 'database "1/2" is not 0..15'],
    ['redis://h:1/?db=2', 'the URL may not have a query or fragment'],
    ['redis://h:1/2#x', 'the URL may not have a query or fragment'],
  ];
  for (const [url, want] of bad) {
    const r = parseRedisTarget(url);
    t.ok(!r.ok && r.error.includes(want), `${url}: ${r.ok ? 'accepted' : r.error}`);
  }
  // A malformed %-escape in the user is a failure (a ConfigError with file and line), never a URIError.
  for (const url of ['redis://%E0%A4%A@h', 'redis://%zz@h', 'redis+sentinel://%zz@h/m']) {
    let threw = '';
    try { parseRedisTarget(url); } catch (err) { threw = (err as Error).message; }
    t.equal(threw, '', `${url}: a failure, not a throw`);
  }
  // The WHATWG URL parser takes port 0: refused, as the sentinel form refuses it.
  t.equal(typeof target('redis://h:0'), 'string', 'redis://h:0: refused like a sentinel on port 0');
});

t.test('parseRedisTarget: Sentinel', async (t) => {
  const cases: [string, RedisTarget][] = [
    ['redis+sentinel://10.0.0.1:26379,s2.example,[fd77::3]:26380/mymaster/3', {
      kind: 'sentinel', sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: 's2.example', port: 26379 }, { host: 'fd77::3', port: 26380 }], master: 'mymaster', db: 3,
    }],
    ['redis+sentinel://h/m', { kind: 'sentinel', sentinels: [{ host: 'h', port: 26379 }], master: 'm', db: 0 }],
    ['redis+sentinel://h/m/', { kind: 'sentinel', sentinels: [{ host: 'h', port: 26379 }], master: 'm', db: 0 }],
    ['redis+sentinel://h/m/15/', { kind: 'sentinel', sentinels: [{ host: 'h', port: 26379 }], master: 'm', db: 15 }],
    ['redis+sentinel://[::1]/m.x-1_2', { kind: 'sentinel', sentinels: [{ host: '::1', port: 26379 }], master: 'm.x-1_2', db: 0 }],
    ['redis+sentinel://sesame@h:1,h:65535/m/1', { kind: 'sentinel', sentinels: [{ host: 'h', port: 1 }, { host: 'h', port: 65535 }], master: 'm', db: 1, username: 'sesame' }],
    ['redis+sentinel://a%40b@h/m', { kind: 'sentinel', sentinels: [{ host: 'h', port: 26379 }], master: 'm', db: 0, username: 'a@b' }],
    [`redis+sentinel://${Array(16).fill('h').join(',')}/m`, { kind: 'sentinel', sentinels: Array(16).fill({ host: 'h', port: 26379 }), master: 'm', db: 0 }],
  ];
  for (const [url, want] of cases) t.same(target(url), want, url);
  const bad: [string, string][] = [
    ['redis+sentinel://h', 'is not redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]'],
    ['redis+sentinel://h/', 'is not redis+sentinel://'],
    ['redis+sentinel:/h/m', 'is not redis+sentinel://'],
    ['redis+sentinel://h/m/1/2', 'is not redis+sentinel://'],
    ['redis+sentinel://u:pw@h/m', 'the URL holds a password; put it in Fleet_Password_File (Fleet_Sentinel_Password_File for the sentinels)'],
    ['redis+sentinel://h:1,:2/m', 'sentinel ":2" is not HOST[:PORT]'],
    ['redis+sentinel://h,,h/m', 'sentinel "" is not HOST[:PORT]'],
    ['redis+sentinel://h:0/m', 'sentinel "h:0" is not HOST[:PORT]'],
    ['redis+sentinel://h:70000/m', 'sentinel "h:70000" is not HOST[:PORT]'],
    ['redis+sentinel://h:123456/m', 'sentinel "h:123456" is not HOST[:PORT]'],
    ['redis+sentinel://h:x/m', 'sentinel "h:x" is not HOST[:PORT]'],
    ['redis+sentinel://[10.0.0.1]/m', 'sentinel "[10.0.0.1]" is not HOST[:PORT]'],
    ['redis+sentinel://fd77::1/m', 'sentinel "fd77::1" is not HOST[:PORT]'],
    ['redis+sentinel://[fd77::1/m', 'sentinel "[fd77::1" is not HOST[:PORT]'],
    ['redis+sentinel://h_x/m', 'sentinel "h_x" is not HOST[:PORT]'],
    ['redis+sentinel://-h/m', 'sentinel "-h" is not HOST[:PORT]'],
    ['redis+sentinel://h/m:x', 'master name "m:x" is not a name (letters, digits, _ . -)'],
    ['redis+sentinel://h/-m', 'master name "-m" is not a name'],
    [`redis+sentinel://h/${'m'.repeat(65)}`, 'is not a name'],
    ['redis+sentinel://h/m/16', 'database "16" is not 0..15'],
    ['redis+sentinel://h/m/x', 'database "x" is not 0..15'],
    [`redis+sentinel://${Array(17).fill('h').join(',')}/m`, 'at most 16 sentinels'],
  ];
  for (const [url, want] of bad) {
    const r = parseRedisTarget(url);
    t.ok(!r.ok && r.error.includes(want), `${url.slice(0, 60)}: ${r.ok ? 'accepted' : r.error}`);
  }
});

t.test('targetHosts and redisOptions', async (t) => {
  const direct = parseRedisTarget('rediss://sesame@redis.example:6380/4');
  const plain = parseRedisTarget('redis://10.0.0.9');
  const sent = parseRedisTarget('redis+sentinel://u@10.0.0.1,[fd77::3]:26380/mymaster/3');
  if (!direct.ok || !plain.ok || !sent.ok) { t.fail('the URLs parse'); return; }
  t.same(targetHosts(direct.target), [{ host: 'redis.example', port: 6380 }], 'direct: the server');
  t.same(targetHosts(sent.target), [{ host: '10.0.0.1', port: 26379 }, { host: 'fd77::3', port: 26380 }], 'sentinel: the sentinels');

  const d = redisOptions(direct.target, 'pw', 'spw');
  t.same(d, { db: 4, password: 'pw', username: 'sesame', host: 'redis.example', port: 6380, tls: {} }, 'rediss: host, port, db, user, password, TLS');
  t.notOk('sentinelPassword' in d || 'sentinels' in d, 'direct: no sentinel options');
  const p = redisOptions(plain.target, undefined, undefined);
  t.same(p, { db: 0, password: undefined, host: '10.0.0.9', port: 6379 }, 'redis: no TLS, no user');
  t.notOk('tls' in p, 'redis://: no tls key at all');
  t.notOk('username' in p, 'no user: no username key');

  const s = redisOptions(sent.target, 'pw', 'spw');
  t.same(s.sentinels, [{ host: '10.0.0.1', port: 26379 }, { host: 'fd77::3', port: 26380 }], 'sentinel: the sentinels');
  t.match(s, { db: 3, password: 'pw', username: 'u', name: 'mymaster', sentinelPassword: 'spw', failoverDetector: true }, 'sentinel: master, db, passwords, failover detection');
  t.notOk('host' in s || 'port' in s || 'tls' in s, 'sentinel: no host, port or tls of its own');
  const retry = s.sentinelRetryStrategy!;
  t.same([1, 2, 4, 8, 100].map((n) => retry(n)), [250, 500, 1000, 2000, 2000], 'sentinel retries: 250 ms steps, at most 2 s');
  const noSp = redisOptions(sent.target, 'pw', undefined);
  t.notOk('sentinelPassword' in noSp, 'no sentinel password given: none set');
  t.equal(redisOptions(sent.target, undefined, '').sentinelPassword, '', 'an empty sentinel password given: passed as given');
  t.notOk('sentinelPassword' in redisOptions(direct.target, 'pw', undefined), 'direct: never a sentinel password');
});
