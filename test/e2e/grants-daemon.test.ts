// Kernel-expiring grants (`Open =`) end to end: Sesame's knockd in a server namespace with real TCP
// and UDP echo services, knocked by the real knock client and the real fwknop client. Before a
// grant nothing connects; after it, it does; after the timeout a new connection cannot while an
// established one lives on; a second knock refreshes one element; SIGKILL leaves no grant alive
// past its timeout and the guard in place; a restart neither duplicates nor loses grants.

import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Lab, PROBE, SESAME, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';

t.setTimeout(300_000);
const lab = new Lab(16, 'gd');
if (process.getuid?.() !== 0) t.fail('end-to-end tests need root (network namespaces)');
else lab.up();
const children: ChildProcess[] = [];
t.teardown(() => { for (const c of children) c.kill('SIGKILL'); lab.cleanup(); });

const K = randomBytes(32).toString('base64');
const H = randomBytes(64).toString('base64');
const log = lab.file('gd.log');
const state = lab.file('state');
const conf = lab.file('gd.conf', `[options]
\tLogFile = ${log}
\tInterface = ${lab.sif}
[ssh]
\tSequence = 7000,8000,9000
\tOpen = tcp/2222, udp/5353
\tCmd_Timeout = 3
[spa]
\tSPA_Key_Base64 = ${K}
\tSPA_HMAC_Key_Base64 = ${H}
\tOpen = tcp/2223
\tCmd_Timeout = 3
\tSPA_Max_Timeout = 30
`);
const lines = () => logLines(readIf(log));

function serve(): void {
  const p = spawn('ip', ['netns', 'exec', lab.srv, 'python3', PROBE, 'serve', '2222', '2223', '5353'], { stdio: 'ignore' });
  children.push(p);
}
const probe = (kind: 'tcp' | 'udp', host: string, port: number) =>
  lab.probe(kind, host, port);
const status = () => lab.exec(lab.srv, [SESAME, '--status']);
const nft = (...args: string[]) => lab.exec(lab.srv, ['nft', ...args], true);
let daemon: Daemon;
const start = async (env: Record<string, string> = {}) => { daemon = await lab.start(SESAME, ['-c', conf, '--state-dir', state], log, env); };
async function granted(from: number, re: RegExp): Promise<boolean> {
  return waitFor(() => lines().slice(from).some((l) => re.test(l)), 5000);
}

