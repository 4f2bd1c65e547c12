// The state directory (reliability issue, defect 12): a symbolic link was followed without a word,
// and a missing directory on a read-only file system gave a misleading `ENOENT ... mkdir`.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, SESAME, logLines, readIf } from '../helpers/lab.js';

t.setTimeout(60_000);
const lab = new Lab(31, 'st');
const ro = lab.file('ro');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces, mounts)');
else {
  lab.up();
  mkdirSync(ro);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]);
}
t.teardown(() => { try { execFileSync('umount', ['-l', ro]); } catch { /* not mounted */ } lab.cleanup(); });

const conf = (log: string) => lab.file('st.conf', `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n[d]\n\tsequence = 7000\n\tcommand = true\n`);

t.test('a symlinked state directory is named in a warning, and used', async (t) => {
  const log = lab.file('a.log');
  const real = lab.file('real-state');
  mkdirSync(real, { mode: 0o700 });
  const link = lab.file('state-link');
  symlinkSync(real, link);
  const d = await lab.start(SESAME, ['-c', conf(log), '--state-dir', link], log);
  t.ok(logLines(readIf(log)).includes(`warning: state directory ${link} is a symbolic link to ${real}`));
  t.equal(await lab.stop(d), 15);
});

t.test('a state directory that cannot be made on a read-only file system says so', async (t) => {
  const log = lab.file('b.log');
  const dir = join(ro, 'missing', 'sub');
  const d = await lab.start(SESAME, ['-c', conf(log), '--state-dir', dir], log);
  t.ok(logLines(readIf(log)).includes(`warning: state directory ${dir}: cannot be made: ${ro} is on a read-only file system; ` +
    'pending stop commands will not survive a crash'), 'names the read-only file system, not ENOENT');
  t.equal(await lab.stop(d), 15, 'and runs anyway');
});
