// Metrics and events without a daemon: the Metrics_Listen and Event_* keys and their errors, the
// engine's 'event' effects (grants of each kind, stages, SPA refusals by category, bans; none when
// off), refusal texts as categories, the registry's text (checked by promtool check metrics), and
// the listener (GET /metrics only, bounded).

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/parser.js';
import { describeConfig } from '../../lib/config/describe.js';
import { Engine, type Effect } from '../../lib/engine/engine.js';
import { refusalReason } from '../../lib/engine/refusal-reason.js';
import type { SesameEvent } from '../../lib/events/types.js';
import type { Packet } from '../../lib/matcher/types.js';
import { Metrics } from '../../lib/metrics/registry.js';
import { METRIC_NAMES } from '../../lib/metrics/names.js';
import net from 'node:net';
import { MetricsServer, MAX_PER_SOURCE } from '../../lib/metrics/server.js';
import { encodeAccess, type SpaKeys } from '../../lib/spa/wire.js';
import { grantsByDoor } from '../../lib/daemon/watch.js';
import { CachedRead } from '../../lib/metrics/cached-read.js';

const SRV = '10.77.0.1', CLI = '10.77.0.2';
const K = Buffer.alloc(32, 1), H = Buffer.alloc(64, 2);
const keys: SpaKeys = { key: K, hmacKey: H, hmacDigest: 'sha256', mode: 'cbc' };
const NOW = 1_800_000_000_000;

