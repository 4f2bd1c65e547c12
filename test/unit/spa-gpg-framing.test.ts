// GnuPG SPA framing (issue 24, peers-and-requests.md §4.1): the client's wire form (base64 minus
// '=' minus the first 2 characters, HMAC over the text with them), the server's candidate headers
// ("hQ" first; 0x84 ECC, 0x85, new-format 0xC1, 0x86), the 400-character rule, the "hQ" replay
// trick, canonical base64 only; and a seeded fuzz: random input never throws, every synthetic
// OpenPGP message of every header form survives client → server framing, with an HMAC exactly
// one candidate comes back and a mutant is never accepted.

import t from 'tap';
import { createHmac } from 'node:crypto';
import {
  GPG_HEADERS, GPG_MIN_WIRE, GPG_PREFIX, checkGpgShape, encodeGpgWire, gpgCandidates, isGpgSized, openGpgWire, plausibleMessage,
  type GpgHmac,
} from '../../lib/spa/gpg-framing.js';
import { b64 } from '../../lib/spa/base64.js';
import { DIGEST_NAMES, DIGESTS } from '../../lib/spa/digests.js';
import { Rng } from '../helpers/spa-fuzz.js';

const SEED = process.env.GPG_FUZZ_SEED ? Number(process.env.GPG_FUZZ_SEED) >>> 0 : 0x6b9_2401;
t.comment(`GnuPG framing fuzz seed ${SEED} (GPG_FUZZ_SEED=${SEED} replays it)`);

type HeaderForm = 'old1' | 'old2' | 'old4' | 'new1' | 'new2';
const FORMS: readonly HeaderForm[] = ['old1', 'old2', 'old4', 'new1', 'new2'];

/** A packet header of tag 1 (PKESK) in the given form for a body of `len` bytes. */
function pkeskHeader(form: HeaderForm, len: number): Buffer {
  switch (form) {
    case 'old1': return Buffer.from([0x84, len]);
    case 'old2': return Buffer.from([0x85, len >> 8, len & 0xff]);
    case 'old4': return Buffer.from([0x86, 0, 0, len >> 8, len & 0xff]);
    case 'new1': return Buffer.from([0xc1, len]);
    case 'new2': { const v = len - 192; return Buffer.from([0xc1, 192 + (v >> 8), v & 0xff]); }
  }
}

/** A synthetic encrypted message: PKESK v3 (RSA or ECDH) then a SEIPD packet of random bytes. */
function synthetic(rng: Rng, form: HeaderForm = rng.pick(FORMS)): Buffer {
  // Under 1500 base64 characters in all: a PKESK of at most 700 bytes, a SEIPD of at most 400.
  const max = form === 'old1' || form === 'new1' ? 191 : 700;
  const min = form === 'new2' ? 192 : 12;
  const len = min + rng.int(max - min);
  const body = Buffer.concat([Buffer.from([3]), rng.bytes(8), Buffer.from([rng.pick([1, 16, 18])]), rng.bytes(len - 10)]);
  const seipd = rng.bytes(20 + rng.int(380));
  return Buffer.concat([pkeskHeader(form, len), body, Buffer.from([0xd2, Math.min(seipd.length, 191)]), seipd]);
}

const hmacOf = (key: Buffer, digest: GpgHmac['digest'], text: string) =>
  b64(createHmac(DIGESTS[digest].algorithm, key).update(text, 'latin1').digest());

t.test('the 64 headers: "hQ" first, each prefix is its tag byte and length nibble', async (t) => {
  t.equal(GPG_HEADERS.length, 64);
  t.equal(GPG_HEADERS[0]!.prefix, 'hQ');
  t.equal(new Set(GPG_HEADERS.map((h) => h.prefix)).size, 64, 'distinct');
  for (const h of GPG_HEADERS) {
    const bytes = Buffer.from(h.prefix + 'AA', 'base64');
    t.equal(bytes[0], h.tag, `${h.prefix}: tag byte`);
    t.equal(bytes[1]! >> 4, h.nibble, `${h.prefix}: nibble`);
  }
  // ECC keys' 1-byte lengths: hA..hP right after hQ.
  t.same(GPG_HEADERS.slice(1, 17).map((h) => h.prefix).join(''), 'hAhBhChDhEhFhGhHhIhJhKhLhMhNhOhP');
  t.ok(GPG_HEADERS.some((h) => h.prefix === 'wQ'), 'new-format 0xC1');
  t.ok(GPG_HEADERS.some((h) => h.prefix === 'hL'), 'fwknop#247\'s hL');
});

