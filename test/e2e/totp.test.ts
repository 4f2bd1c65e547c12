// TOTP doors end to end (issue 25): Sesame's knockd in a server namespace (10.77.69.0/24,
// fd77:69::/64), knocked by the stock Debian knock client (/usr/bin/knock) with ports the test
// computes from each door's secret (lib/totp, the helpers an authenticator app's code goes
// through). One daemon holds six doors with their own secrets and port ranges, so the scenarios do
// not use up each other's codes (a code is used once per door and 30 s step):
//   ssh    6 digits, window 1, Open = tcp/2222: the current code opens (a real nft grant); the same
//          code again from the same and from two other sources is refused; a wrong code is refused
//   prev   static Sequence 7000,8000 (TCP) then a UDP code: the previous step's code opens
//   eight  8 digits: four knocks open
//   ban    Max_Failures = 3: a source that fails three times is banned, its right code then ignored
//          (no Stage lines) and not used up; --status lists the ban; after a restart the used code
//          is still refused and the ban still holds (state directory)
//   edge1  window 1 / edge0 window 0: a knock across a step boundary. The daemon runs under
//          libfaketime throughout (offset 0 until this last scenario moves its clock).
// Then two fleet nodes on one Redis (10.77.70.0/24): a code used on one is refused on the other,
// also on a node that was down when the code was used.
//
// TOTP doors are matched with libpcap by design (the daemon must see every code knock to count
// failures; docs/totp.md): the single daemon runs with Matching = pcap, and the fleet nodes under
// the default Matching = auto, which must say it falls back to libpcap.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetLab, type FleetNode } from '../helpers/fleet-lab.js';
import { PROBE, SESAME, labForFile, logLines, readIf, sleep, waitFor, type Daemon } from '../helpers/lab.js';
import { base32Encode } from '../../lib/totp/base32.js';
import { codePorts } from '../../lib/totp/ports.js';
import { TOTP_STEP_SECONDS, totpCode, totpStep, type TotpDigits } from '../../lib/totp/totp.js';

const MODES: readonly { readonly matching: 'pcap' }[] = [{ matching: 'pcap' }];

const KNOCK = '/usr/bin/knock';
const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const STEP_MS = TOTP_STEP_SECONDS * 1000;

t.setTimeout(150_000);
const { lab, children } = labForFile(t, 69, 'tp');
if (!existsSync(FAKETIME)) t.fail(`${FAKETIME} missing: scripts/setup installs libfaketime`);
const [C4, C4B, C6] = [lab.client4, lab.client4b, lab.client6];
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---- doors, secrets, codes ----

interface DoorSpec {
  readonly base: number;
  readonly digits: TotpDigits;
  readonly protocol: 'tcp' | 'udp';
  /** Static ports knocked before the code (the door's Sequence). */
  readonly sequence: readonly string[];
  readonly keys: string;
}
const DOORS: Record<'ssh' | 'prev' | 'eight' | 'ban' | 'edge1' | 'edge0', DoorSpec> = {
  ssh: { base: 40000, digits: 6, protocol: 'tcp', sequence: [], keys: '\tOpen = tcp/2222\n\tCmd_Timeout = 30\n' },
  prev: { base: 41000, digits: 6, protocol: 'udp', sequence: ['7000', '8000'], keys: '\tSequence = 7000,8000\n\tTOTP_Protocol = udp\n' },
  eight: { base: 42000, digits: 8, protocol: 'tcp', sequence: [], keys: '\tTOTP_Digits = 8\n' },
  ban: { base: 43000, digits: 6, protocol: 'tcp', sequence: [], keys: '\tMax_Failures = 3\n' },
  edge1: { base: 44000, digits: 6, protocol: 'tcp', sequence: [], keys: '\tSeq_Timeout = 15\n' },
  edge0: { base: 45000, digits: 6, protocol: 'tcp', sequence: [], keys: '\tTOTP_Window = 0\n\tSeq_Timeout = 15\n' },
};
type DoorName = keyof typeof DOORS;

