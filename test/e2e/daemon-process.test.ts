// Sesame's knockd as a process, run exactly as a user runs it (bin/knockd with a config file) in
// a server namespace, knocked with the real knock client: commands, signals, reload, crash
// safety, interfaces coming and going, syslog, -l, Target, -4 (spec section 8 cases 27–33, 39–48).

import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, SESAME, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';

t.setTimeout(600_000);
const lab = new Lab(12, 'kp');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
t.teardown(() => lab.cleanup());

let run = 0;
interface Handle { d: Daemon; log: string; out: string; conf: string; state: string; lines: () => string[] }

/** Writes a config (@LOG@ @OUT@ @IF@ filled in) and starts Sesame's knockd with it. */
async function sesame(conf: string, args: string[] = [], opts: { state?: string; env?: Record<string, string> } = {}): Promise<Handle> {
  const id = ++run;
  const log = lab.file(`p${id}.log`);
  const out = lab.file(`p${id}.out`);
  const state = opts.state ?? lab.file(`state${id}`);
  const file = lab.file(`p${id}.conf`, conf.replaceAll('@LOG@', log).replaceAll('@OUT@', out).replaceAll('@IF@', lab.sif));
  const d = await lab.start(SESAME, ['-c', file, '--state-dir', state, ...args], log, opts.env);
  return { d, log, out, conf: file, state, lines: () => logLines(readIf(log)) };
}

const srv = () => lab.server4;
const ip = () => lab.client4;
const HEAD = '[options]\n\tLogFile = @LOG@\n\tInterface = @IF@\n';

t.test('case 27: %IP% twice, non-zero status, stop after Cmd_Timeout, _6 variants', async (t) => {
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000,8000\n\tStart_Command = echo START %IP% %IP% >> @OUT@; exit 3\n\tCMD_TIMEOUT = 2\n\tstop_command = echo STOP %IP% >> @OUT@\n\tstop_command_6 = echo STOP6 [%IP%] >> @OUT@\n`);
  lab.knock([srv(), '7000', '8000']);
  lab.knock(['-6', lab.server6, '7000', '8000']);
  t.ok(await waitFor(() => readIf(h.out).includes('STOP6'), 6000), 'stop commands ran');
  await lab.stop(h.d);
  // The two knocks' commands run in their own shells, as knockd's children do: their order is not fixed.
  t.same(readIf(h.out).split('\n').filter(Boolean).sort(), [`START ${ip()} ${ip()}`, `START ${lab.client6} ${lab.client6}`, `STOP ${ip()}`, `STOP6 [${lab.client6}]`].sort());
  t.equal(h.lines().filter((l) => l === 'd: command returned non-zero status code (3)').length, 2);
  t.ok(h.lines().includes(`${ip()}: d: command timeout`));
  t.ok(h.lines().includes(`${lab.client6}: d: command timeout`));
});

t.test('case 28 (ruling): SIGTERM runs the pending stop command at once, exit 15', async (t) => {
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000\n\tcommand = echo START %IP% >> @OUT@\n\tcmd_timeout = 300\n\tstop_command = echo STOP %IP% >> @OUT@\n`);
  lab.knock([srv(), '7000']);
  t.ok(await waitFor(() => readIf(h.out).includes('START'), 3000));
  const t0 = Date.now();
  t.equal(await lab.stop(h.d, 'SIGTERM'), 15);
  t.ok(Date.now() - t0 < 5000, 'did not wait for the 300 s timeout');
  t.equal(readIf(h.out), `START ${ip()}\nSTOP ${ip()}\n`);
  t.same(h.lines().slice(-2), ['', 'shutting down']);
});

