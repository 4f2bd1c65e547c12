// DoorFirewall, the shell around the grant table, on the fake kernel (test/helpers/fake-firewall.ts):
// start-up, grants with their timeout, the watchdog's repairs (a deleted table, a flushed set, a
// swapped rule, grants added by hand, unreadable dumps; by counting without an inspector), SIGHUP,
// neighbours and refusals, grants of an earlier run. The same runs against nftables in test/e2e/firewall-*.

import { grantEffect } from '../../lib/engine/grant-plan.js';
import type { Door, KnockStep } from '../../lib/config/types.js';
import type { NatTarget } from '../../lib/firewall/nat-commands.js';
import t from 'tap';
import { parseConfig } from '../../lib/config/parser.js';
import { ConfigError } from '../../lib/config/errors.js';
import { DoorFirewall, needsFirewall, type GrantRecords } from '../../lib/daemon/door-firewall.js';
import type { GrantRecord } from '../../lib/daemon/state.js';
import { ERROR_CODES, isSesameError } from '../../lib/errors/errors.js';
import { ALLOW4, CHAIN, GUARDED } from '../../lib/firewall/commands.js';
import { FakeKernel, ManualClock } from '../helpers/fake-firewall.js';
import type { Firewalls } from '../../lib/firewall/contract.js';

/** The engine's resolution (grant-plan.ts), then the firewall's apply: as the daemon does. */
function grantVia(fw: DoorFirewall, who: string, d: Door, ip: string, timeout: number, ports?: readonly KnockStep[]): Promise<void> {
  const e = grantEffect({ knocker: who, door: d, ip, timeout, ...(ports ? { ports } : {}) });
  return e ? fw.apply(e.knocker, e.door, e.grants, e.done) : Promise.resolve();
}

function grantNatVia(fw: DoorFirewall, who: string, d: Door, ip: string, timeout: number, external: KnockStep, to: NatTarget): Promise<void> {
  const e = grantEffect({ knocker: who, door: d, ip, timeout, nat: { kind: to.kind, external, address: to.address, port: to.port } })!;
  return fw.apply(e.knocker, e.door, e.grants, e.done);
}

const SPA = `SPA_Key_Base64 = ${Buffer.alloc(32, 4).toString('base64')}\nSPA_HMAC_Key_Base64 = ${Buffer.alloc(64, 5).toString('base64')}\n`;
const conf = (text: string) => parseConfig(text, 'knockd.conf');
const SSH = conf('[ssh]\nSequence = 7000,8000\nOpen = tcp/22\n');
const WEB = conf('[ssh]\nSequence = 7000,8000\nOpen = tcp/22, tcp/80\n');
const NAT = conf(`[nat]\n${SPA}SPA_Forward = 10.0.0.0/24 tcp/3306\nSPA_SNAT = 10.0.0.1\nOpen = tcp/22\n`);

interface Setup {
  kernel: FakeKernel;
  clock: ManualClock;
  lines: string[];
  fw: DoorFirewall;
  store: MemoryStore;
}

class MemoryStore implements GrantRecords {
  saved: readonly GrantRecord[] = [];
  flushes = 0;
  constructor(private readonly records?: GrantRecord[]) {}
  load() { return this.records; }
  save(records: readonly GrantRecord[]) { this.saved = records; }
  flush() { this.flushes++; }
}

async function setup(config = SSH, o: { kernel?: FakeKernel; inspector?: boolean; interfaces?: string[]; store?: MemoryStore; table?: string } = {}): Promise<Setup> {
  const kernel = o.kernel ?? new FakeKernel();
  const lines: string[] = [];
  const store = o.store ?? new MemoryStore();
  const firewalls = o.inspector === false ? kernel.firewallsWithoutInspector() : kernel.firewalls();
  const clock = kernel.clock;
  const fw = await DoorFirewall.start(config, {
    firewalls, table: o.table ?? 'sesame', log: (l) => lines.push(l), interfaces: o.interfaces ?? ['any'], store,
    clock: { mono: clock.now, wall: () => clock.now() + 1_700_000_000_000 },
  });
  if (!fw) throw new Error('no firewall');
  t.teardown(() => fw.stop());
  return { kernel, clock, lines, fw, store };
}

const door = (config = SSH) => config.doors[0]!;
const tail = (lines: string[], n = 1) => lines.slice(-n);

t.test('no door with Open or NAT: no table, nothing opened', async (t) => {
  const kernel = new FakeKernel();
  const config = conf('[a]\nSequence = 7000\nCommand = /bin/true\n');
  t.notOk(needsFirewall(config));
  t.equal(await DoorFirewall.start(config, { firewalls: kernel.firewalls(), table: 'sesame', log: () => {} }), undefined);
  t.equal(kernel.opened, 0);
  t.equal(kernel.tables.size, 0);
});

