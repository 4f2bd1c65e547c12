// Bounded logs under floods (reliability issue, defect 8): knock lines through a token bucket with
// a summary, and capture losses reported at most once per interval.

import t from 'tap';
import { DoublingLog, LogRateLimit } from '../../lib/log/rate-limit.js';
import { LossReport } from '../../lib/capture/losses.js';

t.test('knock lines: burst, then the rate, then a summary before the next line', async (t) => {
  let now = 0;
  const out: string[] = [];
  const limit = new LogRateLimit(100, 500, () => now, (n) => `${n} knock events not logged (rate limit)`);
  for (let i = 0; i < 10_000; i++) limit.line(`line ${i}`, (l) => out.push(l));
  t.equal(out.length, 500, 'a burst of 500');
  now += 1000;
  for (let i = 0; i < 10_000; i++) limit.line(`more ${i}`, (l) => out.push(l));
  t.equal(out[500], '9500 knock events not logged (rate limit)', 'the summary comes first');
  t.equal(out.length, 500 + 1 + 100, '100 a second after that');
  now += 60_000;
  out.length = 0;
  limit.line('quiet again', (l) => out.push(l));
  t.same(out, ['9900 knock events not logged (rate limit)', 'quiet again']);
});

t.test('capture losses: one line per interface per interval, with the total', async (t) => {
  let now = 0;
  const r = new LossReport(10_000, () => now);
  t.equal(r.add('eth0', { 'not-ip': 50, 'other-proto': 3 }), undefined, 'decoder drops are not losses');
  t.equal(r.add('eth0', { queue: 512 }), 'capture on eth0: 512 packets lost before matching (daemon behind: 512)');
  now = 5000;
  t.equal(r.add('eth0', { queue: 100, overflow: 7 }), undefined, 'held within the interval');
  t.equal(r.add('wg0', { overflow: 1 }), 'capture on wg0: 1 packet lost before matching (daemon behind: 1)', 'per interface');
  now = 10_001;
  t.equal(r.add('eth0', { queue: 1, kernel: 40 }), 'capture on eth0: 148 packets lost before matching (capture buffer full: 40, daemon behind: 108)', 'the held ones are added');
  now = 30_000;
  t.equal(r.add('eth0', { kernel: 3 }), 'capture on eth0: 3 packets lost before matching (capture buffer full: 3)', 'ring drops read from the kernel');
});

t.test('packet socket inodes from /proc/net/packet', async (t) => {
  const { packetInodes } = await import('../../lib/capture/packet-sockets.js');
  const text = 'sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n' +
    'ffff8a0c4c6e1000 3      3    0003   2     1 0      0      123456\n' +
    'ffff8a0c4c6e2000 3      3    0003   3     1 0      0      789\n';
  t.same([...packetInodes(text)], ['123456', '789']);
  t.same([...packetInodes('header only\n')], []);
});

t.test('events a kernel rate limit dropped are counted in the same summary', async (t) => {
  let now = 0;
  const lim = new LogRateLimit(1, 2, () => now, (n) => `${n} knock events not logged (rate limit)`);
  const out: string[] = [];
  lim.line('a', (l) => out.push(l));
  lim.skip(40); // the kernel held back 40 events
  lim.skip(0);
  lim.skip(-3);
  lim.line('b', (l) => out.push(l));
  t.same(out, ['a', '40 knock events not logged (rate limit)', 'b']);
});

t.test('DoublingLog: the first count, then each doubling', async (t) => {
  const d = new DoublingLog();
  t.same([0, 1, 1, 2, 3, 4, 7, 8, 100].map((n) => d.due(n)), [false, true, false, true, false, true, false, true, true]);
});
