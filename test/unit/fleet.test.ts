// Fleet mode's pure parts: the Fleet_* keys and their line-numbered errors; the note codec (every
// field checked, a fuzz of mutated notes never throwing and never letting an out-of-range value
// through); the engine's fleet inputs and outputs (claims before SPA and one-time grants, shares
// after local grants, a fleet grant checked against this node's door); the shell's claim carry-out;
// and shared knocks: the cross-node sequence check against the single-node matcher, exhaustively.

import t from 'tap';
import { isIP } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/parser.js';
import { ConfigError } from '../../lib/config/errors.js';
import { Engine, type Effect } from '../../lib/engine/engine.js';
import { readNote, fleetKeys, type GrantNote } from '../../lib/fleet/notes.js';
import { failure } from '../../lib/errors/result.js';
import { Matcher } from '../../lib/matcher/matcher.js';
import { SharedKnocks, sequenceCompletes, type Hit } from '../../lib/matcher/shared-knocks.js';
import type { Packet } from '../../lib/matcher/types.js';
import { encodeAccess, type SpaKeys } from '../../lib/spa/wire.js';
import { carryOut, type Shell } from '../../lib/daemon/carry-out.js';
import { redisLabel } from '../../lib/fleet/label.js';
import { ClockOffset } from '../../lib/fleet/clock.js';

const SRV = '10.77.0.1', CLI = '10.77.0.2';
const WALL = 1_800_000_000_000;
const K = Buffer.alloc(32, 1), H = Buffer.alloc(64, 2);
const KEYS: SpaKeys = { key: K, hmacKey: H, hmacDigest: 'sha256', mode: 'cbc' };
const FLEET = '[options]\nFleet_Redis = redis://10.0.0.9:6379/2\nFleet_Key_File = /etc/sesame/fleet.key\nFleet_Node = a\n';
// The body of a sealed note (the seal itself: fleet-seal.test.ts).
const encodeNote = (n: object) => JSON.stringify(n);
function decodeNote(text: string) {
  let o: unknown;
  try { o = JSON.parse(text); } catch { return failure('not JSON'); }
  return readNote(o);
}

function configError(text: string): ConfigError | undefined {
  try { parseConfig(text, 'f.conf'); return undefined; } catch (err) { return err as ConfigError; }
}

