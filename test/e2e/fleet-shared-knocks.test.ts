// Fleet_Shared_Knocks end to end: three nodes and a Redis in namespaces (10.77.39.0/24), a door
// whose knocks are spread over the nodes as ECMP would spread them (one port per node). The node
// that sees the last port asks the others and opens; every node gets the grant. Out of order, or
// too slow, nothing opens. A spoofed burst at the first port costs no Redis command; a burst at the
// last port costs one PUBLISH per batch, not per packet. Kernel matching steps aside for such a
// door (logged), and an explicit Matching = kernel refuses to start.

import t from 'tap';
import { chmodSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FleetLab, REDIS_PORT, type FleetNode } from '../helpers/fleet-lab.js';
import { SESAME, logLines, readIf, sleep, waitFor } from '../helpers/lab.js';

t.setTimeout(240_000);
const lab = new FleetLab(39, 'fk', ['a', 'b', 'c']);
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
t.teardown(() => {
  // What the nodes said, when something failed: the first thing to read.
  if (!t.passing()) for (const n of lab.nodes) console.error(`--- ${n.name}.log\n${readIf(logOf(n)).split('\n').slice(-30).join('\n')}`);
  if (!t.passing()) for (const d of daemons) console.error(`--- stderr\n${d.stderr.slice(-2000)}`);
  lab.cleanup();
});

const [A, B, C] = lab.nodes as [FleetNode, FleetNode, FleetNode];
const PASSWORD = randomBytes(12).toString('hex');
const pwFile = lab.file('fleet.pw', `${PASSWORD}\n`);
chmodSync(pwFile, 0o600); // a secret: group- or world-readable is refused
const daemons: import('../helpers/lab.js').Daemon[] = [];
const logOf = (n: FleetNode) => lab.logOf(n);
const lines = (n: FleetNode) => logLines(readIf(logOf(n)));
const mark = (n: FleetNode) => lines(n).length;
const logged = (n: FleetNode, from: number, re: RegExp, ms = 5000) => waitFor(() => lines(n).slice(from).some((l) => re.test(l)), ms);
const knock = (n: FleetNode, port: number) => lab.exec(lab.cli, ['knock', n.addr, String(port)]);
const status = (n: FleetNode) => lab.exec(n.ns, [SESAME, '--status', '-c', join(lab.dir, `${n.name}.conf`)], true);
const grantedOn = (n: FleetNode, port: number, ms = 5000) => waitFor(() => new RegExp(`^${lab.client4} tcp/${port} expires in`, 'm').test(status(n)), ms);

function config(n: FleetNode, matching = ''): string {
  return lab.file(`${n.name}.conf`, `${lab.options(n, pwFile, matching)}[ecmp]
\tSequence = 7400,7500,7600
\tSeq_Timeout = 3
\tOpen = tcp/2230
\tCmd_Timeout = 60
\tFleet_Shared_Knocks = yes
`);
}

/** Redis's count of PUBLISH commands so far. */
function publishes(): number {
  const out = lab.exec(lab.rds, ['redis-cli', '-h', lab.redis4, '-p', String(REDIS_PORT), '--no-auth-warning', '-a', PASSWORD, 'info', 'commandstats']);
  return Number(/cmdstat_publish:calls=(\d+)/.exec(out)?.[1] ?? 0);
}

/** `count` SYNs from random 198.18.0.0/15 sources to `port` of node `n` (raw IP, spoofed). */
function spoofedBurst(n: FleetNode, port: number, count: number): void {
  lab.exec(lab.cli, ['python3', '-c', `
import socket, struct, random
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
dst = socket.inet_aton('${n.addr}')
for i in range(${count}):
    src = socket.inet_aton('198.%d.%d.%d' % (18 + random.randint(0, 1), random.randint(0, 255), random.randint(1, 254)))
    tcp = struct.pack('!HHIIBBHHH', random.randint(1024, 65535), ${port}, 1, 0, 5 << 4, 2, 64240, 0, 0)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, i & 0xffff, 0, 64, 6, 0, src, dst)
    s.sendto(ip + tcp, ('${n.addr}', 0))
`]);
}

