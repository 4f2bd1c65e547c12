// KernelMatching, the shell of kernel matching, on the fake kernel (test/helpers/fake-firewall.ts)
// with a fake NFLOG group and watchdog timer (test/helpers/fake-nflog.ts): start-up and refusals,
// events judged by the engine of the table that sent them (an old or stale generation by none),
// SIGHUP and in-place refreshes, the watchdog's repairs and its backoff, the counters' reports.
// The same runs against nftables in test/e2e/kernel-matching.test.ts.

import t from 'tap';
import { parseConfig } from '../../lib/config/parser.js';
import { Engine } from '../../lib/engine/engine.js';
import { KERNEL_MAX_DOORS, KernelMatching, kernelRefusal, type KernelMatchingOptions } from '../../lib/daemon/kernel-matching.js';
import { EVENT_COUNTER, UNRECORDED_COUNTER } from '../../lib/ruleset/compile.js';
import type { KernelEvent } from '../../lib/ruleset/events.js';
import type { Packet } from '../../lib/matcher/types.js';
import { ERROR_CODES, isSesameError } from '../../lib/errors/errors.js';
import { FakeKernel } from '../helpers/fake-firewall.js';
import { FakeNflog, FakeScheduler } from '../helpers/fake-nflog.js';

const TABLE = 'knock_sesame';
const CONF = '[ssh]\nSequence = 7000,8000,9000\nSeq_Timeout = 5\nCommand = /bin/true\n';
const OTHER = '[web]\nSequence = 6000,6001\nSeq_Timeout = 5\nCommand = /bin/true\n';
const SPA = `[spa]\nSPA_Key_Base64 = ${Buffer.alloc(32, 4).toString('base64')}\nSPA_HMAC_Key_Base64 = ${Buffer.alloc(64, 5).toString('base64')}\n` +
  'SPA_Open_Ports = tcp/22\nCommand = /bin/true\n';
const PKT: Packet = { src: '10.77.0.2', dst: '10.77.0.1', family: 4, protocol: 'tcp', dport: 7000, tcpFlags: 2 };

const engineOf = (text: string) => new Engine(parseConfig(text, 'k.conf'), { localAddresses: ['10.77.0.1'], maxAttempts: 100, onlyIPv4: false,
  matching: 'kernel' }, { display: (ip) => ip, persistReplay: () => true });

interface Setup {
  kernel: FakeKernel;
  nflog: FakeNflog;
  scheduler: FakeScheduler;
  km: KernelMatching;
  lines: string[];
  events: Array<{ engine: Engine; e: KernelEvent }>;
  unheard: number[];
  engine: Engine;
}

async function setup(text = CONF, o: { kernel?: FakeKernel; nflog?: FakeNflog; inspector?: boolean } = {}): Promise<Setup> {
  const kernel = o.kernel ?? new FakeKernel();
  const nflog = o.nflog ?? new FakeNflog();
  const scheduler = new FakeScheduler();
  const lines: string[] = [];
  const events: Setup['events'] = [];
  const unheard: number[] = [];
  const engine = engineOf(text);
  const km = await KernelMatching.start(engine, options(kernel, nflog, scheduler, lines, events, unheard, o.inspector));
  t.teardown(() => km.stop());
  return { kernel, nflog, scheduler, km, lines, events, unheard, engine };
}

function options(kernel: FakeKernel, nflog: FakeNflog, scheduler: FakeScheduler, lines: string[], events: Setup['events'], unheard: number[],
  inspector = true): KernelMatchingOptions {
  return {
    firewalls: inspector ? kernel.firewalls() : kernel.firewallsWithoutInspector(), table: TABLE, group: 5900, interfaces: ['eth0'],
    onlyIPv4: false, log: (l) => lines.push(l), unheard: (n) => unheard.push(n), event: (engine, e) => events.push({ engine, e }),
    nflog: nflog.open, scheduler,
  };
}

/** The generation the installed table's rules log with. */
function generation(kernel: FakeKernel): number {
  const m = /"sesame (\d+) d0v0 /.exec(kernel.scripted.get(TABLE)?.text ?? '');
  if (!m) throw new Error('no table installed');
  return Number(m[1]);
}

const stage = (gen: number, n = 1) => `sesame ${gen} d0v0 s ${n}`;

