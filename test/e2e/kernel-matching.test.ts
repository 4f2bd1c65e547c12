// Kernel matching as users run it: the daemon compiles its doors into `inet knock_sesame`, reads
// NFLOG in its own process (no capture child), and keeps knockd's log. One-time sequences rotate in
// place without disturbing other doors' attempts, SIGHUP replaces the table, IPv6 works, an admin's
// `nft flush ruleset` is repaired, stopping removes the table, and `auto` falls back to libpcap
// (logged) when NFLOG cannot be had, while `--matching kernel` then refuses to start.

import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, SESAME, labForFile, logLines, readIf, sleep, waitFor } from '../helpers/lab.js';

t.setTimeout(180_000);
const { lab, children } = labForFile(t, 34, 'kx');
let run = 0;

function nft(...args: string[]): string {
  return lab.exec(lab.srv, ['nft', ...args], true);
}

async function daemon(doors: string, args: string[] = ['--matching', 'kernel']) {
  const id = ++run;
  const log = lab.file(`k${id}.log`);
  const out = lab.file(`k${id}.out`);
  const conf = lab.file(`k${id}.conf`, `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n${doors.replaceAll('@OUT@', out)}`);
  const d = await lab.start(SESAME, ['-c', conf, '--state-dir', lab.file(`state${id}`), '-v', ...args], log);
  return {
    d, conf, log, out,
    lines: () => logLines(readIf(log)),
    opens: () => readIf(out).split('\n').filter(Boolean),
  };
}

const DOOR = '[ssh]\n\tsequence = 7000,8000,9000\n\tseq_timeout = 5\n\ttcpflags = syn\n\tcommand = echo OPEN %IP% >> @OUT@\n';

