// A second knockd on the same host (reliability issue, defect 2): it used to install the same
// `inet sesame` table and flush the guarded set down to its own ports (the first one's ports open
// to all, also after the second stopped), and to share the state directory (running the first
// one's pending stops early). Now an instance is a state directory and a table, each locked: a
// second daemon that would share either refuses with a clear message; with --instance NAME it
// runs beside the first with its own table (`inet sesame_NAME`) and state.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { PROBE, SESAME, labForFile, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';

t.setTimeout(120_000);
const { lab, children } = labForFile(t, 27, 'in');

const conf = (name: string, seq: string, port: number) => {
  const log = lab.file(`${name}.log`);
  return { log, path: lab.file(`${name}.conf`, `[options]\n\tLogFile = ${log}\n\tInterface = ${lab.sif}\n` +
    `[${name}]\n\tsequence = ${seq}\n\tOpen = tcp/${port}\n\tCmd_Timeout = 30\n`) };
};
const a = conf('first', '7000,8000', 2222);
const b = conf('second', '7100,8100', 3333);
const stateA = lab.file('stateA');
const stateB = lab.file('stateB');
const probe = (port: number) => lab.probe('tcp', lab.server4, port);
const nft = (...args: string[]) => lab.exec(lab.srv, ['nft', ...args], true);
const knockd = (args: string[]) => {
  const r = spawnSync('timeout', ['15', 'ip', 'netns', 'exec', lab.srv, SESAME, ...args], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};
let first: Daemon;

t.before(async () => {
  children.push(spawn('ip', ['netns', 'exec', lab.srv, 'python3', PROBE, 'serve', '2222', '3333'], { stdio: 'ignore' }));
  await sleep(300);
  first = await lab.start(SESAME, ['-c', a.path, '--state-dir', stateA], a.log);
});

t.test('a second daemon sharing the state directory or the table refuses, naming the first', async (t) => {
  let r = knockd(['-c', b.path, '--state-dir', stateA]);
  t.equal(r.code, 1);
  t.match(r.out, `state directory ${stateA} is in use by knockd (pid ${first.proc.pid}); give this one its own --instance NAME`);
  r = knockd(['-c', b.path, '--state-dir', stateB]);
  t.equal(r.code, 1);
  t.match(r.out, `table inet sesame is in use by knockd (pid ${first.proc.pid}) in this network namespace`);
  t.match(nft('list', 'set', 'inet', 'sesame', 'guarded'), /tcp \. 2222/, "the first one's guard is untouched");
  t.equal(probe(2222), 'closed', 'and its port still guarded');
});

t.test('--instance NAME runs beside it with its own table and state; neither touches the other', async (t) => {
  const second = await lab.start(SESAME, ['-c', b.path, '--instance', 'second', '--state-dir', stateB], b.log);
  t.match(nft('list', 'set', 'inet', 'sesame_second', 'guarded'), /tcp \. 3333/, 'its own table');
  t.match(nft('list', 'set', 'inet', 'sesame', 'guarded'), /tcp \. 2222/, 'the first table keeps its port');
  t.equal(probe(2222), 'closed');
  t.equal(probe(3333), 'closed');
  let from = logLines(readIf(b.log)).length;
  lab.knock([lab.server4, '7100', '8100']);
  t.ok(await waitFor(() => logLines(readIf(b.log)).slice(from).some((l) => l.includes('firewall: granted')), 5000));
  t.equal(probe(3333), 'open', 'the second opens its port');
  t.equal(probe(2222), 'closed', 'not the first one\'s');
  t.match(knockd(['--status', '--instance', 'second']).out, new RegExp(`${lab.client4.replaceAll('.', '\\.')} tcp/3333`));
  t.equal(knockd(['--status']).out, 'no live grants\n', 'the first instance has none');
  t.match(knockd(['--flush', '--instance', 'second']).out, `--flush refused: knockd is running (pid ${second.proc.pid})`);
  t.equal(await lab.stop(second), 15);
  t.equal(probe(2222), 'closed', "the first one's port stays guarded after the second stopped");
  from = logLines(readIf(a.log)).length;
  lab.knock([lab.server4, '7000', '8000']);
  t.ok(await waitFor(() => logLines(readIf(a.log)).slice(from).some((l) => l.includes('firewall: granted')), 5000));
  t.equal(probe(2222), 'open', 'the first still works');
  t.equal(knockd(['--flush', '--instance', 'second']).out,
    `removed table inet sesame_second: its ports are no longer guarded by it; Sesame still guards with table inet sesame (tcp/2222 on ${lab.sif})\n`,
    'the stopped instance flushes, and says what the other instance still guards');
  t.equal(await lab.stop(first), 15);
});

// Two instances on two interfaces guarding one port (issue 22): each one's drop rule used to block
// the other's grants. Each instance now leaves the port, on the other's interface, to the other.
t.test('two instances on two interfaces guarding one port: each lets its own knockers in, no one else', async (t) => {
  const INT = 'ses-in-int';
  t.teardown(() => { spawnSync('ip', ['netns', 'del', INT]); });
  const { bastion, host } = lab.internalHost(INT);
  const iface2 = `${lab.tag}i0`;
  const logA = lab.file('wa.log'), logB = lab.file('wb.log');
  const confA = lab.file('wa.conf', `[options]\n\tLogFile = ${logA}\n\tInterface = ${lab.sif}\n[a]\n\tsequence = 7000,8000\n\tOpen = tcp/2222\n\tCmd_Timeout = 60\n`);
  const confB = lab.file('wb.conf', `[options]\n\tLogFile = ${logB}\n\tInterface = ${iface2}\n[b]\n\tsequence = 7200,8200\n\tOpen = tcp/2222\n\tCmd_Timeout = 60\n`);
  const A = await lab.start(SESAME, ['-c', confA, '--state-dir', lab.file('wsa')], logA);
  const B = await lab.start(SESAME, ['-c', confB, '--instance', 'two', '--state-dir', lab.file('wsb')], logB);
  const probeFromInt = () => lab.exec(INT, ['sh', '-c', `python3 ${PROBE} tcp ${bastion} 2222 && echo open || echo closed`]).trim();
  t.match(readIf(logB), `leaving tcp/2222 on ${lab.sif} to other instances`, 'the second leaves the port on the first one\'s interface');
  t.ok(await waitFor(() => readIf(logA).includes(`now leaves tcp/2222 on ${iface2} to other instances`), 2500), 'the first notices the second within a second or two');
  t.equal(lab.probe('tcp', lab.server4, 2222, lab.client4b), 'closed', 'guarded on the first interface');
  t.equal(probeFromInt(), 'closed', 'and on the second');
  lab.knock([lab.server4, '7000', '8000']);
  t.ok(await waitFor(() => readIf(logA).includes(`${lab.client4}: a: firewall: granted`), 5000), 'the first grants its knocker');
  lab.exec(INT, ['knock', bastion, '7200', '8200']);
  t.ok(await waitFor(() => readIf(logB).includes(`${host}: b: firewall: granted`), 5000), 'the second grants its knocker');
  t.equal(probe(2222), 'open', "the first one's knocker connects");
  t.equal(lab.probe('tcp', lab.server4, 2222, lab.client4b), 'closed', 'another source on the first interface does not');
  t.equal(probeFromInt(), 'open', "the second one's knocker connects (the first one's drop rule no longer blocks it)");

  // A third instance that would guard tcp/2222 on the first interface refuses, naming the first.
  const confC = lab.file('wc.conf', `[options]\n\tLogFile = ${lab.file('wc.log')}\n\tInterface = ${lab.sif}\n[c]\n\tsequence = 7300,8300\n\tOpen = tcp/2222\n`);
  const r = knockd(['-c', confC, '--instance', 'three', '--state-dir', lab.file('wsc')]);
  t.equal(r.code, 1, 'refused');
  t.match(r.out, `table inet sesame_three: tcp/2222 on interface ${lab.sif} is already guarded by table inet sesame, of knockd (pid ${A.proc.pid}); ` +
    'two instances cannot guard one port on one interface: give each its own interface (-i) or its own Open ports');
  t.equal(nft('list', 'table', 'inet', 'sesame_three'), '', 'and installed nothing');
  t.equal(probeFromInt(), 'open', 'the others are untouched');
  // The same instance on another port starts; a SIGHUP onto the first one's port is refused whole.
  const logC = lab.file('wc.log');
  writeFileSync(confC, readIf(confC).replace('tcp/2222', 'tcp/4444'));
  const C = await lab.start(SESAME, ['-c', confC, '--instance', 'three', '--state-dir', lab.file('wsc')], logC);
  writeFileSync(confC, readIf(confC).replace('tcp/4444', 'tcp/2222'));
  C.proc.kill('SIGHUP');
  t.ok(await waitFor(() => readIf(logC).includes(`table inet sesame_three: tcp/2222 on interface ${lab.sif} is already guarded by table inet sesame, of knockd (pid ${A.proc.pid}); ` +
    'two instances cannot guard one port on one interface: give each its own interface (-i) or its own Open ports; keeping the running configuration'), 3000), 'a SIGHUP onto a guarded port is refused, logged');
  t.match(nft('list', 'set', 'inet', 'sesame_three', 'guarded'), /tcp \. 4444 /, 'its guard stays as it was');
  t.equal(probe(2222), 'open', "the first one's knocker still connects");
  t.equal(await lab.stop(C), 15);
  knockd(['--flush', '--instance', 'three']);
  t.equal(await lab.stop(B), 15);
  t.equal(probeFromInt(), 'open', "a stopped instance's guard and grants stay (fail closed), and the first still leaves them to it");
  // Its table removed by hand: the first takes the port back on that interface in the same transaction.
  t.match(knockd(['--flush', '--instance', 'two']).out, /^removed table inet sesame_two: /);
  t.equal(nft('list', 'set', 'inet', 'sesame', 'yielded').includes(iface2), false, 'the first no longer leaves it to anyone, at once');
  t.equal(probeFromInt(), 'closed', 'the port is guarded on the second interface again');
  t.equal(await lab.stop(A), 15);
});
