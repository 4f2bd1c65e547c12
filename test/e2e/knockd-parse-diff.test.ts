// Differential test of the config parser against the real knockd 0.8 (/usr/sbin/knockd).
//
// For every file in test/fixtures/configs/:
//   - knockd: `timeout 5 unshare -n knockd -D -c FILE`. In a fresh, empty network namespace the
//     interface (eth0 or the fixture's kd0...) does not exist, so knockd parses the whole file,
//     prints its -D trace and then exits with `could not open <if>: ...`. That line is how we know
//     the file was accepted; any other last stderr line is knockd's config error. (The last line,
//     not the first: for one-time sequence files knockd first prints an error for every skipped
//     line of that file, see spec 2.9.) unshare -n makes an anonymous namespace: nothing to clean.
//   - Sesame: `bin/knockd --check -c FILE` (exit 0 + the parsed config, or exit 1 + the error as
//     the first stderr line).
// Both sides are turned into the same structure and compared: both accept with equal structures,
// or both reject with the same message. Intentional differences (Sesame's rulings) are listed in
// RULINGS with the expected outcome of each side.
//
// Files named compat-*.conf are knockd behaviours this test first found Sesame getting wrong
// (ASCII-only upper-casing of keys and flags, perror("") for an empty path, `Interface =`, and
// the errors of skipped one-time-file lines, which Sesame prints as warnings before the error).
//
// Needs root (unshare -n): skipped without it. A missing /usr/sbin/knockd is a failure.

import t, { type Test } from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = 'test/fixtures/configs';
const KNOCKD = '/usr/sbin/knockd';
const SESAME = join(ROOT, 'bin', 'knockd');
const CONCURRENCY = 8;
/** Log files the fixtures name (knockd creates them when it accepts a file). */
const LOG_FILES = ['/tmp/sesame-parse-diff.log', '/tmp/sesame-parse-diff-a.log'];

const FLAG_ORDER = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'] as const;

interface DoorS {
  name: string;
  sequence: string;
  seqTimeout: string;
  cmdTimeout: string;
  tcpflags: string;
  startCommand: string | null;
  startCommand6: string | null;
  stopCommand: string | null;
  stopCommand6: string | null;
  target: string | null;
  oneTimeFile: string | null;
}

interface ConfS {
  useSyslog: boolean;
  logFile: string | null;
  pidFile: string | null;
  interface: string | null;
  doors: DoorS[];
}

type Outcome =
  | { accepted: true; config: ConfS; stderrBefore: string[]; raw: Run }
  | { accepted: false; error: string; stderrBefore: string[]; raw: Run };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Outputs are read as latin1 so every byte maps to one char and both sides compare byte for byte.
function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', reject);
    p.on('close', (code) => resolve({
      code,
      stdout: Buffer.concat(out).toString('latin1'),
      stderr: Buffer.concat(err).toString('latin1'),
    }));
  });
}

const lines = (s: string) => s.split('\n').filter((l, i, a) => !(l === '' && i === a.length - 1));

/** knockd cuts door names to 127 bytes (the -D trace shows the section name cut to 255). */
const doorName = (section: string) => section.slice(0, 127);

function newDoor(name: string): DoorS & { flags: Map<string, string> } {
  return {
    name, sequence: '', seqTimeout: '25', cmdTimeout: '10', tcpflags: '',
    startCommand: null, startCommand6: null, stopCommand: null, stopCommand6: null,
    target: null, oneTimeFile: null, flags: new Map(),
  };
}

const KNOCKD_KEYS: Record<string, keyof DoorS> = {
  'sequence': 'sequence',
  'seq_timeout': 'seqTimeout',
  'start_command': 'startCommand',
  'start_command_6': 'startCommand6',
  'cmd_timeout': 'cmdTimeout',
  'stop_command': 'stopCommand',
  'stop_command_6': 'stopCommand6',
  'target': 'target',
  'one time sequences file': 'oneTimeFile',
};
const KNOCKD_KEY_RE = /^(sequence|seq_timeout|start_command_6|start_command|cmd_timeout|stop_command_6|stop_command|target|one time sequences file): (.*)$/;

