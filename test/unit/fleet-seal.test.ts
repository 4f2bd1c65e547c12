// Fleet sealing's pure parts, exhaustively:
//   seal.ts         the wire form (S1.<kid>.<MAC>.<body>), the MAC construction pinned against an
//                   independent HMAC; every note type round trips; every byte and every field of
//                   the body, the key id, the fleet name and the MAC itself are covered (a changed
//                   one is refused, never thrown on); wrong and forged keys; rollover keyrings; a
//                   20,000-mutation fuzz with a seeded PRNG
//   sealer.ts       live notes (skew bound both ways, replays, wrong kinds, own notes, bounded seen
//                   ids, rekey) and stored values (grants by key name, own expiry and PTTL; claims
//                   by key and until; member heartbeats by key)
//   notes.ts        readNote for the stored value types 'claim' and 'member'
//   key-file.ts     parseKeyFile (signing key, accepted keys with until, line-numbered errors,
//                   expired keys), readFleetKeys (missing file, group/other-readable modes)
//   bounded-ids.ts  expiry, the count bound (expired first, then oldest), the evicted counter, speed
//   redis-target.ts / redis-options.ts   Fleet_Redis forms and their ioredis options

import t from 'tap';
import { createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Result } from '../../lib/errors/result.js';
import { fleetKey, keyId, MAX_SEALED_BYTES, MIN_KEY_BYTES, openSealed, seal, type Keyring } from '../../lib/fleet/seal.js';
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
const SID = 'a.boot0001.0';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

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

/** The parts of a sealed text, split as the wire form says. */
function parts(text: string) {
  const d1 = text.indexOf('.', 3), d2 = text.indexOf('.', d1 + 1);
  return { prefix: text.slice(0, 3), kid: text.slice(3, d1), mac: text.slice(d1 + 1, d2), body: text.slice(d2 + 1) };
}

/** The MAC construction, written out independently: HMAC-SHA-256 over "sesame fleet 1\0FLEET\0KID\0" and the body. */
function forge(secret: Buffer, kid: string, fleet: string, body: string): string {
  const mac = createHmac('sha256', secret).update(`sesame fleet 1\0${fleet}\0${kid}\0`).update(body).digest('base64url');
  return `S1.${kid}.${mac}.${body}`;
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
  const k = fleetKey(K1);
  t.same(k, { id: keyId(K1), secret: K1 }, 'a signing key has no until');
  t.notOk('until' in k, 'no until property at all (not until: undefined)');
  t.same(fleetKey(K2, WALL), { id: keyId(K2), secret: K2, until: WALL }, 'an accepted key carries its until');
  t.equal(fleetKey(K2, 0).until, 0, 'until 0 is kept (not dropped as falsy)');
  t.equal(MIN_KEY_BYTES, 32, 'keys are at least 256 bits');
});

t.test('seal: the wire form, and the MAC as documented (fleet name, key id, body)', async (t) => {
  const text = seal(RING, FLEET, SID, WALL, GRANT);
  const p = parts(text);
  t.match(text, /^S1\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}\.\{/, 'S1.<16 hex>.<43 base64url>.<JSON>');
  t.notMatch(text, /\n/, 'one line');
  t.equal(p.kid, keyId(K1), 'the key id of the signing key');
  t.same(JSON.parse(p.body), { ...GRANT, sid: SID, ts: WALL }, 'the body: the note with sid and ts');
  t.equal(forge(K1, keyId(K1), FLEET, p.body), text, 'the MAC is HMAC-SHA-256 over "sesame fleet 1\\0FLEET\\0KID\\0" + body');
  t.not(forge(K1, keyId(K1), 'other', p.body), text, 'the fleet name changes the MAC');
  t.equal(seal(RING, FLEET, SID, WALL, GRANT), text, 'deterministic: the same input, the same text');
  t.not(seal(RING, FLEET, 'a.boot0001.1', WALL, GRANT), text, 'another sid, another text');
  const sneaky = seal(RING, FLEET, SID, WALL, { ...GRANT, sid: 'evil.sid.0', ts: 1 });
  const o = openSealed(RING, FLEET, sneaky, WALL);
  t.ok(o.ok && o.sid === SID && o.ts === WALL, 'a body with its own sid/ts cannot override the ones given to seal');
  const signedByAccepted = seal({ signing: fleetKey(K2), accepted: [fleetKey(K1, WALL + 1)] }, FLEET, SID, WALL, GRANT);
  t.equal(parts(signedByAccepted).kid, keyId(K2), 'seal uses the signing key, never an accepted one');
});

