// SPA NAT access end to end: a client, a bastion running Sesame's knockd, and an internal host on
// a private subnet that only the bastion reaches (10.77.136.0/24), with TCP and UDP echo services.
// The real fwknop client (-N, --nat-local, --nat-port, --nat-rand-port, -f) and Sesame's own
// knock --spa reach the internal services through the bastion's kernel-expiring DNAT grants; a
// second client address cannot; a destination the door does not list is refused with a log line;
// after the timeout new connections fail while an established one lives on; SIGKILL of the daemon
// leaves nothing forwarded past the timeout; SPA_SNAT = masquerade serves an internal host that
// has no route back.

import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROBE, ROOT, SESAME, labForFile, logLines, readIf, sh, sleep, waitFor, type Daemon } from '../helpers/lab.js';

t.setTimeout(300_000);
const INT_NS = 'ses-sn-int';
const { lab, children } = labForFile(t, 36, 'sn', () => sh('ip', ['netns', 'del', INT_NS], { allowFail: true }));
const BASTION_IN = '10.77.136.1';
const INTERNAL = '10.77.136.5';
const KNOCK = join(ROOT, 'bin/knock');

const K = randomBytes(32).toString('base64');
const H = randomBytes(64).toString('base64');
const K2 = randomBytes(32).toString('base64');
const H2 = randomBytes(64).toString('base64');
const log = lab.file('sn.log');
const out = lab.file('sn.out');
const state = lab.file('state');
const conf = lab.file('sn.conf', `[options]
\tLogFile = ${log}
\tInterface = ${lab.sif}
[nat]
\tSPA_Key_Base64 = ${K}
\tSPA_HMAC_Key_Base64 = ${H}
\tSPA_Forward = 10.77.136.0/28 tcp/3306, ${INTERNAL} udp/5353
\tSPA_Local_NAT = tcp/2222
\tCmd_Timeout = 3
\tSPA_Max_Timeout = 8
\tStart_Command = echo OPEN %IP% %PROTO% %PORT% %NAT_IP% %NAT_PORT% >> ${out}
[masq]
\tSPA_Port = 62202
\tSPA_Key_Base64 = ${K2}
\tSPA_HMAC_Key_Base64 = ${H2}
\tSPA_Force_NAT = ${INTERNAL} tcp/3306
\tSPA_SNAT = masquerade
\tSPA_Open_Ports = tcp/4400
\tCmd_Timeout = 5
`);
const lines = () => logLines(readIf(log));
const opens = () => readIf(out).split('\n').filter(Boolean);
let daemon: Daemon;

function internalUp(): void {
  const { bastion, host } = lab.internalHost(INT_NS);
  if (bastion !== BASTION_IN || host !== INTERNAL) throw new Error(`internal network ${bastion}/${host}`);
  const svc = spawn('ip', ['netns', 'exec', INT_NS, 'python3', PROBE, 'serve', '3306', '5353'], { stdio: 'ignore' });
  const local = spawn('ip', ['netns', 'exec', lab.srv, 'python3', PROBE, 'serve', '2222'], { stdio: 'ignore' });
  children.push(svc, local);
}

/** The real fwknop client against door [nat]. */
function fwknop(args: string[], src = lab.client4): string {
  return lab.exec(lab.cli, ['env', `HOME=${lab.dir}`, 'fwknop', '--no-rc-file', '--no-save-args', '-D', lab.server4,
    '-a', src, '--key-base64-rijndael', K, '--key-base64-hmac', H, '--use-hmac', ...args]);
}

async function logged(from: number, re: RegExp, ms = 5000): Promise<boolean> {
  return waitFor(() => lines().slice(from).some((l) => re.test(l)), ms);
}

const probe = (kind: 'tcp' | 'udp', port: number, src?: string) => lab.probe(kind, lab.server4, port, src);

t.before(async () => {
  if (process.getuid?.() !== 0) return;
  internalUp();
  await sleep(300);
  daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', state], log);
});

