// The engine without a shell: packets and clocks in, effects out. Every effect kind, the rulings
// as the daemon logs them, an SPA grant becoming a log line, a grant and its commands, the
// replay cache written before anything opens (and a failed write refusing), one-time rotation,
// reload carry-over, and the log throttles.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/parser.js';
import { Engine, type Effect } from '../../lib/engine/engine.js';
import type { Packet } from '../../lib/matcher/types.js';
import { rotateOneTime } from '../../lib/onetime/rotate.js';
import type { ReplayEntry } from '../../lib/spa/replay.js';
import { encodeAccess, type SpaKeys } from '../../lib/spa/wire.js';

const SRV = '10.77.0.1', CLI = '10.77.0.2';
const WALL = 1_800_000_000_000;
const K = Buffer.alloc(32, 1), H = Buffer.alloc(64, 2);
const KEYS: SpaKeys = { key: K, hmacKey: H, hmacDigest: 'sha256', mode: 'cbc' };

const CONF = `[knock]
sequence = 7000,8000
seq_timeout = 5
tcpflags = syn
start_command = open %IP%
cmd_timeout = 10
stop_command = close %IP%
Open = tcp/22
[guarded]
sequence = 9000
Open = tcp/2222
cmd_timeout = 30
[spa]
SPA_Key_Base64 = ${K.toString('base64')}
SPA_HMAC_Key_Base64 = ${H.toString('base64')}
SPA_Open_Ports = tcp/22
Open = tcp/22
start_command = spa %IP% %PORT%
Cmd_Timeout = 20
`;

function engine(text = CONF, deps: { persist?: (e: readonly ReplayEntry[]) => boolean; names?: Record<string, string> } = {}) {
  const persisted: Array<readonly ReplayEntry[]> = [];
  const e = new Engine(parseConfig(text, 'e.conf'), { localAddresses: [SRV], maxAttempts: 4, onlyIPv4: false }, {
    display: (ip) => (deps.names?.[ip] ? `${ip} (${deps.names[ip]})` : ip),
    persistReplay: (entries) => { persisted.push(entries); return deps.persist ? deps.persist(entries) : true; },
  });
  return { e, persisted };
}
const syn = (dport: number, src = CLI): Packet => ({ src, dst: SRV, family: 4, protocol: 'tcp', dport, tcpFlags: 2 });
const udp = (dport: number, payload?: string, src = CLI): Packet =>
  ({ src, dst: SRV, family: 4, protocol: 'udp', dport, tcpFlags: 0, ...(payload === undefined ? {} : { payload }) });
const logs = (fx: readonly Effect[]) => fx.filter((f) => f.kind === 'log').map((f) => (f as { line: string }).line);
const kinds = (fx: readonly Effect[]) => fx.filter((f) => f.kind !== 'debug').map((f) => f.kind);
const spaWire = (message: string, ts = WALL / 1000) => encodeAccess({ username: 'alice', timestamp: ts, message }, KEYS, {});

t.test('a knock: stage, then open as a log line, a command and a grant', async (t) => {
  const { e } = engine(undefined, { names: { [CLI]: 'laptop' } });
  const a = e.handle({ kind: 'packet', packet: syn(7000), at: 0, wall: WALL });
  t.same(logs(a), [`${CLI} (laptop): knock: Stage 1`]);
  t.ok(a.some((f) => f.kind === 'debug' && f.line === `tcp: ${CLI} -> ${SRV}:7000`), 'a -D line per packet');
  const b = e.handle({ kind: 'packet', packet: syn(8000), at: 100, wall: WALL });
  t.same(kinds(b), ['log', 'log', 'run', 'grant']);
  t.same(logs(b), [`${CLI} (laptop): knock: Stage 2`, `${CLI} (laptop): knock: OPEN SESAME`]);
  const run = b.find((f) => f.kind === 'run') as Extract<Effect, { kind: 'run' }>;
  t.match(run.request, { ip: CLI, family: 4, knocker: `${CLI} (laptop)` });
  t.equal(run.request.door.name, 'knock');
  t.match(b.find((f) => f.kind === 'grant'), { grants: [{ address: CLI, protocol: 'tcp', port: 22, timeout: 10 }], knocker: `${CLI} (laptop)` });
});

