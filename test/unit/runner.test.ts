// The command runner with a real /bin/sh: commands write files, a fake clock drives Cmd_Timeout.

import type { Test } from 'tap';
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandRunner, type PendingStop, type Timers } from '../../lib/actions/runner.js';
import { commandsFor, substituteIP } from '../../lib/actions/commands.js';
import { readJournal, writeJournal } from '../../lib/actions/journal.js';
import { config } from '../helpers/knocks.js';

class FakeClock implements Timers {
  now = 1_700_000_000_000;
  private q: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  maxDelay = 0;
  set(fn: () => void, ms: number) { this.maxDelay = Math.max(this.maxDelay, ms); const id = ++this.ids; this.q.push({ at: this.now + ms, fn, id }); return id; }
  clear(h: unknown) { this.q = this.q.filter((x) => x.id !== h); }
  advance(ms: number) {
    const end = this.now + ms;
    for (;;) {
      this.q.sort((a, b) => a.at - b.at);
      const next = this.q[0];
      if (!next || next.at > end) break;
      this.q.shift();
      this.now = next.at;
      next.fn();
    }
    this.now = end;
  }
  get queued() { return this.q.length; }
}

function setup(t: Test, conf: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-run-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  const cfg = config(conf.replaceAll('@OUT@', out));
  const clock = new FakeClock();
  const logs: string[] = [];
  const changes: PendingStop[][] = [];
  const runner = new CommandRunner({
    log: { log: (m) => logs.push(m) },
    now: () => clock.now,
    timers: clock,
    onPendingChange: (p) => changes.push([...p]),
  });
  t.teardown(() => runner.dispose());
  const read = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
  return { dir, out, cfg, clock, logs, changes, runner, read };
}

const CASE27 = `[d]
sequence = 7000,8000
Start_Command = echo START %IP% %IP% >> @OUT@; exit 3
CMD_TIMEOUT = 2
stop_command = echo STOP %IP% >> @OUT@
stop_command_6 = echo STOP6 [%IP%] >> @OUT@
`;

t.test('case 27: %IP% everywhere, non-zero status logged, stops after Cmd_Timeout, _6 variants', async (t) => {
  const s = setup(t, CASE27);
  const door = s.cfg.doors[0]!;
  s.runner.open({ door, ip: '10.77.0.2', family: 4 });
  s.runner.open({ door, ip: 'fd77::2', family: 6 });
  await s.runner.idle();
  t.same(s.read().split('\n').sort(), ['', 'START 10.77.0.2 10.77.0.2', 'START fd77::2 fd77::2']);
  t.equal(s.logs.filter((l) => l === 'd: command returned non-zero status code (3)').length, 2);
  t.ok(s.logs.includes(`d: running command: echo START 10.77.0.2 10.77.0.2 >> ${s.out}; exit 3\n`), 'knockd line + blank line');
  t.equal(s.runner.pending().length, 2);
  s.clock.advance(1999);
  await s.runner.idle();
  t.notMatch(s.read(), /STOP/, 'not before Cmd_Timeout');
  s.clock.advance(1);
  await s.runner.idle();
  t.match(s.read(), /STOP 10\.77\.0\.2\n/);
  t.match(s.read(), /STOP6 \[fd77::2\]\n/);
  t.ok(s.logs.includes('10.77.0.2: d: command timeout'));
  t.ok(s.logs.includes('fd77::2: d: command timeout'));
  t.same(s.runner.pending(), []);
  t.same(s.changes.at(-1), [], 'journal hook saw the list empty at the end');
});

t.test('case 29: command_6 set empty runs nothing for IPv6; IPv4 still runs', async (t) => {
  const s = setup(t, `[d]\nsequence = 1\ncommand = echo V4 %IP% >> @OUT@\ncommand_6 =\n`);
  s.runner.open({ door: s.cfg.doors[0]!, ip: 'fd77::2', family: 6 });
  s.runner.open({ door: s.cfg.doors[0]!, ip: '10.77.0.2', family: 4 });
  await s.runner.idle();
  t.equal(s.read(), 'V4 10.77.0.2\n');
});

t.test('case 33: empty command: no running-command line, nothing runs, no stop either', async (t) => {
  const s = setup(t, `[d]\nsequence = 1\ncommand =\nstop_command = echo STOP >> @OUT@\n`);
  s.runner.open({ door: s.cfg.doors[0]!, ip: '10.77.0.2', family: 4 });
  await s.runner.idle();
  t.same(s.logs, []);
  t.same(s.runner.pending(), []);
});

