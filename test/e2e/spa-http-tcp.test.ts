// SPA over HTTP and TCP, and command messages, end to end with the real fwknop client (Debian
// 2.6.10) and a real proxy (Debian's squid), in network namespaces, under both matching modes:
// `fwknop -P http -p 80` with a web server answering on 80 opens; through squid (`-H`, which
// appends X-Forwarded-For) a `-s` request grants the client, not the proxy; through tinyproxy (which
// writes a request line and each header apart) the pieces are joined; an X-Forwarded-For
// from an untrusted address is ignored; `fwknop -P tcp` opens through SPA_TCP_Port, and 1,000
// idle connections keep no one out; `fwknop -C` runs an allowed command and nothing else.

import type { Test } from 'tap';
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SESAME, labForFile, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';

t.setTimeout(300_000);
const PROXY_NS = 'ses-ht-px';
const { lab, children } = labForFile(t, 67, 'ht', () => {
  spawn('ip', ['netns', 'del', PROXY_NS]);
});

const KEY = randomBytes(32).toString('base64');
const HMAC = randomBytes(64).toString('base64');
const log = lab.file('ht.log');
const out = lab.file('ht.out');
const ranDir = join(lab.dir, 'ran');
const allow = lab.file('commands.allow', `# what command messages may run\n/usr/bin/touch ${ranDir}/{arg}\n`);
chmodSync(allow, 0o600);
let proxy = { bastion: '', host: '' };
const squidDir = join(lab.dir, 'squid');
const FORGE = join(ROOT, 'test/helpers/forge-segment.py');

function conf(matching: 'kernel' | 'pcap'): string {
  return lab.file(`ht-${matching}.conf`, `[options]
\tLogFile = ${log}
\tInterface = ${lab.sif},hti0
\tMatching = ${matching}
\tSPA_HTTP_Port = 80
\tSPA_HTTP_Trusted_Proxies = ${proxy.host}
\tSPA_TCP_Port = 62201
[door]
\tSPA_Key_Base64 = ${KEY}
\tSPA_HMAC_Key_Base64 = ${HMAC}
\tSPA_Open_Ports = tcp/22
\tSPA_Command_Allow_File = ${allow}
\tCmd_Timeout = 2
\tStart_Command = echo OPEN %IP% %PORT% >> ${out}
`);
}

let daemon: Daemon | undefined;
const lines = () => logLines(readIf(log));
async function expectLog(t: Test, from: number, re: RegExp, what: string, ms = 5000): Promise<void> {
  t.ok(await waitFor(() => lines().slice(from).some((l) => re.test(l)), ms), what);
}

/** The real fwknop client in the client namespace. */
function fwknop(args: string[]): string {
  return lab.exec(lab.cli, ['env', `HOME=${lab.dir}`, 'timeout', '20', 'fwknop', '--no-rc-file', '--no-save-args',
    '--key-base64-rijndael', KEY, '--key-base64-hmac', HMAC, '--use-hmac', ...args], true);
}

/** One HTTP request, as bytes, from the client namespace to the server's port 80; the reply is not awaited. */
function httpFrom(request: string): void {
  lab.exec(lab.cli, ['python3', '-c', `import socket,sys,time
s=socket.create_connection(('${lab.server4}',80),timeout=5);s.sendall(sys.argv[1].encode('latin1'));time.sleep(0.2);s.close()`, request]);
}

