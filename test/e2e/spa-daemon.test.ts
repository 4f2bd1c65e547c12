// SPA end to end: the real fwknop client (Debian 2.6.10) opens doors on Sesame's knockd, run as a
// user runs it, in network namespaces. Every HMAC digest type, short/normal/long keys, several
// ports, -f, -s; replayed, stale, wrong-key and out-of-policy packets are refused with their log
// lines, and the replay refusal survives a restart. IPv6 carries SPA too.

import type { Test } from 'tap';
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Lab, SESAME, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';

t.setTimeout(300_000);
const lab = new Lab(14, 'sd');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
t.teardown(() => lab.cleanup());

const DIGESTS = ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'sha3_256', 'sha3_512'] as const;
const b64 = (n: number) => randomBytes(n).toString('base64');

interface Door { name: string; key: { text?: string; b64?: string }; hmac: string; digest: string; extra?: string }
// One door per digest type, with short, normal and long encryption keys spread over them.
const doors: Door[] = DIGESTS.map((digest, i) => ({
  name: `spa-${digest}`,
  key: i % 3 === 0 ? { text: 'k' } : i % 3 === 1 ? { text: 'a normal passphrase' } : { b64: b64(32) },
  hmac: b64(digest.includes('384') || digest.includes('512') ? 128 : 64),
  digest,
}));
const strict: Door = { name: 'strict', key: { b64: b64(32) }, hmac: b64(64), digest: 'sha256', extra: '\tSPA_Require_Source_Address = yes\n' };
const all = [...doors, strict];

function doorConf(d: Door): string {
  return `[${d.name}]\n`
    + (d.key.text !== undefined ? `\tSPA_Key = ${d.key.text}\n` : `\tSPA_Key_Base64 = ${d.key.b64}\n`)
    + `\tSPA_HMAC_Key_Base64 = ${d.hmac}\n\tSPA_HMAC_Digest = ${d.digest}\n`
    + '\tSPA_Open_Ports = tcp/22, udp/1194, tcp/2222\n\tCmd_Timeout = 2\n\tSPA_Max_Timeout = 4\n'
    + (d.extra ?? '')
    + `\tStart_Command = echo OPEN ${d.name} %IP% %PROTO% %PORT% %TIMEOUT% >> @OUT@\n`
    + `\tStop_Command = echo CLOSE ${d.name} %IP% %PROTO% %PORT% >> @OUT@\n`;
}

const log = lab.file('sd.log');
const out = lab.file('sd.out');
const state = lab.file('state');
const conf = lab.file('sd.conf', (`[options]\n\tLogFile = @LOG@\n\tInterface = ${lab.sif}\n` + all.map(doorConf).join(''))
  .replaceAll('@LOG@', log).replaceAll('@OUT@', out));
let daemon: Daemon | undefined;
const lines = () => logLines(readIf(log));
const outLines = () => readIf(out).split('\n').filter(Boolean);

async function start(): Promise<void> {
  daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', state], log);
}

/** The real fwknop client in the client namespace; returns its output. */
function fwknop(d: Door, args: string[], opts: { save?: string; test?: boolean } = {}): string {
  const keyArgs = d.key.text !== undefined ? ['--key-rijndael', d.key.text] : ['--key-base64-rijndael', d.key.b64!];
  return lab.exec(lab.cli, [
    'env', `HOME=${lab.dir}`, 'fwknop', '--no-rc-file', '--no-save-args', '-D', lab.server4,
    ...keyArgs, '--key-base64-hmac', d.hmac, '--use-hmac', '--hmac-digest-type', d.digest,
    ...(opts.save ? ['-B', opts.save] : []), ...(opts.test ? ['-T'] : []), ...args,
  ]);
}

/** Sends saved packet text as one UDP datagram (v4 or v6) from the client namespace. */
function sendRaw(text: string, dst = lab.server4): void {
  const fam = dst.includes(':') ? 'AF_INET6' : 'AF_INET';
  lab.exec(lab.cli, ['python3', '-c', `import socket,sys;s=socket.socket(socket.${fam},socket.SOCK_DGRAM);s.sendto(sys.argv[1].encode(),('${dst}',62201))`, text]);
}