t.test('start installs the table and guards the Open ports', async (t) => {
  const { kernel, lines } = await setup(WEB, { interfaces: ['eth0'] });
  t.ok(needsFirewall(WEB));
  t.equal(kernel.opened, 1, 'one backend');
  t.same(kernel.elements('sesame', GUARDED).sort(), ['tcp/22', 'tcp/80']);
  t.same(kernel.elements('sesame', 'ifaces'), ['eth0']);
  t.same(lines, ['firewall: using the fake kernel', 'firewall: table inet sesame guards tcp/22, tcp/80 on eth0']);
});

t.test('a refused install is a ConfigError naming the Open line, with nft\'s reason', async (t) => {
  const kernel = new FakeKernel();
  kernel.failNext('EPERM');
  const err = await DoorFirewall.start(SSH, { firewalls: kernel.firewalls(), table: 'sesame', log: () => {} }).catch((e: unknown) => e);
  t.type(err, ConfigError);
  t.equal((err as Error).message, 'config: line 3: Open needs nftables, which failed: Error: Could not process rule: Operation not permitted');
  const nat = new FakeKernel();
  nat.failNext('EPERM');
  const natErr = await DoorFirewall.start(conf(`[nat]\n${SPA}SPA_Forward = 10.0.0.0/24 tcp/3306\n`), { firewalls: nat.firewalls(), table: 'sesame', log: () => {} }).catch((e: unknown) => e);
  t.match((natErr as Error).message, /^config: line 1: SPA NAT needs nftables, which failed/);
});

t.test('a port another instance guards on the same interface is refused at start', async (t) => {
  const kernel = new FakeKernel();
  await kernel.install('sesame_b', { guards: [{ protocol: 'tcp', port: 22 }], nat: undefined, interfaces: ['eth0'], yielded: [] });
  const err = await setup(SSH, { kernel, interfaces: ['eth0'] }).catch((e: unknown) => e);
  t.ok(isSesameError(err, ERROR_CODES.instanceInUse));
  t.match((err as Error).message, /tcp\/22 on interface eth0 is already guarded by table inet sesame_b, of a knockd --instance b that no longer runs/);
  t.equal(kernel.opened, 0, 'refused before the firewall is opened');
});

t.test('instances on other interfaces leave each other their ports', async (t) => {
  const kernel = new FakeKernel();
  await kernel.install('sesame_b', { guards: [{ protocol: 'tcp', port: 22 }], nat: undefined, interfaces: ['eth1'], yielded: [] });
  const { lines } = await setup(SSH, { kernel, interfaces: ['eth0'] });
  t.same(kernel.tables.get('sesame')!.yielded, [{ iface: 'eth1', protocol: 'tcp', port: 22 }]);
  t.match(tail(lines)[0], /guards tcp\/22 on eth0 \(leaving tcp\/22 on eth1 to other instances\)/);
});

t.test('grants go in with their timeout and expire on the kernel\'s clock', async (t) => {
  const { kernel, clock, lines, fw, store } = await setup(WEB);
  await grantVia(fw, '1.2.3.4', door(WEB), '1.2.3.4', 30);
  t.same(kernel.secondsLeft('sesame', { address: '1.2.3.4', protocol: 'tcp', port: 22, timeout: 30 }), [30]);
  t.same(kernel.secondsLeft('sesame', { address: '1.2.3.4', protocol: 'tcp', port: 80, timeout: 30 }), [30]);
  t.equal(tail(lines)[0], '1.2.3.4: ssh: firewall: granted 1.2.3.4 tcp/22,tcp/80 for 30s');
  t.equal(store.saved.length, 2, 'recorded for a restart');
  await grantVia(fw, 'u', door(WEB), 'fd00::9', 0, [{ protocol: 'tcp', port: 80 }, { protocol: 'tcp', port: 443 }]);
  t.same(kernel.elements('sesame', 'allow6'), ['fd00::9 . tcp . 80'], 'only the requested Open port, at least 1 s');
  t.equal(tail(lines)[0], 'u: ssh: firewall: granted fd00::9 tcp/80 for 1s');
  const before = lines.length;
  await grantVia(fw, 'u', door(WEB), '1.2.3.5', 30, [{ protocol: 'udp', port: 53 }]);
  t.equal(lines.length, before, 'no Open port asked for: nothing granted, nothing logged');
  clock.advance(31);
  t.same(kernel.elements('sesame', ALLOW4), [], 'the kernel expired them');
  await grantVia(fw, 'x', door(WEB), 'not-an-ip', 10);
  t.match(tail(lines)[0], /^x: ssh: firewall: grant failed: not an IP address/);
  await fw.idle();
});