t.before(async () => {
  mkdirSync(ranDir);
  proxy = lab.internalHost(PROXY_NS);
  // The client reaches the proxy through the bastion; the proxy reaches the bastion's inner address.
  lab.exec(lab.cli, ['ip', 'route', 'add', `10.77.${100 + lab.n}.0/24`, 'via', lab.server4]);
  // A web server answers on port 80 of both server addresses (Sesame only reads the requests).
  children.push(spawn('ip', ['netns', 'exec', lab.srv, 'python3', '-m', 'http.server', '80', '--bind', '::'], { stdio: 'ignore' }));
  // squid runs as its own user (proxy): its logs and pid file go where that user may write.
  mkdirSync(squidDir, { mode: 0o777 });
  chmodSync(squidDir, 0o777);
  chmodSync(lab.dir, 0o711);
  const squidConf = lab.file('squid.conf', [
    `http_port ${proxy.host}:3128`, 'http_access allow all', 'forwarded_for on', 'cache deny all', `access_log ${squidDir}/access.log`,
    `cache_log ${squidDir}/cache.log`, `pid_filename ${squidDir}/squid.pid`, `coredump_dir ${squidDir}`,
    'shutdown_lifetime 0 seconds', `tcp_outgoing_address ${proxy.host}`,
    '',
  ].join('\n'));
  children.push(spawn('ip', ['netns', 'exec', PROXY_NS, 'squid', '-N', '-f', squidConf], { stdio: 'ignore' }));
  const tinyConf = lab.file('tinyproxy.conf', [`Listen ${proxy.host}`, 'Port 8888', `Bind ${proxy.host}`, 'Timeout 10',
    'MaxClients 10', `LogFile "${squidDir}/tinyproxy.log"`, 'LogLevel Info', 'Allow 10.77.0.0/16', ''].join('\n'));
  children.push(spawn('ip', ['netns', 'exec', PROXY_NS, 'tinyproxy', '-d', '-c', tinyConf], { stdio: 'ignore' }));
  const listening = (ns: string, port: number) => lab.exec(ns, ['ss', '-Hltn', `sport = :${port}`], true).includes('LISTEN');
  t.ok(await waitFor(() => listening(lab.srv, 80) && listening(PROXY_NS, 3128) && listening(PROXY_NS, 8888), 20_000),
    'web server, squid and tinyproxy listen');
});

