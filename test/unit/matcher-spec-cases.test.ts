// knockd spec section 8, single-host cases 1–12 and 14–23, as packet lists through the matcher.
// Expected lines are knockd's log lines; where a ruling changes knockd 0.8's outcome the test says so.

import t from 'tap';
import { BASE, CLIENT, CLIENT2, F, knock, matcherFor, opens, run, syn, tcp, udp } from '../helpers/knocks.js';

const ip = CLIENT;

t.test('case 1: 7000 8000 9000 opens', async (t) => {
  t.same(run(matcherFor(BASE), knock('7000 8000 9000')), [
    `${ip}: openSSH: Stage 1`, `${ip}: openSSH: Stage 2`, `${ip}: openSSH: Stage 3`, `${ip}: openSSH: OPEN SESAME`,
  ]);
});

t.test('case 2: 7000 9000 8000 → only openSSH Stage 1; 9000 does not start closeSSH', async (t) => {
  t.same(run(matcherFor(BASE), knock('7000 9000 8000')), [`${ip}: openSSH: Stage 1`]);
});

t.test('case 3: 7000 7000 8000 9000 → openSSH Stage 1, then closeSSH Stage 1 from 9000', async (t) => {
  t.same(run(matcherFor(BASE), knock('7000 7000 8000 9000')), [`${ip}: openSSH: Stage 1`, `${ip}: closeSSH: Stage 1`]);
});

t.test('case 4: 7000 7000 7000 8000 9000 opens', async (t) => {
  t.same(run(matcherFor(BASE), knock('7000 7000 7000 8000 9000')), [
    `${ip}: openSSH: Stage 1`, `${ip}: openSSH: Stage 1`, `${ip}: openSSH: Stage 2`, `${ip}: openSSH: Stage 3`,
    `${ip}: openSSH: OPEN SESAME`,
  ]);
});

t.test('case 5: a port in no door (1234) is invisible', async (t) => {
  t.same(opens(run(matcherFor(BASE), knock('7000 1234 8000 9000'))), [`${ip}: openSSH: OPEN SESAME`]);
});

t.test('case 6: an ACK to a tcpflags=syn door is filtered out, not a reset', async (t) => {
  const lines = run(matcherFor(BASE), [syn(7000), tcp(8000, F.ACK), syn(8000), syn(9000)]);
  t.same(opens(lines), [`${ip}: openSSH: OPEN SESAME`]);
});

t.test('case 7: without tcpflags any TCP segment counts', async (t) => {
  const conf = BASE.replace(/\ttcpflags = syn\n/g, '');
  const lines = run(matcherFor(conf), [tcp(7000, F.ACK), tcp(8000, F.FIN | F.ACK), tcp(9000, F.RST)]);
  t.same(opens(lines), [`${ip}: openSSH: OPEN SESAME`]);
});

t.test('case 8: a packet visible through another door but failing this door\'s flags is ignored', async (t) => {
  const conf = `[A]\nsequence = 7000,8000,9000\ntcpflags = syn\n[B]\nsequence = 5000,8000\n`;
  const m = matcherFor(conf);
  const events = [syn(7000), tcp(8000, F.ACK), syn(8000), syn(9000)].flatMap((k) => m.handle(k, 0));
  t.ok(events.some((e) => e.type === 'flags-ignored' && e.door.name === 'A'), 'knockd -D: packet is not SYN, ignoring');
  t.same(events.filter((e) => e.type === 'open').map((e) => e.door.name), ['A']);
});

t.test('case 9: tcpflags = SYN,!ack: SYN+ACK is filtered, then SYNs open', async (t) => {
  const conf = BASE.replace('tcpflags = syn', 'tcpflags = SYN,!ack');
  const lines = run(matcherFor(conf), [syn(7000), tcp(8000, F.SYN | F.ACK), syn(8000), syn(9000)]);
  t.same(opens(lines), [`${ip}: openSSH: OPEN SESAME`]);
});

const T3 = BASE.replace(/seq_timeout = 5/g, 'seq_timeout = 3');

t.test('case 10: 7000, 3.5 s pause, 8000 9000 → timeout (stage 1), no open', async (t) => {
  const m = matcherFor(T3);
  const lines = run(m, [syn(7000, { at: 0 }), syn(8000, { at: 3500 }), syn(9000, { at: 3500 })]);
  t.same(lines.slice(0, 2), [`${ip}: openSSH: Stage 1`, `${ip}: openSSH: sequence timeout (stage 1)`]);
  t.same(opens(lines), []);
});

t.test('case 11: 7000, +1.7 s 8000, +1.7 s 9000 → timeout (stage 2), no open', async (t) => {
  const lines = run(matcherFor(T3), [syn(7000, { at: 0 }), syn(8000, { at: 1700 }), syn(9000, { at: 3400 })]);
  t.same(lines.slice(0, 3), [`${ip}: openSSH: Stage 1`, `${ip}: openSSH: Stage 2`, `${ip}: openSSH: sequence timeout (stage 2)`]);
  t.same(opens(lines), []);
});