/** The structure knockd's -D trace describes (spec 5.3), defaults filled in. */
function parseKnockdTrace(stdout: string): ConfS {
  const conf: ConfS = { useSyslog: false, logFile: null, pidFile: null, interface: null, doors: [] };
  const doors: ReturnType<typeof newDoor>[] = [];
  let door: ReturnType<typeof newDoor> | undefined;
  for (const line of lines(stdout)) {
    const section = /^config: new section: '(.*)'$/.exec(line);
    if (section) {
      door = section[1] === 'options' ? undefined : newDoor(doorName(section[1]!));
      if (door) doors.push(door);
      continue;
    }
    if (line === 'config: usesyslog') { conf.useSyslog = true; continue; }
    if (line.startsWith('config: log file: ')) { conf.logFile = line.slice(18); continue; }
    if (line.startsWith('config: pid file: ')) { conf.pidFile = line.slice(18); continue; }
    // knockd prints the interface each time it takes one (only while none is set): last wins.
    if (line.startsWith('config: interface: ')) { conf.interface = line.slice(19); continue; }
    const flag = /^config: tcp flag: (!?)([A-Z]+)$/.exec(line);
    if (flag && door) { door.flags.set(flag[2]!, flag[1]! + flag[2]!); continue; }
    if (door && line.startsWith(`config: ${door.name}: `)) {
      const kv = KNOCKD_KEY_RE.exec(line.slice(`config: ${door.name}: `.length));
      if (kv) (door as unknown as Record<string, string>)[KNOCKD_KEYS[kv[1]!]!] = kv[2]!;
    }
  }
  if (conf.interface === '') conf.interface = null; // empty: knockd falls back to eth0
  conf.doors = doors.map(({ flags, ...d }) => ({
    ...d,
    tcpflags: FLAG_ORDER.filter((f) => flags.has(f)).map((f) => flags.get(f)!).join(','),
  }));
  return conf;
}

/** The same structure from `knockd --check` output (lib/config/describe.ts). */
function parseSesameCheck(stdout: string): ConfS {
  const conf: ConfS = { useSyslog: false, logFile: null, pidFile: null, interface: null, doors: [] };
  let door: DoorS | undefined;
  const cmd = (v: string) => (v === '(none)' ? null : v.replace(/^"/, '').replace(/"$/, ''));
  for (const line of lines(stdout)) {
    const head = /^door '(.*)' \(line \d+\):$/.exec(line);
    if (head) {
      door = newDoorS(head[1]!);
      conf.doors.push(door);
      continue;
    }
    const kv = /^ {2}([a-z_0-9]+): (.*)$/.exec(line);
    if (!kv) continue;
    const [, key, v] = kv as unknown as [string, string, string];
    if (!door) {
      if (key === 'usesyslog') conf.useSyslog = v === 'yes';
      else if (key === 'logfile') conf.logFile = v === '(none)' ? null : v;
      else if (key === 'pidfile') conf.pidFile = v.endsWith(' (default)') ? null : v;
      else if (key === 'interface') conf.interface = v.endsWith(' (default)') ? null : v;
      continue;
    }
    switch (key) {
      case 'sequence': door.sequence = v; break;
      case 'seq_timeout': door.seqTimeout = v; break;
      case 'cmd_timeout': door.cmdTimeout = v; break;
      case 'tcpflags': door.tcpflags = v === '(none)' ? '' : v; break;
      case 'start_command': door.startCommand = cmd(v); break;
      case 'start_command_6': door.startCommand6 = cmd(v); break;
      case 'stop_command': door.stopCommand = cmd(v); break;
      case 'stop_command_6': door.stopCommand6 = cmd(v); break;
      case 'target': door.target = v === '(none)' ? null : v; break;
      case 'one_time_sequences': door.oneTimeFile = v.replace(/ \(line \d+\)$/, ''); break;
    }
  }
  return conf;
}

function newDoorS(name: string): DoorS {
  const { flags: _f, ...d } = newDoor(name);
  return d;
}

async function runKnockd(file: string): Promise<Outcome> {
  const raw = await run('timeout', ['5', 'unshare', '-n', KNOCKD, '-D', '-c', file]);
  const err = lines(raw.stderr);
  const last = err.at(-1) ?? '';
  const stderrBefore = err.slice(0, -1);
  if (last.startsWith('could not open ')) {
    return { accepted: true, config: parseKnockdTrace(raw.stdout), stderrBefore, raw };
  }
  return { accepted: false, error: last, stderrBefore, raw };
}

async function runSesame(file: string): Promise<Outcome> {
  const raw = await run(SESAME, ['--check', '-c', file]);
  const err = lines(raw.stderr);
  if (raw.code === 0) return { accepted: true, config: parseSesameCheck(raw.stdout), stderrBefore: err, raw };
  // Warnings (lines it skipped) come first, then knockd's error text.
  const warnings = err.filter((l) => l.startsWith('warning: '));
  return { accepted: false, error: err.find((l) => !l.startsWith('warning: ')) ?? '', stderrBefore: warnings, raw };
}

