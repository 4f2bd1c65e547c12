// knockd --provision DOOR [--new-secret] as users run it (bin/knockd from the build): the
// otpauth:// URI decodes back to the door's secret, and so does the QR code printed in the
// terminal, read for real by zbarimg (zbar-tools); --new-secret writes a fresh 0600 secret that
// the URI carries; doors without TOTP and unknown doors are refused. No network needed.

import type { Test } from 'tap';
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTotpUri } from '../../lib/totp/uri.js';
import { base32Decode, base32Encode } from '../../lib/totp/base32.js';
import { parseSecretFile } from '../../lib/totp/secret.js';
import { pixelsToPbm, terminalQrPixels } from '../helpers/terminal-qr.js';

const BIN = new URL('../../bin/knockd', import.meta.url).pathname;
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

function knockd(args: string[]) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE: process.execPath } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'sesame-provision-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const secretFile = (name: string, text: string, mode = 0o600) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
};
const SSH = secretFile('ssh.totp', `${RFC_SECRET}\n`);
const VPN = join(dir, 'vpn.totp'); // written by --new-secret
const CONF = join(dir, 'knockd.conf');
writeFileSync(CONF, `[options]
	LogFile = ${join(dir, 'log')}
[ssh]
	sequence = 7000
	TOTP_Secret_File = ${SSH}
	TOTP_Port_Base = 40000
	command = true
[vpn gate]
	TOTP_Secret_File = ${VPN}
	TOTP_Digits = 8
	TOTP_Port_Base = 50000
	TOTP_Protocol = udp
	command = true
[plain]
	sequence = 1,2,3
	command = true
`);

/** The URI line and the QR code's text of --provision's output. */
function split(stdout: string): { uri: string; qr: string } {
  const [uri, ...rest] = stdout.split('\n');
  return { uri: uri!, qr: rest.join('\n') };
}

