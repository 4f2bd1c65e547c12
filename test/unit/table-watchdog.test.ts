// The table watchdog (lib/firewall/table-watchdog.ts) with an owner over the fake kernel: the
// timer, one check at a time in the owner's queue, the reasons a table is replaced (removed,
// changed, unreadable, no snapshot, the owner's own), the tolerated read failures, a failing
// replace logged once and retried every check or backing off to a minute, and "restored again".

import t from 'tap';
import { REMOVED, TableWatchdog, WATCH_MS, type WatchPolicy, type WatchedTable } from '../../lib/firewall/table-watchdog.js';
import type { TableInspector, TablePlan } from '../../lib/firewall/contract.js';
import { FakeKernel } from '../helpers/fake-firewall.js';
import { FakeScheduler } from '../helpers/fake-nflog.js';

const PLAN: TablePlan = { guards: [{ protocol: 'tcp', port: 22 }], nat: undefined, interfaces: [], yielded: [] };
const EVERY: WatchPolicy = { readFailures: 2, againAfterReplace: true };
const BACKOFF: WatchPolicy = { readFailures: 1, maxBackoffMs: 60_000, againAfterReplace: false };

interface Owner {
  kernel: FakeKernel;
  scheduler: FakeScheduler;
  dog: TableWatchdog;
  lines: string[];
  /** Replaces asked for (each the reason), whether they went in or failed. */
  replaced: string[];
  verified: number;
  healthy: number;
  /** Checks the owner's queue ran. */
  queued: number;
}

const settle = () => new Promise((r) => setImmediate(r));

type Hooks = Partial<Pick<WatchedTable, 'before' | 'unsnapshotted' | 'after' | 'healthy' | 'verify'>>;

async function owner(policy: WatchPolicy, o: { inspector?: boolean; hooks?: Hooks } = {}): Promise<Owner> {
  const kernel = new FakeKernel();
  const scheduler = new FakeScheduler();
  const fw = await kernel.firewalls().open('sesame', () => {});
  await fw.install(PLAN, []);
  const inspect: TableInspector | undefined = o.inspector === false ? undefined : kernel.firewalls().inspector('sesame');
  let queue = Promise.resolve();
  const s: Owner = { kernel, scheduler, dog: undefined as unknown as TableWatchdog, lines: [], replaced: [], verified: 0, healthy: 0, queued: 0 };
  s.dog = new TableWatchdog({
    inspect,
    serial: (fn) => { s.queued++; queue = queue.then(fn); return queue; },
    log: (l) => s.lines.push(l),
    verify: async () => { s.verified++; },
    healthy: async () => { s.healthy++; },
    replace: async (why) => {
      s.replaced.push(why);
      await fw.install(PLAN, []);
      s.dog.takeBaseline();
      s.lines.push(`table ${why}; replaced`);
    },
    failing: (err) => `cannot restore: ${(err as Error).message.split('\n')[0]}`,
    again: 'restored again',
    ...o.hooks,
  }, policy, scheduler);
  s.dog.takeBaseline();
  return s;
}

t.test('the timer checks every second until stopped; one timer however often started', async (t) => {
  const s = await owner(EVERY);
  s.dog.start();
  s.dog.start();
  t.equal(s.scheduler.running, 1);
  for (let i = 0; i < 3; i++) {
    s.scheduler.advance(WATCH_MS);
    await settle();
  }
  t.equal(s.queued, 3, 'one check a second');
  s.dog.stop();
  t.equal(s.scheduler.running, 0);
  const n = s.queued;
  s.scheduler.advance(5 * WATCH_MS);
  await settle();
  t.equal(s.queued, n, 'stopped: no more checks');
});

t.test('an intact table: the owner verifies it and is told it is healthy; nothing logged', async (t) => {
  const s = await owner(EVERY);
  await s.dog.check();
  t.same([s.verified, s.healthy, s.replaced, s.lines], [1, 1, [], []]);
});

t.test('one check at a time: a second while one is queued is the same check', async (t) => {
  const s = await owner(EVERY);
  const a = s.dog.check();
  const b = s.dog.check();
  t.equal(a, b);
  await a;
  t.equal(s.queued, 1);
  await s.dog.check();
  t.equal(s.queued, 2, 'the next one runs once the first is done');
});

t.test('a removed table is replaced and logged once; then it is intact', async (t) => {
  const s = await owner(EVERY);
  s.kernel.deleteTable('sesame');
  await s.dog.check();
  t.same(s.replaced, [REMOVED]);
  t.same(s.lines, ['table was removed (nft flush ruleset?); replaced']);
  t.equal(s.healthy, 0, 'a replaced table is not reported healthy in the same check');
  await s.dog.check();
  t.equal(s.replaced.length, 1, 'the new table is the new baseline');
  t.equal(s.healthy, 1);
});

t.test('a changed table names what differed', async (t) => {
  const s = await owner(EVERY);
  s.kernel.swapRule('sesame', 1);
  await s.dog.check();
  t.same(s.replaced, ['differed from what Sesame installed (rules input changed; a saved ruleset reloaded?)']);
  t.equal(s.verified, 0);
});

t.test('unreadable dumps: forgiven up to the policy\'s count in a row, then the table is replaced', async (t) => {
  const s = await owner(EVERY);
  s.kernel.failReads(1);
  await s.dog.check();
  t.same([s.replaced, s.verified, s.healthy], [[], 0, 0], 'once: nothing decided');
  await s.dog.check();
  s.kernel.failReads(1);
  await s.dog.check();
  t.same(s.replaced, [], 'a good read in between starts the count again');
  await s.dog.check();
  s.kernel.failReads(2);
  await s.dog.check();
  await s.dog.check();
  t.same(s.replaced, ['could not be read (dump: interrupted three times by ruleset changes)']);
  const strict = await owner(BACKOFF);
  strict.kernel.failReads(1);
  await strict.dog.check();
  t.equal(strict.replaced.length, 1, 'readFailures 1: the first failed read replaces');
});

