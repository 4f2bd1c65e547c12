// Sesame's `knock --spa` against the real fwknopd (Debian 2.6.10), in namespaces. One fwknopd in
// the foreground with its own config: one access.conf stanza per HMAC digest type (plus a
// passphrase stanza and a CTR stanza), each with its own keys and a CMD_CYCLE_OPEN hook that
// appends a line to a file, so no firewall is touched. Every packet must open exactly its door;
// a wrong HMAC key and a stale timestamp must be refused with fwknopd's messages.

import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, ROOT, readIf, sleep, waitFor } from '../helpers/lab.js';
import { startFwknopd, writeFwknopdConf, type Fwknopd } from '../helpers/fwknopd.js';
import { generateKeyPair } from '../../lib/spa/keygen.js';
import { DIGEST_NAMES, type DigestName } from '../../lib/spa/digests.js';
import { decodeWire } from '../../lib/spa/wire.js';

t.setTimeout(120_000);
const lab = new Lab(15, 'sf');
const KNOCK = join(ROOT, 'bin/knock');
const FWKNOP = '/usr/bin/fwknop';
const HOOK_OUT = lab.file('hook.out', '');
const HOOK = lab.file('hook.sh', `#!/bin/sh\necho "$@" >> ${HOOK_OUT}\n`);
chmodSync(HOOK, 0o755);
const RUN = join(lab.dir, 'run');
const b64 = (b: Buffer) => b.toString('base64');

// Keys: one pair per HMAC digest type, one passphrase stanza, one CTR stanza.
const keys = Object.fromEntries(DIGEST_NAMES.map((d) => [d, generateKeyPair(d)])) as Record<DigestName, ReturnType<typeof generateKeyPair>>;
const PASSPHRASE = 'open sesame 42';
const passHmac = generateKeyPair('sha256').hmacKey;
const ctr = generateKeyPair('sha1');

function stanza(tag: string, lines: string[]): string {
  return [
    'SOURCE ANY', ...lines,
    `CMD_CYCLE_OPEN ${HOOK} open ${tag} $SRC $PKT_SRC $PORT $PROTO $CLIENT_TIMEOUT`,
    'CMD_CYCLE_CLOSE NONE',
    'CMD_CYCLE_TIMER 5',
    '',
  ].join('\n');
}
const ACCESS = lab.file('access.conf', [
  ...DIGEST_NAMES.map((d) => stanza(d, [`KEY_BASE64 ${b64(keys[d].key)}`, `HMAC_KEY_BASE64 ${b64(keys[d].hmacKey)}`, `HMAC_DIGEST_TYPE ${d}`])),
  stanza('pass', [`KEY ${PASSPHRASE}`, `HMAC_KEY_BASE64 ${b64(passHmac)}`]),
  stanza('ctr', [`KEY_BASE64 ${b64(ctr.key)}`, `HMAC_KEY_BASE64 ${b64(ctr.hmacKey)}`, 'HMAC_DIGEST_TYPE sha1', 'ENCRYPTION_MODE CTR']),
].join('\n'));
const CONF = writeFwknopdConf(lab, RUN);
chmodSync(ACCESS, 0o600);

let fwknopd: Fwknopd | undefined;
const fwOut = () => fwknopd?.output() ?? '';
t.teardown(async () => {
  await fwknopd?.stop();
  lab.cleanup();
});

t.before(async () => {
  if (process.getuid?.() !== 0) throw new Error('end-to-end tests need root (network namespaces)');
  lab.up();
  fwknopd = await startFwknopd(lab, CONF, ACCESS, RUN);
});

