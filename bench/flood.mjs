#!/usr/bin/env node
// Knocks under a spoofed flood: the real knockd 0.8, Sesame `Matching = pcap` and Sesame
// `Matching = kernel`, side by side in one run. For each offered rate, flood-gen (bench/flood-gen.c,
// sendmmsg on a raw socket) sends SYNs from random spoofed sources to the door's first port for
// SECONDS while the real `knock` client knocks 8 times from one real address. Reported per daemon,
// sources and rate: doors opened / knocks, the rate the generator reached, the daemon's CPU seconds
// and peak RSS over its whole process tree, the bytes its log grew by, its idle RSS, and the
// kernel's unreclaimable slab + vmalloc memory at its peak over what it was before the flood
// (kernel matching's sets; machine-wide, so other work on the machine shows in it too).
//
//   npm run bench:flood [-- --seconds 20 --rates 5000,20000,100000,0 --only kernel,pcap,knockd]
//   npm run bench:flood -- --wide           (= --sources wide4,wide6)
//   npm run bench:flood -- --sources narrow,wide4,wide6
//   npm run bench:flood -- --spa [--rates 5000,20000,50000,100000]
//   npm run bench:flood -- --totp [--rates 5000,20000,100000,0]
//   npm run bench:flood -- --metrics [--repeat 3] [--scrape-ms 1000]
//
// Sources: `narrow` (default) 198.18.0.0/15, 131,072 addresses (fits the first tier of a kernel
// stage set); `wide4` all of 100.64.0.0/10, 4,194,304 addresses; `wide6` a random address in a
// random /64 of 2001:db8::/32 per packet, to the server's IPv6 address (fd77:40::1), which the
// knock client then knocks too.
//   --keep: keep each run's directory (config, daemon log); NODE=wrapper runs Sesame's daemon
//   under another node command (e.g. one adding --cpu-prof: the daemon is stopped with SIGTERM).
//
// --spa: junk UDP datagrams (200 random base64 characters, the size of an SPA packet) to port
// 62201 instead, and 9 valid SPA packets from the real fwknop client during the flood, against
// the real fwknopd 2.6 and Sesame (both matching paths); opened = valid packets accepted.
//
// --spa --gpg [--gpg-hmac]: GnuPG SPA instead: 800-character junk (GnuPG-sized), valid packets from
// the real fwknop client in GnuPG mode (rsa2048 keys made for the run), a door without (or with)
// an HMAC key. Without one, junk that happens to read as an OpenPGP message reaches gpg (bounded:
// 2 runs, 8 waiting); with one, nothing unauthenticated does.
//
// --totp: TOTP doors instead (8 of them, one secret each, ports 40000 + 1000·k): spoofed SYNs to a
// port of the first door's first code range (every one starts an attempt there, whatever its pair),
// and the real knock client knocking each door's current code once; Sesame matches TOTP doors with
// libpcap (`auto` falls back), so the rows are knockd 0.8 on its static door (as without --totp)
// and Sesame on the TOTP doors.
//
// --metrics: Sesame kernel with and without Metrics_Listen + a signed Event_Webhook (a receiver in
// the client namespace answering 204; /metrics scraped every second during the run), side by side
// on the static door: the cost of being watched (CPU and RSS differences per rate at the end).
//
// Root: it makes two network namespaces (10.77.40.0/24) and deletes them at the end.

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GEN, ROOT, buildGen, cpuSeconds, kernelMB, opt, readIf, rssMB, sh, sleep, tree } from './lab.mjs';
import { totpCode, totpStep } from '../dist/totp/totp.js';
import { codePorts } from '../dist/totp/ports.js';
import { base32Encode } from '../dist/totp/base32.js';

