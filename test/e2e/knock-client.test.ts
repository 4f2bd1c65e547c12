// Sesame's knock against the real Debian knockd, in namespaces. tcpdump in the server namespace
// records what each client puts on the wire: Sesame's knock must send what knock 0.8 sends
// (one SYN per TCP hit, one 1-byte datagram per UDP hit).

import type { Test } from 'tap';
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REAL_KNOCKD, ROOT, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';

t.setTimeout(600_000);
const lab = new Lab(13, 'kc');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
t.teardown(() => lab.cleanup());

const SESAME_KNOCK = join(ROOT, 'bin/knock');
const REAL_KNOCK = '/usr/bin/knock';
const OUT = lab.file('cmd.out');
const LOG = lab.file('knockd.log');
const CONF = lab.file('knockd.conf', `[options]
	LogFile = ${LOG}
	Interface = ${lab.sif}
[tcp]
	sequence = 7000,8000,9000
	tcpflags = syn
	command = echo TCP %IP% >> ${OUT}
[udp]
	sequence = 1111:udp,2222:udp,3333:udp
	command = echo UDP %IP% >> ${OUT}
[mixed]
	sequence = 4444,5555:udp,6666
	tcpflags = syn
	command = echo MIXED %IP% >> ${OUT}
`);

let knockd: Daemon;
t.before(async () => { knockd = await lab.start(REAL_KNOCKD, ['-c', CONF], LOG); });
t.teardown(async () => { if (knockd) await lab.stop(knockd).catch(() => undefined); });

interface WireHit { port: number; kind: 'syn' | 'udp' | 'other'; len: number; at: number; src: string }

/** Runs `act` while tcpdump watches the server interface; returns the client's packets. */
async function capture(act: () => void | Promise<void>): Promise<WireHit[]> {
  const dump = spawn('ip', ['netns', 'exec', lab.srv, 'tcpdump', '-i', lab.sif, '-n', '-l', '-tt', '-Q', 'in', 'tcp or udp']);
  let text = '', errText = '';
  dump.stdout.on('data', (b: Buffer) => { text += b.toString(); });
  dump.stderr.on('data', (b: Buffer) => { errText += b.toString(); });
  await waitFor(() => errText.includes('listening on'), 5000);
  await act();
  await sleep(400);
  dump.kill('SIGINT');
  await new Promise((r) => dump.once('exit', r));
  const hits: WireHit[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+\.\d+) IP6? (\S+)\.\d+ > \S+\.(\d+): (?:Flags \[([^\]]+)\]|UDP, length (\d+))/.exec(line);
    if (!m) continue;
    hits.push({ at: Number(m[1]), src: m[2]!, port: Number(m[3]), kind: m[5] !== undefined ? 'udp' : m[4] === 'S' ? 'syn' : 'other', len: Number(m[5] ?? 0) });
  }
  return hits;
}

