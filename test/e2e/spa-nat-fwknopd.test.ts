// Sesame's `knock --spa -N` and `--nat-local` against the real fwknopd (Debian 2.6.10) in its NAT
// mode (ENABLE_IPT_FORWARDING, ENABLE_IPT_LOCAL_NAT; iptables rules in the bastion namespace):
// a client, a bastion running fwknopd, and an internal host on a private subnet only the bastion
// reaches. fwknopd adds its DNAT rules for what Sesame's client asks, and the internal and local
// services answer through them, for the knocking address only.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { PROBE, ROOT, labForFile, sh, waitFor } from '../helpers/lab.js';
import { startFwknopd, writeFwknopdConf, type Fwknopd } from '../helpers/fwknopd.js';
import { generateKeyPair } from '../../lib/spa/keygen.js';

t.setTimeout(120_000);
const INT_NS = 'ses-nf-int';
const { lab, children } = labForFile(t, 37, 'nf', () => sh('ip', ['netns', 'del', INT_NS], { allowFail: true }));
const BASTION_IN = '10.77.137.1';
const INTERNAL = '10.77.137.5';
const KNOCK = join(ROOT, 'bin/knock');
const RUN = join(lab.dir, 'run');
const { key, hmacKey } = generateKeyPair('sha256');
const ACCESS = lab.file('access.conf', `SOURCE ANY\nKEY_BASE64 ${key.toString('base64')}\nHMAC_KEY_BASE64 ${hmacKey.toString('base64')}\nFW_ACCESS_TIMEOUT 30\n`);
const CONF = writeFwknopdConf(lab, RUN, ['ENABLE_IPT_FORWARDING Y;', 'ENABLE_IPT_LOCAL_NAT Y;'], { noAging: true });
chmodSync(ACCESS, 0o600);
let fwknopd: Fwknopd | undefined;
const fwOut = () => fwknopd?.output() ?? '';

t.teardown(async () => { await fwknopd?.stop(); });

t.before(async () => {
  if (process.getuid?.() !== 0) return;
  const { bastion, host } = lab.internalHost(INT_NS);
  if (bastion !== BASTION_IN || host !== INTERNAL) throw new Error(`internal network ${bastion}/${host}`);
  children.push(spawn('ip', ['netns', 'exec', INT_NS, 'python3', PROBE, 'serve', '3306'], { stdio: 'ignore' }));
  children.push(spawn('ip', ['netns', 'exec', lab.srv, 'python3', PROBE, 'serve', '2222'], { stdio: 'ignore' }));
  fwknopd = await startFwknopd(lab, CONF, ACCESS, RUN);
});

function knock(args: string[]): void {
  const r = spawnSync('ip', ['netns', 'exec', lab.cli, KNOCK, '--spa', lab.server4, '-a', lab.client4,
    '--key-base64', key.toString('base64'), '--hmac-key-base64', hmacKey.toString('base64'), ...args],
  { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE: process.execPath } });
  if (r.status !== 0) throw new Error(`knock failed: ${r.stderr}`);
}

t.test('knock --spa -N: fwknopd forwards the port to the internal host', async (t) => {
  t.equal(lab.probe('tcp', lab.server4, 4000), 'closed', 'closed before');
  const before = fwOut().length;
  knock(['-A', 'tcp/4000', '-N', `${INTERNAL}:3306`]);
  t.ok(await waitFor(() => fwOut().slice(before).includes(`Added DNAT rule to FWKNOP_PREROUTING for ${lab.client4} -> 0.0.0.0/0 tcp/4000`), 5000),
    'fwknopd added its DNAT rule', { out: fwOut().slice(before).split('\n').filter((l) => /DNAT|NAT|error/i.test(l)).slice(0, 5) });
  t.ok(await waitFor(() => lab.probe('tcp', lab.server4, 4000) === 'open', 3000), 'the internal service answers through the bastion');
  t.equal(lab.probe('tcp', lab.server4, 4000, lab.client4b), 'closed', 'not for another address');
});

t.test('knock --spa --nat-local --nat-port: fwknopd forwards to its own service', async (t) => {
  const before = fwOut().length;
  knock(['-A', 'tcp/2222', '--nat-local', '--nat-port', '55000']);
  t.ok(await waitFor(() => fwOut().slice(before).includes('tcp/55000'), 5000), 'fwknopd saw the local NAT request',
    { out: fwOut().slice(before).split('\n').filter((l) => /NAT|error/i.test(l)).slice(0, 5) });
  t.ok(await waitFor(() => lab.probe('tcp', lab.server4, 55000) === 'open', 3000), 'the forwarded port reaches the local service');
});
