// The gpg runner with the real gpg (issue 24): keys made here in throw-away homes (rsa2048,
// rsa4096, ed25519/cv25519, a signing subkey, a passphrase), messages encrypted and signed by
// lib/gpg/encrypt.ts, framed by the client and read back by the server framing, decrypted and
// verified by lib/gpg/decrypt.ts; the refusals (unsigned, unknown signer, altered, not ours,
// passphrase-encrypted, signed only, wrong passphrase) and the bounds (timeout with the process
// group killed, output cap, spawn errors, the pool) with fake gpg executables; and the sizes.

import t from 'tap';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GpgHome, type TestKey } from '../helpers/gpg-keys.js';
import { gpgDecrypt, type GpgDecryptResult } from '../../lib/gpg/decrypt.js';
import { gpgEncrypt, GpgError } from '../../lib/gpg/encrypt.js';
import { BUSY, GpgPool } from '../../lib/gpg/pool.js';
import { encodeGpgWire, openGpgWire } from '../../lib/spa/gpg-framing.js';
import { parseGpgIdList } from '../../lib/spa/gpg-ids.js';
import { judgeSignature } from '../../lib/spa/gpg-policy.js';
import { ERROR_CODES } from '../../lib/errors/errors.js';

t.setTimeout(600_000);
// A plaintext as fwknop's client makes it (107 bytes: rand, user, time, version, type, message, digest).
const PT = Buffer.from('1506041345979869:cm9vdA:1796540647:3.0.0:1:MTAuMC4wLjEsdGNwLzIy:Sy4lk0XwQRgIqfEFRB3zZXP6B/u4vi608SR6mpoSfdw');
const PW = 'server secret 9';

const S = new GpgHome('srv');
const C = new GpgHome('cli');
const X = new GpgHome('xtr');
const P = new GpgHome('pw');
const homes = [S, C, X, P];
t.teardown(() => { for (const h of homes) h.remove(); });

let srv: TestKey, srvE: TestKey, srv4: TestKey, cli: TestKey, cliSub: TestKey, stranger: TestKey, srvPw: TestKey;

t.before(() => {
  srv = S.makeKey('srv', 'rsa2048');
  srvE = S.makeKey('srve', 'ed25519');
  srv4 = S.makeKey('srv4', 'rsa4096');
  cli = C.makeKey('cli', 'rsa2048');
  cliSub = C.makeKey('clisub', 'ed25519', { signingSubkey: true });
  stranger = X.makeKey('stranger', 'rsa2048');
  srvPw = P.makeKey('srvpw', 'rsa2048', { passphrase: PW });
  for (const k of [srv, srvE, srv4]) { S.exportTo(k, C); S.exportTo(k, X); }
  for (const k of [cli, cliSub]) C.exportTo(k, S);
  P.exportTo(srvPw, C);
  C.exportTo(cli, P);
});

/** Client → wire → server framing → gpg: what the server makes of it. */
async function roundTrip(msg: Buffer, home = S.dir, passphrase?: string): Promise<GpgDecryptResult & { prefix: string }> {
  const wire = encodeGpgWire(msg);
  const open = openGpgWire(wire, undefined, 0);
  if (!open.ok) throw new Error(`framing: ${open.error}`);
  for (const c of open.candidates) {
    const r = await gpgDecrypt(c.message, { homeDir: home, ...(passphrase !== undefined ? { passphrase } : {}) });
    if (r.ok || c === open.candidates.at(-1)) return { ...r, prefix: c.prefix };
  }
  throw new Error('unreachable');
}

const ids = (s: string) => { const r = parseGpgIdList(s); if (!r.ok) throw new Error(r.error); return r.ids; };