t.test('Fleet_* keys', async (t) => {
  const c = parseConfig(`${FLEET}Fleet_Password_File = /etc/sesame/fleet.pw\n[d]\nsequence = 1,2\nFleet_Shared_Knocks = yes\n`, 'f.conf');
  t.same(c.options.fleet, {
    redis: 'redis://10.0.0.9:6379/2', passwordFile: '/etc/sesame/fleet.pw', keyFile: '/etc/sesame/fleet.key', sentinelPasswordFile: undefined,
    name: 'sesame', node: 'a', line: 2,
  });
  t.equal(c.doors[0]!.sharedKnocks, 8, 'the line of Fleet_Shared_Knocks');
  const sent = parseConfig('[options]\nFleet_Redis = redis+sentinel://10.0.0.1:26379,s2.example,[fd77::3]:26380/mymaster/3\n' +
    'Fleet_Key_File = /k\nFleet_Sentinel_Password_File = /s.pw\n[d]\nsequence = 1\n', 'f.conf').options.fleet;
  t.match(sent, { redis: 'redis+sentinel://10.0.0.1:26379,s2.example,[fd77::3]:26380/mymaster/3', sentinelPasswordFile: '/s.pw' }, 'Sentinel: the URL and its password file');
  t.equal(redisLabel(sent!.redis), sent!.redis, 'a sentinel URL is its own label (it holds no password)');
  t.equal(parseConfig('[d]\nsequence = 1\n', 'f.conf').options.fleet, undefined, 'no fleet keys: alone');
  t.equal(parseConfig('[options]\nFleet_Redis = rediss://sesame@redis.example:6380\nFleet_Key_File = /k\nFleet_Name = prod.eu-1\n[d]\nsequence = 1\n', 'f.conf').options.fleet?.name, 'prod.eu-1');
  t.equal(parseConfig(`${FLEET}[d]\nsequence = 1\nFleet_Shared_Knocks = No\n`, 'f.conf').doors[0]!.sharedKnocks, undefined);
  const bad: [string, string, number][] = [
    ['Fleet_Redis = not a url', 'Fleet_Redis: "not a url" is not a URL', 2],
    ['Fleet_Redis = http://h:1', 'Fleet_Redis: "http:" is not redis:, rediss: or redis+sentinel:', 2],
    ['Fleet_Redis = redis://h:1', 'Fleet_Redis needs Fleet_Key_File (the fleet\'s shared key', 2],
    ['Fleet_Redis = redis+sentinel://h:1', 'is not redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]', 2],
    ['Fleet_Redis = redis+sentinel://u:pw@h:1/m', 'the URL holds a password', 2],
    ['Fleet_Redis = redis+sentinel://h:1,:2/m', 'sentinel ":2" is not HOST[:PORT]', 2],
    ['Fleet_Redis = redis+sentinel://h:70000/m', 'sentinel "h:70000" is not HOST[:PORT]', 2],
    ['Fleet_Redis = redis+sentinel://[10.0.0.1]/m', 'is not HOST[:PORT]', 2],
    ['Fleet_Redis = redis+sentinel://h/m:x', 'master name "m:x" is not a name', 2],
    ['Fleet_Redis = redis+sentinel://h/m/16', 'database "16" is not 0..15', 2],
    [`Fleet_Redis = redis+sentinel://${Array(17).fill('h').join(',')}/m`, 'at most 16 sentinels', 2],
    ['Fleet_Key_File = fleet.key', 'Fleet_Key_File: "fleet.key" is not an absolute path', 2],
    ['Fleet_Redis = redis://:pw@h:1', 'the URL holds a password; put it in Fleet_Password_File', 2],
    ['Fleet_Redis = redis://u:pw@h:1', 'the URL holds a password', 2],
    ['Fleet_Redis = redis://h:1/16', 'database "16" is not 0..15', 2],
    ['Fleet_Redis = redis://h:1/x', 'database "x" is not 0..15', 2],
    ['Fleet_Redis = redis://h:1/?db=2', 'may not have a query', 2],
    ['Fleet_Redis = redis://h:99999', 'is not a URL', 2],
    ['Fleet_Name = a:b', 'Fleet_Name: "a:b" is not a name', 2],
    ['Fleet_Node = ', 'Fleet_Node: "" is not a name', 2],
    [`Fleet_Node = ${'n'.repeat(65)}`, 'is not a name', 2],
    ['Fleet_Password_File = fleet.pw', 'is not an absolute path', 2],
    ['Fleet_Name = x', 'fleet keys need Fleet_Redis', 2],
  ];
  for (const [line, message, at] of bad) {
    const err = configError(`[options]\n${line}\n[d]\nsequence = 1\n`);
    t.ok(err instanceof ConfigError && err.message.includes(message) && err.line === at && err.message.startsWith(`config: line ${at}: `), `${line} -> ${err?.message}`);
  }
  let err = configError('[d]\nsequence = 1,2\nFleet_Shared_Knocks = yes\n');
  t.match(err, { message: 'config: line 3: Fleet_Shared_Knocks needs Fleet_Redis in [options]', line: 3 });
  err = configError(`${FLEET}[d]\nsequence = 1,2\nFleet_Shared_Knocks = maybe\n`);
  t.match(err, { message: 'config: line 7: Fleet_Shared_Knocks must be yes or no, not "maybe"', line: 7 });
  err = configError('[options]\nFleet_Redis = redis://h:1\nFleet_Key_File = /k\nFleet_Sentinel_Password_File = /s\n[d]\nsequence = 1\n');
  t.match(err, { message: 'config: line 4: Fleet_Sentinel_Password_File needs a redis+sentinel:// Fleet_Redis', line: 4 });
  const dir = mkdtempSync(join(tmpdir(), 'sesame-fleet-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ots'), '1,2\n');
  err = configError(`${FLEET}[d]\none_time_sequences = ${join(dir, 'ots')}\nFleet_Shared_Knocks = yes\n`);
  t.match(err, { message: /^config: line 7: Fleet_Shared_Knocks cannot be used with One_Time_Sequences/, line: 7 });
  t.equal(redisLabel('rediss://u@h:6380/3'), 'rediss://u@h:6380/3', 'the label keeps the user');
  t.equal(redisLabel('redis://h'), 'redis://h');
});

