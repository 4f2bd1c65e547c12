// SPA NAT access, the pure parts: the door keys (errors with line numbers), the gate's decisions
// for message types 2, 4, 5 and 6 and SPA_Force_NAT (nothing is forwarded where the door does
// not list, checked against an independent CIDR model on random requests), %NAT_IP%/%NAT_PORT%,
// the nft batches (checked by the real nft in an empty namespace, and listed back), and the
// client's -N/--nat-local/--nat-port/--nat-rand-port packets decoded field by field.

import type { Test } from 'tap';
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { parseConfig } from '../../lib/config/parser.js';
import { ConfigError } from '../../lib/config/errors.js';
import { SpaGate, type SpaPacket } from '../../lib/matcher/spa-gate.js';
import { ReplayCache } from '../../lib/spa/replay.js';
import { encodeFields, openCiphertext, verifyHmac, type SpaKeys } from '../../lib/spa/wire.js';
import { substitute } from '../../lib/actions/commands.js';
import { grantBatch, installBatch } from '../../lib/firewall/commands.js';
import { natInstallBatch, parseNatListing } from '../../lib/firewall/nat-commands.js';
import { FirewallInputError } from '../../lib/firewall/validate.js';
import { parseSpaArgs } from '../../lib/client/spa-args.js';
import { buildRequest, encodeRequest, SpaInputError } from '../../lib/client/spa-request.js';
import { inIpv4Network, parseIpv4Network } from '../../lib/net/ipv4.js';

const K = Buffer.alloc(32, 4), H = Buffer.alloc(64, 5);
const keys: SpaKeys = { key: K, hmacKey: H, hmacDigest: 'sha256', mode: 'cbc' };
const NOW = 1_800_000_000_000;
const SRV = '10.77.0.1', CLI = '10.77.0.2';
const SPA = `SPA_Key_Base64 = ${K.toString('base64')}\nSPA_HMAC_Key_Base64 = ${H.toString('base64')}\n`;

function door(body: string) {
  return parseConfig(`[d]\n${SPA}${body}`, 'nat.conf').doors[0]!;
}

function error(t: Test, body: string, message: string | RegExp, line: number): void {
  try {
    parseConfig(`[d]\n${SPA}${body}`, 'nat.conf');
    t.fail(`no error for ${JSON.stringify(body)}`);
  } catch (err) {
    t.ok(err instanceof ConfigError, 'a ConfigError');
    t.match((err as ConfigError).message, message);
    t.equal((err as ConfigError).line, line, `line ${line}`);
  }
}


t.test('NAT keys: what they hold', async (t) => {
  const d = door('SPA_Forward = 10.0.0.0/24 tcp/3306, 10.0.0.7 TCP/3389,10.1.0.0/16 udp/53\nSPA_Local_NAT = tcp/22, tcp/80\nSPA_SNAT = Masquerade\n');
  t.same(d.spa!.nat!.forward.map((f) => [f.network.address, f.network.prefix, f.protocol, f.port]),
    [['10.0.0.0', 24, 'tcp', 3306], ['10.0.0.7', 32, 'tcp', 3389], ['10.1.0.0', 16, 'udp', 53]]);
  t.same(d.spa!.nat!.local, [{ protocol: 'tcp', port: 22 }, { protocol: 'tcp', port: 80 }]);
  t.equal(d.spa!.nat!.snat, 'masquerade');
  t.same(d.spa!.openPorts, [], 'a NAT door needs no SPA_Open_Ports');
  const f = door('SPA_Force_NAT = 10.0.0.5 tcp/3306\nSPA_SNAT = 192.0.2.1\nSPA_Open_Ports = tcp/4400\n');
  t.same(f.spa!.nat!.force, { address: '10.0.0.5', protocol: 'tcp', port: 3306 });
  t.equal(f.spa!.nat!.snat, '192.0.2.1');
  t.equal(door('SPA_Open_Ports = tcp/22\n').spa!.nat, undefined, 'no NAT keys, no NAT');
});

