// One-time sequences (spec 2.9, cases 24–26) with real files: used lines get a '#' in front by
// an atomic rewrite, the next line is loaded, and exhaustion disables the door without a crash.

import type { Test } from 'tap';
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, chmodSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/parser.js';
import { ConfigError } from '../../lib/config/errors.js';
import { Engine } from '../../lib/engine/engine.js';
import { rotateOneTime } from '../../lib/onetime/rotate.js';
import { markLineUsed, nextOneTimeSequence } from '../../lib/config/onetime-scan.js';
import { CLIENT, SERVER4, knock } from '../helpers/knocks.js';

function setup(t: Test, fileText: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-ots-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ots');
  writeFileSync(file, fileText);
  const cfg = parseConfig(`[d]\none_time_sequences = ${file}\n`, 'test.conf');
  const logs: string[] = [];
  const m = new Engine(cfg, { localAddresses: [SERVER4], maxAttempts: 65_536, onlyIPv4: false }, { display: (ip) => ip, persistReplay: () => true });
  let now = 0;
  /** Knocks a sequence; returns the knock lines. The rotation runs as the daemon runs it, on each open. */
  const doKnock = (spec: string) => {
    const out: string[] = [];
    for (const k of knock(spec)) {
      for (const e of m.handle({ kind: 'packet', packet: k, at: now++, wall: 0 })) {
        if (e.kind === 'log') out.push(e.line);
        if (e.kind === 'rotate') {
          for (const r of m.handle({ kind: 'onetime-rotated', doorIndex: e.doorIndex, result: rotateOneTime(e.door.name, e.door.oneTime!.path, e.line, e.used) })) {
            if (r.kind === 'log') logs.push(r.line);
          }
        }
      }
    }
    return out;
  };
  return { file, dir, cfg, m, logs, doKnock, read: () => readFileSync(file, 'utf8') };
}

type Tap = typeof t;


const OPEN = `${CLIENT}: d: OPEN SESAME`;

t.test('case 24: each sequence in turn, a replay is ignored, exhaustion disables the door', async (t) => {
  const s = setup(t, '# c\n 1001,1002,1003\n2001,2002:udp,2003\n\n 3001,3002\n');
  t.same(s.cfg.doors[0]!.sequence.map((x) => x.port), [1001, 1002, 1003]);
  t.same(s.cfg.doors[0]!.oneTime, { path: s.file, line: 2 });
  t.ok(s.doKnock('1001 1002 1003').includes(OPEN));
  t.equal(s.read(), '# c\n# 1001,1002,1003\n2001,2002:udp,2003\n\n 3001,3002\n', "'#' prepended, no byte overwritten");
  t.notOk(s.doKnock('1001 1002 1003').includes(OPEN), 'replay of a used sequence is ignored');
  t.ok(s.doKnock('2001 2002:udp 2003').includes(OPEN));
  t.ok(s.doKnock('3001 3002').includes(OPEN));
  t.equal(s.read(), '# c\n# 1001,1002,1003\n#2001,2002:udp,2003\n\n# 3001,3002\n');
  t.same(s.logs, ['no more sequences left in the one time sequences file for door d --> disabling the door\n']);
  t.notOk(s.m.isEnabled(0));
  t.same(s.doKnock('3001 3002'), [], 'disabled door ignores knocks; nothing crashed');
});

t.test('case 25 (ruling): an invalid line before the used one is left alone; the used line is marked', async (t) => {
  const s = setup(t, ' 1001,70000\n 2001,2002\n 3001,3002\n');
  t.same(s.cfg.warnings, [`${s.file}: line 1: config: section d: port 70000 is invalid`]);
  t.equal(s.doKnock('2001 2002 2001 2002 2001 2002').filter((l) => l === OPEN).length, 1,
    'opens once (knockd 0.8 marked the invalid line and let 2001,2002 open again)');
  t.equal(s.read(), ' 1001,70000\n# 2001,2002\n 3001,3002\n');
  t.ok(s.doKnock('3001 3002').includes(OPEN));
});

t.test('case 26: a file with only comments is refused at start with knockd\'s message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-ots-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), '# a\n#b\n\n');
  t.throws(() => parseConfig(`[d]\none_time_sequences = ${join(dir, 'f')}\n`, 'x.conf'),
    new ConfigError('no more sequences left in the one time sequences file for door d --> disabling the door', 'x.conf', 2));
});

t.test('the rewrite keeps the file mode and leaves no temp file', async (t) => {
  const s = setup(t, '1,2\n3,4\n');
  chmodSync(s.file, 0o640);
  s.doKnock('1 2');
  t.equal(statSync(s.file).mode & 0o777, 0o640);
  t.same(readdirSync(s.dir), ['ots']);
});

t.test('the admin edited the file meanwhile: the line holding the used sequence is marked', async (t) => {
  const s = setup(t, '1,2\n3,4\n');
  writeFileSync(s.file, '# new header\n1,2\n3,4\n');
  s.doKnock('1 2');
  t.equal(s.read(), '# new header\n#1,2\n3,4\n');
});

t.test('an unrewritable file is a clear error at parse time (checked through the ConfigIO)', async (t) => {
  const io = {
    readFile: () => Buffer.from('1,2\n'),
    checkRewritable: () => { throw Object.assign(new Error('EACCES'), { code: 'EACCES' }); },
  };
  t.throws(() => parseConfig('[d]\none_time_sequences = /srv/ots\n', 'x.conf', io),
    new ConfigError('/srv/ots: Permission denied', 'x.conf', 2));
});

t.test('rewrite failure at run time disables the door with knockd\'s message, no crash', async (t) => {
  const s = setup(t, '1,2\n3,4\n');
  rmSync(s.dir, { recursive: true, force: true }); // the file vanishes under us
  s.doKnock('1 2');
  t.match(s.logs[0], /ots: ENOENT/);
  t.equal(s.logs[1], 'error while disabling used one time sequence for door d --> disabling the door\n');
  t.notOk(s.m.isEnabled(0));
});

t.test('a missing one-time file: perror-style message naming the path', async (t) => {
  t.throws(() => parseConfig('[d]\none_time_sequences = /nonexistent/ots\n', 'x.conf'),
    new ConfigError('/nonexistent/ots: No such file or directory', 'x.conf', 2));
});

t.test('scan helpers', async (t) => {
  t.same(nextOneTimeSequence('d', 'f', '#x\n\n  5,6:udp  \n').entry, { line: 3, steps: [{ port: 5, protocol: 'tcp' }, { port: 6, protocol: 'udp' }] });
  t.equal(nextOneTimeSequence('d', 'f', '#x\n').entry, undefined);
  t.equal(nextOneTimeSequence('d', 'f', '1\n2\n', 2).entry?.line, 2);
  t.equal(markLineUsed('a\nb\nc', 2), 'a\n#b\nc');
  t.equal(markLineUsed('a\r\nb\r\n', 1), '#a\r\nb\r\n', 'CRLF kept');
  t.throws(() => markLineUsed('a\n', 5), RangeError);
});
