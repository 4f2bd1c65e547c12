// A nearly full disk (reliability issue, defect 3), on a real tmpfs that the test fills up:
// replacing a state file must leave the old file whole (a short write used to be fsynced and
// renamed over it), and an SPA grant whose replay digest cannot be written is refused (it used to
// warn and grant, so the same captured packet would be accepted again after a restart).

import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/fs/atomic-write.js';
import { PROBE, SESAME, labForFile, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';

t.setTimeout(120_000);
const mounts: string[] = [];
const { lab, children } = labForFile(t, 22, 'fd', () => { lab.down(); for (const m of mounts) execFileSync('umount', ['-l', m]); });

/** A tmpfs of `kib` KiB at a new directory. */
function smallDisk(name: string, kib: number): string {
  const dir = lab.file(name);
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0700`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}
/** Fills a file system until the kernel says ENOSPC. */
function fill(dir: string): void {
  execFileSync('sh', ['-c', `dd if=/dev/zero of=${dir}/filler bs=1k 2>/dev/null; true`]);
}

t.test('writeFileAtomic on a full disk throws and leaves the old file whole', async (t) => {
  const dir = smallDisk('fs', 64);
  const path = join(dir, 'pending-stops.json');
  const old = JSON.stringify({ version: 1, stops: [{ door: 'a', command: 'x'.repeat(200) }] }) + '\n';
  writeFileAtomic(path, old, 0o600);
  fill(dir);
  // Leave 8 KiB free: less than the new file, so write() succeeds in part (a short write).
  execFileSync('truncate', ['-s', '-8K', join(dir, 'filler')]);
  const bigger = JSON.stringify({ version: 1, stops: Array.from({ length: 60 }, (_, i) => ({ door: `d${i}`, command: "y".repeat(300) })) }) + '\n';
  t.throws(() => writeFileAtomic(path, bigger, 0o600), { code: 'ENOSPC' }, 'the short write is an error');
  t.equal(readFileSync(path, 'utf8'), old, 'the old file is byte for byte what it was');
  t.same(readdirSync(dir).sort(), ['filler', 'pending-stops.json'], 'no temp file left behind');
  rmSync(join(dir, 'filler'));
  writeFileAtomic(path, bigger, 0o600);
  t.equal(readFileSync(path, 'utf8'), bigger, 'with space again, the write goes through');
});

t.test('SPA: a digest that cannot be recorded opens nothing; with space again, a new packet does', async (t) => {
  const K = randomBytes(32).toString('base64');
  const H = randomBytes(64).toString('base64');
  const state = smallDisk('state', 64);
  const log = lab.file('fd.log');
  const conf = lab.file('fd.conf', `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n[spa]\n` +
    `\tSPA_Key_Base64 = ${K}\n\tSPA_HMAC_Key_Base64 = ${H}\n\tOpen = tcp/2223\n\tCmd_Timeout = 30\n`);
  children.push(spawn('ip', ['netns', 'exec', lab.srv, 'python3', PROBE, 'serve', '2223'], { stdio: 'ignore' }));
  await sleep(300);
  const daemon: Daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', state], log);
  const lines = () => logLines(readIf(log));
  const probe = () => lab.probe('tcp', lab.server4, 2223);
  const spa = () => lab.exec(lab.cli, ['env', `HOME=${lab.dir}`, 'fwknop', '--no-rc-file', '--no-save-args', '-D', lab.server4,
    '-A', 'tcp/2223', '-a', lab.client4, '--key-base64-rijndael', K, '--key-base64-hmac', H, '--use-hmac']);

  fill(state);
  let from = lines().length;
  spa();
  t.ok(await waitFor(() => lines().slice(from).some((l) => l === `${lab.client4}: spa: SPA: refused: replay cache not written (disk full?)`), 5000),
    'refused, with the reason');
  t.ok(lines().slice(from).some((l) => l.startsWith(`warning: cannot write ${state}/spa-replay.json: ENOSPC`)), 'the write failure is logged');
  t.notOk(lines().slice(from).some((l) => /OPEN SESAME|firewall: granted/.test(l)), 'nothing opened');
  t.equal(probe(), 'closed', 'the port stays closed');

  rmSync(join(state, 'filler'));
  from = lines().length;
  spa();
  t.ok(await waitFor(() => lines().slice(from).some((l) => / spa: firewall: granted /.test(l)), 5000), 'granted with space again');
  t.equal(probe(), 'open');
  t.match(readFileSync(join(state, 'spa-replay.json'), 'utf8'), /^\{"version":1,"entries":\[/, 'the replay cache is on disk, whole');
  daemon.proc.kill('SIGTERM');
  await daemon.exit;
  writeFileSync(join(state, 'done'), '');
});