t.test('no snapshot: replaced, unless the owner checks another way', async (t) => {
  const s = await owner(BACKOFF);
  s.dog.forgetBaseline();
  await s.dog.check();
  t.same(s.replaced, ['had no snapshot to be checked against']);
  const counted: string[] = [];
  const c = await owner(EVERY, { hooks: { unsnapshotted: async () => counted.pop() } });
  c.dog.forgetBaseline();
  await c.dog.check();
  t.same([c.replaced, c.verified, c.healthy], [[], 0, 1], 'the owner found it right: not verified by snapshot, but healthy');
  counted.push('was removed or changed');
  await c.dog.check();
  t.same(c.replaced, ['was removed or changed']);
});

t.test('the owner\'s reasons: before reading, and after a matching snapshot', async (t) => {
  let early: string | undefined = 'was not replaced by the last SIGHUP';
  let late: string | undefined;
  const s = await owner(EVERY, { hooks: { before: () => early, after: () => late, verify: async () => { s.verified++; } } });
  s.kernel.deleteTable('sesame');
  await s.dog.check();
  t.same(s.replaced, ['was not replaced by the last SIGHUP'], 'before wins over what the table shows');
  early = undefined;
  late = 'is not the running configuration\'s';
  await s.dog.check();
  t.same(s.replaced.at(-1), late);
  t.equal(s.verified, 0, 'a table to be replaced is not verified');
  late = undefined;
  const bare = await owner(BACKOFF, { inspector: false, hooks: { after: () => late } });
  await bare.dog.check();
  t.same([bare.replaced, bare.healthy], [[], 1], 'no inspector: only the owner\'s reasons');
  late = 'is stale';
  await bare.dog.check();
  t.same(bare.replaced, ['is stale']);
});

t.test('errors of the owner\'s reads before and after the check are the owner\'s', async (t) => {
  const s = await owner(EVERY, { hooks: { before: async () => { throw new Error('counter read'); } } });
  await t.rejects(s.dog.check(), /counter read/);
  t.same(s.lines, [], 'not a failing restore');
  const h = await owner(EVERY, { hooks: { healthy: async () => { throw new Error('bookkeeping'); } } });
  await t.rejects(h.dog.check(), /bookkeeping/);
  t.same(h.lines, []);
});

t.test('a failing replace, every check: logged once, retried each time; its end logged', async (t) => {
  const s = await owner(EVERY);
  s.kernel.deleteTable('sesame');
  s.kernel.failNext();
  s.kernel.failNext();
  await s.dog.check();
  await s.dog.check();
  t.same(s.lines, ['cannot restore: Error: Could not process rule: Operation not permitted']);
  await s.dog.check();
  t.same(s.replaced.length, 3, 'retried at every check');
  t.same(s.lines.slice(1), ['table was removed (nft flush ruleset?); replaced', 'restored again']);
  const v = await owner(EVERY, { hooks: { verify: async () => { throw new Error('grant set unreadable'); } } });
  await v.dog.check();
  await v.dog.check();
  t.same(v.lines, ['cannot restore: grant set unreadable'], 'the owner\'s checks fail as a replace does, once');
});

t.test('a failing replace with backoff: 1 s, 2 s, 4 s ... at most 60 s apart; a replace that works ends it quietly', async (t) => {
  const s = await owner(BACKOFF);
  s.dog.start();
  s.kernel.deleteTable('sesame');
  for (let i = 0; i < 20; i++) s.kernel.failNext();
  const attempts: number[] = [];
  for (let sec = 1; sec <= 200; sec++) {
    s.scheduler.advance(WATCH_MS);
    const before = s.replaced.length;
    await s.dog.check();
    if (s.replaced.length > before) attempts.push(sec);
  }
  const gaps = attempts.slice(1).map((a, i) => a - attempts[i]!);
  t.same(gaps, [1, 2, 4, 8, 16, 32, 60, 60], `attempts at ${attempts.join(', ')} s`);
  t.same(s.lines, ['cannot restore: Error: Could not process rule: Operation not permitted'], 'logged once');
  // The fault is fixed: the next due attempt goes in.
  s.kernel.clearFailures();
  for (let sec = 0; sec < 61 && s.lines.length === 1; sec++) { s.scheduler.advance(WATCH_MS); await s.dog.check(); }
  t.same(s.lines.slice(1), ['table was removed (nft flush ruleset?); replaced'], 'no "restored again" after a replace under this policy');
  s.kernel.deleteTable('sesame');
  s.kernel.failNext();
  s.scheduler.advance(WATCH_MS);
  await s.dog.check();
  t.equal(s.lines.length, 3, 'a new failure is logged again');
  const n = s.replaced.length;
  s.scheduler.advance(WATCH_MS);
  await s.dog.check();
  t.equal(s.replaced.length, n + 1, 'after a replace that went in, the wait starts at one second again');
  s.dog.stop();
});

t.test('with backoff: a table put right meanwhile ends the failure with "restored again"', async (t) => {
  const s = await owner(BACKOFF);
  s.kernel.deleteTable('sesame');
  s.kernel.failNext();
  await s.dog.check();
  t.equal(s.lines.length, 1);
  // The owner's own install (a SIGHUP) went in meanwhile.
  await s.kernel.firewalls().open('sesame', () => {}).then((fw) => fw.install(PLAN, []));
  s.dog.takeBaseline();
  s.scheduler.advance(WATCH_MS);
  await s.dog.check();
  t.same(s.lines.slice(1), ['restored again']);
  t.equal(s.healthy, 1);
});