t.test('case 48: SIGINT exits 2', async (t) => {
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000\n`);
  t.equal(await lab.stop(h.d, 'SIGINT'), 2);
});

t.test('crash safety: SIGKILL, then a restart runs the overdue stop command', async (t) => {
  const state = lab.file('crash-state');
  const conf = `${HEAD}[d]\n\tsequence = 7000\n\tcommand = echo START %IP% >> @OUT@\n\tcmd_timeout = 2\n\tstop_command = echo STOP %IP% >> @OUT@\n`;
  const h = await sesame(conf, [], { state });
  lab.knock([srv(), '7000']);
  t.ok(await waitFor(() => readIf(h.out).includes('START'), 3000));
  // The journal is written on the next loop turn.
  t.ok(await waitFor(() => readIf(join(state, 'pending-stops.json')).includes(`echo STOP ${ip()}`), 3000), 'stop journalled');
  await lab.stop(h.d, 'SIGKILL');
  await sleep(2500);
  t.equal(readIf(h.out), `START ${ip()}\n`, 'nothing closed the door while the daemon was dead');
  // Same config and state dir, new process.
  const d2 = await lab.start(SESAME, ['-c', h.conf, '--state-dir', state], h.log);
  t.ok(await waitFor(() => readIf(h.out).includes('STOP'), 3000), 'overdue stop ran at start');
  t.equal(readIf(h.out), `START ${ip()}\nSTOP ${ip()}\n`);
  await lab.stop(d2);
});

t.test('crash safety: a stop not yet due is rescheduled after a restart', async (t) => {
  const state = lab.file('crash-state2');
  const conf = `${HEAD}[d]\n\tsequence = 7000\n\tcommand = echo START >> @OUT@\n\tcmd_timeout = 4\n\tstop_command = echo STOP >> @OUT@\n`;
  const h = await sesame(conf, [], { state });
  lab.knock([srv(), '7000']);
  await waitFor(() => readIf(h.out).includes('START'), 3000);
  t.ok(await waitFor(() => readIf(join(state, 'pending-stops.json')).includes('echo STOP'), 3000), 'stop journalled');
  await lab.stop(h.d, 'SIGKILL');
  const d2 = await lab.start(SESAME, ['-c', h.conf, '--state-dir', state], h.log);
  await sleep(500);
  t.equal(readIf(h.out), 'START\n', 'not run early');
  t.ok(await waitFor(() => readIf(h.out) === 'START\nSTOP\n', 6000), 'ran when due');
  await lab.stop(d2);
});

t.test('a half-written journal never stops the daemon from starting', async (t) => {
  const state = lab.file('torn-state');
  mkdirSync(state, { mode: 0o700 });
  writeFileSync(join(state, 'pending-stops.json'), '{"version":1,"stops":[{"door":"d","comm', { mode: 0o600 });
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000\n\tcommand = echo OPEN >> @OUT@\n`, [], { state });
  lab.knock([srv(), '7000']);
  t.ok(await waitFor(() => readIf(h.out) === 'OPEN\n', 3000));
  await lab.stop(h.d);
  t.ok(h.lines().some((l) => /unreadable journal/.test(l)), 'logged why the journal was ignored');
});

t.test('case 41: SIGHUP between knocks drops the attempt and logs the reload', async (t) => {
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000,8000,9000\n\tcommand = echo OPEN >> @OUT@\n`);
  lab.knock([srv(), '7000', '8000']);
  t.ok(await waitFor(() => h.lines().some((l) => l.endsWith('d: Stage 2')), 3000), 'two knocks in');
  h.d.proc.kill('SIGHUP');
  await waitFor(() => h.lines().some((l) => l.startsWith('re-reading')), 3000);
  lab.knock([srv(), '9000']);
  await sleep(400);
  await lab.stop(h.d);
  t.equal(readIf(h.out), '');
  const i = h.lines().indexOf(`re-reading config file: ${h.conf}`);
  t.ok(i > 0);
  t.equal(h.lines()[i + 1], '', 'followed by an empty line, as knockd');
});

t.test('SIGHUP with a changed good config: the new sequence works', async (t) => {
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000\n\tcommand = echo OLD >> @OUT@\n`);
  writeFileSync(h.conf, readFileSync(h.conf, 'utf8').replace('sequence = 7000', 'sequence = 6000').replace('OLD', 'NEW'));
  h.d.proc.kill('SIGHUP');
  await waitFor(() => h.lines().some((l) => l.startsWith('re-reading')), 3000);
  await sleep(500);
  lab.knock([srv(), '7000']);
  lab.knock([srv(), '6000']);
  t.ok(await waitFor(() => readIf(h.out).includes('NEW'), 3000));
  await lab.stop(h.d);
  t.equal(readIf(h.out), 'NEW\n');
});