t.before(async () => {
  if (process.getuid?.() !== 0) return;
  await lab.startRedis(PASSWORD);
  for (const n of lab.nodes) {
    const from = mark(n);
    daemons.push(await lab.start(n, ['-c', config(n), '--state-dir', join(lab.dir, `${n.name}.state`)], logOf(n)));
    if (!(await logged(n, from, /fleet: joined t39 as node /, 10_000))) throw new Error(`${n.name} did not join`);
  }
});

t.test('kernel matching steps aside for a shared door', async (t) => {
  t.ok(lines(A).some((l) => /kernel matching unavailable \(door ecmp has Fleet_Shared_Knocks, which needs every knock in the daemon \(libpcap\)\); matching knocks with libpcap/.test(l)), 'auto: logged, libpcap');
  // Another Open port: the same port on the same interface would be refused first (two instances).
  const conf = lab.file('k.conf', readFileSync(config(A, '\tMatching = kernel\n'), 'utf8').replace('Open = tcp/2230', 'Open = tcp/2231'));
  const out = lab.exec(A.ns, ['sh', '-c', `${SESAME} -c ${conf} --state-dir ${join(lab.dir, 'k.state')} --instance k 2>&1; echo "exit $?"`], true);
  t.match(out, /kernel matching failed: door ecmp has Fleet_Shared_Knocks/, 'Matching = kernel: refused with the reason');
  t.match(out, /exit 1/, 'exit 1');
  config(A); // back to the running one's file
});

t.test('a sequence spread over three nodes opens the door on all of them', async (t) => {
  const fc = mark(C);
  knock(A, 7400);
  knock(B, 7500);
  knock(C, 7600);
  t.ok(await logged(C, fc, /^10\.77\.39\.2: ecmp: sequence completed with knocks seen by fleet nodes? (a, b|b, a)$/), 'c: pieced together from a and b');
  t.ok(await logged(C, fc, /^10\.77\.39\.2: ecmp: OPEN SESAME$/), 'c: OPEN SESAME');
  for (const n of lab.nodes) t.ok(await grantedOn(n, 2230), `${n.name}: nft element for the client`);
});

t.test('out of order, a missing port, or too slow: nothing opens', async (t) => {
  await sleep(3500); // the earlier hits are past the timeout
  const fc = mark(C);
  knock(B, 7500); await sleep(700); knock(A, 7400); knock(C, 7600); // 2nd before 1st (further apart than the clock slack)
  await sleep(1000);
  knock(A, 7400); knock(C, 7600); // the 2nd port never knocked
  await sleep(1000);
  t.notOk(lines(C).slice(fc).some((l) => /OPEN SESAME|sequence completed/.test(l)), 'c: nothing opened');
  await sleep(3500);
  const fc2 = mark(C);
  knock(A, 7400); knock(B, 7500);
  await sleep(3500); // longer than Seq_Timeout = 3
  knock(C, 7600);
  await sleep(1000);
  t.notOk(lines(C).slice(fc2).some((l) => /OPEN SESAME|sequence completed/.test(l)), 'c: too slow, nothing opened');
});

t.test('a spoofed burst at the first port costs no Redis command; at the last port, one per batch', async (t) => {
  const before = publishes();
  spoofedBurst(A, 7400, 3000);
  await sleep(500);
  t.equal(publishes() - before, 0, '3,000 spoofed first-port SYNs: no PUBLISH');
  const before2 = publishes();
  const started = Date.now();
  spoofedBurst(C, 7600, 3000);
  const ms = Date.now() - started;
  await sleep(500);
  const n = publishes() - before2;
  t.ok(n >= 1 && n <= Math.ceil(ms / 10) + 2, `3,000 spoofed last-port SYNs in ${ms} ms: ${n} PUBLISH (batches of 10 ms), not 3,000`);
  // And a real knock still gets through right after.
  const fc = mark(C);
  knock(A, 7400); knock(B, 7500); knock(C, 7600);
  t.ok(await logged(C, fc, /^10\.77\.39\.2: ecmp: OPEN SESAME$/), 'c: a real spread knock still opens');
});
