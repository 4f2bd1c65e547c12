#!/usr/bin/env node
// Fleet mode under a spoofed flood: three Sesame nodes (a, b, c) and a Redis server in network
// namespaces (10.77.41.0/24), flood-gen (bench/flood-gen.c) sending spoofed SYNs at RATE pkt/s.
//
// 1. Grant propagation: GRANTS knocks on a one-port door of node a, each from its own address
//    (10.77.141.x, 100 ms apart; --gap) while the flood runs at another door's first port on a; every node
//    runs `echo IP $(date +%s%N)` as its start command. Reported: p50 / p99 / max from the knock's
//    send time to the start command on a (local) and on b and c (through the fleet), and how many
//    of the grants reached each node. (One host clock: all namespaces share it.)
// 2. Redis commands per flood packet in the cross-node knock mode (Fleet_Shared_Knocks): Redis's
//    total_commands_processed over SECONDS of flood, less the idle rate (heartbeats), divided by
//    the packets sent: flood at the shared door's first port (on a), at its last port (on c), and
//    at both at once (spoofed sources from one /15: asks find answers); and, during the last two,
//    how many of 8 knocks spread over the three nodes (real `knock`, one port per node) opened.
//
//   npm run bench:fleet [-- --grants 200 --gap 100 --rate 20000 --seconds 10]
//
// Root: it makes the namespaces and deletes them at the end (also on failure).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Sealer } from '../dist/fleet/sealer.js';
import { fleetKey } from '../dist/fleet/seal.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GEN, ROOT, buildGen, opt, readIf, sh, sleep } from './lab.mjs';

const GRANTS = Number(opt('grants', '200'));
const RATE = Number(opt('rate', '20000'));
const SECONDS = Number(opt('seconds', '10'));
const SPREAD = 8;
const NET = '10.77.41';
const SW = 'sesbq-sw', CLI = 'sesbq-cli', RDS = 'sesbq-rds';
const NODES = ['a', 'b', 'c'].map((name, i) => ({ name, ns: `sesbq-${name}`, ifc: `bq${name}0`, addr: `${NET}.${11 + i}` }));
const REDIS = `${NET}.50`, CLIENT = `${NET}.2`, PORT = 6391;
const inNs = (ns, ...cmd) => sh('ip', ['netns', 'exec', ns, ...cmd], true);

function labUp() {
  labDown();
  sh('ip', ['netns', 'add', SW]);
  sh('ip', ['-n', SW, 'link', 'add', 'br0', 'type', 'bridge']);
  sh('ip', ['-n', SW, 'link', 'set', 'br0', 'up']);
  const hosts = [{ ns: CLI, ifc: 'bqcl0', addr: CLIENT }, { ns: RDS, ifc: 'bqrd0', addr: REDIS }, ...NODES];
  hosts.forEach(({ ns, ifc, addr }, i) => {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'add', ifc, 'netns', ns, 'type', 'veth', 'peer', 'name', `bqp${i}`, 'netns', SW]);
    sh('ip', ['-n', SW, 'link', 'set', `bqp${i}`, 'master', 'br0']);
    sh('ip', ['-n', SW, 'link', 'set', `bqp${i}`, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', ifc]);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', ifc, 'up']);
  });
}
function labDown() {
  for (const ns of [CLI, RDS, ...NODES.map((n) => n.ns), SW]) sh('ip', ['netns', 'del', ns], true);
}

const redisCli = (...args) => inNs(RDS, 'redis-cli', '-h', REDIS, '-p', String(PORT), ...args);
const commandsSoFar = () => Number(/total_commands_processed:(\d+)/.exec(redisCli('info', 'stats'))?.[1] ?? NaN);

/**
 * What sealing adds to each grant: the origin seals its note once, each receiver opens it once
 * (AES-256-GCM over ~300 bytes of JSON): median of 20 runs of 1,000 each, microseconds per note.
 */
function sealCost() {
  const ring = { signing: fleetKey(randomBytes(32)), accepted: [] };
  const a = new Sealer(ring, 'bench', 'a', () => randomBytes(12)), b = new Sealer(ring, 'bench', 'b', () => randomBytes(12));
  const note = {
    type: 'grant', id: 'a:x:1', node: 'a', kind: 'knock', door: 'ping', ip: '10.77.141.7', family: 4, timeout: 600, at: Date.now(),
  };
  const seal = [], open = [];
  for (let run = 0; run < 20; run++) {
    const texts = [];
    let t0 = performance.now();
    for (let i = 0; i < 1000; i++) texts.push(a.seal({ ...note, id: `a:x:${run}.${i}` }, Date.now()));
    seal.push((performance.now() - t0));
    t0 = performance.now();
    for (const text of texts) if (!b.live(text, Date.now()).ok) throw new Error('sealCost: a note did not open');
    open.push((performance.now() - t0));
  }
  const med = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1];
  return { seal: med(seal), open: med(open) };
}

