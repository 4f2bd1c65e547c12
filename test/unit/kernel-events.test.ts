// Kernel matching's pure parts on the daemon side: NFLOG frames decoded (and fuzzed), kernel events
// turned into the matcher's events with timeouts, the engine's log lines and effects for them, and
// the Matching key and --matching flag.

import t from 'tap';
import { decodeNflog } from '../../lib/capture/nflog-decode.js';
import { KernelAttempts } from '../../lib/matcher/kernel-attempts.js';
import { Engine, type Effect } from '../../lib/engine/engine.js';
import { parseConfig } from '../../lib/config/parser.js';
import { parseKnockdArgs } from '../../lib/cli/knockd-args.js';
import type { KernelEvent } from '../../lib/ruleset/events.js';
import type { Packet } from '../../lib/matcher/types.js';

function tlv(type: number, body: Buffer): Buffer {
  const len = 4 + body.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  body.copy(b, 4);
  return b;
}

function ipv4Syn(src: number[], dst: number[], dport: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x45; b[9] = 6;
  Buffer.from(src).copy(b, 12); Buffer.from(dst).copy(b, 16);
  b.writeUInt16BE(40000, 20); b.writeUInt16BE(dport, 22); b[33] = 0x02;
  return b;
}

function frame(prefix: string | undefined, payload: Buffer | undefined): Buffer {
  const parts: Buffer[] = [Buffer.from([2, 0, 0x17, 0x0c])];
  parts.push(tlv(1, Buffer.from([0x08, 0x00, 3, 0])));
  if (prefix !== undefined) parts.push(tlv(10, Buffer.from(prefix + '\0', 'latin1')));
  if (payload) parts.push(tlv(9, payload));
  return Buffer.concat(parts);
}

t.test('NFLOG frames: prefix and packet', async (t) => {
  const f = frame('sesame 1 d0v0 s 1', ipv4Syn([10, 77, 0, 2], [10, 77, 0, 1], 7000));
  t.same(decodeNflog(f, f.length), {
    prefix: 'sesame 1 d0v0 s 1',
    packet: { src: '10.77.0.2', dst: '10.77.0.1', family: 4, protocol: 'tcp', dport: 7000, tcpFlags: 2 },
  });
  const noPrefix = frame(undefined, ipv4Syn([1, 2, 3, 4], [5, 6, 7, 8], 1));
  t.equal(decodeNflog(noPrefix, noPrefix.length), undefined, 'no prefix: not ours');
  const noPayload = frame('sesame 1 d0v0 s 1', undefined);
  t.equal(decodeNflog(noPayload, noPayload.length), undefined);
  const v1 = Buffer.from(f); v1[1] = 1;
  t.equal(decodeNflog(v1, v1.length), undefined, 'unknown version');
  const cut = decodeNflog(f, f.length - 30);
  t.ok(cut === undefined || typeof cut.packet === 'string', 'a cut frame gives nothing or a drop reason');
});

t.test('NFLOG frames: fuzz (truncation, flips, junk) never throws or reads past the end', async (t) => {
  const base = frame('sesame 12 d3v4 o 3', ipv4Syn([192, 0, 2, 9], [192, 0, 2, 1], 9000));
  let seed = 1;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.from(base);
    const kind = i % 3;
    if (kind === 0) for (let k = 0; k < 1 + rnd() * 4; k++) { const i = Math.floor(rnd() * b.length); b[i] = b[i]! ^ (1 << Math.floor(rnd() * 8)); }
    const len = kind === 1 ? Math.floor(rnd() * (b.length + 1)) : b.length;
    const junk = kind === 2 ? Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256))) : b;
    // The buffer is larger than `len`: the decoder must stop at `len`, so poison what follows.
    const big = Buffer.concat([junk.subarray(0, len), Buffer.alloc(64, 0xff)]);
    const r = decodeNflog(big, Math.min(len, junk.length));
    if (r) decoded++;
  }
  t.ok(decoded > 0, `some mutated frames still decode (${decoded})`);
});