t.test('case 42 (ruling): a broken config on SIGHUP is logged and the old one keeps running', async (t) => {
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000\n\tcommand = echo OPEN >> @OUT@\n`);
  appendFileSync(h.conf, '[bad\n');
  h.d.proc.kill('SIGHUP');
  t.ok(await waitFor(() => h.lines().some((l) => l.startsWith('config: line 7: syntax error')), 3000), h.lines().join('\n'));
  t.equal(h.d.proc.exitCode, null, 'still running (knockd 0.8 exits 1)');
  lab.knock([srv(), '7000']);
  t.ok(await waitFor(() => readIf(h.out) === 'OPEN\n', 3000), 'old config still opens');
  t.equal(await lab.stop(h.d), 15);
});

t.test('case 43: LogFile in the config beats -g', async (t) => {
  const g = lab.file('g.log');
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000\n`, ['-g', g]);
  await lab.stop(h.d);
  t.notOk(existsSync(g));
  t.ok(h.lines().length > 0);
});

t.test('case 33: empty command: OPEN SESAME, no running-command line', async (t) => {
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000\n\tcommand =\n`);
  lab.knock([srv(), '7000']);
  await waitFor(() => h.lines().some((l) => l.endsWith('OPEN SESAME')), 3000);
  await lab.stop(h.d);
  t.notOk(h.lines().some((l) => l.includes('running command')));
});

t.test('case 29: command_6 empty runs nothing for IPv6', async (t) => {
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000,8000\n\tcommand = echo V4 %IP% >> @OUT@\n\tcommand_6 =\n`);
  lab.knock(['-6', lab.server6, '7000', '8000']);
  lab.knock([srv(), '7000', '8000']);
  t.ok(await waitFor(() => h.lines().filter((l) => l.endsWith('OPEN SESAME')).length === 2 && readIf(h.out).length > 0, 3000));
  await lab.stop(h.d);
  t.equal(h.lines().filter((l) => l.endsWith('OPEN SESAME')).length, 2);
  t.equal(readIf(h.out), `V4 ${ip()}\n`);
});

t.test('case 30: -4 ignores IPv6 knocks', async (t) => {
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000,8000\n\tcommand = echo OPEN %IP% >> @OUT@\n`, ['-4']);
  lab.knock(['-6', lab.server6, '7000', '8000']);
  await sleep(500);
  await lab.stop(h.d);
  t.same(h.lines().filter((l) => l.includes('Stage')), []);
});

t.test('case 31: Target selects by destination; %IP% is the knocker', async (t) => {
  lab.exec(lab.cli, ['ip', 'neigh', 'replace', `10.77.${lab.n}.50`, 'lladdr', lab.exec(lab.srv, ['cat', `/sys/class/net/${lab.sif}/address`]).trim(), 'dev', lab.cif]);
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000,8000\n\ttarget = 10.77.${lab.n}.50\n\tcommand = echo OPEN %IP% >> @OUT@\n`);
  lab.knock([srv(), '7000', '8000']);
  await sleep(300);
  t.equal(readIf(h.out), '', 'knock to the host itself does not open');
  lab.knock([`10.77.${lab.n}.50`, '7000', '8000']);
  t.ok(await waitFor(() => readIf(h.out) === `OPEN ${ip()}\n`, 3000));
  await lab.stop(h.d);
});

t.test('case 32: -l logs `ip (name)` from /etc/hosts, %IP% stays numeric', async (t) => {
  const hostsDir = `/etc/netns/${lab.srv}`;
  mkdirSync(hostsDir, { recursive: true });
  t.teardown(() => rmSync(hostsDir, { recursive: true, force: true }));
  writeFileSync(join(hostsDir, 'hosts'), `127.0.0.1 localhost\n${ip()} client2.test\n`);
  const h = await sesame(`${HEAD}[single]\n\tsequence = 7000\n\tcmd_timeout = 1\n\tcommand = echo OPEN %IP% >> @OUT@\n\tstop_command = echo STOP %IP% >> @OUT@\n`, ['-l']);
  lab.knock([srv(), '7000']);
  lab.knock([srv(), '7000']);
  t.ok(await waitFor(() => readIf(h.out).split('STOP').length === 3, 5000));
  await lab.stop(h.d);
  t.equal(h.lines().filter((l) => l === `${ip()} (client2.test): single: OPEN SESAME`).length, 2);
  t.ok(h.lines().includes(`${ip()} (client2.test): single: command timeout`));
  t.equal(readIf(h.out), `OPEN ${ip()}\nOPEN ${ip()}\nSTOP ${ip()}\nSTOP ${ip()}\n`);
});

