// GnuPG SPA against the real programs (issue 24), in namespaces 10.77.66.0/24 (ses-gc-srv,
// ses-gc-cli). Keys are made here (rsa2048 on both ends; one pair with passphrases), each
// client key certified in the server's keyring as fwknopd wants (validity ≥ marginal).
//   1. Sesame's `knock --spa -g` opens the real fwknopd (Debian 2.6.10): signed, with and without
//      HMAC, and with passphrases on both keys (GPG_DECRYPT_PW; GPG_SIGNING_PW from an rc file);
//      unsigned is refused (GPG_REQUIRE_SIG).
//   2. The real fwknop client's GnuPG packets, caught by a UDP listener, read back through
//      Sesame's server framing and gpg runner: the plaintext and the signer are right.
// fwknopd runs CMD_CYCLE_OPEN hooks that append a line to a file, so no firewall is touched.

import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, ROOT, readIf, sleep, waitFor } from '../helpers/lab.js';
import { startFwknopd, writeFwknopdConf, type Fwknopd } from '../helpers/fwknopd.js';
import { GpgHome, type TestKey } from '../helpers/gpg-keys.js';
import { generateKeyPair } from '../../lib/spa/keygen.js';
import { openGpgWire } from '../../lib/spa/gpg-framing.js';
import { gpgDecrypt } from '../../lib/gpg/decrypt.js';
import { parseGpgIdList } from '../../lib/spa/gpg-ids.js';
import { judgeSignature } from '../../lib/spa/gpg-policy.js';
import { decodePlaintext } from '../../lib/spa/message.js';

t.setTimeout(300_000);
const lab = new Lab(66, 'gc');
const KNOCK = join(ROOT, 'bin/knock');
const FWKNOP = '/usr/bin/fwknop';
const HOOK_OUT = lab.file('hook.out', '');
const HOOK = lab.file('hook.sh', `#!/bin/sh\necho "$@" >> ${HOOK_OUT}\n`);
chmodSync(HOOK, 0o755);
const RUN = join(lab.dir, 'run');
const b64 = (b: Buffer) => b.toString('base64');
const hmac = generateKeyPair('sha256').hmacKey;
const SRV_PW = 'decrypt me 66';
// fwknop's rc values end at a blank: a signing passphrase for GPG_SIGNING_PW has none.
const CLI_PW = 'sign_me_66';

const homes: GpgHome[] = [];
const home = (tag: string) => { const h = new GpgHome(tag, lab.dir); homes.push(h); return h; };
let srvHome: GpgHome, srvPwHome: GpgHome, cliHome: GpgHome;
let srv: TestKey, srvPw: TestKey, cli: TestKey, cliPw: TestKey;
let fwknopd: Fwknopd | undefined;
const fwOut = () => fwknopd?.output() ?? '';

t.teardown(async () => {
  await fwknopd?.stop();
  for (const h of homes) h.remove();
  lab.cleanup();
});

function stanza(tag: string, lines: string[]): string {
  return ['SOURCE ANY', ...lines, `CMD_CYCLE_OPEN ${HOOK} open ${tag} $SRC $PORT $PROTO`, 'CMD_CYCLE_CLOSE NONE', 'CMD_CYCLE_TIMER 5', ''].join('\n');
}

t.before(async () => {
  if (process.getuid?.() !== 0) throw new Error('end-to-end tests need root (network namespaces)');
  srvHome = home('s');
  srvPwHome = home('p');
  cliHome = home('c');
  srv = srvHome.makeKey('srv', 'rsa2048');
  srvPw = srvPwHome.makeKey('srvpw', 'rsa2048', { passphrase: SRV_PW });
  cli = cliHome.makeKey('cli', 'rsa2048');
  cliPw = cliHome.makeKey('clipw', 'rsa2048', { passphrase: CLI_PW });
  srvHome.exportTo(srv, cliHome);
  srvPwHome.exportTo(srvPw, cliHome);
  for (const k of [cli, cliPw]) { cliHome.exportTo(k, srvHome); cliHome.exportTo(k, srvPwHome); }
  // fwknopd (gpgme) wants the signer's key valid at least marginally: certify them locally.
  for (const k of [cli, cliPw]) { srvHome.lsign(k, srv); srvPwHome.lsign(k, srvPw, SRV_PW); }
  const short = (k: TestKey) => k.fpr.slice(-8);
  const access = lab.file('access.conf', [
    stanza('hmac', [`GPG_HOME_DIR ${srvHome.dir}`, `GPG_DECRYPT_ID ${short(srv)}`, 'GPG_ALLOW_NO_PW Y', 'GPG_REQUIRE_SIG Y',
      `GPG_REMOTE_ID ${short(cli)}`, `HMAC_KEY_BASE64 ${b64(hmac)}`, 'HMAC_DIGEST_TYPE sha256']),
    stanza('nohmac', [`GPG_HOME_DIR ${srvHome.dir}`, `GPG_DECRYPT_ID ${short(srv)}`, 'GPG_ALLOW_NO_PW Y', 'GPG_REQUIRE_SIG Y',
      `GPG_REMOTE_ID ${short(cli)}`]),
    stanza('pw', [`GPG_HOME_DIR ${srvPwHome.dir}`, `GPG_DECRYPT_ID ${short(srvPw)}`, `GPG_DECRYPT_PW ${SRV_PW}`,
      `GPG_REMOTE_ID ${short(cliPw)}`]),
  ].join('\n'));
  const conf = writeFwknopdConf(lab, RUN);
  chmodSync(access, 0o600);
  lab.up();
  fwknopd = await startFwknopd(lab, conf, access, RUN);
});

