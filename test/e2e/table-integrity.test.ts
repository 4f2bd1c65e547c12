// The watchdogs check what Sesame's tables hold, not how many rules they have (issue 22): an admin
// saves the live ruleset (`nft list ruleset`, `flush ruleset` on top), changes knockd.conf and
// sends SIGHUP, then reloads the saved file: both of Sesame's tables come back as the old config
// had them. Within 2 s the new guard holds again, the revoked sequence opens nothing and the new
// one opens. A drop rule swapped for an accept, a guarded element swapped, the allow set flushed,
// a grant added by hand: each is noticed, logged and put right within 2 s. Kernel matching.

import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { PROBE, SESAME, labForFile, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';

t.setTimeout(150_000);
const { lab, children } = labForFile(t, 61, 'ti');

const log = lab.file('ti.log');
const out = lab.file('ti.out');
const head = `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n`;
const OLD = `[old]\n\tsequence = 7000,8000,9000\n\tseq_timeout = 5\n\tOpen = tcp/2222\n\tCmd_Timeout = 60\n\tStart_Command = echo OLD %IP% >> ${out}\n`;
const NEW = `[new]\n\tsequence = 7100,8100,9100\n\tseq_timeout = 5\n\tOpen = tcp/3333\n\tCmd_Timeout = 60\n\tStart_Command = echo NEW %IP% >> ${out}\n`;
const conf = lab.file('ti.conf', head + OLD);
const saved = lab.file('saved.nft');
const lines = () => logLines(readIf(log));
const opens = () => readIf(out).split('\n').filter(Boolean);
const nft = (...args: string[]) => lab.exec(lab.srv, ['nft', ...args], true);
const nftFile = (text: string) => { const f = lab.file('batch.nft', text); return lab.exec(lab.srv, ['nft', '-f', f]); };
const probe = (port: number, src: string) => lab.probe('tcp', lab.server4, port, src);
/** Polls until `probe` gives `want` (each probe waits ~1 s for a closed port): up to `ms`. */
async function becomes(port: number, src: string, want: 'open' | 'closed', ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  do { if (probe(port, src) === want) return true; } while (Date.now() < end);
  return false;
}
const loggedSince = (from: number, re: RegExp) => lines().slice(from).some((l) => re.test(l));
let daemon: Daemon;

t.before(async () => {
  children.push(spawn('ip', ['netns', 'exec', lab.srv, 'python3', PROBE, 'serve', '2222', '3333'], { stdio: 'ignore' }));
  await sleep(300);
  daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', lab.file('state'), '--matching', 'kernel'], log);
});

t.test('a saved ruleset reloaded after a config change: the new guard holds, the old sequence is dead', async (t) => {
  // The admin's routine: save the live ruleset (Sesame's tables in it) ...
  writeFileSync(saved, `flush ruleset\n${nft('list', 'ruleset')}`);
  t.match(readIf(saved), /table inet knock_sesame/, 'the dump holds the kernel-matching table');
  // ... change the config and reload Sesame ...
  writeFileSync(conf, head + NEW);
  let from = lines().length;
  daemon.proc.kill('SIGHUP');
  t.ok(await waitFor(() => /tcp \. 3333/.test(nft('list', 'set', 'inet', 'sesame', 'guarded')), 3000), 'SIGHUP guards tcp/3333');
  t.equal(probe(3333, lab.client4b), 'closed', 'a never-knocked source is kept out');
  // ... and later reload the saved file: Sesame's old tables are back.
  from = lines().length;
  lab.exec(lab.srv, ['nft', '-f', saved]);
  const t0 = Date.now();
  t.ok(await waitFor(() => loggedSince(from, /^firewall: table inet sesame differed from what Sesame installed \(.*elements guarded changed.*\); restored the guard of tcp\/3333 and 0 live grants$/), 2500),
    'the grant table is replaced, logged with what differed');
  t.ok(await waitFor(() => loggedSince(from, /^kernel matching: table inet knock_sesame differed from what Sesame installed \(.+\); replaced it/), 2500),
    'the kernel-matching table is replaced, logged');
  t.ok(Date.now() - t0 <= 2500, `both within 2 s (${Date.now() - t0} ms)`);
  t.ok(await becomes(3333, lab.client4b, 'closed', 1000), 'the new guarded port is closed to a never-knocked source again');
  t.equal(probe(3333, lab.client4b), 'closed', 'and stays closed');
  t.equal(lines().slice(from).filter((l) => /differed/.test(l)).length, 2, 'each repair logged once');
  // The revoked sequence opens nothing, the new one opens.
  lab.knock([lab.server4, '7000', '8000', '9000']);
  await sleep(800);
  t.same(opens(), [], 'the old sequence runs no command');
  t.equal(probe(2222, lab.client4), 'open', 'tcp/2222 is no longer guarded (it is not in the new config)');
  t.notOk(loggedSince(from, /OPEN SESAME/), 'no OPEN SESAME from the stale table');
  lab.knock([lab.server4, '7100', '8100', '9100']);
  t.ok(await waitFor(() => opens().includes(`NEW ${lab.client4}`), 3000), 'the new sequence opens');
  t.ok(await becomes(3333, lab.client4, 'open', 2000), 'and its port lets the knocker in');
  t.equal(probe(3333, lab.client4b), 'closed', 'nobody else');
});

t.test('the drop rule swapped for an accept (same rule count) is put back', async (t) => {
  const handle = /@guarded iifname \. meta l4proto \. th dport != @yielded drop # handle (\d+)/.exec(nft('-a', 'list', 'chain', 'inet', 'sesame', 'input'))?.[1];
  t.ok(handle, 'the drop rule has a handle');
  const from = lines().length;
  nft('replace', 'rule', 'inet', 'sesame', 'input', 'handle', handle!, 'meta', 'l4proto', '.', 'th', 'dport', '@guarded', 'accept');
  t.ok(await waitFor(() => loggedSince(from, /^firewall: table inet sesame differed from what Sesame installed \(rules input changed; .*\); restored the guard of tcp\/3333 and 1 live grant$/), 2500), 'noticed and logged');
  t.match(nft('list', 'chain', 'inet', 'sesame', 'input'), /!= @yielded drop/, 'the drop rule is back');
  t.equal(probe(3333, lab.client4b), 'closed', 'a never-knocked source is kept out');
  t.equal(probe(3333, lab.client4), 'open', 'the knocker keeps its grant');
});

t.test('a guarded element swapped for another is put back', async (t) => {
  const from = lines().length;
  nftFile('delete element inet sesame guarded { tcp . 3333 }\nadd element inet sesame guarded { tcp . 4444 }\n');
  t.ok(await waitFor(() => loggedSince(from, /differed from what Sesame installed \(elements guarded changed; /), 2500), 'noticed and logged');
  t.match(nft('list', 'set', 'inet', 'sesame', 'guarded'), /tcp \. 3333 \}/, 'tcp/3333 is guarded again, tcp/4444 not');
  t.equal(probe(3333, lab.client4b), 'closed');
});

t.test('the allow set flushed by hand: the live grant is back within 2 s', async (t) => {
  t.equal(probe(3333, lab.client4), 'open', 'granted before');
  const from = lines().length;
  nft('flush', 'set', 'inet', 'sesame', 'allow4');
  t.ok(await waitFor(() => loggedSince(from, /^firewall: table inet sesame had lost 1 live grant \(nft flush set\?\); restored it$/), 2500), 'noticed and logged');
  t.match(nft('list', 'set', 'inet', 'sesame', 'allow4'), new RegExp(`${lab.client4.replaceAll('.', '\\.')} \\. tcp \\. 3333 timeout (4|5)\\ds expires (4|5)\\d`), 'with the time it had left');
  t.equal(probe(3333, lab.client4), 'open', 'the knocker connects again');
});

t.test('a grant Sesame did not make (added by hand, or by a reloaded dump) is removed', async (t) => {
  const from = lines().length;
  nft('add', 'element', 'inet', 'sesame', 'allow4', `{ ${lab.client4b} . tcp . 3333 timeout 1h }`);
  t.ok(await waitFor(() => loggedSince(from, new RegExp(`held 1 grant Sesame did not make \\(a saved ruleset reloaded\\?\\); removed it: ${lab.client4b.replaceAll('.', '\\.')} \\. tcp \\. 3333$`)), 2500), 'noticed and logged');
  t.equal(probe(3333, lab.client4b), 'closed', 'the stray grant opens nothing');
  t.equal(probe(3333, lab.client4), 'open', 'the real grant stays');
  t.equal(await lab.stop(daemon), 15);
});

t.test('a restart keeps the grants it made, and nothing that was added while it was down', async (t) => {
  // While no daemon runs: a chain dropping the granted user, a stray hour-long grant (a stale dump's).
  nftFile(`add chain inet sesame extra { type filter hook input priority -5; policy accept; }\n` +
    `add rule inet sesame extra ip saddr ${lab.client4} tcp dport 3333 drop\n` +
    `add element inet sesame allow4 { ${lab.client4b} . tcp . 3333 timeout 1h expires 50m }\n`);
  t.equal(probe(3333, lab.client4b), 'open', 'the stray grant works while no daemon runs (the kernel alone)');
  const from = lines().length;
  daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', lab.file('state'), '--matching', 'kernel'], log);
  t.ok(loggedSince(from, /^firewall: kept 1 live grant of an earlier run; dropped 1 grant this instance did not make \(a saved ruleset reloaded\?\)$/), 'logged');
  t.notMatch(nft('list', 'table', 'inet', 'sesame'), /chain extra/, 'the foreign chain is gone');
  t.equal(probe(3333, lab.client4b), 'closed', 'the stray grant is gone');
  t.equal(probe(3333, lab.client4), 'open', 'the grant this instance made is kept');
  t.match(nft('list', 'set', 'inet', 'sesame', 'allow4'), new RegExp(`${lab.client4.replaceAll('.', '\\.')} \\. tcp \\. 3333 timeout [1-5]\\ds`), 'for the time it had left');
  t.equal(await lab.stop(daemon), 15);
});