t.test('the internal services are out of the client\'s reach without a grant', async (t) => {
  t.equal(lab.probe('tcp', INTERNAL, 3306), 'closed', 'no route from the client to the private subnet');
  t.equal(probe('tcp', 4000), 'closed', 'nothing listens on the bastion port');
  t.ok(lines().some((l) => l.startsWith('firewall: table inet sesame guards no ports, with SPA NAT')), 'the NAT table is set up');
});

t.test('fwknop -N: TCP to an internal host through the bastion, for this source only, until the timeout', async (t) => {
  const from = lines().length;
  fwknop(['-A', 'tcp/4000', '-N', `${INTERNAL}:3306`]);
  t.ok(await logged(from, new RegExp(`nat: SPA: OPEN SESAME for ${lab.client4} tcp/4000 -> ${INTERNAL}:3306 \\(user \\S+, timeout 3s\\)$`)), 'logged');
  t.ok(await logged(from, new RegExp(`nat: firewall: forwarded ${lab.client4} tcp/4000 to ${INTERNAL}:3306 for 3s$`)), 'granted in the kernel');
  t.equal(probe('tcp', 4000), 'open', 'the internal service answers through the bastion');
  t.equal(probe('tcp', 4000, lab.client4b), 'closed', 'a second client address cannot');
  t.match(lab.exec(lab.srv, [SESAME, '--status']), new RegExp(`${lab.client4} tcp/4000 -> ${INTERNAL}:3306 expires in \\d+s \\(of 3s\\)`), '--status lists it');
  t.ok(await waitFor(() => opens().includes(`OPEN ${lab.client4} tcp 4000 ${INTERNAL} 3306`), 3000), '%NAT_IP% and %NAT_PORT% in the command');
  const held = spawn('ip', ['netns', 'exec', lab.cli, 'python3', PROBE, 'hold', lab.server4, '4000'], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.push(held);
  let said = '';
  held.stdout!.on('data', (b: Buffer) => { said += b.toString(); });
  t.ok(await waitFor(() => said.includes('connected'), 3000), 'a connection is established');
  t.ok(await waitFor(() => probe('tcp', 4000) === 'closed', 8000), 'after the timeout a new connection fails');
  held.stdin!.write('still\n');
  t.ok(await waitFor(() => said.includes('still'), 3000), 'the established one still works');
  held.kill();
});

t.test('fwknop -N with -f and UDP; a destination not listed is refused', async (t) => {
  let from = lines().length;
  fwknop(['-A', 'udp/4001', '-N', `${INTERNAL}:5353`, '-f', '6']);
  t.ok(await logged(from, new RegExp(`nat: firewall: forwarded ${lab.client4} udp/4001 to ${INTERNAL}:5353 for 6s$`)), 'client timeout honoured');
  t.equal(probe('udp', 4001), 'open', 'UDP reaches the internal service');
  from = lines().length;
  fwknop(['-A', 'tcp/4002', '-N', `${INTERNAL}:22`]);
  t.ok(await logged(from, new RegExp(`nat: SPA: refused: NAT destination not allowed \\(${INTERNAL} tcp/22\\)$`)), 'port not listed');
  fwknop(['-A', 'tcp/4003', '-N', '10.77.136.20:3306']);
  t.ok(await logged(from, /nat: SPA: refused: NAT destination not allowed \(10\.77\.136\.20 tcp\/3306\)$/), 'address outside the /28');
  t.equal(probe('tcp', 4002), 'closed');
  t.equal(probe('tcp', 4003), 'closed');
});

t.test('fwknop --nat-local with --nat-port and --nat-rand-port reaches the bastion\'s own service', async (t) => {
  let from = lines().length;
  fwknop(['-A', 'tcp/2222', '--nat-local', '--nat-port', '55000']);
  t.ok(await logged(from, new RegExp(`nat: firewall: forwarded ${lab.client4} tcp/55000 to local port 2222 for 3s$`)), 'granted');
  t.equal(probe('tcp', 55000), 'open', 'the forwarded port reaches the local service');
  t.equal(probe('tcp', 55000, lab.client4b), 'closed', 'not for another address');
  from = lines().length;
  const said = fwknop(['-A', 'tcp/2222', '--nat-local', '--nat-rand-port', '-v']);
  const port = Number(/Randomly assigned port '(\d+)'/.exec(said)?.[1]);
  t.ok(port > 0, `random port ${port}`);
  t.ok(await logged(from, new RegExp(`forwarded ${lab.client4} tcp/${port} to local port 2222`)), 'granted on the random port');
  t.equal(probe('tcp', port), 'open');
});

t.test('knock --spa -N and --nat-local: Sesame\'s client does the same', async (t) => {
  const knock = (args: string[]) => lab.exec(lab.cli, [KNOCK, '--spa', lab.server4, '-a', lab.client4, '--key-base64', K, '--hmac-key-base64', H, ...args]);
  let from = lines().length;
  knock(['-A', 'tcp/4010', '-N', `${INTERNAL}:3306`]);
  t.ok(await logged(from, new RegExp(`forwarded ${lab.client4} tcp/4010 to ${INTERNAL}:3306 for 3s$`)), '-N');
  t.equal(probe('tcp', 4010), 'open');
  from = lines().length;
  knock(['-A', 'tcp/2222', '--nat-local', '--nat-port', '55010', '-f', '5']);
  t.ok(await logged(from, new RegExp(`forwarded ${lab.client4} tcp/55010 to local port 2222 for 5s$`)), '--nat-local --nat-port -f');
  t.equal(probe('tcp', 55010), 'open');
});

t.test('SPA_Force_NAT with SPA_SNAT = masquerade: an internal host without a route back', async (t) => {
  sh('ip', ['-n', INT_NS, 'route', 'del', 'default']);
  t.teardown(() => sh('ip', ['-n', INT_NS, 'route', 'add', 'default', 'via', BASTION_IN], { allowFail: true }));
  let from = lines().length;
  fwknop(['-A', 'tcp/4020', '-N', `${INTERNAL}:3306`]);
  t.ok(await logged(from, /forwarded .* tcp\/4020 to /), 'granted');
  t.equal(probe('tcp', 4020), 'closed', 'without SNAT the internal host cannot answer');
  from = lines().length;
  lab.exec(lab.cli, ['env', `HOME=${lab.dir}`, 'fwknop', '--no-rc-file', '--no-save-args', '-D', lab.server4, '-p', '62202',
    '-a', lab.client4, '--key-base64-rijndael', K2, '--key-base64-hmac', H2, '--use-hmac', '-A', 'tcp/4400']);
  t.ok(await logged(from, new RegExp(`masq: firewall: forwarded ${lab.client4} tcp/4400 to ${INTERNAL}:3306 for 5s$`)), 'a plain access request is forced through NAT');
  t.equal(probe('tcp', 4400), 'open', 'masquerading lets the internal host answer');
});

t.test('nft flush ruleset: the NAT grant comes back with the table; a restart keeps it, once', async (t) => {
  let from = lines().length;
  fwknop(['-A', 'tcp/4040', '-N', `${INTERNAL}:3306`, '-f', '8']);
  t.ok(await logged(from, /forwarded .* tcp\/4040 to .* for 8s$/));
  from = lines().length;
  lab.exec(lab.srv, ['nft', 'flush', 'ruleset']);
  t.ok(await logged(from, /^firewall: table inet sesame was removed \(nft flush ruleset\?\); restored the guard of .* and \d+ live grants?$/, 4000), 'restored and logged');
  t.equal(probe('tcp', 4040), 'open', 'forwarded again');
  await sleep(1100); // the grants file is written at most once a second: a SIGKILL right after a grant may not find it there
  daemon.proc.kill('SIGKILL');
  await daemon.exit;
  daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', state], log);
  const listed = lab.exec(lab.srv, [SESAME, '--status']).split('\n').filter((l) => l.includes('tcp/4040'));
  t.equal(listed.length, 1, 'one element after the restart, not two');
  t.equal(probe('tcp', 4040), 'open', 'still forwarded');
});

t.test('the NAT map flushed by hand: the forward is back within 2 s, logged', async (t) => {
  let from = lines().length;
  fwknop(['-A', 'tcp/4050', '-N', `${INTERNAL}:3306`, '-f', '8']);
  t.ok(await logged(from, /forwarded .* tcp\/4050 to .* for 8s$/));
  t.equal(probe('tcp', 4050), 'open', 'forwarded');
  from = lines().length;
  lab.exec(lab.srv, ['nft', 'flush', 'map', 'inet', 'sesame', 'fwd4']);
  // The grant of tcp/4040, kept across the restart above (grants.json), is restored too if still live.
  t.ok(await logged(from, /^firewall: table inet sesame had lost (1 live grant|2 live grants) \(nft flush set\?\); restored (it|them)$/, 2500), 'noticed and logged');
  t.match(lab.exec(lab.srv, ['nft', 'list', 'map', 'inet', 'sesame', 'fwd4']), new RegExp(`${lab.client4.replaceAll('.', '\\.')} \\. tcp \\. 4050 timeout [5-8]s expires .* : ${INTERNAL.replaceAll('.', '\\.')} \\. 3306`), 'with the time it had left');
  t.equal(probe('tcp', 4050), 'open', 'forwarded again');
  t.equal(probe('tcp', 4050, lab.client4b), 'closed', 'for this source only');
});

t.test('SIGKILL: the forwarded path closes at the timeout with no daemon running', async (t) => {
  const from = lines().length;
  fwknop(['-A', 'tcp/4030', '-N', `${INTERNAL}:3306`]);
  t.ok(await logged(from, /forwarded .* tcp\/4030 to /));
  daemon.proc.kill('SIGKILL');
  await daemon.exit;
  t.equal(probe('tcp', 4030), 'open', 'still forwarded right after the kill');
  t.ok(await waitFor(() => probe('tcp', 4030) === 'closed', 8000), 'closed by the kernel at the timeout');
  t.ok(await waitFor(() => lab.exec(lab.srv, [SESAME, '--status']) === 'no live grants\n', 10_000), 'every grant ran out in the kernel');
  const flushed = lab.exec(lab.srv, [SESAME, '--flush']);
  t.match(flushed, /removed table inet sesame/);
  t.notMatch(lab.exec(lab.srv, ['nft', 'list', 'ruleset']), /fwd4/, '--flush removes the NAT maps');
});

t.test('SIGHUP to a config without NAT while a NAT grant is live: the new guard goes in, the forward goes', async (t) => {
  daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', state], log);
  let from = lines().length;
  fwknop(['-A', 'tcp/4060', '-N', `${INTERNAL}:3306`, '-f', '8']);
  t.ok(await logged(from, /forwarded .* tcp\/4060 to .* for 8s$/), 'granted');
  t.equal(probe('tcp', 4060), 'open', 'forwarded');
  writeFileSync(conf, `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n[plain]\n\tSequence = 7000,8000\n\tOpen = tcp/2222\n`);
  from = lines().length;
  daemon.proc.kill('SIGHUP');
  t.ok(await waitFor(() => /tcp \. 2222/.test(lab.exec(lab.srv, ['nft', 'list', 'set', 'inet', 'sesame', 'guarded'], true)), 3000), 'the new guard is in');
  t.notOk(lines().slice(from).some((l) => /reload failed|cannot check or restore/.test(l)), 'no failed reload (the NAT grant is not carried into a table without NAT maps)');
  t.equal(probe('tcp', 2222, lab.client4b), 'closed', 'the new Open port is guarded');
  t.equal(probe('tcp', 4060), 'closed', 'the forward went with the NAT config');
  t.equal(await lab.stop(daemon), 15);
});
