// SPA_GPG_Remote_ID parsing and matching (issue 24, fixing fwknop#263: long IDs, fingerprints and
// signing subkeys), the signature policy of a GnuPG door, and gpg's status lines read into it.

import t from 'tap';
import { idMatchesKey, keyIdOf, matchSigner, parseGpgId, parseGpgIdList, weakIds } from '../../lib/spa/gpg-ids.js';
import { judgeSignature, SIG_REFUSAL_TEXT, type GpgSignature } from '../../lib/spa/gpg-policy.js';
import { parseDecryptStatus } from '../../lib/gpg/status.js';

// fwknop's test signer (peers-and-requests.md §4.5) and a made-up signing subkey of it.
const PRIMARY = '00CC95F05BC146B6AC4038C9E36F443C6A3FAD56';
const SUBKEY = '1111222233334444555566667777888899CF3832';
const V6 = 'AB'.repeat(32);

t.test('items: short, long, fingerprint; 0x, any case, blanks inside a fingerprint', async (t) => {
  const ok = (s: string) => { const r = parseGpgId(s); return r.ok ? [r.id.kind, r.id.hex] : r.error; };
  t.same(ok('6A3FAD56'), ['short', '6A3FAD56']);
  t.same(ok(' 0x6a3fad56 '), ['short', '6A3FAD56']);
  t.same(ok('E36F443C6A3FAD56'), ['long', 'E36F443C6A3FAD56']);
  t.same(ok('0XE36F443C6A3FAD56'), ['long', 'E36F443C6A3FAD56']);
  t.same(ok(PRIMARY.toLowerCase()), ['fingerprint', PRIMARY]);
  t.same(ok('00CC 95F0 5BC1 46B6 AC40  38C9 E36F 443C 6A3F AD56'), ['fingerprint', PRIMARY], 'gpg --fingerprint\'s spelling');
  t.same(ok(V6), ['fingerprint', V6], 'v5/v6: 64 hex');
  t.match(ok(''), /empty/);
  t.match(ok('alice@example.org'), /user ID/);
  t.match(ok('Alice <alice@example.org>'), /user ID/);
  t.match(ok('6A3FAD5'), /7 hex digits/);
  t.match(ok('6A3FAD56A'), /9 hex digits/);
  t.match(ok('00CC95F05BC146B6AC4038C9E36F443C'), /32 hex digits/);
  t.match(ok('6A3F AD56'), /blanks are allowed only inside a fingerprint/);
  t.match(ok('6A3FAD5G'), /hex digits only/);
  t.match(ok('0x'), /hex digits only/);
});

t.test('lists: comma-separated, duplicates once, the first bad item fails the list', async (t) => {
  const r = parseGpgIdList('6A3FAD56, 1234AAAA,5678BBBB , 6a3fad56');
  t.ok(r.ok);
  if (r.ok) t.same(r.ids.map((i) => i.hex), ['6A3FAD56', '1234AAAA', '5678BBBB']);
  t.same(parseGpgIdList('6A3FAD56,,1234AAAA'), { ok: false, error: 'an empty key ID' });
  t.match(parseGpgIdList('6A3FAD56, bob'), { ok: false, error: /"bob" is not a key ID/ });
  const w = parseGpgIdList(`6A3FAD56, ${PRIMARY}`);
  t.same(w.ok && weakIds(w.ids).map((i) => i.text), ['6A3FAD56'], 'short IDs are flagged as weak');
});

t.test('matching: the signing key or its primary, by short ID, long ID or fingerprint', async (t) => {
  const id = (s: string) => { const r = parseGpgId(s); if (!r.ok) throw new Error(r.error); return r.id; };
  t.equal(keyIdOf(PRIMARY), 'E36F443C6A3FAD56');
  t.equal(keyIdOf(V6), 'AB'.repeat(8), 'v6: the first 64 bits');
  for (const s of ['6A3FAD56', 'E36F443C6A3FAD56', PRIMARY]) {
    t.ok(idMatchesKey(id(s), PRIMARY), `${s} names the key`);
    t.ok(idMatchesKey(id(s), PRIMARY.toLowerCase()), `${s}, lower-case fingerprint`);
    t.notOk(idMatchesKey(id(s), SUBKEY), `${s} is not the subkey`);
  }
  t.notOk(idMatchesKey(id('6A3FAD56'), 'ZZ'), 'a malformed fingerprint matches nothing');
  t.notOk(idMatchesKey(id('AC4038C9'), PRIMARY), 'a short ID is the last 8, not any 8');
  t.notOk(idMatchesKey(id('00CC95F05BC146B6'), PRIMARY), 'a long ID is the last 16 (v4)');
  t.ok(idMatchesKey(id('AB'.repeat(8)), V6));
  t.ok(idMatchesKey(id('ABABABAB'), V6));
  // fwknop#263: a signature by a subkey names the subkey; the primary listed must still match.
  const signer = { fingerprint: SUBKEY, primaryFingerprint: PRIMARY };
  for (const s of ['6A3FAD56', 'E36F443C6A3FAD56', PRIMARY, '99CF3832', '777888899CF3832'.padStart(16, '7'), SUBKEY]) {
    t.ok(matchSigner([id('12345678'), id(s)], signer), `${s} accepts the subkey's signature`);
  }
  t.equal(matchSigner([id('12345678'), id('ABCDEF0123456789')], signer), undefined);
  t.equal(matchSigner([], signer), undefined);
});