t.test('the client\'s wire form: base64 without = and without its first 2 characters; HMAC over the whole', async (t) => {
  const msg = Buffer.concat([Buffer.from([0x85, 0x01, 0x0c, 0x03]), Buffer.alloc(300, 7)]);
  const full = msg.toString('base64').replace(/=+$/, '');
  t.ok(full.startsWith('hQEMA'));
  t.equal(encodeGpgWire(msg), full.slice(2));
  const key = Buffer.alloc(32, 1);
  for (const d of DIGEST_NAMES) {
    const wire = encodeGpgWire(msg, { key, digest: d });
    t.equal(wire, full.slice(2) + hmacOf(key, d, full), `HMAC ${d} over the text with "hQ"`);
  }
  t.throws(() => encodeGpgWire(Buffer.from([1])), RangeError);
});

t.test('shape: 400 characters or more is GnuPG; over 1500 dropped; a leading "hQ" is a replay trick', async (t) => {
  const ok = 'A'.repeat(GPG_MIN_WIRE);
  t.equal(isGpgSized(ok), true);
  t.equal(isGpgSized(ok.slice(1)), false);
  t.equal(checkGpgShape(ok), undefined);
  t.equal(checkGpgShape(ok.slice(1)), 'too-short');
  t.equal(checkGpgShape(ok.slice(1), 300), undefined, 'a lower minimum for GnuPG-only doors');
  t.equal(checkGpgShape('A'.repeat(1500)), undefined);
  t.equal(checkGpgShape('A'.repeat(1501)), 'too-long');
  t.equal(checkGpgShape('hQ' + ok), 'prefix');
  t.equal(checkGpgShape('hA' + ok), undefined, 'only fwknop\'s own prefix is refused: any other may start a wire');
  t.equal(checkGpgShape(ok + '='), 'not-base64');
  t.equal(checkGpgShape(ok + ' '), 'not-base64');
  t.equal(checkGpgShape(ok.slice(0, 300) + '-' + ok.slice(301)), 'not-base64');
});

t.test('every header form comes back, "hQ" first; with an HMAC exactly the one', async (t) => {
  const rng = new Rng(SEED).fork('forms');
  const key = Buffer.alloc(32, 9);
  for (const form of FORMS) {
    for (let i = 0; i < 40; i++) {
      const msg = synthetic(rng, form);
      const prefix = b64(msg).slice(0, 2);
      const wire = encodeGpgWire(msg);
      const open = openGpgWire(wire, undefined, 0);
      t.ok(open.ok, `${form} #${i}`);
      if (!open.ok) continue;
      const mine = open.candidates.find((c) => c.prefix === prefix);
      t.ok(mine && mine.message.equals(msg), `${form}: the original message is a candidate`);
      const order = open.candidates.map((c) => GPG_HEADERS.findIndex((h) => h.prefix === c.prefix));
      t.same(order, [...order].sort((a, b) => a - b), 'in header order');
      const sealed = openGpgWire(encodeGpgWire(msg, { key, digest: 'sha256' }), { key, digest: 'sha256' }, 0);
      t.ok(sealed.ok && sealed.candidates.length === 1 && sealed.candidates[0]!.message.equals(msg), `${form}: HMAC picks it`);
    }
  }
});

t.test('an RSA message as gpg writes it reads as "hQ" alone', async (t) => {
  const rng = new Rng(SEED).fork('rsa');
  const msg = synthetic(rng, 'old2');
  msg[1] = 0x01; // 256..511-byte session key packet, as for RSA 2048/4096
  const len = msg.readUInt16BE(1);
  const fixed = Buffer.concat([msg.subarray(0, 3 + len), Buffer.from([0xd2, 0x50]), rng.bytes(80)]);
  fixed[3] = 3;
  fixed[12] = 1;
  const open = openGpgWire(encodeGpgWire(fixed), undefined, 0);
  t.ok(open.ok);
  if (open.ok) t.equal(open.candidates[0]!.prefix, GPG_PREFIX);
});

