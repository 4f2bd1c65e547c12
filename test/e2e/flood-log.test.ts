// A flood of spoofed first knocks must not flood the log (reliability issue, defect 8): knockd
// logs a Stage line per packet (1 MB/s at top rate, ~90 GB a day). Stage and timeout lines are now
// rate-limited with a summary; a real knock afterwards is logged as usual.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { Lab, SESAME, logLines, readIf, sleep, waitFor } from '../helpers/lab.js';

t.setTimeout(90_000);
const lab = new Lab(30, 'fl');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
t.teardown(() => lab.cleanup());

// 20,000 SYNs to the first port from 20,000 spoofed sources (198.18.0.0/15), as fast as Python goes.
const FLOOD = `
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
dst = socket.inet_aton('${lab.server4}')
for i in range(20000):
    src = bytes([198, 18 + (i >> 16 & 1), i >> 8 & 255, i & 255])
    tcp = struct.pack('!HHIIBBHHH', 40000, 7000, i, 0, 5 << 4, 2, 64240, 0, 0)
    s.sendto(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, i & 65535, 0, 64, 6, 0, src, dst) + tcp, ('${lab.server4}', 0))
`;

t.test('20,000 spoofed first knocks: a bounded log with a summary; a real knock still logged', async (t) => {
  const log = lab.file('fl.log');
  const conf = lab.file('fl.conf', `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n` +
    `[door]\n\tsequence = 7000,8000,9000\n\tseq_timeout = 2\n\tcommand = true\n`);
  const d = await lab.start(SESAME, ['-c', conf, '--state-dir', lab.file('state')], log);
  const t0 = Date.now();
  execFileSync('ip', ['netns', 'exec', lab.cli, 'python3', '-c', FLOOD]);
  await sleep(3000); // their 2 s timeouts come due too
  const secs = (Date.now() - t0) / 1000;
  const spoofed = logLines(readIf(log)).filter((l) => l.startsWith('198.1'));
  t.ok(spoofed.length <= 500 + 100 * (secs + 1), `${spoofed.length} spoofed lines in ${secs.toFixed(1)} s (burst 500, then 100/s)`);
  t.ok(spoofed.length >= 400, 'the first ones are logged as knockd would');
  const from = logLines(readIf(log)).length;
  lab.knock([lab.server4, '7000', '8000', '9000']);
  t.ok(await waitFor(() => logLines(readIf(log)).slice(from).some((l) => l === `${lab.client4}: door: OPEN SESAME`), 5000), 'the real knock opens');
  const after = logLines(readIf(log)).slice(from);
  // Under kernel matching the kernel passes a burst of 500 then 25 events/s, so the summary may come mid-flood.
  t.ok(logLines(readIf(log)).some((l) => /^\d+ knock events not logged \(rate limit\)$/.test(l)), 'the summary line');
  t.ok(after.includes(`${lab.client4}: door: Stage 1`), 'its stages are logged');
  t.ok(statSync(log).size < 200_000, `log ${statSync(log).size} bytes`);
  t.equal(await lab.stop(d), 15);
});

t.test('packets the kernel drops because the capture buffer is full are reported in the log', async (t) => {
  const log = lab.file('kd.log');
  const conf = lab.file('kd.conf', `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n` +
    `[door]\n\tsequence = 7000,8000,9000\n\tseq_timeout = 2\n\tcommand = true\n`);
  const d = await lab.start(SESAME, ['-c', conf, '--state-dir', lab.file('state-kd'), '--matching', 'pcap'], log);
  // The capture process, stopped: its ring fills and the kernel drops the rest.
  const worker = Number(execFileSync('pgrep', ['-P', String(d.proc.pid), '-f', 'capture/worker.js']).toString().trim().split('\n')[0]);
  t.ok(worker > 0, 'found the capture process');
  process.kill(worker, 'SIGSTOP');
  execFileSync('ip', ['netns', 'exec', lab.cli, 'python3', '-c', FLOOD.replace('range(20000)', 'range(60000)')]);
  process.kill(worker, 'SIGCONT');
  t.ok(await waitFor(() => logLines(readIf(log)).some((l) => /^capture on fls0: \d+ packets lost before matching \(capture buffer full: \d+/.test(l)), 8000),
    'the kernel\'s drops are logged');
  t.equal(await lab.stop(d), 15);
});
