// The matcher beyond the spec's case list: the three rulings, Target, IPv6, single-port doors.

import t from 'tap';
import { Matcher } from '../../lib/matcher/matcher.js';
import { BASE, CLIENT, config, knock, matcherFor, opens, run, syn, udp } from '../helpers/knocks.js';

t.test('ruling 2: an expired attempt is reported by expire() at its deadline, with no packet', async (t) => {
  const m = matcherFor(BASE.replace(/seq_timeout = 5/g, 'seq_timeout = 3'));
  run(m, [syn(7000, { at: 1000 })]);
  t.equal(m.nextDeadline(), 4000, 'deadline is first knock + 3000 ms');
  t.same(m.expire(3999), [], 'not a millisecond early');
  const ev = m.expire(4000);
  t.same(ev.map((e) => e.type === 'timeout' && e.stage), [1]);
  t.equal(m.size, 0);
  t.equal(m.nextDeadline(), undefined);
});

t.test('ruling 2: the timeout runs from the first knock, not the last', async (t) => {
  const m = matcherFor(BASE.replace(/seq_timeout = 5/g, 'seq_timeout = 3'));
  const lines = run(m, [syn(7000, { at: 0 }), syn(8000, { at: 2000 }), syn(9000, { at: 3000 })]);
  t.same(opens(lines), [], 'third knock at exactly 3000 ms is too late');
  t.ok(lines.includes(`${CLIENT}: openSSH: sequence timeout (stage 2)`));
});

t.test('ruling 2: 2999 ms is in time', async (t) => {
  const m = matcherFor(BASE.replace(/seq_timeout = 5/g, 'seq_timeout = 3'));
  t.same(opens(run(m, [syn(7000, { at: 0 }), syn(8000, { at: 10 }), syn(9000, { at: 2999 })])), [`${CLIENT}: openSSH: OPEN SESAME`]);
});

t.test('ruling 2: deadlines of different doors are reported in time order', async (t) => {
  const conf = `[slow]\nsequence = 1,2\nseq_timeout = 10\n[fast]\nsequence = 3,4\nseq_timeout = 2\n`;
  const m = matcherFor(conf);
  run(m, [syn(1, { at: 0 }), syn(3, { at: 500, src: '10.77.0.3' })]);
  t.equal(m.nextDeadline(), 2500);
  t.same(m.expire(2500).map((e) => e.door.name), ['fast']);
  t.equal(m.nextDeadline(), 10_000);
  t.same(m.expire(10_000).map((e) => e.door.name), ['slow']);
});

t.test('seq_timeout = 0: every multi-port sequence times out, a single port still opens', async (t) => {
  const conf = `[multi]\nsequence = 1,2\nseq_timeout = 0\n[single]\nsequence = 5\nseq_timeout = 0\n`;
  const lines = run(matcherFor(conf), [syn(1), syn(2), syn(5)]);
  t.same(opens(lines), [`${CLIENT}: single: OPEN SESAME`]);
});

t.test('ruling 3: a flood of spoofed sources stays within maxAttempts; the oldest are evicted and counted', async (t) => {
  const max = 1000;
  const m = matcherFor(BASE, { maxAttempts: max });
  const total = 200_000;
  let evicted = 0;
  for (let i = 0; i < total; i++) {
    const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    for (const e of m.handle(syn(7000, { src }), i)) if (e.type === 'evicted') evicted++;
    if (m.size > max) { t.fail(`size ${m.size} over the cap at packet ${i}`); return; }
  }
  t.equal(m.size, max);
  t.equal(m.evictions, total - max);
  t.equal(evicted, total - max, 'each eviction is reported');
  // The newest attempts survived: the last source can still finish its knock.
  const last = `10.${((total - 1) >> 16) & 255}.${((total - 1) >> 8) & 255}.${(total - 1) & 255}`;
  t.same(opens(run(m, [syn(8000, { src: last, at: total }), syn(9000, { src: last, at: total })])), [`${last}: openSSH: OPEN SESAME`]);
});

t.test('ruling 3: the default cap is 65,536', async (t) => {
  const m = matcherFor(BASE);
  for (let i = 0; i < 70_000; i++) m.handle(syn(7000, { src: `fd00::${i.toString(16)}` }), 0);
  t.equal(m.size, 65_536);
  t.equal(m.evictions, 70_000 - 65_536);
});