/** A long-lived TCP connection from the client namespace: send a line, get its echo. */
function hold(host: string, port: number) {
  const p = spawn('ip', ['netns', 'exec', lab.cli, 'python3', PROBE, 'hold', host, String(port)], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.push(p);
  let out = '';
  p.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  return {
    ready: () => waitFor(() => out.includes('connected'), 3000),
    async echo(word: string): Promise<boolean> {
      const before = out.length;
      p.stdin!.write(`${word}\n`);
      await waitFor(() => out.length > before && out.endsWith('\n'), 3000);
      return out.slice(before).trim() === word;
    },
    close: () => p.kill(),
  };
}

t.before(async () => {
  serve();
  await sleep(300);
  await start();
});

t.test('closed before, open after a knock, closed to new connections after the timeout; established lives on', async (t) => {
  t.equal(probe('tcp', lab.server4, 2222), 'closed', 'TCP 2222 guarded before the knock');
  t.equal(probe('udp', lab.server4, 5353), 'closed', 'UDP 5353 guarded before the knock');
  t.equal(probe('tcp', lab.server4, 2224), 'closed', 'sanity: nothing listens on 2224');
  t.match(nft('list', 'table', 'inet', 'sesame'), /ct state established,related accept/, 'the guard is in the kernel');

  const from = lines().length;
  lab.knock([lab.server4, '7000', '8000', '9000']);
  t.ok(await granted(from, new RegExp(`^${lab.client4}: ssh: firewall: granted ${lab.client4} tcp/2222,udp/5353 for 3s$`)), 'grant logged');
  t.equal(probe('tcp', lab.server4, 2222), 'open', 'TCP open after the knock');
  t.equal(probe('udp', lab.server4, 5353), 'open', 'UDP open after the knock');
  t.match(status(), new RegExp(`^${lab.client4.replaceAll('.', '\\.')} tcp/2222 expires in [0-3]s \\(of 3s\\)$`, 'm'), '--status shows the grant');

  const conn = hold(lab.server4, 2222);
  t.ok(await conn.ready(), 'a connection is established during the grant');
  await sleep(4000);
  t.equal(probe('tcp', lab.server4, 2222), 'closed', 'no new TCP connection after the timeout');
  t.equal(probe('udp', lab.server4, 5353), 'closed', 'no new UDP exchange after the timeout');
  t.ok(await conn.echo('still-here'), 'the established connection lives on');
  conn.close();
  t.equal(status(), 'no live grants\n');
});

t.test('granting twice leaves one element whose timer was refreshed', async (t) => {
  // SPA grants of 10 s: `--status` on a loaded machine may take a second or two.
  const spa = () => lab.exec(lab.cli, ['env', `HOME=${lab.dir}`, 'fwknop', '--no-rc-file', '--no-save-args', '-D', lab.server4,
    '-A', 'tcp/2223', '-a', lab.client4, '--key-base64-rijndael', K, '--key-base64-hmac', H, '--use-hmac', '-f', '10']);
  const exp = (s: string) => Number(/tcp\/2223 expires in (\d+)s/.exec(s)?.[1]);
  let from = lines().length;
  spa();
  t.ok(await granted(from, /spa: firewall: granted .* tcp\/2223 for 10s$/));
  await sleep(3100);
  const before = status();
  from = lines().length;
  spa();
  t.ok(await granted(from, /spa: firewall: granted .* tcp\/2223 for 10s$/));
  const after = status();
  t.ok(exp(before) <= 7, `before the second grant: ${exp(before)}s left`);
  t.ok(exp(after) > exp(before), `after it: ${exp(after)}s left (the timer restarted)`);
  t.equal(after.split('\n').filter((l) => l.includes('tcp/2223')).length, 1, 'one element, not two');
  t.ok(await waitFor(() => status() === 'no live grants\n', 12_000), 'gone at the end');
});

t.test('SPA from the real fwknop client grants in the kernel', async (t) => {
  t.equal(probe('tcp', lab.server4, 2223), 'closed');
  const from = lines().length;
  lab.exec(lab.cli, ['env', `HOME=${lab.dir}`, 'fwknop', '--no-rc-file', '--no-save-args', '-D', lab.server4, '-A', 'tcp/2223',
    '-a', lab.client4, '--key-base64-rijndael', K, '--key-base64-hmac', H, '--use-hmac', '-f', '2']);
  t.ok(await granted(from, new RegExp(`: spa: firewall: granted ${lab.client4} tcp/2223 for 2s$`)), 'SPA grant with the client timeout');
  t.equal(probe('tcp', lab.server4, 2223), 'open');
  await sleep(3000);
  t.equal(probe('tcp', lab.server4, 2223), 'closed', 'closed after the client timeout');
});

t.test('IPv6 works the same', async (t) => {
  t.equal(probe('tcp', lab.server6, 2222), 'closed');
  const from = lines().length;
  lab.knock(['-6', lab.server6, '7000', '8000', '9000']);
  t.ok(await granted(from, new RegExp(`: ssh: firewall: granted ${lab.client6} tcp/2222,udp/5353 for 3s$`)));
  t.equal(probe('tcp', lab.server6, 2222), 'open');
  t.equal(probe('udp', lab.server6, 5353), 'open');
  t.equal(probe('tcp', lab.server4, 2222), 'closed', 'the IPv4 address is not granted by it');
  await sleep(3500);
  t.equal(probe('tcp', lab.server6, 2222), 'closed');
});

t.test('SIGKILL: the grant expires in the kernel, the guard stays; a restart neither duplicates nor loses', async (t) => {
  const rules = () => nft('-a', 'list', 'chain', 'inet', 'sesame', 'input').split('\n').filter((l) => /handle \d+$/.test(l.trim()) && !l.includes('chain')).length;
  const ruleCount = rules();
  const from = lines().length;
  // An SPA grant of 10 s: long enough that a restart on a loaded machine still finds it live.
  lab.exec(lab.cli, ['env', `HOME=${lab.dir}`, 'fwknop', '--no-rc-file', '--no-save-args', '-D', lab.server4, '-A', 'tcp/2223',
    '-a', lab.client4, '--key-base64-rijndael', K, '--key-base64-hmac', H, '--use-hmac', '-f', '10']);
  t.ok(await granted(from, /spa: firewall: granted .* for 10s$/), 'granted for 10 s', { log: lines().slice(from) });
  daemon.proc.kill('SIGKILL');
  await daemon.exit;
  t.equal(probe('tcp', lab.server4, 2223), 'open', 'the grant is still live right after the kill');

  // Restart while the grant is live: it is kept, and the table is not duplicated.
  await start({ SESAME_NFT_BACKEND: 'cli' });
  t.ok(lines().some((l) => l.startsWith('firewall: using nft -f -')), 'the nft fallback is logged');
  t.match(status(), /tcp\/2223 expires in/, 'the grant survived the restart');
  t.equal(rules(), ruleCount, 'same number of rules after the restart');
  daemon.proc.kill('SIGKILL');
  await daemon.exit;

  t.ok(await waitFor(() => probe('tcp', lab.server4, 2223) === 'closed', 12_000), 'closed after the timeout with no daemon running');
  t.equal(status(), 'no live grants\n');
  t.match(nft('list', 'table', 'inet', 'sesame'), /drop/, 'fail closed: the guard stays while the daemon is down');

  const flushed = lab.exec(lab.srv, [SESAME, '--flush']);
  t.match(flushed, /removed table inet sesame/);
  t.equal(probe('tcp', lab.server4, 2222), 'open', '--flush removes the guard');
  t.equal(nft('list', 'table', 'inet', 'sesame'), '', 'no table left');
});

t.test('a config error names the line: Open with a bad port or protocol', async (t) => {
  const bad = lab.file('bad.conf', `[d]\n\tsequence = 1\n\tOpen = tcp/22, sctp/9\n`);
  const r = lab.exec(lab.srv, ['sh', '-c', `${SESAME} --check -c ${bad} 2>&1; echo "exit $?"`]);
  t.match(r, /config: line 3: Open: unknown protocol "sctp" \(use tcp or udp\)/);
  t.match(r, /exit 1/);
});