const sig = (o: Partial<GpgSignature>): GpgSignature => ({ status: 'good', count: 1, trust: 'undefined', fingerprint: SUBKEY, primaryFingerprint: PRIMARY, ...o });

t.test('policy: listed signers pinned regardless of trust; without a list fwknopd\'s marginal validity', async (t) => {
  const ids = (() => { const r = parseGpgIdList(`1234ABCD, ${PRIMARY}`); if (!r.ok) throw new Error(); return r.ids; })();
  const req = { requireSig: true, remoteIds: ids };
  t.match(judgeSignature(sig({}), req), { ok: true, signer: { hex: PRIMARY } });
  t.match(judgeSignature(sig({ trust: 'never' }), req), { ok: true }, 'pinned: trust does not matter');
  t.same(judgeSignature(sig({ fingerprint: 'F'.repeat(40), primaryFingerprint: 'F'.repeat(40) }), req), { ok: false, reason: 'unlisted-signer' });
  t.same(judgeSignature(sig({ status: 'bad' }), req), { ok: false, reason: 'bad-signature' });
  t.same(judgeSignature(sig({ status: 'missing', count: 0 }), req), { ok: false, reason: 'missing-signature' });
  t.same(judgeSignature(sig({ status: 'unknown-key' }), req), { ok: false, reason: 'unknown-key' });
  t.same(judgeSignature(sig({ status: 'expired-key' }), req), { ok: false, reason: 'expired-key' });
  t.same(judgeSignature(sig({ status: 'revoked-key' }), req), { ok: false, reason: 'revoked-key' });
  t.same(judgeSignature(sig({ status: 'expired-sig' }), req), { ok: false, reason: 'expired-signature' });
  t.same(judgeSignature(sig({ status: 'error' }), req), { ok: false, reason: 'signature-error' });
  t.same(judgeSignature(sig({ count: 2 }), req), { ok: false, reason: 'several-signatures' });
  t.same(judgeSignature({ status: 'good', count: 1, trust: 'fully' }, req), { ok: false, reason: 'signature-error' }, 'no VALIDSIG');
  const open = { requireSig: true, remoteIds: [] };
  t.same(judgeSignature(sig({ trust: 'undefined' }), open), { ok: false, reason: 'untrusted-signer' });
  t.same(judgeSignature(sig({ trust: 'never' }), open), { ok: false, reason: 'untrusted-signer' });
  for (const trust of ['marginal', 'fully', 'ultimate'] as const) t.same(judgeSignature(sig({ trust }), open), { ok: true, signer: undefined }, trust);
  const lax = { requireSig: false, remoteIds: ids };
  t.same(judgeSignature(sig({ status: 'missing', count: 0 }), lax), { ok: true, signer: undefined }, 'not required: unsigned passes');
  t.same(judgeSignature(sig({ status: 'unknown-key' }), lax), { ok: true, signer: undefined });
  t.same(judgeSignature(sig({ status: 'bad' }), lax), { ok: false, reason: 'bad-signature' }, 'a bad signature is an altered message');
  t.same(judgeSignature(sig({ fingerprint: 'F'.repeat(40), primaryFingerprint: 'F'.repeat(40) }), lax), { ok: true, signer: undefined });
  for (const r of Object.values(SIG_REFUSAL_TEXT)) t.ok(r.length > 10);
});

const S = (lines: string[]) => lines.map((l) => `[GNUPG:] ${l}`).join('\n') + '\n';

t.test('status lines: a good signature by a subkey, as gpg 2.2 writes them', async (t) => {
  const st = parseDecryptStatus(S([
    'ENC_TO 697ECED03AAE92EC 1 0', 'KEY_CONSIDERED F6F51D58A244638876AE170B21E0A726AC934713 0',
    'DECRYPTION_KEY C716ECBEA4A9223563F5F001697ECED03AAE92EC F6F51D58A244638876AE170B21E0A726AC934713 u',
    'BEGIN_DECRYPTION', 'DECRYPTION_INFO 2 9 0', 'PLAINTEXT 62 1796540647 ', 'PLAINTEXT_LENGTH 107', 'NEWSIG',
    'SIG_ID AF/PRFh7xQNRLC0THYU16ZvKl48 2026-12-06 1796540647', 'GOODSIG 77778888 client <cli@x>',
    `VALIDSIG ${SUBKEY} 2026-12-06 1796540647 0 4 0 1 10 00 ${PRIMARY}`, 'TRUST_UNDEFINED 0 pgp',
    'DECRYPTION_OKAY', 'GOODMDC', 'END_DECRYPTION',
  ]) + 'gpg: noise on the same fd\n');
  t.same(st, {
    decrypted: true, decryptionKey: 'C716ECBEA4A9223563F5F001697ECED03AAE92EC', encTo: ['697ECED03AAE92EC'], noSecretKey: false,
    symmetric: false, badPassphrase: false,
    signature: { status: 'good', count: 1, trust: 'undefined', keyId: '77778888', fingerprint: SUBKEY, primaryFingerprint: PRIMARY },
    errors: [],
  });
});