t.test('round trip: every note type sealed, then opened, gives the same note, sid and ts', async (t) => {
  for (const [name, note] of ALL) {
    for (const [sid, ts] of [[SID, WALL], ['x'.repeat(128), 0], ['n.00000000.zz', WALL + 123]] as const) {
      const text = seal(RING, FLEET, sid, ts, note);
      const o = openSealed(RING, FLEET, text, WALL);
      t.equal(why(o), 'ok', `${name} (sid ${sid.slice(0, 12)}, ts ${ts}): opens`);
      if (!o.ok) continue;
      t.equal(o.sid, sid, `${name}: sid back`);
      t.equal(o.ts, ts, `${name}: ts back`);
      t.equal(o.rollover, false, `${name}: under the signing key, no rollover`);
      t.same(o.body, { ...note, sid, ts }, `${name}: the body back, field for field`);
      const r = readNote(o.body);
      t.ok(r.ok, `${name}: the body reads as a note`);
      if (r.ok) t.same(r.note, note, `${name}: the same note back`);
    }
  }
});

t.test('round trip through the Sealer: what one node seals, another reads as the same value', async (t) => {
  const a = new Sealer(RING, FLEET, 'a', 'boot0001');
  const b = new Sealer(RING, FLEET, 'b', 'boot0002');
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

t.test('every byte of the body is covered by the MAC', async (t) => {
  for (const [name, note] of ALL) {
    const text = seal(RING, FLEET, SID, WALL, note);
    const { body } = parts(text);
    const head = text.slice(0, text.length - body.length);
    const wrong: string[] = [];
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      const variants = [
        body.slice(0, i) + (c === 'a' ? 'b' : 'a') + body.slice(i + 1), // replaced
        body.slice(0, i) + String.fromCharCode(c.charCodeAt(0) ^ 1) + body.slice(i + 1), // one bit flipped
        body.slice(0, i) + body.slice(i + 1), // deleted
        body.slice(0, i) + ' ' + body.slice(i), // inserted
      ];
      for (const v of variants) {
        const r = why(openSealed(RING, FLEET, head + v, WALL));
        if (r !== 'bad MAC') wrong.push(`${i}: ${r}`);
      }
    }
    t.same(wrong, [], `${name}: each of ${body.length} positions replaced, bit-flipped, deleted or preceded by a space: bad MAC`);
    t.equal(why(openSealed(RING, FLEET, `${head}${body} `, WALL)), 'bad MAC', `${name}: a byte appended: bad MAC`);
  }
});

t.test('every JSON field is covered: a changed value is refused though it would make a valid note', async (t) => {
  type Change = [string, (o: any) => void];
  const common: Change[] = [
    ['node', (o) => { o.node = 'b'; }], ['sid', (o) => { o.sid = 'a.boot0001.1'; }], ['ts', (o) => { o.ts += 1; }],
    ['ts (earlier)', (o) => { o.ts -= 1000; }], ['extra field', (o) => { o.x = 1; }],
  ];
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
    const text = seal(RING, FLEET, SID, WALL, note);
    const { body } = parts(text);
    const head = text.slice(0, text.length - body.length);
    for (const [field, change] of [...own, ...common]) {
      const o = JSON.parse(body);
      change(o);
      const altered = JSON.stringify(o);
      t.not(altered, body, `${name} ${field}: the body did change`);
      // The same change sealed with the key opens: so only the MAC stops the spliced one.
      const honest = openSealed(RING, FLEET, seal(RING, FLEET, o.sid, o.ts, o), WALL);
      t.equal(why(honest), 'ok', `${name} ${field}: sealed with the key, the changed body opens`);
      t.equal(why(openSealed(RING, FLEET, head + altered, WALL)), 'bad MAC', `${name} ${field} changed under the old MAC: bad MAC`);
    }
    const same = JSON.parse(body);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(same).reverse()));
    t.equal(why(openSealed(RING, FLEET, head + reordered, WALL)), 'bad MAC', `${name}: the same fields in another order: bad MAC (the MAC is over the text)`);
    t.equal(why(openSealed(RING, FLEET, head + JSON.stringify(same, null, 1), WALL)), 'bad MAC', `${name}: the same JSON spaced out: bad MAC`);
  }
});

