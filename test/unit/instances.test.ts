// Several instances in one network namespace (lib/firewall/instances.ts): which ports a second
// instance may not guard, which (interface, port) pairs each leaves to the other, and the nft
// text of the interface sets and of revoking grants, checked before it is written.

import t from 'tap';
import { conflicts, describeConflict, guardElements, ifaceElements, isGrantTable, unyielded, yieldedElements, yieldedTo } from '../../lib/firewall/instances.js';
import { installBatch, unyieldBatch, yieldedBatch } from '../../lib/firewall/commands.js';
import { revokeBatch } from '../../lib/firewall/grant-elements.js';
import { FirewallInputError } from '../../lib/firewall/validate.js';
import { encodeAttrs, type Attr } from '../../lib/firewall/netlink-attrs.js';

const ssh = { protocol: 'tcp' as const, port: 22 };
const dns = { protocol: 'udp' as const, port: 53 };
const A = { table: 'sesame', ifaces: ['eth0'], guards: [ssh] };

t.test('conflicts: one port on one interface, or on every interface', async (t) => {
  t.same(conflicts(A, [{ table: 'sesame_b', ifaces: ['eth1'], guards: [ssh] }]), [], 'two interfaces: no conflict');
  t.same(conflicts(A, [{ table: 'sesame_b', ifaces: ['eth0'], guards: [dns] }]), [], 'two ports: no conflict');
  t.same(conflicts(A, [{ table: 'sesame_b', ifaces: ['eth1', 'eth0'], guards: [dns, ssh] }]), [{ table: 'sesame_b', port: ssh, iface: 'eth0' }]);
  t.same(conflicts(A, [{ table: 'sesame_b', ifaces: [], guards: [ssh] }]), [{ table: 'sesame_b', port: ssh, iface: 'eth0' }], 'the other listens everywhere');
  t.same(conflicts({ ...A, ifaces: [] }, [{ table: 'sesame_b', ifaces: ['eth3'], guards: [ssh] }]), [{ table: 'sesame_b', port: ssh, iface: 'eth3' }], 'this one listens everywhere');
  t.same(conflicts({ ...A, ifaces: [] }, [{ table: 'sesame_b', ifaces: [], guards: [ssh] }])[0]!.iface, 'any');
  t.equal(describeConflict({ table: 'sesame', port: ssh, iface: 'eth0' }), 'tcp/22 on interface eth0 is already guarded by table inet sesame');
  t.equal(describeConflict({ table: 'sesame', port: ssh, iface: 'any' }), 'tcp/22 on every interface is already guarded by table inet sesame');
});

t.test('yieldedTo: the shared ports on the other instances\' interfaces, once each', async (t) => {
  const others = [{ table: 'sesame_b', ifaces: ['eth1', 'eth2'], guards: [ssh, dns] }, { table: 'sesame_c', ifaces: ['eth1'], guards: [ssh] }];
  t.same(yieldedTo(A, others), [{ iface: 'eth1', ...ssh }, { iface: 'eth2', ...ssh }]);
  t.same(yieldedTo(A, [{ table: 'sesame_b', ifaces: [], guards: [ssh] }]), [], 'an instance on every interface is a conflict, never yielded to');
  t.same(yieldedTo(A, [{ table: 'sesame_b', ifaces: ['eth0'], guards: [ssh] }]), [], 'never its own interface');
  t.same(yieldedTo(A, []), [], 'alone: the guard covers every interface, as before');
});

t.test('unyielded: what others must take back when this one stops guarding a port', async (t) => {
  const others = [{ table: 'sesame', ifaces: ['eth0'], guards: [ssh, dns], yielded: [{ iface: 'eth1', ...ssh }, { iface: 'eth1', ...dns }, { iface: 'eth2', ...ssh }] }];
  const B = { table: 'sesame_b', ifaces: ['eth1'], guards: [dns] };
  t.same(unyielded(B, others), [{ table: 'sesame', pair: { iface: 'eth1', ...ssh } }], 'ssh on eth1 goes back; dns is still guarded; eth2 is not this one\'s');
  t.same(unyielded({ ...B, guards: [] }, others).length, 2, 'its table removed: every pair on its interfaces');
  t.same(unyielded({ ...B, ifaces: [] }, others), [], 'nothing is ever left to an instance on every interface');
  const Z = { table: 'sesame_z', ifaces: ['eth1'], guards: [ssh] };
  t.same(unyielded({ ...B, guards: [] }, [...others, Z]), [{ table: 'sesame', pair: { iface: 'eth1', ...dns } }], 'a pair a third instance guards there stays left to it');
  t.equal(unyieldBatch([{ table: 'sesame', pair: { iface: 'eth1', ...ssh } }]),
    'add element inet sesame yielded { "eth1" . tcp . 22 }\ndelete element inet sesame yielded { "eth1" . tcp . 22 }\n', 'added first: a pair already gone is no error');
  t.throws(() => unyieldBatch([{ table: 'x y', pair: { iface: 'eth1', ...ssh } }]), FirewallInputError);
});

