// The SPA gate with HTTP and TCP (lib/matcher/spa-gate.ts `via`), and command messages: real wire
// data from the codec, wrapped in fwknop's HTTP request where the transport wants it. Which port
// and config reads which transport, who gets access for 0.0.0.0 (the peer, or the client a trusted
// proxy forwarded for), replays across transports, and command verdicts. Sniffed on a web server's
// port (via 'http'), a request that is not an SPA request (bad HTTP, another User-Agent, a path not
// of base64 characters) is someone's page view: ignored, not refused; on SPA_TCP_Port it is refused.

import t from 'tap';
import { parseConfig, type ConfigIO } from '../../lib/config/parser.js';
import { SpaGate, type SpaPacket, type SpaVerdict } from '../../lib/matcher/spa-gate.js';
import { ReplayCache } from '../../lib/spa/replay.js';
import { encodeAccess, encodeFields, type SpaKeys } from '../../lib/spa/wire.js';
import type { Config } from '../../lib/config/types.js';

const K1 = Buffer.alloc(32, 1), H1 = Buffer.alloc(64, 2);
const K2 = Buffer.alloc(32, 4), H2 = Buffer.alloc(64, 5);
const NOW = 1_800_000_000_000;
const SRV = '10.77.0.1', CLI = '198.51.100.7', PROXY = '10.9.0.5', STRANGER = '203.0.113.9';
const keys1: SpaKeys = { key: K1, hmacKey: H1, hmacDigest: 'sha256', mode: 'cbc' };
const keys2: SpaKeys = { key: K2, hmacKey: H2, hmacDigest: 'sha256', mode: 'cbc' };
const ALLOW = '# allowed\n/usr/bin/systemctl restart nginx\n/usr/sbin/service {arg} restart\n';

const DOORS = `[one]
SPA_Key_Base64 = ${K1.toString('base64')}
SPA_HMAC_Key_Base64 = ${H1.toString('base64')}
SPA_Open_Ports = tcp/22
[cmd]
SPA_Port = 62202
SPA_Key_Base64 = ${K2.toString('base64')}
SPA_HMAC_Key_Base64 = ${H2.toString('base64')}
SPA_Open_Ports = tcp/2222
SPA_Max_Age = 60
SPA_Command_Allow_File = /etc/sesame/allow
`;
const io: ConfigIO = { readFile: () => Buffer.from(ALLOW), checkRewritable() {}, checkPrivate() {} };
const conf = (options: string): Config => parseConfig(`${options}${DOORS}`, 'g.conf', io);
const FULL = conf('[options]\nSPA_HTTP_Port = 80\nSPA_HTTP_Trusted_Proxies = 10.9.0.0/16, fd09::/16\nSPA_TCP_Port = 4444\n');
const UDP_ONLY = conf('');

function gate(c: Config = FULL, cache = new ReplayCache({ windowMs: 240_000 })) {
  return new SpaGate(c.doors, cache, [SRV, 'fd77::1'], c.options.spaTransport);
}
const access = (message: string, o: { keys?: SpaKeys; ts?: number } = {}) =>
  encodeAccess({ username: 'alice', timestamp: o.ts ?? NOW / 1000, message }, o.keys ?? keys1);
