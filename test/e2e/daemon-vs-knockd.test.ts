// Sesame's knockd and the real Debian knockd, side by side on one interface of a server
// namespace, knocked by the real knock client (and raw segments for flag cases). Spec section 8
// cases 1–12 and 14–23: where the outcome is meant to be identical the two logs (minus time
// stamps) and command effects are compared; where a ruling applies, each side is checked.

import type { Test } from 'tap';
import t from 'tap';
import { Lab, REAL_KNOCKD, SESAME, logLines, sleep } from '../helpers/lab.js';

t.setTimeout(600_000);
// Kernel matching (the default) here; daemon-vs-knockd-pcap.test.ts runs the same cases with libpcap.
const MATCHING = process.env['SESAME_TEST_MATCHING'] === 'pcap' ? 'pcap' : 'kernel';
const lab = MATCHING === 'pcap' ? new Lab(35, 'kq') : new Lab(11, 'kv');
if (process.getuid?.() !== 0) {
  t.fail('end-to-end tests need root (network namespaces)');
} else {
  lab.up();
}
t.teardown(() => lab.cleanup());

const BASE = (flags = '\ttcpflags = syn\n', timeout = 5) => `[options]
	LogFile = @LOG@
	Interface = ${lab.sif}
[openSSH]
	sequence = 7000,8000,9000
	seq_timeout = ${timeout}
	command = echo OPEN %IP% >> "$KOUT"
${flags}[closeSSH]
	sequence = 9000,8000,7000
	seq_timeout = ${timeout}
	command = echo CLOSE %IP% >> "$KOUT"
${flags}`;

let run = 0;
interface Outcome { sesame: string[]; knockd: string[]; sOut: string; kOut: string }

/** Starts both daemons with the same config, performs `act`, stops them, returns logs and effects. */
async function both(conf: string, act: () => Promise<void> | void, settle = 400): Promise<Outcome> {
  const id = ++run;
  const sLog = lab.file(`s${id}.log`), kLog = lab.file(`k${id}.log`);
  const sConf = lab.file(`s${id}.conf`, conf.replaceAll('@LOG@', sLog));
  const kConf = lab.file(`k${id}.conf`, conf.replaceAll('@LOG@', kLog));
  const sOut = lab.file(`s${id}.out`), kOut = lab.file(`k${id}.out`);
  const s = await lab.start(SESAME, ['-c', sConf, '--state-dir', lab.file(`state${id}`), '--matching', MATCHING], sLog, { KOUT: sOut });
  const k = await lab.start(REAL_KNOCKD, ['-c', kConf], kLog, { KOUT: kOut });
  try {
    await act();
    await sleep(settle);
  } finally {
    await lab.stop(s);
    await lab.stop(k);
  }
  const body = (name: string) => logLines(lab.read(name)).filter((l) => !l.startsWith('starting up') && l !== 'shutting down');
  return { sesame: body(`s${id}.log`), knockd: body(`k${id}.log`), sOut: lab.read(`s${id}.out`), kOut: lab.read(`k${id}.out`) };
}

/** knockd writes `running command` from a forked child, so its place among other lines varies. */
const sorted = (l: string[]) => [...l].sort();

function same(t: Tap, o: Outcome, expectSesame?: string[]): void {
  t.same(sorted(o.sesame), sorted(o.knockd), 'same log lines as knockd');
  // Commands of one packet run concurrently in both daemons: compare what they did, not their order.
  t.same(o.sOut.split('\n').sort(), o.kOut.split('\n').sort(), 'same command effects');
  if (expectSesame) t.same(o.sesame, expectSesame, 'exact log');
}
type Tap = Test;

const ip = () => lab.client4;
const srv = () => lab.server4;
const open = (door: string, who = ip()) => [`${who}: ${door}: Stage 1`, `${who}: ${door}: Stage 2`, `${who}: ${door}: Stage 3`, `${who}: ${door}: OPEN SESAME`];

t.test('case 1: knock 7000 8000 9000 opens', async (t) => {
  const o = await both(BASE(), () => { lab.knock([srv(), '7000', '8000', '9000']); });
  same(t, o, [...open('openSSH'), 'openSSH: running command: echo OPEN ' + ip() + ' >> "$KOUT"', '']);
  t.equal(o.sOut, `OPEN ${ip()}\n`);
});

t.test('case 2: 7000 9000 8000', async (t) => {
  same(t, await both(BASE(), () => { lab.knock([srv(), '7000', '9000', '8000']); }), [`${ip()}: openSSH: Stage 1`]);
});

t.test('case 3: 7000 7000 8000 9000', async (t) => {
  same(t, await both(BASE(), () => { lab.knock([srv(), '7000', '7000', '8000', '9000']); }), [`${ip()}: openSSH: Stage 1`, `${ip()}: closeSSH: Stage 1`]);
});