const secrets = new Map<string, Uint8Array>();
/** A fresh secret for `name`, written as a TOTP_Secret_File (base32, one line, 0600) under `dir`. */
function secretFile(name: string, dir: string): string {
  const secret = randomBytes(20);
  secrets.set(name, secret);
  const path = join(dir, `${name}.secret`);
  writeFileSync(path, `${base32Encode(secret)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

// The daemon's wall clock is libfaketime's: ours plus `skewMs` (whole seconds, written to the
// file libfaketime reads on every call). Codes are always computed for the daemon's time.
const clockFile = lab.file('faketime', '+0\n');
let skewMs = 0;
function setSkew(ms: number): void {
  skewMs = ms;
  writeFileSync(`${clockFile}.new`, `+${ms / 1000}\n`);
  renameSync(`${clockFile}.new`, clockFile); // never an empty file for libfaketime to read
}
const daemonNow = () => Date.now() + skewMs;
const stepNow = () => totpStep(daemonNow());
const code = (name: string, digits: TotpDigits, step = stepNow()) => totpCode(secrets.get(name)!, step, digits);
const doorCode = (d: DoorName, delta = 0) => code(d, DOORS[d].digits, stepNow() + delta);

/** A knock must land within one step: with less than `ms` left in the daemon's step, wait for the next (bounded: ≤ ms). */
async function room(ms = 3000): Promise<void> {
  const left = STEP_MS - (daemonNow() % STEP_MS);
  if (left < ms) await sleep(left + 150);
}

/** The knocks of door `d` for `c`: its static ports, then the code's, in knock's port[:proto] form. */
function ports(d: DoorName, c: string): string[] {
  const { base, protocol, sequence } = DOORS[d];
  return [...sequence, ...codePorts(c, base, protocol).map((p) => (p.protocol === 'udp' ? `${p.port}:udp` : String(p.port)))];
}

/** A code of `d` that is none of the codes the daemon could accept around now. */
function wrongCode(d: DoorName, c: string): string {
  const near = new Set([-2, -1, 0, 1, 2].map((k) => doorCode(d, k)));
  const mod = 10 ** DOORS[d].digits;
  for (let i = 1; i < 20; i++) {
    const w = String((Number(c) + i * 7919) % mod).padStart(DOORS[d].digits, '0');
    if (!near.has(w)) return w;
  }
  throw new Error('no wrong code found');
}

// ---- the single-daemon part ----

const log = (mode: string) => join(lab.dir, `${mode}.log`);
let logFile = '';
const lines = () => logLines(readIf(logFile));
const mark = () => lines().length;
const since = (from: number) => lines().slice(from);

async function expectLine(t: Test, from: number, pattern: string, what: string, ms = 5000): Promise<boolean> {
  const rx = new RegExp(pattern);
  const ok = await waitFor(() => since(from).some((l) => rx.test(l)), ms);
  t.ok(ok, what);
  if (!ok) t.comment(`log since the mark:\n${since(from).join('\n')}`);
  return ok;
}

/** The stock knock client from the client namespace (`-6`: from the client's IPv6 address). */
const knock = (args: string[]) => lab.exec(lab.cli, [KNOCK, ...args]);
/**
 * A knock from the client's second IPv4 address, which knock 0.8 cannot choose: what knock does
 * per TCP port (a non-blocking connect, then close: one SYN), from a socket bound to `src`.
 */
function knockFrom(src: string, knocks: readonly string[]): void {
  lab.exec(lab.cli, ['python3', '-c', [
    'import socket,sys',
    'for p in sys.argv[3:]:',
    ' s=socket.socket();s.setblocking(False);s.bind((sys.argv[1],0))',
    ' try: s.connect((sys.argv[2],int(p)))',
    ' except BlockingIOError: pass',
    ' s.close()',
  ].join('\n'), src, lab.server4, ...knocks]);
}
const probe = (host: string, src?: string) => lab.probe('tcp', host, 2222, src);
const status = (state: string) => lab.exec(lab.srv, [SESAME, '--status', '--state-dir', state], true);

t.before(() => {
  if (process.getuid?.() !== 0) return;
  children.push(spawn('ip', ['netns', 'exec', lab.srv, 'python3', PROBE, 'serve', '2222'], { stdio: 'ignore' }));
});

for (const mode of MODES) {
  t.test(`one daemon, six TOTP doors (Matching = ${mode.matching})`, async (t) => {
    const m = mode.matching;
    logFile = log(m);
    const state = join(lab.dir, `state-${m}`);
    const doors = (Object.entries(DOORS) as [DoorName, DoorSpec][]).map(([name, d]) =>
      `[${name}]\n\tTOTP_Secret_File = ${secretFile(name, lab.dir)}\n\tTOTP_Port_Base = ${d.base}\n${d.keys}`).join('');
    const conf = lab.file(`${m}.conf`, `[options]\n\tLogFile = ${logFile}\n\tInterface = ${lab.sif}\n\tMatching = ${m}\n${doors}`);
    setSkew(0);
    const start = () => lab.start(SESAME, ['-c', conf, '--state-dir', state], logFile, {
      LD_PRELOAD: FAKETIME, FAKETIME_TIMESTAMP_FILE: clockFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1',
    });
    let daemon: Daemon = await start();
    t.teardown(async () => {
      await lab.stop(daemon).catch(() => undefined);
      lab.exec(lab.srv, [SESAME, '--flush'], true); // the next mode starts with no grant left
    });
    if (m === 'pcap') t.notOk(lines().some((l) => l.startsWith('kernel matching')), 'Matching = pcap: no word of kernel matching');

    let sshCode = '';
    let banCode = '';
    await t.test('the stock knock client with the current code opens the door: OPEN SESAME and an nft grant', async (t) => {
      t.equal(probe(lab.server4), 'closed', 'tcp/2222 guarded before the knock');
      await room();
      sshCode = doorCode('ssh');
      const from = mark();
      knock([lab.server4, ...ports('ssh', sshCode)]);
      await expectLine(t, from, `^${re(C4)}: ssh: OPEN SESAME$`, `${sshCode} as three knocks: OPEN SESAME`);
      await expectLine(t, from, `^${re(C4)}: ssh: firewall: granted ${re(C4)} tcp/2222 for 30s$`, 'the grant is logged');
      t.same(since(from).filter((l) => l.startsWith(`${C4}: ssh: Stage`)), [1, 2, 3].map((n) => `${C4}: ssh: Stage ${n}`), 'one Stage line per knock');
      t.equal(probe(lab.server4), 'open', 'tcp/2222 connects after the knock');
      t.match(status(state), new RegExp(`^${re(C4)} tcp/2222 expires in \\d+s \\(of 30s\\)$`, 'm'), '--status lists the grant');
    });

    const used = (who: string, door: DoorName) =>
      `^${re(who)}: ${door}: TOTP code refused: code already used \\(first by ${re(C4)} at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)$`;
    await t.test('the same code again, from the same and from other sources, does not open', async (t) => {
      const from = mark();
      knock([lab.server4, ...ports('ssh', sshCode)]);
      await expectLine(t, from, used(C4, 'ssh'), 'the same source: code already used');
      knock(['-6', lab.server6, ...ports('ssh', sshCode)]);
      await expectLine(t, from, used(C6, 'ssh'), 'another source (IPv6, the stock client): code already used');
      knockFrom(C4B, ports('ssh', sshCode));
      await expectLine(t, from, used(C4B, 'ssh'), 'another source (a second IPv4 address): code already used');
      t.notOk(since(from).some((l) => l.endsWith('OPEN SESAME') || l.includes('firewall: granted')), 'nothing opened');
      t.equal(probe(lab.server6), 'closed', `no grant for ${C6}`);
      t.equal(probe(lab.server4, C4B), 'closed', `no grant for ${C4B}`);
    });

    await t.test('a wrong code does not open', async (t) => {
      await room();
      const wrong = wrongCode('ssh', doorCode('ssh'));
      const from = mark();
      knock([lab.server4, ...ports('ssh', wrong)]);
      await expectLine(t, from, `^${re(C4)}: ssh: TOTP code refused: wrong code$`, `${wrong}: wrong code`);
      t.notOk(since(from).some((l) => l.endsWith('OPEN SESAME')), 'nothing opened');
    });

    await t.test("the previous step's code opens (TOTP_Window 1), after the door's static sequence, over UDP", async (t) => {
      await room();
      const c = doorCode('prev', -1);
      const knocks = ports('prev', c);
      t.same(knocks.slice(0, 2), ['7000', '8000'], 'the static ports first');
      t.ok(knocks.slice(2).every((p) => p.endsWith(':udp')), 'then the code, over UDP');
      const from = mark();
      knock([lab.server4, ...knocks]);
      await expectLine(t, from, `^${re(C4)}: prev: OPEN SESAME$`, `the previous step's ${c}: OPEN SESAME`);
      t.ok(since(from).includes(`${C4}: prev: Stage 5`), 'five knocks: two static, three code');
    });

    await t.test('an 8-digit door opens with four knocks', async (t) => {
      await room();
      const c = doorCode('eight');
      const knocks = ports('eight', c);
      t.equal(knocks.length, 4, `${c}: four knocks`);
      const from = mark();
      knock([lab.server4, ...knocks]);
      await expectLine(t, from, `^${re(C4)}: eight: OPEN SESAME$`, 'OPEN SESAME');
      t.same(since(from).filter((l) => l.startsWith(`${C4}: eight: Stage`)), [1, 2, 3, 4].map((n) => `${C4}: eight: Stage ${n}`), 'Stage 1 to 4');
    });

    await t.test('Max_Failures = 3: a source that fails three times is banned; its right code is then ignored and not used up', async (t) => {
      await room(6000);
      const right = banCode = doorCode('ban');
      const from = mark();
      // Failures: two wrong codes, then an attempt that resets (the first pair's span twice).
      const refusals = () => since(from).filter((l) => l === `${C4B}: ban: TOTP code refused: wrong code`).length;
      for (const n of [1, 2]) {
        knockFrom(C4B, ports('ban', wrongCode('ban', right)));
        t.ok(await waitFor(() => refusals() >= n, 5000), `failure ${n}: wrong code`);
      }
      knockFrom(C4B, [String(DOORS.ban.base + 5), String(DOORS.ban.base + 5)]);
      await expectLine(t, from, `^${re(C4B)}: ban: banned for 3600s after 3 failures in 300s$`, 'failure 3 (a reset): banned, logged');
      t.ok(await waitFor(() => new RegExp(`^banned ${re(C4B)} \\(ban, 3 failures\\) for 3[56]\\d\\ds more$`, 'm').test(status(state)), 5000),
        '--status --state-dir lists the ban', { status: status(state) });

      const banned = mark();
      knockFrom(C4B, ports('ban', right));
      // Sync point: the same code from an unbanned source, after it on the same capture, opens.
      knock([lab.server4, ...ports('ban', right)]);
      await expectLine(t, banned, `^${re(C4)}: ban: OPEN SESAME$`, `${C4} then opens with the same code: the banned source did not use it up`);
      t.same(since(banned).filter((l) => l.startsWith(`${C4B}:`)), [], `nothing at all logged for ${C4B} (no Stage lines, no refusal)`);
      t.equal(since(from).filter((l) => l.includes('banned for')).length, 1, 'the ban is logged once');
    });

    await t.test('a restarted daemon keeps the used codes and the bans (state directory)', async (t) => {
      await lab.stop(daemon);
      daemon = await start();
      const from = mark();
      knockFrom(C4B, ports('ban', banCode));
      knockFrom(C4B, ports('eight', doorCode('eight'))); // a ban holds at every knock door
      knock([lab.server4, ...ports('ban', banCode)]); // within the window still: the ban test just used it
      await expectLine(t, from, used(C4, 'ban'), `${C4}: the code it used before the restart: code already used`);
      t.same(since(from).filter((l) => l.startsWith(`${C4B}:`)), [], `${C4B} still banned, at this door and another: nothing logged for it`);
      t.match(status(state), new RegExp(`^banned ${re(C4B)} \\(ban, 3 failures\\) for \\d+s more$`, 'm'), '--status still lists the ban');
      t.notOk(since(from).some((l) => l.endsWith('OPEN SESAME')), 'nothing opened');
    });

    await t.test('a knock across a step boundary (libfaketime): window 1 opens, window 0 refuses', async (t) => {
      // The daemon's wall clock is moved (libfaketime, whole seconds) to 26-27 s into a step, ten
      // steps ahead of the real clock, so only a code computed for the daemon's time can open.
      // Control: edge0 (TOTP_Window = 0) opens with the code of that step knocked within it.
      // Then edge1 (window 1, from C4) and edge0 (from C6) get the first two pairs of their step-S
      // codes in step S and the last pair 0.5 s into step S+1, where the code is judged:
      // edge1 accepts S as the one earlier step it allows, edge0 looks at S+1 alone: wrong code
      // (not "used": step S is not considered at all).
      const sec = Math.floor((daemonNow() % STEP_MS) / 1000);
      setSkew(skewMs + (((26 - sec) % 30 + 30) % 30 + 10 * TOTP_STEP_SECONDS) * 1000);
      const s = stepNow();
      const left = STEP_MS - (daemonNow() % STEP_MS);
      t.ok(left > 2500 && left <= 4000, `the daemon's clock is ${left} ms before a step boundary`);
      const [c1, c0] = [code('edge1', 6, s), code('edge0', 6, s)];
      t.not(c1, code('edge1', 6, totpStep(Date.now())), "the step's code is not the real clock's");

      let from = mark();
      knock([lab.server4, ...ports('edge0', c0)]);
      await expectLine(t, from, `^${re(C4)}: edge0: OPEN SESAME$`, `control: edge0 opens with ${c0} within step ${s}`);

      from = mark();
      knock([lab.server4, ...ports('edge1', c1).slice(0, 2)]);
      knock(['-6', lab.server6, ...ports('edge0', c0).slice(0, 2)]);
      await expectLine(t, from, `^${re(C4)}: edge1: Stage 2$`, 'edge1: two pairs in step S');
      await expectLine(t, from, `^${re(C6)}: edge0: Stage 2$`, 'edge0: two pairs in step S');
      t.equal(stepNow(), s, 'still step S after the first two pairs');
      await sleep(Math.max(0, (s + 1) * STEP_MS + 500 - daemonNow()));
      t.equal(stepNow(), s + 1, 'now step S+1');
      knock([lab.server4, ...ports('edge1', c1).slice(2)]);
      knock(['-6', lab.server6, ...ports('edge0', c0).slice(2)]);
      await expectLine(t, from, `^${re(C4)}: edge1: OPEN SESAME$`, `edge1 (window 1): step S's ${c1} completed in step S+1 opens`);
      await expectLine(t, from, `^${re(C6)}: edge0: TOTP code refused: wrong code$`, `edge0 (window 0): step S's ${c0} completed in step S+1: wrong code`);
      t.notOk(since(from).some((l) => l.startsWith(`${C6}: edge0: OPEN SESAME`)), 'edge0 did not open');
    });
  });
}