const command = (cmd: string, o: { ts?: number; keys?: SpaKeys } = {}) => encodeFields({
  rand: String(1_000_000_000_000_000 + Math.floor(Math.random() * 8e15)), username: 'bob', timestamp: o.ts ?? NOW / 1000, version: '3.0.0',
  messageType: 0, message: `${CLI},${cmd}`, natAccess: null, serverAuth: null, clientTimeout: 0,
}, o.keys ?? keys2);
const escape = (w: string) => w.replace(/\+/g, '-').replace(/\//g, '_');
const http = (w: string, extra = '') =>
  `GET /${escape(w)} HTTP/1.1\r\nUser-Agent: Fwknop/2.6.10\r\nAccept: */*\r\nHost: ${SRV}\r\n${extra}Connection: close\r\n\r\n`;
const pkt = (payload: string, o: Partial<SpaPacket> = {}): SpaPacket => ({ src: CLI, dst: SRV, family: 4, dport: 80, via: 'http', payload, ...o });
const reason = (v: SpaVerdict) => (v.type === 'refused' ? v.reason : v.type === 'ignored' ? `ignored: ${v.why}` : v.type);
const granted = (v: SpaVerdict) => (v.type === 'granted' ? [v.ip, v.family, v.door.name] : reason(v));

t.test('the wire carries "+" and "/" (so the escaping is exercised)', async (t) => {
  let both = 0;
  for (let i = 0; i < 20; i++) { const w = access('0.0.0.0,tcp/22'); if (w.includes('+') && w.includes('/')) both++; }
  t.ok(both > 0);
});

t.test('a UDP-only config ignores HTTP and TCP', async (t) => {
  const g = gate(UDP_ONLY);
  const w = access('0.0.0.0,tcp/22');
  t.equal(reason(g.handle(pkt(http(w)), NOW).verdict), 'ignored: no SPA over HTTP on this port');
  t.equal(reason(g.handle(pkt(w, { via: 'tcp', dport: 62201 }), NOW).verdict), 'ignored: no SPA over TCP on this port');
  t.same(granted(g.handle(pkt(w, { via: 'udp', dport: 62201 }), NOW).verdict), [CLI, 4, 'one'], 'UDP still works');
  t.equal(g.httpPort, undefined);
  t.equal(gate().httpPort, 80);
});

t.test('HTTP: the configured port only, a GET only; any SPA door; the local address or Target', async (t) => {
  const g = gate();
  const w = access('0.0.0.0,tcp/22');
  t.equal(reason(g.handle(pkt(http(w), { dport: 81 }), NOW).verdict), 'ignored: no SPA over HTTP on this port');
  t.equal(reason(g.handle(pkt(http(w), { dport: 4444 }), NOW).verdict), 'ignored: no SPA over HTTP on this port', 'the TCP port is not sniffed');
  t.equal(reason(g.handle(pkt(http(w), { via: 'tcp', dport: 80 }), NOW).verdict), 'ignored: no SPA over TCP on this port');
  t.equal(reason(g.handle(pkt(w), NOW).verdict), 'ignored: not an HTTP GET request', 'raw wire on the HTTP port');
  t.equal(reason(g.handle(pkt(`POST /${escape(w)} HTTP/1.1\r\n\r\n`), NOW).verdict), 'ignored: not an HTTP GET request');
  t.equal(reason(g.handle(pkt(http(w), { dst: '10.77.0.50' }), NOW).verdict), 'ignored: no SPA door for this port and address');
  t.same(granted(g.handle(pkt(http(w)), NOW).verdict), [CLI, 4, 'one']);
  t.same(granted(g.handle(pkt(http(access('0.0.0.0,tcp/2222', { keys: keys2 }))), NOW).verdict), [CLI, 4, 'cmd'],
    'the door on SPA_Port 62202 takes HTTP requests too');
  const r = g.handle(pkt(http(access('0.0.0.0,tcp/22')).replace('Fwknop/2.6.10', 'curl/8.0')), NOW);
  t.same([r.verdict.type, reason(r.verdict), r.kept], ['ignored', 'ignored: HTTP User-Agent "curl/8.0" is not Fwknop (SPA_HTTP_Any_User_Agent is off)', false],
    'sniffed: another User-Agent is a page view, ignored');
  const rt = g.handle(pkt(http(access('0.0.0.0,tcp/22')).replace('Fwknop/2.6.10', 'curl/8.0'), { via: 'tcp', dport: 4444 }), NOW);
  t.same([rt.verdict.type, reason(rt.verdict), rt.kept], ['refused', 'HTTP User-Agent "curl/8.0" is not Fwknop (SPA_HTTP_Any_User_Agent is off)', false],
    'on SPA_TCP_Port: refused');
  const any = gate(conf('[options]\nSPA_HTTP_Port = 80\nSPA_HTTP_Any_User_Agent = yes\n'));
  t.same(granted(any.handle(pkt(http(access('0.0.0.0,tcp/22')).replace('Fwknop/2.6.10', 'curl/8.0')), NOW).verdict), [CLI, 4, 'one']);
  t.equal(reason(g.handle(pkt(http('A'.repeat(200))), NOW).verdict), 'HMAC mismatch');
  t.equal(reason(g.handle(pkt(http('abc')), NOW).verdict), 'ignored: too short for SPA');
});

t.test('HTTP sniffed: every request that is not an SPA request is ignored, not refused; on SPA_TCP_Port refused', async (t) => {
  const g = gate();
  const w = access('0.0.0.0,tcp/22');
  const get = (line: string, headers = 'User-Agent: Fwknop/2.6.10\r\n', end = '\r\n') => `GET ${line} HTTP/1.1\r\n${headers}${end}`;
  const bad: [string, string, string][] = [
    // [what, request, parseHttpSpa's reason]
    ['a bad request line', `GET /${escape(w)} x HTTP/1.1\r\nUser-Agent: Fwknop/2.6.10\r\n\r\n`, 'bad HTTP request line'],
    ['HTTP/2 on the request line', `GET /${escape(w)} HTTP/2\r\nUser-Agent: Fwknop/2.6.10\r\n\r\n`, 'bad HTTP request line'],
    ['a bad header line', get(`/${escape(w)}`, 'User-Agent: Fwknop/2.6.10\r\nno colon here\r\n'), 'bad HTTP header line'],
    ['a header name with a space', get(`/${escape(w)}`, 'User-Agent: Fwknop/2.6.10\r\nX Y: z\r\n'), 'bad HTTP header line'],
    ['too many header lines', get(`/${escape(w)}`, `User-Agent: Fwknop/2.6.10\r\n${'X-A: b\r\n'.repeat(200)}`), 'too many HTTP header lines'],
    ['no end of the headers', get(`/${escape(w)}`, 'User-Agent: Fwknop/2.6.10\r\n', ''), 'HTTP request without the end of its headers'],
    ['no User-Agent', get(`/${escape(w)}`, 'Host: h\r\n'), 'HTTP User-Agent none is not Fwknop (SPA_HTTP_Any_User_Agent is off)'],
    ['a browser', get(`/${escape(w)}`, 'User-Agent: Mozilla/5.0\r\n'), 'HTTP User-Agent "Mozilla/5.0" is not Fwknop (SPA_HTTP_Any_User_Agent is off)'],
    ['two User-Agents', get(`/${escape(w)}`, 'User-Agent: Fwknop/2.6.10\r\nUser-Agent: Fwknop/2.6.10\r\n'),
      'HTTP User-Agent "Fwknop/2.6.10", "Fwknop/2.6.10" is not Fwknop (SPA_HTTP_Any_User_Agent is off)'],
  ];
  for (const [what, req, why] of bad) {
    const h = g.handle(pkt(req), NOW);
    t.same([h.verdict.type, reason(h.verdict), h.kept], ['ignored', `ignored: ${why}`, false], `sniffed, ${what}: ignored`);
    const c = g.handle(pkt(req, { via: 'tcp', dport: 4444 }), NOW);
    t.same([c.verdict.type, reason(c.verdict), c.kept], ['refused', why, false], `SPA_TCP_Port, ${what}: refused`);
  }
  // A path that is not base64 characters (after un-escaping "-" and "_") is no SPA request.
  const pages = ['/', '/index.html', '/favicon.ico', '/robots.txt', '/wp-login.php', '/?q=1', `/${escape(w)}.`, `/${escape(w)}=`, `/${escape(w)}%2B`,
    `/${escape(w)}?x`, `/${escape(w)}#`, `/${escape(w)}~`, `/${'A'.repeat(200)}!`, '/%41%42%43'];
  for (const path of pages) {
    const h = g.handle(pkt(get(path)), NOW);
    t.same([h.verdict.type, reason(h.verdict), h.kept], ['ignored', 'ignored: not an SPA request path', false], `sniffed GET ${path.slice(0, 24)}`);
  }
  for (const path of [`/${escape(w)}.`, `/index.html${'x'.repeat(200)}`]) {
    t.equal(reason(g.handle(pkt(get(path), { via: 'tcp', dport: 4444 }), NOW).verdict), 'not an SPA packet (not base64)', `SPA_TCP_Port GET ${path.slice(0, 24)}: refused`);
  }
  // The page views are ignored before X-Forwarded-For is read: a proxy's garbage there is no refusal either.
  const viaProxy = g.handle(pkt(get('/index.html', 'User-Agent: Fwknop/2.6.10\r\nX-Forwarded-For: unknown\r\n'), { src: PROXY }), NOW);
  t.equal(reason(viaProxy.verdict), 'ignored: not an SPA request path');
  const browser = g.handle(pkt(get(`/${escape(w)}`, 'User-Agent: Mozilla/5.0\r\nX-Forwarded-For: unknown\r\n'), { src: PROXY }), NOW);
  t.equal(browser.verdict.type, 'ignored', 'nor for another User-Agent');
  // Base64 characters in either spelling are SPA-shaped, and read.
  t.same(granted(g.handle(pkt(get(`/${access('0.0.0.0,tcp/22')}`)), NOW).verdict), [CLI, 4, 'one'], '"+" and "/" as they are');
  t.same(granted(g.handle(pkt(get(`/${escape(access('0.0.0.0,tcp/22'))}`)), NOW).verdict), [CLI, 4, 'one'], '"-" and "_" (fwknop\'s escaping)');
  // An SPA-shaped path that fails is still refused (logged): an SPA client's mistake, or an attack.
  const shaped = g.handle(pkt(get(`/${'A'.repeat(200)}`)), NOW);
  t.same([shaped.verdict.type, reason(shaped.verdict)], ['refused', 'HMAC mismatch']);
  const stale = g.handle(pkt(http(access('0.0.0.0,tcp/22', { ts: NOW / 1000 - 3600 }))), NOW);
  t.equal(stale.verdict.type, 'refused', 'a stale SPA request');
  t.equal(reason(g.handle(pkt(http(w, 'X-Forwarded-For: unknown\r\n'), { src: PROXY }), NOW).verdict),
    'X-Forwarded-For entry is not an address: "unknown"', 'an SPA request through a trusted proxy with garbage in the header: refused');
});

t.test('0.0.0.0 over HTTP: the peer, unless a trusted proxy forwarded for a client', async (t) => {
  const g = gate();
  const xff = (v: string) => `X-Forwarded-For: ${v}\r\n`;
  t.same(granted(g.handle(pkt(http(access('0.0.0.0,tcp/22'), xff('192.0.2.99')), { src: STRANGER }), NOW).verdict), [STRANGER, 4, 'one'],
    "an untrusted peer's header is ignored");
  t.same(granted(g.handle(pkt(http(access('0.0.0.0,tcp/22'), xff(CLI)), { src: PROXY }), NOW).verdict), [CLI, 4, 'one'], 'via a trusted proxy');
  t.same(granted(g.handle(pkt(http(access('0.0.0.0,tcp/22'), xff(`6.6.6.6, ${CLI}, 10.9.1.1`)), { src: PROXY }), NOW).verdict), [CLI, 4, 'one'],
    'a chain: walked past the trusted hop, the spoofed entry never read');
  t.same(granted(g.handle(pkt(http(access('0.0.0.0,tcp/22'), xff('2001:db8::7')), { src: 'fd09::1', dst: 'fd77::1', family: 6 }), NOW).verdict),
    ['2001:db8::7', 6, 'one'], 'IPv6 proxy and client');
  t.same(granted(g.handle(pkt(http(access('0.0.0.0,tcp/22'), xff('::ffff:198.51.100.8')), { src: '::ffff:10.9.0.5' }), NOW).verdict),
    ['198.51.100.8', 4, 'one'], 'mapped forms read as IPv4');
  t.same(granted(g.handle(pkt(http(access('0.0.0.0,tcp/22')), { src: PROXY }), NOW).verdict), [PROXY, 4, 'one'], 'a trusted proxy without the header');
  t.same(granted(g.handle(pkt(http(access('192.0.2.44,tcp/22'), xff(CLI)), { src: PROXY }), NOW).verdict), ['192.0.2.44', 4, 'one'],
    'a non-zero allow IP wins over X-Forwarded-For');
  const bad = g.handle(pkt(http(access('0.0.0.0,tcp/22'), xff('unknown')), { src: PROXY }), NOW);
  t.same([reason(bad.verdict), bad.kept], ['X-Forwarded-For entry is not an address: "unknown"', false], 'garbage from a trusted hop refuses');
  const long = g.handle(pkt(http(access('0.0.0.0,tcp/22'), xff(Array(17).fill('10.9.0.1').join(','))), { src: PROXY }), NOW);
  t.equal(reason(long.verdict), 'X-Forwarded-For longer than 16 hops');
  t.same(granted(g.handle(pkt(http(access('0.0.0.0,tcp/22'), xff('unknown')), { src: STRANGER }), NOW).verdict), [STRANGER, 4, 'one'],
    'from an untrusted peer even garbage is just ignored');
  // A forwarded client that cannot be one: refused, nothing kept (the firewall could read 0.0.0.0 as any).
  for (const [entry, why] of [['0.0.0.0', 'an unspecified address'], ['127.0.0.1', 'a loopback address'], ['255.255.255.255', 'the broadcast address'],
    ['224.0.0.1', 'a multicast or reserved address'], ['169.254.169.254', 'a link-local address'], ['::', 'an unspecified address'],
    ['fe80::1', 'a link-local address'], ['ff02::1', 'a multicast address']] as const) {
    const v = g.handle(pkt(http(access('0.0.0.0,tcp/22'), xff(entry)), { src: PROXY }), NOW);
    t.same([v.verdict.type, reason(v.verdict), v.kept], ['refused', `X-Forwarded-For names ${entry}, ${why}`, false], `forwarded for ${entry}`);
  }
  t.same(granted(g.handle(pkt(http(access('0.0.0.0,tcp/22'), xff('127.0.0.1')), { src: STRANGER }), NOW).verdict), [STRANGER, 4, 'one'],
    "an untrusted peer's header naming loopback is not read");
});

t.test('TCP: raw wire with or without a line end, or an HTTP request', async (t) => {
  const g = gate();
  const tcp = (payload: string, o: Partial<SpaPacket> = {}) => pkt(payload, { via: 'tcp', dport: 4444, ...o });
  t.same(granted(g.handle(tcp(access('0.0.0.0,tcp/22')), NOW).verdict), [CLI, 4, 'one']);
  t.same(granted(g.handle(tcp(`${access('0.0.0.0,tcp/22')}\n`), NOW).verdict), [CLI, 4, 'one'], 'LF');
  t.same(granted(g.handle(tcp(`${access('0.0.0.0,tcp/22')}\r\n`), NOW).verdict), [CLI, 4, 'one'], 'CRLF');
  t.same(granted(g.handle(tcp(http(access('0.0.0.0,tcp/22'), `X-Forwarded-For: ${CLI}\r\n`), { src: PROXY }), NOW).verdict), [CLI, 4, 'one'],
    'an HTTP request over the TCP port, through a trusted proxy');
  t.same(granted(g.handle(tcp(access('0.0.0.0,tcp/2222', { keys: keys2 })), NOW).verdict), [CLI, 4, 'cmd'], 'any SPA door');
  t.equal(reason(g.handle(tcp(` ${access('0.0.0.0,tcp/22')}`), NOW).verdict), 'not an SPA packet (not base64)', 'leading space is not trimmed');
  t.equal(reason(g.handle(tcp(access('0.0.0.0,tcp/22'), { dport: 4445 }), NOW).verdict), 'ignored: no SPA over TCP on this port');
});

t.test('replays across transports: one digest whatever carried it', async (t) => {
  const g = gate();
  const w = access('0.0.0.0,tcp/22');
  t.equal(g.handle(pkt(w, { via: 'udp', dport: 62201 }), NOW).verdict.type, 'granted');
  t.match(reason(g.handle(pkt(http(w)), NOW + 1000).verdict), /^replay detected \(first seen from 198\.51\.100\.7 /, 'UDP then HTTP');
  t.match(reason(g.handle(pkt(w, { via: 'tcp', dport: 4444 }), NOW + 1000).verdict), /^replay detected/, 'then TCP');
  const w2 = access('0.0.0.0,tcp/22');
  const first = g.handle(pkt(http(w2, `X-Forwarded-For: ${CLI}\r\n`), { src: PROXY }), NOW);
  t.same([first.verdict.type, first.kept], ['granted', true]);
  t.match(reason(g.handle(pkt(`${w2}\n`, { via: 'tcp', dport: 4444 }), NOW + 1000).verdict), new RegExp(`^replay detected \\(first seen from ${CLI.replace(/\./g, '\\.')} `),
    'HTTP through a proxy then TCP; the forwarded client is recorded');
  t.match(reason(g.handle(pkt(w2, { via: 'udp', dport: 62201 }), NOW + 1000).verdict), /^replay detected/, 'then UDP');
  const w3 = access('0.0.0.0,tcp/22');
  t.equal(g.handle(pkt(http(w3).replace('GET', 'get')), NOW).verdict.type, 'granted');
  t.match(reason(g.handle(pkt(http(w3).replace('Fwknop/2.6.10', 'Fwknop/2.6.9')), NOW).verdict), /^replay detected/, 'other headers, same wire');
});

t.test('command messages', async (t) => {
  const g = gate();
  const u = (payload: string, port = 62202) => pkt(payload, { via: 'udp', dport: port });
  const r = g.handle(u(command('/usr/bin/systemctl restart nginx')), NOW);
  t.equal(r.kept, true);
  t.equal(r.verdict.type, 'command');
  if (r.verdict.type === 'command') {
    t.same(r.verdict.argv, ['/usr/bin/systemctl', 'restart', 'nginx']);
    t.equal(r.verdict.line, 2);
    t.equal(r.verdict.door.name, 'cmd');
    t.equal(r.verdict.doorIndex, 1);
    t.equal(r.verdict.src, CLI);
    t.equal(r.verdict.fields.messageType, 0);
    t.match(r.verdict.digest, /^[0-9a-f]+$|^[A-Za-z0-9+/=]+$/);
  }
  const a = g.handle(u(command('/usr/sbin/service ssh restart')), NOW).verdict;
  t.same(a.type === 'command' && [a.argv, a.line], [['/usr/sbin/service', 'ssh', 'restart'], 3], '{arg}');
  t.equal(reason(g.handle(u(command('/usr/bin/systemctl restart nginx', { keys: keys1 }), 62201), NOW).verdict), 'command messages are not allowed',
    'a door without an allow file');
  t.equal(reason(g.handle(u(command('/bin/sh -c id')), NOW).verdict), 'command not allowed: "/bin/sh -c id"');
  t.equal(reason(g.handle(u(command('/usr/sbin/service -x restart')), NOW).verdict), 'command not allowed: "/usr/sbin/service -x restart"');
  t.equal(reason(g.handle(u(command('/usr/bin/systemctl restart nginx;id')), NOW).verdict), 'command not allowed: "/usr/bin/systemctl restart nginx;id"');
  t.equal(reason(g.handle(u(command('/bin/echo "a" \\b')), NOW).verdict), 'command not allowed: "/bin/echo \\x22a\\x22 \\x5cb"',
    'quotes and backslashes escaped in the log');
  const long = g.handle(u(command(`/bin/echo ${'x'.repeat(150)}`)), NOW).verdict;
  // fwknopd reads Rijndael command packets past 400 characters (peers-and-requests.md §4.3); Sesame's shape check stops at 399.
  t.equal(reason(long), 'packet too long for Rijndael SPA', 'a command of 160 characters does not fit a Rijndael packet Sesame reads');
  t.same(granted(g.handle(u(access(`${CLI},tcp/2222`, { keys: keys2 })), NOW).verdict), [CLI, 4, 'cmd'], 'an access message on a command door still grants');
  t.match(reason(g.handle(u(command('/usr/bin/systemctl restart nginx', { ts: NOW / 1000 - 61 })), NOW).verdict), /^stale packet \(61 seconds old\)/);
  t.equal(g.handle(u(command('/usr/bin/systemctl restart nginx', { ts: NOW / 1000 - 60 })), NOW).verdict.type, 'command', 'at the age limit');
  const once = command('/usr/bin/systemctl restart nginx');
  t.equal(g.handle(u(once), NOW).verdict.type, 'command');
  t.match(reason(g.handle(u(once), NOW + 10).verdict), /^replay detected/, 'a command is never run twice');
  t.match(reason(g.handle(pkt(http(once)), NOW + 10).verdict), /^replay detected/, 'not even over HTTP');
  const h = g.handle(pkt(http(command('/usr/sbin/service nginx restart'))), NOW).verdict;
  t.same(h.type === 'command' && h.argv, ['/usr/sbin/service', 'nginx', 'restart'], 'commands over HTTP');
  const tc = g.handle(pkt(`${command('/usr/sbin/service x restart')}\n`, { via: 'tcp', dport: 4444 }), NOW).verdict;
  t.same(tc.type === 'command' && tc.argv, ['/usr/sbin/service', 'x', 'restart'], 'and over TCP');
});