/** Runs a knock client in the client namespace. */
function knockWith(bin: string, args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', lab.cli, bin, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE: process.execPath, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const outLines = () => readIf(OUT).split('\n').filter(Boolean);
async function opened(line: string, before: number): Promise<boolean> {
  return waitFor(() => outLines().length > before && outLines().at(-1) === line, 3000);
}

/** Same knock by both clients: both open the door, and the wire looks the same. */
async function compare(t: Test, args: string[], expectLine: string, expectWire: Array<[number, 'syn' | 'udp']>) {
  for (const [name, bin] of [['sesame', SESAME_KNOCK], ['knock 0.8', REAL_KNOCK]] as const) {
    const before = outLines().length;
    let r = { code: -1, stdout: '', stderr: '' };
    const wire = await capture(() => { r = knockWith(bin, args); });
    t.equal(r.code, 0, `${name} exit 0 ${r.stderr}`);
    t.ok(await opened(expectLine, before), `${name} opened: ${expectLine}`);
    t.same(wire.map((w) => [w.port, w.kind]), expectWire, `${name}: exactly one SYN per TCP hit, one datagram per UDP hit`);
    t.ok(wire.filter((w) => w.kind === 'udp').every((w) => w.len === 1), `${name}: UDP payload is 1 byte`);
    await sleep(200);
  }
}

t.test('TCP knock', async (t) => {
  await compare(t, [lab.server4, '7000', '8000', '9000'], `TCP ${lab.client4}`, [[7000, 'syn'], [8000, 'syn'], [9000, 'syn']]);
});

t.test('UDP knock with :udp', async (t) => {
  await compare(t, [lab.server4, '1111:udp', '2222:udp', '3333:udp'], `UDP ${lab.client4}`, [[1111, 'udp'], [2222, 'udp'], [3333, 'udp']]);
});

t.test('-u makes every hit UDP', async (t) => {
  await compare(t, ['-u', lab.server4, '1111', '2222', '3333'], `UDP ${lab.client4}`, [[1111, 'udp'], [2222, 'udp'], [3333, 'udp']]);
});

t.test('mixed TCP and UDP, options after the arguments', async (t) => {
  await compare(t, [lab.server4, '4444', '5555:udp', '6666', '-v'], `MIXED ${lab.client4}`, [[4444, 'syn'], [5555, 'udp'], [6666, 'syn']]);
});

t.test('IPv6', async (t) => {
  await compare(t, ['-6', lab.server6, '7000', '8000', '9000'], `TCP ${lab.client6}`, [[7000, 'syn'], [8000, 'syn'], [9000, 'syn']]);
});

t.test('a host name from /etc/hosts', async (t) => {
  const dir = `/etc/netns/${lab.cli}`;
  mkdirSync(dir, { recursive: true });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hosts'), `127.0.0.1 localhost\n${lab.server4} gate.test\n`);
  await compare(t, ['gate.test', '7000', '8000', '9000'], `TCP ${lab.client4}`, [[7000, 'syn'], [8000, 'syn'], [9000, 'syn']]);
});

t.test('-d waits after every hit', async (t) => {
  for (const bin of [SESAME_KNOCK, REAL_KNOCK]) {
    const before = outLines().length;
    let took = 0;
    const wire = await capture(() => { const t0 = Date.now(); knockWith(bin, ['-d', '300', lab.server4, '7000', '8000', '9000']); took = Date.now() - t0; });
    t.ok(await opened(`TCP ${lab.client4}`, before), bin);
    const gaps = wire.slice(1).map((w, i) => w.at - wire[i]!.at);
    t.ok(gaps.length === 2 && gaps.every((g) => g >= 0.28), `${bin}: gaps ${gaps.map((g) => g.toFixed(3))}`);
    t.ok(took >= 880, `${bin}: also waits after the last hit (${took} ms)`);
  }
});

t.test('-v prints knock\'s lines', async (t) => {
  const mine = knockWith(SESAME_KNOCK, ['-v', lab.server4, '7000', '2222:udp']);
  const real = knockWith(REAL_KNOCK, ['-v', lab.server4, '7000', '2222:udp']);
  t.equal(mine.stdout, real.stdout);
  t.equal(mine.stdout, `hitting tcp ${lab.server4}:7000\nhitting udp ${lab.server4}:2222\n`);
});

t.test('--source and --interface choose the sending address', async (t) => {
  let before = outLines().length;
  const wire = await capture(() => { knockWith(SESAME_KNOCK, ['--source', lab.client4b, lab.server4, '7000', '8000', '9000']); });
  t.ok(await opened(`TCP ${lab.client4b}`, before));
  t.ok(wire.every((w) => w.src === lab.client4b));
  before = outLines().length;
  knockWith(SESAME_KNOCK, ['-i', lab.cif, '-6', lab.server6, '7000', '8000', '9000']);
  t.ok(await opened(`TCP ${lab.client6}`, before));
});

t.test('profiles: knock @name', async (t) => {
  const home = lab.file('home');
  mkdirSync(join(home, '.config', 'sesame'), { recursive: true });
  writeFileSync(join(home, '.config', 'sesame', 'knock.ini'), `; saved knocks\n[gate]\nhost = ${lab.server4}\nports = 4444, 5555:udp, 6666\ndelay = 10\n`);
  const before = outLines().length;
  const r = spawnEnv(['@gate'], { HOME: home, XDG_CONFIG_HOME: '' });
  t.equal(r.code, 0, r.stderr);
  t.ok(await opened(`MIXED ${lab.client4}`, before));
  const missing = spawnEnv(['@nope'], { HOME: home, XDG_CONFIG_HOME: '' });
  t.equal(missing.code, 1);
  t.equal(missing.stderr, `knock: no profile [nope] in ${join(home, '.config', 'sesame', 'knock.ini')}\n`);
});

const spawnEnv = (args: string[], env: Record<string, string>) => knockWith(SESAME_KNOCK, args, env);

t.test('bad input: clear message, non-zero exit, no packet sent', async (t) => {
  const cases: Array<[string[], number, RegExp | string]> = [
    [[], 1, /^$/],
    [[lab.server4], 1, /^$/],
    [['-d', '-5', lab.server4, '7000'], 1, 'error: delay cannot be negative\n'],
    [['-d', 'soon', lab.server4, '7000'], 1, "knock: invalid delay 'soon' (milliseconds)\n"],
    [[lab.server4, '7000', 'abc'], 1, "knock: invalid port 'abc'\n"],
    [[lab.server4, '7000', '70000'], 1, 'knock: port 70000 is out of range (0-65535)\n'],
    // The resolver's reason depends on the namespace (no DNS server here): knock 0.8 prints the same.
    [['no-such-host.invalid', '7000'], 1, knockWith(REAL_KNOCK, ['no-such-host.invalid', '7000']).stderr],
    [['-s', lab.client6, lab.server4, '7000'], 1, `knock: source ${lab.client6} is not an IPv4 address\n`],
  ];
  for (const [args, code, message] of cases) {
    let r = { code: -1, stdout: '', stderr: '' };
    const wire = await capture(() => { r = knockWith(SESAME_KNOCK, args); });
    t.equal(r.code, code, `exit ${code}: knock ${args.join(' ')}`);
    if (typeof message === 'string') t.equal(r.stderr, message); else t.match(r.stderr, message);
    t.same(wire, [], 'nothing on the wire');
  }
  const usage = knockWith(SESAME_KNOCK, []);
  t.match(usage.stdout, /^usage: knock \[options\] <host> <port\[:proto\]> \[port\[:proto\]\] \.\.\.\n/);
  t.equal(knockWith(SESAME_KNOCK, ['-h']).code, 1, '-h exits 1, as knock 0.8');
  const v = knockWith(SESAME_KNOCK, ['-V']);
  t.equal(v.code, 0);
  t.match(v.stdout, /^knock 0\.8 compatible \(Sesame /);
});

