// -l under spoofing (reliability issue, defect 9): with a DNS server that does not answer, names
// were looked up one at a time (2 s each), so 200 spoofed packets kept a real knock waiting over a
// minute, past its Seq_Timeout. Now a source waits only for its own name, lookups run in parallel
// under a cap, and every packet is matched at its arrival time.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Lab, SESAME, logLines, readIf, waitFor } from '../helpers/lab.js';

t.setTimeout(60_000);
const lab = new Lab(28, 'lk');
const netnsEtc = `/etc/netns/${lab.srv}`;
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else {
  lab.up();
  // `ip netns exec` mounts this over /etc/resolv.conf: a name server that never answers.
  mkdirSync(netnsEtc, { recursive: true });
  writeFileSync(`${netnsEtc}/resolv.conf`, 'nameserver 10.77.28.99\noptions timeout:5 attempts:2\n');
}
t.teardown(() => { rmSync(netnsEtc, { recursive: true, force: true }); lab.cleanup(); });

// 200 SYNs to the first port from 200 spoofed sources (198.18.0.0/24), IP header written by us.
const SPOOF = `
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
dst = socket.inet_aton('${lab.server4}')
for i in range(200):
    src = socket.inet_aton('198.18.0.%d' % (i + 1))
    tcp = struct.pack('!HHIIBBHHH', 40000 + i, 7000, i, 0, 5 << 4, 2, 64240, 0, 0)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), i, 0, 64, 6, 0, src, dst)
    s.sendto(ip + tcp, ('${lab.server4}', 0))
`;

t.test('a real knock opens within its Seq_Timeout after 200 spoofed sources, with -l', async (t) => {
  const log = lab.file('lk.log');
  const conf = lab.file('lk.conf', `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n` +
    `[door]\n\tsequence = 7000,8000,9000\n\tseq_timeout = 5\n\tcommand = true\n`);
  const d = await lab.start(SESAME, ['-l', '-c', conf, '--state-dir', lab.file('state')], log);
  execFileSync('ip', ['netns', 'exec', lab.cli, 'python3', '-c', SPOOF]);
  t.ok(await waitFor(() => logLines(readIf(log)).filter((l) => l.startsWith('198.18.0.')).length >= 50, 10_000),
    'the spoofed knocks are seen');
  const t0 = Date.now();
  lab.knock([lab.server4, '7000', '8000', '9000']);
  const opened = await waitFor(() => logLines(readIf(log)).some((l) => l.startsWith(`${lab.client4}`) && l.endsWith('door: OPEN SESAME')), 10_000);
  t.ok(opened, `the real knock opened the door (${Date.now() - t0} ms)`);
  t.notOk(logLines(readIf(log)).some((l) => l.startsWith(`${lab.client4}`) && l.includes('sequence timeout')), 'no timeout for it');
  t.equal(await lab.stop(d), 15);
});