t.test('rsa2048 signed by rsa2048: plaintext, signer, primary; every ID form accepts it', async (t) => {
  const msg = await gpgEncrypt(PT, { homeDir: C.dir, recipient: srv.fpr, signer: cli.fpr, passphrase: '' });
  const r = await roundTrip(msg);
  t.equal(r.prefix, 'hQ');
  t.ok(r.ok, r.ok ? '' : r.detail);
  if (!r.ok) return;
  t.same(r.plaintext, PT);
  t.match(r.signature, { status: 'good', count: 1, fingerprint: cli.fpr, primaryFingerprint: cli.fpr, trust: 'undefined' });
  t.equal(r.decryptionKey, srv.encFpr);
  for (const id of [cli.fpr.slice(-8), cli.fpr.slice(-16), cli.fpr, `0x${cli.fpr.slice(-16).toLowerCase()}`]) {
    t.match(judgeSignature(r.signature, { requireSig: true, remoteIds: ids(id) }), { ok: true }, `Remote_ID ${id}`);
  }
  t.same(judgeSignature(r.signature, { requireSig: true, remoteIds: ids('DEADBEEF') }), { ok: false, reason: 'unlisted-signer' });
  t.same(judgeSignature(r.signature, { requireSig: true, remoteIds: [] }), { ok: false, reason: 'untrusted-signer' },
    'no list: fwknopd\'s validity rule, and the key is not certified');
  S.lsign(cli, srv);
  const again = await roundTrip(await gpgEncrypt(PT, { homeDir: C.dir, recipient: srv.fpr, signer: cli.fpr, passphrase: '' }));
  t.match(again, { ok: true, signature: { trust: 'fully' } }, 'certified by the server\'s key: valid');
  if (again.ok) t.same(judgeSignature(again.signature, { requireSig: true, remoteIds: [] }), { ok: true, signer: undefined });
});

t.test('cv25519 recipient (header "hF"), signed by an ed25519 signing subkey (fwknop#263)', async (t) => {
  const msg = await gpgEncrypt(PT, { homeDir: C.dir, recipient: srvE.fpr, signer: cliSub.fpr, passphrase: '' });
  t.equal(msg.toString('base64').slice(0, 2), 'hF', 'not fwknop\'s "hQ"');
  const r = await roundTrip(msg);
  t.equal(r.prefix, 'hF');
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.plaintext, PT);
  t.match(r.signature, { status: 'good', fingerprint: cliSub.signFpr, primaryFingerprint: cliSub.fpr });
  for (const id of [cliSub.fpr.slice(-8), cliSub.fpr, cliSub.signFpr!.slice(-16)]) {
    t.match(judgeSignature(r.signature, { requireSig: true, remoteIds: ids(id) }), { ok: true }, `Remote_ID ${id}`);
  }
});

t.test('refusals: unsigned, unknown signer, altered, not ours, passphrase-encrypted, signed only', async (t) => {
  const policy = { requireSig: true, remoteIds: ids(cli.fpr) };
  const unsigned = await roundTrip(await gpgEncrypt(PT, { homeDir: C.dir, recipient: srv.fpr }));
  t.match(unsigned, { ok: true, signature: { status: 'missing', count: 0 } });
  if (unsigned.ok) t.same(judgeSignature(unsigned.signature, policy), { ok: false, reason: 'missing-signature' });

  const unknown = await roundTrip(await gpgEncrypt(PT, { homeDir: X.dir, recipient: srv.fpr, signer: stranger.fpr, passphrase: '' }));
  t.match(unknown, { ok: true, signature: { status: 'unknown-key', keyId: stranger.fpr.slice(-16) } });
  if (unknown.ok) t.same(judgeSignature(unknown.signature, policy), { ok: false, reason: 'unknown-key' });

  const good = await gpgEncrypt(PT, { homeDir: C.dir, recipient: srv.fpr, signer: cli.fpr, passphrase: '' });
  for (const at of [good.length - 5, Math.floor(good.length * 0.75)]) {
    const bad = Buffer.from(good);
    bad[at]! ^= 0x10;
    const r = await roundTrip(bad);
    t.match(r, { ok: false, reason: 'decrypt-failed' }, `a bit flipped at ${at} of ${good.length}: the MDC fails`);
  }

  // Data appended, or the message twice: gpg still decrypts the first one; refused.
  for (const [what, msg] of [['junk appended', Buffer.concat([good, Buffer.from([0, 0, 0, 1, 2])])], ['twice', Buffer.concat([good, good])]] as const) {
    t.match(await gpgDecrypt(msg, { homeDir: S.dir }), { ok: false, reason: /^(malformed|decrypt-failed)$/ }, what);
  }
  t.match(await gpgDecrypt(good, { homeDir: S.dir }), { ok: true }, 'the message itself is fine');

  const notOurs = await roundTrip(await gpgEncrypt(PT, { homeDir: X.dir, recipient: stranger.fpr }), S.dir);
  t.match(notOurs, { ok: false, reason: 'no-secret-key' });

  // gpg --symmetric with the door's own passphrase: must not open.
  const sym = X.gpg(['--pinentry-mode', 'loopback', '--passphrase', PW, '--symmetric', '--output', '-'], PT);
  const r = await gpgDecrypt(sym, { homeDir: S.dir, passphrase: PW });
  t.match(r, { ok: false, reason: 'symmetric' });
  const signedOnly = C.gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', cli.fpr, '--sign', '--output', '-'], PT);
  t.match(await gpgDecrypt(signedOnly, { homeDir: S.dir }), { ok: false, reason: 'not-encrypted' });
  t.match(await gpgDecrypt(Buffer.from('junk that is no OpenPGP at all'), { homeDir: S.dir }), { ok: false, reason: 'not-encrypted' });
});

