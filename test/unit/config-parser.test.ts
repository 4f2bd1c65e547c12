// Config parser against spec section 1 (grammar), 5.4 (error texts) and cases 34-38, one small
// assertion at a time. Error messages are knockd's exact stderr text; every expectation that is not
// a Sesame ruling was checked against the real Debian knockd 0.8 binary; most inputs are also
// fixtures of test/e2e/knockd-parse-diff.test.ts.
//
// The group "knockd compatibility" at the end holds behaviours this suite first found Sesame
// getting wrong (no documented ruling covers them); they guard against regressions.

import t, { type Test } from 'tap';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, loadConfig, type ConfigIO } from '../../lib/config/parser.js';
import { ConfigError } from '../../lib/config/errors.js';
import type { Config, Door, KnockStep } from '../../lib/config/types.js';

const FILE = 'test.conf';
const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20;

const parse = (text: string | Buffer, io?: ConfigIO): Config => parseConfig(text, FILE, io);

/** The only door of `[d]` + body. */
function door(body: string, name = 'd'): Door {
  const c = parse(`[${name}]\n${body}\n`);
  return c.doors[0]!;
}

/** A door with a sequence, plus extra lines (line 3 onwards). */
function door1(extra: string): Door {
  return door(`sequence = 1\n${extra}`);
}

/** `7000/tcp,8000/udp` - short text for sequence comparisons. */
function fmt(steps: readonly KnockStep[]): string {
  return steps.map((s) => `${s.port}/${s.protocol}`).join(',');
}

function seq(value: string): string {
  return fmt(door(`sequence = ${value}`).sequence);
}

function catchError(text: string | Buffer, io?: ConfigIO): ConfigError | string {
  try {
    parse(text, io);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    return `threw a non-ConfigError: ${String(e)}`;
  }
  return 'parsed without error';
}

/** Asserts that `text` fails with knockd's exact message on the given line. */
function rejects(t: Test, text: string | Buffer, message: string, line: number | undefined, io?: ConfigIO): void {
  const e = catchError(text, io);
  if (typeof e === 'string') {
    t.fail(`expected ConfigError ${JSON.stringify(message)}: ${e}`);
    return;
  }
  t.equal(e.message, message, `message: ${message}`);
  t.equal(e.line, line, `line of: ${message}`);
  t.equal(e.file, FILE, 'error names the config file');
}

