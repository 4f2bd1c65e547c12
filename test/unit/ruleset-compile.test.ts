// The ruleset compiler (door → nft), element by element of knockd.conf's grammar. Each script is
// also handed to the real nft in check mode (`nft -c`, nothing is committed) where nft and root
// are available, so a rule nft would refuse fails here. What the rules *do* is proven packet by
// packet against the matcher in test/e2e/kernel-vs-matcher.test.ts.

import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { parseConfig } from '../../lib/config/parser.js';
import { addressScript, flagsMatch, installScript, removeScript, updateScript } from '../../lib/ruleset/compile.js';
import { eventPrefix, parseEventPrefix } from '../../lib/ruleset/events.js';
import type { KernelDoor, RulesetSpec } from '../../lib/ruleset/spec.js';

const canCheck = process.getuid?.() === 0 && spawnSync('nft', ['--version']).status === 0;

function nftAccepts(script: string): string {
  if (!canCheck) return '';
  // A private network namespace: the check sees no table of the host's.
  const r = spawnSync('unshare', ['-n', 'nft', '-c', '-f', '-'], { input: script, encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr;
}

function spec(text: string, over: Partial<RulesetSpec> = {}): RulesetSpec {
  const config = parseConfig(text, 'r.conf', { readFile: () => Buffer.from('7000,8000\n9000\n'), checkRewritable: () => {} });
  return {
    table: 'knock_sesame', group: 5900, generation: 1, interfaces: ['eth0'], families: [4, 6],
    local: ['192.0.2.1', '2001:db8::1'],
    doors: config.doors.filter((d) => d.sequence.length > 0).map((door) => ({ index: config.doors.indexOf(door), version: 0, door, sequence: door.sequence })),
    spaPorts: [], setSize: 65536, eventRate: 200, eventBurst: 1000, ...over,
  };
}

function check(t: Test, s: RulesetSpec): string {
  const script = installScript(s);
  t.equal(nftAccepts(script), '', 'nft -c accepts the table');
  return script;
}

const SPA = '[spa]\nSPA_Key = secret\nSPA_HMAC_Key_Base64 = ' + Buffer.alloc(32, 7).toString('base64') + '\nSPA_Open_Ports = tcp/22\n';
const BASE = '[openSSH]\nsequence = 7000,8000,9000\nseq_timeout = 5\ntcpflags = syn\n';

t.test('a three-step door: live set, one stage set, chain per family', async (t) => {
  const s = check(t, spec(BASE));
  t.match(s, /set d0v0_live4 \{ type ipv4_addr; flags dynamic,timeout; size 65536; timeout 5s; \}/);
  t.match(s, /set d0v0_s2_4 /);
  t.notMatch(s, /d0v0_s1_/, 'stage 1 has no set of its own');
  t.match(s, /set d0v0_live6 \{ type ipv6_addr;/);
  t.match(s, /chain d0v0_4 \{/);
  t.match(s, /chain d0v0_6 \{/);
  const start = 'ip daddr @local4 tcp dport 7000 tcp flags & syn == syn update @d0v0_live4 { ip saddr timeout 5s } delete @d0v0_s2_4 { ip saddr } '
    + 'counter name "events_all" limit name "events" log prefix "sesame 1 d0v0 s 1" group 5900 queue-threshold 1';
  t.ok(s.includes(start), 'the first knock starts an attempt, counted, rate-limited, logged');
  t.match(s, /ip saddr @d0v0_s2_4 tcp dport 9000 log prefix "sesame 1 d0v0 o 3"/, 'completion is not rate-limited');
  t.match(s, /iifname "eth0" meta l4proto \{ tcp, udp \} jump visible/);
  t.match(s, /type filter hook prerouting priority raw \+ 10; policy accept;/);
  t.match(s, /^add table inet knock_sesame\ndelete table inet knock_sesame\ntable inet knock_sesame \{/, 'replaces any earlier table in one transaction');
});

t.test('TCP flags: set, clear, both, none', async (t) => {
  t.equal(flagsMatch({ set: 0, clear: 0 }), undefined);
  t.equal(flagsMatch({ set: 0x02, clear: 0 }), 'tcp flags & syn == syn');
  t.equal(flagsMatch({ set: 0x02, clear: 0x10 }), 'tcp flags & (syn | ack) == syn');
  t.equal(flagsMatch({ set: 0, clear: 0x02 }), 'tcp flags & syn == 0x0');
  t.equal(flagsMatch({ set: 0x3f, clear: 0 }), 'tcp flags & (fin | syn | rst | psh | ack | urg) == (fin | syn | rst | psh | ack | urg)');
  for (const f of ['syn', 'SYN,!ack', '!syn', 'fin,psh,urg', 'ack,!rst']) {
    const s = check(t, spec(`[d]\nsequence = 7000,8000\ntcpflags = ${f}\n`));
    t.match(s, /meta l4proto tcp tcp flags & .* != .* return/, `${f}: a mismatch is ignored for the door`);
  }
  const none = check(t, spec('[d]\nsequence = 7000,8000\n'));
  t.notMatch(none, /tcp flags/, 'no tcpflags: no flag test');
});

t.test('UDP and mixed steps; flags constrain TCP steps only', async (t) => {
  const s = check(t, spec('[d]\nsequence = 7000:udp,8000:tcp,9000:udp\ntcpflags = syn\n'));
  t.match(s, /ip daddr @local4 udp dport 7000 update @d0v0_live4/);
  t.match(s, /ip daddr @local4 tcp dport 8000 tcp flags & syn == syn goto match/);
  t.match(s, /ip daddr @local4 udp dport \{ 7000, 9000 \} goto match/);
  t.notMatch(s, /udp dport \d+ tcp flags/);
});

t.test('Target: its family only, its address instead of the local set', async (t) => {
  const s4 = check(t, spec('[d]\nsequence = 7000,8000\ntarget = 192.0.2.77\n'));
  t.match(s4, /ip daddr 192\.0\.2\.77 tcp dport 7000/);
  t.notMatch(s4, /d0v0_live6/, 'no IPv6 objects for an IPv4 Target');
  const s6 = check(t, spec('[d]\nsequence = 7000,8000\ntarget = 2001:DB8::77\n'));
  t.match(s6, /ip6 daddr 2001:db8::77 tcp dport 7000/, 'canonical form');
  t.notMatch(s6, /d0v0_live4/);
  const only4 = check(t, spec('[d]\nsequence = 7000,8000\ntarget = 2001:db8::77\n', { families: [4] }));
  t.notMatch(only4, /d0v0/, '-4 and an IPv6 Target: the door is not compiled');
});

t.test('-4: no IPv6 rules; local addresses split by family', async (t) => {
  const s = check(t, spec(BASE, { families: [4] }));
  t.notMatch(s, /ip6 /);
  t.match(s, /set local4 \{ type ipv4_addr; elements = \{ 192\.0\.2\.1 \}; \}/);
  t.match(s, /set local6 \{ type ipv6_addr; \}/, 'empty under -4');
  const both = installScript(spec(BASE));
  t.match(both, /set local6 \{ type ipv6_addr; elements = \{ 2001:db8::1 \}; \}/);
});

t.test('Seq_Timeout: milliseconds, at least 1 ms, at most a week', async (t) => {
  t.match(check(t, spec('[d]\nsequence = 1,2\nseq_timeout = 0\n')), /timeout 1ms;/);
  t.match(installScript(spec('[d]\nsequence = 1,2\nseq_timeout = -4\n')), /timeout 1ms;/);
  t.match(check(t, spec('[d]\nsequence = 1,2\nseq_timeout = 99999999\n')), /timeout 604800s;/);
  t.match(installScript(spec('[d]\nsequence = 1,2\n')), /timeout 25s;/, 'default 25 s');
});

t.test('a one-step door keeps no state and fires on every packet; a one-time one fires once', async (t) => {
  const s = check(t, spec('[d]\nsequence = 5000:udp\n'));
  t.notMatch(s, /_live/);
  t.match(s, /ip daddr @local4 udp dport 5000 log prefix "sesame 1 d0v0 o 1"/);
  const once = check(t, spec('[d]\none_time_sequences = /x\n'));
  t.match(once, /set d0v0_done \{ type inet_proto; flags dynamic; size 4; \}/);
  t.match(once, /meta l4proto != @d0v0_done add @d0v0_done \{ meta l4proto \} log prefix "sesame 1 d0v0 o 2"/);
});

t.test('long sequences: one stage set per step but the first and last', async (t) => {
  const seq = Array.from({ length: 32 }, (_, i) => 1000 + i).join(',');
  const s = check(t, spec(`[d]\nsequence = ${seq}\n`));
  t.equal((s.match(/set d0v0_s\d+_4 /g) ?? []).length, 30);
  t.match(s, /log prefix "sesame 1 d0v0 o 32"/);
});

t.test('doors and interfaces', async (t) => {
  const two = check(t, spec(BASE + '[close]\nsequence = 9000,8000,7000\n', { interfaces: ['eth0', 'wg0'] }));
  t.match(two, /iifname \{ "eth0", "wg0" \} meta l4proto/);
  t.match(two, /d1v0_live4/);
  const any = check(t, spec(BASE, { interfaces: ['any'] }));
  t.match(any, /\n    meta l4proto \{ tcp, udp \} jump visible/, 'any: no interface test');
  t.throws(() => installScript(spec(BASE, { interfaces: ['eth0" accept'] })), /not an interface name/);
  t.throws(() => installScript(spec(BASE, { table: 'x; flush ruleset' })), /not a usable nftables name/);
  t.throws(() => installScript(spec(BASE, { group: 70000 })), /NFLOG group/);
  t.throws(() => installScript(spec(BASE, { setSize: 0 })), /set size/);
  t.throws(() => installScript(spec(BASE, { local: ['192.0.2.1; drop'] })), /not an IP address/);
});

t.test('SPA datagrams: a length pre-filter, never rate-limited', async (t) => {
  const s = check(t, spec(SPA, { spaPorts: [62201, 62202] }));
  t.match(s, /iifname "eth0" udp dport \{ 62201, 62202 \} udp length 148-1508 log prefix "sesame 1 - spa 0" group 5900 queue-threshold 1/);
  t.notMatch(s, /jump visible/, 'no knock doors: no knock rules');
  const four = installScript(spec(SPA, { spaPorts: [62201], families: [4] }));
  t.match(four, /meta nfproto ipv4 udp dport 62201/);
  const batched = check(t, spec(SPA, { spaPorts: [62201], spaQueue: 64 }));
  t.match(batched, /udp dport 62201 udp length 148-1508 log prefix "sesame 1 - spa 0" group 5900 queue-threshold 64/, 'batched SPA datagrams');
  for (const bad of [0, 65536, 1.5, NaN]) t.throws(() => installScript(spec(SPA, { spaPorts: [62201], spaQueue: bad })), /SPA queue threshold/);
});

t.test('updates keep unchanged doors and replace changed ones, in one transaction', async (t) => {
  const prev = spec(BASE + '[close]\nsequence = 9000,8000,7000\n');
  const changed: KernelDoor = { ...prev.doors[1]!, version: 1, sequence: [{ protocol: 'tcp', port: 1111 }, { protocol: 'udp', port: 2222 }] };
  const next = { ...prev, doors: [prev.doors[0]!, changed] };
  const u = updateScript(prev, next);
  t.notMatch(u, /set d0v0_live4/, 'the unchanged door is not recreated');
  t.match(u, /set d1v1_live4/);
  t.match(u, /delete set inet knock_sesame d1v0_live4/);
  t.match(u, /delete set inet knock_sesame d1v0_s2_4/);
  t.match(u, /delete chain inet knock_sesame d1v0_4/);
  t.match(u, /flush chain inet knock_sesame match/);
  t.match(u, /add rule inet knock_sesame match ip daddr @local4 tcp dport 1111/);
  const gone = updateScript(prev, { ...prev, doors: [prev.doors[0]!] });
  t.match(gone, /delete chain inet knock_sesame d1v0_4/, 'a door that ran out goes');
  t.match(addressScript({ ...prev, local: ['198.51.100.7'] }), /flush set inet knock_sesame local4\nadd element inet knock_sesame local4 \{ 198\.51\.100\.7 \}\nflush set inet knock_sesame local6\n/);
  t.equal(removeScript('knock_sesame'), 'add table inet knock_sesame\ndelete table inet knock_sesame\n');
});

t.test('install then update, applied by the real nft', { skip: !canCheck && 'needs root and nft' }, async (t) => {
  const prev = spec(BASE + '[close]\nsequence = 9000,8000,7000\n[once]\none_time_sequences = /x\n');
  const next = { ...prev, doors: [prev.doors[0]!, { ...prev.doors[2]!, version: 1, sequence: [{ protocol: 'tcp' as const, port: 9000 }] }] };
  const script = installScript(prev) + updateScript(prev, next) + addressScript(next);
  const r = spawnSync('unshare', ['-n', 'sh', '-c', 'nft -f - && nft list table inet knock_sesame'], { input: script, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /d0v0_live4/, 'unchanged door kept');
  t.notMatch(r.stdout, /d1v0/, 'removed door gone');
  t.match(r.stdout, /d2v1_done/, 'rotated door renamed');
  t.notMatch(r.stdout, /d2v0/);
});

t.test('event prefixes round-trip; anything else is refused', async (t) => {
  const d = spec(BASE).doors[0]!;
  t.same(parseEventPrefix(eventPrefix(7, d, 's', 2)), { generation: 7, kind: 'stage', stage: 2, door: { index: 0, version: 0 } });
  t.same(parseEventPrefix(eventPrefix(7, d, 'o', 3)), { generation: 7, kind: 'open', stage: 3, door: { index: 0, version: 0 } });
  t.same(parseEventPrefix(eventPrefix(7, d, 'r', 1)), { generation: 7, kind: 'reset', stage: 1, door: { index: 0, version: 0 } });
  t.same(parseEventPrefix(eventPrefix(1, undefined, 'spa', 0)), { generation: 1, kind: 'spa', stage: 0 });
  for (const bad of ['', 'sesame', 'sesame 1 d0v0 x 1', 'sesame 1 - s 1', 'sesame 1 d0v0 spa 0', 'SESAME 1 d0v0 s 1',
    'sesame 1 d0v0 s 1 ', 'sesame -1 d0v0 s 1', 'sesame 1 d999999v0 s 1', 'other 1 d0v0 s 1', 'sesame 1 d0v0 s 1\n']) {
    t.equal(parseEventPrefix(bad), undefined, JSON.stringify(bad));
  }
});