t.test('the rulings, as the daemon logs them', async (t) => {
  const { e } = engine();
  t.same(kinds(e.handle({ kind: 'packet', packet: { ...syn(7000), tcpFlags: 0x10 }, at: 0, wall: WALL })), [], 'a flag mismatch is ignored');
  e.handle({ kind: 'packet', packet: syn(7000), at: 0, wall: WALL });
  t.same(kinds(e.handle({ kind: 'packet', packet: syn(7001), at: 10, wall: WALL })), [], 'a port outside the door changes nothing');
  const reset = e.handle({ kind: 'packet', packet: syn(7000), at: 20, wall: WALL });
  t.same(logs(reset), [], 'a wrong in-door port resets the attempt...');
  t.ok(reset.some((f) => f.kind === 'debug' && f.line === `removing failed knock attempt (${CLI})`));
  t.equal(e.nextDeadline(), undefined, '...and does not start a new one');
  e.handle({ kind: 'packet', packet: syn(7000), at: 2000, wall: WALL });
  t.equal(e.nextDeadline(), 7000, 'the timeout runs from the first knock, in ms');
  t.same(e.handle({ kind: 'tick', at: 6999, wall: WALL }), [], 'not before');
  t.same(logs(e.handle({ kind: 'tick', at: 7000, wall: WALL })), [`${CLI}: knock: sequence timeout (stage 1)\n`], 'reported by the timer, with knockd\'s newline');
  t.equal(e.nextDeadline(), undefined);
  t.same(logs(e.handle({ kind: 'packet', packet: syn(9000), at: 8000, wall: WALL })), [`${CLI}: guarded: Stage 1`, `${CLI}: guarded: OPEN SESAME`], 'a one-port door fires at once');
  t.same(kinds(e.handle({ kind: 'packet', packet: syn(9000), at: 8001, wall: WALL })), ['log', 'log', 'run', 'grant'], 'and on every packet (the runner skips a door without a command)');
});

t.test('evictions are logged once per doubling', async (t) => {
  const { e } = engine();
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) lines.push(...logs(e.handle({ kind: 'packet', packet: syn(7000, `10.77.1.${i}`), at: i, wall: WALL })));
  t.same(lines.filter((l) => l.startsWith('attempt table full')), [
    'attempt table full: 1 oldest attempts evicted so far',
    'attempt table full: 2 oldest attempts evicted so far',
    'attempt table full: 4 oldest attempts evicted so far',
    'attempt table full: 8 oldest attempts evicted so far',
    'attempt table full: 16 oldest attempts evicted so far',
    'attempt table full: 32 oldest attempts evicted so far',
  ]);
});

t.test('knock lines are throttled with a summary; OPEN SESAME never is', async (t) => {
  const { e } = engine();
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) lines.push(...logs(e.handle({ kind: 'packet', packet: syn(7000, `10.78.${i >> 8}.${i & 255}`), at: i, wall: WALL })));
  t.equal(lines.filter((l) => l.endsWith('Stage 1')).length, 500, 'a burst of 500 stage lines');
  const later = logs(e.handle({ kind: 'packet', packet: syn(9000), at: 3000, wall: WALL + 1000 }));
  t.match(later[0], /^\d+ knock events not logged \(rate limit\)$/);
  t.same(later.slice(1), [`${CLI}: guarded: Stage 1`, `${CLI}: guarded: OPEN SESAME`]);
});

