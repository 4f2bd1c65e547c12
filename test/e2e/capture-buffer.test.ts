// Capture_Buffer: libpcap's kernel ring of each capture process (pcap matching) is sized by the
// key. The size is read from the capture process's mapping of its packet socket (/proc/PID/maps);
// libpcap maps a ring in proportion to the buffer asked for.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Lab, SESAME, sh, waitFor } from '../helpers/lab.js';

t.setTimeout(120_000);
const lab = new Lab(42, 'cb');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
t.teardown(() => lab.cleanup());

let run = 0;
/** MiB of the packet-socket mapping of the capture process of a daemon started with `extra` options. */
async function ringMiB(extra: string): Promise<number> {
  const n = ++run;
  const log = lab.file(`cb${n}.log`);
  const conf = lab.file(`cb${n}.conf`, `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n${extra}[d]\n\tsequence = 7000,8000\n\tcommand = true\n`);
  const d = await lab.start(SESAME, ['-c', conf, '--matching', 'pcap', '--state-dir', lab.file(`state${n}`)], log);
  try {
    let mib = 0;
    await waitFor(() => {
      for (const pid of sh('pgrep', ['-P', String(d.proc.pid)], { allowFail: true }).split('\n').filter(Boolean)) {
        let maps = '';
        try { maps = readFileSync(`/proc/${pid}/maps`, 'utf8'); } catch { continue; }
        for (const l of maps.split('\n').filter((x) => x.includes('socket:['))) {
          const [a, b] = l.split(' ')[0]!.split('-').map((h) => parseInt(h, 16));
          mib = Math.max(mib, (b! - a!) / 1048576);
        }
      }
      return mib > 0;
    }, 5000);
    return mib;
  } finally {
    await lab.stop(d);
  }
}

t.test('Capture_Buffer sizes the libpcap ring (default 8 MiB)', async (t) => {
  const dflt = await ringMiB('');
  const big = await ringMiB('\tCapture_Buffer = 64\n');
  const small = await ringMiB('\tCapture_Buffer = 1\n');
  t.ok(dflt >= 8, `default ring mapped: ${dflt} MiB`);
  t.ok(big >= 64 && big > dflt, `Capture_Buffer = 64: ${big} MiB`);
  t.ok(small >= 1 && small < dflt, `Capture_Buffer = 1: ${small} MiB`);
});

t.test('a bad Capture_Buffer is refused with its line', async (t) => {
  for (const v of ['0', '1025', '8M', 'lots']) {
    const conf = lab.file('bad.conf', `[options]\n\tCapture_Buffer = ${v}\n[d]\n\tsequence = 7000\n`);
    const r = spawnSync(SESAME, ['--check', '-c', conf], { encoding: 'utf8' });
    t.equal(r.status, 1, `${v}: exit 1`);
    t.match(r.stderr, `config: line 2: Capture_Buffer must be a size in MiB from 1 to 1024, not "${v}"`, v);
  }
});