t.test('case 12 (ruling 2): 7000 at x.90 s, 8000 9000 at x+3.1 s is 2.2 s: opens (knockd 0.8 timed it out)', async (t) => {
  const x = 10_000;
  const lines = run(matcherFor(T3), [syn(7000, { at: x + 900 }), syn(8000, { at: x + 3100 }), syn(9000, { at: x + 3100 })]);
  t.same(opens(lines), [`${ip}: openSSH: OPEN SESAME`]);
});

const MIXED = `[mixed]\nsequence = 2222:udp,3333:tcp,4444:UDP\ntcpflags = syn,ack\n`;

t.test('case 14: knock 2222:udp 3333:tcp 4444:udp → Stage 1 only (SYN lacks ACK; 4444 resets)', async (t) => {
  t.same(run(matcherFor(MIXED), knock('2222:udp 3333 4444:udp')), [`${ip}: mixed: Stage 1`]);
});

t.test('case 15: raw 2222/udp, 3333/SYN+ACK, 4444/udp opens', async (t) => {
  const lines = run(matcherFor(MIXED), [udp(2222), tcp(3333, F.SYN | F.ACK), udp(4444)]);
  t.same(lines, [`${ip}: mixed: Stage 1`, `${ip}: mixed: Stage 2`, `${ip}: mixed: Stage 3`, `${ip}: mixed: OPEN SESAME`]);
});

t.test('case 16: knock -u 2222 3333 4444 → Stage 1 only', async (t) => {
  t.same(run(matcherFor(MIXED), [udp(2222), udp(3333), udp(4444)]), [`${ip}: mixed: Stage 1`]);
});

t.test('case 17: knock 2222:UDP 3333 4444:udp (knock sends 2222 as TCP) → nothing', async (t) => {
  t.same(run(matcherFor(MIXED), [syn(2222), syn(3333), udp(4444)]), []);
});

const Y_X = `[Y]\nsequence = 7000,6000,5000\n[X]\nsequence = 7000,8000,9000\n`;
const X_Y = `[X]\nsequence = 7000,8000,9000\n[Y]\nsequence = 7000,6000,5000\n`;

t.test('case 18 (ruling 1): [Y] before [X], knock 7000 8000 9000 → X opens (knockd 0.8: never)', async (t) => {
  t.same(run(matcherFor(Y_X), knock('7000 8000 9000')), [
    `${ip}: Y: Stage 1`, `${ip}: X: Stage 1`, `${ip}: X: Stage 2`, `${ip}: X: Stage 3`, `${ip}: X: OPEN SESAME`,
  ]);
});

t.test('case 19: [X] before [Y] → X opens', async (t) => {
  t.same(opens(run(matcherFor(X_Y), knock('7000 8000 9000'))), [`${ip}: X: OPEN SESAME`]);
});

const SHORT_LONG = `[short]\nsequence = 7000,8000\n[long]\nsequence = 7000,8000,9000\n`;
const LONG_SHORT = `[long]\nsequence = 7000,8000,9000\n[short]\nsequence = 7000,8000\n`;

t.test('case 20 (ruling 1): [short] before [long] → both open (knockd 0.8: long stuck at Stage 2)', async (t) => {
  t.same(opens(run(matcherFor(SHORT_LONG), knock('7000 8000 9000'))), [`${ip}: short: OPEN SESAME`, `${ip}: long: OPEN SESAME`]);
});

t.test('case 21: [long] before [short] → both open', async (t) => {
  t.same(opens(run(matcherFor(LONG_SHORT), knock('7000 8000 9000'))).sort(), [`${ip}: long: OPEN SESAME`, `${ip}: short: OPEN SESAME`]);
});

const a = { src: CLIENT };
const b = { src: CLIENT2 };

t.test('case 22 (ruling 1): .2:7000; .3:7000; .2:8000,9000; .3:8000,9000 → both open', async (t) => {
  const lines = run(matcherFor(BASE), [syn(7000, a), syn(7000, b), syn(8000, a), syn(9000, a), syn(8000, b), syn(9000, b)]);
  t.same(opens(lines), [`${CLIENT}: openSSH: OPEN SESAME`, `${CLIENT2}: openSSH: OPEN SESAME`]);
  t.notOk(lines.some((l) => l.includes('closeSSH')), 'no stray closeSSH attempt (knockd 0.8 started one)');
});

t.test('case 23: .2:7000; .3:7000; .3:8000,9000; .2:8000,9000 → both open', async (t) => {
  const lines = run(matcherFor(BASE), [syn(7000, a), syn(7000, b), syn(8000, b), syn(9000, b), syn(8000, a), syn(9000, a)]);
  t.same(opens(lines), [`${CLIENT2}: openSSH: OPEN SESAME`, `${CLIENT}: openSSH: OPEN SESAME`]);
});