t.test('case 4: 7000 7000 7000 8000 9000', async (t) => {
  const o = await both(BASE(), () => { lab.knock([srv(), '7000', '7000', '7000', '8000', '9000']); });
  same(t, o);
  t.equal(o.sOut, `OPEN ${ip()}\n`);
});

t.test('case 5: a port in no door does not reset', async (t) => {
  const o = await both(BASE(), () => { lab.knock([srv(), '7000', '1234', '8000', '9000']); });
  same(t, o);
  t.equal(o.sOut, `OPEN ${ip()}\n`);
});

t.test('case 6: raw 7000/S 8000/A 8000/S 9000/S opens', async (t) => {
  const o = await both(BASE(), () => { lab.raw(7000, 'S'); lab.raw(8000, 'A'); lab.raw(8000, 'S'); lab.raw(9000, 'S'); });
  same(t, o);
  t.equal(o.sOut, `OPEN ${ip()}\n`);
});

t.test('case 7: without tcpflags any segment counts', async (t) => {
  const o = await both(BASE(''), () => { lab.raw(7000, 'A'); lab.raw(8000, 'FA'); lab.raw(9000, 'R'); });
  same(t, o);
  t.equal(o.sOut, `OPEN ${ip()}\n`);
});

t.test('case 8: flag mismatch through another door\'s filter is ignored', async (t) => {
  const conf = `[options]\n\tLogFile = @LOG@\n\tInterface = ${lab.sif}\n[A]\n\tsequence = 7000,8000,9000\n\ttcpflags = syn\n\tcommand = echo A %IP% >> "$KOUT"\n[B]\n\tsequence = 5000,8000\n\tcommand = echo B %IP% >> "$KOUT"\n`;
  const o = await both(conf, () => { lab.raw(7000, 'S'); lab.raw(8000, 'A'); lab.raw(8000, 'S'); lab.raw(9000, 'S'); });
  same(t, o);
  t.equal(o.sOut, `A ${ip()}\n`);
});

t.test('case 9: tcpflags = SYN,!ack', async (t) => {
  const o = await both(BASE('\ttcpflags = SYN,!ack\n'), () => { lab.raw(7000, 'S'); lab.raw(8000, 'SA'); lab.raw(8000, 'S'); lab.raw(9000, 'S'); });
  same(t, o);
  t.equal(o.sOut, `OPEN ${ip()}\n`);
});

t.test('case 10: 7000, 3.5 s, 8000 9000 → timeout, no open', async (t) => {
  const o = await both(BASE(undefined, 3), async () => { lab.knock([srv(), '7000']); await sleep(3500); lab.knock([srv(), '8000', '9000']); });
  t.same(o.sesame, [`${ip()}: openSSH: Stage 1`, `${ip()}: openSSH: sequence timeout (stage 1)`, '', `${ip()}: closeSSH: Stage 1`]);
  same(t, o);
});

t.test('case 11: 7000, +1.7 s 8000, +1.7 s 9000 → timeout (stage 2)', async (t) => {
  const o = await both(BASE(undefined, 3), async () => { lab.knock([srv(), '7000']); await sleep(1700); lab.knock([srv(), '8000']); await sleep(1700); lab.knock([srv(), '9000']); });
  t.same(o.sesame.slice(0, 4), [`${ip()}: openSSH: Stage 1`, `${ip()}: openSSH: Stage 2`, `${ip()}: openSSH: sequence timeout (stage 2)`, '']);
  t.equal(o.sOut, '');
  same(t, o);
});

t.test('case 12 (ruling 2): 2.2 s across a second boundary — Sesame opens, knockd 0.8 times out', async (t) => {
  const o = await both(BASE(undefined, 3), async () => {
    while (Date.now() % 1000 < 880 || Date.now() % 1000 > 920) await sleep(5);
    lab.knock([srv(), '7000']);
    await sleep(2200);
    lab.knock([srv(), '8000', '9000']);
  });
  t.equal(o.sOut, `OPEN ${ip()}\n`, 'Sesame opens');
  t.equal(o.kOut, '', 'knockd 0.8 does not (whole-second arithmetic)');
});

const MIXED = `[options]\n\tLogFile = @LOG@\n\tInterface = @IF@\n[mixed]\n\tsequence = 2222:udp,3333:tcp,4444:UDP\n\ttcpflags = syn,ack\n\tcommand = echo MIXED %IP% >> "$KOUT"\n`;
const mixed = () => MIXED.replace('@IF@', lab.sif);

t.test('case 14: knock 2222:udp 3333:tcp 4444:udp → Stage 1 only', async (t) => {
  same(t, await both(mixed(), () => { lab.knock([srv(), '2222:udp', '3333:tcp', '4444:udp']); }), [`${ip()}: mixed: Stage 1`]);
});