const GRANT: GrantNote = {
  type: 'grant', id: 'a:k1:0', node: 'a', kind: 'spa', door: 'spa', ip: CLI, family: 4, timeout: 20, at: WALL,
  ports: [{ protocol: 'tcp', port: 22 }],
};

t.test('notes: round trip, and every field checked', async (t) => {
  for (const n of [
    GRANT,
    { ...GRANT, kind: 'knock', ports: undefined, ip: 'fd77::2', family: 6 },
    { ...GRANT, nat: { kind: 'forward', external: { protocol: 'tcp', port: 4000 }, address: '10.0.0.5', port: 3306 } },
    { type: 'onetime', node: 'b', door: 'otp', sequence: [{ protocol: 'tcp', port: 1 }, { protocol: 'udp', port: 2 }] },
    { type: 'ask', node: 'c', asks: [{ id: 'c.1', door: 'ecmp', src: CLI }] },
    { type: 'hits', node: 'a', answers: [{ to: 'c', id: 'c.1', hits: [{ protocol: 'tcp', port: 7400, at: WALL }] }] },
  ] as const) {
    const clean = JSON.parse(JSON.stringify(n));
    const r = decodeNote(encodeNote(clean));
    t.ok(r.ok, `${n.type} decodes`);
    if (r.ok) t.same(r.note, clean, `${n.type}: the same note back`);
  }
  const r6 = decodeNote(JSON.stringify({ ...GRANT, ip: 'FD77:0:0::2', family: 6 }));
  t.ok(r6.ok && r6.note.type === 'grant' && r6.note.ip === 'fd77::2', 'addresses come back canonical');
  const bad: [unknown, string][] = [
    ['{', 'not JSON'], [[], 'not an object'], [{ ...GRANT, node: 'a b' }, 'bad node name'],
    [{ ...GRANT, door: '' }, 'bad door name'], [{ ...GRANT, door: 'a\nb' }, 'bad door name'],
    [{ ...GRANT, type: 'x' }, 'unknown type'], [{ ...GRANT, id: 'a b' }, 'bad id'], [{ ...GRANT, kind: 'x' }, 'bad kind'],
    [{ ...GRANT, ip: '10.0.0.256' }, 'bad address'], [{ ...GRANT, ip: '10.0.0.1; reboot' }, 'bad address'],
    [{ ...GRANT, family: 6 }, 'bad address'], [{ ...GRANT, timeout: 0 }, 'bad timeout'],
    [{ ...GRANT, timeout: 1.5 }, 'bad timeout'], [{ ...GRANT, timeout: 8 * 24 * 3600 }, 'bad timeout'],
    [{ ...GRANT, at: -1 }, 'bad time'], [{ ...GRANT, at: '1' }, 'bad time'],
    [{ ...GRANT, ports: [{ protocol: 'icmp', port: 1 }] }, 'bad ports'], [{ ...GRANT, ports: [{ protocol: 'tcp', port: 0 }] }, 'bad ports'],
    [{ ...GRANT, ports: [] }, 'bad ports'], [{ ...GRANT, ports: undefined }, 'an SPA grant names its ports'],
    [{ ...GRANT, nat: { kind: 'forward', external: { protocol: 'tcp', port: 1 }, address: 'fd77::1', port: 1 } }, 'bad NAT target'],
    [{ ...GRANT, ip: 'fd77::2', family: 6, nat: { kind: 'local', external: { protocol: 'tcp', port: 1 }, address: '10.0.0.1', port: 1 } }, 'bad NAT target'],
    [{ type: 'onetime', node: 'b', door: 'd', sequence: [] }, 'bad sequence'],
    [{ type: 'ask', node: 'c', asks: [] }, 'bad asks'], [{ type: 'ask', node: 'c', asks: [{ id: 'x', door: 'd', src: 'nope' }] }, 'bad ask address'],
    [{ type: 'ask', node: 'c', asks: Array(1025).fill({ id: 'x', door: 'd', src: CLI }) }, 'bad asks'],
    [{ type: 'hits', node: 'a', answers: [{ to: 'c', id: 'c.1', hits: [{ protocol: 'tcp', port: 1, at: Infinity }] }] }, 'bad answer'],
    [{ type: 'hits', node: 'a', answers: [{ to: 'c d', id: 'c.1', hits: [{ protocol: 'tcp', port: 1, at: 1 }] }] }, 'bad answer'],
    [{ type: 'hits', node: 'a', answers: [{ to: 'c', id: 'c.1', hits: [] }] }, 'bad answer'],
    [{ type: 'hits', node: 'a', answers: [] }, 'bad answers'],
  ];
  for (const [value, why] of bad) {
    const r = decodeNote(typeof value === 'string' ? value : JSON.stringify(value));
    t.ok(!r.ok && r.error === why, `${why}: ${r.ok ? 'accepted' : r.error}`);
  }
  const k = fleetKeys('t');
  t.equal(k.oneTime('a b:c', 'x'), 't:onetime:a%20b%3Ac:x', 'door names are escaped in keys');
  t.equal(k.grant('a', 'a:1'), 't:grant:a:a:1');
});

