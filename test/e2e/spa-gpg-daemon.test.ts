// GnuPG SPA into Sesame's daemon (issue 24), with the real fwknop client (Debian 2.6.10) in GPG
// mode, in namespaces 10.77.68.0/24 (ses-gg-srv, ses-gg-cli). The door lists its signers by a
// full fingerprint, a long ID, a short ID, and a signing subkey's primary fingerprint (fwknopd
// matches only short IDs, #263); a signer not listed, an unsigned packet, an altered packet and a
// replay are refused, with their reasons; one door has an HMAC key, checked before any gpg work.

import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { SESAME, labForFile, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';
import { GpgHome, type TestKey } from '../helpers/gpg-keys.js';
import { generateKeyPair } from '../../lib/spa/keygen.js';

t.setTimeout(300_000);
const homes: GpgHome[] = [];
const { lab } = labForFile(t, 68, 'gg', () => { for (const h of homes) h.remove(); });
const home = (tag: string) => { const h = new GpgHome(tag, lab.dir); homes.push(h); return h; };
const HMAC = generateKeyPair('sha256').hmacKey.toString('base64');

const srvHome = home('s');
const cliHome = home('c');
let srv: TestKey;
const signers: Record<'fpr' | 'long' | 'short' | 'sub' | 'stranger', TestKey> = {} as never;
const log = lab.file('gd.log');
let daemon: Daemon | undefined;
const lines = () => logLines(readIf(log));

async function expectLog(t: Test, from: number, re: RegExp, what: string, ms = 8000): Promise<void> {
  const ok = await waitFor(() => lines().slice(from).some((l) => re.test(l)), ms);
  t.ok(ok, what);
  if (!ok) t.comment(lines().slice(from).join('\n'));
}

/** The real fwknop client in GPG mode; `signer` undefined: unsigned. */
function fwknop(signer: TestKey | undefined, args: string[], o: { hmac?: boolean; port?: number } = {}): string {
  return lab.exec(lab.cli, ['env', `HOME=${lab.dir}`, 'timeout', '30', 'fwknop', '--no-rc-file', '--no-save-args',
    '-D', lab.server4, '-p', String(o.port ?? 62201), '--gpg-encryption', '--gpg-recipient-key', srv.fpr,
    ...(signer ? ['--gpg-signer-key', signer.signFpr ?? signer.fpr] : []), '--gpg-home-dir', cliHome.dir,
    '--gpg-no-signing-pw', ...(o.hmac ? ['--use-hmac', '--key-base64-hmac', HMAC] : []), ...args], true);
}

t.before(async () => {
  srv = srvHome.makeKey('server', 'rsa2048');
  for (const name of ['fpr', 'long', 'short', 'stranger'] as const) signers[name] = cliHome.makeKey(`c-${name}`, 'rsa2048');
  signers.sub = cliHome.makeKey('c-sub', 'rsa2048', { signingSubkey: true });
  srvHome.exportTo(srv, cliHome);
  for (const k of Object.values(signers)) cliHome.exportTo(k, srvHome);
  const ids = [signers.fpr.fpr, signers.long.fpr.slice(-16), signers.short.fpr.slice(-8), signers.sub.fpr].join(', ');
  const door = (name: string, port: number, extra: string) => `[${name}]\n\tSPA_Port = ${port}\n` +
    `\tSPA_GPG_Home_Dir = ${srvHome.dir}\n\tSPA_GPG_Decrypt_ID = ${srv.fpr}\n\tSPA_GPG_Allow_No_Pw = yes\n` +
    `\tSPA_GPG_Remote_ID = ${ids}\n\tSPA_Open_Ports = tcp/22\n\tCmd_Timeout = 2\n${extra}`;
  const conf = lab.file('gd.conf', `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n` +
    door('gpg', 62201, '') + door('gpg-hmac', 62202, `\tSPA_HMAC_Key_Base64 = ${HMAC}\n`));
  daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', lab.file('state')], log);
});
t.teardown(async () => { if (daemon) await lab.stop(daemon); });

t.test('a signer listed by fingerprint, long ID, short ID, or a signing subkey\'s primary key opens', async (t) => {
  for (const name of ['fpr', 'long', 'short', 'sub'] as const) {
    const from = lines().length;
    fwknop(signers[name], ['-A', 'tcp/22', '-a', lab.client4]);
    await expectLog(t, from, new RegExp(`^${lab.client4}: gpg: SPA: OPEN SESAME for ${lab.client4} tcp/22 \\(user \\S+, timeout 2s\\)$`),
      `signed by the key listed as ${name}`);
  }
});

t.test('with an HMAC key: checked first, then gpg', async (t) => {
  let from = lines().length;
  fwknop(signers.fpr, ['-A', 'tcp/22', '-a', lab.client4], { hmac: true, port: 62202 });
  await expectLog(t, from, /: gpg-hmac: SPA: OPEN SESAME for /, 'opens');
  from = lines().length;
  fwknop(signers.fpr, ['-A', 'tcp/22', '-a', lab.client4], { port: 62202 });
  await expectLog(t, from, /SPA: refused: HMAC mismatch \(GnuPG\)$/, 'without the HMAC: refused before any gpg work');
});

t.test('refused: a signer not listed, an unsigned packet, an altered packet, a replay', async (t) => {
  let from = lines().length;
  fwknop(signers.stranger, ['-A', 'tcp/22', '-a', lab.client4]);
  await expectLog(t, from, /: gpg: SPA: refused: GnuPG: signed by a key not in SPA_GPG_Remote_ID$/, 'a signer not in SPA_GPG_Remote_ID');

  from = lines().length;
  fwknop(undefined, ['-A', 'tcp/22', '-a', lab.client4]);
  await expectLog(t, from, /: gpg: SPA: refused: GnuPG: the message is not signed$/, 'an unsigned packet');

  const saved = lab.file('gpg-pkt.txt');
  fwknop(signers.fpr, ['-A', 'tcp/22', '-a', lab.client4, '-B', saved, '-T']);
  const pkt = readFileSync(saved, 'utf8').trim();
  const send = (text: string) => lab.exec(lab.cli, ['python3', '-c',
    `import socket,sys;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.sendto(sys.argv[1].encode(),('${lab.server4}',62201))`, text]);
  // One character of the ciphertext changed (inside the encrypted data, not the header).
  const at = Math.floor(pkt.length / 2);
  from = lines().length;
  send(pkt.slice(0, at) + (pkt[at] === 'A' ? 'B' : 'A') + pkt.slice(at + 1));
  await expectLog(t, from, /SPA: refused: GnuPG: /, 'an altered packet');
  t.notOk(lines().slice(from).some((l) => l.includes('OPEN SESAME')), 'nothing opened for it');

  from = lines().length;
  send(pkt);
  await expectLog(t, from, /: gpg: SPA: OPEN SESAME for /, 'the original opens');
  from = lines().length;
  send(pkt);
  await expectLog(t, from, /SPA: refused: replay detected \(first seen from /, 'its replay is refused');
  await sleep(300);
  t.notOk(lines().slice(from).some((l) => l.includes('OPEN SESAME')), 'nothing opened for the replay');
  t.equal(daemon!.proc.exitCode, null, 'daemon still running');
});