// ---- two fleet nodes on one Redis ----

t.test('two fleet nodes on one Redis: a code used on one is refused on the other', async (t) => {
  if (process.getuid?.() !== 0) return;
  setSkew(0); // no daemon here runs under libfaketime: codes for the real clock
  const fleet = new FleetLab(70, 'tf', ['a', 'b']).up();
  t.teardown(() => {
    if (!t.passing()) for (const n of fleet.nodes) t.comment(`--- ${n.name}.log\n${readIf(fleet.logOf(n)).split('\n').slice(-30).join('\n')}`);
    fleet.cleanup();
  });
  const [A, B] = fleet.nodes as [FleetNode, FleetNode];
  const password = randomBytes(12).toString('hex');
  const pwFile = fleet.file('fleet.pw', `${password}\n`);
  const vpn = secretFile('vpn', fleet.dir);
  const db = secretFile('db', fleet.dir);
  const confOf = (n: FleetNode) => join(fleet.dir, `${n.name}.conf`);
  for (const n of fleet.nodes) {
    fleet.file(`${n.name}.conf`, `${fleet.options(n, pwFile)}` + // Matching: the default, auto
      `[vpn]\n\tTOTP_Secret_File = ${vpn}\n\tTOTP_Port_Base = 40000\n\tCmd_Timeout = 30\n` +
      `[db]\n\tTOTP_Secret_File = ${db}\n\tTOTP_Port_Base = 41000\n\tCmd_Timeout = 30\n`);
  }
  const flines = (n: FleetNode) => logLines(readIf(fleet.logOf(n)));
  const fmark = (n: FleetNode) => flines(n).length;
  const flogged = async (t: Test, n: FleetNode, from: number, pattern: string, what: string, ms = 5000) => {
    const rx = new RegExp(pattern);
    const ok = await waitFor(() => flines(n).slice(from).some((l) => rx.test(l)), ms);
    t.ok(ok, what);
    if (!ok) t.comment(flines(n).slice(from).join('\n'));
  };
  const daemons = new Map<string, Daemon>();
  const start = async (t: Test, n: FleetNode) => {
    const from = fmark(n);
    daemons.set(n.name, await fleet.start(n, ['-c', confOf(n), '--state-dir', join(fleet.dir, `${n.name}.state`)], fleet.logOf(n)));
    await flogged(t, n, from, `^fleet: joined t70 as node ${n.name}\\b`, `${n.name}: joined the fleet`, 10_000);
    return from;
  };
  const fknock = (n: FleetNode, knocks: string[]) => fleet.exec(fleet.cli, [KNOCK, n.addr, ...knocks]);
  const knocksOf = (c: string, base: number) => codePorts(c, base, 'tcp').map((p) => String(p.port));
  const usedOnB = (door: string) => `^${re(fleet.client4)}: ${door}: TOTP code refused: code already used (\\(first by fleet node a\\b.*\\)|on another fleet node)$`;

  await fleet.startRedis(password);
  for (const n of fleet.nodes) {
    const from = await start(t, n);
    const fallback = /^kernel matching unavailable \(door \w+ is a TOTP door\b.*\); matching knocks with libpcap$/;
    t.ok(flines(n).slice(from).some((l) => fallback.test(l)), `${n.name}: Matching = auto says it falls back to libpcap for TOTP doors`);
  }

  await t.test('used on a, refused on b', async (t) => {
    await room();
    const c = code('vpn', 6);
    const [fa, fb] = [fmark(A), fmark(B)];
    fknock(A, knocksOf(c, 40000));
    await flogged(t, A, fa, `^${re(fleet.client4)}: vpn: OPEN SESAME$`, 'a: OPEN SESAME');
    fknock(B, knocksOf(c, 40000)); // at once: the grant note or the Redis claim tells b, either way
    await flogged(t, B, fb, usedOnB('vpn'), 'b: code already used');
    t.notOk(flines(B).slice(fb).some((l) => l.endsWith('vpn: OPEN SESAME')), 'b: nothing opened by the knock');
    t.comment(`b: ${flines(B).slice(fb).find((l) => l.includes('code already used'))}`);
  });

  await t.test('used on a while b was down: b refuses it once back', async (t) => {
    await fleet.stop(daemons.get('b')!, 'SIGKILL');
    await room();
    const c = code('db', 6);
    const fa = fmark(A);
    fknock(A, knocksOf(c, 41000));
    await flogged(t, A, fa, `^${re(fleet.client4)}: db: OPEN SESAME$`, 'a: OPEN SESAME');
    const fb = await start(t, B);
    fknock(B, knocksOf(c, 41000));
    await flogged(t, B, fb, usedOnB('db'), 'b (missed the note): code already used');
    t.notOk(flines(B).slice(fb).some((l) => l.endsWith('db: OPEN SESAME')), 'b: nothing opened by the knock');
    t.comment(`b: ${flines(B).slice(fb).find((l) => l.includes('code already used'))}`);
  });
});
