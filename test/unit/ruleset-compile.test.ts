// The ruleset compiler (door → nft), element by element of knockd.conf's grammar. Each script is
// also handed to the real nft in check mode (`nft -c`, nothing is committed) where nft and root
// are available, so a rule nft would refuse fails here. What the rules *do* is proven packet by
// packet against the matcher in test/e2e/kernel-vs-matcher.test.ts.

import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { parseConfig } from '../../lib/config/parser.js';
import { addressScript, banScript, flagsMatch, installScript, removeScript, updateScript } from '../../lib/ruleset/compile.js';
import { FirewallInputError } from '../../lib/firewall/validate.js';
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
  const start = 'ip daddr @local4 tcp dport 7000 tcp flags & syn == syn update @d0v0_live4 { ip saddr timeout 5s } '
    + 'counter name "events_all" limit name "events" log prefix "sesame 1 d0v0 s 1" group 5900 queue-threshold 1';
  t.ok(s.includes(start), 'the first knock starts an attempt, counted, rate-limited, logged');
  t.ok(s.includes('ip daddr @local4 tcp dport 7000 tcp flags & syn == syn delete @d0v0_s2_4 { ip saddr }\n'), 'stale stage elements are cleared first');
  t.notMatch(s, /_t1/, 'no overflow tiers unless the spec has them');
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

/** The rules of chain `name` in `script`, one a line, without the hook line. */
function chainRules(script: string, name: string): string[] | undefined {
  const at = script.indexOf(`\n  chain ${name} {\n`);
  if (at < 0) return undefined;
  const body = script.slice(at + `\n  chain ${name} {\n`.length, script.indexOf('\n  }', at + 1));
  return body.split('\n').map((l) => l.trim()).filter((l) => !l.startsWith('type '));
}
const chainHook = (script: string, name: string) => script.slice(script.indexOf(`\n  chain ${name} {\n`)).split('\n')[2]?.trim();

