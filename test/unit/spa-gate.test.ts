// The SPA gate, pure: packets built with the codec and a clock in, verdicts out. Every refusal
// the issue names, the order of checks, multi-door fall-through, and bounded replay state.

import t from 'tap';
import { parseConfig } from '../../lib/config/parser.js';
import { SpaGate, type SpaPacket, type SpaVerdict } from '../../lib/matcher/spa-gate.js';
import { ReplayCache, replayDigest } from '../../lib/spa/replay.js';
import { encodeAccess, encodeFields, SALTED_PREFIX, type SpaKeys } from '../../lib/spa/wire.js';
import type { DigestName } from '../../lib/spa/digests.js';

const K1 = Buffer.alloc(32, 1), H1 = Buffer.alloc(64, 2);
const K2 = Buffer.from('second door passphrase'), H2 = Buffer.alloc(128, 3);
const NOW = 1_800_000_000_000; // ms
const SRV = '10.77.0.1', CLI = '10.77.0.2';

const config = parseConfig(`[one]
SPA_Key_Base64 = ${K1.toString('base64')}
SPA_HMAC_Key_Base64 = ${H1.toString('base64')}
SPA_Open_Ports = tcp/22, udp/1194
Cmd_Timeout = 30
SPA_Max_Timeout = 60
SPA_Max_Age = 120
[two]
SPA_Key = ${K2.toString()}
SPA_HMAC_Key_Base64 = ${H2.toString('base64')}
SPA_HMAC_Digest = sha512
SPA_Open_Ports = tcp/2222
SPA_Require_Source_Address = yes
[other-port]
SPA_Key = x
SPA_HMAC_Key_Base64 = ${Buffer.alloc(64, 9).toString('base64')}
SPA_Open_Ports = tcp/22
SPA_Port = 5000
Target = 10.77.0.99
`, 'gate.conf');

const keys1: SpaKeys = { key: K1, hmacKey: H1, hmacDigest: 'sha256', mode: 'cbc' };
const keys2: SpaKeys = { key: K2, hmacKey: H2, hmacDigest: 'sha512', mode: 'cbc' };

function gate(cache = new ReplayCache({ windowMs: 240_000 })) {
  return { g: new SpaGate(config.doors, cache, [SRV, 'fd77::1']), cache };
}
const wire = (message: string, o: { keys?: SpaKeys; ts?: number; timeout?: number; digest?: DigestName } = {}) =>
  encodeAccess({ username: 'alice', timestamp: o.ts ?? NOW / 1000, message, clientTimeout: o.timeout }, o.keys ?? keys1, { digest: o.digest });
const pkt = (payload: string, o: Partial<SpaPacket> = {}): SpaPacket => ({ src: CLI, dst: SRV, family: 4, dport: 62201, payload, ...o });
const reason = (v: SpaVerdict) => (v.type === 'refused' ? v.reason : v.type);

t.test('granted: the message IP, every requested port, Cmd_Timeout', async (t) => {
  const { g } = gate();
  const r = g.handle(pkt(wire(`${CLI},tcp/22,udp/1194`)), NOW);
  t.equal(r.kept, true, 'digest kept (to persist)');
  t.equal(r.verdict.type, 'granted');
  if (r.verdict.type !== 'granted') return;
  t.equal(r.verdict.door.name, 'one');
  t.equal(r.verdict.ip, CLI);
  t.equal(r.verdict.family, 4);
  t.same(r.verdict.ports, [{ protocol: 'tcp', port: 22 }, { protocol: 'udp', port: 1194 }]);
  t.equal(r.verdict.timeout, 30);
  t.equal(r.verdict.fields.username, 'alice');
});

t.test('client timeout: capped by SPA_Max_Timeout', async (t) => {
  const { g } = gate();
  const a = g.handle(pkt(wire(`${CLI},tcp/22`, { timeout: 45 })), NOW).verdict;
  t.equal(a.type === 'granted' && a.timeout, 45);
  const b = g.handle(pkt(wire(`${CLI},tcp/22`, { timeout: 9999 })), NOW).verdict;
  t.equal(b.type === 'granted' && b.timeout, 60);
});

