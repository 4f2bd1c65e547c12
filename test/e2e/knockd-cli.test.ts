// The knockd command line as a user runs it: bin/knockd from the build, exit codes and messages.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KNOCKD_USAGE } from '../../lib/cli/knockd-usage.js';

const BIN = new URL('../../bin/knockd', import.meta.url).pathname;

function knockd(args: string[], opts: { asNobody?: boolean } = {}) {
  const cmd = opts.asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', BIN] : [BIN];
  const r = spawnSync(cmd[0]!, [...cmd.slice(1), ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE: process.execPath } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'sesame-cli-'));
chmodSync(dir, 0o755);
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); chmodSync(p, 0o644); return p; };

t.test('-h prints knockd\'s usage and exits 0', async (t) => {
  const r = knockd(['-h']);
  t.equal(r.code, 0);
  t.equal(r.stdout, KNOCKD_USAGE);
  t.ok(r.stdout.startsWith('usage: knockd [options]\noptions:\n  -i, --interface <int>  network interface to listen on (default "eth0")\n'));
});

t.test('-V prints the version and exits 0', async (t) => {
  const r = knockd(['--version']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^knockd 0\.8 compatible \(Sesame \d+\.\d+\.\d+\)\n$/);
});

t.test('unknown options: getopt\'s message, the usage, exit 0 (as knockd)', async (t) => {
  for (const [args, message] of [
    [['-x'], "knockd: invalid option -- 'x'"],
    [['--bogus'], "knockd: unrecognized option '--bogus'"],
    [['-c'], "knockd: option requires an argument -- 'c'"],
  ] as const) {
    const r = knockd([...args]);
    t.equal(r.code, 0, args.join(' '));
    t.equal(r.stderr.split('\n')[0], message);
    t.equal(r.stdout, KNOCKD_USAGE);
  }
});

t.test('--check prints the doors as understood', async (t) => {
  const conf = file('ok.conf', '[options]\n\tInterface = kd0\n[openSSH]\n\tsequence = 7000,8000:udp,9000\n\tseq_timeout = 5\n\tcommand = /sbin/iptables -A INPUT -s %IP% -j ACCEPT; logger opened # not a comment\n\ttcpflags = syn,!ack\n');
  const r = knockd(['--check', '-c', conf]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `door 'openSSH' (line 3):\n  sequence: 7000:tcp,8000:udp,9000:tcp\n  seq_timeout: 5\n  tcpflags: SYN,!ACK\n`);
  t.match(r.stdout, '  start_command: "/sbin/iptables -A INPUT -s %IP% -j ACCEPT; logger opened # not a comment"\n');
  t.match(r.stdout, '  interface: kd0\n');
});

t.test('short options grouped getopt-style (-4vc FILE, -cFILE)', async (t) => {
  const conf = file('g.conf', '[d]\nsequence = 1\n');
  t.equal(knockd(['-4vc', conf, '--check']).code, 0);
  t.equal(knockd([`-c${conf}`, '--check']).code, 0);
});

t.test('a config error: knockd\'s text, then the file and line; exit 1', async (t) => {
  const conf = file('bad.conf', '[d]\nsequence = 1\ntcpflags = syn # x\n');
  const r = knockd(['--check', '-c', conf]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `config: line 3: unrecognized flag "SYN # X"\n  (in ${conf}, line 3)\n`);
  t.equal(r.stdout, '');
});

t.test('a missing config file: perror-style message, exit 1', async (t) => {
  const r = knockd(['--check', '-c', '/nonexistent.conf']);
  t.equal(r.code, 1);
  t.equal(r.stderr, '/nonexistent.conf: No such file or directory\n');
});

t.test('lenient numbers warn but pass, as knockd reads them', async (t) => {
  const conf = file('w.conf', '[d]\nsequence = 1\nseq_timeout = 5s\n');
  const r = knockd(['--check', '-c', conf]);
  t.equal(r.code, 0);
  t.equal(r.stderr, `warning: ${conf}: line 3: seq_timeout value "5s" read as 5, as knockd does\n`);
  t.match(r.stdout, '  seq_timeout: 5\n');
});

t.test('a one-time sequences file the daemon user cannot rewrite is refused at start', { skip: process.getuid?.() !== 0 && 'needs root to switch to nobody' }, async (t) => {
  const ots = file('ots', '1,2\n');
  const conf = file('ots.conf', `[d]\none_time_sequences = ${ots}\n`);
  const r = knockd(['--check', '-c', conf], { asNobody: true });
  t.equal(r.code, 1);
  t.equal(r.stderr.split('\n')[0], `${ots}: Permission denied`);
  chmodSync(ots, 0o666);
  const r2 = knockd(['--check', '-c', conf], { asNobody: true });
  t.equal(r2.code, 1, 'file writable but its directory is not: the atomic rename would fail');
  t.equal(r2.stderr.split('\n')[0], `${ots}: Permission denied`);
  chmodSync(dir, 0o777);
  const r3 = knockd(['--check', '-c', conf], { asNobody: true });
  chmodSync(dir, 0o755);
  t.equal(r3.code, 0, r3.stderr);
});