t.test('case 15: raw 2222/udp, 3333/SYN+ACK, 4444/udp opens', async (t) => {
  const o = await both(mixed(), () => { lab.udpFrom(ip(), 2222); lab.raw(3333, 'SA'); lab.udpFrom(ip(), 4444); });
  same(t, o);
  t.equal(o.sOut, `MIXED ${ip()}\n`);
});

t.test('case 16: knock -u 2222 3333 4444 → Stage 1 only', async (t) => {
  same(t, await both(mixed(), () => { lab.knock(['-u', srv(), '2222', '3333', '4444']); }), [`${ip()}: mixed: Stage 1`]);
});

t.test('case 17: knock -v 2222:UDP 3333 4444:udp → nothing', async (t) => {
  let out = '';
  same(t, await both(mixed(), () => { out = lab.knock(['-v', srv(), '2222:UDP', '3333', '4444:udp']); }), []);
  t.match(out, `hitting tcp ${srv()}:2222`);
});

const pair = (first: string, second: string) => `[options]\n\tLogFile = @LOG@\n\tInterface = ${lab.sif}\n${first}${second}`;
const door = (name: string, seq: string) => `[${name}]\n\tsequence = ${seq}\n\tcommand = echo ${name} %IP% >> "$KOUT"\n`;

t.test('case 18 (ruling 1): [Y] before [X] — Sesame opens X, knockd 0.8 never does', async (t) => {
  const o = await both(pair(door('Y', '7000,6000,5000'), door('X', '7000,8000,9000')), () => { lab.knock([srv(), '7000', '8000', '9000']); });
  t.equal(o.sOut, `X ${ip()}\n`);
  t.equal(o.kOut, '');
  t.same(o.knockd, [`${ip()}: Y: Stage 1`, `${ip()}: X: Stage 1`, `${ip()}: X: Stage 2`]);
});

t.test('case 19: [X] before [Y] — both open X', async (t) => {
  const o = await both(pair(door('X', '7000,8000,9000'), door('Y', '7000,6000,5000')), () => { lab.knock([srv(), '7000', '8000', '9000']); });
  same(t, o);
  t.equal(o.sOut, `X ${ip()}\n`);
});

t.test('case 20 (ruling 1): [short] before [long] — Sesame opens both, knockd 0.8 only short', async (t) => {
  const o = await both(pair(door('short', '7000,8000'), door('long', '7000,8000,9000')), () => { lab.knock([srv(), '7000', '8000', '9000']); });
  t.same(o.sOut.split('\n').sort(), ['', `long ${ip()}`, `short ${ip()}`]);
  t.equal(o.kOut, `short ${ip()}\n`);
});

t.test('case 21: [long] before [short] — both open, both daemons', async (t) => {
  const o = await both(pair(door('long', '7000,8000,9000'), door('short', '7000,8000')), () => { lab.knock([srv(), '7000', '8000', '9000']); });
  same(t, o);
  t.equal(o.sOut.split('\n').sort().join('\n'), `\nlong ${ip()}\nshort ${ip()}`);
});

t.test('case 22 (ruling 1): two clients interleaved — Sesame opens both, knockd 0.8 loses .3', async (t) => {
  const a = lab.client4, b = lab.client4b;
  const o = await both(BASE(), () => {
    lab.synFrom(a, 7000); lab.synFrom(b, 7000); lab.synFrom(a, 8000); lab.synFrom(a, 9000); lab.synFrom(b, 8000); lab.synFrom(b, 9000);
  });
  t.same(o.sOut.split('\n').sort(), ['', `OPEN ${a}`, `OPEN ${b}`]);
  t.equal(o.kOut, `OPEN ${a}\n`);
  t.ok(o.knockd.includes(`${b}: closeSSH: Stage 1`), 'knockd 0.8 starts closeSSH from .3\'s 9000');
});

t.test('case 23: two clients, other order — both open, both daemons', async (t) => {
  const a = lab.client4, b = lab.client4b;
  const o = await both(BASE(), () => {
    lab.synFrom(a, 7000); lab.synFrom(b, 7000); lab.synFrom(b, 8000); lab.synFrom(b, 9000); lab.synFrom(a, 8000); lab.synFrom(a, 9000);
  });
  same(t, o);
  t.equal(o.sOut, `OPEN ${b}\nOPEN ${a}\n`);
});

t.test('case 13 (ruling 2): a lone first knock is reported as timed out, knockd 0.8 never says so', async (t) => {
  const o = await both(BASE(undefined, 2), async () => { lab.knock([srv(), '7000']); await sleep(3000); });
  t.same(o.sesame, [`${ip()}: openSSH: Stage 1`, `${ip()}: openSSH: sequence timeout (stage 1)`, '']);
  t.same(o.knockd, [`${ip()}: openSSH: Stage 1`]);
});