const CONF = `[openSSH]\nsequence = 7000,8000,9000\nseq_timeout = 5\ncommand = echo %IP%\n[single]\nsequence = 5000:udp\ncommand = echo one\n`;
const doors = parseConfig(CONF, 'k.conf').doors;
const SRC = '10.77.0.2';

t.test('kernel attempts: stages, completion, reset, timeouts at the deadline', async (t) => {
  const k = new KernelAttempts(doors);
  const ev = (kind: 'stage' | 'open' | 'reset', stage: number, at: number, src = SRC) =>
    k.handle({ kind, doorIndex: 0, stage, src, family: 4 }, at).map((e) => `${e.type} ${'stage' in e ? e.stage : ''}`.trim());
  t.same(ev('stage', 1, 0), ['stage 1']);
  t.equal(k.nextDeadline(), 5000);
  t.same(ev('stage', 2, 100), ['stage 2']);
  t.same(ev('open', 3, 200), ['stage 3', 'open'], 'a completion reports its last stage, then OPEN SESAME');
  t.equal(k.size, 0);
  t.same(ev('stage', 1, 1000), ['stage 1']);
  t.same(ev('reset', 1, 1100), ['reset 1']);
  t.same(k.expire(10_000), [], 'a reset attempt never times out');
  t.same(ev('stage', 1, 2000), ['stage 1']);
  t.same(ev('stage', 2, 2500), ['stage 2']);
  t.same(k.expire(6999).length, 0, 'not before the deadline (5 s from the first knock)');
  t.same(k.expire(7000).map((e) => [e.type, e.type === 'timeout' ? e.stage : 0]), [['timeout', 2]]);
  t.same(ev('stage', 2, 8000, '10.77.0.9'), ['stage 2'], 'an attempt whose first stage was not heard still logs');
  t.equal(k.size, 0, 'but is not tracked (no timeout line for it)');
  t.same(ev('stage', 1, 9000), ['stage 1']);
  k.dropDoor(0);
  t.equal(k.size, 0, 'a rotated door forgets its attempts');
  t.same(k.handle({ kind: 'stage', doorIndex: 9, stage: 1, src: SRC, family: 4 }, 0), [], 'unknown door');
});

t.test('kernel attempts are bounded: the oldest goes', async (t) => {
  const k = new KernelAttempts(doors, 3);
  for (let i = 0; i < 10; i++) k.handle({ kind: 'stage', doorIndex: 0, stage: 1, src: `10.0.0.${i}`, family: 4 }, i);
  t.equal(k.size, 3);
  t.same(k.expire(1e9).map((e) => e.src), ['10.0.0.7', '10.0.0.8', '10.0.0.9']);
});

function engine(matching: 'kernel' | 'pcap' = 'kernel'): Engine {
  return new Engine(parseConfig(CONF, 'k.conf'), { localAddresses: ['10.77.0.1'], maxAttempts: 100, onlyIPv4: false, matching }, {
    display: (ip) => ip, persistReplay: () => true,
  });
}
const pkt = (dport: number, protocol: 'tcp' | 'udp' = 'tcp'): Packet => ({ src: SRC, dst: '10.77.0.1', family: 4, protocol, dport, tcpFlags: 2 });
const kev = (kind: KernelEvent['kind'], index: number, stage: number, version = 0): KernelEvent => ({ generation: 1, kind, door: { index, version }, stage });
const logs = (es: Effect[]) => es.filter((e) => e.kind === 'log').map((e) => (e as { line: string }).line.trim());