/** What zbarimg reads from the terminal QR code. */
function zbar(t: Test, qr: string): string {
  const pbm = join(dir, 'qr.pbm');
  writeFileSync(pbm, pixelsToPbm(terminalQrPixels(qr)));
  const r = spawnSync('zbarimg', ['-q', '--raw', pbm], { encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 0, `zbarimg: ${r.error?.message ?? r.stderr}`);
  return (r.stdout ?? '').replace(/\n$/, '');
}

t.test('--provision: the URI and the terminal QR code both carry the door\'s secret (another door\'s missing file is not its business)', async (t) => {
  const r = knockd(['--provision', 'ssh', '-c', CONF]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  const { uri, qr } = split(r.stdout);
  t.equal(uri, `otpauth://totp/Sesame:ssh%40${encodeURIComponent(hostname())}?secret=${RFC_SECRET}&issuer=Sesame&algorithm=SHA1&digits=6&period=30`);
  const back = parseTotpUri(uri);
  t.same(back && { ...back, secret: Buffer.from(back.secret) },
    { label: `ssh@${hostname()}`, secret: Buffer.from(base32Decode(RFC_SECRET)!), issuer: 'Sesame', digits: 6 }, 'the URI decodes back to the secret');
  t.match(qr, /[▀▄█]/, 'a QR code drawn with half blocks follows');
  t.equal(zbar(t, qr), uri, 'zbarimg reads the URI from the QR code');
});

t.test('--provision --new-secret: a fresh 0600 secret file, the one the URI carries; a space in the door name', async (t) => {
  const r = knockd(['--provision', 'vpn gate', '--new-secret', '-c', CONF]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, `knockd: wrote a new secret to ${VPN} (mode 600); a running knockd uses it after a reload (SIGHUP)\n`);
  const st = statSync(VPN);
  t.equal(st.mode & 0o777, 0o600, 'mode 600');
  t.ok(st.isFile());
  const file = parseSecretFile(readFileSync(VPN, 'utf8'));
  t.ok(file.ok && file.secret.length === 20, '160 bits of base32, one line');
  t.match(readFileSync(VPN, 'utf8'), /^[A-Z2-7]{32}\n$/);
  const { uri, qr } = split(r.stdout);
  t.match(uri, new RegExp(`^otpauth://totp/Sesame:vpn%20gate%40[^?]+\\?secret=[A-Z2-7]{32}&issuer=Sesame&algorithm=SHA1&digits=8&period=30$`));
  const back = parseTotpUri(uri)!;
  t.equal(back.label, `vpn gate@${hostname()}`);
  t.equal(back.digits, 8);
  t.equal(base32Encode(back.secret), file.ok ? base32Encode(file.secret) : 'unreadable', 'the URI carries the new secret');
  t.equal(zbar(t, qr), uri, 'and so does the QR code');

  // Again: another secret; and now the door provisions without --new-secret too.
  const again = knockd(['--provision', 'vpn gate', '--new-secret', '-c', CONF]);
  t.equal(again.code, 0, again.stderr);
  t.not(split(again.stdout).uri, uri, 'a new secret each time');
  const plain = knockd(['--provision', 'vpn gate', '-c', CONF]);
  t.equal(plain.code, 0, plain.stderr);
  t.equal(split(plain.stdout).uri, split(again.stdout).uri, 'what the file now holds');
});

t.test('refusals: a door without TOTP, an unknown door, a secret others can read, --new-secret alone', async (t) => {
  const plain = knockd(['--provision', 'plain', '-c', CONF]);
  t.same(plain, { code: 1, stdout: '', stderr: 'knockd: --provision: door [plain] has no TOTP keys (TOTP_Secret_File, TOTP_Port_Base): nothing to provision\n' });
  const none = knockd(['--provision', 'nope', '-c', CONF]);
  t.same(none, { code: 1, stdout: '', stderr: `knockd: --provision: no door [nope] in ${CONF}\n` });
  chmodSync(SSH, 0o644);
  t.teardown(() => chmodSync(SSH, 0o600));
  const open = knockd(['--provision', 'ssh', '-c', CONF]);
  t.equal(open.code, 1);
  t.equal(open.stdout, '');
  t.match(open.stderr, `${SSH}: mode 644: readable by others than its owner (chmod 600)`, 'the config\'s own check of the secret file');
  t.equal(readFileSync(SSH, 'utf8'), `${RFC_SECRET}\n`, 'untouched');
  const alone = knockd(['--new-secret', '-c', CONF]);
  t.equal(alone.stderr, 'knockd: --new-secret needs --provision DOOR\n');
  t.match(alone.stdout, /^usage: knockd/);
  const noFile = knockd(['--provision', 'ssh', '-c', join(dir, 'missing.conf')]);
  t.equal(noFile.code, 1);
  t.equal(noFile.stdout, '');
});

t.test('--new-secret replaces a secret, never another file the config names', async (t) => {
  const precious = secretFile('precious.txt', 'root:x:0:0:root:/root:/bin/bash\n', 0o644);
  const conf = join(dir, 'typo.conf');
  writeFileSync(conf, `[t]\n\tTOTP_Secret_File = ${precious}\n\tTOTP_Port_Base = 40000\n\tcommand = true\n`);
  const r = knockd(['--provision', 't', '--new-secret', '-c', conf]);
  t.same(r, { code: 1, stdout: '', stderr: `knockd: --provision: ${precious} exists and does not hold a TOTP secret; not overwriting it (remove it first)\n` });
  t.equal(readFileSync(precious, 'utf8'), 'root:x:0:0:root:/root:/bin/bash\n', 'untouched');
});

t.test('--check shows the TOTP doors by their keys, never the secret', async (t) => {
  const r = knockd(['--check', '-c', CONF]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `  totp_secret_file: ${SSH}\n  totp_digits: 6\n  totp_port_base: 40000 (line 6)\n`);
  t.match(r.stdout, '  totp_ports: udp/50000-50099, udp/50100-50199, udp/50200-50299, udp/50300-50399\n');
  t.notMatch(r.stdout, RFC_SECRET);
  t.notMatch(r.stdout, readFileSync(VPN, 'utf8').trim(), 'nor the one --new-secret wrote');
});