t.test('tables, interfaces and ports read from dumps', async (t) => {
  t.ok(isGrantTable('sesame') && isGrantTable('sesame_two'));
  t.notOk(isGrantTable('knock_sesame') || isGrantTable('sesamex') || isGrantTable('filter'));
  const key = (b: Buffer): Attr => ({ type: 1, value: encodeAttrs([{ type: 1, value: b }]) });
  const msg = (keys: Buffer[]) => encodeAttrs([{ type: 3, value: encodeAttrs(keys.map((k) => ({ type: 1, value: encodeAttrs([key(k)]) }))) }]);
  const ifname = (s: string) => { const b = Buffer.alloc(16); b.write(s, 'latin1'); return b; };
  t.same(ifaceElements([msg([ifname('eth0'), ifname('veth-a.1')])]), ['eth0', 'veth-a.1']);
  const pp = (proto: number, port: number) => { const b = Buffer.alloc(8); b[0] = proto; b.writeUInt16BE(port, 4); return b; };
  t.same(guardElements([msg([pp(6, 22), pp(17, 53), pp(1, 7)])]), [ssh, dns], 'what is not tcp or udp is left out');
  t.same(yieldedElements([msg([Buffer.concat([ifname('eth1'), pp(6, 22)]), Buffer.concat([ifname(''), pp(6, 22)]), ifname('short')])]),
    [{ iface: 'eth1', ...ssh }], 'yielded pairs; an empty name or a short key is left out');
});

t.test('nft text: interfaces recorded, yielded pairs excepted from the drop, every value checked', async (t) => {
  const b = installBatch('sesame', [ssh], ['eth0'], [{ iface: 'eth1', ...ssh }]);
  t.match(b, 'add element inet sesame ifaces { "eth0" }');
  t.match(b, 'add element inet sesame yielded { "eth1" . tcp . 22 }');
  t.match(b, 'add rule inet sesame input meta l4proto . th dport @guarded iifname . meta l4proto . th dport != @yielded drop');
  t.notMatch(installBatch('sesame', [ssh], ['any']), /add element inet sesame ifaces/, 'any: an empty set (every interface)');
  t.equal(yieldedBatch('sesame', []), 'flush set inet sesame yielded\n');
  t.throws(() => installBatch('sesame', [ssh], ['eth0"; flush ruleset; "']), FirewallInputError);
  t.throws(() => yieldedBatch('sesame', [{ iface: 'a b', ...ssh }]), FirewallInputError);
  t.throws(() => installBatch('sesame', [ssh], ['any', 'eth0']), FirewallInputError);
  const rv = revokeBatch('sesame', [{ set: 'allow4', text: '10.0.0.1 . tcp . 22' }, { set: 'allow6', text: '::ffff:10.0.0.3 . tcp . 22' },
    { set: 'fwd4', text: '10.0.0.1 . tcp . 4000 : 10.77.136.5 . 3306' }]);
  t.equal(rv.batch, [
    'add element inet sesame allow4 { 10.0.0.1 . tcp . 22 }', 'delete element inet sesame allow4 { 10.0.0.1 . tcp . 22 }',
    'add element inet sesame allow6 { ::ffff:10.0.0.3 . tcp . 22 }', 'delete element inet sesame allow6 { ::ffff:10.0.0.3 . tcp . 22 }',
    'add element inet sesame fwd4 { 10.0.0.1 . tcp . 4000 : 10.77.136.5 . 3306 }', 'delete element inet sesame fwd4 { 10.0.0.1 . tcp . 4000 }', '',
  ].join('\n'), 'added first (an element that expired meanwhile cannot fail the batch), then deleted by key; an IPv4-mapped allow6 element as written');
  t.same(rv.skipped, []);
  const bad = [
    { set: 'allow4', text: '10.0.0.1 . tcp . 22 }; flush ruleset; {' }, { set: 'allow6', text: '10.0.0.1 . tcp . 22' },
    { set: 'allow4', text: '10.0.0.1 . tcp . 0' }, { set: 'allow4', text: '010.0.0.1 . tcp . 22' }, { set: 'guarded', text: '10.0.0.1 . tcp . 22' },
    { set: 'fwd4', text: '10.0.0.1 . tcp . 4000' }, { set: 'allow4', text: '10.0.0.1 . tcp . 22 : 1.2.3.4' },
  ];
  const r2 = revokeBatch('sesame', bad);
  t.equal(r2.batch, '', 'nothing malformed is written');
  t.same(r2.skipped, bad, 'an injection, the wrong family, port 0, a non-canonical address, a set not Sesame\'s grants, a map without data, data on a set: skipped');
  t.throws(() => revokeBatch('x y', []), FirewallInputError);
});

t.test('instance names: a dash is written as an underscore in the table name', async (t) => {
  const { tableName, matchTableName } = await import('../../lib/daemon/instance-lock.js');
  t.equal(tableName(undefined), 'sesame');
  t.equal(tableName('eth-1'), 'sesame_eth_1');
  t.equal(matchTableName('eth-1'), 'knock_sesame_eth_1');
  t.ok(isGrantTable(tableName('eth-1')));
});
