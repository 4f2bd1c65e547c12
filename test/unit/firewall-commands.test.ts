// The grant table's nft batches as text, the checks every value passes before it is written into
// one, and the reading of nft's JSON listings. No root, no kernel.

import t from 'tap';
import {
  flushBatch, grantBatch, installBatch, listSetCommand, parseSetListing, type Grant,
} from '../../lib/firewall/commands.js';
import { checkAddress, checkName, checkPort, checkProto, checkTimeout, FirewallInputError, MAX_TIMEOUT } from '../../lib/firewall/validate.js';

const g = (address: string, protocol: 'tcp' | 'udp', port: number, timeout: number): Grant => ({ address, protocol, port, timeout });

t.test('addresses: canonical text and family; everything else refused', async (t) => {
  t.same(checkAddress('10.77.20.2'), { family: 4, text: '10.77.20.2' });
  t.same(checkAddress('FD77:20:0:0::0:2'), { family: 6, text: 'fd77:20::2' });
  t.same(checkAddress('2001:db8:0:0:1:0:0:1'), { family: 6, text: '2001:db8::1:0:0:1' });
  t.same(checkAddress('::1'), { family: 6, text: '::1' });
  t.same(checkAddress('::ffff:192.0.2.7'), { family: 4, text: '192.0.2.7' }, 'IPv4-mapped is IPv4');
  t.same(checkAddress('::FFFF:c000:0207'), { family: 4, text: '192.0.2.7' });
  for (const bad of [
    '', ' 10.0.0.1', '10.0.0.1 ', '10.0.0.1\n', '010.0.0.1', '10.0.0', '10.0.0.256', '10.0.0.1/24',
    'fe80::1%eth0', 'fd77::2 }', '1.2.3.4 } ; flush ruleset', 'localhost', '::g', '1::2::3',
    '10.0.0.1 . tcp . 22', '0x0a000001', '4294967295',
  ]) {
    t.throws(() => checkAddress(bad), FirewallInputError, JSON.stringify(bad));
  }
  for (const bad of [undefined, null, 167772161, ['10.0.0.1'], { toString: () => '10.0.0.1' }]) {
    t.throws(() => checkAddress(bad), FirewallInputError, String(bad));
  }
});

t.test('protocols, ports, timeouts, names', async (t) => {
  t.equal(checkProto('tcp'), 'tcp');
  t.equal(checkProto('udp'), 'udp');
  for (const bad of ['TCP', 'icmp', 'sctp', 'tcp ', '', 6, undefined]) t.throws(() => checkProto(bad), FirewallInputError);
  t.equal(checkPort(1), 1);
  t.equal(checkPort(65535), 65535);
  for (const bad of [0, 65536, -1, 22.5, '22', NaN, Infinity, undefined]) t.throws(() => checkPort(bad), FirewallInputError, String(bad));
  t.equal(checkTimeout(1), 1);
  t.equal(checkTimeout(MAX_TIMEOUT), MAX_TIMEOUT);
  for (const bad of [0, -5, 1.5, MAX_TIMEOUT + 1, '30', '30s', NaN, Infinity, null]) t.throws(() => checkTimeout(bad), FirewallInputError, String(bad));
  t.equal(checkName('sesame'), 'sesame');
  t.equal(checkName('Sesame_2'), 'Sesame_2');
  t.equal(checkName('k'.repeat(63)), 'k'.repeat(63), 'up to 63 characters (knock_sesame_<32-character instance>)');
  for (const bad of ['', '2fw', 'a b', 'a;b', 'a-b', 'a'.repeat(64), 'sesame\n', '$x', 7]) t.throws(() => checkName(bad), FirewallInputError, String(bad));
});

t.test('install: creates what is missing, replaces guards and rules, keeps grants', async (t) => {
  t.equal(installBatch('sesame', [{ protocol: 'tcp', port: 22 }, { protocol: 'udp', port: 53 }, { protocol: 'tcp', port: 22 }]), [
    'add table inet sesame',
    'add set inet sesame allow4 { type ipv4_addr . inet_proto . inet_service; flags timeout; }',
    'add set inet sesame allow6 { type ipv6_addr . inet_proto . inet_service; flags timeout; }',
    'add set inet sesame guarded { type inet_proto . inet_service; }',
    'add set inet sesame ifaces { type ifname; }',
    'add set inet sesame yielded { type ifname . inet_proto . inet_service; }',
    'add chain inet sesame input { type filter hook input priority filter - 1; policy accept; }',
    'flush chain inet sesame input',
    'flush set inet sesame guarded',
    'flush set inet sesame ifaces',
    'add element inet sesame guarded { tcp . 22, udp . 53 }',
    'flush set inet sesame yielded',
    'add rule inet sesame input ct state established,related accept',
    'add rule inet sesame input meta l4proto . th dport @guarded ip saddr . meta l4proto . th dport @allow4 accept',
    'add rule inet sesame input meta l4proto . th dport @guarded ip6 saddr . meta l4proto . th dport @allow6 accept',
    'add rule inet sesame input meta l4proto . th dport @guarded iifname . meta l4proto . th dport != @yielded drop',
    '',
  ].join('\n'));
  const none = installBatch('fw', []);
  t.notMatch(none, /add element/, 'no empty element list (nft refuses `{ }`)');
  t.match(none, /^flush set inet fw guarded$/m, 'guards still emptied');
  t.notMatch(none, /flush set inet fw allow[46]|delete/, 'grants are never flushed by install');
  t.throws(() => installBatch('sesame', [{ protocol: 'tcp', port: 0 }]), FirewallInputError);
  t.throws(() => installBatch('sesame', [{ protocol: 'icmp' as 'tcp', port: 1 }]), FirewallInputError);
  t.throws(() => installBatch('x; flush ruleset', []), FirewallInputError);
});