t.test('notes fuzz: mutated notes never throw; what is accepted is in range', async (t) => {
  let seed = 7;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const base = encodeNote(GRANT);
  const samples = [base, encodeNote({ type: 'ask', node: 'c', asks: [{ id: 'c.1', door: 'ecmp', src: CLI }] }),
    encodeNote({ type: 'hits', node: 'a', answers: [{ to: 'c', id: 'c.1', hits: [{ protocol: 'tcp', port: 7400, at: WALL }] }] })];
  const junk = ['"', '{', '}', ',', ':', '0', '-1', '1e9', 'null', '"tcp"', '"::1"', '[]', '"256.0.0.1"', '\u0000', '9'.repeat(30)];
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    let s = samples[rnd(samples.length)]!;
    for (let m = 1 + rnd(3); m > 0; m--) {
      const at = rnd(s.length);
      s = rnd(2) ? s.slice(0, at) + junk[rnd(junk.length)] + s.slice(at + 1 + rnd(3)) : s.slice(0, at) + s.slice(at + 1);
    }
    const r = decodeNote(s);
    if (!r.ok) continue;
    accepted++;
    const n = r.note;
    if (n.type === 'grant') {
      if (isIP(n.ip) !== n.family || n.timeout < 1 || n.timeout > 7 * 24 * 3600 || !Number.isInteger(n.timeout)) t.fail(`out of range: ${s}`);
      for (const p of n.ports ?? []) if (!(p.port >= 1 && p.port <= 65535)) t.fail(`bad port: ${s}`);
    }
    if (n.type === 'ask') for (const a of n.asks) if (!isIP(a.src)) t.fail(`bad ask source: ${s}`);
  }
  t.pass(`20,000 mutated notes: ${accepted} accepted, all in range`);
});

const CONF = `${FLEET}[knock]
sequence = 7000,8000
start_command = open %IP%
cmd_timeout = 10
Open = tcp/2222
[spa]
SPA_Key_Base64 = ${K.toString('base64')}
SPA_HMAC_Key_Base64 = ${H.toString('base64')}
SPA_Open_Ports = tcp/22, tcp/23
Open = tcp/22, tcp/23
SPA_Max_Timeout = 30
start_command = spa %IP% %PORT%
Cmd_Timeout = 20
[ecmp]
sequence = 7400,7500,7600
seq_timeout = 3
Fleet_Shared_Knocks = yes
Open = tcp/7999
`;

function engine(text = CONF, fleet = true) {
  return new Engine(parseConfig(text, 'e.conf'), { localAddresses: [SRV], maxAttempts: 64, onlyIPv4: false, fleet }, {
    display: (ip) => ip, persistReplay: () => true,
  });
}
const syn = (dport: number, src = CLI): Packet => ({ src, dst: SRV, family: 4, protocol: 'tcp', dport, tcpFlags: 2 });
const kinds = (fx: readonly Effect[]) => fx.filter((f) => f.kind !== 'debug').map((f) => f.kind);
const logs = (fx: readonly Effect[]) => fx.filter((f) => f.kind === 'log').map((f) => (f as { line: string }).line);