t.test('refusals: too many knock doors, or knocks shared across a fleet', async (t) => {
  const many = Array.from({ length: KERNEL_MAX_DOORS + 1 }, (_, i) => `[d${i}]\nSequence = ${1000 + i}\nCommand = /bin/true\n`).join('');
  t.equal(kernelRefusal(parseConfig(many, 'k.conf')), `${KERNEL_MAX_DOORS + 1} knock doors, more than the 256 kernel matching compiles`);
  t.equal(kernelRefusal(parseConfig(CONF, 'k.conf')), undefined);
  const kernel = new FakeKernel();
  const err = await KernelMatching.start(engineOf(many), options(kernel, new FakeNflog(), new FakeScheduler(), [], [], [])).catch((e: unknown) => e);
  t.ok(isSesameError(err, ERROR_CODES.start));
  t.equal(kernel.opened, 0, 'refused before anything is opened');
});

t.test('start: the NFLOG group opens first, then the table goes in; the watchdog runs', async (t) => {
  const { kernel, nflog, scheduler, lines } = await setup();
  t.equal(nflog.group, 5900);
  t.ok(kernel.scripted.has(TABLE));
  t.match(kernel.scripted.get(TABLE)!.text, /"eth0"/);
  t.equal(scheduler.running, 1);
  t.same(lines, []);
});

t.test('a failed install closes the group and says why', async (t) => {
  const kernel = new FakeKernel();
  const nflog = new FakeNflog();
  kernel.failNext('EPERM');
  await t.rejects(KernelMatching.start(engineOf(CONF), options(kernel, nflog, new FakeScheduler(), [], [], [])), { name: 'NftError', errno: 'EPERM' });
  t.ok(nflog.closed);
  const refused = new FakeNflog();
  refused.failOpen = 'nflog:5900: Operation not permitted';
  await t.rejects(KernelMatching.start(engineOf(CONF), options(kernel, refused, new FakeScheduler(), [], [], [])), /Operation not permitted/);
  t.notOk(kernel.scripted.has(TABLE), 'no table without its events');
});

t.test('events go to the engine of the table that sent them; others\' and junk are ignored', async (t) => {
  const { kernel, nflog, events, engine } = await setup();
  const gen = generation(kernel);
  nflog.frame(stage(gen), PKT);
  t.equal(events.length, 1);
  t.equal(events[0]!.engine, engine);
  t.same(events[0]!.e, { generation: gen, kind: 'stage', door: { index: 0, version: 0 }, stage: 1 });
  nflog.frame(stage(gen - 1), PKT);
  nflog.frame('sesame x d0v0 s 1', PKT);
  nflog.frame('another table\'s prefix', PKT);
  nflog.frame(stage(gen), 'not-ip');
  t.equal(events.length, 1, 'an old generation, a bad prefix, a frame that is no packet: nothing');
});

t.test('SPA datagrams go to the running engine, whichever table passed them on', async (t) => {
  const { kernel, nflog, events, km } = await setup(SPA);
  const next = engineOf(SPA);
  await km.reload(next);
  nflog.frame('sesame 1 - spa 0', { ...PKT, protocol: 'udp', dport: 62201 });
  t.equal(events.length, 1);
  t.equal(events[0]!.engine, next);
});

t.test('SIGHUP: the old table\'s events count for nothing from the signal on; the new table\'s for the new engine', async (t) => {
  const { kernel, nflog, events, km } = await setup();
  const old = generation(kernel);
  const next = engineOf(CONF + OTHER);
  const reloaded = km.reload(next);
  nflog.frame(stage(old), PKT);
  t.equal(events.length, 0, 'revoked at once');
  await reloaded;
  const gen = generation(kernel);
  t.equal(gen, old + 1);
  nflog.frame(stage(old), PKT);
  nflog.frame(stage(gen), PKT);
  t.same(events.map((x) => [x.engine === next, x.e.generation]), [[true, gen]]);
});

t.test('a SIGHUP whose install fails: logged; the watchdog installs the running config\'s table', async (t) => {
  const { kernel, km, lines, nflog, events } = await setup();
  const old = generation(kernel);
  kernel.failNext('EPERM');
  await km.reload(engineOf(CONF + OTHER));
  t.same(lines, ['kernel matching: ruleset update failed: Error: Could not process rule: Operation not permitted']);
  nflog.frame(stage(old), PKT);
  t.equal(events.length, 0, 'the old table judges nothing');
  await km.check();
  t.equal(lines.at(-1), 'kernel matching: table inet knock_sesame is not the running configuration\'s (its install failed); ' +
    'replaced it (knocks in progress were lost)');
  t.match(kernel.scripted.get(TABLE)!.text, /d1v0/, 'the new config\'s doors');
});

