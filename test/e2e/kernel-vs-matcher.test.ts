// The compiled ruleset against the userspace matcher, packet for packet: the same config is
// compiled (lib/ruleset) and loaded into a real namespace's nftables, the same packets go through
// the kernel (raw sockets: any TCP flags, several sources, IPv4 and IPv6, Target addresses) and
// through the Matcher, and the events each packet caused must be the same (stage, reset, open,
// per door). Fixed cases from docs/knockd-0.8.md §8 first, then seeded random configs and traffic.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, labForFile, sleep, waitFor } from '../helpers/lab.js';
import { parseConfig } from '../../lib/config/parser.js';
import type { Config } from '../../lib/config/types.js';
import { Matcher } from '../../lib/matcher/matcher.js';
import type { Packet } from '../../lib/matcher/types.js';
import { installScript } from '../../lib/ruleset/compile.js';
import { parseEventPrefix } from '../../lib/ruleset/events.js';
import type { RulesetSpec } from '../../lib/ruleset/spec.js';

const { lab } = labForFile(t, 33, 'km');
const GROUP = 5933;
const OTHER4 = '10.77.33.9'; // a second server address: only Target doors match it
lab.exec(lab.srv, ['ip', 'addr', 'add', `${OTHER4}/24`, 'dev', lab.sif]);
const SEND = join(ROOT, 'test/helpers/sendpackets.py');
const NFLOG = join(ROOT, 'test/helpers/nflog-events.cjs');

interface Pkt { src: string; dst: string; proto: 'tcp' | 'udp'; dport: number; flags: string }
const FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32 };

function specFor(config: Config): RulesetSpec {
  return {
    table: 'kvm', group: GROUP, generation: 1, interfaces: [lab.sif], families: [4, 6],
    local: [lab.server4, lab.server6],
    doors: config.doors.map((door, index) => ({ index, version: 0, door, sequence: door.sequence })),
    // Tiers of one source each, then a big one: the three sources spread over every overflow tier
    // (a tier's timeout is the door's Seq_Timeout when that is shorter, as the matcher's).
    spaPorts: [], setSize: 1, eventRate: 10_000, eventBurst: 10_000,
    overflow: [{ size: 1, timeoutMs: 604_800_000 }, { size: 65536, timeoutMs: 604_800_000 }],
  };
}

/** What the matcher makes of the packets: per packet, sorted `door kind stage` lines (kernel form). */
function expected(config: Config, pkts: readonly Pkt[]): string[][] {
  const m = new Matcher(config.doors, { localAddresses: [lab.server4, lab.server6] });
  return pkts.map((k) => {
    const p: Packet = {
      src: k.src, dst: k.dst, family: k.src.includes(':') ? 6 : 4, protocol: k.proto, dport: k.dport,
      tcpFlags: [...k.flags].reduce((a, c) => a | FLAG_BITS[c]!, 0),
    };
    const out: string[] = [];
    for (const e of m.handle(p, 0)) {
      const n = e.door.sequence.length;
      if (e.type === 'open') out.push(`d${e.doorIndex} o ${n}`);
      else if (e.type === 'stage' && e.stage < n) out.push(`d${e.doorIndex} s ${e.stage}`);
      else if (e.type === 'reset') out.push(`d${e.doorIndex} r ${e.stage}`);
    }
    return out.sort();
  });
}

/** Loads the compiled config, sends the packets and returns the kernel's events per packet. */
async function kernel(config: Config, pkts: readonly Pkt[]): Promise<string[][]> {
  lab.exec(lab.srv, ['nft', '-f', lab.file('kvm.nft', installScript(specFor(config)))]);
  const reader = spawn('ip', ['netns', 'exec', lab.srv, 'node', NFLOG, String(GROUP)], { stdio: ['ignore', 'pipe', 'ignore'], cwd: ROOT });
  let out = '';
  reader.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  try {
    if (!(await waitFor(() => out.startsWith('ready'), 10_000))) throw new Error('nflog reader did not start');
    const base = 20000;
    lab.file('pkts.json', JSON.stringify(pkts.map((k, i) => [k.src, k.dst, k.proto, k.dport, k.flags, base + i])));
    lab.exec(lab.cli, ['python3', SEND, join(lab.dir, 'pkts.json')]);
    await sleep(300);
    const per: string[][] = pkts.map(() => []);
    for (const line of out.split('\n').slice(1)) {
      if (!line) continue;
      const { prefix, sport } = JSON.parse(line) as { prefix: string; sport: number };
      const e = parseEventPrefix(prefix);
      if (!e?.door) continue;
      per[sport - base]?.push(`d${e.door.index} ${e.kind[0]} ${e.stage}`);
    }
    return per.map((l) => l.sort());
  } finally {
    reader.kill('SIGTERM');
  }
}

async function same(t: Test, text: string, pkts: Pkt[], name: string): Promise<void> {
  const config = parseConfig(text, 'kvm.conf');
  const want = expected(config, pkts);
  const got = await kernel(config, pkts);
  t.same(got, want, name);
}