t.test('NAT keys: errors name the line', async (t) => {
  error(t, 'SPA_Forward = 10.0.0.0/24\n', /^config: line 4: SPA_Forward: "10\.0\.0\.0\/24" is not ADDRESS\[\/LEN\] PROTOCOL\/PORT/, 4);
  error(t, 'SPA_Forward = 10.0.0.1/24 tcp/22\n', /"10\.0\.0\.1\/24": not an IPv4 address or network \(host bits must be zero\)/, 4);
  error(t, 'SPA_Forward = fd00::5 tcp/22\n', /"fd00::5": NAT destinations are IPv4 addresses/, 4);
  error(t, 'SPA_Forward = 10.0.0.5 icmp/0\n', /SPA_Forward: unknown protocol "icmp"/, 4);
  error(t, 'SPA_Forward = 10.0.0.5 tcp/70000\n', /SPA_Forward: port 70000 is out of range/, 4);
  error(t, 'SPA_Forward = 010.0.0.5 tcp/22\n', /not an IPv4 address/, 4);
  error(t, 'SPA_Forward = 10.0.0.5 tcp/22,\n', /is not ADDRESS/, 4);
  error(t, 'SPA_Local_NAT = ssh\n', /SPA_Local_NAT: "ssh" is not protocol\/port/, 4);
  error(t, 'SPA_Force_NAT = 10.0.0.0/24 tcp/22\n', /SPA_Force_NAT: "10\.0\.0\.0\/24 tcp\/22" names a network; give one address/, 4);
  error(t, 'SPA_Open_Ports = tcp/22\nSPA_SNAT = 1.2.3\n', /line 5: SPA_SNAT must be masquerade or an IPv4 address, not "1\.2\.3"/, 5);
  error(t, 'SPA_Open_Ports = tcp/22\nSPA_SNAT = masquerade\n', /section d: SPA_SNAT rewrites forwarded flows: it needs SPA_Forward or SPA_Force_NAT/, 5);
});

const natConfig = parseConfig(`[fwd]
${SPA}SPA_Forward = 10.0.0.0/28 tcp/3306, 10.0.0.7 udp/53
SPA_Local_NAT = tcp/22
Cmd_Timeout = 30
SPA_Max_Timeout = 60
[plain]
SPA_Port = 5000
${SPA}SPA_Open_Ports = tcp/22
[force]
SPA_Port = 5001
${SPA}SPA_Force_NAT = 10.0.0.9 tcp/5432
SPA_Open_Ports = tcp/4400
`, 'g.conf');

let rand = 0;
function natPacket(type: number, message: string, natAccess: string | null, o: { dport?: number; src?: string; family?: 4 | 6; timeout?: number } = {}): SpaPacket {
  const fields = {
    rand: String(1_000_000_000_000_000 + rand++), username: 'bob', timestamp: NOW / 1000, version: '3.0.0',
    messageType: type, message, natAccess, serverAuth: null, clientTimeout: o.timeout ?? 0,
  };
  return { src: o.src ?? CLI, dst: SRV, family: o.family ?? 4, dport: o.dport ?? 62201, payload: encodeFields(fields, keys) };
}
const gate = () => new SpaGate(natConfig.doors, new ReplayCache({ windowMs: 240_000 }), [SRV, 'fd77::1']);
const verdict = (g: SpaGate, p: SpaPacket) => g.handle(p, NOW).verdict;