t.test('case 39: a listening service on a sequence port; tcpflags=syn makes it work', async (t) => {
  const server = spawn('ip', ['netns', 'exec', lab.srv, 'python3', '-c',
    `import socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',2222));s.listen(8)\nend=time.time()+60\nwhile time.time()<end:\n  c,_=s.accept();c.close()`]);
  t.teardown(() => { server.kill('SIGKILL'); });
  await sleep(500);
  const plain = await sesame(`${HEAD}[d]\n\tsequence = 7000,2222,8000\n\tcommand = echo OPEN >> @OUT@\n`);
  lab.knock([srv(), '7000', '2222', '8000']);
  await sleep(500);
  await lab.stop(plain.d);
  t.equal(readIf(plain.out), '', 'handshake ACK/FIN to 2222 resets the knock (as knockd)');
  const syn = await sesame(`${HEAD}[d]\n\tsequence = 7000,2222,8000\n\ttcpflags = syn\n\tcommand = echo OPEN >> @OUT@\n`);
  lab.knock([srv(), '7000', '2222', '8000']);
  t.ok(await waitFor(() => readIf(syn.out) === 'OPEN\n', 3000));
  await lab.stop(syn.d);
});

t.test('case 40: knocks to ports the server\'s nftables drops still count', async (t) => {
  const rules = 'table inet kdrop {\n chain input {\n type filter hook input priority 0;\n tcp dport 7000-9000 drop\n }\n}\n';
  lab.exec(lab.srv, ['sh', '-c', `printf '${rules}' | nft -f -`]);
  t.match(lab.exec(lab.srv, ['nft', 'list', 'ruleset']), 'tcp dport 7000-9000 drop');
  t.teardown(() => { lab.exec(lab.srv, ['nft', 'delete', 'table', 'inet', 'kdrop'], true); });
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000,8000,9000\n\ttcpflags = syn\n\tcommand = echo OPEN >> @OUT@\n`);
  lab.knock([srv(), '7000', '8000', '9000']);
  t.ok(await waitFor(() => readIf(h.out) === 'OPEN\n', 3000));
  await lab.stop(h.d);
});

t.test('case 47: UseSyslog sends knockd\'s datagrams (daemon.notice, ident knockd)', async (t) => {
  const sock = lab.file('syslog.sock');
  const got = lab.file('syslog.txt');
  const listener = spawn('python3', ['-c',
    `import socket,time\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM);s.bind('${sock}');s.settimeout(0.5)\nend=time.time()+60\nwhile time.time()<end:\n  try:\n    d=s.recv(4096)\n  except socket.timeout:\n    continue\n  open('${got}','ab').write(d+b'\\x00')`]);
  t.teardown(() => { listener.kill('SIGKILL'); });
  await waitFor(() => existsSync(sock), 3000);
  const h = await sesame(`[options]\n\tUseSyslog\n\tLogFile = @LOG@\n\tInterface = @IF@\n[d]\n\tsequence = 7000\n\tcommand = true\n`, [], { env: { SESAME_SYSLOG_PATH: sock } });
  lab.knock([srv(), '7000']);
  await waitFor(() => readIf(got).includes('running command'), 3000);
  await lab.stop(h.d);
  const grams = readIf(got).split('\0').filter(Boolean);
  const stage = grams.find((g) => g.endsWith(`knockd: ${ip()}: d: Stage 1`));
  t.match(stage, /^<29>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d knockd: /);
  t.ok(grams.some((g) => g.endsWith('knockd: d: running command: true\n')), 'trailing newline kept, as knockd');
});

for (const mode of ['pcap', 'kernel'] as const) t.test(`case 46 (ruling, ${mode}): the interface disappears and comes back: knocks work again`, async (t) => {
  const h = await sesame(`${HEAD}[d]\n\tsequence = 7000\n\tcommand = echo OPEN %IP% >> @OUT@\n`, ['--matching', mode]);
  lab.exec(lab.srv, ['ip', 'link', 'del', lab.sif]);
  // libpcap loses its capture and says so; the kernel's table never depended on the interface.
  if (mode === 'pcap') t.ok(await waitFor(() => h.lines().some((l) => l.includes('the interface disappeared')), 5000), h.lines().join('\n'));
  else await sleep(500);
  t.equal(h.d.proc.exitCode, null, 'still running (knockd exits 0)');
  // Re-create the link with the same names and addresses.
  lab.exec(lab.srv, ['ip', 'link', 'add', lab.sif, 'type', 'veth', 'peer', 'name', lab.cif, 'netns', lab.cli]);
  lab.exec(lab.srv, ['ip', 'addr', 'add', `${lab.server4}/24`, 'dev', lab.sif]);
  lab.exec(lab.srv, ['ip', 'addr', 'add', `${lab.server6}/64`, 'dev', lab.sif, 'nodad']);
  lab.exec(lab.cli, ['ip', 'addr', 'add', `${lab.client4}/24`, 'dev', lab.cif]);
  lab.exec(lab.cli, ['ip', 'addr', 'add', `${lab.client4b}/24`, 'dev', lab.cif]);
  lab.exec(lab.cli, ['ip', 'addr', 'add', `${lab.client6}/64`, 'dev', lab.cif, 'nodad']);
  lab.exec(lab.srv, ['ip', 'link', 'set', lab.sif, 'up']);
  lab.exec(lab.cli, ['ip', 'link', 'set', lab.cif, 'up']);
  if (mode === 'pcap') t.ok(await waitFor(() => h.lines().some((l) => l.startsWith(`re-opened ${lab.sif}`)), 8000), 'reopened');
  // The link's addresses may come up just after the capture reopened: knock until it opens (<= 4 s).
  let opened = false;
  for (let i = 0; i < 4 && !opened; i++) {
    lab.knock([srv(), '7000']);
    opened = await waitFor(() => readIf(h.out).startsWith(`OPEN ${ip()}\n`), 1000);
  }
  t.ok(opened, 'a knock opens again');
  await lab.stop(h.d);
});

t.test('two interfaces at once (Interface = a,b)', async (t) => {
  const s2 = `${lab.tag}s1`, c2 = `${lab.tag}c1`;
  lab.exec(lab.srv, ['ip', 'link', 'add', s2, 'type', 'veth', 'peer', 'name', c2, 'netns', lab.cli]);
  lab.exec(lab.srv, ['ip', 'addr', 'add', `10.78.${lab.n}.1/24`, 'dev', s2]);
  lab.exec(lab.cli, ['ip', 'addr', 'add', `10.78.${lab.n}.2/24`, 'dev', c2]);
  lab.exec(lab.srv, ['ip', 'link', 'set', s2, 'up']);
  lab.exec(lab.cli, ['ip', 'link', 'set', c2, 'up']);
  const h = await sesame(`[options]\n\tLogFile = @LOG@\n\tInterface = @IF@,${s2}\n[d]\n\tsequence = 7000,8000\n\tcommand = echo OPEN %IP% >> @OUT@\n`);
  t.ok(h.lines()[0]!.startsWith(`starting up, listening on ${lab.sif},${s2}`));
  lab.knock([srv(), '7000', '8000']);
  lab.knock([`10.78.${lab.n}.1`, '7000', '8000']);
  t.ok(await waitFor(() => readIf(h.out).split('\n').length === 3, 3000), readIf(h.out));
  await lab.stop(h.d);
  t.equal(readIf(h.out), `OPEN ${ip()}\nOPEN 10.78.${lab.n}.2\n`);
});

t.test('-d: runs in the background, writes the pid file, removes it on SIGTERM', async (t) => {
  const pid = lab.file('knockd.pid');
  const log = lab.file('bg.log');
  const conf = lab.file('bg.conf', `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n\tPidFile = ${pid}\n[d]\n\tsequence = 7000\n`);
  lab.exec(lab.srv, [SESAME, '-d', '-c', conf, '--state-dir', lab.file('bg-state')]);
  t.ok(await waitFor(() => existsSync(pid), 5000), 'pid file written');
  const n = Number(readFileSync(pid, 'utf8').trim());
  t.ok(n > 1);
  process.kill(n, 'SIGTERM');
  t.ok(await waitFor(() => !existsSync(pid), 5000), 'pid file removed');
  t.ok(logLines(readIf(log)).includes('shutting down'));
});

t.test('start errors are one clear line and exit 1', async (t) => {
  const conf = lab.file('err.conf', `[d]\n\tsequence = 7000\n`);
  const r = spawn('ip', ['netns', 'exec', lab.srv, SESAME, '-c', conf, '-i', 'nosuch0', '--state-dir', lab.file('err-state')]);
  let err = '';
  r.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const code = await new Promise((res) => r.on('exit', res));
  t.equal(code, 1);
  t.match(err, /^could not open nosuch0: .+\n$/);
});

t.test('case 24: one-time sequences in turn, replay ignored, exhaustion disables the door and the daemon runs on', async (t) => {
  const ots = lab.file('ots24', '# c\n 1001,1002,1003\n2001,2002:udp,2003\n\n 3001,3002\n');
  const h = await sesame(`${HEAD}[d]\n\tone_time_sequences = ${ots}\n\tcommand = echo OPEN %IP% >> @OUT@\n`);
  const opens = () => readIf(h.out).split('\n').filter(Boolean).length;
  lab.knock([srv(), '1001', '1002', '1003']);
  t.ok(await waitFor(() => opens() === 1, 3000));
  t.ok(await waitFor(() => readFileSync(ots, 'utf8').includes('# 1001'), 3000), 'rotated');
  lab.knock([srv(), '1001', '1002', '1003']);
  lab.knock([srv(), '2001', '2002:udp', '2003']);
  t.ok(await waitFor(() => opens() === 2, 3000));
  t.ok(await waitFor(() => readFileSync(ots, 'utf8').includes('#2001'), 3000), 'rotated');
  lab.knock([srv(), '3001', '3002']);
  t.ok(await waitFor(() => opens() === 3, 3000), 'each sequence opened once; the replay did not');
  t.ok(await waitFor(() => h.lines().includes('no more sequences left in the one time sequences file for door d --> disabling the door'), 3000));
  t.equal(readFileSync(ots, 'utf8'), '# c\n# 1001,1002,1003\n#2001,2002:udp,2003\n\n# 3001,3002\n');
  t.equal(h.d.proc.exitCode, null, 'still running (knockd 0.8 aborts with a double free)');
  t.equal(await lab.stop(h.d), 15);
});

t.test('case 25: an invalid line before the used one is not marked; the used sequence opens once', async (t) => {
  const ots = lab.file('ots25', ' 1001,70000\n 2001,2002\n 3001,3002\n');
  const h = await sesame(`${HEAD}[d]\n\tone_time_sequences = ${ots}\n\tcommand = echo OPEN >> @OUT@\n`);
  for (let i = 0; i < 3; i++) { lab.knock([srv(), '2001', '2002']); await sleep(300); }
  await lab.stop(h.d);
  t.equal(readIf(h.out), 'OPEN\n');
  t.equal(readFileSync(ots, 'utf8'), ' 1001,70000\n# 2001,2002\n 3001,3002\n');
});

t.test('case 26: a one-time file with only comments: knockd\'s message, exit 1', async (t) => {
  const ots = lab.file('ots26', '# a\n#b\n');
  const conf = lab.file('ots26.conf', `[d]\n\tone_time_sequences = ${ots}\n`);
  const r = spawn('ip', ['netns', 'exec', lab.srv, SESAME, '-c', conf, '-i', lab.sif, '--state-dir', lab.file('ots26-state')]);
  let err = '';
  r.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  t.equal(await new Promise((res) => r.on('exit', res)), 1);
  t.equal(err.split('\n')[0], 'no more sequences left in the one time sequences file for door d --> disabling the door');
});

t.test('-i any: Linux cooked capture, IPv4 and IPv6', async (t) => {
  const h = await sesame(`[options]\n\tLogFile = @LOG@\n[d]\n\tsequence = 7000,8000\n\tcommand = echo OPEN %IP% >> @OUT@\n`, ['-i', 'any']);
  lab.knock([srv(), '7000', '8000']);
  lab.knock(['-6', lab.server6, '7000', '8000']);
  t.ok(await waitFor(() => readIf(h.out).split('\n').length === 3, 3000), readIf(h.out));
  await lab.stop(h.d);
  t.equal(readIf(h.out), `OPEN ${ip()}\nOPEN ${lab.client6}\n`);
});