t.test('0.0.0.0: the packet source, IPv4 or IPv6; refused where a source is required', async (t) => {
  const { g } = gate();
  const v4 = g.handle(pkt(wire('0.0.0.0,tcp/22')), NOW).verdict;
  t.same(v4.type === 'granted' && [v4.ip, v4.family], [CLI, 4]);
  const v6 = g.handle(pkt(wire('0.0.0.0,tcp/22'), { src: 'fd77::2', dst: 'fd77::1', family: 6 }), NOW).verdict;
  t.same(v6.type === 'granted' && [v6.ip, v6.family], ['fd77::2', 6]);
  const explicit = g.handle(pkt(wire(`${CLI},tcp/22`), { src: 'fd77::2', dst: 'fd77::1', family: 6 }), NOW).verdict;
  t.same(explicit.type === 'granted' && [explicit.ip, explicit.family], [CLI, 4], 'an IPv4 request over IPv6 grants that IPv4 address');
  t.equal(reason(g.handle(pkt(wire('0.0.0.0,tcp/2222', { keys: keys2 })), NOW).verdict), '0.0.0.0 requested but SPA_Require_Source_Address is set');
});

t.test('second door: its own keys and digest', async (t) => {
  const { g } = gate();
  const v = g.handle(pkt(wire(`${CLI},tcp/2222`, { keys: keys2, digest: 'sha512' })), NOW).verdict;
  t.equal(v.type === 'granted' && v.door.name, 'two');
});

t.test('replay: refused once authenticated, also when the first was refused later on', async (t) => {
  const { g } = gate();
  const w = wire(`${CLI},tcp/22`);
  t.equal(g.handle(pkt(w), NOW).verdict.type, 'granted');
  const r = g.handle(pkt(w, { src: '10.77.0.3' }), NOW + 1000);
  t.equal(reason(r.verdict), `replay detected (first seen from ${CLI} at ${new Date(NOW).toISOString()})`);
  t.equal(r.kept, false);
  const stale = wire(`${CLI},tcp/22`, { ts: NOW / 1000 - 500 });
  t.match(reason(g.handle(pkt(stale), NOW).verdict), /^stale packet/);
  t.match(reason(g.handle(pkt(stale), NOW).verdict), /^replay detected/, 'a stale packet still burns its digest');
  const junk = 'A'.repeat(200);
  t.equal(reason(g.handle(pkt(junk), NOW).verdict), 'HMAC mismatch');
  t.equal(reason(g.handle(pkt(junk), NOW).verdict), 'HMAC mismatch', 'junk is never cached (as fwknopd: only what it decrypted)');
});

t.test('replay: survives a reload of the kept digests', async (t) => {
  const first = gate();
  const w = wire(`${CLI},tcp/22`);
  first.g.handle(pkt(w), NOW);
  const cache = new ReplayCache({ windowMs: 240_000 });
  cache.load(JSON.parse(JSON.stringify(first.cache.kept())), NOW + 5000);
  t.match(reason(gate(cache).g.handle(pkt(w), NOW + 6000).verdict), /^replay detected/);
  const late = new ReplayCache({ windowMs: 240_000 });
  late.load(first.cache.kept(), NOW + 241_000);
  t.equal(late.kept().length, 0, 'expired entries are not loaded');
  const bad = new ReplayCache({ windowMs: 240_000 });
  bad.load([null, 1, 'x', { digest: 'short', firstSeen: NOW }, { digest: replayDigest('x'), firstSeen: 'now' }, { digest: replayDigest('y'), firstSeen: NOW }], NOW);
  t.equal(bad.kept().length, 1, 'malformed entries are skipped');
});

t.test('stale in both directions, at the window edge', async (t) => {
  const { g } = gate();
  t.equal(g.handle(pkt(wire(`${CLI},tcp/22`, { ts: NOW / 1000 - 120 })), NOW).verdict.type, 'granted');
  t.equal(g.handle(pkt(wire(`${CLI},tcp/22`, { ts: NOW / 1000 + 120 })), NOW).verdict.type, 'granted');
  t.equal(reason(g.handle(pkt(wire(`${CLI},tcp/22`, { ts: NOW / 1000 - 121 })), NOW).verdict), 'stale packet (121 seconds old)');
  t.equal(reason(g.handle(pkt(wire(`${CLI},tcp/22`, { ts: NOW / 1000 + 301 })), NOW).verdict), 'stale packet (301 seconds in the future)');
});