t.test('IPv6 knocks: same lines and commands', async (t) => {
  const o = await both(BASE(), () => { lab.knock(['-6', lab.server6, '7000', '8000', '9000']); });
  same(t, o);
  t.equal(o.sOut, `OPEN ${lab.client6}\n`);
});

void REAL_KNOCKD;

const HEAD = () => `[options]\n\tLogFile = @LOG@\n\tInterface = ${lab.sif}\n`;

t.test('case 27: start/stop commands with %IP%, non-zero status, _6 variants — same as knockd', async (t) => {
  const conf = `${HEAD()}[d]\n\tsequence = 7000,8000\n\tStart_Command = echo START %IP% %IP% >> "$KOUT"; exit 3\n\tCMD_TIMEOUT = 2\n\tstop_command = echo STOP %IP% >> "$KOUT"\n\tstop_command_6 = echo STOP6 [%IP%] >> "$KOUT"\n`;
  const o = await both(conf, async () => {
    lab.knock([srv(), '7000', '8000']);
    lab.knock(['-6', lab.server6, '7000', '8000']);
    await sleep(2800);
  });
  same(t, o);
  t.same(o.sOut.split('\n').sort(), ['', `START ${ip()} ${ip()}`, `START ${lab.client6} ${lab.client6}`, `STOP ${ip()}`, `STOP6 [${lab.client6}]`]);
});

t.test('case 29: empty command_6 runs nothing for IPv6 — same as knockd', async (t) => {
  const o = await both(`${HEAD()}[d]\n\tsequence = 7000,8000\n\tcommand = echo V4 %IP% >> "$KOUT"\n\tcommand_6 =\n`, () => {
    lab.knock(['-6', lab.server6, '7000', '8000']);
    lab.knock([srv(), '7000', '8000']);
  });
  same(t, o);
  t.equal(o.sOut, `V4 ${ip()}\n`);
});

t.test('case 31: Target — same as knockd', async (t) => {
  const mac = lab.exec(lab.srv, ['cat', `/sys/class/net/${lab.sif}/address`]).trim();
  lab.exec(lab.cli, ['ip', 'neigh', 'replace', `10.77.${lab.n}.50`, 'lladdr', mac, 'dev', lab.cif]);
  const o = await both(`${HEAD()}[d]\n\tsequence = 7000,8000\n\ttarget = 10.77.${lab.n}.50\n\tcommand = echo OPEN %IP% >> "$KOUT"\n`, () => {
    lab.knock([srv(), '7000', '8000']);
    lab.knock([`10.77.${lab.n}.50`, '7000', '8000']);
  });
  same(t, o);
  t.equal(o.sOut, `OPEN ${ip()}\n`);
});

t.test('case 33: empty command — same as knockd', async (t) => {
  const o = await both(`${HEAD()}[d]\n\tsequence = 7000\n\tcommand =\n`, () => { lab.knock([srv(), '7000']); });
  same(t, o, [`${ip()}: d: Stage 1`, `${ip()}: d: OPEN SESAME`]);
});

t.test('case 39: a listening service on a sequence port — same as knockd, with and without tcpflags', async (t) => {
  const { spawn } = await import('node:child_process');
  const server = spawn('ip', ['netns', 'exec', lab.srv, 'python3', '-c',
    `import socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',2222));s.listen(8)\nend=time.time()+60\nwhile time.time()<end:\n  c,_=s.accept();c.close()`]);
  t.teardown(() => { server.kill('SIGKILL'); });
  await sleep(500);
  const plain = await both(`${HEAD()}[d]\n\tsequence = 7000,2222,8000\n\tcommand = echo OPEN >> "$KOUT"\n`, () => { lab.knock([srv(), '7000', '2222', '8000']); });
  same(t, plain);
  t.equal(plain.sOut, '');
  const syn = await both(`${HEAD()}[d]\n\tsequence = 7000,2222,8000\n\ttcpflags = syn\n\tcommand = echo OPEN >> "$KOUT"\n`, () => { lab.knock([srv(), '7000', '2222', '8000']); });
  same(t, syn);
  t.equal(syn.sOut, 'OPEN\n');
});

t.test('case 40: ports dropped by the server\'s nftables — same as knockd', async (t) => {
  lab.exec(lab.srv, ['sh', '-c', "printf 'table inet kvdrop {\\n chain input {\\n type filter hook input priority 0;\\n tcp dport 7000-9000 drop\\n }\\n}\\n' | nft -f -"]);
  t.teardown(() => { lab.exec(lab.srv, ['nft', 'delete', 'table', 'inet', 'kvdrop'], true); });
  const o = await both(BASE(), () => { lab.knock([srv(), '7000', '8000', '9000']); });
  same(t, o);
  t.equal(o.sOut, `OPEN ${ip()}\n`);
});
