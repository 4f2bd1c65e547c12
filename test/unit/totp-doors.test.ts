// TOTP doors and bans, without a shell: the keys and their errors, the code judged when the last
// knock lands (current and earlier steps, used once, across reloads and in the state file's replay
// digests), the static sequence first, wrong codes and resets as failures, bans that stop a
// source's knocks from being heard, the capture filter's port ranges, and kernel matching's refusal.

import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/parser.js';
import { Engine, type Effect } from '../../lib/engine/engine.js';
import type { Packet } from '../../lib/matcher/types.js';
import { Bans, MAX_FAILURE_RECORDS } from '../../lib/matcher/bans.js';
import { totpDigest } from '../../lib/matcher/totp-judge.js';
import { codePorts } from '../../lib/totp/ports.js';
import { totpCode, totpStep } from '../../lib/totp/totp.js';
import { kernelRefusal } from '../../lib/daemon/kernel-matching.js';
import type { ReplayEntry } from '../../lib/spa/replay.js';

const SRV = '10.77.0.1', CLI = '10.77.0.2', OTHER = '10.77.0.3';
const SECRET = Buffer.from('12345678901234567890');
const B32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
// A wall time 10 s into a step, so a knock taking a few ms stays in it.
const WALL = (Math.floor(1_800_000_000 / 30) * 30 + 10) * 1000;