const S = (dport: number, src = lab.client4, flags = 'S'): Pkt => ({ src, dst: src.includes(':') ? lab.server6 : lab.server4, proto: 'tcp', dport, flags });
const U = (dport: number, src = lab.client4): Pkt => ({ src, dst: src.includes(':') ? lab.server6 : lab.server4, proto: 'udp', dport, flags: '' });
const BASE = `[openSSH]\nsequence = 7000,8000,9000\nseq_timeout = 60\ntcpflags = syn\n[closeSSH]\nsequence = 9000,8000,7000\nseq_timeout = 60\ntcpflags = syn\n`;

t.test('knockd spec cases, kernel = matcher', async (t) => {
  await same(t, BASE, [S(7000), S(8000), S(9000)], 'case 1: opens');
  await same(t, BASE, [S(7000), S(9000), S(8000)], 'case 2: wrong port resets, starts nothing');
  await same(t, BASE, [S(7000), S(7000), S(8000), S(9000)], 'case 3');
  await same(t, BASE, [S(7000), S(7000), S(7000), S(8000), S(9000)], 'case 4: 7000 7000 7000 8000 9000 opens');
  await same(t, BASE, [S(7000), S(1234), S(8000), S(9000)], 'case 5: a port in no door is invisible');
  await same(t, BASE, [S(7000), S(8000, lab.client4, 'A'), S(8000), S(9000)], 'case 6: ACK filtered by tcpflags');
  await same(t, BASE.replace(/tcpflags = syn\n/g, ''), [S(7000, lab.client4, 'A'), S(8000, lab.client4, 'FA'), S(9000, lab.client4, 'R')], 'case 7: no tcpflags: any segment');
  await same(t, `[A]\nsequence = 7000,8000,9000\ntcpflags = syn\n[B]\nsequence = 5000,8000\n`, [S(7000), S(8000, lab.client4, 'A'), S(8000), S(9000)], 'case 8: flags mismatch ignored for the door');
  await same(t, BASE.replace(/tcpflags = syn/g, 'tcpflags = SYN,!ack'), [S(7000), S(8000, lab.client4, 'SA'), S(8000), S(9000)], 'case 9: SYN,!ack');
  await same(t, BASE, [S(7000), S(7000, lab.client4b), S(8000), S(8000, lab.client4b), S(9000), S(9000, lab.client4b)], 'two sources interleaved');
  await same(t, BASE, [S(7000, lab.client6), S(8000, lab.client6), S(9000, lab.client6)], 'IPv6');
  await same(t, `[one]\nsequence = 5000:udp\n[two]\nsequence = 5000:udp,6000:udp\n`, [U(5000), U(5000), U(6000), U(5000)], 'one-port door fires each time; shared first port');
  await same(t, `[Y]\nsequence = 7000,6000,5000\n[X]\nsequence = 7000,8000,9000\n`, [S(7000), S(8000), S(9000)], 'overlapping doors: both start, independent');
  await same(t, `[short]\nsequence = 7000,8000\n[long]\nsequence = 7000,8000,9000\n`, [S(7000), S(8000), S(9000)], 'short and long share a prefix');
  await same(t, `[T]\nsequence = 7000,8000\ntarget = ${OTHER4}\n[L]\nsequence = 7000,8000\n`,
    [{ ...S(7000), dst: OTHER4 }, { ...S(8000), dst: OTHER4 }, S(7000), S(8000)], 'Target doors match only their address');
  await same(t, `[M]\nsequence = 7000:udp,7000:tcp,8000:udp\n`, [U(7000), S(7000), U(8000), U(7000), U(7000), S(7000), U(8000)], 'mixed protocols, same port');
});

/** A small seeded PRNG (mulberry32): the same rounds on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('random configs and traffic, kernel = matcher', async (t) => {
  const r = rng(0x5e5a);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const ports = [7000, 7001, 7002, 7003];
  for (let round = 0; round < 20; round++) {
    const doors: string[] = [];
    const n = 1 + Math.floor(r() * 4);
    for (let d = 0; d < n; d++) {
      const len = 1 + Math.floor(r() * 4);
      const seq = Array.from({ length: len }, () => `${pick(ports)}${r() < 0.25 ? ':udp' : ''}`).join(',');
      const flags = pick(['', '', 'syn', 'syn,!ack', 'ack', '!syn']);
      const target = pick(['', '', '', OTHER4, lab.server6]);
      doors.push(`[door${d}]\nsequence = ${seq}\nseq_timeout = 60\n${flags ? `tcpflags = ${flags}\n` : ''}${target ? `target = ${target}\n` : ''}`);
    }
    const pkts: Pkt[] = [];
    for (let i = 0; i < 30; i++) {
      const src = pick([lab.client4, lab.client4, lab.client4b, lab.client6]);
      const v6 = src.includes(':');
      const dst = v6 ? lab.server6 : pick([lab.server4, lab.server4, OTHER4]);
      const port = r() < 0.1 ? 1234 : pick(ports);
      pkts.push(r() < 0.25 ? { src, dst, proto: 'udp', dport: port, flags: '' } : { src, dst, proto: 'tcp', dport: port, flags: pick(['S', 'S', 'S', 'SA', 'A', 'FA', 'R']) });
    }
    await same(t, doors.join(''), pkts, `round ${round}: ${doors.length} doors`);
  }
});