t.test('gate: NAT access (types 2 and 4) reaches only what SPA_Forward lists', async (t) => {
  const g = gate();
  const ok = verdict(g, natPacket(2, `${CLI},tcp/4000`, '10.0.0.5,3306'));
  t.match(ok, { type: 'granted', ip: CLI, ports: [{ protocol: 'tcp', port: 4000 }], timeout: 30, nat: { kind: 'forward', external: { protocol: 'tcp', port: 4000 }, address: '10.0.0.5', port: 3306 } });
  t.match(verdict(g, natPacket(4, `${CLI},udp/5300`, '10.0.0.7,53', { timeout: 45 })), { type: 'granted', timeout: 45, nat: { address: '10.0.0.7', port: 53 } }, 'client timeout');
  t.match(verdict(g, natPacket(4, `${CLI},tcp/4000`, '10.0.0.5,3306', { timeout: 600 })), { type: 'granted', timeout: 60 }, 'capped by SPA_Max_Timeout');
  const refused = (type: number, msg: string, nat: string) => verdict(g, natPacket(type, msg, nat));
  t.match(refused(2, `${CLI},tcp/4000`, '10.0.0.16,3306'), { type: 'refused', reason: 'NAT destination not allowed (10.0.0.16 tcp/3306)' }, 'outside the /28');
  t.match(refused(2, `${CLI},tcp/4000`, '10.0.0.5,22'), { type: 'refused', reason: 'NAT destination not allowed (10.0.0.5 tcp/22)' }, 'port not listed');
  t.match(refused(2, `${CLI},udp/4000`, '10.0.0.5,3306'), { type: 'refused', reason: 'NAT destination not allowed (10.0.0.5 udp/3306)' }, 'protocol comes from the message');
  t.match(refused(2, `${CLI},tcp/4000`, 'db.internal,3306'), { type: 'refused', reason: 'NAT destination "db.internal" is not an IPv4 address (names are not resolved)' });
  t.match(refused(2, `${CLI},tcp/4000`, '010.0.0.5,3306'), { type: 'refused' }, 'no octal aliasing');
  t.match(verdict(g, natPacket(2, '0.0.0.0,tcp/4000', '10.0.0.5,3306', { src: 'fd77::2', family: 6 })), { type: 'refused', reason: 'NAT access needs an IPv4 address to allow' });
  t.match(verdict(g, natPacket(2, '0.0.0.0,tcp/4000', '10.0.0.5,3306')), { type: 'granted', ip: CLI }, '0.0.0.0: the IPv4 source');
  t.match(verdict(g, natPacket(2, `${CLI},tcp/22`, '10.0.0.5,3306', { dport: 5000 })), { type: 'refused', reason: 'NAT access is not enabled for this door' }, 'a door without NAT keys');
});

t.test('gate: local NAT (types 5 and 6) reaches only SPA_Local_NAT ports', async (t) => {
  const g = gate();
  t.match(verdict(g, natPacket(5, `${CLI},tcp/55000`, `${SRV},22`)), { type: 'granted', nat: { kind: 'local', external: { port: 55000 }, address: SRV, port: 22 } });
  t.match(verdict(g, natPacket(6, `${CLI},tcp/55001`, `${SRV},22`, { timeout: 5 })), { type: 'granted', timeout: 5 });
  t.match(verdict(g, natPacket(5, `${CLI},tcp/55002`, `${SRV},80`)), { type: 'refused', reason: 'local NAT port not allowed (tcp/80)' });
  t.match(verdict(g, natPacket(5, `${CLI},udp/55003`, `${SRV},22`)), { type: 'refused', reason: 'local NAT port not allowed (udp/22)' });
});

t.test('gate: SPA_Force_NAT sends every grant of the door to its address', async (t) => {
  const g = gate();
  t.match(verdict(g, natPacket(1, `${CLI},tcp/4400`, null, { dport: 5001 })), { type: 'granted', nat: { kind: 'forward', address: '10.0.0.9', port: 5432, external: { port: 4400 } } }, 'an access request');
  t.match(verdict(g, natPacket(2, `${CLI},tcp/4500`, '192.168.9.9,22', { dport: 5001 })), { type: 'granted', nat: { address: '10.0.0.9', port: 5432 } }, 'whatever the packet asks');
  t.match(verdict(g, natPacket(1, `${CLI},tcp/22`, null, { dport: 5001 })), { type: 'refused', reason: 'port not allowed (tcp/22)' }, 'access requests still need SPA_Open_Ports');
  t.match(verdict(g, natPacket(2, `${CLI},udp/4500`, '10.0.0.9,5432', { dport: 5001 })), { type: 'refused', reason: /cannot be forwarded to SPA_Force_NAT/ });
});

