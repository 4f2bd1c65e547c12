// Fleet mode end to end: three Sesame daemons (nodes a, b, c) in their own namespaces, a Redis
// server with a password in a fourth, the real knock and fwknop clients in a fifth, all bridged on
// 10.77.38.0/24. A knock on a opens the door on b and c (nft elements, start commands); an SPA
// packet accepted by a and replayed to b is refused; a one-time sequence used on a moves b on, and
// a node that missed it refuses it by the fleet's claim; a restarted node loads the live grants;
// with Redis killed every node serves alone (and refuses a replay to itself), and once Redis is
// back the grants made meanwhile reach every node. Node a also serves metrics and runs an
// Event_Command: its sesame_fleet_redis_up and fleet notes follow, and it is told of Redis going
// down and coming back.

import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetLab, REDIS_PORT, type FleetNode } from '../helpers/fleet-lab.js';
import { SESAME, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';
import { Sealer } from '../../lib/fleet/sealer.js';
import { readFleetKeys } from '../../lib/fleet/key-file.js';
import type { GrantNote } from '../../lib/fleet/notes.js';

function readFleetKeysOrThrow(path: string) {
  const r = readFleetKeys(path);
  if (!r.ok) throw new Error(r.error);
  return r.ring;
}

t.setTimeout(300_000);
const lab = new FleetLab(38, 'ft', ['a', 'b', 'c']);
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
t.teardown(() => {
  // What the nodes said, when something failed: the first thing to read.
  if (!t.passing()) for (const n of lab.nodes) console.error(`--- ${n.name}.log\n${readIf(logOf(n)).split('\n').slice(-40).join('\n')}`);
  lab.cleanup();
});

const [A, B, C] = lab.nodes as [FleetNode, FleetNode, FleetNode];
const PASSWORD = randomBytes(12).toString('hex');
const K = randomBytes(32).toString('base64');
const H = randomBytes(64).toString('base64');
const ONE_TIME = '7301,7302,7303\n7311,7312,7313\n7321,7322,7323\n';
const pwFile = lab.file('fleet.pw', `${PASSWORD}\n`);
chmodSync(pwFile, 0o600); // a secret: group- or world-readable is refused
const daemons = new Map<string, Daemon>();

const logOf = (n: FleetNode) => lab.logOf(n);
const cmdsOf = (n: FleetNode) => join(lab.dir, `${n.name}.cmds`);
const lines = (n: FleetNode) => logLines(readIf(logOf(n)));
const mark = (n: FleetNode) => lines(n).length;
const logged = (n: FleetNode, from: number, re: RegExp, ms = 5000) => waitFor(() => lines(n).slice(from).some((l) => re.test(l)), ms);

// Node a's metrics and events (issue 26).
const EVENTS = join(lab.dir, 'a.events');
const onEvent = lab.file('on-event', `#!/bin/sh\n{ cat; echo; } >> ${EVENTS}\n`);
chmodSync(onEvent, 0o755);
const watchA = `\tMetrics_Listen = ${A.addr}:9464\n\tEvent_Command = ${onEvent}\n`;
const scrapeA = (): string => lab.exec(lab.cli, ['curl', '-s', '--max-time', '3', `http://${A.addr}:9464/metrics`], true);
const sampleA = (series: string): number | undefined => {
  const line = scrapeA().split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};
const redisEvents = () => readIf(EVENTS).split('\n').filter((l) => l.includes('"type":"fleet-redis"'))
  .map((l) => (JSON.parse(l) as { up: boolean }).up);

function config(n: FleetNode): string {
  const otp = lab.file(`${n.name}.otp`, ONE_TIME);
  return lab.file(`${n.name}.conf`, `${lab.options(n, pwFile, n === A ? watchA : '')}[ssh]
\tSequence = 7000,8000,9000
\tSeq_Timeout = 5
\tOpen = tcp/2222
\tCmd_Timeout = 60
\tStart_Command = echo ssh %IP% >> ${cmdsOf(n)}
[web]
\tSequence = 7100,7200
\tSeq_Timeout = 5
\tOpen = tcp/2223
\tCmd_Timeout = 60
[spa]
\tSPA_Key_Base64 = ${K}
\tSPA_HMAC_Key_Base64 = ${H}
\tSPA_Open_Ports = tcp/2224, tcp/2225
\tOpen = tcp/2224, tcp/2225
\tSPA_Max_Timeout = 60
\tStart_Command = echo spa %IP% %PORT% >> ${cmdsOf(n)}
[otp]
\tOne_Time_Sequences = ${otp}
\tSeq_Timeout = 5
\tOpen = tcp/2226
\tCmd_Timeout = 60
`);
}

async function start(n: FleetNode, fresh = true): Promise<void> {
  const conf = fresh ? config(n) : join(lab.dir, `${n.name}.conf`);
  const from = mark(n);
  daemons.set(n.name, await lab.start(n, ['-c', conf, '--state-dir', join(lab.dir, `${n.name}.state`)], logOf(n)));
  if (!(await logged(n, from, /fleet: joined t38 as node /, 10_000))) throw new Error(`${n.name} did not join: ${lines(n).slice(from).join('\n')}`);
}

const knock = (n: FleetNode, ports: string[]) => lab.exec(lab.cli, ['knock', n.addr, ...ports]);
const status = (n: FleetNode, conf = join(lab.dir, `${n.name}.conf`)) => lab.exec(n.ns, [SESAME, '--status', '-c', conf], true);
const granted = (n: FleetNode, port: number) => new RegExp(`^${lab.client4.replace(/\./g, '\\.')} tcp/${port} expires in`, 'm');
const grantedOn = (n: FleetNode, port: number, ms = 5000) => waitFor(() => granted(n, port).test(status(n)), ms);

const fwknop = (n: FleetNode, port: number, save?: string) => lab.fwknop(n, port, K, H, save);
const sendRaw = (n: FleetNode, text: string) => lab.sendRaw(n, text);

t.before(async () => {
  if (process.getuid?.() !== 0) return;
  await lab.startRedis(PASSWORD);
  for (const n of lab.nodes) await start(n);
});

t.test('a knock on one node opens the door on every node', async (t) => {
  const [fa, fb, fc] = [mark(A), mark(B), mark(C)];
  knock(A, ['7000', '8000', '9000']);
  t.ok(await logged(A, fa, /: ssh: OPEN SESAME$/), 'a: OPEN SESAME');
  for (const [n, from] of [[B, fb], [C, fc]] as const) {
    t.ok(await logged(n, from, new RegExp(`^${lab.client4}: ssh: granted by fleet node a for (59|60)s$`)), `${n.name}: granted by fleet node a`);
    t.ok(await grantedOn(n, 2222), `${n.name}: nft element for ${lab.client4} tcp/2222`);
    t.ok(await waitFor(() => readIf(cmdsOf(n)).includes(`ssh ${lab.client4}`), 3000), `${n.name}: its own start command ran`);
  }
  const s = status(B);
  t.match(s, /^fleet t38 \(Redis redis:\/\/10\.77\.38\.50:6390\/0\): 3 members$/m, '--status: the fleet and its members');
  t.match(s, /^ {2}node a up \d+s$/m, '--status: node a listed');
  t.match(s, new RegExp(`^ {2}${lab.client4} ssh knock from node a expires in \\d+s \\(of 60s\\)$`, 'm'), '--status: where the grant came from');
  t.notMatch(s, new RegExp(PASSWORD), 'the password is never shown');
  t.notOk(lines(A).concat(lines(B)).some((l) => l.includes(PASSWORD)), 'the password is never logged');
});

t.test('an SPA packet accepted by one node is refused when replayed to another', async (t) => {
  const saved = join(lab.dir, 'spa.pkt');
  const [fa, fb] = [mark(A), mark(B)];
  fwknop(A, 2224, saved);
  t.ok(await logged(A, fa, /: spa: SPA: OPEN SESAME for \S+ tcp\/2224/), 'a: accepted');
  t.ok(await logged(B, fb, /: spa: granted by fleet node a \(tcp\/2224\) for \d+s$/), 'b: granted by fleet node a');
  t.ok(await grantedOn(C, 2224), 'c: nft element for the SPA grant');
  const opened = readIf(cmdsOf(B)).split('\n').filter((l) => l.startsWith('spa ')).length;
  const from = mark(B);
  sendRaw(B, readFileSync(saved, 'utf8').trim());
  t.ok(await logged(B, from, /: SPA: refused: replay detected \(first seen from fleet node a at \S+\)$/), "b: the replay is refused (the digest came with a's grant)");
  await sleep(300);
  t.notOk(lines(B).slice(from).some((l) => /SPA: OPEN SESAME/.test(l)), 'b: nothing opened for the replay');
  t.equal(readIf(cmdsOf(B)).split('\n').filter((l) => l.startsWith('spa ')).length, opened, 'b: no start command for the replay');
});

t.test('one-time sequences: used on one node, spent on all', async (t) => {
  const [fa, fb] = [mark(A), mark(B)];
  knock(A, ['7301', '7302', '7303']);
  t.ok(await logged(A, fa, /: otp: OPEN SESAME$/), 'a: the first sequence opens');
  t.ok(await logged(B, fb, /^otp: one-time sequence used on fleet node a$/), 'b: told, and moved on');
  t.ok(await waitFor(() => readIf(join(lab.dir, 'b.otp')).startsWith('#7301'), 3000), "b: the used line is commented out in b's file");
  const from = mark(B);
  knock(B, ['7301', '7302', '7303']);
  await sleep(700);
  t.notOk(lines(B).slice(from).some((l) => /: otp: OPEN SESAME$/.test(l)), 'b: the sequence used on a does not open');

  // c misses the note (killed), comes back with its file unchanged: Redis's claim refuses the sequence.
  await lab.stop(daemons.get('c')!, 'SIGKILL');
  const fa2 = mark(A);
  knock(A, ['7311', '7312', '7313']);
  t.ok(await logged(A, fa2, /: otp: OPEN SESAME$/), 'a: the second sequence opens');
  await start(C, false);
  const fc = mark(C);
  knock(C, ['7311', '7312', '7313']);
  t.ok(await logged(C, fc, /: otp: one-time sequence already used on another fleet node$/), 'c: refused by the fleet claim');
  await sleep(300);
  t.notOk(lines(C).slice(fc).some((l) => /: otp: OPEN SESAME$/.test(l)), 'c: nothing opened');
  t.ok(await waitFor(() => readIf(join(lab.dir, 'c.otp')).includes('#7311'), 3000), "c: its file moved on too");
});

t.test('a restarted node loads the live grants', async (t) => {
  await lab.stop(daemons.get('b')!, 'SIGKILL');
  lab.exec(B.ns, [SESAME, '--flush']); // its kernel grants gone too: only Redis has them now
  t.notOk(granted(B, 2222).test(status(B)), 'b: no grant left in its table');
  const from = mark(B);
  await start(B, false);
  t.ok(await logged(B, from, /fleet: joined t38 as node b .*; [1-9]\d* live grants? loaded/), 'b: says how many it loaded');
  t.ok(await grantedOn(B, 2222), "b: a's knock grant is back");
  t.ok(await grantedOn(B, 2224), "b: a's SPA grant is back");
});

t.test('Redis down: every node serves alone; back: the fleet converges', async (t) => {
  t.equal(sampleA('sesame_fleet_redis_up'), 1, 'a: sesame_fleet_redis_up 1');
  t.ok((sampleA('sesame_fleet_notes_total{direction="out",result="sent"}') ?? 0) > 0, 'a: notes sent are counted');
  const events = redisEvents().length;
  const marks = lab.nodes.map(mark);
  await lab.killRedis();
  for (const [i, n] of lab.nodes.entries()) {
    t.ok(await logged(n, marks[i]!, /fleet: Redis at redis:\/\/10\.77\.38\.50:6390\/0 unreachable \(.+\); serving alone until it is back$/), `${n.name}: logs the loss`);
  }
  const fb = mark(B);
  knock(B, ['7100', '7200']);
  t.ok(await logged(B, fb, /: web: OPEN SESAME$/), 'b: a local knock still opens');
  t.ok(await grantedOn(B, 2223), 'b: its nft element');

  const saved = join(lab.dir, 'spa2.pkt');
  const fc = mark(C);
  fwknop(C, 2225, saved);
  t.ok(await logged(C, fc, /: spa: SPA: OPEN SESAME for \S+ tcp\/2225/), 'c: SPA still opens');
  const fc2 = mark(C);
  sendRaw(C, readFileSync(saved, 'utf8').trim());
  t.ok(await logged(C, fc2, /SPA: refused: replay detected \(first seen from /), 'c: a replay to the same node is refused by its own cache');
  t.notOk(granted(A, 2223).test(status(A)), 'a: no grant yet (no Redis)');
  t.equal(lines(A).slice(marks[0]).filter((l) => /unreachable/.test(l)).length, 1, 'a: the loss is logged once');
  // A page is rendered at most once a second: wait for the next one.
  t.ok(await waitFor(() => sampleA('sesame_fleet_redis_up') === 0, 3000), 'a: sesame_fleet_redis_up 0');
  t.ok(await waitFor(() => redisEvents().length > events, 5000), 'a: Event_Command told of it');
  t.same(redisEvents().slice(events), [false], 'a: one fleet-redis event, down');

  const back = lab.nodes.map(mark);
  await lab.startRedis(PASSWORD);
  for (const [i, n] of lab.nodes.entries()) t.ok(await logged(n, back[i]!, /fleet: joined t38 as node /, 15_000), `${n.name}: rejoined`);
  t.ok(await waitFor(() => sampleA('sesame_fleet_redis_up') === 1, 3000), 'a: sesame_fleet_redis_up 1 again');
  t.ok(await waitFor(() => redisEvents().length > events + 1, 5000), 'a: told Redis is back');
  t.same(redisEvents().slice(events), [false, true], 'a: down, then up');
  for (const n of [A, C]) t.ok(await grantedOn(n, 2223, 8000), `${n.name}: b's grant made during the outage arrived`);
  for (const n of [A, B]) t.ok(await grantedOn(n, 2225, 8000), `${n.name}: c's SPA grant made during the outage arrived`);
  // The digest c accepted alone is now claimed: a replay to a is refused too.
  const fa = mark(A);
  sendRaw(A, readFileSync(saved, 'utf8').trim());
  t.ok(await logged(A, fa, /SPA: refused: replay detected \((accepted by another fleet node|first seen from fleet node c at \S+)\)$/), 'a: the digest c accepted during the outage is refused');
});

t.test('notes written into Redis by someone else are refused; sealed ones are checked like packets', async (t) => {
  const from = mark(B);
  const publish = (text: string) => lab.redisCli(PASSWORD, ['publish', 't38:events', text]);
  const base = { type: 'grant', id: 'x:1', node: 'x', kind: 'spa', door: 'spa', family: 4, timeout: 30, at: Date.now(), ports: [{ protocol: 'tcp', port: 2224 }] };
  // Without the fleet's key (plain JSON, as before sealing): refused unread.
  publish(JSON.stringify({ ...base, ip: '10.77.38.9' }));
  t.ok(await logged(B, from, /^fleet: note refused: not sealed \(1 refused so far: 1 not sealed\)$/), 'an unsealed note: refused');
  // With the key (a member gone bad): every field is still checked before anything happens.
  const sealer = new Sealer(readFleetKeysOrThrow(lab.keyFile), 't38', 'x', () => randomBytes(12));
  const seal = (o: object) => sealer.seal(o as GrantNote, Date.now());
  publish(seal({ ...base, ip: '10.77.38.9; touch /tmp/sesame-fleet-pwned' }));
  publish(seal({ ...base, id: 'x:2', ip: '10.77.38.9', ports: [{ protocol: 'tcp', port: 9999 }] }));
  publish(seal({ ...base, id: 'x:3', ip: '10.77.38.9', door: 'nope' }));
  t.ok(await logged(B, from, /^fleet: note refused: malformed \(2 refused so far: 1 not sealed, 1 malformed\)$/), 'a shell string as address: refused');
  t.ok(await logged(B, from, /^fleet: grant from node x for 10\.77\.38\.9 refused: tcp\/9999 is not in this door's SPA_Open_Ports$/), 'a port the door does not open: refused');
  t.ok(await logged(B, from, /^fleet: grant from node x for 10\.77\.38\.9 refused: no door named "nope" here$/), 'a door this node does not have: refused');
  await sleep(300);
  t.notOk(/10\.77\.38\.9/.test(status(B).split('fleet ')[0]!), 'no nft element for any of them');
  t.notOk(readIf(cmdsOf(B)).includes('10.77.38.9'), 'no command for any of them');
  // Node a heard them too: the unsealed and the malformed refused, the two sealed ones taken (their door then refuses them).
  t.ok(await waitFor(() => (sampleA('sesame_fleet_notes_total{direction="in",result="refused"}') ?? 0) >= 2, 3000), 'a: refused notes counted');
  t.ok(await waitFor(() => (sampleA('sesame_fleet_notes_total{direction="in",result="accepted"}') ?? 0) >= 2, 3000),
    'a: sealed notes counted as accepted');
});

t.test('bad fleet settings are refused with the line', async (t: Test) => {
  const bad = lab.file('bad.conf', `[options]\n\tFleet_Redis = redis://:secret@${lab.redis4}:${REDIS_PORT}/0\n[d]\n\tSequence = 1,2\n`);
  const out = lab.exec(A.ns, ['sh', '-c', `${SESAME} -c ${bad} --check 2>&1; echo "exit $?"`], true);
  t.match(out, /config: line 2: Fleet_Redis: the URL holds a password; put it in Fleet_Password_File/, 'a password in the URL');
  t.match(out, /exit 1/, 'exit 1');
  // No fleet key: whoever can write to the Redis could grant access. Refused by --check and at start.
  const nokey = lab.file('nokey.conf', `[options]\n\tLogFile = ${join(lab.dir, 'nokey.log')}\n\tFleet_Redis = redis://${lab.redis4}:${REDIS_PORT}/0\n\tFleet_Password_File = ${pwFile}\n[d]\n\tSequence = 1,2\n`);
  for (const args of [['--check'], ['--state-dir', join(lab.dir, 'nokey.state'), '--instance', 'nokey', '--matching', 'pcap', '-i', A.ifc]]) {
    const r = lab.exec(A.ns, ['sh', '-c', `${SESAME} -c ${nokey} ${args.join(' ')} 2>&1; echo "exit $?"`], true);
    t.match(r, 'config: line 3: Fleet_Redis needs Fleet_Key_File', `${args[0]}: refused, naming the line`);
    t.match(r, `(in ${nokey}, line 3)`, `${args[0]}: and the file`);
    t.match(r, /exit 1/, `${args[0]}: exit 1`);
  }
  // Keys others may read, or too short: refused at start, naming the file (and its mode).
  const openKey = lab.file('open.key', `${randomBytes(32).toString('base64')}\n`);
  chmodSync(openKey, 0o644);
  const shortKey = lab.file('short.key', `${randomBytes(16).toString('base64')}\n`);
  for (const [key, want] of [[openKey, `Fleet_Key_File ${openKey}: mode 0644 lets group or others read it (chmod 600 it)`],
    [shortKey, `Fleet_Key_File ${shortKey}: line 1: a key must be at least 32 bytes (it has 16)`]] as const) {
    const conf = lab.file('key.conf', `${lab.options(A, pwFile, '', key)}[d]\n\tSequence = 1,2\n`);
    const r = lab.exec(A.ns, ['sh', '-c', `${SESAME} -c ${conf} --state-dir ${join(lab.dir, 'key.state')} --instance keychk --matching pcap 2>&1; echo "exit $?"`], true);
    t.match(r, want, want.split(': ').slice(1).join(': '));
    t.match(r, /exit 1/, 'exit 1');
  }
  // A password file others may read is refused, naming it and its mode.
  const open = lab.file('open.pw', `${PASSWORD}\n`);
  chmodSync(open, 0o640);
  const conf = lab.file('open.conf', `${lab.options(A, open)}[d]\n\tSequence = 1,2\n`);
  const r = lab.exec(A.ns, ['sh', '-c', `${SESAME} -c ${conf} --state-dir ${join(lab.dir, 'open.state')} --instance pwchk --matching pcap 2>&1; echo "exit $?"`], true);
  t.match(r, `fleet: Fleet_Password_File ${open}: mode 0640 lets group or others read it (chmod 600 it)`, 'a group-readable password file');
  t.match(r, /exit 1/, 'exit 1');
});

t.test('without Redis, SIGTERM still stops a node at once', async (t) => {
  await lab.killRedis();
  const from = mark(A);
  const started = Date.now();
  const code = await lab.stop(daemons.get('a')!, 'SIGTERM');
  t.equal(code, 15, 'exit 15, as knockd on SIGTERM');
  t.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`);
  t.ok(lines(A).slice(from).some((l) => /shutting down/.test(l)), 'logged as knockd does');
});