t.test('a NAT grant carries the door\'s SNAT', async (t) => {
  const { kernel, lines, fw } = await setup(NAT);
  t.match(lines.join('\n'), /guards tcp\/22, with SPA NAT/);
  await grantNatVia(fw, 'c', door(NAT), '1.2.3.4', 20, { protocol: 'tcp', port: 3306 }, { kind: 'forward', address: '10.0.0.5', port: 3306 });
  t.same(kernel.elements('sesame', 'snat4'), ['1.2.3.4 . 10.0.0.5 . tcp . 3306 : 10.0.0.1']);
  t.equal(tail(lines)[0], 'c: nat: firewall: forwarded 1.2.3.4 tcp/3306 to 10.0.0.5:3306 for 20s');
  await grantNatVia(fw, 'c', door(NAT), '1.2.3.4', 20, { protocol: 'tcp', port: 2222 }, { kind: 'local', address: '10.0.0.1', port: 22 });
  t.equal(tail(lines)[0], 'c: nat: firewall: forwarded 1.2.3.4 tcp/2222 to local port 22 for 20s');
});

t.test('watchdog: a deleted table comes back whole, with the live grants for the time they have left', async (t) => {
  const { kernel, clock, lines, fw } = await setup();
  await grantVia(fw, 'k', door(), '1.2.3.4', 60);
  await fw.check();
  t.equal(tail(lines)[0], 'k: ssh: firewall: granted 1.2.3.4 tcp/22 for 60s', 'an intact table: nothing to do');
  clock.advance(20);
  kernel.deleteTable('sesame');
  await fw.check();
  t.equal(tail(lines)[0], 'firewall: table inet sesame was removed (nft flush ruleset?); restored the guard of tcp/22 and 1 live grant');
  t.same(kernel.secondsLeft('sesame', { address: '1.2.3.4', protocol: 'tcp', port: 22, timeout: 1 }), [40]);
  t.same(kernel.elements('sesame', GUARDED), ['tcp/22']);
});

t.test('watchdog: a flushed grant set gets its grants back; grants added by hand go', async (t) => {
  const { kernel, lines, fw } = await setup();
  await grantVia(fw, 'k', door(), '1.2.3.4', 60);
  kernel.flushSet('sesame', ALLOW4);
  await fw.check();
  t.equal(tail(lines)[0], 'firewall: table inet sesame had lost 1 live grant (nft flush set?); restored it');
  t.same(kernel.elements('sesame', ALLOW4), ['1.2.3.4 . tcp . 22']);
  kernel.addElement('sesame', ALLOW4, '6.6.6.6 . tcp . 22', 3600);
  await fw.check();
  t.equal(tail(lines)[0], 'firewall: table inet sesame held 1 grant Sesame did not make (a saved ruleset reloaded?); removed it: 6.6.6.6 . tcp . 22');
  t.same(kernel.elements('sesame', ALLOW4), ['1.2.3.4 . tcp . 22']);
  kernel.addElement('sesame', ALLOW4, '6.6.6.6 . tcp . 0', 3600);
  await fw.check();
  await fw.check();
  t.equal(lines.filter((l) => l.includes('no grant has')).length, 1, 'an element that cannot be written is logged once');
  t.match(tail(lines)[0], /holds 1 element no grant has \(left alone: allow4 6\.6\.6\.6 \. tcp \. 0\)/);
});