t.test('grant: add, delete, add with timeout per element, in one batch', async (t) => {
  t.equal(grantBatch('sesame', [g('10.77.20.2', 'tcp', 22, 30), g('FD77:20::2', 'udp', 53, 3)]), [
    'add element inet sesame allow4 { 10.77.20.2 . tcp . 22 }',
    'delete element inet sesame allow4 { 10.77.20.2 . tcp . 22 }',
    'add element inet sesame allow4 { 10.77.20.2 . tcp . 22 timeout 30s }',
    'add element inet sesame allow6 { fd77:20::2 . udp . 53 }',
    'delete element inet sesame allow6 { fd77:20::2 . udp . 53 }',
    'add element inet sesame allow6 { fd77:20::2 . udp . 53 timeout 3s }',
    '',
  ].join('\n'));
  t.equal(grantBatch('sesame', []), '', 'nothing to run');
  const twice = grantBatch('sesame', [g('10.0.0.1', 'tcp', 22, 5), g('10.0.0.2', 'tcp', 22, 5), g('10.0.0.1', 'tcp', 22, 9)]);
  t.equal(twice.split('\n').filter((l) => l.includes('10.0.0.1')).length, 3, 'one key once');
  t.match(twice, /10\.0\.0\.1 \. tcp \. 22 timeout 9s/, 'the last timeout wins');
  t.equal(twice.indexOf('10.0.0.2') < twice.indexOf('10.0.0.1 . tcp . 22 timeout 9s'), true, 'in the order last given');
  t.match(grantBatch('s', [g('::ffff:10.0.0.1', 'tcp', 22, 5)]), /allow4 \{ 10\.0\.0\.1 \. tcp/, 'mapped goes to allow4');
  t.same([...new Set(grantBatch('s', [g('10.0.0.1', 'tcp', 22, 5), g('10.0.0.1', 'udp', 22, 5), g('10.0.0.1', 'tcp', 23, 5)]).split('\n').filter(Boolean).map((l) => l.replace(/ timeout 5s/, '')))].length, 6, 'proto and port are part of the key');
});

t.test('grant: one bad value refuses the whole batch before anything runs', async (t) => {
  const ok = g('10.0.0.1', 'tcp', 22, 5);
  for (const bad of [
    g('10.0.0.1 } ; flush ruleset ; add element inet sesame allow4 { 1.1.1.1', 'tcp', 22, 5),
    g('10.0.0.1', 'tcp', 70000, 5),
    g('10.0.0.1', 'tcp', 22, 0),
    g('10.0.0.1', 'tcp', 22, 2.5),
    { ...ok, protocol: 'tcp . 22 } ; flush ruleset' as 'tcp' },
    { ...ok, timeout: '5s; flush ruleset' as unknown as number },
  ]) {
    t.throws(() => grantBatch('sesame', [ok, bad]), FirewallInputError, JSON.stringify(bad));
  }
});

t.test('flush and list commands', async (t) => {
  t.equal(flushBatch('sesame'), 'add table inet sesame\ndelete table inet sesame\n');
  t.equal(listSetCommand('sesame', 'allow4'), 'list set inet sesame allow4\n');
  t.throws(() => flushBatch('sesame; flush ruleset'), FirewallInputError);
});

t.test('parseSetListing: nft -j output (libnftables 1.0.6 shapes)', async (t) => {
  const doc = {
    nftables: [
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      {
        set: {
          family: 'inet', name: 'allow4', table: 'sesame', type: ['ipv4_addr', 'inet_proto', 'inet_service'], handle: 1, flags: ['timeout'],
          elem: [
            { elem: { val: { concat: ['10.77.20.2', 'tcp', 22] }, timeout: 30, expires: 29 } },
            { concat: ['10.77.20.3', 'udp', 53] },
            { elem: { val: { concat: ['10.77.20.4', 6, '8080'] }, timeout: 5 } },
            { elem: { val: { concat: ['10.77.20.5', 'sctp', 22] }, timeout: 5, expires: 1 } },
            { elem: { val: { concat: ['not an address', 'tcp', 22] }, timeout: 5, expires: 1 } },
            { elem: { val: { concat: ['10.77.20.6', 'tcp', 0] }, timeout: 5, expires: 1 } },
            { elem: { val: '10.77.20.7' } },
            null,
          ],
        },
      },
    ],
  };
  t.same(parseSetListing(JSON.stringify(doc)), [
    { address: '10.77.20.2', protocol: 'tcp', port: 22, timeout: 30, expires: 29 },
    { address: '10.77.20.3', protocol: 'udp', port: 53, timeout: 0 },
    { address: '10.77.20.4', protocol: 'tcp', port: 8080, timeout: 5 },
  ]);
  const v6 = { nftables: [{ set: { name: 'allow6', elem: [{ elem: { val: { concat: ['FD77:20::2', 'udp', 53] }, timeout: 3, expires: 2 } }] } }] };
  t.same(parseSetListing(JSON.stringify(v6)), [{ address: 'fd77:20::2', protocol: 'udp', port: 53, timeout: 3, expires: 2 }]);
  t.same(parseSetListing('{"nftables":[{"set":{"name":"allow4","type":["ipv4_addr","inet_proto","inet_service"]}}]}'), [], 'empty set');
  t.throws(() => parseSetListing('{}'));
  t.throws(() => parseSetListing('not json'));
});
