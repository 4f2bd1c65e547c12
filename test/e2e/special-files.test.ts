// Config and state files that are not plain, sane files (reliability issue, defect 6): a FIFO used
// to block start-up, --check and SIGHUP forever (SIGTERM ignored), a link to /dev/zero grew the
// daemon to gigabytes, 100 MB of blank lines froze it; a FIFO LogFile or journal hung start-up.
// Each is now refused at once with its reason, and a running daemon keeps its config.

import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { symlinkSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, SESAME, logLines, readIf, waitFor } from '../helpers/lab.js';

t.setTimeout(90_000);
const lab = new Lab(26, 'sp');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
t.teardown(() => lab.cleanup());

const fifo = (name: string) => { const p = lab.file(name); execFileSync('mkfifo', [p]); return p; };
/** knockd with a 10 s bound; the status and output. */
function knockd(args: string[]) {
  const r = spawnSync('timeout', ['10', SESAME, ...args], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

t.test('--check and start refuse what is not a plain file of sane size, at once', async (t) => {
  const f = fifo('fifo.conf');
  let r = knockd(['--check', '-c', f]);
  t.equal(r.code, 1, 'a FIFO: exit 1, not a hang (124)');
  t.match(r.out, `${f}: a FIFO, not a regular file`);
  const zero = lab.file('zero.conf');
  symlinkSync('/dev/zero', zero);
  r = knockd(['--check', '-c', zero]);
  t.equal(r.code, 1);
  t.match(r.out, 'a character device, not a regular file', 'a link to /dev/zero');
  const big = lab.file('big.conf', '\n'.repeat(5 * 1024 * 1024));
  r = knockd(['--check', '-c', big]);
  t.equal(r.code, 1);
  t.match(r.out, /File too large \(5242880 bytes; at most 4194304\)/, '5 MB of blank lines');
  r = knockd(['-c', f, '-i', 'lo']);
  t.equal(r.code, 1, 'the daemon refuses it too');
  const ot = fifo('onetime.fifo');
  r = knockd(['--check', '-c', lab.file('ot.conf', `[d]\n\tone_time_sequences = ${ot}\n\tcommand = true\n`)]);
  t.equal(r.code, 1, 'a FIFO One_Time_Sequences file');
  t.match(r.out, 'a FIFO, not a regular file');
});

t.test('a running daemon: SIGHUP to a FIFO keeps the config; FIFO LogFile and journal do not hang start', async (t) => {
  const log = lab.file('sp.log');
  const state = lab.file('state');
  mkdirSync(state, { mode: 0o700 });
  execFileSync('mkfifo', ['-m', '600', join(state, 'pending-stops.json')]);
  const conf = lab.file('sp.conf', `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n[d]\n\tsequence = 7000,8000\n\tcommand = true\n`);
  const d = await lab.start(SESAME, ['-c', conf, '--state-dir', state], log);
  t.ok(logLines(readIf(log)).some((l) => /pending-stops\.json: a FIFO, not a regular file/.test(l)), 'the FIFO journal is a warning');
  renameSync(conf, `${conf}.good`);
  execFileSync('mkfifo', [conf]);
  d.proc.kill('SIGHUP');
  t.ok(await waitFor(() => logLines(readIf(log)).some((l) => l.includes('a FIFO, not a regular file') && l.includes(conf)), 5000), 'the reload error is logged');
  const from = logLines(readIf(log)).length;
  lab.knock([lab.server4, '7000', '8000']);
  t.ok(await waitFor(() => logLines(readIf(log)).slice(from).some((l) => l.endsWith('d: OPEN SESAME')), 5000), 'the old config still serves');
  t.equal(await lab.stop(d), 15, 'SIGTERM works (not stuck in a read)');

  const logFifo = fifo('log.fifo');
  const conf2 = lab.file('sp2.conf', `[options]\n\tLogFile = ${logFifo}\n\tInterface = ${lab.sif}\n[d]\n\tsequence = 7000,8000\n\tcommand = true\n`);
  const r = spawnSync('timeout', ['--preserve-status', '-s', 'TERM', '3', 'ip', 'netns', 'exec', lab.srv, SESAME, '-c', conf2, '--state-dir', lab.file('state2')], { encoding: 'utf8' });
  t.equal(r.status, 15, 'with a FIFO LogFile it starts and runs until stopped (exit 15 on SIGTERM, not stuck in open)');
  t.match(r.stderr, /warning: cannot open logfile: (ENXIO|.*a FIFO, not a log file)/, 'a warning (ENXIO: no reader; or: a FIFO)');
  writeFileSync(lab.file('done'), '');
});