t.test('refusals: wrong HMAC key or digest, truncated HMAC, non-canonical base64, junk', async (t) => {
  const rng = new Rng(SEED).fork('refuse');
  const key = Buffer.alloc(32, 3);
  const msg = synthetic(rng, 'old2');
  const wire = encodeGpgWire(msg, { key, digest: 'sha256' });
  t.same(openGpgWire(wire, { key: Buffer.alloc(32, 4), digest: 'sha256' }, 0), { ok: false, error: 'hmac' });
  t.same(openGpgWire(wire, { key, digest: 'sha512' }, 0), { ok: false, error: 'hmac' });
  t.same(openGpgWire(wire.slice(0, 40), { key, digest: 'sha512' }, 0), { ok: false, error: 'hmac' });
  // The last character's unused bits set: the same bytes, another text; refused so a replay cache keyed on text holds.
  const bare = encodeGpgWire(msg);
  if ((bare.length + 2) % 4 !== 0) {
    const last = bare.at(-1)!;
    const B = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const other = B[B.indexOf(last) ^ 1]!;
    t.same(openGpgWire(bare.slice(0, -1) + other, undefined, 0), { ok: false, error: 'no-header' }, 'non-canonical last character');
  }
  t.same(openGpgWire('A'.repeat(600)), { ok: false, error: 'no-header' });
  t.same(openGpgWire('hQ' + 'A'.repeat(600)), { ok: false, error: 'prefix' });
  t.same(gpgCandidates('A'), [], 'a length no encoder makes');
  t.equal(plausibleMessage(Buffer.from([0x85])), false);
  t.equal(plausibleMessage(Buffer.from([0xc1, 0xe0, 0, 0])), false, 'partial length');
});

t.test('fuzz: nothing throws; random messages round-trip; mutants of HMAC-sealed wires never pass', async (t) => {
  const rng = new Rng(SEED).fork('fuzz');
  const key = rng.bytes(32);
  const B = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let junkCandidates = 0;
  let junk = 0;
  let problems = 0;
  for (let i = 0; i < 3000; i++) {
    // Random text: any characters, base64 or not, any length up to 1600.
    const text = rng.chance(0.2) ? rng.str(rng.int(1600), B + '=-_ \n\u00e9') : rng.str(GPG_MIN_WIRE + rng.int(1101), B);
    try {
      const o = openGpgWire(text);
      junk++;
      if (o.ok) junkCandidates += o.candidates.length;
      openGpgWire(text, { key, digest: rng.pick(DIGEST_NAMES) });
    } catch (e) { problems++; t.fail(`threw on ${JSON.stringify(text.slice(0, 40))}: ${(e as Error).message}`); }
  }
  t.ok(junkCandidates / junk < 0.05, `random text rarely looks like OpenPGP (${junkCandidates} candidates in ${junk})`);
  for (let i = 0; i < 2000; i++) {
    // Random binary, plausible or not: encode never throws past 2 bytes, open never throws.
    const digest = rng.pick(DIGEST_NAMES);
    const bin = rng.chance(0.5) ? synthetic(rng) : rng.bytes(3 + rng.int(1100));
    if (b64(bin).length - 2 + DIGESTS[digest].b64Length > 1500) continue;
    const wire = encodeGpgWire(bin, { key, digest });
    const o = openGpgWire(wire, { key, digest }, 0);
    const prefix = b64(bin).slice(0, 2);
    const known = GPG_HEADERS.some((h) => h.prefix === prefix);
    if (known && plausibleMessage(bin)) {
      if (!(o.ok && o.candidates.length === 1 && o.candidates[0]!.message.equals(bin))) { problems++; t.fail(`round trip #${i}`); }
    } else if (o.ok && !o.candidates[0]!.message.equals(bin)) { problems++; t.fail(`a different message accepted #${i}`); }
    // One mutation of the sealed wire: a character changed, dropped, added, or the halves swapped.
    const m = rng.int(4);
    const at = rng.int(wire.length);
    const mutant = m === 0 ? wire.slice(0, at) + rng.pick([...B]) + wire.slice(at + 1)
      : m === 1 ? wire.slice(0, at) + wire.slice(at + 1)
        : m === 2 ? wire.slice(0, at) + rng.pick([...B]) + wire.slice(at)
          : wire.slice(at) + wire.slice(0, at);
    if (mutant === wire) continue;
    const mo = openGpgWire(mutant, { key, digest }, 0);
    if (mo.ok) { problems++; t.fail(`mutant ${m} at ${at} accepted`); }
  }
  t.equal(problems, 0);
});