t.test('SPA over HTTP: TCP segments to SPA_HTTP_Port whose payload starts "GET /" (any case) are logged as SPA, and the rest of the flow for 3 s, in a chain of their own after conntrack (established connections only)', async (t) => {
  const s = check(t, spec(SPA, { spaPorts: [62201], spaHttpPort: 80 }));
  const LOG = 'log prefix "sesame 1 - spa 0" group 5900 queue-threshold 1';
  const GET = '@ih,0,24 & 0xdfdfdf == 0x474554 @ih,24,16 0x202f';
  const NOT_GET = ['@ih,0,8 & 0xdf != 0x47', '@ih,0,8 & 0xdf == 0x47 @ih,0,32 & 0xdfdfdfff != 0x47455420'];
  // After conntrack (priority -200) and before mangle: a segment forged without a handshake, or
  // outside the window (invalid), is not established and never goes up.
  t.equal(chainHook(s, 'spa_http'), 'type filter hook prerouting priority -150; policy accept;', 'spa_http: a base chain after conntrack');
  t.equal(chainHook(s, 'knock'), 'type filter hook prerouting priority raw + 10; policy accept;', 'knock: before conntrack, as before');
  const http = chainRules(s, 'spa_http')!;
  const expected: string[] = [];
  for (const [f, ipx] of [[4, 'ip'], [6, 'ip6']] as const) {
    const flow = `${ipx} saddr . tcp sport`;
    const head = `iifname "eth0" meta nfproto ipv${f} tcp dport 80 ct state established`;
    expected.push(
      // The later pieces' rules come before the GET rule, which adds the flow (a request's first segment).
      ...NOT_GET.map((notGet) => `${head} tcp flags & psh == psh ${flow} @http_flows${f} ${notGet} ${LOG}`),
      `${head} ${GET} ${LOG} update @http_flows${f} { ${flow} }`,
    );
    t.ok(s.includes(`set http_flows${f} { type ${f === 4 ? 'ipv4_addr' : 'ipv6_addr'} . inet_service; flags dynamic,timeout; size 4096; timeout 3s; }`),
      `IPv${f}: the flow set`);
  }
  t.same(http, expected, 'spa_http: per family two piece rules, then the GET rule; each "ct state established" right after the port');
  for (const r of http) t.match(r, /tcp dport 80 ct state established /, 'established connections only');
  const base = chainRules(s, 'knock')!;
  t.same(base, ['iifname "eth0" udp dport 62201 udp length 148-1508 log prefix "sesame 1 - spa 0" group 5900 queue-threshold 1'],
    'knock: UDP SPA stays, no HTTP rule');
  t.equal(s.match(/@ih,0,24/g)?.length, 2, 'one GET rule per family, nowhere else');
  t.equal(s.match(/@http_flows[46] @ih/g)?.length, 4, 'two piece rules per family, nowhere else');
  t.equal(s.match(/tcp dport 80/g)?.length, 6, 'no other rule reads the HTTP port');
  t.equal(Buffer.from('474554', 'hex').toString(), 'GET');
  t.equal(Buffer.from('47455420', 'hex').toString(), 'GET ');
  t.equal(0x67 & 0xdf, 0x47, "'g' masked is 'G'");
  t.equal(Buffer.from('202f', 'hex').toString(), ' /');
  const v6 = check(t, spec(SPA, { spaPorts: [62201], spaHttpPort: 8080, families: [6] }));
  t.same(chainRules(v6, 'spa_http')?.map((r) => r.slice(0, r.indexOf(' log '))), [
    `iifname "eth0" meta nfproto ipv6 tcp dport 8080 ct state established tcp flags & psh == psh ip6 saddr . tcp sport @http_flows6 ${NOT_GET[0]}`,
    `iifname "eth0" meta nfproto ipv6 tcp dport 8080 ct state established tcp flags & psh == psh ip6 saddr . tcp sport @http_flows6 ${NOT_GET[1]}`,
    `iifname "eth0" meta nfproto ipv6 tcp dport 8080 ct state established ${GET}`,
  ], 'IPv6 only');
  t.notMatch(v6, /http_flows4|nfproto ipv4/, 'IPv6 only: no IPv4 set or rule');
  const any = check(t, spec(SPA, { spaPorts: [62201], spaHttpPort: 80, interfaces: [] }));
  t.match(chainRules(any, 'spa_http')![0]!, /^meta nfproto ipv4 tcp dport 80 ct state established tcp flags & psh == psh ip saddr \. tcp sport @http_flows4 @ih,0,8 & 0xdf != 0x47 log/, 'no interface: no iifname');
  const two = check(t, spec(SPA, { spaPorts: [62201], spaHttpPort: 80, interfaces: ['eth0', 'eth1'] }));
  t.ok(chainRules(two, 'spa_http')!.every((r) => r.startsWith('iifname { "eth0", "eth1" } meta nfproto ipv')), 'two interfaces: both, on every HTTP rule');
  const none = check(t, spec(SPA, { spaPorts: [62201] }));
  t.notMatch(none, /@ih|http_flows|spa_http|ct state/, 'no HTTP port: no chain, no rule, no set');
  const noDoor = check(t, spec(BASE, { spaHttpPort: 80 }));
  t.notMatch(noDoor, /@ih|http_flows|spa_http|ct state/, 'no SPA door: no chain, no rule, no set');
  for (const bad of [0, 65536, 1.5, -1]) t.throws(() => installScript(spec(SPA, { spaPorts: [62201], spaHttpPort: bad })), `port ${bad}`);
});