const newLines = (from: number) => lines().slice(from);
async function expectLog(t: Test, from: number, re: RegExp, what: string): Promise<void> {
  t.ok(await waitFor(() => newLines(from).some((l) => re.test(l)), 5000), what);
}

t.before(start);

t.test('every HMAC digest type, short/normal/long keys: the real fwknop client opens the door', async (t) => {
  for (const d of doors) {
    const from = lines().length;
    fwknop(d, ['-A', 'tcp/22', '-a', lab.client4]);
    await expectLog(t, from, new RegExp(`^${lab.client4}: ${d.name}: SPA: OPEN SESAME for ${lab.client4} tcp/22 \\(user \\S+, timeout 2s\\)$`), `${d.digest}: granted`);
    t.ok(await waitFor(() => outLines().includes(`OPEN ${d.name} ${lab.client4} tcp 22 2`), 5000), `${d.digest}: start command ran`);
  }
  t.ok(await waitFor(() => doors.every((d) => outLines().includes(`CLOSE ${d.name} ${lab.client4} tcp 22`)), 8000), 'stop commands ran after Cmd_Timeout');
});

t.test('several ports, -f capped by SPA_Max_Timeout, -s', async (t) => {
  const d = doors[2]!;
  let from = lines().length;
  fwknop(d, ['-A', 'tcp/22,udp/1194', '-a', lab.client4, '-f', '3']);
  await expectLog(t, from, new RegExp(`: ${d.name}: SPA: OPEN SESAME for ${lab.client4} tcp/22,udp/1194 \\(user \\S+, timeout 3s\\)$`), 'two ports, client timeout 3');
  t.ok(await waitFor(() => outLines().includes(`OPEN ${d.name} ${lab.client4} udp 1194 3`) && outLines().includes(`OPEN ${d.name} ${lab.client4} tcp 22 3`), 5000), 'one command per proto/port');

  from = lines().length;
  fwknop(d, ['-A', 'tcp/2222', '-a', lab.client4, '-f', '1000']);
  await expectLog(t, from, /SPA: OPEN SESAME for \S+ tcp\/2222 \(user \S+, timeout 4s\)$/, '-f 1000 capped at SPA_Max_Timeout 4');

  from = lines().length;
  fwknop(d, ['-A', 'tcp/22', '-s']);
  await expectLog(t, from, new RegExp(`: ${d.name}: SPA: OPEN SESAME for ${lab.client4} tcp/22`), '-s: the packet source gets access');

  from = lines().length;
  fwknop(strict, ['-A', 'tcp/22', '-s']);
  await expectLog(t, from, /: strict: SPA: refused: 0\.0\.0\.0 requested but SPA_Require_Source_Address is set$/, 'SPA_Require_Source_Address refuses -s');
});