t.test('gate fuzz: a NAT grant is always inside the door\'s list (independent CIDR model)', async (t) => {
  const g = new SpaGate(natConfig.doors, new ReplayCache({ windowMs: 240_000, maxAuthenticated: 100_000 }), [SRV]);
  let seed = 7; // mulberry32: a seeded, well-mixed generator (an LCG's low bits repeat)
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const model = [{ net: '10.0.0.0', size: 16, proto: 'tcp', port: 3306 }, { net: '10.0.0.7', size: 1, proto: 'udp', port: 53 }];
  const num = (a: string) => a.split('.').reduce((n, p) => n * 256 + Number(p), 0);
  let granted = 0;
  for (let i = 0; i < 3000; i++) {
    const host = rnd(5) === 0 ? `host${rnd(9)}` : `10.0.${rnd(2)}.${rnd(20)}`;
    const proto = rnd(2) ? 'tcp' : 'udp';
    const natPort = [3306, 53, 22, 3307][rnd(4)]!;
    const type = [2, 4, 5, 6][rnd(4)]!;
    const v = verdict(g, natPacket(type, `${CLI},${proto}/${1 + rnd(65535)}`, `${host},${natPort}`, { timeout: type === 4 || type === 6 ? 30 : 0 }));
    if (v.type !== 'granted') continue;
    granted++;
    if (type === 2 || type === 4) {
      const inModel = /^\d+\.\d+\.\d+\.\d+$/.test(host) && model.some((m) => m.proto === proto && m.port === natPort && num(host) >= num(m.net) && num(host) < num(m.net) + m.size);
      if (!inModel || v.nat?.address !== host || v.nat.port !== natPort) t.fail(`forwarded ${host} ${proto}/${natPort}`);
    } else if (!(proto === 'tcp' && natPort === 22 && v.nat?.kind === 'local')) {
      t.fail(`local NAT to ${proto}/${natPort}`);
    }
  }
  t.ok(granted > 100, `${granted} of 3000 granted, every one inside the list`);
  t.ok(inIpv4Network('10.0.0.15', parseIpv4Network('10.0.0.0/28')!) && !inIpv4Network('10.0.0.16', parseIpv4Network('10.0.0.0/28')!));
});

t.test('%NAT_IP% and %NAT_PORT%: checked, then substituted once', async (t) => {
  const spa = { protocol: 'tcp' as const, port: 4000, timeout: 30, nat: { address: '10.0.0.5', port: 3306 } };
  t.equal(substitute('fw %IP% %PROTO%/%PORT% -> %NAT_IP%:%NAT_PORT%', '10.77.0.2', spa), 'fw 10.77.0.2 tcp/4000 -> 10.0.0.5:3306');
  t.equal(substitute('x %NAT_IP% %NAT_PORT%', '10.77.0.2', { protocol: 'tcp', port: 22, timeout: 5 }), 'x %NAT_IP% %NAT_PORT%', 'left as written without NAT');
  t.throws(() => substitute('%NAT_IP%', '10.77.0.2', { ...spa, nat: { address: '10.0.0.5; reboot', port: 1 } }), TypeError);
  t.throws(() => substitute('%NAT_IP%', '10.77.0.2', { ...spa, nat: { address: 'fd00::1', port: 1 } }), TypeError);
  t.throws(() => substitute('%NAT_PORT%', '10.77.0.2', { ...spa, nat: { address: '10.0.0.5', port: 0 } }), TypeError);
});

/** Runs nft in a new empty network namespace: '' when the batch applied, else nft's complaint. */
function nftApplies(script: string, then = ''): { err: string; out: string } {
  const r = spawnSync('unshare', ['-n', 'sh', '-c', `nft -f - ${then ? `&& ${then}` : ''}`], { input: script, encoding: 'utf8' });
  return { err: r.error ? String(r.error) : r.stderr, out: r.stdout };
}
const canNft = process.getuid?.() === 0 && spawnSync('nft', ['--version']).status === 0;