t.test('the key id, the prefix and the MAC are covered too', async (t) => {
  const text = seal(RING, FLEET, SID, WALL, GRANT);
  const p = parts(text);
  const both: Keyring = { signing: fleetKey(K1), accepted: [fleetKey(K2, WALL + 3_600_000)] };
  // Every hex position of the key id changed: no key has that id.
  for (let i = 0; i < 16; i++) {
    const c = p.kid[i]!;
    const kid = p.kid.slice(0, i) + (c === '0' ? '1' : '0') + p.kid.slice(i + 1);
    t.equal(why(openSealed(RING, FLEET, `S1.${kid}.${p.mac}.${p.body}`, WALL)), 'unknown key', `key id digit ${i} changed: unknown key`);
  }
  t.equal(why(openSealed(RING, FLEET, `S1.${p.kid.toUpperCase()}.${p.mac}.${p.body}`, WALL)), 'unknown key', 'the key id in capitals: unknown key (ids are compared exactly)');
  t.equal(why(openSealed(RING, FLEET, `S1.${p.kid}0.${p.mac}.${p.body}`, WALL)), 'unknown key', 'a digit added to the key id: unknown key');
  t.equal(why(openSealed(RING, FLEET, `S1..${p.mac}.${p.body}`, WALL)), 'unknown key', 'no key id: unknown key');
  t.equal(why(openSealed(both, FLEET, `S1.${keyId(K2)}.${p.mac}.${p.body}`, WALL)), 'bad MAC', 'relabelled to another key of the ring: bad MAC (checked with that key)');
  // The id is bound into the MAC: the same secret under another id does not verify.
  const twin: Keyring = { signing: { id: 'ffffffffffffffff', secret: K1 }, accepted: [] };
  t.equal(why(openSealed(twin, FLEET, `S1.ffffffffffffffff.${p.mac}.${p.body}`, WALL)), 'bad MAC', 'the same secret, another key id: bad MAC (the id is in the MAC)');
  for (const prefix of ['S2.', 's1.', 'S1:', 'X1.', '', ' S1.']) {
    t.equal(why(openSealed(RING, FLEET, prefix + text.slice(3), WALL)), 'not sealed', `prefix ${JSON.stringify(prefix)}: not sealed`);
  }
  // Each MAC character changed to one whose value differs in its four top bits: bad MAC.
  const wrong: number[] = [];
  for (let i = 0; i < p.mac.length; i++) {
    const mac = p.mac.slice(0, i) + flipHigh(p.mac[i]!) + p.mac.slice(i + 1);
    if (why(openSealed(RING, FLEET, `S1.${p.kid}.${mac}.${p.body}`, WALL)) !== 'bad MAC') wrong.push(i);
  }
  t.same(wrong, [], `each of ${p.mac.length} MAC characters changed: bad MAC`);
  const macVariants: [string, string][] = [
    ['empty', ''], ['one character short', p.mac.slice(0, -1)], ['one character long', `${p.mac}A`], ['doubled', p.mac + p.mac],
    ['zero bytes', 'A'.repeat(43)], ['of another body', parts(seal(RING, FLEET, SID, WALL + 1, GRANT)).mac], ['in hex', createHmac('sha256', K1).update(p.body).digest('hex')],
  ];
  for (const [label, mac] of macVariants) {
    t.equal(why(openSealed(RING, FLEET, `S1.${p.kid}.${mac}.${p.body}`, WALL)), 'bad MAC', `a MAC ${label}: bad MAC`);
  }
  // Node's base64url decoder is lenient (skips characters outside the alphabet, folds '+' '/', ignores
  // '=' and the last character's spare bits): the MAC is compared as text, so a sealed text has one
  // spelling (the claim's `found === value` compares texts).
  const last = p.mac.length - 1;
  const malleable: [string, string][] = [
    ['last character, a spare bit changed', p.mac.slice(0, last) + flipLow(p.mac[last]!)],
    ['a "!" inserted', `${p.mac.slice(0, 5)}!${p.mac.slice(5)}`],
    ['a space inserted', ` ${p.mac}`],
    ['padding appended', `${p.mac}=`],
    ['standard base64 alphabet', p.mac.replace(/-/g, '+').replace(/_/g, '/') === p.mac ? `${p.mac.slice(0, 3)}=${p.mac.slice(3)}` : p.mac.replace(/-/g, '+').replace(/_/g, '/')],
  ];
  for (const [label, mac] of malleable) {
    t.not(mac, p.mac, `MAC ${label}: the text differs`);
    t.equal(why(openSealed(RING, FLEET, `S1.${p.kid}.${mac}.${p.body}`, WALL)), 'bad MAC', `MAC ${label}: bad MAC`);
  }
});