t.test('refusals: replay, stale, wrong HMAC key, port not allowed', async (t) => {
  const d = doors[2]!;
  const saved = lab.file('pkt.txt');
  let from = lines().length;
  fwknop(d, ['-A', 'tcp/22', '-a', lab.client4], { save: saved });
  await expectLog(t, from, /SPA: OPEN SESAME/, 'original accepted');
  const pkt = readFileSync(saved, 'utf8').trim();
  // The command runs after the log line: count what it wrote only once it has.
  const before = outLines().length;
  await waitFor(() => outLines().length > before, 3000);

  from = lines().length;
  const opened = outLines().length;
  sendRaw(pkt);
  await expectLog(t, from, new RegExp(`^${lab.client4}: SPA: refused: replay detected \\(first seen from ${lab.client4} at `), 'replay detected');
  await sleep(300);
  t.equal(outLines().filter((l) => l.startsWith('OPEN')).length, outLines().slice(0, opened).filter((l) => l.startsWith('OPEN')).length, 'nothing opened for the replay');

  from = lines().length;
  fwknop(d, ['-A', 'tcp/22', '-a', lab.client4, '--time-offset-minus', '5min']);
  await expectLog(t, from, new RegExp(`: ${d.name}: SPA: refused: stale packet \\(\\d+ seconds old\\)$`), 'stale packet');

  from = lines().length;
  fwknop({ ...d, hmac: b64(64) }, ['-A', 'tcp/22', '-a', lab.client4]);
  await expectLog(t, from, new RegExp(`^${lab.client4}: SPA: refused: HMAC mismatch$`), 'wrong HMAC key');

  from = lines().length;
  fwknop(d, ['-A', 'tcp/80', '-a', lab.client4]);
  await expectLog(t, from, new RegExp(`: ${d.name}: SPA: refused: port not allowed \\(tcp/80\\)$`), 'port outside SPA_Open_Ports');

  // The replay refusal holds across a restart: the digest is in the state directory.
  t.equal(await lab.stop(daemon!), 15);
  await start();
  from = lines().length;
  sendRaw(pkt);
  await expectLog(t, from, /SPA: refused: replay detected/, 'replay refused after a restart');
});

t.test('SPA over IPv6: a 0.0.0.0 request grants the IPv6 source', async (t) => {
  const d = doors[1]!;
  const saved = lab.file('pkt6.txt');
  fwknop(d, ['-A', 'udp/1194', '-s'], { save: saved, test: true });
  const from = lines().length;
  sendRaw(readFileSync(saved, 'utf8').trim(), lab.server6);
  await expectLog(t, from, new RegExp(`^${lab.client6}: ${d.name}: SPA: OPEN SESAME for ${lab.client6} udp/1194`), 'granted over IPv6');
  t.ok(await waitFor(() => outLines().includes(`OPEN ${d.name} ${lab.client6} udp 1194 2`), 5000), '%IP% is the IPv6 source');
});

t.test('junk on the SPA port: refused without effect; short packets ignored', async (t) => {
  const from = lines().length;
  sendRaw('!'.repeat(200));
  sendRaw('x');
  await expectLog(t, from, new RegExp(`^${lab.client4}: SPA: refused: not an SPA packet \\(not base64\\)$`), 'non-base64 refused');
  t.notOk(newLines(from).some((l) => l.includes('OPEN SESAME')));
  t.equal(daemon!.proc.exitCode, null, 'daemon still running');
});

t.test('kernel matching batches SPA datagrams (a flood costs a read per batch; the group flushes within 10 ms)', async (t) => {
  const table = lab.exec(lab.srv, ['nft', 'list', 'table', 'inet', 'knock_sesame']);
  t.match(table, /udp dport 62201 udp length 148-1508 log prefix "sesame \d+ - spa 0" group 5900 queue-threshold 64/, 'SPA rule queues 64');
  // group, peer portid, queued, copy mode, copy range, flush timeout (1/100 s), use
  const group = lab.exec(lab.srv, ['cat', '/proc/net/netfilter/nfnetlink_log']).split('\n').map((l) => l.trim().split(/\s+/).map(Number)).find((f) => f[0] === 5900);
  t.equal(group?.[5], 1, 'the NFLOG group flushes after 10 ms (the kernel default: 1 s)');
  const d = doors[2]!;
  let from = lines().length;
  fwknop(d, ['-A', 'tcp/22', '-a', lab.client4]);
  await expectLog(t, from, /SPA: OPEN SESAME for .* tcp\/22/, 'a lone packet opens');
  from = lines().length;
  lab.exec(lab.cli, ['python3', '-c', `import socket,os,base64;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
for i in range(500): s.sendto(base64.b64encode(os.urandom(150)).rstrip(b'='),('${lab.server4}',62201))`]);
  fwknop(d, ['-A', 'tcp/2222', '-a', lab.client4]);
  await expectLog(t, from, /SPA: OPEN SESAME for .* tcp\/2222/, 'a valid packet right after 500 junk ones opens');
});