t.test('SPA over HTTP: the flow sets and rules as the real nft reads them', { skip: !canCheck && 'needs root and nft' }, async (t) => {
  const script = installScript(spec(SPA, { spaPorts: [62201], spaHttpPort: 80 }));
  const r = spawnSync('unshare', ['-n', 'sh', '-c', 'nft -f - && nft list table inet knock_sesame'], { input: script, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  // nft lists priority -150 by its name relative to mangle (-150 = mangle).
  const listed = r.stdout.slice(r.stdout.indexOf('chain spa_http {'));
  t.match(listed, /^chain spa_http \{\s*type filter hook prerouting priority (mangle|-150); policy accept;/, 'spa_http hooked after conntrack');
  const http = listed.slice(0, listed.indexOf('\n\t}'));
  const knock = r.stdout.slice(r.stdout.indexOf('chain knock {'), r.stdout.indexOf('\n\t}', r.stdout.indexOf('chain knock {')));
  t.notMatch(knock, /http_flows|tcp dport 80/, 'nothing of HTTP in knock');
  t.equal(http.match(/tcp dport 80 ct state established /g)?.length, 6, 'six HTTP rules, each for established connections');
  for (const f of [4, 6]) {
    t.match(r.stdout, new RegExp(`set http_flows${f} \\{[^}]*size 4096[^}]*\\}`), `http_flows${f} sized`);
    t.match(r.stdout, new RegExp(`set http_flows${f} \\{[^}]*timeout 3s[^}]*\\}`), `http_flows${f} times out`);
    t.match(http, new RegExp(`update @http_flows${f} \\{ ip${f === 4 ? '' : '6'} saddr \\. tcp sport \\}`), `http_flows${f} filled by the GET rule`);
    t.equal(http.match(new RegExp(`tcp sport @http_flows${f}`, 'g'))?.length, 2, `http_flows${f} read by the two piece rules`);
  }
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

t.test('SPA over HTTP: an update (one-time rotation, address change) leaves the spa_http chain as installed, applied by the real nft', { skip: !canCheck && 'needs root and nft' }, async (t) => {
  const prev = spec(SPA + BASE + '[once]\none_time_sequences = /x\n', { spaPorts: [62201], spaHttpPort: 80 });
  const once = prev.doors.findIndex((d) => d.door.oneTime !== undefined);
  t.ok(once >= 0, 'a one-time door to rotate');
  const doors = prev.doors.map((d, i) => (i === once ? { ...d, version: 1, sequence: [{ protocol: 'tcp' as const, port: 9000 }] } : d));
  const next = { ...prev, doors, local: ['198.51.100.7'] };
  const u = updateScript(prev, next);
  t.notMatch(u, /spa_http|http_flows|@ih/, 'the update does not touch the HTTP chain (the same generation: its rules stand)');
  const list = (script: string) => spawnSync('unshare', ['-n', 'sh', '-c', 'nft -f - && nft list chain inet knock_sesame spa_http && nft list chain inet knock_sesame knock'],
    { input: script, encoding: 'utf8' });
  const installed = list(installScript(prev));
  const updated = list(installScript(prev) + u + addressScript(next));
  t.equal(installed.status, 0, installed.stderr);
  t.equal(updated.status, 0, updated.stderr);
  const httpOf = (out: string) => out.slice(out.indexOf('chain spa_http'), out.indexOf('chain knock'));
  t.equal(httpOf(updated.stdout), httpOf(installed.stdout), 'spa_http the same after the update');
  t.equal(httpOf(updated.stdout).match(/ct state established/g)?.length, 6);
  t.notMatch(updated.stdout.slice(updated.stdout.indexOf('chain knock')), /http_flows|tcp dport 80/, 'and knock got no HTTP rule back');
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

const TIERS = { overflow: [{ size: 262144, timeoutMs: 5000 }, { size: 1048576, timeoutMs: 1000 }] };
const FIRST = 'ip daddr @local4 tcp dport 7000 tcp flags & syn == syn';

t.test('overflow tiers: every stage set has them, bigger, no longer than Seq_Timeout', async (t) => {
  const s = check(t, spec(BASE.replace('seq_timeout = 5', 'seq_timeout = 10'), TIERS));
  for (const [set, fam] of [['live4', 'ipv4'], ['s2_4', 'ipv4'], ['live6', 'ipv6'], ['s2_6', 'ipv6']]) {
    t.match(s, new RegExp(`set d0v0_${set} \\{ type ${fam}_addr; flags dynamic,timeout; size 65536; timeout 10s; \\}`));
    t.match(s, new RegExp(`set d0v0_${set}_t1 \\{ type ${fam}_addr; flags dynamic,timeout; size 262144; timeout 5s; \\}`));
    t.match(s, new RegExp(`set d0v0_${set}_t2 \\{ type ${fam}_addr; flags dynamic,timeout; size 1048576; timeout 1s; \\}`));
  }
  t.notMatch(s, /_t3/);
  const short = check(t, spec('[d]\nsequence = 1,2\nseq_timeout = 3\n', TIERS));
  t.match(short, /d0v0_live4_t1 \{[^}]*timeout 3s;/, 'a tier never outlasts Seq_Timeout');
  t.match(short, /d0v0_live4_t2 \{[^}]*timeout 1s;/);
  const tiny = check(t, spec('[d]\nsequence = 1,2\nseq_timeout = 0\n', TIERS));
  t.equal((tiny.match(/timeout 1ms;/g) ?? []).length, 6, 'Seq_Timeout below every tier: all tiers take it');
  const odd = check(t, spec('[d]\nsequence = 1,2\n', { overflow: [{ size: 10, timeoutMs: 1500 }] }));
  t.match(odd, /d0v0_live4_t1 \{ type ipv4_addr; flags dynamic,timeout; size 10; timeout 1500ms; \}/);
});

t.test('overflow tiers: a first knock takes the first tier with room, once', async (t) => {
  const s = check(t, spec(BASE, TIERS));
  const log = 'counter name "events_all" limit name "events" log prefix "sesame 1 d0v0 s 1" group 5900 queue-threshold 1';
  const rules = [
    `${FIRST} delete @d0v0_s2_4 { ip saddr } delete @d0v0_s2_4_t1 { ip saddr } delete @d0v0_s2_4_t2 { ip saddr }`,
    `${FIRST} update @d0v0_live4 { ip saddr timeout 5s } ${log}`,
    `${FIRST} ip saddr != @d0v0_live4 update @d0v0_live4_t1 { ip saddr timeout 5s } ${log}`,
    `${FIRST} ip saddr != @d0v0_live4 ip saddr != @d0v0_live4_t1 update @d0v0_live4_t2 { ip saddr timeout 1s } ${log}`,
    `${FIRST} ip saddr != @d0v0_live4 ip saddr != @d0v0_live4_t1 ip saddr != @d0v0_live4_t2 counter name "unrecorded"`,
  ];
  t.ok(s.includes(rules.map((r) => `    ${r}\n`).join('')), 'clear every stage tier, then each tier guarded by the ones before; in none: counted');
  t.match(s, /^  counter unrecorded \{ \}$/m, 'the counter of first knocks no tier had room for');
  for (const tier of ['live4', 'live4_t1', 'live4_t2']) {
    t.ok(s.includes(`    ip daddr @local4 ip saddr @d0v0_${tier} goto inflight\n`), `${tier}: an attempt in it is in flight`);
    t.ok(s.includes(`    ip daddr @local4 ip saddr @d0v0_${tier} jump d0v0_4\n`), `${tier}: runs the door's chain`);
  }
  const match = s.slice(s.indexOf('chain match {'), s.indexOf('chain visible {'));
  t.ok(match.indexOf('@d0v0_live4_t2 goto inflight') < match.indexOf('delete @d0v0_s2_4 '), 'every tier is looked up before anything starts');
  t.ok(match.indexOf('@d0v0_live6_t2 goto inflight') < match.indexOf('delete @d0v0_s2_4 '), 'both families');
});

t.test('overflow tiers: advances try the next stage tiers in order; ends clear every live tier', async (t) => {
  const s = check(t, spec(BASE, TIERS));
  const chain = s.slice(s.indexOf('chain d0v0_4 {\n'), s.indexOf('\n  }', s.indexOf('chain d0v0_4 {\n'))).split('\n').slice(1).map((l) => l.trim());
  const lives = 'delete @d0v0_live4 { ip saddr } delete @d0v0_live4_t1 { ip saddr } delete @d0v0_live4_t2 { ip saddr }';
  for (const tier of ['s2_4', 's2_4_t1', 's2_4_t2']) {
    const at = chain.indexOf(`ip saddr @d0v0_${tier} tcp dport 9000 log prefix "sesame 1 d0v0 o 3" group 5900 queue-threshold 1`);
    t.ok(at > 0, `${tier}: completes`);
    t.equal(chain[at + 1], `ip saddr @d0v0_${tier} tcp dport 9000 delete @d0v0_${tier} { ip saddr } ${lives} return`);
    t.equal(chain[at + 3], `ip saddr @d0v0_${tier} delete @d0v0_${tier} { ip saddr } ${lives} return`, `${tier}: a wrong knock resets`);
  }
  const at = chain.indexOf('tcp dport 8000 counter name "events_all" limit name "events" log prefix "sesame 1 d0v0 s 2" group 5900 queue-threshold 1');
  t.same(chain.slice(at + 1), [
    'tcp dport 8000 update @d0v0_s2_4 { ip saddr timeout 5s } return',
    'tcp dport 8000 update @d0v0_s2_4_t1 { ip saddr timeout 5s } return',
    'tcp dport 8000 update @d0v0_s2_4_t2 { ip saddr timeout 1s } return',
    'counter name "events_all" limit name "events" log prefix "sesame 1 d0v0 r 1" group 5900 queue-threshold 1',
    `${lives} return`,
  ], 'stage 1: each tier of stage 2 in turn; every one full: the attempt resets');
  const four = check(t, spec('[d]\nsequence = 1,2,3,4\n', TIERS));
  t.match(four, /ip saddr @d0v0_s2_4_t1 tcp dport 3 update @d0v0_s3_4_t2 \{ ip saddr timeout 1s \} delete @d0v0_s2_4_t1 \{ ip saddr \} return/,
    'the new stage element first: a full tier leaves the source where it was');
});

t.test('overflow tiers: long sequences split the clearing (the kernel takes 4 KiB of expressions a rule)', async (t) => {
  const seq = Array.from({ length: 32 }, (_, i) => 1000 + i).join(',');
  const tiers = { overflow: [1, 2, 3, 4].map((i) => ({ size: 1000 * i, timeoutMs: 1000 * i })) };
  const s = check(t, spec(`[d]\nsequence = ${seq}\n`, tiers));
  t.equal((s.match(/set d0v0_s\d+_4(_t\d)? /g) ?? []).length, 150, '30 stages, 5 tiers each');
  const clears = s.split('\n').filter((l) => l.includes('ip daddr @local4 tcp dport 1000 delete @'));
  t.equal(clears.length, 10, '150 deletes in rules of at most 16');
  t.equal(clears.reduce((n, l) => n + (l.match(/delete @/g) ?? []).length, 0), 150);
});

t.test('overflow tiers: checked values', async (t) => {
  for (const bad of [0, -1, 1.5, NaN, 2 ** 31]) {
    t.throws(() => installScript(spec(BASE, { overflow: [{ size: bad, timeoutMs: 1000 }] })), /overflow set size/);
    t.throws(() => installScript(spec(BASE, { overflow: [{ size: 10, timeoutMs: bad }] })), /overflow timeout/);
  }
  t.throws(() => installScript(spec(BASE, { overflow: Array.from({ length: 5 }, () => ({ size: 10, timeoutMs: 10 })) })), /at most 4 overflow tiers/);
  t.throws(() => installScript(spec(SPA, { overflow: [{ size: 0, timeoutMs: 1 }] })), /overflow set size/, 'checked with no knock door too');
});

t.test('overflow tiers: an update removes every tier of a replaced door', async (t) => {
  const prev = spec(BASE + '[close]\nsequence = 9000,8000,7000\n', TIERS);
  const u = updateScript(prev, { ...prev, doors: [prev.doors[0]!] });
  for (const set of ['live4', 'live4_t1', 'live4_t2', 's2_4', 's2_4_t1', 's2_4_t2', 'live6_t2', 's2_6_t2']) {
    t.match(u, new RegExp(`delete set inet knock_sesame d1v0_${set}\\n`), set);
  }
  const next = { ...prev, doors: [prev.doors[0]!, { ...prev.doors[1]!, version: 1 }] };
  const r = canCheck && spawnSync('unshare', ['-n', 'sh', '-c', 'nft -f - && nft list table inet knock_sesame'],
    { input: installScript(prev) + updateScript(prev, next), encoding: 'utf8' });
  if (r) {
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /set d1v1_s2_6_t2 /);
    t.notMatch(r.stdout, /d1v0/, 'every tier of the old version gone');
  }
});

// The kernel itself: loopback knocks (bash's /dev/tcp: one SYN each) through a table whose tiers
// hold one source each, so the real nft_dynset shows what a full tier does.
t.test('overflow tiers in the kernel: a full tier passes the knock on, never stops it', { skip: !canCheck && 'needs root and nft' }, async (t) => {
  const s = spec(BASE, { interfaces: ['any'], local: ['127.0.0.1'], families: [4], setSize: 1, overflow: [{ size: 1, timeoutMs: 5000 }, { size: 1, timeoutMs: 5000 }] });
  const T = 'inet knock_sesame';
  const knock = (port: number) => `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}' 2>/dev/null;`;
  const sets = ['live4', 'live4_t1', 'live4_t2', 's2_4', 's2_4_t1', 's2_4_t2'];
  const show = `for s in ${sets.join(' ')}; do echo "$s: $(nft list set ${T} d0v0_$s | grep -o 'elements = {[^}]*}' | grep -o '[0-9.]*\\.[0-9]*' | tr '\\n' ' ')"; done; echo --;`;
  const run = (steps: string) => spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && nft -f - && ${steps}`], { input: installScript(s), encoding: 'utf8' });
  const fill = (set: string) => `nft add element ${T} d0v0_${set} '{ 192.0.2.9 }';`;
  const r = run(`${fill('live4')}${fill('s2_4')}${knock(7000)}${show}${knock(8000)}${show}${knock(9000)}${show}`);
  t.equal(r.status, 0, r.stderr);
  const [started, advanced, done] = r.stdout.split('--\n');
  t.match(started, /live4: 192\.0\.2\.9 \nlive4_t1: 127\.0\.0\.1 \nlive4_t2: \n/, 'first tier full: the attempt starts in the next');
  t.match(advanced, /live4_t1: 127\.0\.0\.1 \n[^]*s2_4: 192\.0\.2\.9 \ns2_4_t1: 127\.0\.0\.1 \ns2_4_t2: \n/, 'stage 2 likewise');
  t.match(done, /live4_t1: \n[^]*s2_4_t1: \ns2_4_t2: \n/, 'completed: gone from every tier');
  const full = run(`${['live4', 'live4_t1', 'live4_t2'].map(fill).join('')}${knock(7000)}${show}nft list counter ${T} unrecorded;`);
  t.notMatch(full.stdout, /127\.0\.0\.1/, 'every tier full: nothing recorded (the physical limit)');
  t.match(full.stdout, /packets 1 bytes/, 'and counted as unrecorded, for the daemon to say so');
  const wrong = run(`${fill('live4')}${knock(7000)}${knock(8000)}${knock(7000)}${show}`);
  t.notMatch(wrong.stdout, /127\.0\.0\.1/, 'a wrong knock ends the attempt in whatever tiers it is in');
});

t.test('bans (Max_Failures): sets with the bans in force, a return before any door, and elements added later', async (t) => {
  const none = installScript(spec(BASE));
  t.notMatch(none, /bans[46]/, 'no ban sets when no door bans');
  const s = spec(BASE, { bans: [{ src: '192.0.2.9', timeoutMs: 3_599_001 }, { src: '2001:db8:1:2::/64', timeoutMs: 10 }] });
  const script = check(t, s);
  t.match(script, /set bans4 \{ type ipv4_addr; flags timeout; size 65536; elements = \{ 192\.0\.2\.9 timeout 3600s \}; \}/);
  t.match(script, /set bans6 \{ type ipv6_addr; flags interval,timeout; size 65536; elements = \{ 2001:db8:1:2::\/64 timeout 1s \}; \}/);
  const visible = script.slice(script.indexOf('chain visible'));
  t.match(visible, /chain visible \{\n    ip saddr @bans4 return\n    ip6 saddr @bans6 return\n/, 'first in visible');
  const empty = check(t, spec(BASE, { bans: [] }));
  t.match(empty, /set bans4 \{ type ipv4_addr; flags timeout; size 65536; \}/);
  const add = banScript(s, [{ src: '198.51.100.7', timeoutMs: 60_000 }, { src: '2001:db8::/64', timeoutMs: 60_000 }]);
  t.equal(add, 'add element inet knock_sesame bans4 { 198.51.100.7 timeout 60s }\nadd element inet knock_sesame bans6 { 2001:db8::/64 timeout 60s }\n');
  t.equal(banScript(spec(BASE), [{ src: '198.51.100.7', timeoutMs: 1 }]), '', 'no sets: nothing to add to');
  for (const bad of ['10.0.0.1/24', '2001:db8::/48', 'x', '10.0.0.1; flush ruleset', '']) {
    t.throws(() => banScript(s, [{ src: bad, timeoutMs: 1000 }]), FirewallInputError, bad);
  }
  t.throws(() => banScript(s, [{ src: '10.0.0.1', timeoutMs: -5 }]), FirewallInputError);
  const u = updateScript(s, s);
  t.match(u, /add rule inet knock_sesame visible ip saddr @bans4 return\nadd rule inet knock_sesame visible ip6 saddr @bans6 return\n/, 'kept by updates');
  if (canCheck) {
    const r = spawnSync('unshare', ['-n', 'sh', '-c', 'nft -f - && nft list set inet knock_sesame bans6'], { input: script + u + add, encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /2001:db8::\/64 timeout 1m/);
  }
});