t.test('refresh: an update in place keeps the generation and attempts; the watchdog takes the updated table', async (t) => {
  const { kernel, km, lines, nflog, events, engine } = await setup();
  const gen = generation(kernel);
  const batches = kernel.batches.length;
  await km.refresh(engine);
  t.equal(kernel.batches.length, batches + 1);
  t.match(kernel.batches.at(-1)!, /^flush chain inet knock_sesame knock\n/);
  nflog.frame(stage(gen), PKT);
  t.equal(events.length, 1, 'the same generation still counts');
  await km.check();
  t.same(lines, [], 'the updated table is the baseline');
  await km.refresh(engineOf(OTHER));
  t.equal(generation(kernel), gen + 1, 'another engine: installed whole');
});

t.test('watchdog: a removed table is replaced once with a new generation; the old one\'s events open nothing', async (t) => {
  const { kernel, km, lines, nflog, events } = await setup();
  const old = generation(kernel);
  await km.check();
  t.same(lines, [], 'intact');
  kernel.deleteTable(TABLE);
  await km.check();
  await km.check();
  t.same(lines, ['kernel matching: table inet knock_sesame was removed (nft flush ruleset?); replaced it (knocks in progress were lost)']);
  t.equal(generation(kernel), old + 1);
  nflog.frame(stage(old), PKT);
  t.equal(events.length, 0);
  nflog.frame(stage(old + 1), PKT);
  t.equal(events.length, 1);
});

t.test('watchdog: a changed or unreadable table is replaced at once', async (t) => {
  const { kernel, km, lines } = await setup();
  kernel.alterScript(TABLE);
  await km.check();
  t.equal(lines.at(-1), 'kernel matching: table inet knock_sesame differed from what Sesame installed (script changed; ' +
    'a saved ruleset reloaded?); replaced it (knocks in progress were lost)');
  kernel.failReads(1);
  await km.check();
  t.equal(lines.at(-1), 'kernel matching: table inet knock_sesame could not be read (dump: interrupted three times by ruleset changes); ' +
    'replaced it (knocks in progress were lost)');
  t.equal(lines.length, 2);
});

t.test('watchdog without an inspector: the event counter says whether the table is there', async (t) => {
  const { kernel, km, lines } = await setup(CONF, { inspector: false });
  kernel.alterScript(TABLE);
  await km.check();
  t.same(lines, [], 'a change cannot be seen by counting');
  kernel.deleteTable(TABLE);
  await km.check();
  t.match(lines.at(-1), /was removed \(nft flush ruleset\?\); replaced it/);
});

t.test('watchdog: a failing install is logged once and retried less often (1, 2, 4 ... 60 s); the next replace is logged', async (t) => {
  const { kernel, km, lines, scheduler } = await setup();
  kernel.deleteTable(TABLE);
  for (let i = 0; i < 50; i++) kernel.failNext('EPERM');
  const attempts: number[] = [];
  const batches = kernel.batches.length;
  for (let sec = 1; sec <= 250; sec++) {
    scheduler.advance(1000);
    await km.check();
    // A failed install leaves neither a batch nor a table: the failures it took count the attempts.
    if (kernel.pendingFailures() !== 50 - attempts.length) attempts.push(sec);
  }
  t.same([kernel.batches.length, kernel.scripted.has(TABLE)], [batches, false], 'nothing went in');
  const gaps = attempts.slice(1).map((a, i) => a - attempts[i]!);
  t.same(gaps, [1, 2, 4, 8, 16, 32, 60, 60, 60], `attempts at ${attempts.join(', ')} s`);
  t.same(lines, ['kernel matching: cannot restore table inet knock_sesame: Error: Could not process rule: Operation not permitted; ' +
    'retrying, less often while it fails (at most every minute)']);
  kernel.clearFailures();
  for (let sec = 0; sec <= 60 && lines.length === 1; sec++) { scheduler.advance(1000); await km.check(); }
  t.same(lines.slice(1), ['kernel matching: table inet knock_sesame was removed (nft flush ruleset?); replaced it (knocks in progress were lost)']);
  t.ok(kernel.scripted.has(TABLE));
});

t.test('watchdog: a table put back by a SIGHUP while the install failed is "checked and restored again"', async (t) => {
  const { kernel, km, lines, scheduler } = await setup();
  kernel.deleteTable(TABLE);
  kernel.failNext('EPERM');
  await km.check();
  t.equal(lines.length, 1);
  await km.reload(engineOf(CONF));
  scheduler.advance(1000);
  await km.check();
  t.same(lines.slice(1), ['kernel matching: table inet knock_sesame is checked and restored again']);
});