const dir = mkdtempSync(join(tmpdir(), 'sesame-metrics-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const hook = join(dir, 'on-event');
writeFileSync(hook, '#!/bin/sh\ncat > /dev/null\n', { mode: 0o755 });
chmodSync(hook, 0o755);
const secretFile = join(dir, 'hook.secret');
writeFileSync(secretFile, 'a webhook secret of 32 bytes....\n', { mode: 0o600 });
chmodSync(secretFile, 0o600);

const DOORS = `[ssh]
sequence = 7000,8000,9000
seq_timeout = 5
Open = tcp/22
cmd_timeout = 30
Max_Failures = 2
[spa]
SPA_Key_Base64 = ${K.toString('base64')}
SPA_HMAC_Key_Base64 = ${H.toString('base64')}
SPA_Open_Ports = tcp/22
Open = tcp/22
SPA_Max_Age = 120
`;

t.test('config: the keys, their defaults and errors naming the line', async (t) => {
  const none = parseConfig(DOORS, 'm.conf');
  t.equal(none.options.metricsListen, undefined, 'off by default');
  t.equal(none.options.events, undefined);
  const c = parseConfig(`[options]\nMetrics_Listen = 127.0.0.1:9464\nEvent_Webhook = https://hooks.example/sesame?x=1\n` +
    `Event_Webhook_Secret_File = ${secretFile}\nEvent_Command = ${hook}\n${DOORS}`, 'm.conf');
  t.same(c.options.metricsListen, { host: '127.0.0.1', port: 9464, line: 2 });
  t.same(c.options.events, {
    webhook: { url: 'https://hooks.example/sesame?x=1', secretFile, secret: 'a webhook secret of 32 bytes....' },
    command: hook, line: 3,
  });
  t.same(parseConfig(`[options]\nMetrics_Listen = [::1]:9464\n${DOORS}`, 'm.conf').options.metricsListen, { host: '::1', port: 9464, line: 2 });
  const text = describeConfig(c);
  t.match(text, /metrics_listen: 127\.0\.0\.1:9464/);
  t.match(text, new RegExp(`event_webhook_secret_file: ${secretFile}`));
  t.notMatch(text, /a webhook secret/, '--check never prints the secret');
  t.match(text, /event_webhook: https:\/\/hooks\.example\/\.\.\.\n/, 'nor the URL\'s path and query (tokens live there)');
  t.notMatch(text, /sesame\?x=1/);
  const wide = parseConfig(`[options]\nMetrics_Listen = 0.0.0.0:9464\n${DOORS}`, 'm.conf');
  t.match(wide.warnings, [/m\.conf: line 2: Metrics_Listen 0\.0\.0\.0:9464 listens on every address/], 'every address: a warning');
  const padded = join(dir, 'padded');
  writeFileSync(padded, '  a padded secret of 16+ bytes  \r\nsecond line\n', { mode: 0o600 });
  chmodSync(padded, 0o600);
  t.equal(parseConfig(`[options]\nEvent_Webhook = http://x/\nEvent_Webhook_Secret_File = ${padded}\n${DOORS}`, 'm.conf')
    .options.events?.webhook?.secret, '  a padded secret of 16+ bytes  ', 'the first line as it is, without its line ending');
  const script = (name: string, mode: number) => { const p = join(dir, name); writeFileSync(p, '#!/bin/sh\n'); chmodSync(p, mode); return p; };
  const sub = join(dir, 'open-dir');
  mkdirSync(sub);
  chmodSync(sub, 0o777);
  const inOpenDir = join(sub, 'hook');
  writeFileSync(inOpenDir, '#!/bin/sh\n');
  chmodSync(inOpenDir, 0o755);
  const programs: [string, RegExp][] = [
    [script('plain', 0o644), /plain: not executable \(chmod 755\)/],
    [script('loose', 0o775), /loose: mode 775: writable by others than its owner/],
    [join(dir, 'none'), /none: No such file or directory/],
    [dir, /not a regular file/],
    [inOpenDir, /its directory .*open-dir can be written by others than root/],
  ];
  for (const [path, want] of programs) {
    t.throws(() => parseConfig(`[options]\nEvent_Command = ${path}\n${DOORS}`, 'm.conf'), { message: want, line: 2 }, want.source);
  }
  const short = join(dir, 'short');
  writeFileSync(short, 'too short\n', { mode: 0o600 });
  const loose = join(dir, 'loose');
  writeFileSync(loose, 'a webhook secret of 32 bytes....\n');
  chmodSync(loose, 0o644);
  const bad: [string, RegExp][] = [
    ['Metrics_Listen = 9464', /line 2: Metrics_Listen: "9464" is not ADDRESS:PORT/],
    ['Metrics_Listen = localhost:9464', /is not ADDRESS:PORT/],
    ['Metrics_Listen = ::1:9464', /is not ADDRESS:PORT/],
    ['Metrics_Listen = [127.0.0.1]:9464', /is not ADDRESS:PORT/],
    ['Metrics_Listen = 127.0.0.1:70000', /port 70000 is not 1-65535/],
    ['Metrics_Listen = 127.0.0.1:0', /port 0 is not 1-65535/],
    ['Event_Webhook = ftp://x/', /line 2: Event_Webhook: "ftp:\/\/x\/" is not an http/],
    ['Event_Webhook = not a url', /is not an http/],
    ['Event_Webhook = https://user:pw@x/', /no user or password in the URL/],
    ['Event_Webhook = https://x/#frag', /#fragment/],
    [`Event_Webhook = https://x/${'a'.repeat(2100)}`, /longer than 2048/],
    [`Event_Webhook_Secret_File = ${secretFile}`, /line 2: Event_Webhook_Secret_File needs Event_Webhook/],
    [`Event_Webhook = http://x/\nEvent_Webhook_Secret_File = ${short}`, /line 3: Event_Webhook_Secret_File: .*short: the secret .* shorter than 16 bytes/],
    [`Event_Webhook = http://x/\nEvent_Webhook_Secret_File = ${loose}`, /loose: mode 644: readable by others/],
    [`Event_Webhook = http://x/\nEvent_Webhook_Secret_File = ${join(dir, 'missing')}`, /missing: No such file/],
    ['Event_Command = on-event', /line 2: Event_Command: "on-event" is not an absolute path/],
    ['Event_Command = /bin/sh -c x', /is not an absolute path \(no arguments, no shell\)/],
  ];
  for (const [keys, want] of bad) {
    const line = keys.split('\n').length + 1; // the last key's
    t.throws(() => parseConfig(`[options]\n${keys}\n${DOORS}`, 'm.conf'), { message: want, file: 'm.conf', line }, want.source);
  }
});

function engine(events: boolean, text = DOORS, fleet = false) {
  return new Engine(parseConfig(text, 'm.conf'), { localAddresses: [SRV], maxAttempts: 100, onlyIPv4: false, events, fleet },
    { display: (ip) => ip, persistReplay: () => true });
}
const pkt = (dport: number, src = CLI): Packet => ({ src, dst: SRV, family: 4, protocol: 'tcp', dport, tcpFlags: 2 });
const spaPkt = (payload: string, src = CLI): Packet => ({ src, dst: SRV, family: 4, protocol: 'udp', dport: 62201, tcpFlags: 0, payload });
const eventsOf = (fx: readonly Effect[]): SesameEvent[] => fx.flatMap((f) => (f.kind === 'event' ? [f.event] : []));
function knock(e: Engine, ports: readonly number[], src = CLI, at = 0): Effect[] {
  return ports.flatMap((p, i) => e.handle({ kind: 'packet', packet: pkt(p, src), at: at + i * 10, wall: NOW + at + i * 10 }));
}
const access = (ts = NOW / 1000) => encodeAccess({ username: 'alice', timestamp: ts, message: `${CLI},tcp/22` }, keys);

t.test('engine: events for a knock grant, its stages, SPA grants and refusals, bans', async (t) => {
  const e = engine(true);
  const fx = knock(e, [7000, 8000, 9000]);
  t.same(eventsOf(fx), [
    { type: 'stage', door: 'ssh', stage: 1 }, { type: 'stage', door: 'ssh', stage: 2 }, { type: 'stage', door: 'ssh', stage: 3 },
    { type: 'grant', door: 'ssh', kind: 'knock', address: CLI, ports: ['tcp/22'], seconds: 30 },
  ]);
  const once = access();
  const spa = e.handle({ kind: 'packet', packet: spaPkt(once), at: 100, wall: NOW });
  t.same(eventsOf(spa), [{ type: 'grant', door: 'spa', kind: 'spa', address: CLI, ports: ['tcp/22'], seconds: 10 }]);
  const replay = e.handle({ kind: 'packet', packet: spaPkt(once), at: 110, wall: NOW });
  t.same(eventsOf(replay), [{ type: 'spa-refused', reason: 'replay' }], 'the same packet again: replay');
  const stale = e.handle({ kind: 'packet', packet: spaPkt(access(NOW / 1000 - 600)), at: 120, wall: NOW });
  t.same(eventsOf(stale), [{ type: 'spa-refused', reason: 'age' }]);
  const junk = e.handle({ kind: 'packet', packet: spaPkt('x'.repeat(200)), at: 130, wall: NOW });
  t.same(eventsOf(junk), [{ type: 'spa-refused', reason: 'hmac' }], 'base64-looking junk fails the HMAC');
  const notB64 = e.handle({ kind: 'packet', packet: spaPkt('!'.repeat(200)), at: 140, wall: NOW });
  t.same(eventsOf(notB64), [{ type: 'spa-refused', reason: 'decode' }]);
  // Two resets ban (Max_Failures = 2).
  const other = '10.77.0.9';
  const fails = [...knock(e, [7000, 9000], other, 200), ...knock(e, [7000, 9000], other, 300)];
  t.same(eventsOf(fails).filter((x) => x.type === 'ban'), [{ type: 'ban', door: 'ssh', address: other, seconds: 3600, failures: 2 }]);
});

t.test('engine: no event effects when nothing watches', async (t) => {
  const e = engine(false);
  const fx = [...knock(e, [7000, 8000, 9000]), ...e.handle({ kind: 'packet', packet: spaPkt('!'.repeat(200)), at: 50, wall: NOW })];
  t.equal(eventsOf(fx).length, 0);
  t.ok(fx.some((f) => f.kind === 'grant'), 'the grant itself is there');
});

t.test('engine: fleet grants, and a fleet claim lost is a replay', async (t) => {
  const e = engine(true, `[options]\nFleet_Redis = redis://127.0.0.1:1\nFleet_Key_File = ${secretFile}\n${DOORS}`, true);
  const fx = e.handle({ kind: 'fleet-grant', note: { type: 'grant', v: 1, id: 'x', node: 'b', at: NOW, kind: 'knock', door: 'ssh',
    ip: CLI, family: 4, timeout: 30 } as never, seconds: 20, wall: NOW });
  t.same(eventsOf(fx), [{ type: 'grant', door: 'ssh', kind: 'fleet', address: CLI, ports: ['tcp/22'], seconds: 20 }]);
  const spa = e.handle({ kind: 'packet', packet: spaPkt(access()), at: 0, wall: NOW });
  const claim = spa.find((f) => f.kind === 'claim');
  t.ok(claim, 'an SPA grant is claimed first');
  if (claim?.kind !== 'claim') return;
  t.same(eventsOf(claim.granted), [{ type: 'grant', door: 'spa', kind: 'spa', address: CLI, ports: ['tcp/22'], seconds: 10 }],
    'the grant event goes only with the claim won');
  t.same(eventsOf(claim.refused), [{ type: 'spa-refused', reason: 'replay' }]);
});

t.test('refusal texts as categories', async (t) => {
  const cases: [string, string][] = [
    ['HMAC mismatch', 'hmac'], ['HMAC mismatch (GnuPG)', 'hmac'],
    ['replay detected (first seen from 10.0.0.1 at 2026-01-01T00:00:00.000Z)', 'replay'],
    ['replay detected (accepted by another fleet node)', 'replay'],
    ['stale packet (300 seconds old)', 'age'], ['stale packet (300 seconds in the future)', 'age'],
    ['not an SPA packet (not base64)', 'decode'], ['packet too long for Rijndael SPA', 'decode'],
    ['bad packet format (starts with the Salted__ prefix)', 'decode'], ['decryption failed', 'decode'],
    ['bad message digest', 'decode'], ['bad field (message)', 'decode'], ['too short for GnuPG SPA', 'decode'],
    ['GnuPG: busy', 'busy'], ['GnuPG: bad signature', 'gpg'], ['GnuPG: no such door', 'gpg'],
    ['replay cache not written (disk full?)', 'disk'],
    ['bad HTTP request line', 'http'], ['X-Forwarded-For longer than 8 hops', 'http'],
    ['HTTP User-Agent curl is not Fwknop (SPA_HTTP_Any_User_Agent is off)', 'http'],
    ['port not allowed (tcp/23)', 'policy'], ['command messages are not allowed', 'policy'],
    ['NAT access is not enabled for this door', 'policy'], ['0.0.0.0 requested but SPA_Require_Source_Address is set', 'policy'],
    ['command not allowed: "rm"', 'policy'],
  ];
  for (const [text, want] of cases) t.equal(refusalReason(text), want, text);
});

const readings = (grants = new Map<string, number>([['ssh', 2]])) => ({
  activeGrants: async () => grants, bans: () => 3, eventsDropped: () => ({ webhook: 4 }), redisUp: () => true as boolean | undefined,
});

t.test('registry: values after events, and promtool check metrics passes', async (t) => {
  const m = new Metrics(readings(), true);
  m.doorsAre(parseConfig(DOORS, 'm.conf').doors);
  const events: SesameEvent[] = [
    { type: 'grant', door: 'ssh', kind: 'knock', address: CLI, ports: ['tcp/22'], seconds: 30 },
    { type: 'grant', door: 'ssh', kind: 'knock', address: CLI, ports: ['tcp/22'], seconds: 30 },
    { type: 'grant', door: 'spa', kind: 'nat', address: CLI, ports: [], seconds: 30 },
    { type: 'stage', door: 'ssh', stage: 1 }, { type: 'spa-refused', reason: 'hmac' },
    { type: 'firewall-repaired', what: 'table', detail: 'x' },
  ];
  for (const e of events) m.event(e);
  m.command('ssh', 'start', 'ok');
  m.command('ssh', 'stop', 'failed');
  m.captureDropped('kernel', 7);
  m.fleetNote('out', 'sent');
  const text = await m.text();
  const lines = [
    'sesame_grants_total{door="ssh",kind="knock"} 2', 'sesame_grants_total{door="spa",kind="nat"} 1',
    'sesame_grants_total{door="spa",kind="totp"} 0', 'sesame_knock_stages_total{door="ssh",stage="1"} 1',
    'sesame_spa_refused_total{reason="hmac"} 1', 'sesame_spa_refused_total{reason="replay"} 0',
    'sesame_firewall_repairs_total{what="table"} 1', 'sesame_commands_total{door="ssh",phase="start",status="ok"} 1',
    'sesame_commands_total{door="ssh",phase="stop",status="failed"} 1', 'sesame_capture_dropped_total{source="kernel"} 7',
    'sesame_fleet_notes_total{direction="out",result="sent"} 1', 'sesame_active_grants{door="ssh"} 2', 'sesame_bans_active 3',
    'sesame_fleet_redis_up 1', 'sesame_events_dropped_total{sink="webhook"} 4',
  ];
  for (const l of lines) t.ok(text.split('\n').includes(l), l);
  for (const name of METRIC_NAMES) t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exported`);
  t.match(text, /^process_resident_memory_bytes \d+/m);
  t.match(text, /^process_cpu_seconds_total /m);
  t.notMatch(text, /nodejs_/, 'no nodejs_* metrics');
  const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.equal(out.trim(), '', 'promtool check metrics: no complaint');
  // Stages and refusals are tallied between scrapes: what a scrape took is not counted twice.
  for (let i = 0; i < 3; i++) m.event({ type: 'stage', door: 'ssh', stage: 2 });
  t.match(await m.text(), /^sesame_knock_stages_total\{door="ssh",stage="2"\} 3$/m);
  for (let i = 0; i < 2; i++) m.event({ type: 'stage', door: 'ssh', stage: 2 });
  m.event({ type: 'spa-refused', reason: 'hmac' });
  const later = await m.text();
  t.match(later, /^sesame_knock_stages_total\{door="ssh",stage="2"\} 5$/m);
  t.match(later, /^sesame_spa_refused_total\{reason="hmac"\} 2$/m);
  const noFleet = new Metrics(readings(), false);
  t.notMatch(await noFleet.text(), /^sesame_fleet_redis_up /m, 'no Redis gauge without a fleet');
});

t.test('active grants by door: Open ports counted, NAT grants not', async (t) => {
  const doors = parseConfig(`${DOORS}[cmd]\nsequence = 1,2\n[web]\nsequence = 3,4\nOpen = tcp/443\n`, 'm.conf').doors;
  const g = (address: string, port: number, nat = false) =>
    ({ address, protocol: 'tcp' as const, port, timeout: 10, ...(nat ? { nat: { kind: 'local' as const, address: '', port: 22 } } : {}) });
  const counts = grantsByDoor(doors, [g('10.0.0.1', 22), g('10.0.0.2', 22), g('10.0.0.3', 22, true), g('10.0.0.4', 80)]);
  t.same([...counts], [['ssh', 2], ['spa', 2], ['web', 0]], 'doors without Open have no series');
});

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('listener: GET /metrics only', async (t) => {
  const m = new Metrics(readings());
  const logs: string[] = [];
  const s = await MetricsServer.listen('127.0.0.1', 0, m, (l) => logs.push(l));
  t.teardown(() => s.close());
  const ok = await get(s.port, '/metrics');
  t.equal(ok.status, 200);
  t.match(ok.type, /^text\/plain; version=0\.0\.4/);
  t.match(ok.body, /sesame_bans_active 3/);
  t.equal((await get(s.port, '/')).status, 404);
  t.equal((await get(s.port, '/metrics/../etc/passwd')).status, 404);
  t.equal((await get(s.port, '/metrics', 'POST')).status, 405);
  t.equal((await get(s.port, '/metrics?x=1')).status, 200, 'a query string is ignored');
  await t.rejects(MetricsServer.listen('127.0.0.1', s.port, m, () => {}), { code: 'EADDRINUSE' }, 'a taken port: the error');
  // One address holds at most MAX_PER_SOURCE connections: past them it is refused, others are not.
  const idle = await Promise.all(Array.from({ length: MAX_PER_SOURCE }, () => new Promise<net.Socket>((res) => {
    const c = net.connect(s.port, '127.0.0.1', () => res(c));
  })));
  await new Promise((r) => setTimeout(r, 50));
  await t.rejects(get(s.port, '/metrics'), 'a fifth connection from the same address is closed');
  idle[0]!.destroy();
  await new Promise((r) => setTimeout(r, 50));
  t.equal((await get(s.port, '/metrics')).status, 200, 'a slot freed: served again');
  for (const c of idle) c.destroy();
  await new Promise((r) => setTimeout(r, 50));
  // Pipelined requests on one connection: one answer.
  const answers = await new Promise<number>((res) => {
    const c = net.connect(s.port, '127.0.0.1', () => c.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50)));
    let text = '';
    c.on('data', (b: Buffer) => { text += b.toString(); });
    c.on('close', () => res(text.split('HTTP/1.1 200').length - 1));
  });
  t.equal(answers, 1, 'fifty pipelined GETs: one answer');
  const failing = await MetricsServer.listen('127.0.0.1', 0, { contentType: 'text/plain', text: () => Promise.reject(new Error('kernel')) },
    (l) => logs.push(l));
  t.teardown(() => failing.close());
  t.equal((await get(failing.port, '/metrics')).status, 500);
  t.same(logs, ['metrics: scrape failed: kernel']);
});

t.test('the kernel is read once per period, whatever the scrapes', async (t) => {
  let reads = 0;
  let fail = false;
  const c = new CachedRead(async () => { reads++; if (fail) throw new Error('nft'); return reads; }, 5000);
  t.equal(await c.get(0), 1);
  t.equal(await c.get(10), 1, 'a scrape meanwhile shares the read');
  await Promise.all([c.get(100), c.get(200), c.get(300)]);
  t.equal(reads, 1);
  t.equal(await c.get(5000), 2, 'read again once the period is over');
  fail = true;
  await t.rejects(c.get(10_000), /nft/, 'a failed read fails the scrape');
  fail = false;
  t.equal(await c.get(10_001), 4, 'and is not kept');
});