t.test('port not allowed: any requested port outside SPA_Open_Ports refuses the whole request', async (t) => {
  const { g } = gate();
  t.equal(reason(g.handle(pkt(wire(`${CLI},tcp/22,tcp/80,udp/53`)), NOW).verdict), 'port not allowed (tcp/80,udp/53)');
});

t.test('message types: command refused; NAT refused by a door without NAT keys', async (t) => {
  const { g } = gate();
  const base = { rand: '1234567890123456', username: 'bob', timestamp: NOW / 1000, version: '3.0.0', serverAuth: null, clientTimeout: 0 };
  const cmd = encodeFields({ ...base, messageType: 0, message: `${CLI},rm -rf /`, natAccess: null }, keys1);
  t.equal(reason(g.handle(pkt(cmd), NOW).verdict), 'command messages are not allowed');
  for (const type of [2, 4, 5, 6]) {
    const nat = encodeFields({ ...base, rand: `12345678901234${50 + type}`, messageType: type, message: `${CLI},tcp/22`, natAccess: '192.168.1.5,22', clientTimeout: type === 4 || type === 6 ? 30 : 0 }, keys1);
    t.equal(reason(g.handle(pkt(nat), NOW).verdict), 'NAT access is not enabled for this door', `type ${type}`);
  }
});

t.test('right HMAC key, wrong encryption key: decryption fails after authentication', async (t) => {
  const { g } = gate();
  const v = g.handle(pkt(wire(`${CLI},tcp/22`, { keys: { ...keys1, key: Buffer.from('wrong') } })), NOW).verdict;
  t.match(reason(v), /^(decryption failed|bad field \(\w[\w-]*\)|bad message digest)$/);
  t.equal(v.type === 'refused' && v.door?.name, 'one');
});

t.test('shape: short ignored (as fwknopd), long, prefixed, non-base64 refused; wrong port/address ignored', async (t) => {
  const { g, cache } = gate();
  const w = wire(`${CLI},tcp/22`);
  t.equal(g.handle(pkt(w.slice(0, 139)), NOW).verdict.type, 'ignored');
  t.equal(reason(g.handle(pkt('A'.repeat(400)), NOW).verdict), 'packet too long for Rijndael SPA');
  t.equal(reason(g.handle(pkt(SALTED_PREFIX + w), NOW).verdict), 'bad packet format (starts with the Salted__ prefix)');
  t.equal(reason(g.handle(pkt(`${w.slice(0, 100)} ${w.slice(101)}`), NOW).verdict), 'not an SPA packet (not base64)');
  t.equal(g.handle(pkt(w, { dport: 62202 }), NOW).verdict.type, 'ignored');
  t.equal(g.handle(pkt(w, { dst: '10.77.0.50' }), NOW).verdict.type, 'ignored', 'not a local address');
  t.equal(cache.size, 0, 'none of these touched the replay cache');
  t.equal(g.handle(pkt(w), NOW).verdict.type, 'granted', 'the original still works');
  t.same([...g.ports].sort(), [5000, 62201]);
});

t.test('Target: a door with Target only takes packets to that address', async (t) => {
  const { g } = gate();
  const w = encodeAccess({ username: 'u', timestamp: NOW / 1000, message: `${CLI},tcp/22` }, { key: Buffer.from('x'), hmacKey: Buffer.alloc(64, 9), hmacDigest: 'sha256', mode: 'cbc' });
  t.equal(g.handle(pkt(w, { dport: 5000 }), NOW).verdict.type, 'ignored');
  t.equal(g.handle(pkt(w, { dport: 5000, dst: '10.77.0.99' }), NOW).verdict.type, 'granted');
});

t.test('bounded: a junk flood cannot grow state or evict a real digest', async (t) => {
  const cache = new ReplayCache({ windowMs: 240_000 });
  const { g } = gate(cache);
  const real = wire(`${CLI},tcp/22`);
  t.equal(g.handle(pkt(real), NOW).verdict.type, 'granted');
  for (let i = 0; i < 20_000; i++) g.handle(pkt(`${String(i).padStart(8, '0')}${'A'.repeat(192)}`), NOW);
  t.equal(cache.size, 1, 'junk left no digest');
  t.match(reason(g.handle(pkt(real), NOW + 1).verdict), /^replay detected/, 'the real digest is still there');
  cache.prune(NOW + 241_000);
  t.equal(cache.kept().length, 0, 'kept digests go once the window has passed');
});