t.test('a passphrase-protected decryption key: wrong passphrase refused, right one opens', async (t) => {
  const msg = await gpgEncrypt(PT, { homeDir: C.dir, recipient: srvPw.fpr, signer: cli.fpr, passphrase: '' });
  // gpg-agent reports a wrong passphrase as BAD_PASSPHRASE, or now and then only as a failed
  // decryption (seen once in ~10 runs under load): either way nothing is decrypted.
  const refused = { ok: false, reason: /^(bad-passphrase|decrypt-failed)$/ };
  t.match(await roundTrip(msg, P.dir), refused, 'none given');
  t.match(await roundTrip(msg, P.dir, 'wrong'), refused, 'a wrong one');
  const r = await roundTrip(msg, P.dir, PW);
  t.match(r, { ok: true, signature: { status: 'good', fingerprint: cli.fpr } });
});

t.test('client errors: unknown recipient, wrong signing passphrase, missing gpg', async (t) => {
  await t.rejects(gpgEncrypt(PT, { homeDir: C.dir, recipient: 'nobody@nowhere.test' }), { code: ERROR_CODES.gpg, name: 'GpgError' });
  const P2 = new GpgHome('sig');
  homes.push(P2);
  const signer = P2.makeKey('pwsigner', 'ed25519', { passphrase: 'sign pw' });
  S.exportTo(srv, P2);
  await t.rejects(gpgEncrypt(PT, { homeDir: P2.dir, recipient: srv.fpr, signer: signer.fpr, passphrase: 'nope' }),
    { message: /passphrase is wrong or missing/ });
  const ok = await gpgEncrypt(PT, { homeDir: P2.dir, recipient: srv.fpr, signer: signer.fpr, passphrase: 'sign pw' });
  t.ok(ok.length > 100);
  await t.rejects(gpgEncrypt(PT, { recipient: 'x', gpgPath: '/nonexistent/gpg' }), GpgError);
});