function deepFrozen(v: unknown, path = 'config'): string[] {
  if (v === null || typeof v !== 'object') return [];
  const bad = Object.isFrozen(v) ? [] : [path];
  for (const [k, x] of Object.entries(v as object)) bad.push(...deepFrozen(x, `${path}.${k}`));
  return bad;
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------------------------------------
t.test('lexical rules (1.1)', async (t) => {
  t.test('comments only when # is the first non-blank character', async (t) => {
    const c = parse('# top comment\n[d]\n# c\n   # indented comment\n\t#tab\nsequence = 1\n');
    t.equal(c.doors.length, 1);
    t.equal(fmt(c.doors[0]!.sequence), '1/tcp');
    t.equal(door1('command = a # b').startCommand, 'a # b', '# later in a value is kept');
    t.equal(door1('command = #x').startCommand, '#x', 'value starting with # is kept');
    rejects(t, '[d]\nsequence = 1\n; not a comment\n', 'config: line 3: syntax error', 3);
    rejects(t, '[d]\nsequence = 1\n;x = 1\n', 'config: line 3: syntax error', 3);
  });

  t.test('values keep ; # quotes and =, split at the first =', async (t) => {
    t.equal(door1(`command = a=b; "c" 'd' # e = f`).startCommand, `a=b; "c" 'd' # e = f`);
    t.equal(door1('command==x').startCommand, '=x');
    t.equal(door1('command = iptables -A INPUT -s %IP% -j ACCEPT').startCommand,
      'iptables -A INPUT -s %IP% -j ACCEPT');
    t.equal(door1('command =   x \t y   \t').startCommand, 'x \t y', 'value trimmed at both ends only');
    t.equal(door1('command = CaSe').startCommand, 'CaSe', 'value case preserved');
  });

  t.test('keys are trimmed and case-insensitive; inner whitespace is not normalised', async (t) => {
    t.equal(fmt(door('SEQUENCE = 5').sequence), '5/tcp');
    t.equal(fmt(door('SeQuEnCe=5').sequence), '5/tcp');
    t.equal(fmt(door('\t sequence \t=\t 5').sequence), '5/tcp');
    t.equal(door1('sEQ_tIMEOUT = 3').seqTimeout, 3);
    t.equal(door1('cOmMaNd = x').startCommand, 'x');
    t.equal(parse('[options]\nlOgFiLe = /tmp/x\n').options.logFile, '/tmp/x');
    rejects(t, '[d]\nsequence = 1\nseq timeout = 5\n', 'config: line 3: syntax error', 3);
    rejects(t, '[d]\nsequence = 1\nstart command = x\n', 'config: line 3: syntax error', 3);
    rejects(t, '[options]\nlog file = /tmp/x\n', 'config: line 2: syntax error', 2);
  });

  t.test('CRLF and other C white space', async (t) => {
    const c = parse('[options]\r\nLogFile = /tmp/k.log\r\n[d]\r\nsequence = 7000,8000\r\ncommand = x\r\n');
    t.equal(c.options.logFile, '/tmp/k.log');
    t.equal(c.doors[0]!.name, 'd', 'no CR in the section name');
    t.equal(fmt(c.doors[0]!.sequence), '7000/tcp,8000/tcp');
    t.equal(c.doors[0]!.startCommand, 'x', 'no CR at the end of the value');
    t.equal(door1('command = a\rb').startCommand, 'a\rb', 'a CR inside a line is data');
    t.equal(door1('command = x\v\f').startCommand, 'x', 'vertical tab and form feed are trimmed');
    rejects(t, '[d]\r\nsequence = 1\r\nbogus\r\n', 'config: line 3: syntax error', 3);
  });

  t.test('empty input, blank lines, missing final newline', async (t) => {
    t.same(parse('').doors, []);
    t.same(parse('# only a comment\n\n   \n').doors, []);
    t.equal(fmt(parse('[d]\nsequence = 9').doors[0]!.sequence), '9/tcp', 'no trailing newline');
    rejects(t, '\n\n   \n\t\n# c\nbogus\n', 'config: line 6: all directives must belong to a section', 6);
    t.equal(fmt(parse(Buffer.from('[d]\nsequence = 4\n')).doors[0]!.sequence), '4/tcp', 'Buffer input');
  });


  t.test('physical lines longer than 4094 bytes are split like fgets(4096)', async (t) => {
    const cmd = (n: number) => `command = ${'x'.repeat(n - 'command = '.length)}`;
    // 4094 bytes + newline fit in one read.
    t.equal(door1(cmd(4094)).startCommand, 'x'.repeat(4084), '4094-byte line is one line');
    rejects(t, `[d]\nsequence = 1\n${cmd(4094)}\nbogus\n`, 'config: line 4: syntax error', 4);
    // 4095 bytes: the newline is read on its own, as an extra (empty) line.
    t.equal(door1(cmd(4095)).startCommand, 'x'.repeat(4085), '4095-byte line: value is complete');
    rejects(t, `[d]\nsequence = 1\n${cmd(4095)}\nbogus\n`, 'config: line 5: syntax error', 5);
    // 4096 bytes: the last byte becomes a line of its own (no '=': syntax error).
    rejects(t, `[d]\nsequence = 1\n${cmd(4096)}\n`, 'config: line 4: syntax error', 4);
    t.equal(door1(`${cmd(4096).slice(0, 4095)}`).startCommand, 'x'.repeat(4085));
    // 8200 bytes: three reads; the second one has no '='.
    rejects(t, `[d]\nsequence = 1\n${cmd(8200)}\n`, 'config: line 4: syntax error', 4);
    // A long comment line: only its first 4095 bytes are a comment.
    rejects(t, `[d]\nsequence = 1\n#${'c'.repeat(5000)}\n`, 'config: line 4: syntax error', 4);
    // The rest of a long line is a directive of its own.
    const d = door1(`${cmd(4095)}stop_command = y`);
    t.equal(d.startCommand, 'x'.repeat(4085));
    t.equal(d.stopCommand, 'y', 'the bytes after 4095 form the next logical line');
    rejects(t, `[d]\nsequence = 1\n${cmd(4095)}bogus\nx = 1\n`, 'config: line 4: syntax error', 4);
  });
});

// ---------------------------------------------------------------------------------------------
t.test('sections', async (t) => {
  t.test('[options] is the global section, case-sensitively', async (t) => {
    const c = parse('[options]\nLogFile = /tmp/a.log\n[d]\nsequence = 1\n');
    t.equal(c.options.logFile, '/tmp/a.log');
    t.same(c.doors.map((d) => d.name), ['d']);
    const o = parse('[Options]\nsequence = 1\n');
    t.same(o.doors.map((d) => d.name), ['Options'], '[Options] is a door');
    const u = parse('[OPTIONS]\nsequence = 1\n');
    t.same(u.doors.map((d) => d.name), ['OPTIONS'], '[OPTIONS] is a door');
    rejects(t, '[Options]\nlogfile = x\n', 'config: line 2: syntax error', 2);
    rejects(t, '[ options ]\nlogfile = x\n', 'config: line 2: syntax error', 2);
  });

  t.test('[options] may appear several times, between doors', async (t) => {
    const c = parse('[d]\nsequence = 1\n[options]\nLogFile = /tmp/a\n[e]\nsequence = 2\n[options]\nPidFile = /tmp/p\n');
    t.same(c.doors.map((d) => d.name), ['d', 'e']);
    t.equal(c.options.logFile, '/tmp/a');
    t.equal(c.options.pidFile, '/tmp/p');
    rejects(t, '[d]\nsequence = 1\n[options]\nsequence = 2\n', 'config: line 4: syntax error', 4);
  });

  t.test('section names are not trimmed, brackets only at the ends', async (t) => {
    t.equal(door('sequence = 1', ' spaced name ').name, ' spaced name ');
    t.equal(door('sequence = 1', 'a]b').name, 'a]b');
    t.equal(door('sequence = 1', '[x').name, '[x');
    t.equal(parse('   [d]   \nsequence = 1\n').doors[0]!.name, 'd', 'the line itself is trimmed');
    t.equal(door('sequence = 1', 'open SSH #1').name, 'open SSH #1');
  });

  t.test('door line numbers', async (t) => {
    const c = parse('# c\n\n[a]\nsequence = 1\n[options]\n[b]\nsequence = 2\n');
    t.same(c.doors.map((d) => [d.name, d.line]), [['a', 3], ['b', 6]]);
  });

  t.test('duplicate door names give two independent doors', async (t) => {
    const c = parse('[d]\nsequence = 1\ncommand = one\n[d]\nsequence = 2\n');
    t.equal(c.doors.length, 2);
    t.same(c.doors.map((d) => fmt(d.sequence)), ['1/tcp', '2/tcp']);
    t.equal(c.doors[0]!.startCommand, 'one');
    t.equal(c.doors[1]!.startCommand, undefined, 'nothing leaks into the second door');
  });

  t.test('door names are cut to 127 bytes', async (t) => {
    t.equal(door('sequence = 1', 'n'.repeat(300)).name, 'n'.repeat(127));
    t.equal(door('sequence = 1', 'n'.repeat(127)).name, 'n'.repeat(127));
    rejects(t, `[${'n'.repeat(300)}]\n`, `error: section '${'n'.repeat(127)}' has an empty knock sequence`, 1);
  });

  t.test('bad section name', async (t) => {
    rejects(t, '[]\n', 'config: line 1: bad section name', 1);
    rejects(t, '[d]\nsequence = 1\n\n[]\n', 'config: line 4: bad section name', 4);
    rejects(t, '  []  \n', 'config: line 1: bad section name', 1);
  });

  t.test('a header without its closing bracket is a directive', async (t) => {
    rejects(t, '[d]\nsequence = 1\n[bad\n', 'config: line 3: syntax error', 3);
    rejects(t, '[d]\nsequence = 1\n[bad = 1\n', 'config: line 3: syntax error', 3);
    rejects(t, '[d]\nsequence = 1\n[e] # comment\n', 'config: line 3: syntax error', 3);
    rejects(t, '[bad\n', 'config: line 1: all directives must belong to a section', 1);
  });

  t.test('all directives must belong to a section', async (t) => {
    rejects(t, 'sequence = 1\n', 'config: line 1: all directives must belong to a section', 1);
    rejects(t, '# c\n\nLogFile = /tmp/x\n[options]\n', 'config: line 3: all directives must belong to a section', 3);
    rejects(t, 'UseSyslog\n[options]\n', 'config: line 1: all directives must belong to a section', 1);
    rejects(t, 'bogus\n', 'config: line 1: all directives must belong to a section', 1);
  });
});

// ---------------------------------------------------------------------------------------------
t.test('[options] keys (1.2)', async (t) => {
  t.test('defaults', async (t) => {
    const c = parse('[d]\nsequence = 1\n');
    t.equal(c.options.useSyslog, false);
    t.equal(c.options.logFile, undefined);
    t.equal(c.options.pidFile, undefined, 'pidfile unset (the default path is applied elsewhere)');
    t.equal(c.options.interfaces, undefined, 'interface unset (eth0 is applied elsewhere)');
    t.equal(c.path, FILE);
    t.same(c.warnings, []);
  });

  t.test('UseSyslog: bare word, any case, any section', async (t) => {
    t.equal(parse('[options]\nUseSyslog\n').options.useSyslog, true);
    t.equal(parse('[options]\nusesyslog\n').options.useSyslog, true);
    t.equal(parse('[options]\nUSESYSLOG\n').options.useSyslog, true);
    t.equal(parse('[options]\n  UseSyslog  \n').options.useSyslog, true);
    const c = parse('[d]\nsequence = 1\nUseSyslog\n');
    t.equal(c.options.useSyslog, true, 'in a door section');
    t.equal(c.doors.length, 1);
    t.equal(parse('[Options]\nsequence = 1\nUseSyslog\n').options.useSyslog, true, 'in the door [Options]');
  });

  t.test('UseSyslog with a value is a syntax error', async (t) => {
    rejects(t, '[options]\nUseSyslog = yes\n', 'config: line 2: syntax error', 2);
    rejects(t, '[options]\nUseSyslog =\n', 'config: line 2: syntax error', 2);
    rejects(t, '[d]\nsequence = 1\nUseSyslog = 1\n', 'config: line 3: syntax error', 3);
    rejects(t, '[options]\nUse Syslog\n', 'config: line 2: syntax error', 2);
    rejects(t, '[options]\nUseSyslog yes\n', 'config: line 2: syntax error', 2);
  });

  t.test('LogFile', async (t) => {
    t.equal(parse('[options]\nLogFile = /var/log/knockd.log\n').options.logFile, '/var/log/knockd.log');
    t.equal(parse('[options]\nlogfile=/tmp/a b.log\n').options.logFile, '/tmp/a b.log');
    t.equal(parse('[options]\nLogFile = /tmp/a\nLogFile = /tmp/b\n').options.logFile, '/tmp/b', 'last wins');
    t.equal(parse('[options]\nLogFile =\n').options.logFile, '', 'empty value is kept as empty');
  });

  t.test('PidFile', async (t) => {
    t.equal(parse('[options]\nPidFile = /run/k.pid\n').options.pidFile, '/run/k.pid');
    t.equal(parse('[options]\nPIDFILE = /tmp/a\npidfile = /tmp/b\n').options.pidFile, '/tmp/b', 'last wins');
  });

  t.test('Interface', async (t) => {
    t.same(parse('[options]\nInterface = eth0\n').options.interfaces, ['eth0']);
    t.same(parse('[options]\ninterface=eth1\n').options.interfaces, ['eth1']);
    t.same(parse('[options]\nInterface = eth0,wg0\n').options.interfaces, ['eth0', 'wg0'], 'comma list (Sesame)');
    t.same(parse('[options]\nInterface = eth0 , wg0\n').options.interfaces, ['eth0', 'wg0'], 'names trimmed');
    t.same(parse('[options]\nInterface = eth1\nInterface = eth2\n').options.interfaces, ['eth1'], 'first line wins');
    t.same(parse('[options]\nInterface = eth1\n[options]\nInterface = eth2\n').options.interfaces, ['eth1']);
  });

  t.test('door keys are syntax errors in [options]', async (t) => {
    for (const key of ['sequence = 1', 'command = x', 'tcpflags = syn', 'seq_timeout = 5', 'target = 10.0.0.1',
      'one_time_sequences = /tmp/x', 'cmd_timeout = 5', 'stop_command = x']) {
      rejects(t, `[options]\n${key}\n`, 'config: line 2: syntax error', 2);
    }
  });

  t.test('option keys are syntax errors in a door', async (t) => {
    for (const key of ['LogFile = /tmp/x', 'PidFile = /tmp/x', 'Interface = eth0']) {
      rejects(t, `[d]\nsequence = 1\n${key}\n`, 'config: line 3: syntax error', 3);
    }
  });

  t.test('unknown keys and lines without =', async (t) => {
    rejects(t, '[options]\nFoo = bar\n', 'config: line 2: syntax error', 2);
    rejects(t, '[d]\nsequence = 1\nfoo = bar\n', 'config: line 3: syntax error', 3);
    rejects(t, '[d]\nsequence = 1\nsequence\n', 'config: line 3: syntax error', 3);
    rejects(t, '[d]\nsequence = 1\n= 5\n', 'config: line 3: syntax error', 3);
    rejects(t, '[d]\nsequence = 1\n=\n', 'config: line 3: syntax error', 3);
    rejects(t, '[options]\nLogFile\n', 'config: line 2: syntax error', 2);
  });
});

// ---------------------------------------------------------------------------------------------
t.test('door keys (1.3)', async (t) => {
  t.test('defaults', async (t) => {
    const d = door('sequence = 7000');
    t.equal(d.name, 'd');
    t.equal(d.line, 1);
    t.equal(d.seqTimeout, 25);
    t.equal(d.cmdTimeout, 10);
    t.equal(d.startCommand, undefined);
    t.equal(d.startCommand6, undefined);
    t.equal(d.stopCommand, undefined);
    t.equal(d.stopCommand6, undefined);
    t.same(d.tcpFlags, { set: 0, clear: 0 });
    t.equal(d.target, undefined);
    t.equal(d.oneTime, undefined);
  });

  t.test('Sequence: later line replaces the earlier one', async (t) => {
    t.equal(fmt(door('sequence = 1,2,3\nsequence = 4').sequence), '4/tcp');
    t.equal(fmt(door('Sequence = 7000,8000:udp').sequence), '7000/tcp,8000/udp');
  });

  t.test('Seq_Timeout and its alias Timeout', async (t) => {
    t.equal(door1('seq_timeout = 5').seqTimeout, 5);
    t.equal(door1('Seq_Timeout=7').seqTimeout, 7);
    t.equal(door1('timeout = 9').seqTimeout, 9);
    t.equal(door1('TIMEOUT = 11').seqTimeout, 11);
    t.equal(door1('timeout = 3\nseq_timeout = 4').seqTimeout, 4, 'last wins across aliases');
    t.equal(door1('seq_timeout = 4\ntimeout = 3').seqTimeout, 3);
    t.equal(door1('seq_timeout = 0').seqTimeout, 0);
    t.equal(door1('seq_timeout = 99999999999').seqTimeout, 1215752191, 'atoi keeps the low 32 bits');
  });

  t.test('Start_Command and its alias Command', async (t) => {
    t.equal(door1('start_command = a').startCommand, 'a');
    t.equal(door1('Start_Command=b').startCommand, 'b');
    t.equal(door1('command = c').startCommand, 'c');
    t.equal(door1('Command = c\nstart_command = d').startCommand, 'd', 'last wins across aliases');
    t.equal(door1('command =').startCommand, '', 'empty value = set, runs nothing');
    t.equal(door1('command =').startCommand6, undefined, 'does not set the IPv6 command');
  });

  t.test('Start_Command_6 and its alias Command_6', async (t) => {
    t.equal(door1('start_command_6 = a6').startCommand6, 'a6');
    t.equal(door1('Command_6 = b6').startCommand6, 'b6');
    t.equal(door1('COMMAND_6=').startCommand6, '');
    t.equal(door1('command_6 = x').startCommand, undefined, 'does not set the IPv4 command');
    t.equal(door1('command_6 = a\nstart_command_6 = b').startCommand6, 'b');
    rejects(t, '[d]\nsequence = 1\ncommand6 = x\n', 'config: line 3: syntax error', 3);
    rejects(t, '[d]\nsequence = 1\nstart_command6 = x\n', 'config: line 3: syntax error', 3);
  });

  t.test('Stop_Command and Stop_Command_6 (no aliases)', async (t) => {
    const d = door1('stop_command = s\nSTOP_COMMAND_6 = s6');
    t.equal(d.stopCommand, 's');
    t.equal(d.stopCommand6, 's6');
    t.equal(door1('Stop_Command =').stopCommand, '');
    t.equal(door1('stop_command_6 =').stopCommand6, '');
    t.equal(door1('stop_command = a\nstop_command = b').stopCommand, 'b');
    rejects(t, '[d]\nsequence = 1\nstop_command6 = x\n', 'config: line 3: syntax error', 3);
    rejects(t, '[d]\nsequence = 1\nstop = x\n', 'config: line 3: syntax error', 3);
    rejects(t, '[d]\nsequence = 1\nstopcommand = x\n', 'config: line 3: syntax error', 3);
  });

  t.test('Cmd_Timeout', async (t) => {
    t.equal(door1('cmd_timeout = 3').cmdTimeout, 3);
    t.equal(door1('CMD_TIMEOUT=0').cmdTimeout, 0);
    t.equal(door1('cmd_timeout = 99999999999').cmdTimeout, 1215752191);
    t.equal(door1('cmd_timeout = 1\ncmd_timeout = 2').cmdTimeout, 2);
    rejects(t, '[d]\nsequence = 1\ncmd_timeout = 5\ncommand_timeout = 5\n', 'config: line 4: syntax error', 4);
  });

  t.test('Cmd_Timeout: negative is an error (Sesame ruling)', async (t) => {
    rejects(t, '[d]\nsequence = 1\ncmd_timeout = -1\n', 'config: line 3: cmd_timeout cannot be negative', 3);
    rejects(t, '[d]\nsequence = 1\n\ncmd_timeout = -5s\n', 'config: line 4: cmd_timeout cannot be negative', 4);
    rejects(t, '[d]\nsequence = 1\ncmd_timeout = 4294967295\n', 'config: line 3: cmd_timeout cannot be negative', 3);
    t.equal(door1('cmd_timeout = -0').cmdTimeout, 0, '-0 is zero');
  });

  t.test('non-numeric timeouts: C atoi plus a warning', async (t) => {
    let c = parse('[d]\nsequence = 1\nseq_timeout = abc\n');
    t.equal(c.doors[0]!.seqTimeout, 0, 'abc -> 0');
    t.equal(c.warnings.length, 1);
    t.match(c.warnings[0], /line 3/);
    t.match(c.warnings[0], /"abc"/);
    c = parse('[d]\nsequence = 1\ntimeout = 5s\n');
    t.equal(c.doors[0]!.seqTimeout, 5, '5s -> 5');
    t.equal(c.warnings.length, 1);
    t.match(c.warnings[0], /line 3/);
    t.match(c.warnings[0], /"5s"/);
    c = parse('[d]\nsequence = 1\n\ncmd_timeout = 7 seconds\n');
    t.equal(c.doors[0]!.cmdTimeout, 7);
    t.equal(c.warnings.length, 1);
    t.match(c.warnings[0], /line 4/);
    c = parse('[d]\nsequence = 1\ncmd_timeout = abc\n');
    t.equal(c.doors[0]!.cmdTimeout, 0);
    t.equal(c.warnings.length, 1);
    c = parse('[d]\nsequence = 1\nseq_timeout =\n');
    t.equal(c.doors[0]!.seqTimeout, 0, 'empty -> 0');
    t.equal(c.warnings.length, 1);
    c = parse('[d]\nsequence = 1\nseq_timeout = 5\ncmd_timeout = 3\n');
    t.same(c.warnings, [], 'plain numbers do not warn');
    c = parse('[d]\nsequence = 1\nseq_timeout = 5.9\n');
    t.equal(c.doors[0]!.seqTimeout, 5, '5.9 -> 5');
    t.equal(c.warnings.length, 1);
  });

  t.test('negative seq_timeout is accepted (knockd does) with a warning', async (t) => {
    const c = parse('[d]\nsequence = 1\nseq_timeout = -5\n');
    t.equal(c.doors[0]!.seqTimeout, -5);
    t.ok(c.warnings.some((w) => /line 3/.test(w)), 'a warning names the line');
  });

  t.test('Target: IP literals, IPv6 canonicalised (Sesame ruling)', async (t) => {
    t.equal(door1('target = 10.77.0.50').target, '10.77.0.50');
    t.equal(door1('Target=192.168.1.1').target, '192.168.1.1');
    t.equal(door1('target = fd77::1').target, 'fd77::1');
    t.equal(door1('target = FD77:0:0::01').target, 'fd77::1');
    t.equal(door1('target = 2001:DB8:0:0:0:0:0:1').target, '2001:db8::1');
    t.equal(door1('target = 2001:db8:0:0:1:0:0:1').target, '2001:db8::1:0:0:1', 'first of two equal runs');
    t.equal(door1('target = 2001:db8:0:1:1:1:1:1').target, '2001:db8:0:1:1:1:1:1', 'a single 0 group stays');
    t.equal(door1('target = ::').target, '::');
    t.equal(door1('target = ::FFFF:10.0.0.1').target, '::ffff:10.0.0.1');
    t.equal(door1('target = 10.0.0.1\ntarget = 10.0.0.2').target, '10.0.0.2', 'last wins');
  });

  t.test('Target: anything else is an error (Sesame ruling)', async (t) => {
    rejects(t, '[d]\nsequence = 1\ntarget = myhost\n', 'config: line 3: invalid target address "myhost"', 3);
    rejects(t, '[d]\nsequence = 1\ntarget =\n', 'config: line 3: invalid target address ""', 3);
    rejects(t, '[d]\nsequence = 1\ntarget = 10.0.0.0/24\n', 'config: line 3: invalid target address "10.0.0.0/24"', 3);
    rejects(t, '[d]\nsequence = 1\ntarget = 10.0.0.256\n', 'config: line 3: invalid target address "10.0.0.256"', 3);
    rejects(t, '[d]\nsequence = 1\ntarget = fe80::1%eth0\n', 'config: line 3: invalid target address "fe80::1%eth0"', 3);
    rejects(t, '[d]\nsequence = 1\ntarget = 10.0.0.1 # c\n', 'config: line 3: invalid target address "10.0.0.1 # c"', 3);
  });
});

// ---------------------------------------------------------------------------------------------
t.test('TCPFlags (1.3)', async (t) => {
  const flags = (v: string) => door1(`tcpflags = ${v}`).tcpFlags;

  t.test('each flag sets its bit', async (t) => {
    t.same(flags('fin'), { set: FIN, clear: 0 });
    t.same(flags('syn'), { set: SYN, clear: 0 });
    t.same(flags('rst'), { set: RST, clear: 0 });
    t.same(flags('psh'), { set: PSH, clear: 0 });
    t.same(flags('ack'), { set: ACK, clear: 0 });
    t.same(flags('urg'), { set: URG, clear: 0 });
    t.same(flags('FIN,SYN,RST,PSH,ACK,URG'), { set: 0x3f, clear: 0 });
  });

  t.test('! negates (must be clear)', async (t) => {
    t.same(flags('!fin'), { set: 0, clear: FIN });
    t.same(flags('!syn'), { set: 0, clear: SYN });
    t.same(flags('!rst'), { set: 0, clear: RST });
    t.same(flags('!psh'), { set: 0, clear: PSH });
    t.same(flags('!ack'), { set: 0, clear: ACK });
    t.same(flags('!urg'), { set: 0, clear: URG });
    t.same(flags('SYN,!ack'), { set: SYN, clear: ACK }, 'case 9');
  });

  t.test('any case', async (t) => {
    t.same(flags('Syn'), { set: SYN, clear: 0 });
    t.same(flags('sYn,!AcK'), { set: SYN, clear: ACK });
    t.same(door1('TCPFLAGS = syn').tcpFlags, { set: SYN, clear: 0 }, 'key in upper case');
    t.same(door1('TcpFlags = syn').tcpFlags, { set: SYN, clear: 0 });
  });

  t.test('lines accumulate; the last word for a flag wins', async (t) => {
    t.same(door1('tcpflags = syn\ntcpflags = !ack').tcpFlags, { set: SYN, clear: ACK });
    t.same(door1('tcpflags = syn\ntcpflags = !syn').tcpFlags, { set: 0, clear: SYN });
    t.same(door1('tcpflags = !syn\ntcpflags = syn').tcpFlags, { set: SYN, clear: 0 });
    t.same(flags('syn,!syn'), { set: 0, clear: SYN }, 'within one line too');
    t.same(flags('!ack,ack'), { set: ACK, clear: 0 });
    t.same(door1('tcpflags = syn,!ack\ntcpflags = !syn,fin\ntcpflags = urg,psh,!rst,ack').tcpFlags,
      { set: FIN | PSH | ACK | URG, clear: SYN | RST });
    t.same(flags('syn,syn'), { set: SYN, clear: 0 }, 'repeats are harmless');
  });

  t.test('flags are per door', async (t) => {
    const c = parse('[a]\nsequence = 1\ntcpflags = syn\n[b]\nsequence = 2\n');
    t.same(c.doors[0]!.tcpFlags, { set: SYN, clear: 0 });
    t.same(c.doors[1]!.tcpFlags, { set: 0, clear: 0 });
  });

  t.test('blanks around flags are accepted (Sesame ruling, case 34 differs)', async (t) => {
    t.same(flags('syn, ack'), { set: SYN | ACK, clear: 0 });
    t.same(flags('syn , !ack'), { set: SYN, clear: ACK });
    t.same(flags('\tsyn\t,\tack'), { set: SYN | ACK, clear: 0 });
  });

  t.test('unrecognized flag: exact token, upper-cased, untrimmed', async (t) => {
    const bad = (v: string, token: string) =>
      rejects(t, `[d]\nsequence = 1\ntcpflags = ${v}\n`, `config: line 3: unrecognized flag "${token}"`, 3);
    bad('syn # x', 'SYN # X');
    bad('syn,bogus', 'BOGUS');
    bad('ece', 'ECE');
    bad('cwr', 'CWR');
    bad('!', '!');
    bad('!!syn', '!!SYN');
    bad('! syn', '! SYN');
    bad('syn,', '');
    bad(',syn', '');
    bad('syn,,ack', '');
    bad('syn ack', 'SYN ACK');
    bad('syn;ack', 'SYN;ACK');
    bad('syn, bogus', ' BOGUS');
    bad('synx', 'SYNX');
    bad('sy', 'SY');
    rejects(t, '[d]\nsequence = 1\ntcpflags =\n', 'config: line 3: unrecognized flag ""', 3);
    rejects(t, '[d]\nsequence = 1\n\n\ntcpflags = syn\ntcpflags = nope\n', 'config: line 6: unrecognized flag "NOPE"', 6);
  });
});

// ---------------------------------------------------------------------------------------------
t.test('sequence parsing (1.3)', async (t) => {
  t.test('ports and protocols', async (t) => {
    t.equal(seq('7000,8000,9000'), '7000/tcp,8000/tcp,9000/tcp');
    t.equal(seq('7000'), '7000/tcp', 'a single port');
    t.equal(seq('7000,7000,7000'), '7000/tcp,7000/tcp,7000/tcp', 'repeats allowed');
    t.equal(seq('2222:udp,3333:tcp,4444:UDP'), '2222/udp,3333/tcp,4444/udp');
    t.equal(seq('1:Udp,2:tCp,3:TCP,4:uDP'), '1/udp,2/tcp,3/tcp,4/udp');
    t.equal(seq('7000 : udp ,8000:\ttcp\t'), '7000/udp,8000/tcp', 'protocol trimmed');
    t.equal(seq('7000:udp:junk'), '7000/udp', 'text after a second : ignored');
    t.equal(seq('7000 : UdP : junk, 8000:TCP:,9000: tcp '), '7000/udp,8000/tcp,9000/tcp');
    t.equal(seq('7000:udp:'), '7000/udp');
    t.equal(seq('0'), '0/tcp');
    t.equal(seq('65535'), '65535/tcp');
  });

  t.test('ports are read with atoi', async (t) => {
    t.equal(seq('8000 # c'), '8000/tcp');
    t.equal(seq('7000,8000 # comment'), '7000/tcp,8000/tcp');
    t.equal(seq('-1'), '65535/tcp');
    t.equal(seq('abc'), '0/tcp');
    t.equal(seq('abc:udp'), '0/udp');
    t.equal(seq('4294967296'), '0/tcp');
    t.equal(seq('4294967295'), '65535/tcp');
    t.equal(seq('-70000'), '61072/tcp');
    t.equal(seq('-65536'), '0/tcp');
    t.equal(seq('+5'), '5/tcp');
    t.equal(seq(' \t7'), '7/tcp', 'leading blanks');
    t.equal(seq('12abc'), '12/tcp');
    t.equal(seq('0x10'), '0/tcp', 'no hex');
    t.equal(seq('010'), '10/tcp', 'no octal');
    t.equal(seq('1e3'), '1/tcp');
    t.equal(seq('99999999999999999999'), '65535/tcp', 'strtol clamps to LONG_MAX');
    t.equal(seq('-99999999999999999999'), '0/tcp', 'strtol clamps to LONG_MIN');
    t.equal(seq('- 5'), '0/tcp');
  });

  t.test('empty fields are kept as port 0/tcp', async (t) => {
    t.equal(seq('9000,'), '9000/tcp,0/tcp');
    t.equal(seq(''), '0/tcp', '`sequence =` is one port 0');
    t.equal(seq(','), '0/tcp,0/tcp');
    t.equal(seq('1,,2'), '1/tcp,0/tcp,2/tcp');
    t.equal(seq(':udp'), '0/udp');
  });

  t.test('case 38: last Sequence wins, trailing comma = port 0', async (t) => {
    t.equal(seq('-1, 7000:udp ,8000 # c'), '65535/tcp,7000/udp,8000/tcp');
    t.equal(fmt(door('sequence = -1, 7000:udp ,8000 # c\nsequence=9000,').sequence), '9000/tcp,0/tcp');
  });

  t.test('port invalid: message keeps the untrimmed port text', async (t) => {
    const bad = (v: string, port: string, door = 'd') =>
      rejects(t, `[${door}]\nsequence = ${v}\n`, `config: section ${door}: port ${port} is invalid`, 2);
    bad('70000', '70000');
    bad('65536', '65536');
    bad('7000, 70000', ' 70000');
    bad('7000,  70000 ,8000', '  70000 ');
    bad('7000, 70000 :udp', ' 70000 ');
    bad('70000:udp', '70000');
    bad('70000:bogus', '70000', 'd');
    bad('99999999999', '99999999999');
    bad('2147483647', '2147483647');
    bad('70000 # c', '70000 # c');
    bad('70000', '70000', 'open SSH');
    rejects(t, '[d]\nsequence = 1\n\nsequence = 1,70000\n', 'config: section d: port 70000 is invalid', 4);
  });

  t.test('unknown protocol', async (t) => {
    const bad = (v: string) =>
      rejects(t, `[d]\nsequence = ${v}\n`, 'config: section d: unknown protocol in knock sequence', 2);
    bad('7000:icmp');
    bad('7000:');
    bad('7000: ');
    bad('7000:tcpx');
    bad('7000:t cp');
    bad('7000:udp6');
    bad('1,2,3:sctp');
    rejects(t, '[my door]\nsequence = 1:x\n', 'config: section my door: unknown protocol in knock sequence', 2);
  });

  t.test('at most 32 ports (case 37)', async (t) => {
    const ports = (n: number) => Array.from({ length: n }, (_, i) => String(1000 + i)).join(',');
    t.equal(door(`sequence = ${ports(32)}`).sequence.length, 32, '32 is fine');
    rejects(t, `[d]\nsequence = ${ports(33)}\n`, 'config: section d: too many ports in knock sequence', 2);
    rejects(t, `[d]\nsequence = ${ports(40)}\n`, 'config: section d: too many ports in knock sequence', 2);
    rejects(t, `[d]\nsequence = ${ports(32)},\n`, 'config: section d: too many ports in knock sequence', 2);
    rejects(t, `[d]\nsequence = ${ports(32)},70000\n`, 'config: section d: too many ports in knock sequence', 2);
    rejects(t, `[d]\nsequence = ${ports(32)},1:bogus\n`, 'config: section d: too many ports in knock sequence', 2);
    rejects(t, `[d]\nsequence = 70000,${ports(40)}\n`, 'config: section d: port 70000 is invalid', 2);
    rejects(t, `[d]\nsequence = 1:bogus,${ports(40)}\n`, 'config: section d: unknown protocol in knock sequence', 2);
  });

  t.test('empty knock sequence (checked after the whole file)', async (t) => {
    rejects(t, '[d]\n', "error: section 'd' has an empty knock sequence", 1);
    rejects(t, '[a]\nsequence = 1\n\n[b]\ncommand = x\ntcpflags = syn\n', "error: section 'b' has an empty knock sequence", 4);
    rejects(t, '[x]\n[y]\n', "error: section 'x' has an empty knock sequence", 1);
    rejects(t, '[ sp ]\n', "error: section ' sp ' has an empty knock sequence", 1);
    rejects(t, '[d]\n[e]\nsequence = 1\nbogus\n', 'config: line 4: syntax error', 4);
    rejects(t, '[d]\n[]\n', 'config: line 2: bad section name', 2);
    t.equal(parse('[d]\nsequence =\n').doors.length, 1, '`sequence =` is not empty');
  });
});

// ---------------------------------------------------------------------------------------------
t.test('One_Time_Sequences (1.3, 2.9)', async (t) => {
  t.test('the first valid line becomes the sequence', async (t) => {
    const dir = tempDir(t);
    const f = join(dir, 'ots');
    writeFileSync(f, '# c\n 1001,1002,1003\n2001,2002:udp,2003\n\n 3001,3002\n');
    const c = parse(`[d]\none_time_sequences = ${f}\n`);
    const d = c.doors[0]!;
    t.equal(fmt(d.sequence), '1001/tcp,1002/tcp,1003/tcp');
    t.same(d.oneTime, { path: f, line: 2 });
    t.same(c.warnings, []);
    t.equal(door(`One_Time_Sequences = ${f}`).oneTime?.line, 2, 'key case-insensitive');
    t.equal(door(`ONE_TIME_SEQUENCES=${f}`).oneTime?.path, f);
  });

  t.test('invalid lines are skipped with a warning naming path and line', async (t) => {
    const dir = tempDir(t);
    const f = join(dir, 'ots');
    writeFileSync(f, '# c\n 1001,70000\n\n7:bogus\n 2001,2002:udp\n3001\n');
    const c = parse(`[d]\none_time_sequences = ${f}\n`);
    t.equal(fmt(c.doors[0]!.sequence), '2001/tcp,2002/udp');
    t.same(c.doors[0]!.oneTime, { path: f, line: 5 });
    t.equal(c.warnings.length, 2);
    t.match(c.warnings[0], f);
    t.match(c.warnings[0], 'line 2');
    t.match(c.warnings[0], 'config: section d: port 70000 is invalid');
    t.match(c.warnings[1], f);
    t.match(c.warnings[1], 'line 4');
    t.match(c.warnings[1], 'config: section d: unknown protocol in knock sequence');
  });

  t.test('OTS lines: CRLF, comments, atoi, too many ports', async (t) => {
    const dir = tempDir(t);
    const f = join(dir, 'ots');
    const many = Array.from({ length: 33 }, (_, i) => String(i + 1)).join(',');
    writeFileSync(f, `\r\n  # x\r\n${many}\r\n 5000 # c ,6000:UDP\r\n`);
    const c = parse(`[d]\none_time_sequences = ${f}\n`);
    t.equal(fmt(c.doors[0]!.sequence), '5000/tcp,6000/udp');
    t.equal(c.doors[0]!.oneTime?.line, 4);
    t.equal(c.warnings.length, 1);
    t.match(c.warnings[0], 'line 3');
    t.match(c.warnings[0], 'too many ports in knock sequence');
  });

  t.test('no usable line: the door is disabled, config rejected', async (t) => {
    const dir = tempDir(t);
    const msg = (d: string) => `no more sequences left in the one time sequences file for door ${d} --> disabling the door`;
    const comments = join(dir, 'comments');
    writeFileSync(comments, '# only\n#x\n\n   \n');
    rejects(t, `[d]\none_time_sequences = ${comments}\n`, msg('d'), 2);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    rejects(t, `[d]\nsequence = 1\n\none_time_sequences = ${empty}\n`, msg('d'), 4);
    const invalid = join(dir, 'invalid');
    writeFileSync(invalid, ' 1001,70000\n7:bogus\n');
    rejects(t, `[open SSH]\none_time_sequences = ${invalid}\n`, msg('open SSH'), 2);
  });

  t.test('file errors: perror(path)', async (t) => {
    const dir = tempDir(t);
    const missing = join(dir, 'missing');
    rejects(t, `[d]\none_time_sequences = ${missing}\n`, `${missing}: No such file or directory`, 2);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    rejects(t, `[d]\nsequence = 1\none_time_sequences = ${sub}\n`, `${sub}: Is a directory`, 3);
    writeFileSync(join(dir, 'file'), '1\n');
    const notdir = join(dir, 'file', 'x');
    rejects(t, `[d]\none_time_sequences = ${notdir}\n`, `${notdir}: Not a directory`, 2);
  });

  t.test('the file must be writable (fopen r+), via ConfigIO', async (t) => {
    const io: ConfigIO = {
      readFile: () => Buffer.from('1001,1002\n'),
      checkRewritable: () => { throw Object.assign(new Error('EACCES'), { code: 'EACCES' }); },
    };
    rejects(t, '[d]\none_time_sequences = /srv/ots\n', '/srv/ots: Permission denied', 2, io);
    const ok: ConfigIO = { readFile: () => Buffer.from('# c\n4001,4002:udp\n'), checkRewritable: () => {} };
    const d = parse('[d]\none_time_sequences = /srv/ots\n', ok).doors[0]!;
    t.equal(fmt(d.sequence), '4001/tcp,4002/udp');
    t.same(d.oneTime, { path: '/srv/ots', line: 2 });
  });

  t.test('a later Sequence line replaces the loaded sequence', async (t) => {
    const dir = tempDir(t);
    const f = join(dir, 'ots');
    writeFileSync(f, '1001,1002\n');
    t.equal(fmt(door(`sequence = 5\none_time_sequences = ${f}`).sequence), '1001/tcp,1002/tcp');
    t.equal(fmt(door(`one_time_sequences = ${f}\nsequence = 6`).sequence), '6/tcp');
  });
});

// ---------------------------------------------------------------------------------------------
t.test('spec cases 34-38', async (t) => {
  // 34: knockd rejects `syn, ack` (" ACK"); Sesame accepts it by ruling.
  t.same(door1('tcpflags = syn, ack').tcpFlags, { set: SYN | ACK, clear: 0 }, '34 (Sesame ruling)');
  rejects(t, '[Options]\nlogfile = x\n', 'config: line 2: syntax error', 2);
  rejects(t, '[options]\n\tUseSyslog = yes\n', 'config: line 2: syntax error', 2);
  const ports = (n: number) => Array.from({ length: n }, (_, i) => String(2000 + i)).join(',');
  t.equal(door(`sequence = ${ports(32)}`).sequence.length, 32, '37: 32 ok');
  rejects(t, `[d]\nsequence = ${ports(33)}\n`, 'config: section d: too many ports in knock sequence', 2);
  t.equal(fmt(door('sequence = -1, 7000:udp ,8000 # c\nsequence=9000,').sequence), '9000/tcp,0/tcp', '38');
});

t.test('the default knockd.conf of the Debian package', async (t) => {
  const c = parse(`[options]
\tUseSyslog

[openSSH]
\tsequence    = 7000,8000,9000
\tseq_timeout = 5
\tcommand     = /sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
\ttcpflags    = syn

[closeSSH]
\tsequence    = 9000,8000,7000
\tseq_timeout = 5
\tcommand     = /sbin/iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
\ttcpflags    = syn

[openHTTPS]
\tsequence    = 12345,54321,24680,13579
\tseq_timeout = 5
\ttcpflags    = syn
\tstart_command = /usr/local/sbin/knock_add -i -c INPUT -p tcp -d 443 -f %IP%
\tcmd_timeout   = 10
\tstop_command  = /usr/local/sbin/knock_add -i -c INPUT -p tcp -d 443 -f %IP% -r
`);
  t.equal(c.options.useSyslog, true);
  t.same(c.doors.map((d) => d.name), ['openSSH', 'closeSSH', 'openHTTPS']);
  t.same(c.doors.map((d) => d.line), [4, 10, 16]);
  t.equal(fmt(c.doors[2]!.sequence), '12345/tcp,54321/tcp,24680/tcp,13579/tcp');
  t.equal(c.doors[0]!.startCommand, '/sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT');
  t.same(c.doors.map((d) => d.seqTimeout), [5, 5, 5]);
  t.same(c.doors.map((d) => d.tcpFlags), [{ set: SYN, clear: 0 }, { set: SYN, clear: 0 }, { set: SYN, clear: 0 }]);
  t.equal(c.doors[2]!.stopCommand, '/usr/local/sbin/knock_add -i -c INPUT -p tcp -d 443 -f %IP% -r');
  t.same(c.warnings, []);
});

// ---------------------------------------------------------------------------------------------
t.test('the result is deeply frozen', async (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'ots');
  writeFileSync(f, '1001,1002\n');
  const c = parse(`[options]\nUseSyslog\nLogFile = /tmp/x\nInterface = eth0,wg0\n[a]\nsequence = 1,2:udp\ntcpflags = syn\n` +
    `target = ::1\n[b]\none_time_sequences = ${f}\nseq_timeout = x\n`);
  t.same(deepFrozen(c), [], 'every object and array is frozen');
  t.ok(Object.isFrozen(c));
  t.ok(Object.isFrozen(c.options));
  t.ok(Object.isFrozen(c.options.interfaces));
  t.ok(Object.isFrozen(c.doors));
  t.ok(Object.isFrozen(c.doors[0]!.sequence));
  t.ok(Object.isFrozen(c.doors[0]!.sequence[0]));
  t.ok(Object.isFrozen(c.doors[0]!.tcpFlags));
  t.ok(Object.isFrozen(c.doors[1]!.oneTime));
  t.ok(Object.isFrozen(c.warnings));
  t.throws(() => { 'use strict'; (c.doors as Door[]).push(c.doors[0]!); }, TypeError);
  t.throws(() => { (c.options as { logFile: string }).logFile = 'y'; }, TypeError);
});