t.test('nft batches: NAT maps and chains, grants with timeouts, listed back', { skip: canNft ? false : 'needs root and nft' }, async (t) => {
  const routes = [{ network: '10.0.0.0/24', protocol: 'tcp' as const, port: 3306 }, { network: '10.0.0.5', protocol: 'tcp' as const, port: 3306 }, { network: '10.0.0.7', protocol: 'udp' as const, port: 53 }];
  const install = installBatch('sesame', []) + natInstallBatch('sesame', routes);
  t.match(install, /add element inet sesame fwdguard4 \{ 10\.0\.0\.0\/24 \. tcp \. 3306, 10\.0\.0\.7 \. udp \. 53 \}/, 'a covered route is left out (interval sets refuse overlaps)');
  const grants = grantBatch('sesame', [
    { address: '10.77.0.2', protocol: 'tcp', port: 4000, timeout: 30, nat: { kind: 'forward', address: '10.0.0.5', port: 3306, snat: 'masquerade' } },
    { address: '10.77.0.3', protocol: 'udp', port: 4001, timeout: 20, nat: { kind: 'forward', address: '10.0.0.7', port: 53, snat: '192.0.2.1' } },
    { address: '10.77.0.2', protocol: 'tcp', port: 55000, timeout: 10, nat: { kind: 'local', address: SRV, port: 22 } },
  ]);
  t.match(grants, /add element inet sesame fwd4 \{ 10\.77\.0\.2 \. tcp \. 4000 timeout 30s : 10\.0\.0\.5 \. 3306 \}/);
  t.match(grants, /add element inet sesame allow4 \{ 10\.77\.0\.2 \. tcp \. 22 timeout 10s \}/, 'local NAT lets the source through the guard of the local port');
  const r = nftApplies(install + install + grants + grants, 'nft -j list map inet sesame fwd4; nft -j list map inet sesame lnat4; nft list table inet sesame');
  t.equal(r.err, '', 'nft applies install twice (restart) and grants twice (refresh)');
  const listed = r.out.split('\n').filter((l) => l.startsWith('{')).flatMap(parseNatListing);
  t.same(listed.map((n) => [n.client, n.external.protocol, n.external.port, n.kind, n.address, n.port, n.timeout]), [
    ['10.77.0.2', 'tcp', 4000, 'forward', '10.0.0.5', 3306, 30],
    ['10.77.0.3', 'udp', 4001, 'forward', '10.0.0.7', 53, 20],
    ['10.77.0.2', 'tcp', 55000, 'local', undefined, 22, 10],
  ]);
  t.match(r.out, /masq4[\s\S]*10\.77\.0\.2 \. 10\.0\.0\.5 \. tcp \. 3306/, 'masquerade element');
  t.match(r.out, /snat4[\s\S]*10\.77\.0\.3 \. 10\.0\.0\.7 \. udp \. 53 .*: 192\.0\.2\.1/, 'SNAT element');
});

t.test('nft batches: values are checked before they reach nft', async (t) => {
  const nat = { kind: 'forward' as const, address: '10.0.0.5', port: 3306 };
  t.throws(() => grantBatch('sesame', [{ address: 'fd77::2', protocol: 'tcp', port: 1, timeout: 5, nat }]), FirewallInputError, 'IPv4 only');
  t.throws(() => grantBatch('sesame', [{ address: '10.77.0.2', protocol: 'tcp', port: 1, timeout: 5, nat: { ...nat, address: '10.0.0.5 } ; flush ruleset' } }]), FirewallInputError);
  t.throws(() => grantBatch('sesame', [{ address: '10.77.0.2', protocol: 'tcp', port: 1, timeout: 5, nat: { ...nat, port: 0 } }]), FirewallInputError);
  t.throws(() => grantBatch('sesame', [{ address: '10.77.0.2', protocol: 'tcp', port: 1, timeout: 5, nat: { ...nat, snat: 'x' } }]), FirewallInputError);
  t.throws(() => natInstallBatch('sesame', [{ network: '10.0.0.1/24', protocol: 'tcp', port: 1 }]), FirewallInputError);
});

