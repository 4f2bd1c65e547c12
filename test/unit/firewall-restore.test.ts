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

t.test('GrantStore: what a restart may keep, read back strictly', async (t) => {
  const { chmodSync, mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { GrantStore } = await import('../../lib/daemon/state.js');
  const dir = mkdtempSync(join(tmpdir(), 'sesame-gs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const warnings: string[] = [];
  const store = new GrantStore(dir, 'sesame', (m) => warnings.push(m));
  t.match(store.path, /grants-sesame\.json$/, 'one file per table');
  t.equal(store.load(), undefined, 'no file: undefined (the kernel\'s grants are kept as they are)');
  const nat = { kind: 'forward' as const, address: '10.77.136.5', port: 3306, snat: 'masquerade' };
  store.save([{ grant: g('10.0.0.1', 22, 60), until: 1000 }, { grant: { ...g('10.0.0.2', 4000, 8), nat }, until: 2000 }]);
  store.flush();
  t.same(store.load(), [{ grant: g('10.0.0.1', 22, 60), until: 1000 }, { grant: { ...g('10.0.0.2', 4000, 8), nat }, until: 2000 }]);
  writeFileSync(store.path, JSON.stringify({ version: 1, grants: [{ grant: { address: 1, protocol: 'tcp', port: 22 }, until: 5 },
    { grant: g('10.0.0.3', 22, 1), until: 'soon' }, { grant: { ...g('10.0.0.4', 22, 1), protocol: 'icmp' }, until: 5 },
    { grant: { ...g('10.0.0.5', 22, 1), nat: { kind: 'elsewhere' } }, until: 5 }, { grant: g('10.0.0.6', 22, 1), until: 7 }] }), { mode: 0o600 });
  t.same(store.load(), [{ grant: g('10.0.0.6', 22, 1), until: 7 }], 'malformed records are left out');
  writeFileSync(store.path, '{ torn', { mode: 0o600 });
  t.same(store.load(), [], 'a torn file records nothing: no grant is kept (fail closed)');
  chmodSync(store.path, 0o666);
  t.same(store.load(), [], 'nor one others may write');
  t.match(warnings.join('\n'), /grants file/, 'and a warning');
});

t.test('LiveGrants.entries: what is left of each, for the grants file', async (t) => {
  const live = new LiveGrants();
  live.add([g('10.0.0.1', 22, 10)], 0);
  t.same(live.entries(4000), [{ grant: g('10.0.0.1', 22, 10), leftMs: 6000 }]);
  t.same(live.entries(10_000), [], 'none once expired');
  t.notOk(live.full);
});