t.test('SPA NAT: the log names the target, the grant carries it, the command gets %NAT_IP% and %NAT_PORT%', async (t) => {
  const { e } = engine(`[nat]
SPA_Key_Base64 = ${K.toString('base64')}
SPA_HMAC_Key_Base64 = ${H.toString('base64')}
SPA_Forward = 10.0.0.0/24 tcp/3306
start_command = fw %IP% %PORT% %NAT_IP% %NAT_PORT%
Cmd_Timeout = 20
`);
  const w = encodeAccess({ username: 'alice', timestamp: WALL / 1000, message: `${CLI},tcp/4000`, nat: { access: '10.0.0.5,3306', local: false } }, KEYS, {});
  const fx = e.handle({ kind: 'packet', packet: udp(62201, w), at: 0, wall: WALL });
  t.same(kinds(fx), ['log', 'grant', 'run']);
  t.same(logs(fx), [`${CLI}: nat: SPA: OPEN SESAME for ${CLI} tcp/4000 -> 10.0.0.5:3306 (user alice, timeout 20s)`]);
  t.match(fx.find((f) => f.kind === 'grant'), {
    grants: [{ address: CLI, protocol: 'tcp', port: 4000, timeout: 20, nat: { kind: 'forward', address: '10.0.0.5', port: 3306 } }],
    done: `forwarded ${CLI} tcp/4000 to 10.0.0.5:3306 for 20s`,
  });
  t.match((fx.find((f) => f.kind === 'run') as Extract<Effect, { kind: 'run' }>).request.spa, { protocol: 'tcp', port: 4000, nat: { address: '10.0.0.5', port: 3306 } });
  const bad = encodeAccess({ username: 'alice', timestamp: WALL / 1000, message: `${CLI},tcp/4001`, nat: { access: '10.0.1.5,3306', local: false } }, KEYS, {});
  const refused = e.handle({ kind: 'packet', packet: udp(62201, bad), at: 1, wall: WALL });
  t.same(logs(refused), [`${CLI}: nat: SPA: refused: NAT destination not allowed (10.0.1.5 tcp/3306)`]);
  t.notOk(refused.some((f) => f.kind === 'grant' || f.kind === 'run'), 'nothing granted, nothing run');
});

t.test('SPA: digest persisted first, then log, grant and a command per port; a replay is refused', async (t) => {
  const { e, persisted } = engine();
  const w = spaWire(`${CLI},tcp/22`);
  const fx = e.handle({ kind: 'packet', packet: udp(62201, w), at: 0, wall: WALL });
  t.equal(persisted.length, 1, 'the replay cache was written');
  t.same(kinds(fx), ['log', 'grant', 'run']);
  t.match(logs(fx)[0], `${CLI}: spa: SPA: OPEN SESAME for ${CLI} tcp/22`);
  t.match(fx.find((f) => f.kind === 'grant'), { grants: [{ address: CLI, protocol: 'tcp', port: 22, timeout: 20 }] });
  t.match((fx.find((f) => f.kind === 'run') as Extract<Effect, { kind: 'run' }>).request.spa, { protocol: 'tcp', port: 22, timeout: 20 });
  const replay = e.handle({ kind: 'packet', packet: udp(62201, w), at: 1, wall: WALL + 1000 });
  t.match(logs(replay), [new RegExp(`^${CLI}: SPA: refused: replay detected`)]);
  t.notOk(replay.some((f) => f.kind === 'grant' || f.kind === 'run'));
  t.same(kinds(e.handle({ kind: 'packet', packet: udp(62201, 'x'.repeat(10)), at: 2, wall: WALL })), [], 'a short datagram is ignored');
});

t.test('SPA: a replay cache that cannot be written opens nothing (fail closed)', async (t) => {
  const { e } = engine(undefined, { persist: () => false });
  const fx = e.handle({ kind: 'packet', packet: udp(62201, spaWire(`${CLI},tcp/22`)), at: 0, wall: WALL });
  t.same(logs(fx), [`${CLI}: spa: SPA: refused: replay cache not written (disk full?)`]);
  t.notOk(fx.some((f) => f.kind === 'grant' || f.kind === 'run'));
});