t.test('client: -N, --nat-local, --nat-port, --nat-rand-port build fwknop\'s message types', async (t) => {
  const base = ['--spa', SRV, '-a', CLI, '--key-base64', K.toString('base64'), '--hmac-key-base64', H.toString('base64')];
  const decode = (argv: string[], server = SRV) => {
    const r = parseSpaArgs([...base, ...argv]);
    if (r.kind !== 'run') throw new Error(JSON.stringify(r));
    const req = buildRequest(r.args.settings, { env: { USER: 'bob' }, now: NOW / 1000 });
    const wire = encodeRequest(req, server);
    const o = openCiphertext(verifyHmac(wire, H, 'sha256')!, keys);
    if (!o.ok) throw new Error(o.error);
    return [o.fields.messageType, o.fields.message, o.fields.natAccess, o.fields.clientTimeout];
  };
  t.same(decode(['-A', 'tcp/22', '-N', '10.0.0.5:3306']), [2, `${CLI},tcp/22`, '10.0.0.5,3306', 0], '-N HOST:PORT (fwknop: type 2)');
  t.same(decode(['-A', 'tcp/22', '-N', '10.0.0.5']), [2, `${CLI},tcp/22`, '10.0.0.5,22', 0], 'port defaults to the access port');
  t.same(decode(['-A', 'tcp/22', '-N', '10.0.0.5:3306', '-f', '30']), [4, `${CLI},tcp/22`, '10.0.0.5,3306', 30], 'with -f: type 4');
  t.same(decode(['-A', 'tcp/22', '--nat-local', '--nat-port', '55000']), [5, `${CLI},tcp/55000`, `${SRV},22`, 0], 'the vector client-natlocal');
  t.same(decode(['-A', 'tcp/22', '--nat-local', '-f', '9']), [6, `${CLI},tcp/22`, `${SRV},22`, 9]);
  t.same(decode(['-A', 'tcp/22', '-N', '10.0.0.5:3306', '--nat-port', '4000']), [2, `${CLI},tcp/4000`, '10.0.0.5,3306', 0]);
  const [, msg] = decode(['-A', 'tcp/22', '--nat-local', '--nat-rand-port']);
  const port = Number(/tcp\/(\d+)$/.exec(String(msg))?.[1]);
  t.ok(port >= 10_000 && port <= 65_535, `random port ${port}`);
  const bad = (argv: string[], re: RegExp) => {
    const r = parseSpaArgs([...base, ...argv]);
    if (r.kind === 'bad') { t.match(r.message, re); return; }
    if (r.kind !== 'run') { t.fail(r.kind); return; }
    t.throws(() => buildRequest(r.args.settings, { env: {}, now: NOW / 1000 }), { constructor: SpaInputError, message: re });
  };
  bad(['-A', 'tcp/22', '-N', '10.0.0.5:3306', '--nat-local'], /give -N HOST:PORT .* or --nat-local .*, not both/);
  bad(['-A', 'tcp/22', '--nat-port', '4000'], /--nat-port: only with -N HOST:PORT or --nat-local/);
  bad(['-A', 'tcp/22', '--nat-local', '--nat-port', '1', '--nat-rand-port'], /give --nat-port PORT or --nat-rand-port, not both/);
  bad(['-A', 'tcp/22', '-N', 'a b:22'], /-N\/--nat-access: "a b:22" is not HOST\[:PORT\]/);
  bad(['-A', 'tcp/22', '-N', '10.0.0.5:70000'], /is not HOST\[:PORT\]/);
  bad(['-A', 'tcp/22', '-N', '10.0.0.5:3306', '--nat-port', '0'], /--nat-port/);
});