t.test('the counters: kernel-limited events are reported as unheard; unrecorded first knocks logged per doubling', async (t) => {
  const { kernel, km, lines, nflog, unheard } = await setup();
  const gen = generation(kernel);
  kernel.count(TABLE, EVENT_COUNTER, 5);
  nflog.frame(stage(gen), PKT);
  nflog.frame(stage(gen, 2), PKT);
  await km.check();
  t.same(unheard, [3], 'counted 5, heard 2');
  await km.check();
  t.same(unheard, [3], 'reported once');
  kernel.count(TABLE, EVENT_COUNTER, 1);
  await km.check();
  t.same(unheard, [3, 1]);
  kernel.count(TABLE, UNRECORDED_COUNTER, 10);
  await km.check();
  t.equal(lines.at(-1), 'kernel matching: 10 first knocks could not be recorded so far: every overflow tier was full ' +
    '(more new sources a second than the tiers take; see knockd(1), kernel matching)');
  kernel.count(TABLE, UNRECORDED_COUNTER, 5);
  await km.check();
  t.equal(lines.length, 1, '15 is not a doubling of 10');
  kernel.count(TABLE, UNRECORDED_COUNTER, 10);
  await km.check();
  t.match(lines.at(-1), /^kernel matching: 25 first knocks/);
  kernel.deleteTable(TABLE);
  await km.check();
  t.same(unheard, [3, 1], 'a new table counts from zero');
});

t.test('lost events: the daemon behind or the kernel\'s buffer full, logged per doubling', async (t) => {
  const { km, lines, nflog } = await setup();
  nflog.lose(4);
  t.same(lines, ['kernel matching: 4 NFLOG events lost so far (latest: daemon behind)']);
  nflog.lose(1);
  t.equal(lines.length, 1);
  nflog.drops = 4;
  await km.check();
  t.equal(lines.at(-1), 'kernel matching: 9 NFLOG events lost so far (latest: receive buffer full)');
});

t.test('stop: the watchdog ends, the group closes, the table goes', async (t) => {
  const { kernel, km, nflog, scheduler } = await setup();
  await km.stop();
  t.equal(scheduler.running, 0);
  t.ok(nflog.closed);
  t.notOk(kernel.scripted.has(TABLE));
  const again = await setup();
  again.kernel.failNext('ENOENT');
  await again.km.stop();
  t.pass('a table that cannot be removed (already gone) is no error');
});

t.test('bans: ban sets only with a ban policy, the bans in force at install, new ones added in one script, a failure said once per doubling', async (t) => {
  const plain = await setup();
  await plain.km.ban([{ src: '192.0.2.9', door: 'ssh', until: Date.now() + 60_000, failures: 3 }]);
  t.notMatch(plain.kernel.scripted.get(TABLE)!.text, /bans4/, 'no ban policy: no sets, nothing added');
  const policy = '[ssh]\nSequence = 7000,8000,9000\nMax_Failures = 2\nCommand = /bin/true\n';
  const { kernel, km, lines } = await setup(policy);
  t.match(kernel.scripted.get(TABLE)!.text, /set bans4 \{ type ipv4_addr; flags timeout; size 131072; \}/);
  const before = kernel.batches.length;
  await km.ban([{ src: '192.0.2.9', door: 'ssh', until: Date.now() + 60_000, failures: 2 },
    { src: '2001:db8:1::/64', door: 'ssh', until: Date.now() + 30_000, failures: 2 }]);
  t.equal(kernel.batches.length, before + 1, 'one script');
  t.match(kernel.batches.at(-1), /^add element inet knock_sesame bans4 \{ 192\.0\.2\.9 timeout (59|60)s \}\nadd element inet knock_sesame bans6 \{ 2001:db8:1::\/64 timeout (29|30)s \}\n$/);
  await km.ban([{ src: '192.0.2.10', door: 'ssh', until: Date.now() - 1, failures: 2 }]);
  t.equal(kernel.batches.length, before + 1, 'an ended ban is not added');
  kernel.failNext('ENOSPC', 'Error: Could not process rule: No space left on device');
  await km.ban([{ src: '192.0.2.11', door: 'ssh', until: Date.now() + 60_000, failures: 2 }]);
  t.match(lines.at(-1), /^kernel matching: 1 bans could not be put in the kernel so far \(latest: Error: Could not process rule: No space left on device\); their knocks are still ignored$/);
  kernel.failNext('ENOSPC');
  await km.ban([{ src: '192.0.2.12', door: 'ssh', until: Date.now() + 60_000, failures: 2 }]);
  t.match(lines.at(-1), /^kernel matching: 2 bans/, 'at twice as many');
  kernel.failNext('ENOSPC');
  const n = lines.length;
  await km.ban([{ src: '192.0.2.13', door: 'ssh', until: Date.now() + 60_000, failures: 2 }]);
  t.equal(lines.length, n, 'not at three');
});