const SPA = process.argv.includes('--spa');
const GPG = SPA && process.argv.includes('--gpg');
const GPG_HMAC = GPG && process.argv.includes('--gpg-hmac');
const TOTP = !SPA && process.argv.includes('--totp');
const METRICS = !SPA && !TOTP && process.argv.includes('--metrics');
const TOTP_SECRET = (k) => Buffer.alloc(20, k + 1);
/** GnuPG homes and keys made once per bench run (--gpg). */
let gpgKeys;
const SECONDS = Number(opt('seconds', '20'));
const RATES = opt('rates', SPA ? '5000,20000,50000,100000' : '5000,20000,100000,0').split(',').map(Number);
const ONLY = opt('only', SPA ? 'fwknopd,pcap,kernel' : TOTP ? 'knockd,auto' : METRICS ? 'kernel,watched' : 'knockd,pcap,kernel').split(',');
const KNOCKS = SPA ? 9 : 8;
/** Runs of each (daemon, rate), interleaved; the summary quotes medians. */
const REPEAT = Number(opt('repeat', '1'));
/** --metrics: how often /metrics is scraped during a run (ms; 0: never). */
const SCRAPE_MS = Number(opt('scrape-ms', '1000'));
const SOURCES = (process.argv.includes('--wide') ? 'wide4,wide6' : opt('sources', 'narrow')).split(',');
for (const src of SOURCES) {
  if (!['narrow', 'wide4', 'wide6'].includes(src)) throw new Error(`--sources: narrow, wide4 or wide6, not ${src}`);
}
if (SPA && SOURCES.some((x) => x !== 'narrow')) throw new Error('--spa floods from narrow sources only');
const KEEP = process.argv.includes('--keep'); // keep each run's directory (config, log) and print it
const SRV = 'sesbf-srv', CLI = 'sesbf-cli', SERVER = '10.77.40.1', CLIENT = '10.77.40.2';
const SERVER6 = 'fd77:40::1', CLIENT6 = 'fd77:40::2';
const ip = (...a) => sh('ip', a, true);