t.test('status lines: bad, unknown key, unsigned, no secret key, symmetric, failures', async (t) => {
  t.match(parseDecryptStatus(S(['ENC_TO A 1 0', 'NEWSIG', 'BADSIG 0123 x', 'DECRYPTION_OKAY'])).signature, { status: 'bad', count: 1, keyId: '0123' });
  t.match(parseDecryptStatus(S(['NEWSIG', 'ERRSIG 0123456789ABCDEF 1 10 00 1796540647 9 ' + PRIMARY])).signature, { status: 'unknown-key' });
  t.match(parseDecryptStatus(S(['NEWSIG', 'ERRSIG 0123456789ABCDEF 1 10 00 1796540647 4'])).signature, { status: 'error' });
  t.match(parseDecryptStatus(S(['NEWSIG', 'EXPKEYSIG 0123 x'])).signature, { status: 'expired-key' });
  t.match(parseDecryptStatus(S(['NEWSIG', 'REVKEYSIG 0123 x'])).signature, { status: 'revoked-key' });
  t.match(parseDecryptStatus(S(['NEWSIG', 'EXPSIG 0123 x'])).signature, { status: 'expired-sig' });
  t.match(parseDecryptStatus(S(['NEWSIG', 'GOODSIG 0123 x'])).signature, { status: 'error' }, 'GOODSIG without VALIDSIG');
  t.match(parseDecryptStatus(S(['NEWSIG', 'GOODSIG 0123 x', `VALIDSIG ${PRIMARY} d 1 0 4 0 1 10 00`])).signature,
    { status: 'good', fingerprint: PRIMARY, primaryFingerprint: PRIMARY }, 'no primary field: the key is its own primary');
  t.match(parseDecryptStatus(S(['NEWSIG', 'GOODSIG 0123 x', 'VALIDSIG nothex d 1 0 4 0 1 10 00 nothex'])).signature, { status: 'error' });
  const two = parseDecryptStatus(S(['NEWSIG', 'GOODSIG 01 x', `VALIDSIG ${PRIMARY} d 1 0 4 0 1 10 00 ${PRIMARY}`, 'TRUST_FULLY 0 pgp',
    'NEWSIG', 'BADSIG 02 y', 'TRUST_NEVER']));
  t.match(two.signature, { status: 'good', count: 2, trust: 'fully', fingerprint: PRIMARY }, 'the first verdict; both counted');
  const unsigned = parseDecryptStatus(S(['ENC_TO A 1 0', 'DECRYPTION_OKAY']));
  t.match(unsigned, { decrypted: true, signature: { status: 'missing', count: 0 } });
  t.match(parseDecryptStatus(S(['ENC_TO AAAA 1 0', 'ENC_TO BBBB 1 0', 'NO_SECKEY AAAA', 'NO_SECKEY BBBB', 'DECRYPTION_FAILED'])),
    { noSecretKey: true, decrypted: false, errors: ['DECRYPTION_FAILED'] });
  t.match(parseDecryptStatus(S(['ENC_TO AAAA 1 0', 'ENC_TO BBBB 1 0', 'NO_SECKEY AAAA', 'DECRYPTION_OKAY'])), { noSecretKey: false, decrypted: true });
  t.match(parseDecryptStatus(S(['NEED_PASSPHRASE_SYM 9 3 2', 'DECRYPTION_OKAY'])), { symmetric: true });
  t.match(parseDecryptStatus(S(['ENC_TO A 1 0', 'BAD_PASSPHRASE A'])), { badPassphrase: true });
  t.match(parseDecryptStatus(S(['ENC_TO A 1 0', 'ERROR pkdecrypt_failed 67108875'])), { badPassphrase: true }, 'bad passphrase (gpg 2.2)');
  t.match(parseDecryptStatus(S(['ENC_TO A 1 0', 'ERROR pkdecrypt_failed 67109041'])), { badPassphrase: true }, 'no passphrase (gpg 2.2)');
  t.match(parseDecryptStatus(S(['ENC_TO A 1 0', 'ERROR pkdecrypt_failed 67108881'])), { badPassphrase: false });
  t.match(parseDecryptStatus(S(['ENC_TO A 1 0', 'DECRYPTION_OKAY', 'DECRYPTION_FAILED'])), { decrypted: false });
  t.match(parseDecryptStatus(S(['NODATA 1', 'FAILURE decrypt 58'])), { errors: ['NODATA 1', 'FAILURE decrypt 58'], encTo: [] });
  t.match(parseDecryptStatus(''), { decrypted: false, signature: { status: 'missing', count: 0, trust: 'unknown' } });
});