const dir = mkdtempSync(join(tmpdir(), 'sesame-totp-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, `${B32}\n`, { mode: 0o600 });
chmodSync(secretFile, 0o600);

const conf = (extra = '', door = '') => `[totp]
TOTP_Secret_File = ${secretFile}
TOTP_Port_Base = 40000
seq_timeout = 10
start_command = open %IP%
cmd_timeout = 10
Open = tcp/22
${door}
${extra}`;

function engine(text = conf(), persist: (e: readonly ReplayEntry[]) => boolean = () => true,
  opts: { fleet?: boolean; replay?: readonly unknown[]; banTable?: Bans } = {}) {
  return new Engine(parseConfig(text, 'e.conf'), {
    localAddresses: [SRV], maxAttempts: 100, onlyIPv4: false, ...(opts.fleet ? { fleet: true } : {}),
    ...(opts.replay ? { replay: { entries: opts.replay, now: WALL } } : {}), ...(opts.banTable ? { banTable: opts.banTable } : {}),
  }, { display: (ip) => ip, persistReplay: persist });
}
const pkt = (dport: number, src = CLI, protocol: 'tcp' | 'udp' = 'tcp'): Packet => ({ src, dst: SRV, family: 4, protocol, dport, tcpFlags: 2 });
const logs = (fx: readonly Effect[]) => fx.filter((f) => f.kind === 'log').map((f) => (f as { line: string }).line);
const code = (wall: number, digits: 6 | 8 = 6) => totpCode(SECRET, totpStep(wall), digits);
/** Knocks `ports` from `src`, 10 ms apart from `wall`; all effects. */
function knock(e: Engine, ports: readonly number[], wall = WALL, src = CLI, protocol: 'tcp' | 'udp' = 'tcp'): Effect[] {
  const out: Effect[] = [];
  ports.forEach((p, i) => out.push(...e.handle({ kind: 'packet', packet: pkt(p, src, protocol), at: wall + i * 10, wall: wall + i * 10 })));
  return out;
}
const ports = (c: string, base = 40000) => codePorts(c, base, 'tcp').map((p) => p.port);
const opened = (fx: readonly Effect[]) => logs(fx).some((l) => l.endsWith('OPEN SESAME')) && fx.some((f) => f.kind === 'grant');

t.test('config: keys, defaults and errors naming the line', async (t) => {
  const c = parseConfig(conf(), 'e.conf');
  t.match(c.doors[0], { sequence: [], totp: { path: secretFile, digits: 6, portBase: 40000, window: 1, protocol: 'tcp', line: 3 } });
  t.same(c.doors[0]!.bans, { maxFailures: 10, failureWindow: 300, banTime: 3600, line: 2, byDefault: true }, 'a TOTP door bans by default');
  t.equal(parseConfig(conf('Max_Failures = 0'), 'e.conf').doors[0]!.bans, undefined, 'Max_Failures = 0: no bans');
  t.match(parseConfig(conf('Ban_Time = 60'), 'e.conf').doors[0]!.bans, { maxFailures: 10, banTime: 60 }, 'Ban_Time alone on a TOTP door');
  t.equal(parseConfig('[k]\nsequence = 1\n', 'e.conf').doors[0]!.bans, undefined, 'other doors: none by default');
  t.same(Buffer.from(c.doors[0]!.totp!.secret), SECRET);
  const full = parseConfig(conf('TOTP_Digits = 8\nTOTP_Window = 2\nTOTP_Protocol = udp\nMax_Failures = 3\nFailure_Window = 60\nBan_Time = 600\nsequence = 7000'), 'e.conf');
  t.match(full.doors[0], { sequence: [{ protocol: 'tcp', port: 7000 }], totp: { digits: 8, window: 2, protocol: 'udp' },
    bans: { maxFailures: 3, failureWindow: 60, banTime: 600 } });
  t.match(parseConfig('[k]\nsequence = 1,2\nMax_Failures = 5\n', 'e.conf').doors[0]!.bans, { maxFailures: 5, failureWindow: 300, banTime: 3600 }, 'defaults');
  const bad: [string, RegExp][] = [
    ['[t]\nTOTP_Port_Base = 40000\n', /line 2: section t: TOTP keys need TOTP_Secret_File/],
    [`[t]\nTOTP_Secret_File = ${secretFile}\n`, /line 2: section t: TOTP keys need TOTP_Port_Base/],
    [`${conf()}TOTP_Digits = 7\n`, /line 9: TOTP_Digits must be 6 or 8, not "7"/],
    [`${conf()}TOTP_Window = 3\n`, /TOTP_Window must be a whole number from 0 to 2/],
    [`${conf()}TOTP_Protocol = icmp\n`, /TOTP_Protocol must be tcp or udp/],
    [`[t]\nTOTP_Secret_File = ${secretFile}\nTOTP_Port_Base = 65300\n`, /line 3: TOTP_Port_Base 65300: a 6-digit code needs ports up to 65599, past 65535/],
    [`[t]\nTOTP_Secret_File = ${secretFile}\nTOTP_Port_Base = 65300\nTOTP_Digits = 8\n`, /past 65535/],
    ['[t]\nTOTP_Secret_File = relative\n', /not an absolute path/],
    [`[t]\nTOTP_Secret_File = ${join(dir, 'missing')}\n`, /missing: No such file or directory/],
    ['[k]\nsequence = 1\nBan_Time = 5\n', /line 3: section k: Failure_Window and Ban_Time need Max_Failures/],
    ['[k]\nsequence = 1\nMax_Failures = 1001\n', /Max_Failures must be a whole number from 0 to 1000/],
    [`${conf()}[other]\nsequence = 40150\n`, /line 3: section totp: TOTP ports tcp\/40000-40299 overlap tcp\/40150 of section other/],
    [`${conf()}[other]\nsequence = 40150:udp\n`, /^$/],
    [`${conf()}[t2]\nTOTP_Secret_File = ${secretFile}\nTOTP_Port_Base = 40299\n`, /overlap TOTP ports tcp\/40299-40598 of section t2/],
    [`${conf()}One_Time_Sequences = ${secretFile}\n`, /./],
  ];
  for (const [text, want] of bad) {
    if (want.source === '^$') { t.doesNotThrow(() => parseConfig(text, 'e.conf'), 'another protocol does not overlap'); continue; }
    t.throws(() => parseConfig(text, 'e.conf'), { message: want }, want.source);
  }
});

t.test('config: the secret file must be its owner\'s alone and hold base32', async (t) => {
  const loose = join(dir, 'loose');
  writeFileSync(loose, `${B32}\n`);
  chmodSync(loose, 0o644);
  t.throws(() => parseConfig(`[t]\nTOTP_Secret_File = ${loose}\nTOTP_Port_Base = 1000\n`, 'e.conf'),
    { message: /loose: mode 644: readable by others than its owner \(chmod 600\)/, line: 2 });
  const junk = join(dir, 'junk');
  writeFileSync(junk, 'hello world\n', { mode: 0o600 });
  t.throws(() => parseConfig(`[t]\nTOTP_Secret_File = ${junk}\nTOTP_Port_Base = 1000\n`, 'e.conf'), { message: /line 2: TOTP_Secret_File .*junk is not base32/ });
});

t.test('the current code opens, once; the same code again does not, from anyone', async (t) => {
  const e = engine();
  const now = code(WALL);
  const first = knock(e, ports(now));
  t.same(logs(first), [`${CLI}: totp: Stage 1`, `${CLI}: totp: Stage 2`, `${CLI}: totp: Stage 3`, `${CLI}: totp: OPEN SESAME`]);
  t.ok(opened(first));
  const again = knock(e, ports(now), WALL + 1000);
  t.notOk(opened(again), 'the same source');
  t.match(logs(again).at(-1), new RegExp(`^${CLI}: totp: TOTP code refused: code already used \\(first by ${CLI} at `));
  t.notOk(opened(knock(e, ports(now), WALL + 2000, OTHER)), 'another source');
});

t.test('a wrong code does not open; the previous step\'s code does (window 1), not the one before', async (t) => {
  const e = engine();
  const wrong = String((Number(code(WALL)) + 1) % 1_000_000).padStart(6, '0');
  const fx = knock(e, ports(wrong));
  t.notOk(opened(fx));
  t.equal(logs(fx).at(-1), `${CLI}: totp: TOTP code refused: wrong code`);
  t.ok(opened(knock(e, ports(code(WALL - 30_000)))), 'previous step');
  t.notOk(opened(knock(e, ports(code(WALL - 60_000)), WALL, OTHER)), 'two steps back');
  t.notOk(opened(knock(e, ports(code(WALL + 30_000)), WALL, OTHER)), 'the next step');
  const w0 = engine(conf('TOTP_Window = 0'));
  t.notOk(opened(knock(w0, ports(code(WALL - 30_000)))), 'window 0: previous step refused');
  t.ok(opened(knock(w0, ports(code(WALL)))), 'window 0: current step');
  const w2 = engine(conf('TOTP_Window = 2'));
  t.ok(opened(knock(w2, ports(code(WALL - 60_000)))), 'window 2: two steps back');
});

t.test('a knock across a step boundary is judged when its last knock lands', async (t) => {
  const boundary = Math.ceil(WALL / 30_000) * 30_000;
  const before = code(boundary - 1);
  const e = engine();
  const out: Effect[] = [];
  const ps = ports(before);
  ps.forEach((p, i) => out.push(...e.handle({ kind: 'packet', packet: pkt(p), at: boundary - 200 + i * 150, wall: boundary - 200 + i * 150 })));
  t.ok(opened(out), 'window 1: the code of the step it began in opens');
  const w0 = engine(conf('TOTP_Window = 0'));
  const out0: Effect[] = [];
  ps.forEach((p, i) => out0.push(...w0.handle({ kind: 'packet', packet: pkt(p), at: boundary - 200 + i * 150, wall: boundary - 200 + i * 150 })));
  t.notOk(opened(out0), 'window 0: refused');
});

t.test('8 digits: four knocks; UDP; a static sequence first', async (t) => {
  const e8 = engine(conf('TOTP_Digits = 8'));
  const c8 = code(WALL, 8);
  t.equal(ports(c8).length, 4);
  t.ok(opened(knock(e8, ports(c8))));
  const eu = engine(conf('TOTP_Protocol = udp'));
  t.notOk(opened(knock(eu, ports(code(WALL)))), 'TCP knocks to a UDP door');
  t.ok(opened(knock(eu, ports(code(WALL)), WALL, CLI, 'udp')));
  const es = engine(conf('sequence = 7000,8000:udp'));
  t.notOk(opened(knock(es, ports(code(WALL)))), 'the code alone');
  const fx = [...knock(es, [7000]), ...es.handle({ kind: 'packet', packet: pkt(8000, CLI, 'udp'), at: WALL + 15, wall: WALL + 15 }),
    ...knock(es, ports(code(WALL)), WALL + 20)];
  t.ok(opened(fx), 'static ports, then the code');
  t.equal(logs(fx).filter((l) => l.includes('Stage')).length, 5);
});

t.test('a used code is written before the door opens; a failed write opens nothing', async (t) => {
  const seen: (readonly ReplayEntry[])[] = [];
  const e = engine(conf(), (x) => { seen.push(x); return true; });
  const fx = knock(e, ports(code(WALL)));
  t.ok(opened(fx));
  t.equal(seen.length, 1);
  t.ok(seen[0]!.some((r) => r.digest === totpDigest('totp', totpStep(WALL))));
  let writes = 0;
  const failing = engine(conf('Max_Failures = 1'), () => ++writes > 1);
  const f = knock(failing, ports(code(WALL)));
  t.notOk(opened(f));
  t.match(logs(f).at(-1), /TOTP code refused: used-code record not written/);
  t.notOk(f.some((x) => x.kind === 'ban'), 'not the knocker\'s failure: no ban, even at Max_Failures = 1');
  t.ok(opened(knock(failing, ports(code(WALL)), WALL + 100)), 'the code stays theirs: the retry opens once the write works');
  // A restart: the persisted digest is loaded and the code stays used.
  const next = engine(conf(), () => true, { replay: seen[0]! });
  t.notOk(opened(knock(next, ports(code(WALL)), WALL + 500)), 'refused after a restart');
  // A reload carries it over.
  const reloaded = e.next(parseConfig(conf(), 'e.conf'), WALL + 600);
  t.notOk(opened(knock(reloaded, ports(code(WALL)), WALL + 700, OTHER)), 'refused after a reload');
});

t.test('fleet: the code\'s digest is claimed before the grant, and shared with it', async (t) => {
  const e = engine(conf(), () => true, { fleet: true });
  const fx = knock(e, ports(code(WALL)));
  const claim = fx.find((f) => f.kind === 'claim') as Extract<Effect, { kind: 'claim' }>;
  t.ok(claim, 'a claim');
  t.same(claim.claim, { type: 'replay', digest: totpDigest('totp', totpStep(WALL)), ttlMs: 240_000 });
  t.ok(claim.granted.some((g) => g.kind === 'grant'), 'the grant waits for the claim');
  t.match(claim.granted.find((g) => g.kind === 'share'), { grant: { kind: 'knock', door: 'totp', digest: claim.claim.type === 'replay' ? claim.claim.digest : '' } });
  t.same(logs(claim.refused), [`${CLI}: totp: TOTP code refused: code already used on another fleet node`]);
  t.notOk(fx.some((f) => f.kind === 'grant'), 'nothing opens before the claim');
  // Another node's grant note carries the digest: kept here, the code is then used here too.
  const other = engine(conf(), () => true, { fleet: true });
  other.handle({ kind: 'fleet-grant', wall: WALL, seconds: 10, note: {
    type: 'grant', id: 'a'.repeat(32), node: 'n2', kind: 'knock', door: 'totp', ip: OTHER, family: 4, timeout: 10, at: WALL,
    digest: totpDigest('totp', totpStep(WALL)),
  } });
  const mine = knock(other, ports(code(WALL)));
  t.notOk(mine.some((f) => f.kind === 'claim'), 'no claim for a code this node knows is used');
  t.match(logs(mine).at(-1), /code already used \(first by fleet node n2/);
});

t.test('failures ban a source: wrong codes, resets; a banned source\'s right code is not heard', async (t) => {
  const e = engine(conf('Max_Failures = 2\nFailure_Window = 60\nBan_Time = 120'));
  const wrong = String((Number(code(WALL)) + 1) % 1_000_000).padStart(6, '0');
  t.notOk(logs(knock(e, ports(wrong))).some((l) => l.includes('banned')), 'one failure');
  const fx = knock(e, ports(wrong), WALL + 100);
  t.ok(logs(fx).includes(`${CLI}: totp: banned for 120s after 2 failures in 60s`), 'the second bans');
  t.match(fx.find((f) => f.kind === 'ban'), { ban: { src: CLI, door: 'totp', until: WALL + 100 + 20 + 120_000, failures: 2 } });
  const right = knock(e, ports(code(WALL)), WALL + 1000);
  t.same(right.filter((f) => f.kind !== 'debug'), [], 'not even a stage line');
  t.ok(opened(knock(e, ports(code(WALL)), WALL + 1000, OTHER)), 'another source is not banned');
  t.ok(opened(knock(e, ports(code(WALL + 121_000)), WALL + 121_000)), 'the ban ends');
  t.same(e.bans(WALL + 121_000), []);
  // Resets count on any door with Max_Failures.
  const k = engine('[k]\nsequence = 7000,8000,9000\nMax_Failures = 3\n');
  for (let i = 0; i < 2; i++) knock(k, [7000, 9000], WALL + i * 100);
  const third = knock(k, [7000, 9000], WALL + 300);
  t.ok(logs(third).includes(`${CLI}: k: banned for 3600s after 3 failures in 300s`));
  t.notOk(opened(knock(k, [7000, 8000, 9000], WALL + 400)), 'banned from the right sequence');
  // Failures outside the window do not add up.
  const slow = engine('[k]\nsequence = 7000,8000\nMax_Failures = 2\nFailure_Window = 10\n');
  knock(slow, [7000, 7000], WALL);
  t.notOk(logs(knock(slow, [7000, 7000], WALL + 11_000)).some((l) => l.includes('banned')));
  // An IPv6 source is banned by its /64.
  const v6 = engine('[k]\nsequence = 7000,8000\nMax_Failures = 2\n');
  const six = (dport: number, src: string, at: number) => v6.handle({ kind: 'packet', at, wall: at,
    packet: { src, dst: 'fd77::1', family: 6, protocol: 'tcp', dport, tcpFlags: 2 } });
  v6.handle({ kind: 'local-addresses', addresses: [SRV, 'fd77::1'] });
  six(7000, 'fd77::a', WALL); six(7000, 'fd77::a', WALL + 1);
  const b6 = [...six(7000, 'fd77::b', WALL + 2), ...six(7000, 'fd77::b', WALL + 3)];
  t.ok(logs(b6).includes('fd77::b: k: banned (fd77::/64) for 3600s after 2 failures in 300s'), 'two addresses of one /64');
  t.same(logs(six(7000, 'fd77::c', WALL + 4)), [], 'a third address of it is not heard');
  t.match(logs(six(7000, 'fd77:0:0:1::c', WALL + 5)), ['fd77:0:0:1::c: k: Stage 1'], 'another /64 is');
  // A flood of bans (made-up sources) is logged at a bounded rate, each ban still made.
  const flood = engine('[k]\nsequence = 7000,8000\nMax_Failures = 1\n');
  const lines: string[] = [];
  let bans = 0;
  for (let i = 0; i < 300; i++) {
    const fx = knock(flood, [7000, 7000], WALL + i, `10.99.${i >> 8}.${i & 255}`);
    lines.push(...logs(fx).filter((l) => l.includes('ban')));
    bans += fx.filter((f) => f.kind === 'ban').length;
  }
  t.equal(bans, 300, 'every ban made');
  t.ok(lines.length <= 60, `ban lines bounded (${lines.length})`);
  t.equal(flood.bans(WALL + 400).length, 300);
  // Doors without Max_Failures count nothing.
  const none = engine('[k]\nsequence = 7000,8000\n');
  for (let i = 0; i < 20; i++) knock(none, [7000, 7000], WALL + i);
  t.same(none.bans(WALL), []);
  // Bans carry over a reload.
  const r = engine(conf('Max_Failures = 1'));
  knock(r, ports(wrong));
  const reloaded = r.next(parseConfig(conf('Max_Failures = 2'), 'e.conf'), WALL + 200);
  t.same(reloaded.bans(WALL + 200).map((b) => b.src), [CLI]);
});

t.test('Bans: bounded and closed when full: nothing pushed out, stale records and ended bans make room', async (t) => {
  const door = parseConfig('[k]\nsequence = 1\nMax_Failures = 1\nBan_Time = 10\n', 'e.conf').doors[0]!;
  const b = new Bans(4, 3);
  for (let i = 0; i < 5; i++) b.fail(`10.0.0.${i}`, door, WALL);
  t.equal(b.size, 3, 'at most 3 bans');
  t.equal(b.lost, 2, 'the two past the cap are lost, not made by pushing others out');
  t.ok(b.banned('10.0.0.0', WALL), 'the first ban holds');
  t.equal(b.banned('10.0.0.4', WALL), undefined);
  t.equal(b.banned('10.0.0.0', WALL + 10_000), undefined, 'expired');
  t.ok(b.fail('10.0.0.4', door, WALL + 10_000), 'ended bans make room');
  // A flood of one-failure sources cannot push a guesser's record out.
  const many = parseConfig('[k]\nsequence = 1\nMax_Failures = 3\nFailure_Window = 60\nBan_Time = 100\n', 'e.conf').doors[0]!;
  const c = new Bans(4, 4);
  const guesser = '192.0.2.66';
  c.fail(guesser, many, WALL);
  c.fail(guesser, many, WALL + 1);
  for (let i = 0; i < 3; i++) t.equal(c.fail(`10.0.1.${i}`, many, WALL + 2), undefined, 'counted');
  t.match(c.fail('10.0.1.9', many, WALL + 3), { src: '10.0.1.9', failures: 1 }, 'no room for its record: banned at once');
  t.match(c.fail(guesser, many, WALL + 4), { src: guesser, failures: 3 }, 'the guesser\'s third failure still bans it');
  t.notOk(c.saturated(WALL + 5), 'bans have room');
  for (let i = 10; i < 20; i++) c.fail(`10.0.2.${i}`, many, WALL + 5);
  t.ok(c.saturated(WALL + 6), 'ban table full: saturated');
  t.ok(c.lost > 0);
  t.notOk(c.saturated(WALL + 100_010), 'ended bans make room again');
  const l = new Bans();
  l.load([{ src: '10.0.0.9', door: 'k', until: WALL + 5000, failures: 3 }, { src: '10.0.0.8', door: 'k', until: WALL - 1 },
    { src: '$(rm -rf /)', door: 'k', until: WALL + 5000 }, null, 'x', { src: 'fd77::2', door: 'k', until: WALL + 1 },
    { src: 'fd77::/64', door: 'k', until: WALL + 1 }, { src: 'fd77::/48', door: 'k', until: WALL + 1 }], WALL);
  t.same(l.list(WALL).map((x) => x.src), ['10.0.0.9', 'fd77::/64']);
  t.ok(l.banned('fd77::2', WALL), 'an address in a banned /64');
});

t.test('a full ban table closes TOTP doors: a guesser who cannot be banned gets no more tries, nor the right code', async (t) => {
  const table = new Bans(MAX_FAILURE_RECORDS, 2);
  const e = engine(conf('Max_Failures = 2'), () => true, { banTable: table });
  const wrong = (w: number) => String((Number(code(w)) + 1) % 1_000_000).padStart(6, '0');
  for (const src of ['10.77.9.1', '10.77.9.2']) { knock(e, ports(wrong(WALL)), WALL, src); knock(e, ports(wrong(WALL)), WALL + 20, src); }
  t.equal(e.bans(WALL).length, 2, 'the table is full of bans');
  for (let i = 0; i < 5; i++) {
    t.same(logs(knock(e, ports(wrong(WALL)), WALL + 40 + i)).at(-1), `${CLI}: totp: TOTP code refused: ban table full`, 'guesses refused unjudged');
  }
  const right = knock(e, ports(code(WALL)), WALL + 80);
  t.notOk(opened(right), 'the right code does not open either');
  t.equal(logs(right).at(-1), `${CLI}: totp: TOTP code refused: ban table full`);
  t.notOk(opened(knock(e, ports(code(WALL)), WALL + 90, OTHER)), 'nor for anyone else');
  const later = WALL + 3_600_000 + 100;
  t.ok(opened(knock(e, ports(code(later)), later, OTHER)), 'bans ended: open again');
  // Failures at a door without TOTP while the table is full: the ban that cannot be made is said once per doubling.
  const k = engine('[k]\nsequence = 7000,8000\nMax_Failures = 1\n', () => true, { banTable: new Bans(MAX_FAILURE_RECORDS, 1) });
  knock(k, [7000, 7000], WALL, '10.77.9.9');
  const full = knock(k, [7000, 7000], WALL + 10);
  t.ok(logs(full).some((l) => l.startsWith('ban table full: 1 bans could not be made so far')), 'said');
  t.ok(logs(knock(k, [7000, 7000], WALL + 20)).some((l) => l.startsWith('ban table full: 2 bans')), 'again at twice as many');
  t.notOk(logs(knock(k, [7000, 7000], WALL + 30)).some((l) => l.startsWith('ban table full')), 'not at three');
  // Across a reload, the failures counted and the bans go on.
  const r = engine(conf('Max_Failures = 3'));
  knock(r, ports(wrong(WALL)), WALL);
  knock(r, ports(wrong(WALL)), WALL + 20);
  const next = r.next(parseConfig(conf('Max_Failures = 3'), 'e.conf'), WALL + 30);
  t.ok(knock(next, ports(wrong(WALL)), WALL + 40).some((x) => x.kind === 'ban'), 'the third failure after a reload bans');
});

t.test('the capture filter carries the code ranges; kernel matching refuses TOTP doors', async (t) => {
  const e = engine(conf('sequence = 7000'));
  t.equal(e.filter(), `((dst host ${SRV}) and (((tcp dst port 7000 or tcp dst portrange 40000-40099 or tcp dst portrange 40100-40199 ` +
    'or tcp dst portrange 40200-40299))))');
  const u = engine(conf('TOTP_Protocol = udp'));
  t.equal(u.filter(), `((dst host ${SRV}) and ((udp dst portrange 40000-40099 or udp dst portrange 40100-40199 or udp dst portrange 40200-40299)))`);
  t.match(kernelRefusal(parseConfig(conf(), 'e.conf')), /door totp is a TOTP door/);
  const many = Array.from({ length: 70 }, (_, i) => `[d${i}]\nsequence = ${1000 + i}\n`).join('');
  const big = engine(`${conf()}${many}`);
  t.match(big.filter(), /or \(tcp dst portrange 40000-40099\) or \(tcp dst portrange 40100-40199\) or \(tcp dst portrange 40200-40299\)\)\)$/,
    'past the precise clauses, the union filter keeps the ranges (not all of TCP)');
  t.equal(kernelRefusal(parseConfig('[k]\nsequence = 1\nMax_Failures = 2\n', 'e.conf')), undefined);
});
