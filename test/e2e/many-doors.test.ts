// Configs that --check accepts must be served (reliability issue, defect 7): 500 doors took 15 s
// to start and 4,000 failed with `could not open <interface>: out of memory` (the BPF filter),
// and a SIGHUP to such a config left the daemon deaf. The filter now scales with ports, not doors.
// Also (defect 12): IPv6 knocks with extension headers reach the daemon (the filter used to read
// ports at a fixed offset), now that such packets pass to the decoder, which walks the headers.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Lab, SESAME, logLines, readIf, waitFor } from '../helpers/lab.js';

t.setTimeout(120_000);
const lab = new Lab(29, 'md');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
t.teardown(() => lab.cleanup());

const log = lab.file('md.log');
const doorsConf = (n: number, base: number) => `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n` +
  Array.from({ length: n }, (_, i) => `[door${i}]\n\tsequence = ${base + i},${base + 10000 + i},${base + 20000 + i}\n\tcommand = true\n`).join('');
const conf = lab.file('md.conf', doorsConf(4000, 1000));
const lines = () => logLines(readIf(log));
const opened = (door: string, from: number) => waitFor(() => lines().slice(from).some((l) => l.endsWith(`${door}: OPEN SESAME`)), 5000);

t.test('4,000 doors: starts, serves the last door, and a SIGHUP to another 4,000 keeps serving', async (t) => {
  const t0 = Date.now();
  const d = await lab.start(SESAME, ['-c', conf, '--state-dir', lab.file('state')], log);
  t.pass(`started in ${Date.now() - t0} ms`);
  let from = lines().length;
  lab.knock([lab.server4, '4999', '14999', '24999']);
  t.ok(await opened('door3999', from), 'the last door opens');
  writeFileSync(conf, doorsConf(4000, 2000));
  d.proc.kill('SIGHUP');
  t.ok(await waitFor(() => lines().some((l) => l.includes('re-reading config')), 5000), 'reloaded');
  from = lines().length;
  lab.knock([lab.server4, '2000', '12000', '22000']);
  t.ok(await opened('door0', from), 'the new config serves');
  t.notOk(lines().some((l) => /out of memory|could not open/.test(l)), 'no capture error');

  // An IPv6 knock whose TCP segments follow a destination-options header.
  const knock6 = (port: number) => execFileSync('ip', ['netns', 'exec', lab.cli, 'python3', '-c', `
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
src, dst = socket.inet_pton(socket.AF_INET6, '${lab.client6}'), socket.inet_pton(socket.AF_INET6, '${lab.server6}')
tcp = struct.pack('!HHIIBBHHH', 40000, ${port}, 1, 0, 5 << 4, 2, 64240, 0, 0)
dstopts = bytes([6, 0, 1, 4, 0, 0, 0, 0])  # next header TCP, length 8, PadN
ip6 = struct.pack('!IHBB16s16s', 6 << 28, len(dstopts) + len(tcp), 60, 64, src, dst)
s.sendto(ip6 + dstopts + tcp, ('${lab.server6}', 0))
`]);
  from = lines().length;
  for (const p of [2001, 12001, 22001]) knock6(p);
  t.ok(await opened('door1', from), 'an IPv6 knock with extension headers opens the door');
  t.ok(lines().slice(from).some((l) => l.startsWith(`${lab.client6}: door1: Stage 1`)), 'from the IPv6 source');
  t.equal(await lab.stop(d), 15);
});