interface Run { code: number; stdout: string; stderr: string }
function knock(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync('ip', ['netns', 'exec', lab.cli, KNOCK, ...args], {
    encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE: process.execPath, ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const hookLines = () => readIf(HOOK_OUT).split('\n').filter(Boolean);

/** Runs `act`, then waits (at most 5 s) for one new hook line; returns it, or undefined. */
async function opened(act: () => Run, t: Test): Promise<string | undefined> {
  const before = hookLines().length;
  const r = act();
  t.equal(r.code, 0, `knock exits 0 ${r.stderr}`);
  if (!(await waitFor(() => hookLines().length > before, 5000))) return undefined;
  await sleep(100);
  const added = hookLines().slice(before);
  t.equal(added.length, 1, 'exactly one door opened');
  return added[0];
}

/** Runs `act`; waits (at most 5 s) for fwknopd to print `text`; checks no door opened. */
async function refused(act: () => Run, text: string, t: Test): Promise<void> {
  const before = hookLines().length;
  const outBefore = fwOut().length;
  const r = act();
  t.equal(r.code, 0, `knock exits 0 ${r.stderr}`);
  t.ok(await waitFor(() => fwOut().slice(outBefore).includes(text), 5000), `fwknopd says "${text}"`);
  await sleep(300);
  t.equal(hookLines().length, before, 'no door opened');
}

const keyArgs = (d: DigestName) => ['--key-base64', b64(keys[d].key), '--hmac-key-base64', b64(keys[d].hmacKey), '--hmac-digest', d];

t.test('every HMAC digest type opens its door', async (t) => {
  for (const d of DIGEST_NAMES) {
    const line = await opened(() => knock(['--spa', '-A', 'tcp/22', '-a', lab.client4, ...keyArgs(d), lab.server4]), t);
    t.equal(line, `open ${d} ${lab.client4} ${lab.client4} 22 6 5`, `HMAC ${d}`);
  }
});

t.test('inner digest types, with -m', async (t) => {
  for (const m of ['md5', 'sha1', 'sha384', 'sha512', 'sha3_256', 'sha3_512']) {
    const line = await opened(() => knock(['--spa', '-A', 'udp/1194', '-a', '10.77.15.99', '-m', m, ...keyArgs('sha256'), lab.server4]), t);
    t.equal(line, `open sha256 10.77.15.99 ${lab.client4} 1194 17 5`, `digest ${m}`);
  }
});

t.test('-f asks for a timeout; several ports go in one message', async (t) => {
  const outBefore = fwOut().length;
  const line = await opened(() => knock(['--spa', '-A', 'tcp/2222,udp/53', '-a', lab.client4, '-f', '45', ...keyArgs('sha512'), lab.server4]), t);
  t.equal(line, `open sha512 ${lab.client4} ${lab.client4} 2222 6 45`);
  t.match(fwOut().slice(outBefore), `Message String: ${lab.client4},tcp/2222,udp/53`);
  t.match(fwOut().slice(outBefore), /Message Type: 3 /);
});

t.test('-s: the server allows the packet\'s source', async (t) => {
  const line = await opened(() => knock(['--spa', '-A', 'tcp/22', '-s', '--source', lab.client4b, ...keyArgs('sha256'), lab.server4]), t);
  t.equal(line, `open sha256 ${lab.client4b} ${lab.client4b} 22 6 5`);
});

t.test('a passphrase key (--key), a user name, CTR mode', async (t) => {
  const outBefore = fwOut().length;
  let line = await opened(() => knock(['--spa', '-A', 'tcp/22', '-a', lab.client4, '--key', PASSPHRASE, '--hmac-key-base64', b64(passHmac), '-U', 'alice', lab.server4]), t);
  t.equal(line, `open pass ${lab.client4} ${lab.client4} 22 6 5`);
  t.match(fwOut().slice(outBefore), 'Username: alice');
  line = await opened(() => knock(['--spa', '-A', 'tcp/22', '-a', lab.client4, '-M', 'ctr', '--key-base64', b64(ctr.key), '--hmac-key-base64', b64(ctr.hmacKey), '--hmac-digest', 'sha1', lab.server4]), t);
  t.equal(line, `open ctr ${lab.client4} ${lab.client4} 22 6 5`);
});

t.test('--fwknoprc -n: the same rc file as the real fwknop client, same door', async (t) => {
  const home = join(lab.dir, 'home');
  spawnSync('mkdir', ['-p', home]);
  const rc = lab.file('home/.fwknoprc', `# fwknop client rc file
[default]
SPA_SERVER_PORT     62201
HMAC_DIGEST_TYPE    sha256
ALLOW_IP            10.77.15.99

[other]
SOMETHING_UNKNOWN   is fine in a stanza not in use

[sf]
SPA_SERVER          ${lab.server4}
ACCESS              udp/1194
KEY_BASE64          ${b64(keys.sha384.key)}
HMAC_KEY_BASE64     ${b64(keys.sha384.hmacKey)}
HMAC_DIGEST_TYPE    sha384
USE_HMAC            Y
DIGEST_TYPE         sha3_256
SPOOF_USER          rcuser
FW_TIMEOUT          33
`);
  chmodSync(rc, 0o600);
  const expect = `open sha384 10.77.15.99 ${lab.client4} 1194 17 33`;
  const outBefore = fwOut().length;
  t.equal(await opened(() => knock(['--spa', '--fwknoprc', rc, '-n', 'sf']), t), expect, 'knock --spa --fwknoprc FILE -n sf');
  t.match(fwOut().slice(outBefore), 'Username: rcuser');
  t.equal(await opened(() => knock(['--spa', '-n', 'sf'], { HOME: home }), t), expect, '-n alone reads ~/.fwknoprc');
  t.equal(await opened(() => {
    const r = spawnSync('ip', ['netns', 'exec', lab.cli, FWKNOP, '--rc-file', rc, '-n', 'sf', '--no-save-args'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, HOME: home } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }, t), expect, 'the real fwknop client reads it the same way');
  // The command line wins over the rc file.
  t.equal(await opened(() => knock(['--spa', '--fwknoprc=' + rc, '-n', 'sf', '-f', '44', '-s']), t), `open sha384 ${lab.client4} ${lab.client4} 1194 17 44`, 'command line over rc');
  // Loose permissions: fwknop's warning, the packet still goes.
  chmodSync(rc, 0o644);
  let stderr = '';
  t.equal(await opened(() => { const r = knock(['--spa', '--fwknoprc', rc, '-n', 'sf']); stderr = r.stderr; return r; }, t), expect);
  t.match(stderr, `knock: warning: ${rc}: permissions should only be user read/write (0600, -rw-------)`);
});

t.test('fwknopd refuses a wrong HMAC key and a stale packet', async (t) => {
  const wrong = generateKeyPair('sha256').hmacKey;
  await refused(() => knock(['--spa', '-A', 'tcp/22', '-a', lab.client4, '--key-base64', b64(keys.sha256.key), '--hmac-key-base64', b64(wrong), lab.server4]),
    'FKO_ERROR_INVALID_DATA_HMAC_COMPAREFAIL', t);
  await refused(() => knock(['--spa', '-A', 'tcp/22', '-a', lab.client4, ...keyArgs('sha256'), '--time-offset-minus', '5min', lab.server4]),
    'SPA data time difference is too great', t);
});

t.test('one datagram holding exactly the wire text, over IPv4 and IPv6', async (t) => {
  const listener = spawn('ip', ['netns', 'exec', lab.srv, process.execPath, '-e', `
    const s = require('node:dgram').createSocket('udp6');
    s.on('message', (m, r) => process.stdout.write(JSON.stringify({ from: r.address, data: m.toString('latin1') }) + '\\n'));
    s.bind(62202, '::', () => process.stdout.write('ready\\n'));
    setTimeout(() => process.exit(0), 30000);`], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { listener.kill('SIGKILL'); });
  let got = '';
  listener.stdout.on('data', (b: Buffer) => { got += b.toString(); });
  t.ok(await waitFor(() => got.includes('ready\n'), 5000), 'listener ready');
  for (const [to, from] of [[lab.server4, `::ffff:${lab.client4}`], [lab.server6, lab.client6]] as const) {
    const before = got.length;
    const r = knock(['--spa', '-v', '-p', '62202', '-A', 'tcp/22', '-s', '-f', '9', '-U', 'bob', ...keyArgs('sha3_512'), to]);
    t.equal(r.code, 0, r.stderr);
    const wire = /^SPA data: (\S+)$/m.exec(r.stdout)?.[1];
    t.ok(wire, 'verbose output shows the SPA data');
    t.ok(await waitFor(() => got.slice(before).split('\n').filter((l) => l.startsWith('{')).length >= 1, 5000), 'datagram arrived');
    await sleep(200);
    const msgs = got.slice(before).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { from: string; data: string });
    t.equal(msgs.length, 1, 'one datagram');
    t.equal(msgs[0]!.from, from);
    t.equal(msgs[0]!.data, wire, 'payload is the wire text, no newline');
    const dec = decodeWire(msgs[0]!.data, { key: keys.sha3_512.key, hmacKey: keys.sha3_512.hmacKey, hmacDigest: 'sha3_512', mode: 'cbc' });
    t.ok(dec.ok, 'decodes');
    if (dec.ok) {
      t.equal(dec.fields.message, '0.0.0.0,tcp/22');
      t.equal(dec.fields.username, 'bob');
      t.equal(dec.fields.clientTimeout, 9);
      t.ok(Math.abs(dec.fields.timestamp - Date.now() / 1000) < 10, 'timestamp is now');
    }
  }
});

t.test('fwknopd is still running and no unexpected door opened', async (t) => {
  t.equal(fwknopd?.proc.exitCode, null);
  const tags = hookLines().map((l) => l.split(' ')[1]);
  t.equal(tags.length, 7 + 6 + 1 + 1 + 2 + 5);
});
