// knock --spa in GnuPG mode (issue 24): fwknop's options and rc keys by the same names, checked
// the way the real fwknop 2.6.10 client takes them (an HMAC whenever a key is given, no
// Rijndael key needed, KEY as a synonym of GPG_SIGNING_PW); and a packet built with a real gpg
// read back by the server framing and gpg runner.

import t from 'tap';
import { readStanzas, rcSettings } from '../../lib/client/fwknoprc.js';
import { parseSpaArgs, type SpaCli } from '../../lib/client/spa-args.js';
import { buildRequest, encodeRequest, type SpaSettings } from '../../lib/client/spa-request.js';
import { encodeGpgRequest } from '../../lib/client/spa-gpg-encode.js';
import { spaMain } from '../../lib/client/spa-main.js';
import { openGpgWire } from '../../lib/spa/gpg-framing.js';
import { gpgDecrypt } from '../../lib/gpg/decrypt.js';
import { decodePlaintext } from '../../lib/spa/message.js';
import { GpgHome } from '../helpers/gpg-keys.js';

t.setTimeout(300_000);
const H = Buffer.alloc(64, 9).toString('base64');
const NOW = 1_800_000_000;
const ENV = { LOGNAME: 'alice' };

function run(argv: string[]): SpaCli {
  const r = parseSpaArgs(argv);
  if (r.kind !== 'run') throw new Error(`parse: ${JSON.stringify(r)}`);
  return r.args;
}
const BASE = ['--spa', '-A', 'tcp/22', '-a', '192.0.2.7', '--gpg-encryption', '--gpg-recipient-key', 'SRVKEY', 'gate.example'];
const req = (argv: string[], s: Partial<SpaSettings> = {}) => buildRequest({ ...run(argv).settings, ...s }, { env: ENV, now: NOW });
const reqErr = (argv: string[], s: Partial<SpaSettings> = {}) => {
  try { req(argv, s); } catch (e) { return (e as Error).message; }
  return 'no error';
};

t.test('options: fwknop\'s names, -g, and the settings they give', async (t) => {
  const a = run([...BASE, '--gpg-signer-key', 'ME', '--gpg-home-dir', '/h/.gnupg', '--gpg-no-signing-pw', '--gpg-agent',
    '--gpg-exe', '/opt/gpg', '--use-hmac', '--key-base64-hmac', H]);
  const s = a.settings;
  t.same([s.gpg?.text, s.gpgRecipient?.text, s.gpgSigner?.text, s.gpgHomeDir?.text, s.gpgNoSigningPw?.text, s.gpgAgent?.text, s.gpgExe?.text,
    s.useHmac?.text, s.hmacKeyBase64?.text], ['Y', 'SRVKEY', 'ME', '/h/.gnupg', 'Y', 'Y', '/opt/gpg', 'Y', H]);
  t.equal(s.gpgRecipient?.origin, '--gpg-recipient-key');
  t.equal(run(['--spa', '-g', '--gpg-recipient', 'R', '--gpg-signer', 'S', 'h']).settings.gpgSigner?.text, 'S', 'short -g, man page spellings');
  t.equal(run(['--spa', '-g', 'h']).settings.gpg?.origin, '--gpg-encryption');
});

t.test('the request: recipient required, no Rijndael key, the HMAC optional', async (t) => {
  const r = req([...BASE, '--gpg-signer-key', 'ME', '--gpg-no-signing-pw']);
  t.same(r.gpg, { recipient: 'SRVKEY', signer: 'ME', homeDir: undefined, passphrase: '', useAgent: false, gpgPath: undefined });
  t.equal(r.keys.hmacKey, undefined, 'no HMAC without a key, as fwknop');
  t.same(r.warnings, []);
  t.equal(req([...BASE, '--hmac-key-base64', H, '--hmac-digest', 'sha512']).keys.hmacDigest, 'sha512');
  t.equal(req([...BASE, '--key-base64-hmac', H]).keys.hmacKey?.length, 64, 'an HMAC whenever a key is given, as fwknop');
  t.match(reqErr([...BASE, '--use-hmac']), '--use-hmac: an HMAC needs a key');
  t.match(reqErr(BASE.filter((x) => x !== '--gpg-recipient-key' && x !== 'SRVKEY')), 'GnuPG mode needs the server\'s key: give --gpg-recipient-key');
  t.match(reqErr([...BASE, '--gpg-signer-key', 'ME']), 'the signing key ME needs its passphrase: give GPG_SIGNING_PW in the rc file, --gpg-agent');
  t.same(req(BASE).warnings, ['the SPA message is not signed (no --gpg-signer-key): servers that require a signature refuse it']);
  t.match(req([...BASE, '-M', 'ctr']).warnings, [/not signed/, /-M\/--encryption-mode: ignored: GnuPG mode has no Rijndael encryption mode/]);
  t.throws(() => encodeRequest(req(BASE)), /encodeGpgRequest/);
});