for (const matching of ['kernel', 'pcap'] as const) {
  t.test(`${matching} matching`, async (t) => {
    daemon = await lab.start(SESAME, ['-c', conf(matching), '--state-dir', lab.file(`state-${matching}`)], log);
    t.teardown(async () => { if (daemon) await lab.stop(daemon); daemon = undefined; });

    await t.test('fwknop -P http -p 80 opens (a web server answers; Sesame reads the request)', async (t) => {
      const from = lines().length;
      fwknop(['-P', 'http', '-p', '80', '-D', lab.server4, '-A', 'tcp/22', '-a', lab.client4]);
      await expectLog(t, from, new RegExp(`^${lab.client4}: door: SPA: OPEN SESAME for ${lab.client4} tcp/22 `), 'granted');
    });

    await t.test('fwknop -H through tinyproxy, which writes a request in pieces: the segments are joined', async (t) => {
      const from = lines().length;
      fwknop(['-P', 'http', '-p', '80', '-D', proxy.bastion, '-H', `${proxy.host}:8888`, '-A', 'tcp/22', '-a', lab.client4]);
      await expectLog(t, from, new RegExp(`^${proxy.host}: door: SPA: OPEN SESAME for ${lab.client4} tcp/22 `), 'granted');
    });

    await t.test('through squid, which appends X-Forwarded-For, a -s request grants the client, not squid', async (t) => {
      // fwknop hangs up as soon as its request is written; squid 5.7 then drops the request
      // (TCP_MISS_ABORTED), or with half_closed_clients asserts: the request goes from a client that waits.
      const saved = lab.file(`squid-${matching}.txt`);
      fwknop(['-D', proxy.bastion, '-A', 'tcp/22', '-s', '-B', saved, '-T']);
      const wire = readFileSync(saved, 'utf8').trim().replace(/\+/g, '-').replace(/\//g, '_');
      for (const port of [80, 62201]) {
        const from = lines().length;
        const reply = lab.exec(lab.cli, ['python3', '-c', `import socket,sys
s=socket.create_connection(('${proxy.host}',3128),timeout=5);s.sendall(sys.argv[1].encode())
try: print(s.recv(200).decode('latin1').split('\\r\\n')[0])
except OSError as e: print(e)`, `GET http://${proxy.bastion}:${port}/${port === 80 ? wire : wire.slice(0, -1) + (wire.endsWith('A') ? 'B' : 'A')}` +
          ` HTTP/1.1\r\nUser-Agent: Fwknop/2.6.10\r\nHost: ${proxy.bastion}\r\n\r\n`], true);
        if (port === 80) {
          await expectLog(t, from, new RegExp(`^${proxy.host}: door: SPA: OPEN SESAME for ${lab.client4} tcp/22 `),
            `port 80 (sniffed): granted for the address squid put in X-Forwarded-For (squid: ${reply.trim()})`);
        } else {
          await expectLog(t, from, new RegExp(`^${proxy.host}: SPA: refused: HMAC mismatch$`), 'SPA_TCP_Port: an altered copy is read and refused');
        }
        t.notOk(lines().slice(from).some((l) => l.includes(`OPEN SESAME for ${proxy.host}`)), 'the proxy itself is not granted');
      }
      t.match(readIf(join(squidDir, 'access.log')), `GET http://${proxy.bastion}/`, 'the request went through squid');
    });

    await t.test('forged segments do not speak for the trusted proxy (red team F1, F2)', async (t) => {
      const saved = lab.file(`forge-${matching}.txt`);
      fwknop(['-D', proxy.bastion, '-A', 'tcp/22', '-s', '-B', saved, '-T']);
      const wire = readFileSync(saved, 'utf8').trim().replace(/\+/g, '-').replace(/\//g, '_');
      const forge = (sport: number, seq: number, payload: string) => lab.exec(lab.cli, ['python3', FORGE, proxy.host, String(sport),
        proxy.bastion, '80', 'PA', String(seq), payload]);
      // F1: the proxy's real request in pieces; a header forged into it from outside the connection.
      const sport = 41000 + Math.floor(Math.random() * 1000);
      let from = lines().length;
      const real = spawn('ip', ['netns', 'exec', PROXY_NS, 'python3', '-c', `import socket,time
s=socket.socket();s.setsockopt(socket.IPPROTO_TCP,socket.TCP_NODELAY,1);s.bind(('${proxy.host}',${sport}));s.settimeout(5)
s.connect(('${proxy.bastion}',80));s.sendall(b'GET /${wire} HTTP/1.1\\r\\n');time.sleep(0.6)
s.sendall(b'User-Agent: Fwknop/2.6.10\\r\\nX-Forwarded-For: ${lab.client4}\\r\\n\\r\\n');time.sleep(0.3);s.close()`], { stdio: 'ignore' });
      children.push(real);
      await sleep(300);
      forge(sport, 12345, 'X-Forwarded-For: 10.77.1.66\\r\\n');
      await new Promise((r) => real.once('exit', r));
      await expectLog(t, from, new RegExp(`OPEN SESAME for ${lab.client4.replaceAll('.', '\\.')} tcp/22`), 'the real request opens for its client');
      t.notOk(lines().slice(from).some((l) => l.includes('10.77.1.66')), 'the forged header was not joined');
      if (matching === 'kernel') {
        // F2: a whole request forged from the proxy's address, no connection: not read at all.
        fwknop(['-D', proxy.bastion, '-A', 'tcp/22', '-s', '-B', saved, '-T']);
        const w2 = readFileSync(saved, 'utf8').trim().replace(/\+/g, '-').replace(/\//g, '_');
        from = lines().length;
        forge(sport + 1, 1, `GET /${w2} HTTP/1.1\\r\\nUser-Agent: Fwknop/2.6.10\\r\\nX-Forwarded-For: 10.77.1.55\\r\\n\\r\\n`);
        await sleep(1000);
        t.notOk(lines().slice(from).some((l) => l.includes('10.77.1.55')), 'kernel matching: a segment outside any connection is not read');
      }
    });

    await t.test('X-Forwarded-For from an untrusted address is ignored: -s grants the sender', async (t) => {
      const saved = lab.file(`xff-${matching}.txt`);
      fwknop(['-D', lab.server4, '-A', 'tcp/22', '-s', '-B', saved, '-T']);
      const wire = readFileSync(saved, 'utf8').trim().replace(/\+/g, '-').replace(/\//g, '_');
      const from = lines().length;
      httpFrom(`GET /${wire} HTTP/1.1\r\nUser-Agent: Fwknop/2.6.10\r\nAccept: */*\r\nHost: ${lab.server4}\r\n` +
        'X-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n');
      await expectLog(t, from, new RegExp(`^${lab.client4}: door: SPA: OPEN SESAME for ${lab.client4} tcp/22 `), 'the sender is granted');
      t.notOk(lines().slice(from).some((l) => l.includes('6.6.6.6')), 'the forwarded address is not');
    });

    await t.test('a browser User-Agent is not read (fwknopd\'s rule), and not logged either (page views)', async (t) => {
      const saved = lab.file(`ua-${matching}.txt`);
      fwknop(['-D', lab.server4, '-A', 'tcp/22', '-a', lab.client4b, '-B', saved, '-T']);
      const wire = readFileSync(saved, 'utf8').trim().replace(/\+/g, '-').replace(/\//g, '_');
      const from = lines().length;
      httpFrom(`GET /${wire} HTTP/1.1\r\nUser-Agent: Mozilla/5.0\r\nHost: x\r\n\r\n`);
      // A marker after it: once the marker is in, the request was judged (quietly).
      fwknop(['-D', lab.server4, '-A', 'tcp/22', '-a', lab.client4b]);
      await expectLog(t, from, new RegExp(`OPEN SESAME for ${lab.client4b.replaceAll('.', '\\.')} `), 'the marker opened');
      t.notOk(lines().slice(from).some((l) => /SPA: refused|OPEN SESAME for \S+ tcp\/22 .*Mozilla/.test(l)), 'nothing logged for it');
      t.equal(lines().slice(from).filter((l) => l.includes('OPEN SESAME')).length, 1, 'only the marker opened');
    });

    await t.test('fwknop -P tcp opens through SPA_TCP_Port, also past 1,000 idle connections', async (t) => {
      let from = lines().length;
      fwknop(['-P', 'tcp', '-D', lab.server4, '-A', 'tcp/22', '-a', lab.client4]);
      await expectLog(t, from, new RegExp(`^${lab.client4}: door: SPA: OPEN SESAME for ${lab.client4} tcp/22 `), 'granted');
      // 1,000 idle connections from the second address, held open while the client sends.
      const holder = spawn('ip', ['netns', 'exec', lab.cli, 'python3', '-c', `import socket,time
socks=[]
for i in range(1000):
    s=socket.socket();s.bind(('${lab.client4b}',0));s.settimeout(2)
    try: s.connect(('${lab.server4}',62201)); socks.append(s)
    except OSError: pass
print(len(socks),flush=True);time.sleep(8)`], { stdio: ['ignore', 'pipe', 'ignore'] });
      children.push(holder);
      let held = '';
      holder.stdout!.on('data', (b: Buffer) => { held += b.toString(); });
      t.ok(await waitFor(() => held.trim() !== '', 20_000), `idle connections opened (${held.trim()})`);
      from = lines().length;
      const started = Date.now();
      fwknop(['-P', 'tcp', '-D', lab.server4, '-A', 'tcp/22', '-a', lab.client4]);
      await expectLog(t, from, /SPA: OPEN SESAME/, 'granted while they are held');
      t.ok(Date.now() - started < 5000, `within ${Date.now() - started} ms`);
      from = lines().length;
      fwknop(['-D', lab.server4, '-A', 'tcp/22', '-a', lab.client4]);
      await expectLog(t, from, /SPA: OPEN SESAME/, 'UDP SPA too');
      holder.kill('SIGKILL');
    });

    await t.test('fwknop -C runs an allowed command, and nothing else', async (t) => {
      const mark = `${matching}-ok`;
      let from = lines().length;
      fwknop(['-D', lab.server4, '-a', lab.client4, '-C', `/usr/bin/touch ${ranDir}/${mark}`]);
      await expectLog(t, from, new RegExp(`: door: SPA: command /usr/bin/touch ${ranDir}/${mark} \\(user \\S+, run as root; allowed by ${allow} line 2\\)$`),
        'accepted, with the allow file line and the user it runs as');
      t.ok(await waitFor(() => existsSync(join(ranDir, mark)), 5000), 'the command ran');
      await expectLog(t, from, /SPA: command \/usr\/bin\/touch exited with status 0$/, 'its exit status logged');
      for (const cmd of [`/usr/bin/touch ${ranDir}/a;id`, `/usr/bin/touch ${ranDir}/x ${ranDir}/y`, '/bin/sh -c id',
        `/usr/bin/touch -r /etc/passwd ${ranDir}/z`, `/usr/bin/touch ${ranDir}/$(id)`]) {
        from = lines().length;
        fwknop(['-D', lab.server4, '-a', lab.client4, '-C', cmd]);
        await expectLog(t, from, /: door: SPA: refused: command not allowed: /, `refused: ${cmd}`);
      }
      await sleep(300);
      t.same(readIf(join(ranDir, 'x')), '', 'nothing else ran');
      t.equal(lab.exec(lab.srv, ['ls', ranDir]).split('\n').filter(Boolean).filter((f) => !f.endsWith('-ok')).length, 0,
        'no other file was made');
    });
    t.equal(daemon!.proc.exitCode, null, 'daemon still running');
  });
}