function labUp() {
  labDown();
  sh('ip', ['netns', 'add', SRV]); sh('ip', ['netns', 'add', CLI]);
  sh('ip', ['link', 'add', 'bfs0', 'netns', SRV, 'type', 'veth', 'peer', 'name', 'bfc0', 'netns', CLI]);
  sh('ip', ['-n', SRV, 'addr', 'add', `${SERVER}/24`, 'dev', 'bfs0']);
  sh('ip', ['-n', CLI, 'addr', 'add', `${CLIENT}/24`, 'dev', 'bfc0']);
  // nodad: usable at once (no duplicate address detection to wait for).
  sh('ip', ['-n', SRV, 'addr', 'add', `${SERVER6}/64`, 'dev', 'bfs0', 'nodad']);
  sh('ip', ['-n', CLI, 'addr', 'add', `${CLIENT6}/64`, 'dev', 'bfc0', 'nodad']);
  for (const [ns, dev] of [[SRV, 'bfs0'], [CLI, 'bfc0']]) {
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  // The server's neighbour entries fixed: raw packets sent while one is resolved are dropped.
  const mac = JSON.parse(sh('ip', ['-j', '-n', SRV, 'link', 'show', 'bfs0']))[0].address;
  for (const a of [SERVER, SERVER6]) sh('ip', ['-n', CLI, 'neigh', 'replace', a, 'lladdr', mac, 'dev', 'bfc0', 'nud', 'permanent']);
}
function labDown() { ip('netns', 'del', SRV); ip('netns', 'del', CLI); }

const size = (p) => (existsSync(p) ? statSync(p).size : 0);

const DAEMONS = {
  knockd: (conf) => ['/usr/sbin/knockd', '-i', 'bfs0', '-c', conf],
  fwknopd: (conf, dir) => ['/usr/sbin/fwknopd', '-f', '-c', conf, '-a', join(dir, 'access.conf'), '-d', join(dir, 'digest.cache'),
    '-p', join(dir, 'fwknopd.pid'), '-i', 'bfs0'],
  pcap: (conf, dir) => [join(ROOT, 'bin/knockd'), '-i', 'bfs0', '-c', conf, '--matching', 'pcap', '--state-dir', join(dir, 'state')],
  kernel: (conf, dir) => [join(ROOT, 'bin/knockd'), '-i', 'bfs0', '-c', conf, '--matching', 'kernel', '--state-dir', join(dir, 'state')],
  watched: (conf, dir) => [join(ROOT, 'bin/knockd'), '-i', 'bfs0', '-c', conf, '--matching', 'kernel', '--state-dir', join(dir, 'state')],
  auto: (conf, dir) => [join(ROOT, 'bin/knockd'), '-i', 'bfs0', '-c', conf, '--state-dir', join(dir, 'state')],
};

async function oneRun(name, rate, sources = 'narrow') {
  const v6 = sources === 'wide6';
  const server = v6 ? SERVER6 : SERVER, client = v6 ? CLIENT6 : CLIENT;
  const dir = mkdtempSync(join(tmpdir(), 'sesame-flood-'));
  const log = join(dir, 'knockd.log'), out = join(dir, 'cmd.out');
  const conf = join(dir, 'knockd.conf');
  const keys = { key: randomBytes(32).toString('base64'), hmac: randomBytes(64).toString('base64') };
  if (name === 'fwknopd') writeFwknopd(dir, conf, log, out, keys);
  else if (GPG) {
    writeFileSync(conf, `[options]\n  LogFile = ${log}\n[spa]\n  SPA_GPG_Home_Dir = ${gpgKeys.srvHome}\n  SPA_GPG_Allow_No_Pw = yes\n` +
      `  SPA_GPG_Remote_ID = ${gpgKeys.cliFpr}\n${GPG_HMAC ? `  SPA_HMAC_Key_Base64 = ${keys.hmac}\n` : ''}` +
      `  SPA_Open_Ports = tcp/22\n  command = /bin/echo OPEN %IP% >> ${out}\n`);
  } else if (SPA) {
    writeFileSync(conf, `[options]\n  LogFile = ${log}\n[spa]\n  SPA_Key_Base64 = ${keys.key}\n  SPA_HMAC_Key_Base64 = ${keys.hmac}\n` +
      `  SPA_Open_Ports = tcp/22\n  command = /bin/echo OPEN %IP% >> ${out}\n`);
  } else if (TOTP && name !== 'knockd') {
    let doors = '';
    for (let k = 0; k < KNOCKS; k++) {
      writeFileSync(join(dir, `totp${k}`), `${base32Encode(TOTP_SECRET(k))}\n`, { mode: 0o600 });
      doors += `[totp${k}]\n  TOTP_Secret_File = ${join(dir, `totp${k}`)}\n  TOTP_Port_Base = ${40000 + 1000 * k}\n  seq_timeout = 10\n` +
        `  tcpflags = syn\n  command = /bin/echo OPEN %IP% >> ${out}\n`;
    }
    writeFileSync(conf, `[options]\n  LogFile = ${log}\n${doors}`);
  } else {
    const watched = name === 'watched' ? `  Metrics_Listen = ${SERVER}:9464\n  Event_Webhook = http://${CLIENT}:8080/hook\n` +
      `  Event_Webhook_Secret_File = ${hookSecret(dir)}\n` : '';
    writeFileSync(conf, `[options]\n  LogFile = ${log}\n${watched}[openSSH]\n  sequence = 7000,8000,9000\n  seq_timeout = 10\n  tcpflags = syn\n` +
      `  command = /bin/echo OPEN %IP% >> ${out}\n`);
  }
  const d = spawn('ip', ['netns', 'exec', SRV, ...DAEMONS[name](conf, dir)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  d.stderr.on('data', (b) => { stderr = (stderr + b).slice(-2000); });
  // Up: knockd and Sesame log `starting up`; fwknopd (logging to syslog) writes its pid file.
  const up = () => (name === 'fwknopd' ? existsSync(join(dir, 'fwknopd.pid')) : readIf(log).includes('starting up'));
  try {
    for (let i = 0; i < 100 && !up(); i++) await sleep(100);
    await sleep(2000);
    const idle = rssMB(tree(d.pid));
    const cpu0 = cpuSeconds(tree(d.pid));
    const log0 = size(log);
    let peak = idle;
    const kernel0 = kernelMB();
    let kernelPeak = kernel0;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMB(tree(d.pid))); kernelPeak = Math.max(kernelPeak, kernelMB()); }, 250);
    // Watched: Prometheus's part, a scrape a second (the scraper's own CPU is not the daemon's).
    const scraper = name === 'watched' && SCRAPE_MS > 0
      ? setInterval(() => spawn('ip', ['netns', 'exec', CLI, 'curl', '-s', '-o', '/dev/null', `http://${SERVER}:9464/metrics`]), SCRAPE_MS) : undefined;
    const genArgs = SPA ? ['udp', SERVER, '62201', String(rate), String(SECONDS), GPG ? '800' : '200']
      : ['tcp', server, TOTP && name !== 'knockd' ? '40050' : '7000', String(rate), String(SECONDS), '0', sources === 'wide4' ? 'wide' : 'narrow'];
    const gen = spawn('ip', ['netns', 'exec', CLI, GEN, ...genArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
    let genOut = '';
    gen.stdout.on('data', (b) => { genOut += b; });
    const genDone = new Promise((r) => gen.on('exit', r));
    const gap = (SECONDS * 1000 - 3000) / KNOCKS;
    await sleep(1500);
    for (let i = 0; i < KNOCKS; i++) {
      if (GPG) {
        sh('ip', ['netns', 'exec', CLI, 'env', `HOME=${dir}`, 'fwknop', '--no-rc-file', '--no-save-args', '-A', 'tcp/22', '-a', CLIENT,
          '-D', SERVER, '--gpg-encryption', '--gpg-recipient-key', gpgKeys.srvFpr, '--gpg-signer-key', gpgKeys.cliFpr,
          '--gpg-home-dir', gpgKeys.cliHome, '--gpg-no-signing-pw', ...(GPG_HMAC ? ['--use-hmac', '--key-base64-hmac', keys.hmac] : [])], true);
      } else if (SPA) {
      } else if (TOTP && name !== 'knockd') {
        const code = totpCode(TOTP_SECRET(i), totpStep(Date.now()), 6);
        const ports = codePorts(code, 40000 + 1000 * i, 'tcp').map((p) => String(p.port));
        sh('ip', ['netns', 'exec', CLI, 'knock', ...(v6 ? ['-6'] : []), server, ...ports], true);
      } else {
        sh('ip', ['netns', 'exec', CLI, 'knock', ...(v6 ? ['-6'] : []), server, '7000', '8000', '9000'], true);
      }
      await sleep(gap);
    }
    await genDone;
    await sleep(1500); // a daemon behind gets its last chance
    clearInterval(sampler);
    if (scraper) clearInterval(scraper);
    if (d.exitCode !== null || d.signalCode !== null) {
      console.log(`${label(name)} @ ${rate} (${sources}): the daemon died (${d.signalCode ?? d.exitCode}): ${stderr.trim()}`);
    }
    const cpu = cpuSeconds(tree(d.pid)) - cpu0;
    const opened = readIf(out).split('\n').filter((l) => l === `OPEN ${client}`).length;
    const reached = Number(/= (\d+) pkt\/s/.exec(genOut)?.[1] ?? 0);
    return {
      name, rate, sources, reached, opened, cpu, peak, idle, kernel: kernelPeak - kernel0,
      logBytes: name === 'fwknopd' ? 'syslog' : size(log) - log0,
    };
  } finally {
    // SIGTERM first, so a daemon run with NODE_OPTIONS=--cpu-prof writes its profile.
    const exited = new Promise((r) => (d.exitCode !== null || d.signalCode !== null ? r() : d.on('exit', r)));
    d.kill('SIGTERM');
    const kill = setTimeout(() => d.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(kill);
    sh('ip', ['netns', 'exec', SRV, 'nft', 'flush', 'ruleset'], true);
    if (KEEP) console.log(`${label(name)} @ ${rate} (${sources}): kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
/** fwknopd in the foreground with a command hook (no firewall): CMD_CYCLE_OPEN prints OPEN <src>. */
function writeFwknopd(dir, conf, log, out, keys) {
  const hook = join(dir, 'hook.sh');
  writeFileSync(hook, `#!/bin/sh\necho "OPEN $1" >> ${out}\n`, { mode: 0o755 });
  const auth = GPG
    ? `GPG_HOME_DIR ${gpgKeys.srvHome}\nGPG_DECRYPT_ID ${gpgKeys.srvFpr.slice(-8)}\nGPG_ALLOW_NO_PW Y\n` +
      `GPG_REMOTE_ID ${gpgKeys.cliFpr.slice(-8)}\n${GPG_HMAC ? `HMAC_KEY_BASE64 ${keys.hmac}\n` : ''}`
    : `KEY_BASE64 ${keys.key}\nHMAC_KEY_BASE64 ${keys.hmac}\n`;
  writeFileSync(join(dir, 'access.conf'), `SOURCE ANY\n${auth}` +
    `CMD_CYCLE_OPEN ${hook} $SRC\nCMD_CYCLE_CLOSE NONE\nCMD_CYCLE_TIMER 5\n`, { mode: 0o600 });
  writeFileSync(conf, `PCAP_INTF bfs0;\nPCAP_FILTER udp port 62201;\nENABLE_SPA_PACKET_AGING Y;\nENABLE_DIGEST_PERSISTENCE Y;\n` +
    `FWKNOP_RUN_DIR ${dir};\n`, { mode: 0o600 });
}

async function main() {
  if (process.getuid() !== 0) { console.error('bench:flood needs root (network namespaces)'); process.exit(1); }
  buildGen();
  if (GPG) gpgKeys = makeGpgKeys();
  labUp();
  const rows = [];
  const receiver = METRICS ? startReceiver() : undefined;
  try {
    for (let round = 0; round < REPEAT; round++) for (const sources of SOURCES) {
      for (const rate of RATES) {
        for (const name of ONLY) {
          const r = await oneRun(name, rate, sources);
          rows.push(r);
          console.log(fmt(r));
        }
      }
    }
  } finally {
    receiver?.stop();
    labDown();
    if (gpgKeys) for (const h of [gpgKeys.srvHome, gpgKeys.cliHome]) {
      sh('gpgconf', ['--homedir', h, '--kill', 'gpg-agent'], true);
      rmSync(h, { recursive: true, force: true });
    }
  }
  console.log(GPG ? `\n${SECONDS} s of junk UDP (800 bytes, GnuPG-sized) to the SPA port, ${KNOCKS} valid GnuPG packets ` +
    `(${GPG_HMAC ? 'with' : 'without'} HMAC) from the real fwknop client during it` : SPA ? `\n${SECONDS} s of junk UDP (200 bytes) to the SPA port, ${KNOCKS} valid packets from the real fwknop client during it`
    : TOTP ? `\n${SECONDS} s of spoofed SYNs to the first port (knockd: its static door; Sesame: a port of a TOTP door's first code range), ` +
      `${KNOCKS} knocks by the real knock client during it (Sesame: each TOTP door's current code once)`
    : `\n${SECONDS} s of spoofed SYNs to the first port, ${KNOCKS} knocks by the real knock client during it`);
  console.log('| daemon | sources | offered pkt/s | reached pkt/s | opened | CPU s | peak RSS MB | idle RSS MB | kernel MB | log bytes |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${label(r.name)} | ${r.sources} | ${r.rate === 0 ? 'max' : r.rate} | ${r.reached} | ${r.opened}/${KNOCKS} | ` +
      `${r.cpu.toFixed(1)} | ${r.peak.toFixed(0)} | ${r.idle.toFixed(0)} | ${r.kernel.toFixed(0)} | ${r.logBytes} |`);
  }
  if (!METRICS) return;
  console.log(`\nwebhook deliveries received: ${receiver.count()}`);
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  console.log(`\nmedians of ${REPEAT} run${REPEAT === 1 ? '' : 's'} each`);
  console.log('| offered pkt/s | CPU s off | CPU s watched | CPU ratio | peak RSS MB off | watched | RSS diff MB |');
  console.log('|---|---|---|---|---|---|---|');
  for (const rate of RATES) {
    const of = (name, k) => med(rows.filter((r) => r.rate === rate && r.name === name).map((r) => r[k]));
    const [c0, c1, p0, p1] = [of('kernel', 'cpu'), of('watched', 'cpu'), of('kernel', 'peak'), of('watched', 'peak')];
    if (c0 === undefined || c1 === undefined) continue;
    console.log(`| ${rate === 0 ? 'max' : rate} | ${c0.toFixed(2)} | ${c1.toFixed(2)} | ${(c1 / c0).toFixed(3)} | ` +
      `${p0.toFixed(1)} | ${p1.toFixed(1)} | ${(p1 - p0).toFixed(1)} |`);
  }
}
/** A server and a client GnuPG home (rsa2048, no passphrase), each with the other's public key; the client's certified by the server (fwknopd wants validity). */
function makeGpgKeys() {
  const gpg = (home, args, input) => execFileSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback',
    '--passphrase', '', ...args], { input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] });
  const fpr = (home, uid) => gpg(home, ['--with-colons', '--list-keys', uid]).toString().split('\n').find((l) => l.startsWith('fpr:')).split(':')[9];
  const mk = (name) => {
    const home = mkdtempSync(join(tmpdir(), `bfg${name}-`));
    chmodSync(home, 0o700);
    const uid = `${name} <${name}@sesame.bench>`;
    gpg(home, ['--quick-gen-key', uid, 'rsa2048', 'sign,cert', 'never']);
    const f = fpr(home, uid);
    gpg(home, ['--quick-add-key', f, 'rsa2048', 'encr', 'never']);
    return { home, f };
  };
  const srv = mk('srv'), cli = mk('cli');
  gpg(cli.home, ['--import'], gpg(srv.home, ['--export', srv.f]));
  gpg(srv.home, ['--import'], gpg(cli.home, ['--export', cli.f]));
  gpg(srv.home, ['--yes', '--default-key', srv.f, '--quick-lsign-key', cli.f]);
  return { srvHome: srv.home, cliHome: cli.home, srvFpr: srv.f, cliFpr: cli.f };
}

const label = (n) => ({ knockd: 'knockd 0.8', fwknopd: 'fwknopd 2.6', pcap: 'Sesame pcap', kernel: 'Sesame kernel', auto: 'Sesame TOTP',
  watched: 'Sesame kernel + metrics + webhook' })[n];

/** A webhook secret file (0600) in `dir`. */
function hookSecret(dir) {
  const p = join(dir, 'hook.secret');
  writeFileSync(p, `${randomBytes(24).toString('base64')}\n`, { mode: 0o600 });
  chmodSync(p, 0o600);
  return p;
}

/** --metrics: the webhook receiver (test/helpers/event-receiver.mjs) in the client namespace. */
function startReceiver() {
  const out = join(mkdtempSync(join(tmpdir(), 'sesame-hooks-')), 'hooks.jsonl');
  const p = spawn('ip', ['netns', 'exec', CLI, process.execPath, join(ROOT, 'test/helpers/event-receiver.mjs'), CLIENT, '8080', 'ok', out],
    { stdio: 'ignore' });
  return { stop: () => p.kill('SIGKILL'), count: () => readIf(out).split('\n').filter(Boolean).length };
}
const fmt = (r) => `${label(r.name)} @ ${r.rate === 0 ? 'max' : r.rate} (${r.sources}): reached ${r.reached} pkt/s, ` +
  `opened ${r.opened}/${KNOCKS}, CPU ${r.cpu.toFixed(1)} s, peak RSS ${r.peak.toFixed(0)} MB (idle ${r.idle.toFixed(0)}), ` +
  `kernel +${r.kernel.toFixed(0)} MB, log +${r.logBytes} B`;

await main();