function config(dir, n, shared) {
  const conf = join(dir, `${n.name}.conf`);
  const ecmp = `[ecmp]
  Sequence = 7400,7500,7600
  Seq_Timeout = 5
  Cmd_Timeout = 600
  Fleet_Shared_Knocks = yes
  Start_Command = echo SPREAD %IP% >> ${join(dir, `${n.name}.spread`)}
`;
  writeFileSync(conf, `[options]
  LogFile = ${join(dir, `${n.name}.log`)}
  Interface = ${n.ifc}
  Fleet_Redis = redis://${REDIS}:${PORT}
  Fleet_Key_File = ${join(dir, 'fleet.key')}
  Fleet_Name = bench
  Fleet_Node = ${n.name}
[ping]
  Sequence = 7000
  Cmd_Timeout = 600
  Start_Command = echo %IP% $(date +%s%N) >> ${join(dir, `${n.name}.grants`)}
[ssh]
  Sequence = 7100,7200,7300
  Seq_Timeout = 5
${shared ? ecmp : ''}`);
  return conf;
}

function flood(ns, dst, port, seconds) {
  const gen = spawn('ip', ['netns', 'exec', ns, GEN, 'tcp', dst, String(port), String(RATE), String(seconds)],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  gen.stdout.on('data', (b) => { out += b; });
  return new Promise((r) => gen.on('exit', () => r(Number(/sent (\d+)/.exec(out)?.[1] ?? 0))));
}

/** One SYN to a:7000 from each of `count` source addresses, `gapMs` apart (raw IP: any source). */
function knockFromMany(count, gapMs) {
  return new Promise((r) => {
    const p = spawn('ip', ['netns', 'exec', CLI, 'python3', '-c', `
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
dst = socket.inet_aton('${NODES[0].addr}')
for i in range(${count}):
    src = socket.inet_aton('10.77.%d.%d' % (141 + i // 250, 1 + i % 250))
    tcp = struct.pack('!HHIIBBHHH', 40000 + i, 7000, 1, 0, 5 << 4, 2, 64240, 0, 0)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, i, 0, 64, 6, 0, src, dst)
    print('10.77.%d.%d' % (141 + i // 250, 1 + i % 250), time.time_ns() // 1000, flush=False)
    s.sendto(ip + tcp, ('${NODES[0].addr}', 0))
    time.sleep(${gapMs / 1000})
`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (b) => { out += b; });
    p.on('exit', () => r(new Map(out.trim().split('\n').map((l) => { const [ip, us] = l.split(' '); return [ip, Number(us) / 1000]; }))));
  });
}

const grantsOf = (dir, n) => new Map(readIf(join(dir, `${n.name}.grants`)).trim().split('\n').filter(Boolean).map((l) => {
  const [ip, ns] = l.split(' ');
  return [ip, Number(BigInt(ns) / 1000n) / 1000]; // ms, with µs
}));
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

const running = [];
async function startNodes(dir, shared) {
  const joined = () => NODES.every((n) => readIf(join(dir, `${n.name}.log`)).split('fleet: joined').length > (shared ? 2 : 1));
  const procs = NODES.map((n) => spawn('ip',
    ['netns', 'exec', n.ns, join(ROOT, 'bin/knockd'), '-c', config(dir, n, shared), '--state-dir', join(dir, `${n.name}.state`)],
    { stdio: 'ignore' }));
  running.push(...procs);
  for (let i = 0; i < 150 && !joined(); i++) await sleep(100);
  if (!joined()) throw new Error('the nodes did not join');
  await sleep(1000);
  return procs;
}

async function main() {
  if (process.getuid() !== 0) { console.error('bench:fleet needs root (network namespaces)'); process.exit(1); }
  buildGen();
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-fleet-'));
  writeFileSync(join(dir, 'fleet.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const signing = sealCost();
  const procs = [];
  labUp();
  try {
    const redis = spawn('ip', [
      'netns', 'exec', RDS, 'redis-server', '--bind', REDIS, '--port', String(PORT),
      '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
    ], { stdio: 'ignore' });
    procs.push(redis);
    for (let i = 0; i < 100 && redisCli('ping').trim() !== 'PONG'; i++) await sleep(100);
    // Phase 1 runs the nodes as most fleets would: kernel matching (no shared door).
    let nodes = await startNodes(dir, false);

    // 1. Grant propagation under flood.
    const gap = Number(opt('gap', '100'));
    const floodDone = flood(CLI, NODES[0].addr, 7100, Math.ceil((GRANTS * gap) / 1000) + 6);
    await sleep(1000);
    const sent = await knockFromMany(GRANTS, gap);
    await floodDone;
    await sleep(1000);
    const [ga, gb, gc] = NODES.map((n) => grantsOf(dir, n));
    const since = (g) => [...g].flatMap(([ip, t]) => (sent.has(ip) ? [t - sent.get(ip)] : [])).sort((x, y) => x - y);
    const local = since(ga), fleet = [...since(gb), ...since(gc)].sort((x, y) => x - y);

    // 2. Redis commands per flood packet (cross-node knock mode: a shared door, libpcap matching).
    for (const p of nodes) p.kill('SIGTERM');
    await Promise.all(nodes.map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.on('exit', r)))));
    nodes = await startNodes(dir, true);
    const c0 = commandsSoFar();
    await sleep(SECONDS * 1000);
    const idlePerSecond = (commandsSoFar() - c0) / SECONDS;
    const perPacket = async (targets, knocks) => {
      await sleep(6000); // the previous flood's hits are past the door's timeout
      const before = commandsSoFar();
      const t0 = Date.now();
      const sent = Promise.all(targets.map(([node, port]) => flood(CLI, node.addr, port, SECONDS)))
        .then((ns) => ns.reduce((x, y) => x + y, 0));
      if (knocks) {
        await sleep(1000);
        for (let i = 0; i < SPREAD; i++) {
          for (const [k, p] of [[0, 7400], [1, 7500], [2, 7600]]) inNs(CLI, 'knock', NODES[k].addr, String(p));
          await sleep(((SECONDS - 3) * 1000) / SPREAD);
        }
      }
      const packets = await sent;
      const seconds = (Date.now() - t0) / 1000;
      const commands = commandsSoFar() - before - idlePerSecond * seconds;
      return { packets, commands: Math.max(0, commands), ratio: Math.max(0, commands) / packets };
    };
    const first = await perPacket([[NODES[0], 7400]], false);
    const spread = () => readIf(join(dir, 'c.spread')).split('\n').filter((l) => l === `SPREAD ${CLIENT}`).length;
    const last = await perPacket([[NODES[2], 7600]], true);
    await sleep(1000);
    const openedLast = spread();
    const both = await perPacket([[NODES[0], 7400], [NODES[2], 7600]], true);
    await sleep(1000);
    const openedBoth = spread() - openedLast;
    if (process.env.BENCH_DEBUG) console.log(redisCli('info', 'commandstats'));

    const f = (x) => x.toFixed(1);
    console.log(`\nFleet of 3 nodes + Redis 7 in namespaces; spoofed SYN flood at ${RATE} pkt/s offered`);
    const row = (what, xs, reached) => console.log(`| ${what} | ${f(pct(xs, 50))} | ${f(pct(xs, 99))} | ${f(xs.at(-1))} | ${reached} |`);
    console.log(`\n| ${GRANTS} knocks on a (one-port door, kernel matching), flood on a: knock sent -> start command ` +
      '| p50 ms | p99 ms | max ms | granted |');
    console.log('|---|---|---|---|---|');
    row('on a (local)', local, `${ga.size}/${GRANTS}`);
    row('on b and c (through Redis)', fleet, `b ${gb.size}/${ga.size}, c ${gc.size}/${ga.size} of a's`);
    console.log(`\nthe fleet adds ${f(pct(fleet, 50) - pct(local, 50))} ms at p50 and ${f(pct(fleet, 99) - pct(local, 99))} ms at p99 ` +
      'over the node that was knocked');
    console.log(`sealing adds ${f(signing.seal)} us (seal, at the origin) + ${f(signing.open)} us (check, at each receiver) ` +
      'per grant note (median of 20 x 1,000)');
    console.log('\n| cross-node knock mode (libpcap), flood for ' +
      `${SECONDS} s | packets sent | Redis commands (less idle ${f(idlePerSecond)}/s) | commands per packet | spread knocks opened |`);
    console.log('|---|---|---|---|---|');
    console.log(`| flood at the first port (on a) | ${first.packets} | ${Math.round(first.commands)} | ${first.ratio.toFixed(6)} | - |`);
    console.log(`| flood at the last port (on c) | ${last.packets} | ${Math.round(last.commands)} | ${last.ratio.toFixed(6)} | ` +
      `${openedLast}/${SPREAD} |`);
    console.log(`| both at once (a: first port, c: last port) | ${both.packets} | ${Math.round(both.commands)} | ` +
      `${both.ratio.toFixed(6)} | ${openedBoth}/${SPREAD} |`);
    console.log(`\n(the rows with spread knocks include their own grants and asks: about 7 commands each)`);
  } finally {
    for (const p of [...procs, ...running]) p.kill('SIGKILL');
    await sleep(300);
    labDown();
    if (process.env.BENCH_KEEP) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