t.test('single-port door fires on every matching packet', async (t) => {
  const lines = run(matcherFor(`[single]\nsequence = 7000:udp\n`), [udp(7000), udp(7000), udp(7000)]);
  t.equal(opens(lines).length, 3);
});

t.test('re-knocking a completed sequence opens again at once', async (t) => {
  t.equal(opens(run(matcherFor(BASE), knock('7000 8000 9000 7000 8000 9000'))).length, 2);
});

t.test('several doors can start on one packet', async (t) => {
  const lines = run(matcherFor(`[a]\nsequence = 1,2\n[b]\nsequence = 1,3\n[c]\nsequence = 1\n`), [syn(1)]);
  t.same(lines, [`${CLIENT}: a: Stage 1`, `${CLIENT}: b: Stage 1`, `${CLIENT}: c: Stage 1`, `${CLIENT}: c: OPEN SESAME`]);
});

t.test('Target selects by destination address; knocks to the host itself do not match', async (t) => {
  const conf = `[routed]\nsequence = 7000,8000\ntarget = 10.77.0.50\n`;
  t.same(opens(run(matcherFor(conf), knock('7000 8000'))), [], 'knock to 10.77.0.1');
  t.same(opens(run(matcherFor(conf), knock('7000 8000', { dst: '10.77.0.50' }))), [`${CLIENT}: routed: OPEN SESAME`]);
});

t.test('Target in IPv6 is compared in canonical form', async (t) => {
  const conf = `[v6]\nsequence = 7000\ntarget = FD77:0:0::0050\n`;
  t.same(opens(run(matcherFor(conf), [syn(7000, { src: 'fd77::2', dst: 'fd77::50' })])), ['fd77::2: v6: OPEN SESAME']);
});

t.test('doors without Target need a local destination; local addresses can change at run time', async (t) => {
  const m = new Matcher(config(BASE).doors, { localAddresses: ['10.77.0.1'] });
  t.same(opens(run(m, knock('7000 8000 9000', { dst: '10.77.0.9' }))), [], 'not ours yet');
  m.setLocalAddresses(['10.77.0.1', '10.77.0.9']);
  t.same(opens(run(m, knock('7000 8000 9000', { dst: '10.77.0.9' }))), [`${CLIENT}: openSSH: OPEN SESAME`]);
});

t.test('IPv6 knockers match like IPv4 ones and report family 6', async (t) => {
  const m = matcherFor(BASE);
  const ev = knock('7000 8000 9000', { src: 'fd77::2' }).flatMap((k) => m.handle(k, 0));
  const open = ev.find((e) => e.type === 'open');
  t.equal(open?.src, 'fd77::2');
  t.equal(open?.family, 6);
});

t.test('same source, two destinations: attempts to different Target doors do not interfere', async (t) => {
  const conf = `[t1]\nsequence = 1,2\ntarget = 10.77.0.50\n[local]\nsequence = 1,2\n`;
  const lines = run(matcherFor(conf), [syn(1, { dst: '10.77.0.50' }), syn(1), syn(2), syn(2, { dst: '10.77.0.50' })]);
  t.same(opens(lines), [`${CLIENT}: local: OPEN SESAME`, `${CLIENT}: t1: OPEN SESAME`]);
});

t.test('clear() forgets every attempt (SIGHUP)', async (t) => {
  const m = matcherFor(BASE);
  run(m, knock('7000 8000'));
  t.equal(m.size, 1);
  m.clear();
  t.equal(m.size, 0);
  t.same(opens(run(m, knock('9000'))), []);
});

t.test('disable() and setSequence() (one-time sequences)', async (t) => {
  const m = matcherFor(BASE);
  run(m, knock('7000'));
  m.setSequence(0, [{ port: 1, protocol: 'udp' }]);
  t.equal(m.size, 0, 'attempts of the door are dropped');
  t.same(opens(run(m, [udp(1)])), [`${CLIENT}: openSSH: OPEN SESAME`]);
  m.disable(0);
  t.notOk(m.isEnabled(0));
  t.same(run(m, [udp(1)]), []);
  t.same(opens(run(m, knock('9000 8000 7000'))), [`${CLIENT}: closeSSH: OPEN SESAME`], 'other doors unaffected');
});

t.test('UDP knocks ignore TCP flag rules', async (t) => {
  const conf = `[d]\nsequence = 1:udp,2:udp\ntcpflags = syn\n`;
  t.same(opens(run(matcherFor(conf), [udp(1), udp(2)])), [`${CLIENT}: d: OPEN SESAME`]);
});