t.test('one process, its own table, knockd\'s log lines', async (t) => {
  const h = await daemon(DOOR);
  t.match(h.d.stdout, /matching knocks in the kernel: nftables table inet knock_sesame, NFLOG group 5900/, '-v says which');
  t.match(nft('list', 'table', 'inet', 'knock_sesame'), /chain knock \{/);
  t.throws(() => execFileSync('pgrep', ['-P', String(h.d.proc.pid), '-f', 'capture/worker.js']), 'no capture child');
  lab.knock([lab.server4, '7000', '8000', '9000']);
  lab.knock(['-6', lab.server6, '7000', '8000', '9000']);
  t.ok(await waitFor(() => h.opens().length === 2, 3000), 'IPv4 and IPv6 knocks open');
  t.same(h.opens().sort(), [`OPEN ${lab.client4}`, `OPEN ${lab.client6}`].sort());
  t.same(h.lines().filter((l) => l.startsWith(`${lab.client4}:`)), [
    `${lab.client4}: ssh: Stage 1`, `${lab.client4}: ssh: Stage 2`, `${lab.client4}: ssh: Stage 3`, `${lab.client4}: ssh: OPEN SESAME`,
  ], 'the same lines as knockd');
  lab.knock([lab.server4, '7000', '8000']);
  t.ok(await waitFor(() => h.lines().includes(`${lab.client4}: ssh: sequence timeout (stage 2)`), 8000), 'a timeout is logged at its deadline');
  t.equal(await lab.stop(h.d), 15, 'SIGTERM: exit status 15, as the libpcap path');
  t.equal(nft('list', 'table', 'inet', 'knock_sesame'), '', 'stopping removes the table');
});

t.test('one-time sequences rotate in the kernel; another door\'s attempt lives on', async (t) => {
  const ots = lab.file('ots.txt', '1001,1002\n1003,1004\n1005,1006\n');
  const h = await daemon(`[once]\n\tone_time_sequences = ${ots}\n\tcommand = echo ONCE %IP% >> @OUT@\n` +
    `[other]\n\tsequence = 2001,2002,2003\n\tseq_timeout = 20\n\tcommand = echo OTHER %IP% >> @OUT@\n`);
  lab.synFrom(lab.client4b, 2001); // another source's [other] attempt, at stage 1 while [once] rotates
  lab.knock([lab.server4, '1001', '1002']);
  t.ok(await waitFor(() => h.opens().includes(`ONCE ${lab.client4}`), 3000), 'the first line opens');
  t.ok(await waitFor(() => readIf(ots).startsWith('#'), 3000), 'the file marks it used');
  t.ok(await waitFor(() => nft('list', 'table', 'inet', 'knock_sesame').includes('d0v1_live4'), 3000), 'the table has the next line');
  lab.knock([lab.server4, '1001', '1002']);
  await sleep(500);
  t.equal(h.opens().filter((l) => l.startsWith('ONCE')).length, 1, 'a used sequence does not open again');
  lab.synFrom(lab.client4b, 2002);
  lab.synFrom(lab.client4b, 2003);
  t.ok(await waitFor(() => h.opens().includes(`OTHER ${lab.client4b}`), 3000), 'the other door\'s attempt survived the rotation');
  lab.knock([lab.server4, '1003', '1004']);
  t.ok(await waitFor(() => h.opens().filter((l) => l.startsWith('ONCE')).length === 2, 3000), 'the next line opens');
  t.match(nft('list', 'table', 'inet', 'knock_sesame'), /d0v2_done/, 'the door is at its third version');
  await lab.stop(h.d);
});

t.test('SIGHUP replaces the table; the new sequence opens, the old one does not', async (t) => {
  const h = await daemon(DOOR);
  const conf = readIf(h.conf);
  execFileSync('sh', ['-c', `cat > '${h.conf}'`], { input: conf.replace('7000,8000,9000', '7100,7200') });
  h.d.proc.kill('SIGHUP');
  t.ok(await waitFor(() => nft('list', 'table', 'inet', 'knock_sesame').includes('dport 7100'), 3000), 'the new rules are in');
  lab.knock([lab.server4, '7000', '8000', '9000']);
  lab.knock([lab.server4, '7100', '7200']);
  await waitFor(() => h.opens().length > 0, 3000);
  await sleep(300);
  t.same(h.opens(), [`OPEN ${lab.client4}`], 'one open');
  t.ok(h.lines().includes(`${lab.client4}: ssh: Stage 2`) && !h.lines().includes(`${lab.client4}: ssh: Stage 3`), 'by the new two-step sequence');
  await lab.stop(h.d);
});

t.test('nft flush ruleset: the table comes back and knocks work again', async (t) => {
  const h = await daemon(DOOR);
  nft('flush', 'ruleset');
  t.ok(await waitFor(() => h.lines().some((l) => /^kernel matching: table inet knock_sesame was removed .*; replaced it/.test(l)), 3000), 'restored and logged');
  lab.knock([lab.server4, '7000', '8000', '9000']);
  t.ok(await waitFor(() => h.opens().length === 1, 3000), 'a knock opens');
  await lab.stop(h.d);
});

t.test('-4: no IPv6 rules', async (t) => {
  const h = await daemon(DOOR, ['--matching', 'kernel', '-4']);
  t.notMatch(nft('list', 'table', 'inet', 'knock_sesame'), /ip6 /);
  lab.knock(['-6', lab.server6, '7000', '8000', '9000']);
  lab.knock([lab.server4, '7000', '8000', '9000']);
  t.ok(await waitFor(() => h.opens().length > 0, 3000));
  await sleep(300);
  t.same(h.opens(), [`OPEN ${lab.client4}`]);
  await lab.stop(h.d);
});

t.test('NFLOG group taken: auto falls back to libpcap and says so; kernel refuses', async (t) => {
  const holder = spawn('ip', ['netns', 'exec', lab.srv, 'node', join(ROOT, 'test/helpers/nflog-events.cjs'), '5900'], { stdio: ['ignore', 'pipe', 'ignore'], cwd: ROOT });
  children.push(holder);
  let ready = '';
  holder.stdout.on('data', (b: Buffer) => { ready += b.toString(); });
  t.ok(await waitFor(() => ready.startsWith('ready'), 10_000), 'another program holds NFLOG group 5900');
  const h = await daemon(DOOR, []);
  t.ok(h.lines().some((l) => /^kernel matching unavailable \(.+\); matching knocks with libpcap$/.test(l)), 'the fallback is logged');
  lab.knock([lab.server4, '7000', '8000', '9000']);
  t.ok(await waitFor(() => h.opens().length === 1, 3000), 'knocks still open doors');
  await lab.stop(h.d);
  const conf = lab.file('refuse.conf', `[options]\n\tInterface = ${lab.sif}\n${DOOR.replace('@OUT@', '/dev/null')}`);
  const r = lab.exec(lab.srv, ['sh', '-c', `${SESAME} -c ${conf} --state-dir ${lab.file('state-r')} --matching kernel 2>&1; echo "exit=$?"`], true);
  t.match(r, /exit=1/, '--matching kernel: exits 1');
  t.match(r, new RegExp(`kernel matching failed: NFLOG group 5900 is in use by pid ${holder.pid} \\(node\\); give this knockd its own --instance NAME \\(its own group\\), or set Matching = pcap`),
    'names the group, its holder and what to do');
  holder.kill('SIGTERM');
});

t.test('--matching kernel on a missing interface fails as knockd does', async (t) => {
  const conf = lab.file('noif.conf', `[options]\n\tInterface = nosuch0\n${DOOR.replace('@OUT@', '/dev/null')}`);
  const r = lab.exec(lab.srv, ['sh', '-c', `${SESAME} -c ${conf} --state-dir ${lab.file('state-n')} --matching kernel 2>&1; echo "exit=$?"`], true);
  t.match(r, /could not open nosuch0: /);
  t.match(r, /exit=1/);
});

t.test('Max_Failures under kernel matching: resets ban the source in the kernel; its right sequence is then not even tracked', async (t) => {
  const h = await daemon('[ssh]\n\tsequence = 7000,8000,9000\n\tseq_timeout = 5\n\ttcpflags = syn\n\tMax_Failures = 2\n\tBan_Time = 60\n' +
    '\tcommand = echo OPEN %IP% >> @OUT@\n');
  t.match(nft('list', 'set', 'inet', 'knock_sesame', 'bans4'), /flags timeout/, 'the ban sets are in the table');
  for (let i = 0; i < 2; i++) lab.knock([lab.server4, '7000', '9000']); // a wrong port: the attempt resets
  const banned = `${lab.client4}: ssh: banned for 60s after 2 failures in 300s`;
  t.ok(await waitFor(() => h.lines().includes(banned), 3000), 'the ban is logged');
  t.ok(await waitFor(() => nft('list', 'set', 'inet', 'knock_sesame', 'bans4').includes(lab.client4), 3000), 'and put in the kernel');
  const before = h.lines().length;
  lab.knock([lab.server4, '7000', '8000', '9000']);
  lab.knock(['-6', lab.server6, '7000', '8000', '9000']);
  t.ok(await waitFor(() => h.opens().includes(`OPEN ${lab.client6}`), 3000), 'another source opens');
  t.same(h.opens(), [`OPEN ${lab.client6}`], 'the banned source does not');
  t.notOk(h.lines().slice(before).some((l) => l.startsWith(`${lab.client4}:`)), 'not even a stage line for it');
  const status = execFileSync(join(ROOT, 'bin/knockd'), ['--status', '--state-dir', lab.file(`state${run}`)], { encoding: 'utf8' });
  t.match(status, new RegExp(`banned ${lab.client4.replaceAll('.', '\\.')} \\(ssh, 2 failures\\) for \\d+s more`), '--status lists it');
  // A table put back by the watchdog (an admin's flush) carries the ban again.
  nft('flush', 'ruleset');
  t.ok(await waitFor(() => nft('list', 'set', 'inet', 'knock_sesame', 'bans4').includes(lab.client4), 5000), 'restored with the table');
  await lab.stop(h.d);
});