/** A fake gpg: a shell script in a home directory. */
function fake(name: string, body: string): string {
  const p = join(S.dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

t.test('bounds: a timeout kills the whole process group; output capped; spawn errors', async (t) => {
  const pidFile = join(S.dir, 'sleeper.pid');
  const slow = fake('slow-gpg', `sleep 30 & echo $! > ${pidFile}; wait`);
  const t0 = Date.now();
  const r = await gpgDecrypt(Buffer.from('x'), { homeDir: S.dir, gpgPath: slow, timeoutMs: 300 });
  t.match(r, { ok: false, reason: 'timeout' });
  t.ok(Date.now() - t0 < 5000, 'promptly');
  await new Promise((res) => setTimeout(res, 200));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.notOk(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 'the grandchild is gone too');
  const chatty = fake('chatty-gpg', 'head -c 100000 /dev/zero');
  t.match(await gpgDecrypt(Buffer.from('x'), { homeDir: S.dir, gpgPath: chatty, maxPlaintext: 1000 }), { ok: false, reason: 'too-large' });
  const noisy = fake('noisy-gpg', 'head -c 100000 /dev/zero >&3');
  t.match(await gpgDecrypt(Buffer.from('x'), { homeDir: S.dir, gpgPath: noisy }), { ok: false, reason: 'too-large' }, 'status lines capped');
  t.match(await gpgDecrypt(Buffer.from('x'), { homeDir: S.dir, gpgPath: '/nonexistent/gpg' }), { ok: false, reason: 'spawn-error' });
  const liar = fake('liar-gpg', 'echo "[GNUPG:] ENC_TO 0123 1 0" >&3; echo "[GNUPG:] DECRYPTION_OKAY" >&3; printf plain');
  t.match(await gpgDecrypt(Buffer.from('x'), { homeDir: S.dir, gpgPath: liar }), { ok: true, plaintext: Buffer.from('plain') },
    'fd 3 carries the status lines');
  const pw = fake('pw-gpg', 'read p <&4; echo "[GNUPG:] ENC_TO 0123 1 0" >&3; echo "[GNUPG:] DECRYPTION_OKAY" >&3; printf "%s" "$p"');
  t.match(await gpgDecrypt(Buffer.from('x'), { homeDir: S.dir, gpgPath: pw, passphrase: 'p w' }), { ok: true, plaintext: Buffer.from('p w') },
    'the passphrase arrives on fd 4');
});

t.test('the pool: at most N running, a bounded queue, the rest refused and counted', async (t) => {
  const slow = fake('pool-gpg', 'sleep 0.3');
  const pool = new GpgPool(1, 1);
  const job = () => gpgDecrypt(Buffer.from('x'), { homeDir: S.dir, gpgPath: slow });
  const a = pool.submit(job);
  const b = pool.submit(job);
  t.match(pool.stats(), { running: 1, queued: 1, refused: 0 });
  t.equal(await pool.submit(job), BUSY);
  t.match(pool.stats(), { refused: 1 });
  t.match(await a, { ok: false });
  t.match(await b, { ok: false });
  t.match(pool.stats(), { running: 0, queued: 0, refused: 1, done: 2 });
  t.equal(await pool.submit(async () => 7), 7);
  await t.rejects(pool.submit(async () => { throw new Error('job failed'); }), { message: 'job failed' });
  t.match(pool.stats(), { running: 0, done: 4 });
  t.throws(() => new GpgPool(0, 1), RangeError);
});

t.test('sizes: which keys fit fwknop\'s 1500-byte packet (docs/gpg-spa.md)', async (t) => {
  const recipients = { rsa2048: srv, rsa4096: srv4, cv25519: srvE };
  const rows: string[] = [];
  const sizes: Record<string, number> = {};
  for (const [rname, rk] of Object.entries(recipients)) {
    for (const [sname, home, sk] of [['none', C, undefined], ['rsa2048', C, cli], ['ed25519', C, cliSub], ['rsa4096', S, srv4]] as const) {
      const msg = await gpgEncrypt(PT, { homeDir: home.dir, recipient: rk.fpr, ...(sk ? { signer: sk.fpr, passphrase: '' } : {}) });
      const wire = encodeGpgWire(msg).length;
      sizes[`${rname}/${sname}`] = wire;
      if (wire > 1500) { t.match(openGpgWire(encodeGpgWire(msg)), { ok: false, error: 'too-long' }, `${rname}/${sname}: too long`); }
      rows.push(`${rname.padEnd(8)} ${sname.padEnd(8)} ${String(wire).padStart(5)} ${String(wire + 43).padStart(5)} ${String(wire + 86).padStart(5)}`);
      if (wire > 1500) continue;
      const r = await roundTrip(msg);
      t.ok(r.ok, `${rname} signed by ${sname} decrypts (${r.prefix})`);
    }
  }
  t.comment(['recipient signer   wire +sha256 +sha512', ...rows].join('\n'));
  t.ok(sizes['rsa2048/rsa2048']! + 86 <= 1500, 'rsa2048 both ways fits, even with HMAC-SHA512');
  t.ok(sizes['rsa4096/rsa4096']! > 1500, 'rsa4096 both ways overflows (fwknop#211)');
  t.ok(sizes['cv25519/none']! < 400, 'an unsigned cv25519 message is under 400: fwknopd would take it for Rijndael');
});