t.test('engine: kernel events become knockd log lines, commands and grants', async (t) => {
  const e = engine();
  t.same(logs(e.handle({ kind: 'kernel-event', event: kev('stage', 0, 1), packet: pkt(7000), at: 0, wall: 0 })), [`${SRC}: openSSH: Stage 1`]);
  t.same(logs(e.handle({ kind: 'kernel-event', event: kev('stage', 0, 2), packet: pkt(8000), at: 10, wall: 10 })), [`${SRC}: openSSH: Stage 2`]);
  const open = e.handle({ kind: 'kernel-event', event: kev('open', 0, 3), packet: pkt(9000), at: 20, wall: 20 });
  t.same(logs(open), [`${SRC}: openSSH: Stage 3`, `${SRC}: openSSH: OPEN SESAME`]);
  t.ok(open.some((x) => x.kind === 'run'), 'the start command runs');
  t.notOk(open.some((x) => x.kind === 'grant'), 'no grant effect: the door guards no port (it has no Open)');
  t.same(e.handle({ kind: 'kernel-event', event: kev('open', 0, 3, 5), packet: pkt(9000), at: 30, wall: 30 }), [], 'an event of another door version is stale');
  e.handle({ kind: 'kernel-event', event: kev('stage', 0, 1), packet: pkt(7000), at: 100, wall: 100 });
  t.equal(e.nextDeadline(), 5100);
  t.same(logs(e.handle({ kind: 'tick', at: 5100, wall: 5100 })), [`${SRC}: openSSH: sequence timeout (stage 1)`]);
  t.same(logs(e.handle({ kind: 'packet', packet: pkt(7000), at: 6000, wall: 6000 })), [], 'under kernel matching, packets are not matched again');
  t.same(logs(engine('pcap').handle({ kind: 'packet', packet: pkt(7000), at: 0, wall: 0 })), [`${SRC}: openSSH: Stage 1`], 'under pcap they are');
  t.same(e.kernelDoors().map((d) => [d.index, d.version, d.sequence.length]), [[0, 0, 3], [1, 0, 1]]);
});

t.test('Matching key and --matching', async (t) => {
  t.equal(parseConfig('[options]\nMatching = Kernel\n[d]\nsequence = 1\n', 'm.conf').options.matching, 'kernel');
  t.equal(parseConfig('[options]\nmatching = pcap\n[d]\nsequence = 1\n', 'm.conf').options.matching, 'pcap');
  t.equal(parseConfig('[d]\nsequence = 1\n', 'm.conf').options.matching, undefined);
  t.throws(() => parseConfig('[options]\n\nMatching = ebpf\n[d]\nsequence = 1\n', 'm.conf'), { message: 'config: line 3: Matching must be kernel, pcap or auto, not "ebpf"', line: 3 });
  const ok = parseKnockdArgs(['--matching', 'pcap']);
  t.equal(ok.kind === 'run' && ok.args.matching, 'pcap');
  const none = parseKnockdArgs([]);
  t.equal(none.kind === 'run' && none.args.matching, undefined);
  const bad = parseKnockdArgs(['--matching=xdp']);
  t.equal(bad.kind, 'bad');
});

t.test('Capture_Buffer key: MiB, 1..1024, errors name the line', async (t) => {
  t.equal(parseConfig('[options]\nCapture_Buffer = 32\n[d]\nsequence = 1\n', 'c.conf').options.captureBuffer, 32 * 1048576);
  t.equal(parseConfig('[options]\ncapture_buffer = 1024\n[d]\nsequence = 1\n', 'c.conf').options.captureBuffer, 1024 * 1048576);
  t.equal(parseConfig('[d]\nsequence = 1\n', 'c.conf').options.captureBuffer, undefined);
  for (const v of ['0', '1025', '8M', '-1', '1.5', '', '99999']) {
    t.throws(() => parseConfig(`[options]\nCapture_Buffer = ${v}\n[d]\nsequence = 1\n`, 'c.conf'),
      { message: `config: line 2: Capture_Buffer must be a size in MiB from 1 to 1024, not "${v}"`, line: 2 }, JSON.stringify(v));
  }
});

t.test('interfaces from /proc/net/dev (chroots may have no /sys)', async (t) => {
  const { devNames, interfacePresent } = await import('../../lib/capture/interfaces.js');
  const text = 'Inter-|   Receive\n face |bytes    packets\n    lo: 0 0 0\n  eth0: 1 2 3\nwg-1.2: 0 0\n';
  t.same([...devNames(text)], ['lo', 'eth0', 'wg-1.2']);
  t.ok(interfacePresent('lo'));
  t.ok(interfacePresent('any'));
  t.notOk(interfacePresent('nosuch0'));
});