t.test('ConfigError and loadConfig', async (t) => {
  const e = catchError('[d]\nbogus\n');
  t.ok(e instanceof ConfigError);
  t.ok(e instanceof Error);
  if (e instanceof ConfigError) t.equal(e.name, 'ConfigError');

  const missing = join(tmpdir(), 'sesame-no-such-dir-xyz', 'knockd.conf');
  try {
    loadConfig(missing);
    t.fail('loadConfig of a missing file must throw');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    t.equal((err as ConfigError).message, `${missing}: No such file or directory`);
    t.equal((err as ConfigError).file, missing);
    t.equal((err as ConfigError).line, undefined);
  }

  const dir = tempDir(t);
  const conf = join(dir, 'knockd.conf');
  writeFileSync(conf, '[options]\r\nPidFile = /tmp/p\r\n[d]\r\nsequence = 7000:udp\r\n');
  const c = loadConfig(conf);
  t.equal(c.path, conf);
  t.equal(c.options.pidFile, '/tmp/p');
  t.equal(fmt(c.doors[0]!.sequence), '7000/udp');
  writeFileSync(conf, '[d]\nsequence = 1\nbogus\n');
  try {
    loadConfig(conf);
    t.fail('must throw');
  } catch (err) {
    t.equal((err as ConfigError).message, 'config: line 3: syntax error');
    t.equal((err as ConfigError).file, conf);
    t.equal((err as ConfigError).line, 3);
  }
});