t.test('fallback: unset _6 uses the IPv4 command', async (t) => {
  const door = config(`[d]\nsequence = 1\ncommand = a\nstop_command = b\n`).doors[0]!;
  t.same(commandsFor(door, 6), { start: 'a', stop: 'b' });
  const d2 = config(`[d]\nsequence = 1\ncommand = a\ncommand_6 = a6\nstop_command_6 = b6\n`).doors[0]!;
  t.same(commandsFor(d2, 6), { start: 'a6', stop: 'b6' });
  t.same(commandsFor(d2, 4), { start: 'a', stop: undefined });
});

t.test('the stop countdown starts when the start command has finished', async (t) => {
  const s = setup(t, `[d]\nsequence = 1\ncommand = sleep 0.3; echo S >> @OUT@\ncmd_timeout = 0\nstop_command = echo STOP >> @OUT@\n`);
  s.runner.open({ door: s.cfg.doors[0]!, ip: '10.77.0.2', family: 4 });
  s.clock.advance(10);
  await s.runner.idle();
  t.equal(s.read(), 'S\nSTOP\n');
});

t.test('open() never waits for the command', async (t) => {
  const s = setup(t, `[d]\nsequence = 1\ncommand = sleep 0.5; echo done >> @OUT@\n`);
  const t0 = Date.now();
  s.runner.open({ door: s.cfg.doors[0]!, ip: '10.77.0.2', family: 4 });
  t.ok(Date.now() - t0 < 200, 'returned at once');
  t.equal(s.read(), '', 'command still running');
  await s.runner.idle();
  t.equal(s.read(), 'done\n');
});

t.test('flush() runs every pending stop at once (shutdown)', async (t) => {
  const s = setup(t, `[d]\nsequence = 1\ncommand = true\ncmd_timeout = 3600\nstop_command = echo STOP %IP% >> @OUT@\n`);
  for (const ip of ['10.77.0.2', '10.77.0.3', 'fd77::9']) s.runner.open({ door: s.cfg.doors[0]!, ip, family: ip.includes(':') ? 6 : 4 });
  await s.runner.idle();
  t.equal(s.runner.pending().length, 3);
  await s.runner.flush();
  t.same(s.read().trim().split('\n').sort(), ['STOP 10.77.0.2', 'STOP 10.77.0.3', 'STOP fd77::9']);
  t.same(s.runner.pending(), []);
});

t.test('pending stops are journalled before the start command runs, and restore() takes them over', async (t) => {
  const s = setup(t, `[d]\nsequence = 1\ncommand = sleep 0.2\ncmd_timeout = 60\nstop_command = echo STOP %IP% >> @OUT@\n`);
  s.runner.open({ door: s.cfg.doors[0]!, ip: '10.77.0.2', family: 4, knocker: '10.77.0.2 (client2.test)' });
  t.equal(s.changes.length, 1, 'hook called synchronously at open');
  const journal = join(s.dir, 'pending.json');
  writeJournal(journal, s.changes[0]!);
  await s.runner.idle();

  // A new runner after a "crash": one stop overdue, one not yet due.
  const logs: string[] = [];
  const clock = new FakeClock();
  const restored = readJournal(journal);
  t.same(restored.problems, []);
  const later: PendingStop = { door: 'd', knocker: '10.77.0.9', command: `echo LATER >> ${s.out}`, dueAt: clock.now + 5000 };
  const r2 = new CommandRunner({ log: { log: (m) => logs.push(m) }, now: () => clock.now, timers: clock });
  r2.restore([...restored.stops.map((x) => ({ ...x, dueAt: clock.now - 1 })), later]);
  await r2.idle();
  t.equal(s.read(), 'STOP 10.77.0.2\n', 'overdue stop ran at once');
  t.ok(logs.includes('10.77.0.2 (client2.test): d: command timeout'));
  clock.advance(5000);
  await r2.idle();
  t.equal(s.read(), 'STOP 10.77.0.2\nLATER\n');
});

t.test('a torn or foreign journal never throws; it is ignored with a reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-j-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'j.json');
  t.same(readJournal(p), { stops: [], problems: [] }, 'missing file: nothing pending');
  writeFileSync(p, '{"version":1,"stops":[{"door":"d","knocker":"x","comm');
  t.match(readJournal(p).problems[0], /unreadable/);
  writeFileSync(p, JSON.stringify({ version: 1, stops: [{ door: 'd', knocker: 'k', command: 'c', dueAt: 1 }, { door: 1 }] }));
  t.equal(readJournal(p).stops.length, 1);
  t.match(readJournal(p).problems[0], /1 malformed/);
  chmodSync(p, 0o666);
  t.match(readJournal(p).problems[0], /writable by others/);
});