t.test('truncations, junk and size: refused with a reason, never thrown', async (t) => {
  for (const [name, note] of ALL) {
    const text = seal(RING, FLEET, SID, WALL, note);
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
  const junk = ['', 'S', 'S1', 'S1.', 'S1..', 'S1...', `S1.${kid}`, `S1.${kid}.`, `S1.${kid}..`, `S1.${kid}...`, `S1.${kid}.\ud800.{}`, `S1.${kid}.AAAA.\ud800`,
    '\u0000', 'null', '{}', '{"sid":"aaaaaaaa","ts":1}', `S1.${kid}.${'A'.repeat(10_000)}.{}`];
  for (const j of junk) {
    let r: string;
    try { r = why(openSealed(RING, FLEET, j, WALL)); } catch (err) { r = `threw ${(err as Error).message}`; }
    t.ok(['not sealed', 'unknown key', 'bad MAC'].includes(r), `${JSON.stringify(j.slice(0, 40))}: ${r}`);
  }
  // Size: a sealed text of exactly MAX_SEALED_BYTES opens; one more character is refused unread.
  const base = seal(RING, FLEET, SID, WALL, { pad: '' });
  const pad = 'p'.repeat(MAX_SEALED_BYTES - base.length);
  const full = seal(RING, FLEET, SID, WALL, { pad });
  t.equal(full.length, MAX_SEALED_BYTES, 'a text of exactly the limit');
  t.equal(why(openSealed(RING, FLEET, full, WALL)), 'ok', 'at the limit: opens');
  const over = seal(RING, FLEET, SID, WALL, { pad: `${pad}p` });
  t.equal(why(openSealed(RING, FLEET, over, WALL)), 'too long', 'one character over: too long, though its MAC is good');
  t.equal(why(openSealed(RING, FLEET, 'x'.repeat(MAX_SEALED_BYTES + 1), WALL)), 'too long', 'junk over the limit: too long (before any other check)');
  t.equal(MAX_SEALED_BYTES, 256 * 1024, 'the limit is 256 KiB');
});

t.test('a good MAC on a bad body: bad body (only a key holder can get there)', async (t) => {
  const kid = keyId(K1);
  const ok = (body: string) => why(openSealed(RING, FLEET, forge(K1, kid, FLEET, body), WALL));
  t.equal(ok('{"sid":"aaaaaaaa","ts":0}'), 'ok', 'the smallest body: an 8-character sid and ts 0');
  t.equal(ok(`{"sid":"${'a'.repeat(128)}","ts":1.5}`), 'ok', 'a 128-character sid, a fractional ts');
  const bad = ['', '{', 'null', '[]', '[{"sid":"aaaaaaaa","ts":0}]', '1', '"s"', '{}', '{"ts":0}', '{"sid":"aaaaaaaa"}',
    '{"sid":"aaaaaaa","ts":0}', `{"sid":"${'a'.repeat(129)}","ts":0}`, '{"sid":"aaaa aaaa","ts":0}', '{"sid":"aaaa/aaaa","ts":0}',
    '{"sid":12345678,"ts":0}', '{"sid":"aaaaaaaa","ts":-1}', '{"sid":"aaaaaaaa","ts":"1"}', '{"sid":"aaaaaaaa","ts":null}',
    '{"sid":"aaaaaaaa","ts":1e999}', '{"sid":"aaaaaaaa","ts":-1e999}', '{"sid":"aaaaaaaa\\n","ts":0}'];
  for (const body of bad) t.equal(ok(body), 'bad body', `${JSON.stringify(body)}: bad body`);
  t.equal(why(openSealed(RING, FLEET, forge(K2, kid, FLEET, '{'), WALL)), 'bad MAC', 'a bad body under a bad MAC: bad MAC (the MAC comes first)');
});

t.test('keys: unknown key, a forged MAC under the right key id, another fleet', async (t) => {
  const text = seal(RING, FLEET, SID, WALL, GRANT);
  const other: Keyring = { signing: fleetKey(K2), accepted: [] };
  t.equal(why(openSealed(other, FLEET, text, WALL)), 'unknown key', 'a node with another key: unknown key');
  t.equal(why(openSealed(RING, FLEET, seal(other, FLEET, SID, WALL, GRANT), WALL)), 'unknown key', 'sealed with another key: unknown key');
  const { body } = parts(text);
  const forged = forge(K2, keyId(K1), FLEET, body);
  t.not(forged, text, 'a forgery: the right key id, a MAC made with another key');
  t.equal(why(openSealed(RING, FLEET, forged, WALL)), 'bad MAC', 'the forgery: bad MAC');
  const altered = JSON.stringify({ ...JSON.parse(body), ip: '0.0.0.0' });
  t.equal(why(openSealed(RING, FLEET, forge(K2, keyId(K1), FLEET, altered), WALL)), 'bad MAC', 'a forged body under the right key id: bad MAC');
  t.equal(why(openSealed(RING, FLEET, forge(K1, keyId(K1), FLEET, altered), WALL)), 'ok', '(the same made with the right key opens: the test can tell)');
  for (const fleet of ['prod2', 'Prod', 'prod ', '', 'prod\0', 'other']) {
    t.equal(why(openSealed(RING, fleet, text, WALL)), 'bad MAC', `fleet ${JSON.stringify(fleet)}: bad MAC`);
  }
  const b = new Sealer(RING, 'other', 'b', 'boot0002');
  t.equal(why(b.live(text, WALL)), 'bad MAC', 'a Sealer of another fleet refuses it: bad MAC');
  t.equal(why(new Sealer(other, FLEET, 'b', 'boot0002').live(text, WALL)), 'unknown key', 'a Sealer with another key: unknown key');
});

t.test('rollover: accepted keys open until their time; both sides of a key change read each other', async (t) => {
  const U = WALL + 3_600_000;
  const oldNode: Keyring = { signing: fleetKey(K1), accepted: [fleetKey(K2, U)] }; // has the new key, still signs with the old
  const newNode: Keyring = { signing: fleetKey(K2), accepted: [fleetKey(K1, U)] }; // signs with the new, accepts the old
  const fromOld = seal(oldNode, FLEET, SID, WALL, GRANT);
  const fromNew = seal(newNode, FLEET, SID, WALL, GRANT);
  t.equal(parts(fromOld).kid, keyId(K1), 'the old node signs with the old key');
  t.equal(parts(fromNew).kid, keyId(K2), 'the new node signs with the new key');
  const o1 = openSealed(newNode, FLEET, fromOld, WALL);
  t.ok(o1.ok && o1.rollover === true, 'old key on the new node: opens, marked rollover');
  t.ok(o1.ok && t.same(o1.body, { ...GRANT, sid: SID, ts: WALL }), 'old key on the new node: the same body');
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
  t.equal(why(openSealed(newNode, FLEET, forge(K3, keyId(K1), FLEET, parts(fromOld).body), U + 1)), 'key expired', 'an expired key is refused before its MAC is checked');
  t.equal(why(openSealed(newNode, FLEET, forge(K3, keyId(K1), FLEET, parts(fromOld).body), U - 1)), 'bad MAC', '(the same forgery before until: bad MAC)');

  // Sealer.rekey: the new ring seals and judges from then on; ids seen are kept.
  const a = new Sealer(oldNode, FLEET, 'a', 'boot0001');
  const b = new Sealer(oldNode, FLEET, 'b', 'boot0002');
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
  const samples = ALL.map(([, n], i) => seal(i % 2 ? ring : { signing: fleetKey(K2), accepted: [] }, FLEET, `a.boot0001.${i}`, WALL, n));
  const originals = new Set(samples);
  const alphabet = ['.', '=', '!', ' ', '+', '/', '-', '_', 'a', 'A', '0', 'f', 'z', '"', '{', '}', ',', ':', '[', ']', '\\', '\u0000', '\u00e9', '\ud800', '\n'];
  let threw = 0, accepted = 0, unchanged = 0, changed = 0, bodyChanged = 0, outsideMac = 0, bodyOnlyAccepted = 0, bodyOnly = 0;
  const reasons = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const orig = samples[rnd(samples.length)]!;
    let s = orig;
    const onlyBody = rnd(4) === 0; // a quarter: mutations confined to the body
    const bodyStart = orig.length - parts(orig).body.length;
    for (let m = 1 + rnd(3); m > 0; m--) {
      const at = onlyBody ? bodyStart + rnd(Math.max(1, s.length - bodyStart)) : rnd(s.length + 1);
      const ch = alphabet[rnd(alphabet.length)]!;
      switch (rnd(7)) {
        case 0: s = s.slice(0, at) + ch + s.slice(at + 1); break; // replace
        case 1: s = s.slice(0, at) + s.slice(at + 1); break; // delete
        case 2: s = s.slice(0, at) + ch + s.slice(at); break; // insert
        case 3: s = onlyBody ? s.slice(0, Math.max(at, bodyStart)) : s.slice(0, at); break; // truncate
        case 4: { const j = onlyBody ? at : rnd(s.length); s = s.slice(0, Math.min(at, j)) + s.slice(Math.max(at, j), Math.max(at, j) + 1) + s.slice(Math.min(at, j) + 1); break; } // a char copied over another
        case 5: s = s.slice(0, at) + String.fromCharCode(s.charCodeAt(at) ^ (1 << rnd(7))) + s.slice(at + 1); break; // bit flip
        default: if (!onlyBody) s = s.includes(keyId(K1)) ? s.replace(keyId(K1), keyId(K2)) : s.replace(keyId(K2), keyId(K1)); // the other key's id
      }
    }
    if (onlyBody) bodyOnly++;
    let r;
    try { r = openSealed(ring, FLEET, s, WALL); } catch (err) { threw++; t.fail(`threw on ${JSON.stringify(s)}: ${(err as Error).message}`); continue; }
    reasons.set(why(r), (reasons.get(why(r)) ?? 0) + 1);
    if (!r.ok) continue;
    accepted++;
    if (originals.has(s)) { unchanged++; continue; }
    changed++;
    const p = parts(s), q = parts(orig);
    if (p.body !== q.body) bodyChanged++;
    if (p.prefix !== q.prefix || p.kid !== q.kid || p.body !== q.body) outsideMac++;
    if (onlyBody) bodyOnlyAccepted++;
  }
  t.equal(threw, 0, 'openSealed never threw');
  t.equal(bodyChanged, 0, 'no text whose body differs from a sealed body opened');
  t.equal(outsideMac, 0, 'no text whose prefix, key id or body differs opened');
  t.ok(bodyOnly > 4000, `${bodyOnly} texts mutated in the body only`);
  t.equal(bodyOnlyAccepted, 0, 'of those, none opened');
  t.ok((reasons.get('bad MAC') ?? 0) > 5000 && (reasons.get('not sealed') ?? 0) > 0 && (reasons.get('unknown key') ?? 0) > 0,
    `refusals of every kind seen: ${JSON.stringify(Object.fromEntries(reasons))}`);
  // Mutated MAC segments that would decode to the same bytes are refused too (one spelling).
  t.ok(unchanged > 0, `mutations that came back to the sealed text open: ${unchanged}`);
  t.equal(changed, 0, `no text differing from a sealed one opened (${changed} of ${accepted} opened texts differ, all in the MAC)`);
});