// ---------------------------------------------------------------------------------------------
// knockd 0.8 (checked with /usr/sbin/knockd) behaves as asserted and no Sesame ruling covers a
// difference. These failed against the first version of the parser.
t.test('knockd compatibility', async (t) => {
  t.test('keys are upper-cased with ASCII toupper, not Unicode case mapping', async (t) => {
    // 'ſ' (U+017F) upper-cases to 'S' in JavaScript; knockd's toupper() leaves it alone.
    rejects(t, '[d]\nſequence = 1\n', 'config: line 2: syntax error', 2);
    rejects(t, '[options]\nuſeſyslog\n', 'config: line 2: syntax error', 2);
    rejects(t, '[d]\nsequence = 1\nﬆop_command = x\n', 'config: line 3: syntax error', 3);
  });

  t.test('TCP flags are upper-cased with ASCII toupper', async (t) => {
    rejects(t, '[d]\nsequence = 1\ntcpflags = ſyn\n', 'config: line 3: unrecognized flag "ſYN"', 3);
    rejects(t, '[d]\nsequence = 1\ntcpflags = é\n', 'config: line 3: unrecognized flag "é"', 3);
    rejects(t, '[d]\nsequence = 1\ntcpflags = ß\n', 'config: line 3: unrecognized flag "ß"', 3);
  });

  t.test('empty one_time_sequences path: perror("") prints the bare reason', async (t) => {
    rejects(t, '[d]\none_time_sequences =\n', 'No such file or directory', 2);
  });

  t.test('an empty Interface value is not an error and does not count as set', async (t) => {
    const e = catchError('[options]\nInterface =\n[d]\nsequence = 1\n');
    t.equal(typeof e, 'string', `knockd accepts \`Interface =\` (got ${e instanceof ConfigError ? e.message : e})`);
    if (typeof e === 'string') t.equal(parse('[options]\nInterface =\n[d]\nsequence = 1\n').options.interfaces, undefined);
    const e2 = catchError('[options]\nInterface =\nInterface = kd0\n[d]\nsequence = 1\n');
    t.equal(typeof e2, 'string', 'knockd takes the next non-empty Interface line');
    if (typeof e2 === 'string') {
      t.same(parse('[options]\nInterface =\nInterface = kd0\n[d]\nsequence = 1\n').options.interfaces, ['kd0']);
    }
  });
});
