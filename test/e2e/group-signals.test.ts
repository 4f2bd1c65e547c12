// systemd's stop and Ctrl-C signal the whole process group (reliability issue, defect 4): the
// daemon, its capture child and any running command. Under load this used to crash
// (ERR_IPC_DISCONNECTED from disconnecting a closed channel: exit 1, no "shutting down"), log a
// spurious "capture on … stopped … waiting for it", and a second signal during shutdown exited
// before the stop commands ran (which then ran again at the next start). 50 runs, half under a
// SYN flood: exit 15, "shutting down" logged, every pending stop ran exactly once.

import type { Test } from 'tap';
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { Lab, SESAME, readIf, sleep, waitFor } from '../helpers/lab.js';

const RUNS = Number(process.env.GS_RUNS ?? 50);
t.setTimeout(400_000);
const lab = new Lab(24, 'gs');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
const floods: ChildProcess[] = [];
t.teardown(() => { for (const f of floods) f.kill('SIGKILL'); lab.cleanup(); });

const log = lab.file('gs.log');
const stops = lab.file('stops');
const state = lab.file('state');
// The slow door's stop command outlasts the 2 s that a second signal used to leave it.
const conf = lab.file('gs.conf', `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n` +
  `[door]\n\tsequence = 7000,8000\n\tstart_command = true\n\tcmd_timeout = 600\n\tstop_command = echo stop >> ${stops}\n` +
  `[slow]\n\tsequence = 7100,8100\n\tstart_command = true\n\tcmd_timeout = 600\n\tstop_command = sleep 3; echo stop >> ${stops}\n`);
const count = (text: string, needle: string) => text.split(needle).length - 1;

// Raw SYNs from client4b to the first port at about 5,000 a second (a rate the libpcap path keeps
// up with: flood resistance is the kernel-matching issue's), bounded in count and time (15 s).
const FLOOD = `
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.bind(('${lab.client4b}', 0))
end = time.time() + 15
for i in range(400000):
    s.sendto(struct.pack('!HHIIBBHHH', 20000 + i % 40000, 7000, i, 0, 5 << 4, 2, 64240, 0, 0), ('${lab.server4}', 0))
    if i % 100 == 0:
        time.sleep(0.02)
        if time.time() > end: break
`;

let opened = 0;

async function oneRun(i: number, flood: boolean, t: Test): Promise<void> {
  const twice = i % 5 === 0; // a second signal during shutdown, with the slow door pending
  const stopsBefore = count(readIf(stops), 'stop');
  const startsBefore = count(readIf(log), 'starting up, listening on');
  // Its own process group, as under systemd or in a shell's foreground job.
  const proc = spawn('ip', ['netns', 'exec', lab.srv, SESAME, '-c', conf, '--state-dir', state], { detached: true, stdio: 'ignore' });
  const exit = new Promise<number | null>((r) => proc.once('exit', (code, sig) => r(code ?? (sig ? -1 : null))));
  if (!await waitFor(() => count(readIf(log), 'starting up, listening on') > startsBefore, 15_000)) {
    proc.kill('SIGKILL'); t.fail(`run ${i}: did not start`); return;
  }
  await sleep(150);
  let f: ChildProcess | undefined;
  if (flood) { f = spawn('ip', ['netns', 'exec', lab.cli, 'python3', '-c', FLOOD], { stdio: 'ignore' }); floods.push(f); await sleep(300); }
  const opens = count(readIf(log), 'OPEN SESAME');
  lab.knock(twice ? [lab.server4, '7100', '8100'] : [lab.server4, '7000', '8000']);
  const open = await waitFor(() => count(readIf(log), 'OPEN SESAME') > opens, 5000);
  // A knock lost to the flood (the libpcap path's limit, see the kernel-matching issue) only
  // means this run has no pending stop; it is reported, not failed here.
  if (!open) t.comment(`run ${i}: the knock was not seen (flood)`);
  else opened++;
  await sleep(100); // the start command has run: a stop is pending
  process.kill(-proc.pid!, 'SIGTERM');
  if (twice) { await sleep(300); process.kill(-proc.pid!, 'SIGTERM'); }
  const code = await Promise.race([exit, sleep(20_000).then(() => 'timeout' as const)]);
  f?.kill('SIGKILL');
  if (code === 'timeout') { process.kill(-proc.pid!, 'SIGKILL'); t.fail(`run ${i}: did not stop`); return; }
  t.equal(code, 15, `run ${i}${flood ? ' (flood)' : ''}: exit 15`);
  t.equal(count(readIf(stops), 'stop') - stopsBefore, open ? 1 : 0, `run ${i}: its pending stop ran once before exit`);
}

t.test(`${RUNS} runs of SIGTERM to the whole process group, half under a flood`, async (t) => {
  for (let i = 1; i <= RUNS; i++) await oneRun(i, i % 2 === 0, t);
  const text = readIf(log);
  t.equal(count(text, 'shutting down'), RUNS, '"shutting down" logged by every run');
  t.ok(opened >= RUNS * 0.9, `${opened} of ${RUNS} knocks seen`);
  t.equal(count(readIf(stops), 'stop'), opened, 'every pending stop ran exactly once (none lost, none repeated at the next start)');
  t.equal(count(text, 'waiting for it'), 0, 'no spurious "capture stopped" notice');
  t.notMatch(text, /ERR_IPC_DISCONNECTED|error: /, 'no crash path');
});