// -----------------------------------------------------------------------------------------------
// Intentional differences: the expected outcome of each side. `knockd`/`sesame` give either the
// error line or a partial structure (checked with t.has); `ignore` names fields that may differ
// when both accept, everything else must still be equal.

interface Expect { error?: string; has?: Partial<Omit<ConfS, 'doors'>> & { doors?: Partial<DoorS>[] } }
interface Ruling { why: string; knockd: Expect; sesame: Expect; ignore?: (c: ConfS) => void }

const RULINGS: Record<string, Ruling> = {
  'ruling-tcpflags-blanks.conf': {
    why: 'case 34: Sesame trims each flag, knockd rejects " ACK"',
    knockd: { error: 'config: line 4: unrecognized flag " ACK"' },
    sesame: { has: { doors: [{ name: 'd', sequence: '1:tcp', tcpflags: 'SYN,ACK' }] } },
  },
  'ruling-target-hostname.conf': {
    why: 'Target must be an IP literal in Sesame; knockd string-compares anything',
    knockd: { has: { doors: [{ name: 'd', target: 'myhost' }] } },
    sesame: { error: 'config: line 3: invalid target address "myhost"' },
  },
  'ruling-target-empty.conf': {
    why: 'an empty Target is not an IP literal',
    knockd: { has: { doors: [{ name: 'd', target: '' }] } },
    sesame: { error: 'config: line 3: invalid target address ""' },
  },
  'ruling-target-ipv6.conf': {
    why: 'IPv6 targets are canonicalised (RFC 5952)',
    knockd: { has: { doors: [{ target: 'FD77:0:0::01' }] } },
    sesame: { has: { doors: [{ target: 'fd77::1' }] } },
    ignore: (c) => { c.doors[0]!.target = null; },
  },
  'ruling-cmd-timeout-negative.conf': {
    why: 'a negative cmd_timeout is an error in Sesame (knockd would sleep ~136 years)',
    knockd: { has: { doors: [{ cmdTimeout: '-5' }] } },
    sesame: { error: 'config: line 3: cmd_timeout cannot be negative' },
  },
  'ruling-interface-list.conf': {
    why: 'Interface takes a comma list in Sesame; knockd takes the whole text as one name',
    knockd: { has: { interface: 'kd0, kd1' } },
    sesame: { has: { interface: 'kd0,kd1' } },
    ignore: (c) => { c.interface = null; },
  },
};

/** Sesame-only: lines its warnings must mention (values read leniently with atoi). */
const SESAME_WARNINGS: Record<string, string[]> = {
  'ok-timeouts-atoi.conf': ['line 3:', 'line 4:', 'line 7:', 'line 11:', 'line 15:', 'line 16:'],
};

// -----------------------------------------------------------------------------------------------

function canRun(): string | undefined {
  if (process.platform !== 'linux') return 'Linux only';
  if (process.getuid?.() !== 0) return 'needs root for unshare -n';
  try {
    execFileSync('unshare', ['-n', 'true'], { stdio: 'ignore' });
  } catch {
    return 'unshare -n does not work here';
  }
  return undefined;
}

