// The wall clock steps back while a stop command is pending (reliability issue, defect 5): NTP or
// `date -s`. Stop timers compared Date.now() with their due time, so a step of -1 h delayed every
// pending stop by an hour (the door stayed open). The daemon runs under libfaketime, whose wall
// clock the test steps back without touching the host's; the monotonic clock is left real.

import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { Lab, SESAME, logLines, readIf, sleep, waitFor } from '../helpers/lab.js';

const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
t.setTimeout(60_000);
const lab = new Lab(23, 'cs');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else if (!existsSync(FAKETIME)) t.fail(`${FAKETIME} missing: scripts/setup installs libfaketime`);
else lab.up();
t.teardown(() => lab.cleanup());

t.test('a stop command runs on time after the wall clock stepped back an hour', async (t) => {
  const log = lab.file('cs.log');
  const stopped = lab.file('stopped');
  const clock = lab.file('faketime', '+0\n');
  const conf = lab.file('cs.conf', `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n[door]\n` +
    `\tsequence = 7000,8000\n\tstart_command = true\n\tcmd_timeout = 3\n\tstop_command = touch ${stopped}\n`);
  const daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', lab.file('state')], log, {
    LD_PRELOAD: FAKETIME, FAKETIME_TIMESTAMP_FILE: clock, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1',
  });
  const lines = () => logLines(readIf(log));
  lab.knock([lab.server4, '7000', '8000']);
  t.ok(await waitFor(() => lines().some((l) => l.endsWith('door: OPEN SESAME')), 5000), 'the door opened');
  const opened = Date.now();
  writeFileSync(clock, '-1h\n'); // the daemon's wall clock: one hour back
  t.ok(await waitFor(() => existsSync(stopped), 8000), 'the stop command ran');
  const took = Date.now() - opened;
  t.ok(took < 6000, `after ${took} ms (Cmd_Timeout 3 s), not an hour later`);
  t.ok(lines().some((l) => l.endsWith('door: command timeout')), 'logged as usual');
  daemon.proc.kill('SIGTERM');
  await daemon.exit;
  await sleep(10);
});
