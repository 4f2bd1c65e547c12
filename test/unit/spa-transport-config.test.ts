// [options] SPA_HTTP_Port, SPA_HTTP_Any_User_Agent, SPA_HTTP_Trusted_Proxies, SPA_TCP_Port and the
// door keys SPA_Command_Allow_File, SPA_Command_User: values, each error with its file and line
// (the allow file's own errors name the allow file and its line), the real checkPrivate on real
// files, and what `knockd --check` (lib/config/describe.ts) shows for them.

import type { Test } from 'tap';
import t from 'tap';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeIO, parseConfig, type ConfigIO } from '../../lib/config/parser.js';
import { ConfigError, configErrorLines } from '../../lib/config/errors.js';
import { describeConfig } from '../../lib/config/describe.js';
import type { Config } from '../../lib/config/types.js';

const K = Buffer.alloc(32, 7).toString('base64');
const H = Buffer.alloc(64, 9).toString('base64');
const DOOR = `[d]\nSPA_Key_Base64 = ${K}\nSPA_HMAC_Key_Base64 = ${H}\nSPA_Open_Ports = tcp/22\n`; // lines 1-4 (+ options before)

/** An io with in-memory files; checkPrivate refuses the paths listed in `unsafe`. */
function io(files: Record<string, string>, unsafe: string[] = []): ConfigIO & { checked: string[] } {
  const checked: string[] = [];
  return {
    checked,
    readFile(path) {
      if (!(path in files)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT', errno: -2 });
      return Buffer.from(files[path]!);
    },
    checkRewritable() {},
    checkPrivate(path) {
      checked.push(path);
      if (unsafe.includes(path)) throw Object.assign(new Error('mode 666: writable by others than its owner'), { code: 'EPERM' });
    },
  };
}
const parse = (text: string, files: Record<string, string> = {}, unsafe: string[] = []): Config => parseConfig(text, 'k.conf', io(files, unsafe));

function error(t: Test, text: string, message: string, file: string, line: number, files: Record<string, string> = {}, unsafe: string[] = []): void {
  try {
    parse(text, files, unsafe);
    t.fail(`no error for ${JSON.stringify(text.slice(0, 80))}`);
  } catch (err) {
    t.type(err, ConfigError);
    t.equal((err as ConfigError).message, message, message);
    t.equal((err as ConfigError).file, file, `file ${file}`);
    t.equal((err as ConfigError).line, line, `line ${line}`);
  }
}

t.test('the options: values, defaults, every network form; undefined without them', async (t) => {
  const c = parse(`[options]\nSPA_HTTP_Port = 80\nspa_http_any_user_agent = Yes\nSPA_HTTP_Trusted_Proxies = 10.0.0.0/8, 192.0.2.7 ,fd00::/8,::ffff:172.16.0.0/12\nSPA_TCP_Port = 62201\n${DOOR}`);
  const s = c.options.spaTransport!;
  t.equal(s.httpPort, 80);
  t.equal(s.tcpPort, 62201);
  t.equal(s.anyUserAgent, true);
  t.equal(s.line, 2, 'the first key');
  t.same(s.trustedProxies.map((n) => [n.family, n.prefix]), [[4, 8], [4, 32], [6, 8], [4, 12]]);
  const only = parse(`[options]\nSPA_TCP_Port = 9\n${DOOR}`).options.spaTransport!;
  t.same([only.httpPort, only.tcpPort, only.anyUserAgent, only.trustedProxies], [undefined, 9, false, []]);
  t.equal(parse(`[options]\nSPA_HTTP_Port = 65535\n${DOOR}`).options.spaTransport!.httpPort, 65535);
  t.equal(parse(`[options]\nSPA_HTTP_Port = 1\n${DOOR}`).options.spaTransport!.httpPort, 1);
  t.equal(parse(DOOR).options.spaTransport, undefined, 'none of the keys: undefined');
  t.equal(parse(`[options]\nSPA_HTTP_Port = 80\nSPA_HTTP_Any_User_Agent = off\n${DOOR}`).options.spaTransport!.anyUserAgent, false);
  t.ok(Object.isFrozen(c.options.spaTransport), 'frozen with the rest');
});

t.test('option errors name the config file and line', async (t) => {
  for (const [key, bad] of [['SPA_HTTP_Port', '0'], ['SPA_HTTP_Port', '65536'], ['SPA_HTTP_Port', 'http'], ['SPA_HTTP_Port', '-1'], ['SPA_HTTP_Port', '80x'],
    ['SPA_HTTP_Port', '8 0'], ['SPA_HTTP_Port', '123456'], ['SPA_TCP_Port', '0'], ['SPA_TCP_Port', '1e3'], ['SPA_TCP_Port', '0x50'], ['SPA_TCP_Port', '99999']]) {
    error(t, `[options]\nlogfile = /dev/null\n${key} = ${bad}\n${DOOR}`, `config: line 3: ${key} "${bad}" is not a TCP port (1-65535)`, 'k.conf', 3);
  }
  error(t, `[options]\nSPA_HTTP_Port = 80\nSPA_HTTP_Any_User_Agent = maybe\n${DOOR}`, 'config: line 3: SPA_HTTP_Any_User_Agent must be yes or no, not "maybe"', 'k.conf', 3);
  for (const bad of ['10.0.0.1/8', 'fe80::/64%eth0', 'fe80::1%eth0', '10.0.0.0/33', 'proxy.example', '', '10.0.0.0/8;', '*']) {
    error(t, `[options]\nSPA_HTTP_Port = 80\nSPA_HTTP_Trusted_Proxies = 10.0.0.0/8, ${bad}\n${DOOR}`,
      `config: line 3: SPA_HTTP_Trusted_Proxies: "${bad}" is not an address or network (10.0.0.0/8, fd00::/8)`, 'k.conf', 3);
  }
  const nets = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${i}.0/24`).join(',');
  t.equal(parse(`[options]\nSPA_HTTP_Port = 80\nSPA_HTTP_Trusted_Proxies = ${nets(64)}\n${DOOR}`).options.spaTransport!.trustedProxies.length, 64);
  error(t, `[options]\nSPA_HTTP_Port = 80\nSPA_HTTP_Trusted_Proxies = ${nets(65)}\n${DOOR}`, 'config: line 3: SPA_HTTP_Trusted_Proxies: more than 64 networks', 'k.conf', 3);
});

t.test('errors of the whole: no port, the same port twice, no SPA door', async (t) => {
  error(t, `[options]\nlogfile = /dev/null\nSPA_HTTP_Any_User_Agent = yes\nSPA_HTTP_Trusted_Proxies = 10.0.0.0/8\n${DOOR}`,
    'config: line 3: SPA_HTTP_* keys need SPA_HTTP_Port or SPA_TCP_Port', 'k.conf', 3);
  error(t, `[options]\nSPA_HTTP_Trusted_Proxies = 10.0.0.0/8\n${DOOR}`, 'config: line 2: SPA_HTTP_* keys need SPA_HTTP_Port or SPA_TCP_Port', 'k.conf', 2);
  error(t, `[options]\nSPA_HTTP_Port = 8080\nSPA_TCP_Port = 8080\n${DOOR}`,
    'config: line 2: SPA_HTTP_Port and SPA_TCP_Port are both 8080: Sesame listens on one and sniffs the other', 'k.conf', 2);
  error(t, '[options]\nSPA_TCP_Port = 9000\n[k]\nsequence = 1,2\n', 'config: line 2: SPA over HTTP or TCP needs a door with SPA keys', 'k.conf', 2);
  error(t, '[options]\nSPA_HTTP_Port = 80\n', 'config: line 2: SPA over HTTP or TCP needs a door with SPA keys', 'k.conf', 2);
});

const ALLOW = '# what may run\n/usr/bin/systemctl restart nginx\n\n/usr/sbin/service {arg} restart\n';

t.test('SPA_Command_Allow_File: read through ConfigIO, checked private, templates with their lines', async (t) => {
  const files = { '/etc/sesame/allow': ALLOW };
  const i = io(files);
  const c = parseConfig(`${DOOR}SPA_Command_Allow_File = /etc/sesame/allow\nSPA_Command_User = nobody\n`, 'k.conf', i);
  t.same(i.checked, ['/etc/sesame/allow'], 'checkPrivate asked');
  const cmds = c.doors[0]!.spa!.commands!;
  t.equal(cmds.path, '/etc/sesame/allow');
  t.equal(cmds.user, 'nobody');
  t.equal(cmds.line, 5);
  t.strictSame(cmds.allowed.map((x) => ({ words: x.words, line: x.line, patterned: x.patterns.map((p) => p instanceof RegExp) })), [
    { words: ['/usr/bin/systemctl', 'restart', 'nginx'], line: 2, patterned: [false, false, false] },
    { words: ['/usr/sbin/service', '{arg}', 'restart'], line: 4, patterned: [false, true, false] },
  ]);
  t.ok(cmds.allowed[1]!.patterns[1]!.test('nginx') && !cmds.allowed[1]!.patterns[1]!.test('-x'), "the placeholder's pattern came through");
  t.equal(parse(`${DOOR}SPA_Command_Allow_File = /etc/sesame/allow\n`, files).doors[0]!.spa!.commands!.user, undefined, 'root by default');
  t.equal(parse(DOOR).doors[0]!.spa!.commands, undefined, 'none without the key');
  for (const u of ['65534', '_apt', 'www-data', 'a', 'u'.repeat(32)]) {
    t.equal(parse(`${DOOR}SPA_Command_Allow_File = /etc/sesame/allow\nSPA_Command_User = ${u}\n`, files).doors[0]!.spa!.commands!.user, u, u);
  }
  const cmdOnly = parse(`[d]\nSPA_Key_Base64 = ${K}\nSPA_HMAC_Key_Base64 = ${H}\nSPA_Command_Allow_File = /etc/sesame/allow\n`, files).doors[0]!.spa!;
  t.same([cmdOnly.openPorts, cmdOnly.commands!.allowed.length], [[], 2], 'a door for commands only needs no ports');
});

t.test('SPA_Command_* errors: the config line, or the allow file and its line', async (t) => {
  const files = { '/etc/a': ALLOW, '/etc/bad': '/bin/true\n\n/bin/echo $HOME\n', '/etc/rel': '# x\nbin/true\n', '/etc/unsafe': ALLOW };
  error(t, `${DOOR}SPA_Command_Allow_File = etc/a\n`, 'config: line 5: SPA_Command_Allow_File: "etc/a" is not an absolute path', 'k.conf', 5, files);
  error(t, `${DOOR}SPA_Command_Allow_File = ./a\n`, 'config: line 5: SPA_Command_Allow_File: "./a" is not an absolute path', 'k.conf', 5, files);
  error(t, `${DOOR}SPA_Command_Allow_File = /etc/bad\n`,
    '/etc/bad: line 3: "$HOME" is not a plain word (no quotes, $, ;, |, &, <, >, *, spaces)', '/etc/bad', 3, files);
  error(t, `${DOOR}SPA_Command_Allow_File = /etc/rel\n`, '/etc/rel: line 2: "bin/true" is not an absolute path', '/etc/rel', 2, files);
  error(t, `${DOOR}SPA_Command_Allow_File = /etc/missing\n`, '/etc/missing: No such file or directory', 'k.conf', 5, files);
  error(t, `${DOOR}SPA_Command_Allow_File = /etc/unsafe\n`, '/etc/unsafe: mode 666: writable by others than its owner', 'k.conf', 5, files, ['/etc/unsafe']);
  error(t, `${DOOR}SPA_Command_User = nobody\n`, 'config: section d: SPA_Command_User needs SPA_Command_Allow_File', 'k.conf', 5, files);
  for (const u of ['root;id', 'Nobody', '-u', 'a b', 'u'.repeat(33), '', '12345678901', '$USER']) {
    error(t, `${DOOR}SPA_Command_Allow_File = /etc/a\nSPA_Command_User = ${u}\n`, `config: line 6: SPA_Command_User: "${u}" is not a user name or uid`, 'k.conf', 6, files);
  }
  // The user sees where: the allow file's errors carry their own location.
  try {
    parse(`${DOOR}SPA_Command_Allow_File = /etc/bad\n`, files);
  } catch (err) {
    t.same(configErrorLines(err as ConfigError), ['/etc/bad: line 3: "$HOME" is not a plain word (no quotes, $, ;, |, &, <, >, *, spaces)']);
  }
  try {
    parse(`${DOOR}SPA_Command_Allow_File = /etc/missing\n`, files);
  } catch (err) {
    t.same(configErrorLines(err as ConfigError), ['/etc/missing: No such file or directory', '  (in k.conf, line 5)']);
  }
});

t.test('nodeIO.checkPrivate on real files: root or our own, writable by no one else', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-allow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'allow');
  writeFileSync(f, ALLOW);
  const conf = `${DOOR}SPA_Command_Allow_File = ${f}\n`;
  chmodSync(f, 0o600);
  t.equal(parseConfig(conf, 'k.conf', nodeIO).doors[0]!.spa!.commands!.allowed.length, 2, 'mode 600');
  chmodSync(f, 0o644);
  t.equal(parseConfig(conf, 'k.conf', nodeIO).doors[0]!.spa!.commands!.allowed.length, 2, 'mode 644');
  for (const mode of [0o664, 0o646, 0o666, 0o622]) {
    chmodSync(f, mode);
    t.throws(() => parseConfig(conf, 'k.conf', nodeIO), { message: `${f}: mode ${mode.toString(8)}: writable by others than its owner`, line: 5 }, mode.toString(8));
  }
  chmodSync(f, 0o644);
  const me = process.getuid?.() ?? 0;
  if (me === 0) {
    chownSync(f, 65534, 65534);
    t.throws(() => parseConfig(conf, 'k.conf', nodeIO), { message: `${f}: owned by uid 65534, not root`, line: 5 });
    chownSync(f, 0, 0);
  }
  t.throws(() => parseConfig(`${DOOR}SPA_Command_Allow_File = ${join(dir, 'none')}\n`, 'k.conf', nodeIO), { message: `${join(dir, 'none')}: No such file or directory` });
});

t.test('--check shows the transports and the allow list', async (t) => {
  const files = { '/etc/sesame/allow': ALLOW, '/etc/one': '/bin/true\n' };
  const out = describeConfig(parse(`[options]\nSPA_HTTP_Port = 80\nSPA_HTTP_Trusted_Proxies = 10.0.0.0/8, fd00::/8, 192.0.2.7\n`
    + `${DOOR}SPA_Command_Allow_File = /etc/sesame/allow\nSPA_Command_User = nobody\n`
    + `[e]\nSPA_Port = 62202\nSPA_Key_Base64 = ${K}\nSPA_HMAC_Key_Base64 = ${H}\nSPA_Command_Allow_File = /etc/one\n`, files));
  for (const line of [
    '  spa_http_port: 80 (sniffed)', '  spa_http_any_user_agent: no', '  spa_http_trusted_proxies: 10.0.0.0/8, fd00::/8, 192.0.2.7',
    '  spa_command_allow_file: /etc/sesame/allow (2 commands)', '    /usr/bin/systemctl restart nginx (line 2)', '    /usr/sbin/service {arg} restart (line 4)',
    '  spa_command_user: nobody', '  spa_command_allow_file: /etc/one (1 command)', '    /bin/true (line 1)', '  spa_command_user: root (default)',
  ]) t.ok(out.includes(`${line}\n`), line);
  t.match(out, /  spa_tcp_port: \S.*\n/);
  t.notMatch(out, /spa_tcp_port: .*Sesame listens/, 'no TCP port');
  const tcp = describeConfig(parse(`[options]\nSPA_TCP_Port = 9000\nSPA_HTTP_Any_User_Agent = yes\n${DOOR}`));
  t.ok(tcp.includes('  spa_tcp_port: 9000 (Sesame listens)\n'));
  t.ok(tcp.includes('  spa_http_any_user_agent: yes\n'));
  t.notMatch(tcp, /spa_http_port: .*sniffed/);
  t.notOk(tcp.includes(K) || tcp.includes(H), 'no key material');
  t.notMatch(describeConfig(parse(DOOR)), /spa_http|spa_tcp|spa_command/, 'nothing without the keys');
});