t.test('the signing passphrase: agent, none, GPG_SIGNING_PW(_BASE64), or KEY as fwknop\'s synonym', async (t) => {
  const signed = [...BASE, '--gpg-signer-key', 'ME'];
  t.equal(req([...signed, '--gpg-agent']).gpg?.passphrase, undefined);
  t.equal(req([...signed, '--gpg-agent']).gpg?.useAgent, true);
  t.equal(req(signed, { gpgSigningPw: { text: 'pw one', origin: 'f:3: GPG_SIGNING_PW' } }).gpg?.passphrase, 'pw one');
  t.equal(req(signed, { gpgSigningPwBase64: { text: Buffer.from('pw two').toString('base64'), origin: 'f:3' } }).gpg?.passphrase, 'pw two');
  t.match(reqErr(signed, { gpgSigningPwBase64: { text: 'not base64!', origin: 'f:3: GPG_SIGNING_PW_BASE64' } }), 'f:3: GPG_SIGNING_PW_BASE64: not valid base64');
  t.equal(req([...signed, '--key', 'from key']).gpg?.passphrase, 'from key');
  t.equal(req([...signed, '--gpg-no-signing-pw', '--key', 'x']).gpg?.passphrase, '', '--gpg-no-signing-pw wins');
  t.equal(req(BASE, { gpgSigningPw: { text: 'unused', origin: 'x' } }).gpg?.passphrase, undefined, 'unsigned: no passphrase');
  // Without GnuPG mode the GnuPG options change nothing; given on the command line, they say so.
  const plain = ['--spa', '-A', 'tcp/22', '-a', '192.0.2.7', '--key-base64', Buffer.alloc(32, 7).toString('base64'), '--hmac-key-base64', H, 'h'];
  const r = req([...plain, '--gpg-recipient-key', 'X']);
  t.equal(r.gpg, undefined);
  t.same(r.warnings, ['--gpg-recipient-key: ignored without --gpg-encryption (USE_GPG Y)']);
});

t.test('fwknoprc: the GnuPG keys of fwknop\'s test rc files', async (t) => {
  const text = `[default]
USE_GPG Y

[gpg]
SPA_SERVER 127.0.0.1
ACCESS tcp/22
ALLOW_IP 10.0.0.2
GPG_HOMEDIR conf/client-gpg-no-pw
GPG_SIGNER 6A3FAD56
GPG_RECIPIENT 361BBAD4
GPG_SIGNING_PW fwknoptest
GPG_SIGNING_PW_BASE64 ZndrbnAgcHc=
USE_GPG_AGENT N
GPG_NO_SIGNING_PW N
GPG_EXE /usr/bin/gpg
HMAC_KEY_BASE64 ${H}
`;
  const rc = rcSettings(readStanzas(text, 'rc', 'gpg'), 'rc');
  t.same(rc.refused, []);
  t.same(rc.notes, []);
  const r = buildRequest(rc.values as SpaSettings, { env: ENV, now: NOW });
  t.same(r.gpg, { recipient: '361BBAD4', signer: '6A3FAD56', homeDir: 'conf/client-gpg-no-pw', passphrase: 'fwknp pw', useAgent: false, gpgPath: '/usr/bin/gpg' },
    'the later of GPG_SIGNING_PW and GPG_SIGNING_PW_BASE64 wins');
  t.equal(r.keys.hmacKey?.length, 64);
  t.equal(rcSettings(readStanzas('[default]\nUSE_GPG N\nGPG_RECIPIENT X\n', 'rc', undefined), 'rc').values['gpg']?.text, 'N');
});

t.test('a packet built with the real gpg reads back through the server framing and gpg', async (t) => {
  const srv = new GpgHome('ksrv');
  const cli = new GpgHome('kcli');
  t.teardown(() => { srv.remove(); cli.remove(); });
  const sk = srv.makeKey('srv', 'rsa2048');
  const ck = cli.makeKey('cli', 'rsa2048');
  srv.exportTo(sk, cli);
  cli.exportTo(ck, srv);
  const r = req(['--spa', '-A', 'tcp/22,udp/53', '-a', '192.0.2.7', '-f', '30', '-U', 'carol', '-g', '--gpg-recipient-key', sk.fpr,
    '--gpg-signer-key', ck.fpr, '--gpg-no-signing-pw', '--gpg-home-dir', cli.dir, '--hmac-key-base64', H, 'gate.example']);
  const wire = await encodeGpgRequest(r);
  t.ok(wire.length >= 400 && wire.length <= 1500, `${wire.length} characters`);
  const open = openGpgWire(wire, { key: Buffer.from(H, 'base64'), digest: 'sha256' });
  t.ok(open.ok);
  if (!open.ok) return;
  t.equal(open.candidates[0]!.prefix, 'hQ');
  const d = await gpgDecrypt(open.candidates[0]!.message, { homeDir: srv.dir });
  t.ok(d.ok);
  if (!d.ok) return;
  t.match(d.signature, { status: 'good', fingerprint: ck.fpr });
  const f = decodePlaintext(d.plaintext.toString('latin1'));
  t.match(f, { ok: true, fields: { username: 'carol', message: '192.0.2.7,tcp/22,udp/53', clientTimeout: 30, timestamp: NOW } });

  // knock itself: a gpg failure is one line on stderr and exit 1.
  let err = '';
  const code = await spaMain(['--spa', '-A', 'tcp/22', '-a', '192.0.2.7', '-g', '--gpg-recipient-key', 'nobody@nowhere.test', '--gpg-home-dir', cli.dir,
    '127.0.0.1'], { write: () => true }, { write: (s: string) => { err += s; return true; } }, 'test');
  t.equal(code, 1);
  t.match(err, /^knock: gpg could not encrypt the SPA message: .*nobody@nowhere.test/m);
});