// ---------------------------------------------------------------------------------------------
// sealer.ts
// ---------------------------------------------------------------------------------------------

const nodeA = () => new Sealer(RING, FLEET, 'a', 'boot0001');
const nodeB = (maxSeen?: number) => new Sealer(RING, FLEET, 'b', 'boot0002', maxSeen);

t.test('Sealer.seal: unique sids (node, boot tag, counter), ts rounded', async (t) => {
  const a = nodeA();
  const sids = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const o = openSealed(RING, FLEET, a.seal(GRANT, WALL), WALL);
    if (o.ok) sids.add(o.sid);
  }
  t.equal(sids.size, 40, '40 seals, 40 sids');
  t.ok(sids.has('a.boot0001.0') && sids.has('a.boot0001.z') && sids.has('a.boot0001.10'), 'sid: node.boot.counter (base 36)');
  const o = openSealed(RING, FLEET, new Sealer(RING, FLEET, 'a', 'boot0009').seal(GRANT, WALL), WALL);
  t.ok(o.ok && o.sid === 'a.boot0009.0', 'another boot tag, another sid for the same counter');
  const r = openSealed(RING, FLEET, a.seal(GRANT, WALL + 0.6), WALL);
  t.ok(r.ok && r.ts === WALL + 1, 'ts: fleet time rounded to the ms');
  const longest = new Sealer(RING, FLEET, 'n'.repeat(64), 'ffffffff');
  t.equal(why(nodeB().live(longest.seal({ ...GRANT, node: 'n'.repeat(64) }, WALL), WALL)), 'ok', 'the longest node name still makes a valid sid');
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
  t.equal(why(b.live(a.seal(GRANT, WALL), WALL)), 'ok', 'the same note sealed again (new sid): ok');
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
    t.equal(n.seen.size, 0, `the ${v.type}'s id is not remembered`);
  }
  // Malformed bodies under a good MAC.
  const bad = a.seal({ ...GRANT, ports: [{ protocol: 'tcp', port: 0 }] }, WALL);
  t.equal(why(b.live(bad, WALL)), 'malformed', 'a sealed grant with port 0: malformed');
  t.equal(why(b.live(a.seal({ type: 'x', node: 'a' } as unknown as FleetValue, WALL), WALL)), 'malformed', 'an unknown type: malformed');
  t.equal(why(b.live('hello', WALL)), 'not sealed', 'junk: not sealed');

  // Own notes: returned as they are, whatever their time, without using up an id.
  const own = nodeA();
  const mine = a.seal(GRANT, WALL);
  for (const now of [WALL, WALL, WALL + 10 * SKEW_MS, WALL - 10 * SKEW_MS]) {
    const r = own.live(mine, now);
    t.ok(r.ok && t.same(r.note, GRANT), `own note at ${now - WALL} ms: returned`);
  }
  t.equal(own.seen.size, 0, 'own notes leave no seen id');
  t.equal(why(own.live(a.seal(CLAIM, WALL), WALL)), 'wrong kind', 'an own claim on the channel: still wrong kind');
  t.equal(why(own.live(seal({ signing: fleetKey(K2), accepted: [] }, FLEET, SID, WALL, GRANT), WALL)), 'unknown key', 'own node name under a foreign key: unknown key');
  const other = nodeB();
  t.equal(why(other.live(mine, WALL)), 'ok', 'the same text on another node: ok (ids are per receiver)');
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
  const { body } = parts(text);
  const spliced = `${text.slice(0, text.length - body.length)}${JSON.stringify({ ...JSON.parse(body), timeout: 3600 })}`;
  t.equal(why(b.grant(keys, key, spliced, 3_600_000, WALL + 30_000)), 'bad MAC', 'a stored grant lengthened: bad MAC');
  t.equal(why(b.grant(keys, key, seal({ signing: fleetKey(K2), accepted: [] }, FLEET, SID, WALL, GRANT), 20_000, WALL)), 'unknown key', 'under a foreign key: unknown key');
  t.equal(why(b.grant(keys, key, a.seal({ ...GRANT, timeout: 0 }, WALL), 20_000, WALL)), 'malformed', 'a sealed grant of timeout 0: malformed');
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
  const bodyOf = parts(text).body;
  const longer = `${text.slice(0, text.length - bodyOf.length)}${JSON.stringify({ ...JSON.parse(bodyOf), until: WALL + 3_600_000 })}`;
  t.equal(why(b.claim(CLAIM.key, longer, WALL + 10_000)), 'bad MAC', 'a claim stretched: bad MAC');

  const m = a.seal(MEMBER, WALL);
  const r = b.member(keys, keys.member('a'), m, WALL);
  t.ok(r.ok && t.same(r.member, MEMBER), 'under its node\'s key: the member');
  t.equal(why(b.member(keys, keys.member('b'), m, WALL)), 'not stored here', 'under another node\'s key: not stored here');
  t.equal(why(b.member(keys, fleetKeys('other').member('a'), m, WALL)), 'not stored here', 'another fleet\'s member key: not stored here');
  t.equal(why(b.member(keys, keys.member('a'), a.seal(CLAIM, WALL), WALL)), 'wrong kind', 'a claim as a member: wrong kind');
  t.equal(why(b.member(keys, keys.member('a'), m, WALL + 86_400_000)), 'ok', 'a heartbeat has no expiry of its own (Redis\'s PX does that)');
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
    t.equal(why(openSealed(r.ring, FLEET, seal({ signing: fleetKey(K2), accepted: [] }, FLEET, SID, WALL, GRANT), now)), 'ok', 'the ring opens a text of an accepted key');
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