t.test('watchdog: a swapped rule or a changed guard is a different table: replaced', async (t) => {
  const { kernel, lines, fw } = await setup();
  await grantVia(fw, 'k', door(), '1.2.3.4', 60);
  kernel.swapRule('sesame', 3);
  await fw.check();
  t.equal(tail(lines)[0], 'firewall: table inet sesame differed from what Sesame installed (rules input changed; a saved ruleset reloaded?); ' +
    'restored the guard of tcp/22 and 1 live grant');
  t.equal(kernel.tables.get('sesame')!.chains.get(CHAIN)![3], '@guarded iifname != @yielded drop');
  kernel.addElement('sesame', GUARDED, 'tcp/23');
  await fw.check();
  t.match(tail(lines)[0], /differed from what Sesame installed \(elements guarded changed;/);
});

t.test('watchdog: a dump that fails once is retried; twice, the table is replaced', async (t) => {
  const { kernel, lines, fw } = await setup();
  const n = lines.length;
  kernel.failReads(1);
  await fw.check();
  t.equal(lines.length, n, 'once may be a busy ruleset');
  kernel.failReads(2);
  await fw.check();
  await fw.check();
  t.equal(tail(lines)[0], 'firewall: table inet sesame could not be read (dump: interrupted three times by ruleset changes); restored the guard of tcp/22 and 0 live grants');
});

t.test('watchdog: a restore that fails is logged once and retried', async (t) => {
  const { kernel, lines, fw } = await setup();
  kernel.deleteTable('sesame');
  kernel.failNext('EPERM');
  await fw.check();
  t.equal(tail(lines)[0], 'firewall: cannot check or restore table inet sesame: Error: Could not process rule: Operation not permitted; retrying every second');
  await fw.check();
  t.same(tail(lines, 2), ['firewall: table inet sesame was removed (nft flush ruleset?); restored the guard of tcp/22 and 0 live grants',
    'firewall: table inet sesame is checked and restored again']);
});

t.test('watchdog without an inspector (no nftables-napi): counts the rules and ports', async (t) => {
  const { kernel, lines, fw } = await setup(NAT, { inspector: false });
  await grantVia(fw, 'k', door(NAT), '1.2.3.4', 60);
  kernel.flushChain('sesame');
  await fw.check();
  t.equal(tail(lines)[0], 'firewall: table inet sesame was removed or changed (nft flush ruleset?); restored the guard of tcp/22 and 1 live grant');
  kernel.flushChain('sesame', 'forward');
  await fw.check();
  t.match(tail(lines)[0], /was removed or changed/);
  const n = lines.length;
  await fw.check();
  t.equal(lines.length, n, 'intact');
  t.equal(fw.refusal(WEB), undefined, 'no neighbours can be read: nothing refused');
});

t.test('a grant into a vanished table restores it (ENOENT) and goes in', async (t) => {
  const { kernel, lines, fw } = await setup();
  await grantVia(fw, 'a', door(), '1.2.3.4', 60);
  kernel.deleteTable('sesame');
  await grantVia(fw, 'b', door(), '1.2.3.5', 60);
  t.same(kernel.elements('sesame', ALLOW4).sort(), ['1.2.3.4 . tcp . 22', '1.2.3.5 . tcp . 22']);
  t.same(tail(lines, 2), ['firewall: table inet sesame was removed (nft flush ruleset?); restored the guard of tcp/22 and 1 live grant',
    'b: ssh: firewall: granted 1.2.3.5 tcp/22 for 60s']);
  kernel.failNext('EPERM');
  await grantVia(fw, 'c', door(), '1.2.3.6', 60);
  t.equal(tail(lines)[0], 'c: ssh: firewall: grant failed: Error: Could not process rule: Operation not permitted', 'other errors are not restored');
});

t.test('SIGHUP replaces the table with the new guard; grants stay', async (t) => {
  const { kernel, fw, lines } = await setup();
  await grantVia(fw, 'a', door(), '1.2.3.4', 60);
  await fw.reload(WEB);
  t.same(kernel.elements('sesame', GUARDED).sort(), ['tcp/22', 'tcp/80']);
  t.same(kernel.elements('sesame', ALLOW4), ['1.2.3.4 . tcp . 22']);
  const n = lines.length;
  await fw.check();
  t.equal(lines.length, n, 'the new table is what the watchdog compares with');
  await grantVia(fw, 'a', door(NAT), '1.2.3.4', 60);
  await grantNatVia(fw, 'c', door(NAT), '1.2.3.4', 20, { protocol: 'tcp', port: 3306 }, { kind: 'forward', address: '10.0.0.5', port: 3306 });
  t.match(tail(lines)[0], /grant failed: .*No such file or directory/, 'no NAT maps in a table without NAT');
});

t.test('a SIGHUP whose replace fails is replaced by the watchdog', async (t) => {
  const { kernel, fw, lines } = await setup();
  kernel.failNext('EPERM');
  await t.rejects(fw.reload(WEB), { name: 'NftError', errno: 'EPERM' });
  await fw.check();
  t.equal(tail(lines)[0], 'firewall: table inet sesame was not replaced by the last SIGHUP (it failed); restored the guard of tcp/22, tcp/80 and 0 live grants');
  t.same(kernel.elements('sesame', GUARDED).sort(), ['tcp/22', 'tcp/80']);
});

t.test('a SIGHUP to a config whose port another instance guards here is refused', async (t) => {
  const kernel = new FakeKernel();
  await kernel.install('sesame_b', { guards: [{ protocol: 'tcp', port: 80 }], nat: undefined, interfaces: [], yielded: [] });
  const { fw } = await setup(SSH, { kernel });
  t.match(fw.refusal(WEB), /tcp\/80 on every interface is already guarded by table inet sesame_b.*; keeping the running configuration$/);
  t.equal(fw.refusal(SSH), undefined);
});

t.test('a neighbour that goes takes back what it was left; the table follows', async (t) => {
  const kernel = new FakeKernel();
  await kernel.install('sesame_b', { guards: [{ protocol: 'tcp', port: 22 }], nat: undefined, interfaces: ['eth1'], yielded: [] });
  const { fw, lines } = await setup(SSH, { kernel, interfaces: ['eth0'] });
  kernel.deleteTable('sesame_b');
  await fw.check();
  t.equal(tail(lines)[0], 'firewall: table inet sesame now leaves no port to other instances');
  t.same(kernel.tables.get('sesame')!.yielded, []);
});

t.test('grants of an earlier run: kept for their recorded time when the kernel still holds them', async (t) => {
  const kernel = new FakeKernel();
  const clock = kernel.clock;
  const wall = clock.now() + 1_700_000_000_000;
  await kernel.install('sesame', { guards: [{ protocol: 'tcp', port: 22 }], nat: undefined, interfaces: [], yielded: [] },
    [{ address: '1.2.3.4', protocol: 'tcp', port: 22, timeout: 100 }, { address: '6.6.6.6', protocol: 'tcp', port: 22, timeout: 100 }]);
  const store = new MemoryStore([
    { grant: { address: '1.2.3.4', protocol: 'tcp', port: 22, timeout: 100 }, until: wall + 50_000 },
    { grant: { address: '1.2.3.9', protocol: 'tcp', port: 22, timeout: 100 }, until: wall + 50_000 },
  ]);
  const { lines } = await setup(SSH, { kernel, store });
  t.match(lines.join('\n'), /firewall: kept 1 live grant of an earlier run; dropped 1 grant this instance did not make/);
  t.same(kernel.elements('sesame', ALLOW4), ['1.2.3.4 . tcp . 22']);
  t.same(kernel.secondsLeft('sesame', { address: '1.2.3.4', protocol: 'tcp', port: 22, timeout: 1 }), [50]);
});

t.test('grants of an earlier run without a grants file: the kernel\'s stay', async (t) => {
  const kernel = new FakeKernel();
  await kernel.install('sesame', { guards: [{ protocol: 'tcp', port: 22 }], nat: undefined, interfaces: [], yielded: [] },
    [{ address: '1.2.3.4', protocol: 'tcp', port: 22, timeout: 100 }]);
  const { lines } = await setup(SSH, { kernel, inspector: false });
  t.match(lines.join('\n'), /firewall: kept 1 live grant of an earlier run\n/);
  t.same(kernel.elements('sesame', ALLOW4), ['1.2.3.4 . tcp . 22']);
});

t.test('stop and idle write the grants file; the table stays', async (t) => {
  const { kernel, fw, store } = await setup();
  void grantVia(fw, 'a', door(), '1.2.3.4', 60);
  await fw.idle();
  fw.stop();
  t.ok(store.flushes >= 2);
  t.ok(kernel.tables.has('sesame'), 'the kernel expires the grants');
});

t.test('the fake refuses what nftables refuses', async (t) => {
  const kernel = new FakeKernel();
  const fws: Firewalls = kernel.firewalls();
  const fw = await fws.open('sesame', () => {});
  await t.rejects(fw.grant([{ address: '1.2.3.4', protocol: 'tcp', port: 22, timeout: 5 }]), { name: 'NftError', errno: 'ENOENT' });
  await t.rejects(fw.install({ guards: [{ protocol: 'tcp', port: 0 }], nat: undefined, interfaces: [], yielded: [] }, []), { name: 'FirewallInputError' });
  t.same(await fw.list(), [], 'no table: no grants');
  t.same(await fw.listNat(), []);
  t.notOk(await fw.intact({ guards: [], nat: undefined, interfaces: [], yielded: [] }));
  await fw.flush();
  await fw.install({ guards: [{ protocol: 'tcp', port: 22 }], nat: undefined, interfaces: [], yielded: [] }, [{ address: '1.2.3.4', protocol: 'tcp', port: 22, timeout: 5 }]);
  kernel.clock.advance(2);
  t.same(await fw.list(), [{ address: '1.2.3.4', protocol: 'tcp', port: 22, timeout: 5, expires: 3 }]);
  await t.rejects(fws.open('bad name', () => {}), { name: 'FirewallInputError' });
  const backend = await fws.backend();
  t.equal(await backend.run('add table inet knock_sesame\n'), '');
  t.equal(kernel.batches.at(-1), 'add table inet knock_sesame\n');
});