t.test('long Cmd_Timeout is chained past setTimeout\'s 24.8-day limit', async (t) => {
  const s = setup(t, `[d]\nsequence = 1\ncommand = true\ncmd_timeout = 3000000\nstop_command = echo STOP >> @OUT@\n`);
  s.runner.open({ door: s.cfg.doors[0]!, ip: '10.77.0.2', family: 4 });
  await s.runner.idle();
  t.ok(s.clock.maxDelay <= 2 ** 31 - 1);
  s.clock.advance(2_999_999_000);
  await s.runner.idle();
  t.equal(s.read(), '');
  s.clock.advance(1000);
  await s.runner.idle();
  t.equal(s.read(), 'STOP\n');
});

t.test('expanded commands of 4096 bytes or more do not run (knockd\'s messages)', async (t) => {
  const s = setup(t, `[d]\nsequence = 1\ncommand = echo ${'%IP%'.repeat(500)}\n`);
  s.runner.open({ door: s.cfg.doors[0]!, ip: '10.77.0.2', family: 4 });
  t.same(s.logs, ["error: parsed start command has been truncated! --> won't execute it"]);
  const s2 = setup(t, `[d]\nsequence = 1\ncommand = true\nstop_command = echo ${'%IP%'.repeat(500)}\n`);
  s2.runner.open({ door: s2.cfg.doors[0]!, ip: '10.77.0.2', family: 4 });
  t.same(s2.logs, ["error: parsed stop command has been truncated! --> won't execute start command"]);
});

t.test('%IP% substitution only accepts IP literals', async (t) => {
  t.equal(substituteIP('a %IP% b %IP% %ip%', '10.0.0.1'), 'a 10.0.0.1 b 10.0.0.1 %ip%');
  t.equal(substituteIP('%IP%', 'fd77::2'), 'fd77::2');
  for (const bad of ['10.0.0.1; rm -rf /', '$(id)', 'fe80::1%eth0', '', 'host.example']) {
    t.throws(() => substituteIP('x %IP%', bad), TypeError, JSON.stringify(bad));
  }
});

t.test('a wall-clock step does not move stops: they run on the monotonic clock (reliability 5)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-step-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  const cfg = config(`[d]\nsequence = 1\ncommand = true\ncmd_timeout = 3\nstop_command = echo STOP >> ${out}\n`);
  const mono = new FakeClock();
  let wall = 1_700_000_000_000;
  const changes: PendingStop[][] = [];
  const runner = new CommandRunner({
    log: { log: () => {} }, now: () => wall, mono: () => mono.now, timers: mono,
    onPendingChange: (p) => changes.push([...p]),
  });
  t.teardown(() => runner.dispose());
  runner.open({ door: cfg.doors[0]!, ip: '10.77.0.2', family: 4 });
  await runner.idle();
  t.equal(runner.pending()[0]!.dueAt, wall + 3000, 'the journal keeps wall time');
  wall -= 3_600_000; // date -s: one hour back
  mono.advance(2999);
  await runner.idle();
  t.notOk(existsSync(out), 'not before its 3 s');
  mono.advance(1);
  await runner.idle();
  t.equal(readFileSync(out, 'utf8'), 'STOP\n', 'on time after 3 s, not 3603 s');

  // Restored from a journal across a step forward: due 5 s after the wall time it was written.
  const r2 = new CommandRunner({ log: { log: () => {} }, now: () => wall, mono: () => mono.now, timers: mono });
  t.teardown(() => r2.dispose());
  r2.restore([{ door: 'd', knocker: 'k', command: `echo LATER >> ${out}`, dueAt: wall + 5000 }]);
  wall += 3_600_000; // the clock jumps forward an hour after the restore
  mono.advance(4999);
  await r2.idle();
  t.equal(readFileSync(out, 'utf8'), 'STOP\n', 'a forward step does not make it overdue');
  mono.advance(1);
  await r2.idle();
  t.equal(readFileSync(out, 'utf8'), 'STOP\nLATER\n');
});

t.test('a journal of 500 overdue stops runs at most maxParallel shells at once, all of them (reliability 12)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-par-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  let running = 0;
  let peak = 0;
  const shell = async (cmd: string) => {
    running++; peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 2));
    writeFileSync(out, `${cmd}\n`, { flag: 'a' });
    running--;
    return { code: 0 };
  };
  const clock = new FakeClock();
  const r = new CommandRunner({ log: { log: () => {} }, now: () => clock.now, timers: clock, shell, maxParallel: 8 });
  t.teardown(() => r.dispose());
  r.restore(Array.from({ length: 500 }, (_, i) => ({ door: 'd', knocker: 'k', command: `stop ${i}`, dueAt: clock.now - 1000 })));
  await r.idle();
  t.equal(peak, 8, 'never more than 8 at once');
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  t.equal(lines.length, 500, 'every stop ran');
  t.equal(new Set(lines).size, 500, 'each once');
  t.same(r.pending(), [], 'none left pending');
});