t.test('engine: local grants are shared; SPA grants wait for the fleet claim', async (t) => {
  const e = engine();
  e.handle({ kind: 'packet', packet: syn(7000), at: 0, wall: WALL });
  const open = e.handle({ kind: 'packet', packet: syn(8000), at: 1, wall: WALL });
  t.same(kinds(open), ['log', 'log', 'run', 'grant', 'share']);
  t.match(open.find((f) => f.kind === 'share'), { grant: { kind: 'knock', door: 'knock', ip: CLI, family: 4, timeout: 10 } });
  const wire = encodeAccess({ username: 'alice', timestamp: WALL / 1000, message: `${CLI},tcp/22` }, KEYS, {});
  const spa = e.handle({ kind: 'packet', packet: { src: CLI, dst: SRV, family: 4, protocol: 'udp', dport: 62201, tcpFlags: 0, payload: wire }, at: 2, wall: WALL });
  const claim = spa.find((f) => f.kind === 'claim') as Extract<Effect, { kind: 'claim' }>;
  t.same(kinds(spa), ['claim'], 'nothing but the claim until the fleet answers');
  t.equal(claim.claim.type, 'replay');
  t.match(claim.claim, { ttlMs: 240_000 }, 'held for twice the age window');
  t.same(kinds(claim.granted), ['log', 'grant', 'run', 'share']);
  t.match(logs(claim.refused), [/: spa: SPA: refused: replay detected \(accepted by another fleet node\)$/]);
  const share = claim.granted.find((f) => f.kind === 'share') as Extract<Effect, { kind: 'share' }>;
  t.match(share.grant, { kind: 'spa', digest: /^[A-Za-z0-9+/]{43}=?$/ }, "the shared SPA grant carries the packet's digest");
  // Another node hears of the grant and keeps the digest: the packet replayed to it is refused
  // locally, claim or no claim in Redis.
  const other = engine();
  let persisted = 0;
  const b = new Engine(parseConfig(CONF, 'e.conf'), { localAddresses: [SRV], maxAttempts: 64, onlyIPv4: false, fleet: true }, {
    display: (ip) => ip, persistReplay: () => { persisted++; return true; },
  });
  b.handle({ kind: 'fleet-grant', note: { ...GRANT, digest: share.grant.digest! }, seconds: 20, wall: WALL });
  t.equal(persisted, 1, "b: the fleet grant's digest is written to its replay state");
  const replayed = b.handle({ kind: 'packet', packet: { src: CLI, dst: SRV, family: 4, protocol: 'udp', dport: 62201, tcpFlags: 0, payload: wire }, at: 3, wall: WALL + 1000 });
  t.same(kinds(replayed), ['log'], 'b: the replay is refused locally, no claim asked');
  t.match(logs(replayed), [/^10\.77\.0\.2: SPA: refused: replay detected \(first seen from fleet node a at /]);
  t.same(kinds(other.handle({ kind: 'fleet-grant', note: { ...GRANT, digest: share.grant.digest!, door: 'nope' }, seconds: 20, wall: WALL })), ['log'], 'a grant for a door this node lacks: refused');
  const again = other.handle({ kind: 'packet', packet: { src: CLI, dst: SRV, family: 4, protocol: 'udp', dport: 62201, tcpFlags: 0, payload: wire }, at: 3, wall: WALL + 1000 });
  t.match(logs(again), [/replay detected \(first seen from fleet node a at /], '... but its digest is kept all the same');
  const alone = engine('[knock]\nsequence = 7000,8000\n', false);
  alone.handle({ kind: 'packet', packet: syn(7000), at: 0, wall: WALL });
  t.same(kinds(alone.handle({ kind: 'packet', packet: syn(8000), at: 1, wall: WALL })), ['log', 'log', 'run'],
    'alone: no share (and no grant: the door guards nothing)');
});

t.test('engine: a fleet grant is this node\'s door, for the time left, within what the door allows', async (t) => {
  const e = engine();
  const knock = e.handle({ kind: 'fleet-grant', note: { ...GRANT, kind: 'knock', door: 'knock', ports: undefined, timeout: 10 }, seconds: 7, wall: WALL });
  t.same(kinds(knock), ['log', 'run', 'grant']);
  t.same(logs(knock), [`${CLI}: knock: granted by fleet node a for 7s`]);
  t.match(knock, [{}, { request: { timeout: 7, ip: CLI } }, { grants: [{ address: CLI, timeout: 7 }], done: `granted ${CLI} tcp/2222 for 7s` }]);
  const spa = e.handle({ kind: 'fleet-grant', note: { ...GRANT, ports: [{ protocol: 'tcp', port: 22 }, { protocol: 'tcp', port: 23 }] }, seconds: 20, wall: WALL });
  t.same(kinds(spa), ['log', 'grant', 'run', 'run']);
  t.match(spa[2], { request: { spa: { protocol: 'tcp', port: 22, timeout: 20 } } });
  t.match(e.handle({ kind: 'fleet-grant', note: GRANT, seconds: 99, wall: WALL })[1], { grants: [{ timeout: 20 }] },
    'never longer than the note says');
  const refused: [Partial<GrantNote>, RegExp][] = [
    [{ door: 'nope' }, /no door named "nope" here/],
    [{ ports: [{ protocol: 'tcp', port: 2222 }] }, /tcp\/2222 is not in this door's SPA_Open_Ports/],
    [{ timeout: 31 }, /timeout 31s is longer than this door allows/],
    [{ kind: 'knock', door: 'knock', timeout: 11 }, /timeout 11s is longer than this door's 10s/],
    [{ door: 'knock' }, /an SPA grant for a door without SPA/],
    [{ nat: { kind: 'forward', external: { protocol: 'tcp', port: 22 }, address: '10.0.0.5', port: 22 } }, /NAT target not allowed/],
  ];
  for (const [change, re] of refused) {
    const fx = e.handle({ kind: 'fleet-grant', note: { ...GRANT, ...change }, seconds: 5, wall: WALL });
    t.same(kinds(fx), ['log'], `refused: ${re}`);
    t.match(logs(fx)[0], /^fleet: grant from node a for 10\.77\.0\.2 refused: /);
    t.match(logs(fx)[0], re);
  }
});

t.test('engine: one-time sequences are claimed, and move on when used elsewhere', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-fleet-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ots');
  writeFileSync(file, '1001,1002\n2001,2002\n');
  const e = engine(`${FLEET}[ot]\none_time_sequences = ${file}\ncommand = true\n`);
  e.handle({ kind: 'packet', packet: syn(1001), at: 0, wall: WALL });
  const fx = e.handle({ kind: 'packet', packet: syn(1002), at: 1, wall: WALL });
  t.same(kinds(fx), ['log', 'claim', 'rotate'], 'the file moves on at once; the open waits for the claim');
  const claim = fx.find((f) => f.kind === 'claim') as Extract<Effect, { kind: 'claim' }>;
  t.same(claim.claim, { type: 'onetime', door: 'ot', sequence: [{ protocol: 'tcp', port: 1001 }, { protocol: 'tcp', port: 1002 }] });
  t.same(kinds(claim.granted), ['log', 'run', 'share'], 'no grant effect: the door guards no port');
  t.match(logs(claim.refused), [`${CLI}: ot: one-time sequence already used on another fleet node`]);

  const e2 = engine(`${FLEET}[ot]\none_time_sequences = ${file}\ncommand = true\n`);
  const other = e2.handle({ kind: 'fleet-onetime', note: { type: 'onetime', node: 'b', door: 'ot', sequence: [{ protocol: 'tcp', port: 9, }] }, wall: WALL });
  t.same(kinds(other), [], 'not the current sequence: only a debug line');
  const used = e2.handle({ kind: 'fleet-onetime', note: { type: 'onetime', node: 'b', door: 'ot', sequence: [{ protocol: 'tcp', port: 1001 }, { protocol: 'tcp', port: 1002 }] }, wall: WALL });
  t.same(kinds(used), ['log', 'rotate']);
  t.same(logs(used), ['ot: one-time sequence used on fleet node b']);
  t.same(kinds(e2.handle({ kind: 'fleet-onetime', note: { type: 'onetime', node: 'b', door: 'nope', sequence: [{ protocol: 'tcp', port: 1 }] }, wall: WALL })), []);
});

t.test('shell: a claim won (or Redis down) carries the grant out; lost, the refusal', async (t) => {
  const granted: Effect[] = [{ kind: 'log', line: 'granted' }];
  const refused: Effect[] = [{ kind: 'log', line: 'refused' }];
  for (const [answer, want] of [['won', 'granted'], ['down', 'granted'], ['lost', 'refused'], [undefined, 'granted']] as const) {
    const lines: string[] = [];
    const shell = {
      logger: { log: (l: string) => lines.push(l), debug() {} }, runner: {}, grant() {}, rotated: () => [], refreshFilter() {},
      ...(answer ? { claim: async () => answer } : {}),
    } as unknown as Shell;
    carryOut([{ kind: 'claim', claim: { type: 'replay', digest: 'd', ttlMs: 1 }, granted, refused }], shell);
    await new Promise((r) => setImmediate(r));
    t.same(lines, [want], `${answer ?? 'no fleet'}: ${want}`);
  }
});

t.test('engine: shared knocks ask at the last port, answer with hits, open when pieced together', async (t) => {
  const a = engine(), c = engine();
  t.same(a.handle({ kind: 'packet', packet: syn(7400), at: 0, wall: WALL }).filter((f) => f.kind === 'ask'), [], 'first port: no ask');
  const ask = c.handle({ kind: 'packet', packet: syn(7600), at: 10, wall: WALL + 40 });
  t.same(ask.filter((f) => f.kind === 'ask'), [{ kind: 'ask', door: 'ecmp', src: CLI, family: 4 }], 'last port: one ask');
  t.same(a.fleetHits('ecmp', CLI, WALL + 50), [{ protocol: 'tcp', port: 7400, at: WALL }]);
  t.same(a.fleetHits('knock', CLI, WALL + 50), [], 'not a shared door: no hits');
  t.same(c.handle({ kind: 'fleet-answered', door: 'ecmp', src: CLI, family: 4, hits: [{ protocol: 'tcp', port: 7400, at: WALL }], nodes: ['a'], wall: WALL + 60 }), [], 'the middle port is missing');
  const open = c.handle({ kind: 'fleet-answered', door: 'ecmp', src: CLI, family: 4, hits: [{ protocol: 'tcp', port: 7400, at: WALL }, { protocol: 'tcp', port: 7500, at: WALL + 20 }], nodes: ['a', 'b'], wall: WALL + 60 });
  t.same(logs(open), [`${CLI}: ecmp: sequence completed with knocks seen by fleet nodes a, b`, `${CLI}: ecmp: OPEN SESAME`]);
  t.same(kinds(open), ['log', 'log', 'run', 'grant', 'share']);
  // A knock that all reached this node opens here and asks nobody.
  const b = engine();
  b.handle({ kind: 'packet', packet: syn(7400), at: 0, wall: WALL }); b.handle({ kind: 'packet', packet: syn(7500), at: 1, wall: WALL });
  t.same(b.handle({ kind: 'packet', packet: syn(7600), at: 2, wall: WALL }).filter((f) => f.kind === 'ask'), [], 'opened locally: no ask');
});

t.test('shared knocks: the cross-node check agrees with the matcher on every spaced hit list', async (t) => {
  // Every list of up to 5 hits over the ports of a 3-step sequence (with a repeated port too),
  // 900 ms apart: further than the clock slack, and never within the slack after a timeout.
  const doors = [
    parseConfig('[d]\nsequence = 1,2,3\nseq_timeout = 3\n', 'x').doors[0]!,
    parseConfig('[d]\nsequence = 1,1,2\nseq_timeout = 2\n', 'x').doors[0]!,
    parseConfig('[d]\nsequence = 1,2:udp,3\nseq_timeout = 3\n', 'x').doors[0]!,
  ];
  let checked = 0, opened = 0;
  for (const door of doors) {
    const ports = [...new Map(door.sequence.map((s) => [`${s.protocol}/${s.port}`, s])).values()];
    const lists: (typeof ports)[] = [[]];
    for (let len = 1; len <= 5; len++) {
      for (const prev of lists.filter((l) => l.length === len - 1)) for (const p of ports) lists.push([...prev, p]);
    }
    for (const list of lists) {
      const hits: Hit[] = list.map((p, i) => ({ protocol: p.protocol, port: p.port, at: WALL + i * 900 }));
      const m = new Matcher([door], { localAddresses: [SRV] });
      let want = false;
      hits.forEach((h, i) => {
        const ev = m.handle({ src: CLI, dst: SRV, family: 4, protocol: h.protocol, dport: h.port, tcpFlags: 2 }, i * 900);
        if (ev.some((e) => e.type === 'open')) want = true;
      });
      if (sequenceCompletes(door, hits) !== want) t.fail(`${door.sequence.map((s) => s.port)}: ${list.map((p) => p.port)} -> ${!want}`);
      checked++;
      if (want) opened++;
    }
  }
  t.pass(`${checked} hit lists, ${opened} open, all as the matcher`);
  const d = doors[0]!;
  const at = (port: number, ms: number): Hit => ({ protocol: 'tcp', port, at: WALL + ms });
  t.ok(sequenceCompletes(d, [at(2, 0), at(1, 10), at(3, 20)]), 'within the clock slack, taken in sequence order');
  t.ok(sequenceCompletes(d, [at(2, 0), at(1, 240), at(3, 260)]), 'up to CLOCK_SLACK_MS apart');
  t.notOk(sequenceCompletes(d, [at(2, 0), at(1, 300), at(3, 320)]), 'further apart: out of order');
  t.notOk(sequenceCompletes(d, [at(1, 0), at(2, 100), at(3, 3300)]), 'past the timeout');
  t.ok(sequenceCompletes(d, [at(1, 0), at(2, 100), at(3, 3200)]), 'the timeout, with the slack');
});

t.test('shared knocks: bounded under a flood of sources', async (t) => {
  const door = parseConfig(`${FLEET}[d]\nsequence = 1,2\nFleet_Shared_Knocks = yes\n`, 'x').doors;
  const s = new SharedKnocks(door, 1000);
  const local = new Set([SRV]);
  for (let i = 0; i < 50_000; i++) s.record(syn(1, `198.18.${i >> 8 & 255}.${i & 255}`), WALL + i, local);
  t.equal(s.size, 1000, 'never more sources than the cap');
  t.equal(s.evicted, 49_000, 'the oldest go, counted');
  t.same(s.record(syn(2), WALL, local), [0], 'the last port asks');
  t.same(s.record({ ...syn(2), dst: '10.9.9.9' }, WALL, local), [], 'not to a local address: ignored');
  t.same(s.record({ ...syn(2), tcpFlags: 0x12 }, WALL, local), [0], 'a door without tcpflags takes any flags');
});

t.test('clock offset: the sample with the shortest round trip wins, among the last few', async (t) => {
  const c = new ClockOffset(3);
  t.equal(c.offset, 0, 'no sample: 0');
  c.add({ offset: 40, rtt: 80 });
  c.add({ offset: 2, rtt: 1 });
  c.add({ offset: -30, rtt: 60 });
  t.equal(c.offset, 2, 'a slow sample does not move it');
  c.add({ offset: 10, rtt: 5 });
  c.add({ offset: 11, rtt: 6 });
  t.equal(c.offset, 10, 'old samples age out');
});

t.test("clock offset: Redis's clock is followed only within MAX_OFFSET_MS", async (t) => {
  const { MAX_OFFSET_MS } = await import('../../lib/fleet/clock.js');
  const c = new ClockOffset();
  c.add({ offset: 4000, rtt: 1 });
  t.same([c.followed, c.used], [true, 4000], 'a few seconds off: followed');
  c.add({ offset: MAX_OFFSET_MS, rtt: 0.5 });
  t.same([c.followed, c.used], [true, MAX_OFFSET_MS], 'at the bound: followed');
  c.add({ offset: -MAX_OFFSET_MS - 1, rtt: 0.1 });
  t.same([c.followed, c.used, c.offset], [false, 0, -MAX_OFFSET_MS - 1], 'past it (a doctored TIME): the node keeps its own clock, the estimate still reported');
});

t.test('Redis without a password or without TLS to another host: warned', async (t) => {
  const { redisWarnings } = await import('../../lib/fleet/label.js');
  t.same(redisWarnings('redis://127.0.0.1:6379/0', true), [], 'loopback with a password: nothing');
  t.same(redisWarnings('rediss://10.0.0.9:6380', true), [], 'TLS with a password: nothing');
  t.match(redisWarnings('redis://[::1]:6379', false), [/without a password \(set Fleet_Password_File\)/]);
  const both = redisWarnings('redis://u@10.0.0.9:6379/2', false);
  t.equal(both.length, 2);
  t.match(both[1], 'Redis at redis://u@10.0.0.9:6379/2 is reached without TLS (rediss://)');
});
