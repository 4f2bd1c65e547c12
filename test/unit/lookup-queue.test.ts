// -l lookups never delay other sources (reliability issue, defect 9): the queue that holds a
// source's packets while its own name is looked up, bounded in parallel lookups and per source.

import t from 'tap';
import { LookupQueue, type NameSource } from '../../lib/daemon/lookup-queue.js';
import type { Packet } from '../../lib/matcher/types.js';

const pkt = (src: string, dport: number): Packet => ({ src, dst: '10.0.0.1', family: 4, protocol: 'tcp', dport, tcpFlags: 2 });

/** Lookups that settle only when the test says so. */
class Names implements NameSource {
  readonly names = new Set<string>();
  readonly pending = new Map<string, () => void>();
  asked = 0;
  known(ip: string) { return this.names.has(ip); }
  resolve(ip: string) { this.asked++; return new Promise<void>((r) => this.pending.set(ip, () => { this.names.add(ip); r(); })); }
  settle(ip: string) { this.pending.get(ip)?.(); this.pending.delete(ip); }
}
const tick = () => new Promise((r) => setImmediate(r));

t.test("a source waits for its own name only, in order, with its arrival times", async (t) => {
  const names = new Names();
  const seen: Array<[string, number, number]> = [];
  const q = new LookupQueue<Packet>(names, (p, at) => seen.push([p.src, p.dport, at]), { parallel: 4, perSource: 8 });
  q.submit(pkt('10.0.0.5', 7000), 1);
  q.submit(pkt('10.0.0.6', 7000), 2);
  q.submit(pkt('10.0.0.5', 8000), 3);
  t.same(seen, [], 'both wait for their names');
  names.settle('10.0.0.6');
  await tick();
  t.same(seen, [['10.0.0.6', 7000, 2]], 'one name does not wait for the other');
  names.settle('10.0.0.5');
  await tick();
  t.same(seen.slice(1), [['10.0.0.5', 7000, 1], ['10.0.0.5', 8000, 3]], 'in order, arrival times kept');
  q.submit(pkt('10.0.0.5', 9000), 4);
  t.same(seen.at(-1), ['10.0.0.5', 9000, 4], 'a known name goes on at once');
  t.equal(names.asked, 2, 'one lookup per source');
});

t.test('200 spoofed sources with a DNS server that never answers do not hold up a real knock', async (t) => {
  const names = new Names();
  const seen: string[] = [];
  const q = new LookupQueue<Packet>(names, (p) => seen.push(p.src), { parallel: 64, perSource: 64 });
  for (let i = 0; i < 200; i++) q.submit(pkt(`198.18.0.${i}`, 7000), i);
  t.equal(q.pending, 64, 'lookups in flight are capped');
  t.equal(seen.length, 200 - 64, 'the rest went on unnamed at once');
  q.submit(pkt('10.0.0.9', 7000), 300);
  q.submit(pkt('10.0.0.9', 8000), 301);
  t.same(seen.slice(-2), ['10.0.0.9', '10.0.0.9'], 'the real knock is matched at once, unnamed');
  t.equal(q.unnamed, 200 - 64 + 2);
});

t.test('a source that floods its own queue goes on unnamed, nothing lost', async (t) => {
  const names = new Names();
  const seen: number[] = [];
  const q = new LookupQueue<Packet>(names, (p) => seen.push(p.dport), { parallel: 4, perSource: 3 });
  for (let port = 1; port <= 5; port++) q.submit(pkt('10.0.0.7', port), port);
  t.same(seen, [1, 2, 3, 4, 5], 'released in order when its queue overflowed, then straight on');
  names.settle('10.0.0.7');
  await tick();
  t.same(seen, [1, 2, 3, 4, 5], 'nothing twice');
});