async function pool<T, R>(items: readonly T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

function describe(o: Outcome): string {
  return o.accepted ? 'accepted' : `rejected: ${o.error}`;
}

function checkExpect(t: Test, side: string, o: Outcome, e: Expect): void {
  if (e.error !== undefined) {
    t.equal(o.accepted, false, `${side} rejects`);
    if (!o.accepted) t.equal(o.error, e.error, `${side} error text`);
  } else {
    t.equal(o.accepted, true, `${side} accepts (${describe(o)})`);
    if (o.accepted && e.has) t.has(o.config, e.has, `${side} structure`);
  }
}

const skip = canRun();
const files = existsSync(join(ROOT, FIXTURES))
  ? readdirSync(join(ROOT, FIXTURES)).filter((f) => f.endsWith('.conf')).sort()
  : [];

t.test('fixtures', async (t) => {
  t.ok(files.length >= 30, `at least 30 fixture configs (${files.length})`);
  for (const f of Object.keys({ ...RULINGS, ...SESAME_WARNINGS })) t.ok(files.includes(f), `${f} exists`);
});

t.test('the real knockd is installed (scripts/setup installs it)', { skip: skip ?? false }, async (t) => {
  t.ok(existsSync(KNOCKD), KNOCKD);
});

t.test('knockd -D vs sesame --check', { skip: skip ?? (existsSync(KNOCKD) ? false : 'knockd missing') }, async (t) => {
  if (!existsSync(join(ROOT, 'dist'))) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }
  t.teardown(() => { for (const f of LOG_FILES) rmSync(f, { force: true }); });

  const results = await pool(files, CONCURRENCY, async (f) => {
    const path = `${FIXTURES}/${f}`;
    const [k, s] = await Promise.all([runKnockd(path), runSesame(path)]);
    return { f, k, s };
  });

  for (const { f, k, s } of results) {
    t.test(f, async (t) => {
      t.not(k.raw.code, 124, 'knockd did not hang (timeout)');
      t.ok(k.accepted || k.error !== '', `knockd printed an error or could not open the interface (${k.raw.stderr})`);
      const ruling = RULINGS[f];
      if (ruling) {
        t.comment(`ruling: ${ruling.why}`);
        checkExpect(t, 'knockd', k, ruling.knockd);
        checkExpect(t, 'sesame', s, ruling.sesame);
        if (k.accepted && s.accepted) {
          const kc = structuredClone(k.config);
          const sc = structuredClone(s.config);
          ruling.ignore?.(kc);
          ruling.ignore?.(sc);
          t.same(sc, kc, 'structures equal apart from the ruling');
        }
        return;
      }

      if (process.env['SESAME_DIFF_DEBUG']) t.comment(JSON.stringify({ knockd: k, sesame: s }, null, 1));
      t.equal(describe(s), k.accepted ? 'accepted' : describe(k), 'same verdict (and same error text)');
      if (k.accepted && s.accepted) {
        t.same(s.config, k.config, 'same parsed structure');
        t.same(s.raw.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning: ')), [],
          'sesame prints nothing but warnings');
      }
      if (!k.accepted && !s.accepted) {
        t.equal(s.raw.code, 1, 'sesame exits 1');
        t.equal(k.raw.code, 1, 'knockd exits 1');
      }
      // knockd's messages for skipped one-time-file lines must show up among Sesame's warnings
      // (as `warning: <path>: line N: <knockd message>`), in the same order.
      if (k.stderrBefore.length > 0) {
        const warnings = s.raw.stderr.split('\n').filter((l) => l.startsWith('warning: '));
        const found = k.stderrBefore.map((m) => warnings.findIndex((w) => w.endsWith(`: ${m}`)));
        t.same(found.map((i) => i >= 0), k.stderrBefore.map(() => true),
          `sesame reports every line knockd skipped: ${JSON.stringify(k.stderrBefore)}`);
        t.same(found, [...found].sort((a, b) => a - b), 'in the same order');
      }
      const want = SESAME_WARNINGS[f];
      if (want) {
        for (const w of want) t.ok(s.raw.stderr.includes(`warning: ${FIXTURES}/${f}: ${w}`), `sesame warns about ${w}`);
      }
    });
  }
});

t.test('trace parsers', async (t) => {
  // Guards the two readers above so a silent mis-parse cannot make both sides "equal".
  const k = parseKnockdTrace([
    "config: new section: 'options'", 'config: usesyslog', 'config: log file: /tmp/l', 'config: interface: kd0',
    "config: new section: 'a b'", 'config: a b: sequence: 1:tcp,2:udp', 'config: a b: start_command: x: y',
    'config: a b: start_command_6: ', 'config: tcp flag: SYN', 'config: tcp flag: !ACK', 'config: tcp flag: !SYN',
    'config: a b: seq_timeout: 5', 'config: a b: target: 10.0.0.1',
  ].join('\n') + '\n');
  t.same(k, {
    useSyslog: true, logFile: '/tmp/l', pidFile: null, interface: 'kd0',
    doors: [{
      name: 'a b', sequence: '1:tcp,2:udp', seqTimeout: '5', cmdTimeout: '10', tcpflags: '!SYN,!ACK',
      startCommand: 'x: y', startCommand6: '', stopCommand: null, stopCommand6: null, target: '10.0.0.1', oneTimeFile: null,
    }],
  });
  const s = parseSesameCheck([
    'config: x.conf: ok', 'options:', '  usesyslog: yes', '  logfile: /tmp/l', '  pidfile: /var/run/knockd.pid (default)',
    '  interface: kd0', "door 'a b' (line 1):", '  sequence: 1:tcp,2:udp', '  seq_timeout: 5', '  tcpflags: !SYN,!ACK',
    '  start_command: "x: y"', '  start_command_6: ""', '  cmd_timeout: 10', '  stop_command: (none)',
    '  stop_command_6: (none)', '  target: 10.0.0.1',
  ].join('\n') + '\n');
  t.same(s, k);
});