t.test('reload: the next engine keeps the replay digests, drops knocks in progress', async (t) => {
  const { e } = engine();
  const w = spaWire(`${CLI},tcp/22`);
  e.handle({ kind: 'packet', packet: udp(62201, w), at: 0, wall: WALL });
  e.handle({ kind: 'packet', packet: syn(7000), at: 0, wall: WALL });
  const next = e.next(parseConfig(CONF, 'e.conf'), WALL + 500);
  t.match(logs(next.handle({ kind: 'packet', packet: udp(62201, w), at: 1, wall: WALL + 1000 })), [new RegExp(`^${CLI}: SPA: refused: replay detected`)], 'a captured packet stays refused');
  t.same(logs(next.handle({ kind: 'packet', packet: syn(8000), at: 2, wall: WALL })), [], 'the half-done knock is gone');
  t.equal(next.localAddresses, e.localAddresses);
});

t.test('local addresses and one-time doors change the filter; rotation as the shell runs it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-engine-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ots');
  writeFileSync(file, '1001,1002\n2001,2002\n');
  const { e } = engine(`[ot]\none_time_sequences = ${file}\ncommand = true\n`);
  t.match(e.filter(), 'tcp dst port 1001 or 1002');
  const changed = e.handle({ kind: 'local-addresses', addresses: [SRV, '10.77.0.5'] });
  t.same(kinds(changed), ['filter']);
  t.match(e.filter(), 'dst host 10.77.0.5');
  e.handle({ kind: 'packet', packet: syn(1001), at: 0, wall: WALL });
  const fx = e.handle({ kind: 'packet', packet: syn(1002), at: 1, wall: WALL });
  const rotate = fx.find((f) => f.kind === 'rotate') as Extract<Effect, { kind: 'rotate' }>;
  t.match(rotate, { doorIndex: 0, line: 1, used: [{ port: 1001 }, { port: 1002 }] });
  const after = e.handle({ kind: 'onetime-rotated', doorIndex: 0, result: rotateOneTime(rotate.door.name, file, rotate.line, rotate.used) });
  t.same(kinds(after), ['filter']);
  t.equal(readFileSync(file, 'utf8'), '#1001,1002\n2001,2002\n');
  t.match(e.filter(), 'tcp dst port 2001 or 2002');
  e.handle({ kind: 'packet', packet: syn(2001), at: 2, wall: WALL });
  const last = e.handle({ kind: 'packet', packet: syn(2002), at: 3, wall: WALL });
  const r2 = last.find((f) => f.kind === 'rotate') as Extract<Effect, { kind: 'rotate' }>;
  const done = e.handle({ kind: 'onetime-rotated', doorIndex: 0, result: rotateOneTime(r2.door.name, file, r2.line, r2.used) });
  t.same(logs(done), ['no more sequences left in the one time sequences file for door ot --> disabling the door\n']);
  t.notOk(e.isEnabled(0));
  t.same(kinds(e.handle({ kind: 'onetime-rotated', doorIndex: 0, result: { kind: 'error', message: 'ots: EROFS' } })), ['log', 'log', 'filter'], 'a failed rewrite disables it too');
});

t.test('-4: IPv6 packets are not matched', async (t) => {
  const e = new Engine(parseConfig(CONF, 'e.conf'), { localAddresses: [SRV, 'fd77::1'], maxAttempts: 10, onlyIPv4: true },
    { display: (ip) => ip, persistReplay: () => true });
  t.same(e.handle({ kind: 'packet', packet: { src: 'fd77::2', dst: 'fd77::1', family: 6, protocol: 'tcp', dport: 9000, tcpFlags: 2 }, at: 0, wall: WALL }), []);
});