interface Run { code: number; stdout: string; stderr: string }
function inClient(cmd: string, args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync('ip', ['netns', 'exec', lab.cli, cmd, ...args], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE: process.execPath, HOME: lab.dir, ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const knock = (args: string[]) => inClient(KNOCK, ['--spa', ...args]);
const hookLines = () => readIf(HOOK_OUT).split('\n').filter(Boolean);

/** Runs `act`, then waits (at most 10 s) for one new hook line; returns it, or undefined. */
async function opened(act: () => Run, t: Test): Promise<string | undefined> {
  const before = hookLines().length;
  const r = act();
  t.equal(r.code, 0, `exits 0 ${r.stderr}`);
  if (!(await waitFor(() => hookLines().length > before, 10_000))) { t.comment(fwOut().slice(-2000)); return undefined; }
  await sleep(200);
  const added = hookLines().slice(before);
  t.equal(added.length, 1, 'exactly one door opened');
  return added[0];
}

const gpgArgs = (k: TestKey = cli, recipient: TestKey = srv) =>
  ['-g', '--gpg-recipient-key', recipient.fpr, '--gpg-signer-key', k.fpr, '--gpg-home-dir', cliHome.dir];

t.test('knock --spa -g, signed, with HMAC: fwknopd opens', async (t) => {
  const line = await opened(() => knock(['-A', 'tcp/22', '-a', lab.client4, ...gpgArgs(), '--gpg-no-signing-pw',
    '--key-base64-hmac', b64(hmac), '--use-hmac', lab.server4]), t);
  t.equal(line, `open hmac ${lab.client4} 22 6`);
  t.match(fwOut(), `Incoming SPA data signed by '${cli.fpr.slice(-8)}'`);
});

t.test('knock --spa -g, signed, no HMAC: the stanza without one opens', async (t) => {
  const line = await opened(() => knock(['-A', 'udp/1194', '-s', ...gpgArgs(), '--gpg-no-signing-pw', lab.server4]), t);
  t.equal(line, `open nohmac ${lab.client4} 1194 17`);
});

t.test('passphrases on both keys: GPG_SIGNING_PW from an rc file, GPG_DECRYPT_PW on the server', async (t) => {
  const rc = lab.file('gpg.fwknoprc', `[gc]
SPA_SERVER ${lab.server4}
ACCESS tcp/2222
ALLOW_IP ${lab.client4}
USE_GPG Y
GPG_RECIPIENT ${srvPw.fpr}
GPG_SIGNER ${cliPw.fpr}
GPG_SIGNING_PW ${CLI_PW}
GPG_HOMEDIR ${cliHome.dir}
`);
  chmodSync(rc, 0o600);
  // First: once a signature is made, gpg-agent caches the unlocked key (10 min) and any passphrase signs.
  const bad = knock(['-A', 'tcp/22', '-a', lab.client4, ...gpgArgs(cliPw, srvPw), '--key', 'wrong', lab.server4]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /knock: gpg could not encrypt and sign the SPA message: .*passphrase is wrong or missing/);
  const line = await opened(() => knock(['--fwknoprc', rc, '-n', 'gc']), t);
  t.equal(line, `open pw ${lab.client4} 2222 6`);
});

t.test('unsigned: fwknopd refuses (GPG_REQUIRE_SIG)', async (t) => {
  const before = hookLines().length;
  const outBefore = fwOut().length;
  const r = knock(['-A', 'tcp/22', '-a', lab.client4, '-g', '--gpg-recipient-key', srv.fpr, '--gpg-home-dir', cliHome.dir, lab.server4]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, 'not signed');
  t.ok(await waitFor(() => /signature|GPGME/i.test(fwOut().slice(outBefore)), 10_000), 'fwknopd says why');
  t.comment(fwOut().slice(outBefore).split('\n').filter((l) => /sig|GPG/i.test(l)).slice(0, 4).join('\n'));
  await sleep(500);
  t.equal(hookLines().length, before, 'no door opened');
});

/** Runs the real fwknop client to a UDP listener in the server namespace; the datagram it sent. */
async function fwknopPacket(args: string[], t: Test): Promise<string | undefined> {
  const listener = spawn('ip', ['netns', 'exec', lab.srv, process.execPath, '-e', `
    const s = require('node:dgram').createSocket('udp4');
    s.on('message', (m) => { process.stdout.write(m.toString('latin1') + '\\n'); process.exit(0); });
    s.bind(62202, '${lab.server4}', () => process.stdout.write('ready\\n'));
    setTimeout(() => process.exit(1), 30000);`], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { listener.kill('SIGKILL'); });
  let got = '';
  listener.stdout.on('data', (b: Buffer) => { got += b.toString('latin1'); });
  if (!(await waitFor(() => got.startsWith('ready\n'), 5000))) return undefined;
  const r = inClient(FWKNOP, ['-A', 'tcp/22', '-a', '10.66.0.9', '-D', lab.server4, '-p', '62202', '--no-save-args', '-U', 'fwk',
    '--gpg-encryption', '--gpg-recipient-key', srv.fpr, '--gpg-signer-key', cli.fpr, '--gpg-home-dir', cliHome.dir,
    '--gpg-no-signing-pw', ...args]);
  t.equal(r.code, 0, `fwknop exits 0 ${r.stderr}`);
  if (!(await waitFor(() => got.split('\n').length >= 3, 10_000))) return undefined;
  return got.split('\n')[1];
}

t.test('the real fwknop client\'s GnuPG packets read back through Sesame\'s framing and gpg runner', async (t) => {
  for (const withHmac of [true, false]) {
    const wire = await fwknopPacket(withHmac ? ['--key-base64-hmac', b64(hmac), '--use-hmac'] : [], t);
    t.ok(wire, `caught a packet (${withHmac ? 'HMAC' : 'no HMAC'})`);
    if (!wire) continue;
    t.ok(wire.length >= 400 && !wire.startsWith('hQ'), `${wire.length} characters, the prefix stripped`);
    const open = openGpgWire(wire, withHmac ? { key: hmac, digest: 'sha256' } : undefined);
    t.ok(open.ok, `framing ${open.ok ? '' : open.error}`);
    if (!open.ok) continue;
    t.equal(open.candidates[0]!.prefix, 'hQ', 'fwknop\'s own prefix, first');
    const d = await gpgDecrypt(open.candidates[0]!.message, { homeDir: srvHome.dir });
    t.ok(d.ok, d.ok ? 'decrypted' : d.detail);
    if (!d.ok) continue;
    t.match(d.signature, { status: 'good', fingerprint: cli.fpr, primaryFingerprint: cli.fpr });
    const ids = parseGpgIdList(cli.fpr);
    t.match(judgeSignature(d.signature, { requireSig: true, remoteIds: ids.ok ? ids.ids : [] }), { ok: true });
    const f = decodePlaintext(d.plaintext.toString('latin1'));
    t.match(f, { ok: true, fields: { username: 'fwk', message: '10.66.0.9,tcp/22', messageType: 1 } });
    if (f.ok) t.ok(Math.abs(f.fields.timestamp - Date.now() / 1000) < 30, 'timestamp is now');
    if (withHmac) {
      const altered = wire.slice(0, 100) + (wire[100] === 'A' ? 'B' : 'A') + wire.slice(101);
      t.match(openGpgWire(altered, { key: hmac, digest: 'sha256' }), { ok: false, error: 'hmac' }, 'altered: refused before gpg');
    }
  }
});

t.test('fwknopd is still running; every door opened was expected', async (t) => {
  t.equal(fwknopd?.proc.exitCode, null);
  t.same(hookLines().map((l) => l.split(' ')[1]), ['hmac', 'nohmac', 'pw']);
});
