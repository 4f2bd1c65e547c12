// The admin reloads their firewall while Sesame guards ports (reliability issue, defect 1):
// `nft flush ruleset` (what `systemctl restart nftables` runs on Debian) removes Sesame's table,
// which left the guarded port open to everyone. Sesame must put the guard back within 2 s, log it,
// re-add the grants it made (with the time they have left), and keep never-granted sources out;
// the same after the chain alone is emptied. `knockd --flush` refuses while a daemon runs.

import t from 'tap';
import { spawn } from 'node:child_process';
import { PROBE, SESAME, labForFile, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';

t.setTimeout(120_000);
// The grant table's watchdog under test, with libpcap matching: a knock right after a flush is
// seen (kernel matching's own table and its restore: kernel-matching.test.ts).
const { lab, children } = labForFile(t, 21, 'fr');

const log = lab.file('fr.log');
const conf = lab.file('fr.conf', `[options]
\tLogFile = ${log}
\tInterface = ${lab.sif}
[ssh]
\tSequence = 7000,8000,9000
\tOpen = tcp/2222
\tCmd_Timeout = 60
`);
const lines = () => logLines(readIf(log));
const probe = (src: string) =>
  lab.probe('tcp', lab.server4, 2222, src);
const nft = (...args: string[]) => lab.exec(lab.srv, ['nft', ...args], true);
const guardBack = () => waitFor(() => /drop/.test(nft('list', 'chain', 'inet', 'sesame', 'input')), 2000);
const restoredSince = (from: number) => lines().slice(from).some((l) => /^firewall: table inet sesame (was removed \(nft flush ruleset\?\)|differed from what Sesame installed \(.*\)); restored the guard of tcp\/2222 and 1 live grant$/.test(l));
let daemon: Daemon;

t.before(async () => {
  const p = spawn('ip', ['netns', 'exec', lab.srv, 'python3', PROBE, 'serve', '2222'], { stdio: 'ignore' });
  children.push(p);
  await sleep(300);
  daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', lab.file('state'), '--matching', 'pcap'], log);
  const from = lines().length;
  lab.knock([lab.server4, '7000', '8000', '9000']);
  await waitFor(() => lines().slice(from).some((l) => l.includes('firewall: granted')), 5000);
});

t.test('before: the knocker is granted, another source is not', async (t) => {
  t.equal(probe(lab.client4), 'open', 'the knocker connects');
  t.equal(probe(lab.client4b), 'closed', 'a never-granted source does not');
});

t.test('nft flush ruleset: guard and grant are back within 2 s, logged; others stay out', async (t) => {
  const from = lines().length;
  nft('flush', 'ruleset');
  const t0 = Date.now();
  t.ok(await guardBack(), `the guard is back (${Date.now() - t0} ms)`);
  t.ok(await waitFor(() => restoredSince(from), 2000), 'the restore is logged');
  t.equal(probe(lab.client4b), 'closed', 'a never-granted source still cannot connect');
  t.equal(probe(lab.client4), 'open', 'the knocker is granted again');
  t.match(lab.exec(lab.srv, [SESAME, '--status']), new RegExp(`^${lab.client4.replaceAll('.', '\\.')} tcp/2222 expires in (5\\d|60)s`, 'm'),
    'the grant came back with the time it had left, not a fresh or a short one');
});

t.test('the chain emptied by hand is noticed too', async (t) => {
  const from = lines().length;
  nft('flush', 'chain', 'inet', 'sesame', 'input');
  t.ok(await guardBack(), 'the rules are back');
  t.ok(await waitFor(() => restoredSince(from), 2000), 'logged');
  t.equal(probe(lab.client4b), 'closed');
});

t.test('a knock after a flush is granted (no "No such file or directory")', async (t) => {
  nft('flush', 'ruleset');
  const from = lines().length;
  lab.knock([lab.server4, '7000', '8000', '9000']);
  t.ok(await waitFor(() => lines().slice(from).some((l) => / ssh: firewall: granted /.test(l)), 5000), 'granted');
  t.notOk(lines().slice(from).some((l) => /grant failed/.test(l)), 'no failed grant');
  t.equal(probe(lab.client4b), 'closed');
});

t.test('knockd --flush refuses while the daemon runs, works after it stopped', async (t) => {
  const r = lab.exec(lab.srv, ['sh', '-c', `${SESAME} --flush 2>&1; echo "exit $?"`]);
  t.match(r, new RegExp(`--flush refused: knockd is running \\(pid ${daemon.proc.pid}\\)`), 'names the running daemon');
  t.match(r, /exit 1/);
  t.match(nft('list', 'table', 'inet', 'sesame'), /drop/, 'the table is still there');
  daemon.proc.kill('SIGTERM');
  await daemon.exit;
  t.match(lab.exec(lab.srv, [SESAME, '--flush']), /removed table inet sesame/, 'flushes once the daemon is gone');
});