t.test('SPA over HTTP in pieces (tinyproxy): the segments of a flow are joined, and the last one grants', async (t) => {
  const HTTP_CONF = `[options]\nSPA_HTTP_Port = 80\n${CONF}`;
  const escaped = (w: string) => w.replace(/\+/g, '-').replace(/\//g, '_');
  const pieces = (w: string, ua = 'Fwknop/2.6.10') =>
    [`GET /${escaped(w)} HTTP/1.1\r\n`, `User-Agent: ${ua}\r\n`, 'Accept: */*\r\n', `Host: ${SRV}\r\n`, 'Connection: close\r\n', '\r\n'];
  // Each flow's sender moves its TCP sequence number on by every segment it sends (as the capture
  // decodes it): the pieces of a request follow on. `seq` given: a segment outside that stream.
  const next = new Map<string, number>();
  const seg = (payload: string, sport = 41000, src = CLI, seq?: number): Packet => {
    const key = `${src} ${sport}`;
    const at = seq ?? next.get(key) ?? 0x7fff_0000;
    if (seq === undefined) next.set(key, (at + payload.length) >>> 0);
    return { src, dst: SRV, family: 4, protocol: 'tcp', dport: 80, tcpFlags: 0x18, payload, sport, seq: at };
  };
  const spaDone = (fx: readonly Effect[]) => fx.some((f) => f.kind === 'grant' || f.kind === 'run' || f.kind === 'log');

  const { e, persisted } = engine(HTTP_CONF);
  const w = spaWire(`${CLI},tcp/22`);
  const ps = pieces(w);
  t.ok(ps[0]!.length >= 140, 'the request line alone is an SPA-sized segment (the decoder carries it)');
  for (let i = 0; i < ps.length - 1; i++) {
    t.same(kinds(e.handle({ kind: 'packet', packet: seg(ps[i]!), at: i * 5, wall: WALL })), [], `piece ${i + 1}: nothing yet`);
  }
  t.equal(persisted.length, 0, 'no digest before the request is whole');
  const last = e.handle({ kind: 'packet', packet: seg(ps.at(-1)!), at: 100, wall: WALL });
  t.same(kinds(last), ['log', 'grant', 'run'], 'the blank line completes it');
  t.match(logs(last)[0], `${CLI}: spa: SPA: OPEN SESAME for ${CLI} tcp/22`);
  t.match((last.find((f) => f.kind === 'run') as Extract<Effect, { kind: 'run' }>).request, { ip: CLI, spa: { protocol: 'tcp', port: 22 } });
  t.match(last.find((f) => f.kind === 'grant'), {
    kind: 'grant', knocker: CLI, door: { name: 'spa' }, grants: [{ address: CLI, protocol: 'tcp', port: 22, timeout: 20 }], done: `granted ${CLI} tcp/22 for 20s`,
  }, 'the grant: the door\'s Open port asked for, for Cmd_Timeout');
  t.equal((last.find((f) => f.kind === 'grant') as Extract<Effect, { kind: 'grant' }>).grants.length, 1);
  t.equal(persisted.length, 1);
  t.notOk(spaDone(e.handle({ kind: 'packet', packet: seg('\r\n'), at: 101, wall: WALL })), 'a piece after the end does nothing');

  // The same pieces through a kernel matching SPA event (the NFLOG path) grant too.
  const k = engine(HTTP_CONF).e;
  const w2 = spaWire(`${CLI},tcp/22`);
  const ev = { generation: 1, kind: 'spa' as const, stage: 0 };
  const out = pieces(w2).map((p, i) => k.handle({ kind: 'kernel-event', event: ev, packet: seg(p, 41001), at: i, wall: WALL }));
  t.same(out.map((fx) => kinds(fx)), [[], [], [], [], [], ['log', 'grant', 'run']], 'through kernel events');

  // Pieces of two flows interleaved: each grants with its own last piece.
  const { e: two } = engine(HTTP_CONF);
  const other = '10.77.0.3';
  const [wa, wb] = [spaWire(`${CLI},tcp/22`), spaWire(`${other},tcp/22`)];
  const [pa, pb] = [pieces(wa), pieces(wb)];
  const grants: string[] = [];
  for (let i = 0; i < pa.length; i++) {
    for (const [p, src] of [[pa[i]!, CLI], [pb[i]!, other]] as const) {
      const fx = two.handle({ kind: 'packet', packet: seg(p, 42000, src), at: i, wall: WALL });
      for (const g of fx) if (g.kind === 'run') grants.push(`${i}:${(g as Extract<Effect, { kind: 'run' }>).request.ip}`);
    }
  }
  t.same(grants, [`${pa.length - 1}:${CLI}`, `${pa.length - 1}:${other}`]);

  // No grant when the pieces come too slowly, from another source port, or without the UA rule met.
  const slow = engine(HTTP_CONF).e;
  const ws = pieces(spaWire(`${CLI},tcp/22`));
  const slowOut = ws.map((p, i) => slow.handle({ kind: 'packet', packet: seg(p), at: i * 700, wall: WALL }));
  t.notOk(slowOut.some(spaDone), 'the last piece 3.5 s after the first: expired');
  const moved = engine(HTTP_CONF).e;
  const wm = pieces(spaWire(`${CLI},tcp/22`));
  const movedOut = wm.map((p, i) => moved.handle({ kind: 'packet', packet: seg(p, i === wm.length - 1 ? 41999 : 41000), at: i, wall: WALL }));
  t.notOk(movedOut.some(spaDone), 'the blank line from another source port belongs to no request');
  const curl = engine(HTTP_CONF).e;
  const cu = pieces(spaWire(`${CLI},tcp/22`), 'curl/8.0').map((p, i) => curl.handle({ kind: 'packet', packet: seg(p), at: i, wall: WALL }));
  t.same(cu.slice(0, -1).map((fx) => kinds(fx)), [[], [], [], [], []]);
  // Sniffed on a web server's port, a request from another User-Agent is a page view: read whole, then
  // ignored quietly (a -D line), neither granted nor logged.
  t.same(kinds(cu.at(-1)!), [], 'the joined request is read whole: another User-Agent is ignored, not logged');
  const debugOf = (fx: readonly Effect[]) => fx.filter((f) => f.kind === 'debug' && f.line.startsWith('SPA (http)')).map((f) => (f as { line: string }).line);
  t.same(cu.slice(0, -1).flatMap(debugOf), [], 'nothing read before the blank line');
  t.same(debugOf(cu.at(-1)!), [`SPA (http): ${CLI}: ignored: HTTP User-Agent "curl/8.0" is not Fwknop (SPA_HTTP_Any_User_Agent is off)`]);
  // Without SPA_HTTP_Port, the same pieces are nothing.
  const plain = engine().e;
  const po = pieces(spaWire(`${CLI},tcp/22`)).map((p, i) => plain.handle({ kind: 'packet', packet: seg(p), at: i, wall: WALL }));
  t.notOk(po.some(spaDone), 'no HTTP port: ignored');
});

t.test('SPA over HTTP in pieces: only pieces that follow on by TCP sequence number are joined', async (t) => {
  const HTTP_CONF = `[options]\nSPA_HTTP_Port = 80\n${CONF}`;
  const escaped = (w: string) => w.replace(/\+/g, '-').replace(/\//g, '_');
  const pieces = (w: string) => [`GET /${escaped(w)} HTTP/1.1\r\n`, 'User-Agent: Fwknop/2.6.10\r\n', `Host: ${SRV}\r\n`, '\r\n'];
  const seg = (payload: string, seq: number, sport = 43000): Packet =>
    ({ src: CLI, dst: SRV, family: 4, protocol: 'tcp', dport: 80, tcpFlags: 0x18, payload, sport, seq });
  /** The sequence number of each piece when sent in order from `isn`. */
  const seqs = (ps: readonly string[], isn: number) => ps.map((_, i) => (isn + ps.slice(0, i).reduce((n, p) => n + p.length, 0)) >>> 0);
  const granted = (fx: readonly Effect[]) => fx.some((f) => f.kind === 'run');

  // In order: the last piece grants.
  const a = engine(HTTP_CONF).e;
  const pa = pieces(spaWire(`${CLI},tcp/22`));
  const sa = seqs(pa, 1000);
  const outA = pa.map((p, i) => a.handle({ kind: 'packet', packet: seg(p, sa[i]!), at: i, wall: WALL }));
  t.same(outA.map(kinds), [[], [], [], ['log', 'grant', 'run']], 'following on: joined');

  // A retransmitted piece (the same number again) is not joined twice; the request still completes.
  const b = engine(HTTP_CONF).e;
  const pb = pieces(spaWire(`${CLI},tcp/22`));
  const sb = seqs(pb, 5000);
  const order = [0, 1, 1, 2, 1, 3];
  const outB = order.map((k, i) => b.handle({ kind: 'packet', packet: seg(pb[k]!, sb[k]!), at: i, wall: WALL }));
  t.same(outB.map(kinds), [[], [], [], [], [], ['log', 'grant', 'run']], 'retransmissions ignored');

  // A forged blank line at a wrong number does not end the request; the real one does.
  const c = engine(HTTP_CONF).e;
  const pc = pieces(spaWire(`${CLI},tcp/22`));
  const sc = seqs(pc, 9000);
  for (let i = 0; i < 3; i++) c.handle({ kind: 'packet', packet: seg(pc[i]!, sc[i]!), at: i, wall: WALL });
  for (const wrong of [sc[3]! + 1, sc[3]! - 1, sc[2]!, 0, 0xffff_ffff]) {
    t.same(kinds(c.handle({ kind: 'packet', packet: seg('\r\n', wrong), at: 5, wall: WALL })), [], `the blank line at ${wrong}: nothing`);
  }
  t.ok(granted(c.handle({ kind: 'packet', packet: seg('\r\n', sc[3]!), at: 6, wall: WALL })), 'at the right number: granted');

  // Reordered (the blank line before the Host header): not joined, so the request never ends.
  const d = engine(HTTP_CONF).e;
  const pd = pieces(spaWire(`${CLI},tcp/22`));
  const sd = seqs(pd, 200);
  const outD = [0, 1, 3, 2].map((k, i) => d.handle({ kind: 'packet', packet: seg(pd[k]!, sd[k]!), at: i, wall: WALL }));
  t.notOk(outD.some(granted), 'reordered: not read');

  // The numbers wrap around at 2^32.
  const w = engine(HTTP_CONF).e;
  const pw = pieces(spaWire(`${CLI},tcp/22`));
  const sw = seqs(pw, 2 ** 32 - pw[0]!.length - 5);
  t.ok(sw[1]! > sw[2]!, 'the request wraps between the second and third pieces');
  const outW = pw.map((p, i) => w.handle({ kind: 'packet', packet: seg(p, sw[i]!), at: i, wall: WALL }));
  t.same(outW.map(kinds), [[], [], [], ['log', 'grant', 'run']], 'across the wrap: joined');
});

t.test('SPA over HTTP for a door with nothing to guard: no grant effect, the command still runs', async (t) => {
  const BARE = `[options]\nSPA_HTTP_Port = 80\n[bare]
SPA_Key_Base64 = ${K.toString('base64')}
SPA_HMAC_Key_Base64 = ${H.toString('base64')}
SPA_Open_Ports = tcp/22
start_command = spa %IP% %PORT%
Cmd_Timeout = 20
`;
  const e = engine(BARE).e;
  const w = spaWire(`${CLI},tcp/22`).replace(/\+/g, '-').replace(/\//g, '_');
  const ps = [`GET /${w} HTTP/1.1\r\n`, 'User-Agent: Fwknop/2.6.10\r\n', '\r\n'];
  let seq = 77;
  const out = ps.map((payload, i) => {
    const packet: Packet = { src: CLI, dst: SRV, family: 4, protocol: 'tcp', dport: 80, tcpFlags: 0x18, payload, sport: 44000, seq };
    seq += payload.length;
    return e.handle({ kind: 'packet', packet, at: i, wall: WALL });
  });
  t.same(out.map(kinds), [[], [], ['log', 'run']], 'no Open ports: nothing for the kernel to hold');
  t.match(logs(out.at(-1)!)[0], `${CLI}: bare: SPA: OPEN SESAME for ${CLI} tcp/22`);
  t.match((out.at(-1)!.find((f) => f.kind === 'run') as Extract<Effect, { kind: 'run' }>).request, { ip: CLI, spa: { protocol: 'tcp', port: 22 } });
});
