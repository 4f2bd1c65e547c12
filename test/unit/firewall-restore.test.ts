// The pure parts of restoring Sesame's table: the live-grant memory (monotonic deadlines, cap),
// the listing counts that tell an intact table from an emptied one, and which command lines are
// running daemons for `knockd --flush`.

import t from 'tap';
import { LiveGrants } from '../../lib/daemon/live-grants.js';
import { countElements, countRules, RULE_COUNT, installBatch } from '../../lib/firewall/commands.js';
import { isDaemonCommand } from '../../lib/daemon/instance-lock.js';

const g = (address: string, port: number, timeout: number) => ({ address, protocol: 'tcp' as const, port, timeout });

t.test('LiveGrants: remaining time, expiry, re-grant, cap', async (t) => {
  const live = new LiveGrants(3);
  live.add([g('10.0.0.1', 22, 60)], 1000);
  t.same(live.remaining(1000), [g('10.0.0.1', 22, 60)]);
  t.same(live.remaining(31_000), [g('10.0.0.1', 22, 30)], 'half the time left');
  t.same(live.remaining(60_500), [g('10.0.0.1', 22, 1)], 'rounded up, at least 1 s');
  t.same(live.remaining(61_000), [], 'gone at its deadline');
  live.add([g('10.0.0.1', 22, 10)], 0);
  live.add([g('10.0.0.1', 22, 10)], 5000);
  t.equal(live.size, 1, 'a re-grant is one entry');
  t.same(live.remaining(5000), [g('10.0.0.1', 22, 10)], 'with the new deadline');
  live.add([g('10.0.0.2', 22, 100), g('10.0.0.3', 22, 100), g('10.0.0.4', 22, 100)], 6000);
  t.equal(live.size, 3, 'capped');
  t.notOk(live.remaining(6000).some((x) => x.address === '10.0.0.1'), 'the oldest went first');
  const v6 = new LiveGrants();
  v6.add([{ address: 'fd77::2', protocol: 'udp', port: 53, timeout: 5 }], 0);
  v6.add([{ address: 'fd77::2', protocol: 'tcp', port: 53, timeout: 5 }], 0);
  t.equal(v6.size, 2, 'protocol is part of the key');
});

t.test('listing counts', async (t) => {
  const chain = JSON.stringify({ nftables: [{ metainfo: {} }, { chain: {} }, ...Array.from({ length: RULE_COUNT }, () => ({ rule: {} }))] });
  t.equal(countRules(chain), RULE_COUNT);
  t.equal(countRules(JSON.stringify({ nftables: [{ metainfo: {} }, { chain: {} }] })), 0, 'flushed chain');
  t.equal(countElements(JSON.stringify({ nftables: [{ set: { elem: [1, 2] } }] })), 2);
  t.equal(countElements(JSON.stringify({ nftables: [{ set: {} }] })), 0, 'empty set has no elem');
  t.throws(() => countRules('{}'), /no "nftables" array/);
  t.throws(() => countElements('not json'));
  const rules = installBatch('sesame', [{ protocol: 'tcp', port: 22 }]).split('\n').filter((l) => l.startsWith('add rule ')).length;
  t.equal(rules, RULE_COUNT, 'RULE_COUNT is what installBatch writes');
});

t.test('isDaemonCommand', async (t) => {
  t.ok(isDaemonCommand(['node', '/usr/lib/sesame/dist/cli/knockd.js', '-i', 'eth0']));
  t.ok(isDaemonCommand(['/usr/bin/node', 'dist/cli/knockd.js']));
  t.ok(isDaemonCommand(['node', '/x/dist/cli/knockd.js', '-d', '-c', '/etc/knockd.conf']));
  for (const mode of ['--flush', '--status', '--check', '-V', '--version', '-h', '--help']) {
    t.notOk(isDaemonCommand(['node', '/x/dist/cli/knockd.js', mode]), mode);
  }
  t.notOk(isDaemonCommand(['node', '/x/dist/capture/worker.js']), 'the capture child');
  t.notOk(isDaemonCommand(['knockd', '-i', 'eth0']), "the real knockd (it has no table of ours)");
  t.notOk(isDaemonCommand(['node', '/x/dist/cli/knockd.jsx']));
});
